//! The gate across several Swarm nodes: three Docker Engines in containers (Debian's `docker.io`,
//! non-privileged, see docker/e2e/swarm-node), one manager and two workers, on a network of their
//! own. PostgreSQL runs on a worker; the database's node is stopped; while Swarm reschedules the
//! database on the other worker (a new address on the overlay) and it initialises (8 s of init
//! scripts), a freshly started app task on the manager waits in its gate, then logs in across
//! nodes and starts its program — once, no restart.
//!
//! Everything is named after this run (network, volumes, containers) and removed on drop; the
//! host's own engine is never made part of a swarm.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::containers::{build_images_as, docker, docker_quiet, docker_ready, repo, sh, tag};
use crate::harness::{ms, require, wait_until};

/// The node image, built once per recipe (tagged by a hash of it) on the cached bookworm base.
fn node_image() -> String {
    // Builds (or finds cached) the bookworm base among the Django example's bases.
    sh(Command::new("bash").arg(repo().join("docker/e2e/django-bases/build.sh")));
    let base = docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "readygate-e2e-bookworm",
    ])
    .lines()
    .next()
    .unwrap_or_default()
    .to_string();
    let dir = repo().join("docker/e2e/swarm-node");
    let recipe = std::fs::read(dir.join("Dockerfile")).unwrap();
    let script = std::fs::read(dir.join("entrypoint.sh")).unwrap();
    let hash = recipe
        .iter()
        .chain(&script)
        .chain(base.as_bytes())
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        });
    let image = format!("readygate-e2e-swarm-node:{hash:016x}");
    if !docker_quiet(&["image", "inspect", &image]) {
        docker(&[
            "build",
            "-q",
            "--build-arg",
            &format!("BASE={base}"),
            "-t",
            &image,
            dir.to_str().unwrap(),
        ]);
    }
    image
}

/// The nodes, their network and volumes, removed on drop.
struct Nodes {
    names: Vec<String>,
    network: String,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            docker_quiet(args);
        };
        for n in &self.names {
            quiet(&["rm", "-f", "-v", n]);
            quiet(&["volume", "rm", "-f", &format!("{n}-data")]);
        }
        quiet(&["network", "rm", &self.network]);
    }
}

