//! readygate in real containers on the machine's Docker Engine: FROM-scratch images built from the
//! static binary, a PostgreSQL image from a debootstrapped root filesystem, and docker-compose on a
//! private network (Compose v2's `docker compose` or v1's docker-compose, whichever is installed).
//! Images are tagged per run, so two suites on one machine do not collide. Also validates the
//! shipped compose examples with `compose config`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{
    assert_no_canary, have, is_root, ms, require, succeeds, unix_ms, wait_until, CANARY,
};
use crate::servers::log_time_ms;
use crate::static_build::{static_binary, static_inspector};

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command, failing the test with its output if it fails; returns stdout.
pub(crate) fn sh(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn docker(args: &[&str]) -> String {
    sh(Command::new("docker").args(args))
}

/// `docker ARGS` with its output thrown away, for clean-ups and yes/no questions: whether it
/// succeeded.
pub(crate) fn docker_quiet(args: &[&str]) -> bool {
    succeeds(Command::new("docker").args(args))
}

pub(crate) fn docker_ready() -> bool {
    let engine = is_root() && have("docker") && docker_quiet(&["info"]);
    require(
        engine && compose_program().is_some(),
        "a running Docker Engine and Compose (`docker compose` or docker-compose), as root",
    )
}

/// The Compose program: the v2 plugin (`docker compose`) when it is there, else docker-compose v1.
fn compose_program() -> Option<&'static [&'static str]> {
    static PROGRAM: std::sync::OnceLock<Option<&'static [&'static str]>> =
        std::sync::OnceLock::new();
    *PROGRAM.get_or_init(|| {
        if succeeds(Command::new("docker").args(["compose", "version"])) {
            Some(&["docker", "compose"][..])
        } else if succeeds(Command::new("docker-compose").arg("version")) {
            Some(&["docker-compose"][..])
        } else {
            None
        }
    })
}

/// A Compose command (v1 or v2, whichever is installed).
pub(crate) fn compose_command() -> Command {
    let program = compose_program().expect("checked by docker_ready");
    let mut c = Command::new(program[0]);
    c.args(&program[1..]);
    c
}

/// This run's image tag: two suites on one machine never build or run each other's images.
pub(crate) fn tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("run{}-{nanos}", std::process::id())
    })
}

/// The images built for this run, removed when the test ends (the cached base stays).
pub(crate) struct Images {
    pub(crate) tag: String,
}

impl Drop for Images {
    fn drop(&mut self) {
        for name in ["readygate-e2e", "readygate-e2e-app", "readygate-e2e-pg"] {
            docker_quiet(&["rmi", "-f", &format!("{name}:{}", self.tag)]);
        }
    }
}

/// A compose project in a temporary directory, taken down on drop.
struct Project {
    dir: tempfile::TempDir,
    name: String,
}

