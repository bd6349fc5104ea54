//! The Django stack on a real Docker Swarm (single node: `docker swarm init` on the local engine,
//! left again afterwards, never touching a swarm this test did not create). Swarm has no
//! depends_on: the gate in each task is the only ordering there is.
//! - the app is deployed while the database service has no task: its task waits (no restart loop),
//!   and starts once PostgreSQL is up and migrated;
//! - the database service is replaced (a new task, a new address) while a new app task starts:
//!   the gate follows the name; the rolling update of the app (start-first) stops the old task
//!   with SIGTERM handled (exit 0);
//! - `docker service logs` and the tasks' `docker inspect` hold no secret.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::containers::{docker, docker_quiet, sh};
use crate::django::{setup, Stack};
use crate::harness::{ms, require, wait_until};

/// Serializes swarm tests of concurrent runs (a machine has one engine, and one swarm).
pub(crate) fn lock() -> std::fs::File {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/tmp/readygate-swarm.lock")
        .unwrap();
    // SAFETY: flock on a descriptor we own; released when the file is closed.
    unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) };
    f
}

/// The swarm this test created, left (with its stack) on drop.
struct Swarm {
    stack: String,
    /// Whether `docker_gwbridge` (made by `swarm init`, kept by `swarm leave`) was there before.
    had_gwbridge: bool,
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            docker_quiet(args);
        };
        quiet(&["stack", "rm", &self.stack]);
        std::thread::sleep(ms(3000));
        quiet(&["swarm", "leave", "--force"]);
        // The stack's task containers go asynchronously, and a volume in use cannot be removed.
        let label = format!("label=com.docker.stack.namespace={}", self.stack);
        for _ in 0..60 {
            let left = docker(&["ps", "-aq", "--filter", &label]);
            if left.trim().is_empty() {
                break;
            }
            for id in left.split_whitespace() {
                quiet(&["rm", "-f", id]);
            }
            std::thread::sleep(ms(500));
        }
        if !self.had_gwbridge {
            quiet(&["network", "rm", "docker_gwbridge"]);
        }
        let volumes = docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name={}_", self.stack),
        ]);
        for v in volumes.split_whitespace() {
            quiet(&["volume", "rm", "-f", v]);
        }
    }
}

/// The logs of every task container of a service (`docker service logs` shows nothing of a task
/// still in its health start period, which is where a waiting gate is).
fn service_logs(service: &str) -> String {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ]);
    let mut all = String::new();
    for id in ids.split_whitespace() {
        let out = Command::new("docker")
            .args(["logs", "-t", id])
            .output()
            .unwrap();
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all
}

fn wait_for(service: &str, what: &str, limit: Duration) -> String {
    wait_until(limit, ms(500), || {
        let logs = service_logs(service);
        match logs.contains(what) {
            true => Ok(logs),
            false => Err(format!(
                "{service} never logged {what:?}:\n{logs}\n{}",
                docker(&["service", "ps", "--no-trunc", service])
            )),
        }
    })
}

fn deploy(stack: &Stack, name: &str, extra: &[(&str, &str)]) {
    let mut cmd = Command::new("docker");
    cmd.args([
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        "stack.yaml",
        name,
    ])
    .current_dir(stack.path());
    for (k, v) in &stack.env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    sh(&mut cmd);
}

/// The tasks of a service: (id, desired state, current state).
fn tasks(service: &str) -> Vec<(String, String, String)> {
    docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.DesiredState}}|{{.CurrentState}}",
        service,
    ])
    .lines()
    .filter_map(|l| {
        let mut p = l.split('|');
        Some((p.next()?.into(), p.next()?.into(), p.next()?.into()))
    })
    .collect()
}