impl Nodes {
    fn start(image: &str, count: usize) -> Nodes {
        let id = tag();
        let network = format!("readygate-swarm-{id}");
        let mut nodes = Nodes {
            names: Vec::new(),
            network: network.clone(),
        };
        docker(&["network", "create", &network]);
        for i in 1..=count {
            let name = format!("readygate-node{i}-{id}");
            nodes.names.push(name.clone());
            docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--hostname",
                &format!("node{i}"),
                "--network",
                &network,
                "--cgroupns=private",
                "--cap-add",
                "ALL",
                "--cap-drop",
                "SYS_RESOURCE",
                "--security-opt",
                "seccomp=unconfined",
                "--security-opt",
                "apparmor=unconfined",
                "--security-opt",
                "systempaths=unconfined",
                "--device-cgroup-rule",
                "a *:* rwm",
                "-v",
                &format!("{name}-data:/var/lib/docker"),
                image,
            ]);
        }
        for n in &nodes.names {
            wait_until(ms(30_000), ms(200), || {
                nodes.try_in(n, &["info", "--format", "{{.ServerVersion}}"])
            });
        }
        nodes
    }

    /// `docker ARGS` on a node's engine, or its error.
    fn try_in(&self, node: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .args(["exec", node, "docker"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn on(&self, node: &str, args: &[&str]) -> String {
        self.try_in(node, args)
            .unwrap_or_else(|e| panic!("docker {args:?} on {node}: {e}"))
    }

    /// Loads the saved images into a node's engine (nested engines cannot pull).
    fn load(&self, node: &str, archive: &std::path::Path) {
        let status = Command::new("docker")
            .args(["exec", "-i", node, "docker", "load", "-q"])
            .stdin(std::fs::File::open(archive).unwrap())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "docker load on {node}");
    }

    fn ip(&self, node: &str) -> String {
        docker(&[
            "inspect",
            "-f",
            &format!(
                "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
                self.network
            ),
            node,
        ])
        .trim()
        .to_string()
    }
}

/// The node (hostname) a service's running task is on, if one runs.
fn running_on(nodes: &Nodes, manager: &str, service: &str) -> Result<String, String> {
    let ps = nodes.try_in(
        manager,
        &[
            "service",
            "ps",
            service,
            "--filter",
            "desired-state=running",
            "--no-trunc",
            "--format",
            "{{.Node}} {{.CurrentState}} {{.Error}}",
        ],
    )?;
    ps.lines()
        .find(|l| l.contains(" Running"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .ok_or(format!("no running task of {service}: {ps}"))
}

/// A service on the overlay `appnet` with the password secret, DNS round robin (no IPVS on these
/// kernels) and the images the nodes were given (they cannot pull), placed on nodes of `role`.
fn create_service(
    nodes: &Nodes,
    manager: &str,
    name: &str,
    role: &str,
    extra: &[&str],
    image: &str,
) {
    let constraint = format!("node.role=={role}");
    let mut args = vec![
        "service",
        "create",
        "-d",
        "--name",
        name,
        "--network",
        "appnet",
        "--endpoint-mode",
        "dnsrr",
        "--secret",
        "db_password",
        "--constraint",
        &constraint,
        "--no-resolve-image",
    ];
    args.extend_from_slice(extra);
    args.push(image);
    nodes.on(manager, &args);
}

/// The log of the app's task container on the manager.
fn app_log(nodes: &Nodes, manager: &str) -> Result<String, String> {
    let id = nodes.try_in(
        manager,
        &[
            "ps",
            "-aq",
            "--filter",
            "label=com.docker.swarm.service.name=app",
        ],
    )?;
    let id = id.lines().next().ok_or("no app container yet")?.to_string();
    let out = Command::new("docker")
        .args(["exec", manager, "docker", "logs", &id])
        .output()
        .unwrap();
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[test]
fn the_gate_follows_its_database_to_another_node() {
    if !require(docker_ready(), "a running Docker Engine, as root") {
        return;
    }
    let started = Instant::now();
    let image = node_image();
    let images = build_images_as(format!("{}-nodes", tag()));
    let app_image = format!("readygate-e2e-app:{}", images.tag);
    let pg_image = format!("readygate-e2e-pg:{}", images.tag);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("images.tar");
    docker(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        &app_image,
        &pg_image,
    ]);

    let nodes = Nodes::start(&image, 3);
    let (manager, workers) = (nodes.names[0].clone(), nodes.names[1..].to_vec());
    for n in &nodes.names {
        nodes.load(n, &archive);
    }
    let manager_ip = nodes.ip(&manager);
    nodes.on(
        &manager,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            &manager_ip,
            "--dispatcher-heartbeat",
            "1s",
        ],
    );
    let token = nodes.on(&manager, &["swarm", "join-token", "-q", "worker"]);
    for w in &workers {
        nodes.on(
            w,
            &[
                "swarm",
                "join",
                "--token",
                &token,
                &format!("{manager_ip}:2377"),
            ],
        );
    }
    // The password as a swarm secret, never on a command line or in an environment variable.
    let secret = Command::new("docker")
        .args([
            "exec",
            "-i",
            &manager,
            "docker",
            "secret",
            "create",
            "db_password",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(crate::harness::CANARY.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(secret.success());
    nodes.on(&manager, &["network", "create", "-d", "overlay", "appnet"]);
    // A fresh database runs its init scripts for a while (as a real project's do): the
    // rescheduled task is certainly not ready when the new app task first looks, however slowly
    // this machine starts containers.
    create_service(
        &nodes,
        &manager,
        "db",
        "worker",
        &["--restart-delay", "0s", "--env", "INIT_DELAY=8"],
        &pg_image,
    );
    let first = wait_until(ms(90_000), ms(500), || running_on(&nodes, &manager, "db"));
    // The database's node goes away; a new app task starts at once, on the manager.
    let gone = workers
        .iter()
        .find(|w| w.starts_with(&format!("readygate-{first}-")))
        .unwrap_or_else(|| panic!("db on {first}"))
        .clone();
    docker(&["kill", &gone]);
    let killed = Instant::now();
    create_service(
        &nodes,
        &manager,
        "app",
        "manager",
        &[
            "--env",
            "READYGATE_TARGETS=postgres://app@db:5432/appdb",
            "--env",
            "PGPASSWORD_FILE=/run/secrets/db_password",
            "--env",
            "READYGATE_TIMEOUT=0",
            "--env",
            "READYGATE_MAX_INTERVAL=1s",
            "--env",
            "INSPECT_WAIT=1",
        ],
        &app_image,
    );
    let log = wait_until(ms(120_000), ms(500), || {
        let log = app_log(&nodes, &manager)?;
        if log.contains("\"pid\"") || log.contains("pid=") || log.contains("starting /app") {
            Ok(log)
        } else {
            Err(log)
        }
    });
    let connected = killed.elapsed();
    let second = running_on(&nodes, &manager, "db").unwrap();
    assert_ne!(first, second, "the database was not rescheduled");
    // swarm:// asked of the manager: the database's task rescheduled on another node counts, and
    // the app's. (A task killed and replaced on one node: tests/it/engine.rs.)
    let bin = crate::static_build::static_binary().expect("static build");
    docker(&[
        "cp",
        bin.to_str().unwrap(),
        &format!("{manager}:/usr/local/bin/readygate"),
    ]);
    let counted = Command::new("docker")
        .args(["exec", &manager, "readygate", "-t", "60", "swarm://db"])
        .args(["swarm://app#running=1", "--", "true"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&counted.stderr);
    assert!(counted.status.success(), "{said}");
    assert!(said.contains("db: 1 of 1 tasks running"), "{said}");
    assert!(log.contains("not ready"), "the app never waited: {log}");
    assert!(log.contains("logged in"), "{log}");
    // One app task, started once: no restart loop.
    let tasks = nodes.on(&manager, &["service", "ps", "app", "--format", "{{.ID}}"]);
    assert_eq!(tasks.lines().count(), 1, "{tasks}");
    crate::harness::assert_no_canary(&log);
    eprintln!(
        "MEASURE swarm nodes: database on {first} stopped → rescheduled on {second}, initialised (8 s) → app connected and started: {:.1} s (whole test {:.0} s)",
        connected.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