impl Project {
    fn compose(&self, args: &[&str]) -> Command {
        let mut c = compose_command();
        c.env("E2E_TAG", tag())
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(self.dir.path().join("compose.yaml"))
            .args(args);
        c
    }
    fn run(&self, args: &[&str]) -> String {
        sh(&mut self.compose(args))
    }
    fn logs(&self, service: &str) -> String {
        let out = self
            .compose(&["logs", "--no-color", service])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn id(&self, service: &str) -> String {
        self.run(&["ps", "-q", service]).trim().to_string()
    }
    fn wait_logs(&self, service: &str, what: &str, limit: Duration) -> String {
        wait_until(limit, ms(100), || {
            let logs = self.logs(service);
            match logs.contains(what) {
                true => Ok(logs),
                false => Err(format!("{service} never logged {what:?}:\n{logs}")),
            }
        })
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self
            .compose(&["down", "-v", "--remove-orphans", "-t", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Builds the three images from what this run produced, tagged for this run.
fn build_images() -> Images {
    build_images_as(tag().to_string())
}

/// The same images under `tag` (a test of its own removes them when it ends).
pub(crate) fn build_images_as(tag: String) -> Images {
    let own = |name: &str| format!("{name}:{tag}");
    let bin = static_binary().expect("static build");
    let inspector = static_inspector().expect("static inspector");
    // readygate: docker/prebuilt.Dockerfile, from the host's binary.
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(bin, ctx.path().join("readygate")).unwrap();
    docker(&[
        "build",
        "-q",
        "-f",
        repo().join("docker/prebuilt.Dockerfile").to_str().unwrap(),
        "-t",
        &own("readygate-e2e"),
        ctx.path().to_str().unwrap(),
    ]);
    // The application image: readygate + the static stand-in program.
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(inspector, ctx.path().join("app")).unwrap();
    std::fs::copy(
        repo().join("docker/e2e/app/Dockerfile"),
        ctx.path().join("Dockerfile"),
    )
    .unwrap();
    docker(&[
        "build",
        "-q",
        "--build-arg",
        &format!("READYGATE_IMAGE={}", own("readygate-e2e")),
        "-t",
        &own("readygate-e2e-app"),
        ctx.path().to_str().unwrap(),
    ]);
    // PostgreSQL: the cached debootstrap base, plus the entrypoint and readygate for the healthcheck.
    sh(Command::new("bash").arg(repo().join("docker/e2e/build-postgres-rootfs.sh")));
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(bin, ctx.path().join("readygate")).unwrap();
    for f in ["Dockerfile", "entrypoint.sh"] {
        std::fs::copy(
            repo().join("docker/e2e/postgres").join(f),
            ctx.path().join(f),
        )
        .unwrap();
    }
    docker(&[
        "build",
        "-q",
        "-t",
        &own("readygate-e2e-pg"),
        ctx.path().to_str().unwrap(),
    ]);
    Images { tag }
}

fn inspect(id: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, id]).trim().to_string()
}

#[test]
fn compose_end_to_end() {
    if !docker_ready()
        || !require(
            have("debootstrap"),
            "debootstrap for the PostgreSQL root filesystem",
        )
        || !require(
            static_binary().is_some() && static_inspector().is_some(),
            "the static build (musl target, musl-tools)",
        )
    {
        return;
    }
    let _images = build_images();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("docker/e2e/compose.yaml"),
        dir.path().join("compose.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("db_password"), format!("{CANARY}-pw\n")).unwrap();
    let project = Project {
        dir,
        name: format!("rge2e{}", std::process::id()),
    };

    // 1. The app starts before the database exists at all: its name does not resolve yet.
    project.run(&["up", "-d", "--no-deps", "app"]);
    let early = project.wait_logs("app", "is not ready", ms(30_000));
    assert!(
        early.contains("cannot resolve 'db'") || early.contains("no answer"),
        "{early}"
    );

    // The database (official-image init: socket-only server, stop, TCP server) and a service that
    // depends on its healthcheck. `up` blocks until db is healthy, so it runs in the background
    // while the health status is watched.
    let up = project
        .compose(&["up", "-d", "db", "after"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut health_seen = vec![];
    let start = Instant::now();
    let app_logs = loop {
        let db = project.id("db");
        if !db.is_empty() {
            let status = docker(&[
                "inspect",
                "-f",
                "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                &db,
            ])
            .trim()
            .to_string();
            // Empty until the container has started; only real states count.
            if !status.is_empty() && health_seen.last() != Some(&status) {
                health_seen.push(status);
            }
        }
        let logs = project.logs("app");
        if logs.contains("pid=") {
            break logs;
        }
        assert!(
            start.elapsed() < ms(180_000),
            "the app never started:\n{logs}\n{}",
            project.logs("db")
        );
        std::thread::sleep(ms(100));
    };
    let up = up.wait_with_output().unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    // 2. The program is PID 1: the gate exec'd itself away.
    let field = |name: &str| {
        app_logs.lines().find_map(|l| {
            l.split_once(&format!("{name}="))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    assert_eq!(field("pid").as_deref(), Some("1"), "{app_logs}");

    // It started only after PostgreSQL accepted connections on TCP (the last "ready" line; the
    // first belongs to the socket-only init server).
    let db_logs = project.logs("db");
    let ready: Vec<&str> = db_logs
        .lines()
        .filter(|l| l.contains("ready to accept connections"))
        .collect();
    assert_eq!(ready.len(), 2, "{db_logs}");
    let final_ready = ready[1].split_once("| ").map_or(ready[1], |(_, l)| l);
    let ready_ms = log_time_ms(final_ready);
    let started_ms: i64 = field("started_ms").unwrap().parse().unwrap();
    eprintln!(
        "MEASURE compose: PostgreSQL ready -> app start: {} ms",
        started_ms - ready_ms
    );
    assert!(
        started_ms >= ready_ms,
        "app started {}ms before PostgreSQL was ready",
        ready_ms - started_ms
    );
    assert!(
        started_ms - ready_ms < 3000,
        "app started {}ms after PostgreSQL was ready",
        started_ms - ready_ms
    );
    assert!(app_logs.contains("logged in, SELECT 1"), "{app_logs}");

    // 4. db went from starting to healthy through `readygate --check`; `after` started after that.
    let db = project.id("db");
    assert_eq!(
        health_seen.first().map(String::as_str),
        Some("starting"),
        "{health_seen:?}"
    );
    assert_eq!(inspect(&db, "{{.State.Health.Status}}"), "healthy");
    let health_log = inspect(&db, "{{json .State.Health.Log}}");
    assert!(
        health_log.contains("readygate: ready: postgres://localhost"),
        "{health_log}"
    );
    let after = project.id("after");
    let after_started = unix_ms(&inspect(&after, "{{.State.StartedAt}}"));
    assert!(
        after_started >= ready_ms,
        "after started before db was ready"
    );

    // 3. `docker stop` on a gate that is still waiting returns at once, with 143.
    project.run(&["up", "-d", "--no-deps", "stuck"]);
    project.wait_logs("stuck", "waiting for", ms(30_000));
    let stuck = project.id("stuck");
    let t = Instant::now();
    docker(&["stop", "-t", "10", &stuck]);
    let took = t.elapsed();
    eprintln!(
        "MEASURE docker stop of a waiting gate: {} ms",
        took.as_millis()
    );
    assert!(took < ms(2000), "docker stop took {took:?}");
    assert_eq!(inspect(&stuck, "{{.State.ExitCode}}"), "143");

    // 5. No password anywhere: container logs, health logs, inspect output.
    let mut everything = project.run(&["logs", "--no-color"]);
    for id in [&db, &after, &stuck, &project.id("app")] {
        everything.push_str(&docker(&["inspect", id]));
    }
    assert_no_canary(&everything);
}

#[test]
fn shipped_compose_examples_are_valid() {
    if !require(
        compose_program().is_some(),
        "Compose (`docker compose` or docker-compose)",
    ) {
        return;
    }
    let dir = repo().join("docker/examples/django");
    // The production file alone, and with the development overrides, as `make dev` uses them.
    for files in [
        &["compose.yaml"][..],
        &["compose.yaml", "compose.dev.yaml"][..],
    ] {
        let mut cmd = compose_command();
        for f in files {
            cmd.args(["-f", f]);
        }
        let config = sh(cmd.arg("config").current_dir(&dir));
        // Every Django service is gated by readygate: the app on the migrations (#migrated) in
        // production, on the login in development.
        let gate = if files.len() == 1 {
            "READYGATE_TARGETS: postgres://postgres:5432/shop#migrated=/app:"
        } else {
            "READYGATE_TARGETS: postgres://postgres:5432/shop redis://redis:6379/0"
        };
        assert!(config.contains(gate), "{config}");
    }
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(r#"ENTRYPOINT ["readygate", "--"]"#),
        "exec-form entrypoint"
    );
}