#[test]
fn the_gated_stack_on_a_swarm() {
    let _lock = lock();
    let state = Command::new("docker")
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !require(
        state == "inactive",
        "a Docker Engine that is not part of a swarm (this test creates its own and leaves it)",
    ) {
        return;
    }
    let Some(stack) = setup() else { return };
    for target in ["secrets", "readygate-image", "wheels", "build"] {
        stack.make(target);
    }
    let had_gwbridge = docker_quiet(&["network", "inspect", "docker_gwbridge"]);
    sh(Command::new("docker").args(["swarm", "init", "--advertise-addr", "127.0.0.1"]));
    let name = format!("rgsw{}", std::process::id());
    let _swarm = Swarm {
        stack: name.clone(),
        had_gwbridge,
    };
    let svc = |s: &str| format!("{name}_{s}");

    // The app and its migrations, while the database service has no task at all.
    deploy(
        &stack,
        &name,
        &[("POSTGRES_REPLICAS", "0"), ("DJANGO_REPLICAS", "1")],
    );
    wait_for(&svc("django"), "is not ready", ms(120_000));
    std::thread::sleep(ms(3000));
    let app_tasks = tasks(&svc("django"));
    let errors = docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.Name}} {{.CurrentState}} {{.Error}}",
        &svc("django"),
    ]);
    assert_eq!(
        app_tasks.len(),
        1,
        "a restart loop: {errors}\n{}",
        service_logs(&svc("django"))
    );
    let scaled = Instant::now();
    sh(Command::new("docker").args([
        "service",
        "scale",
        "--detach",
        &format!("{}=1", svc("postgres")),
    ]));
    let migrate_logs = wait_for(&svc("migrate"), "Applying catalog.0002", ms(180_000));
    let logs = wait_for(&svc("django"), "Listening at", ms(180_000));
    // Gated on #migrated, the app starts after the last migration (the last `Applying … OK`
    // line), never before.
    let stamp = |logs: &str, what: &str| {
        let line = logs
            .lines()
            .rev()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in:\n{logs}"));
        crate::harness::unix_ms(line.split_whitespace().next().unwrap())
    };
    assert!(
        stamp(&logs, "Listening at") > stamp(&migrate_logs, "Applying "),
        "the app started before its migrations:\n{migrate_logs}\n{logs}"
    );
    eprintln!(
        "MEASURE swarm: database task scheduled -> app listening: {} ms",
        scaled.elapsed().as_millis()
    );
    assert!(
        !logs.contains("Connection refused") && !logs.contains("OperationalError"),
        "the app met an unready database:\n{logs}"
    );
    assert_eq!(tasks(&svc("django")).len(), 1, "no restart while waiting");

    // The database moves (new task, new address) while a new app task starts.
    let before = docker(&[
        "service",
        "inspect",
        "-f",
        "{{.Version.Index}}",
        &svc("django"),
    ]);
    sh(Command::new("docker").args(["service", "update", "--detach", "--force", &svc("postgres")]));
    let moved = Instant::now();
    sh(Command::new("docker").args(["service", "update", "--detach", "--force", &svc("django")]));
    // The new app task gets going once the new database task answers; the old one is stopped.
    let start = Instant::now();
    loop {
        let t = tasks(&svc("django"));
        let running: Vec<_> = t
            .iter()
            .filter(|(_, d, c)| d == "Running" && c.starts_with("Running"))
            .collect();
        let shutdown: Vec<_> = t
            .iter()
            .filter(|(_, d, c)| d == "Shutdown" && c.starts_with("Shutdown"))
            .collect();
        if running.len() == 1 && !shutdown.is_empty() {
            // The old task's gunicorn handled SIGTERM: exit 0.
            let old = &shutdown[0].0;
            let code = docker(&["inspect", "-f", "{{.Status.ContainerStatus.ExitCode}}", old]);
            assert_eq!(code.trim(), "0", "old task {old}");
            break;
        }
        assert!(
            start.elapsed() < ms(180_000),
            "the rolling update never finished: {t:?}"
        );
        std::thread::sleep(ms(500));
    }
    eprintln!(
        "MEASURE swarm: database task replaced -> new app task running: {} ms",
        moved.elapsed().as_millis()
    );
    assert_ne!(
        before,
        docker(&[
            "service",
            "inspect",
            "-f",
            "{{.Version.Index}}",
            &svc("django")
        ])
    );

    // No secret in the service logs or the tasks' containers.
    let secrets: Vec<String> = ["db_password", "django_secret_key"]
        .iter()
        .map(|s| std::fs::read_to_string(stack.path().join("secrets").join(s)).unwrap())
        .map(|s| s.trim().to_string())
        .collect();
    let mut seen = String::new();
    for s in ["postgres", "redis", "django", "migrate"] {
        seen.push_str(&service_logs(&svc(s)));
    }
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.stack.namespace={name}"),
    ]);
    for id in ids.split_whitespace() {
        seen.push_str(&docker(&["inspect", id]));
    }
    for secret in &secrets {
        assert!(!seen.contains(secret.as_str()), "a secret is visible");
    }
}
