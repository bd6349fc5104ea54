//! The Django example (docker/examples/django) run for real on the Docker Engine, as a user would
//! run it: `make setup` and `make up`, with the base images built here from Debian's archive (no
//! registry) and passed through the Makefile's variables. It shows, in order:
//! 1. the page through nginx: rows from PostgreSQL, a counter from Redis, the webpack bundle;
//!    gunicorn is PID 1 where readygate was;
//! 2. nginx (the classic literal proxy_pass, under `readygate --watch --on-change HUP`) follows the
//!    django container to a new address; without --on-change it still answers 502 a minute later;
//! 3. gunicorn stops gracefully; a gate still waiting stops at once with 143;
//! 4. started before PostgreSQL (which runs its init) and Redis, the app and the migrations wait,
//!    then run — the migrations only once PostgreSQL accepted the login;
//! 5. the development override: runserver reloads a changed view, webpack --watch rebuilds;
//! 6. no password in any log, `docker inspect` or the app's environment.
//! 8. under `--watch --on-lost exit` and a restart policy, a lost database ends the container,
//!    the engine restarts it, and it waits and runs again;
//! 7. three replicas gated on `#migrated` start only after the one-shot migrations commit; a
//!    replica gated on the login only starts before the schema exists and serves errors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::containers::{compose_command, docker, docker_ready, repo, sh, tag};
use crate::harness::{free_port, have, ms, require, unix_ms, wait_until};
use crate::static_build::static_binary;

/// A GET on 127.0.0.1:`port`; `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), ms(2000)).ok()?;
    s.set_read_timeout(Some(ms(5000))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Polls until `check` holds for a GET, failing the test after `limit`; returns how long it took.
fn until(port: u16, path: &str, limit: Duration, check: impl Fn(u16, &str) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if let Some((status, body)) = get(port, path) {
            if check(status, &body) {
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < limit,
            "GET {path} on :{port} never passed"
        );
        std::thread::sleep(ms(200));
    }
}

/// The example copied to a directory of its own, with this run's images and ports.
pub(crate) struct Stack {
    dir: tempfile::TempDir,
    pub(crate) project: String,
    pub(crate) env: Vec<(String, String)>,
}

impl Stack {
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `make TARGET` with this run's settings in the environment (as `make setup VAR=…` is
    /// given them once).
    pub(crate) fn make(&self, target: &str) -> String {
        let mut cmd = Command::new("make");
        cmd.arg("-C").arg(self.path()).arg(target);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        sh(&mut cmd)
    }

    /// `make TARGET` as a user types it after `make setup`: no settings given, only what setup
    /// kept in `.env`.
    pub(crate) fn make_plain(&self, target: &str) -> String {
        sh(Command::new("make").arg("-C").arg(self.path()).arg(target))
    }

    /// The project's own `kind`s (`container`, `network`, `volume`) left on the Engine.
    fn leftovers(&self, kind: &str) -> String {
        let label = format!("label=com.docker.compose.project={}", self.project);
        // Stopped containers count too.
        let quiet = if kind == "container" { "-aq" } else { "-q" };
        docker(&[kind, "ls", quiet, "--filter", &label])
            .trim()
            .to_string()
    }

    fn compose(&self, dev: bool, args: &[&str]) -> Command {
        let mut c = compose_command();
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.current_dir(self.path())
            .args(["-p", &self.project, "-f", "compose.yaml"]);
        if dev {
            c.args(["-f", "compose.dev.yaml"]);
        }
        c.args(args);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        sh(&mut self.compose(false, args))
    }

    fn id(&self, service: &str) -> String {
        self.run(&["ps", "-q", service]).trim().to_string()
    }

    /// `docker logs -t` of a container: every line with the engine's timestamp.
    fn logs(&self, id: &str) -> String {
        let out = Command::new("docker")
            .args(["logs", "-t", id])
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn wait_logs(&self, id: &str, what: &str, limit: Duration) -> String {
        wait_until(limit, ms(200), || {
            let logs = self.logs(id);
            match logs.contains(what) {
                true => Ok(logs),
                false => Err(format!("{id} never logged {what:?}:\n{logs}")),
            }
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for dev in [true, false] {
            let _ = self
                .compose(dev, &["down", "-v", "--remove-orphans", "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for image in ["django", "postgres", "redis", "nginx"] {
            let _ = Command::new("docker")
                .args(["rmi", "-f", &format!("{}-{image}", self.project)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = Command::new("docker")
            .args(["rmi", "-f", &format!("readygate-django:{}", tag())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The timestamp `docker logs -t` put on the first line containing `what`, in Unix ms.
fn stamp(logs: &str, what: &str) -> i64 {
    let line = logs
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no {what:?} in:\n{logs}"));
    unix_ms(line.split_whitespace().next().unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

pub(crate) fn setup() -> Option<Stack> {
    if !docker_ready()
        || !require(have("debootstrap") && have("make"), "debootstrap and make")
        || !require(static_binary().is_some(), "the static build (musl target)")
        || !require(
            Path::new("/usr/bin/python3").exists(),
            "Debian's python3 with pip (python3-pip) to download the wheels",
        )
    {
        return None;
    }
    // The base images, from Debian's archive (cached across runs).
    let out = sh(Command::new("bash").arg(repo().join("docker/e2e/django-bases/build.sh")));
    let mut env: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(env.len(), 5, "{out}");
    // readygate's own image, from this run's static binary.
    let image = format!("readygate-django:{}", tag());
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(static_binary().unwrap(), ctx.path().join("readygate")).unwrap();
    docker(&[
        "build",
        "-q",
        "-f",
        repo().join("docker/prebuilt.Dockerfile").to_str().unwrap(),
        "-t",
        &image,
        ctx.path().to_str().unwrap(),
    ]);
    let project = format!("rgdj{}", std::process::id());
    env.extend([
        ("READYGATE_IMAGE".to_string(), image),
        ("COMPOSE_PROJECT_NAME".to_string(), project.clone()),
        ("WHEELS".to_string(), "1".to_string()),
        ("PIP_PYTHON".to_string(), "/usr/bin/python3".to_string()),
        ("HTTP_PORT".to_string(), free_port().to_string()),
        ("DEV_PORT".to_string(), free_port().to_string()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("docker/examples/django"), dir.path());
    Some(Stack { dir, project, env })
}

fn port(stack: &Stack, name: &str) -> u16 {
    stack
        .env
        .iter()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
        .parse()
        .unwrap()
}

#[test]
fn the_django_example_runs_end_to_end() {
    let Some(stack) = setup() else { return };
    let http = port(&stack, "HTTP_PORT");

    // 1. `make setup && make up`: the page through nginx. Only setup is given the settings (base
    // images, ports, project name): `make up` and every later make find them in .env.
    stack.make("setup");
    stack.make_plain("up");
    until(http, "/", ms(60_000), |status, body| {
        status == 200 && body.contains("Teapot")
    });
    let (_, page) = get(http, "/").unwrap();
    assert!(page.contains("Visits (counted in Redis):"), "{page}");
    let (status, bundle) = get(http, "/static/main.js").unwrap();
    assert_eq!(status, 200);
    assert!(bundle.contains("shop bundle loaded"), "{bundle}");
    let django = stack.id("django");
    let cmdline = docker(&["exec", &django, "cat", "/proc/1/cmdline"]);
    assert!(cmdline.contains("gunicorn"), "PID 1 is {cmdline:?}");
    assert_eq!(
        docker(&["inspect", "-f", "{{.Path}}", &django]).trim(),
        "readygate",
        "the entrypoint that became gunicorn"
    );

    // 2. The django container gets a new address; nginx, with the classic literal proxy_pass,
    // follows it without a restart: readygate --watch --on-change HUP reloads it. The control: the
    // same nginx under readygate --watch without --on-change keeps the dead address.
    let net = format!("{}_default", stack.project);
    let control_port = free_port();
    let control = docker(&[
        "run",
        "-d",
        "--network",
        &net,
        "-p",
        &format!("127.0.0.1:{control_port}:80"),
        "-v",
        &format!(
            "{}:/etc/nginx/conf.d/default.conf:ro",
            stack.path().join("nginx/default.conf").display()
        ),
        "--entrypoint",
        "readygate",
        &format!("{}-nginx", stack.project),
        "--watch",
        "django:8000",
        "--",
        "nginx",
        "-g",
        "daemon off;",
    ])
    .trim()
    .to_string();
    until(control_port, "/", ms(60_000), |status, body| {
        status == 200 && body.contains("Teapot")
    });
    let ip_of = |id: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            id,
        ])
        .trim()
        .to_string()
    };
    let old_ip = ip_of(&django);
    stack.run(&["rm", "-sf", "django"]);
    // The engine gives the lowest free address: take the old one first, so the new django
    // really moves (otherwise it would often get its old address back and hide the problem).
    let filler = format!("{}-filler", stack.project);
    let readygate = stack
        .env
        .iter()
        .find(|(k, _)| k == "READYGATE_IMAGE")
        .unwrap()
        .1
        .clone();
    docker(&[
        "run",
        "-d",
        "--rm",
        "--name",
        &filler,
        "--network",
        &net,
        &readygate,
        "--timeout",
        "0",
        "tcp://nothing-here:1",
    ]);
    stack.run(&["up", "-d", "--no-deps", "django"]);
    let moved = stack.id("django");
    assert_ne!(ip_of(&moved), old_ip, "the app did not move");
    let took = until(http, "/", ms(30_000), |status, body| {
        status == 200 && body.contains("Teapot")
    });
    eprintln!(
        "MEASURE django moved to a new address -> 200 through nginx (literal proxy_pass, --on-change HUP): {} ms",
        took.as_millis()
    );
    let nginx_logs = stack.logs(&stack.id("nginx"));
    assert!(
        nginx_logs.contains("now resolves to") && nginx_logs.contains("sending SIGHUP"),
        "{nginx_logs}"
    );
    // The control still answers with an error a minute after the move.
    let moved_at = Instant::now();
    while moved_at.elapsed() < ms(60_000) {
        if let Some((status, _)) = get(control_port, "/") {
            assert_ne!(
                status, 200,
                "the control nginx found the new address by itself"
            );
        }
        std::thread::sleep(ms(5000));
    }
    let (status, _) = get(control_port, "/").expect("the control nginx answers");
    assert!(status == 502 || status == 504, "{status}");
    let _ = Command::new("docker")
        .args(["rm", "-f", &filler, &control])
        .output();

    // 3. A graceful stop of gunicorn, and a waiting gate stopped at once.
    let start = Instant::now();
    stack.run(&["stop", "-t", "20", "django"]);
    let stop_ms = start.elapsed().as_millis();
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.ExitCode}}", &moved]).trim(),
        "0"
    );
    assert!(stop_ms < 10_000, "{stop_ms} ms");
    eprintln!("MEASURE docker-compose stop of gunicorn: {stop_ms} ms");
    stack.run(&["stop", "postgres"]);
    stack.run(&["up", "-d", "--no-deps", "--force-recreate", "django"]);
    let waiting = stack.id("django");
    stack.wait_logs(&waiting, "is not ready", ms(30_000));
    let start = Instant::now();
    docker(&["stop", "-t", "10", &waiting]);
    let stop_ms = start.elapsed().as_millis();
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.ExitCode}}", &waiting]).trim(),
        "143"
    );
    assert!(stop_ms < 2000, "{stop_ms} ms");
    eprintln!("MEASURE docker stop of a waiting gate: {stop_ms} ms");

    // 4. From scratch (PostgreSQL runs its init again), the app and the migrations first.
    stack.run(&["down", "-v", "-t", "1"]);
    stack.run(&["up", "-d", "--no-deps", "django"]);
    let django = stack.id("django");
    let migrate = stack
        .run(&["run", "-d", "--no-deps", "migrate"])
        .trim()
        .to_string();
    stack.wait_logs(&django, "cannot resolve 'postgres'", ms(30_000));
    std::thread::sleep(ms(2000));
    stack.run(&["up", "-d", "postgres", "redis"]);
    let app_logs = stack.wait_logs(&django, "Listening at", ms(120_000));
    let migrate_logs = stack.wait_logs(&migrate, "Applying catalog.0002", ms(120_000));
    let pg_logs = stack.logs(&stack.id("postgres"));
    let pg_ready = stamp(
        &pg_logs[pg_logs.find("init process complete").unwrap_or(0)..],
        "database system is ready to accept connections",
    );
    let listening = stamp(&app_logs, "Listening at");
    assert!(
        stamp(&migrate_logs, "Applying contenttypes.0001") >= pg_ready,
        "migrations before PostgreSQL was ready:\n{migrate_logs}"
    );
    assert!(migrate_logs.contains("is not ready"), "{migrate_logs}");
    assert!(
        app_logs.find("is not ready") < app_logs.find("starting gunicorn"),
        "{app_logs}"
    );
    eprintln!(
        "MEASURE PostgreSQL ready -> migrated -> gunicorn listening: {} ms",
        listening - pg_ready
    );
    stack.make_plain("collectstatic");
    stack.run(&["up", "-d", "nginx"]);
    until(http, "/", ms(60_000), |status, body| {
        status == 200 && body.contains("Teapot")
    });

    // 6. No secret anywhere a user or an operator looks (checked before the dev stack replaces
    // these containers).
    let secrets: Vec<String> = ["db_password", "django_secret_key", "admin_password"]
        .iter()
        .map(|s| std::fs::read_to_string(stack.path().join("secrets").join(s)).unwrap())
        .map(|s| s.trim().to_string())
        .collect();
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.project),
    ]);
    let mut seen = stack.run(&["logs", "--no-color"]);
    for id in ids.split_whitespace() {
        seen.push_str(&docker(&["inspect", id]));
    }
    seen.push_str(&docker(&[
        "exec",
        &stack.id("django"),
        "cat",
        "/proc/1/environ",
    ]));
    for secret in &secrets {
        assert!(!seen.contains(secret.as_str()), "a secret is visible");
    }

    // 7. Ready means migrated: three replicas gated on #migrated wait for the one-shot migrate
    // service, run later, and start within one retry interval of its last commit; none meets a
    // missing table and none runs migrate. The control: a replica gated on the login only starts
    // before the schema exists and serves errors.
    let worst = replicas_wait_for_the_migrations(&stack);
    eprintln!(
        "MEASURE last migration committed -> gunicorn running (worst of 3 replicas): {worst} ms"
    );
    stack.run(&["rm", "-sf", "django"]);

    // 8. A lost database under `--watch --on-lost exit` and Docker's `--restart on-failure`: the
    // container exits 1, is restarted, waits in its gate, and runs again once the database is back.
    let runs = lost_exits_and_the_engine_restarts(&stack);
    eprintln!("MEASURE --on-lost exit under --restart on-failure: ran {runs} times");

    // 5. Development: runserver reloads a changed view; webpack --watch rebuilds the bundle.
    let dev = port(&stack, "DEV_PORT");
    let up = stack
        .compose(
            true,
            &["up", "-d", "django", "webpack", "postgres", "redis"],
        )
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    until(dev, "/health/", ms(60_000), |status, _| status == 200);
    let views = stack.path().join("catalog/views.py");
    let text = std::fs::read_to_string(&views).unwrap();
    std::fs::write(&views, text.replace("\"ok\\n\"", "\"reloaded\\n\"")).unwrap();
    let took = until(dev, "/health/", ms(30_000), |status, body| {
        status == 200 && body.contains("reloaded")
    });
    eprintln!(
        "MEASURE runserver reload after a change: {} ms",
        took.as_millis()
    );
    let index = stack.path().join("assets/src/index.js");
    let bundle: PathBuf = stack.path().join("assets/dist/main.js");
    let start = Instant::now();
    std::fs::write(&index, "console.log(\"rebuilt by watch\");\n").unwrap();
    while !std::fs::read_to_string(&bundle)
        .unwrap_or_default()
        .contains("rebuilt by watch")
    {
        assert!(
            start.elapsed() < ms(30_000),
            "webpack --watch did not rebuild"
        );
        std::thread::sleep(ms(200));
    }

    // 9. `make down` stops the dev services too, webpack at once (init: true; without it node
    // ignores SIGTERM as PID 1 and is killed after the 10 s grace period), and leaves no
    // container or network; `make clean` no volume or image either.
    let start = Instant::now();
    stack.make_plain("down");
    let took = start.elapsed();
    eprintln!(
        "MEASURE make down with the dev stack up: {} ms",
        took.as_millis()
    );
    assert!(took < ms(9_000), "make down took {took:?}");
    for kind in ["container", "network"] {
        assert_eq!(stack.leftovers(kind), "", "make down left a {kind}");
    }
    stack.make_plain("clean");
    for kind in ["container", "network", "volume"] {
        assert_eq!(stack.leftovers(kind), "", "make clean left a {kind}");
    }
    let images = docker(&["images", "-q", &format!("{}-django", stack.project)]);
    assert_eq!(images.trim(), "", "make clean left the app's image");
}

/// A GET of `/` from inside a container (replicas publish no port): the status, or the error.
fn status_inside(id: &str) -> String {
    docker(&[
        "exec",
        id,
        "python",
        "-c",
        "import urllib.request\ntry:\n    print(urllib.request.urlopen('http://localhost:8000/', timeout=10).status)\nexcept Exception as e:\n    print(getattr(e, 'code', e))",
    ])
    .trim()
    .to_string()
}

/// Phase 7 of the end-to-end test (see there); returns the worst delay from the last migration's
/// commit to a replica's gunicorn start, in ms.
fn replicas_wait_for_the_migrations(stack: &Stack) -> i64 {
    stack.run(&["down", "-v", "-t", "1"]);
    stack.run(&["up", "-d", "postgres", "redis"]);
    stack.run(&["up", "-d", "--no-deps", "--scale", "django=3", "django"]);
    let control = stack
        .run(&[
            "run",
            "-d",
            "--no-deps",
            "-e",
            "READYGATE_TARGETS=postgres://postgres:5432/shop redis://redis:6379/0",
            "django",
        ])
        .trim()
        .to_string();
    let replicas: Vec<String> = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.project),
        "--filter",
        "label=com.docker.compose.service=django",
        "--filter",
        "label=com.docker.compose.oneoff=False",
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect();
    assert_eq!(replicas.len(), 3, "{replicas:?}");
    // The control starts gunicorn against an empty schema: its first page is an error.
    stack.wait_logs(&control, "Listening at", ms(120_000));
    assert_eq!(
        status_inside(&control),
        "500",
        "the control served a page without tables"
    );
    // The gated replicas wait, saying why, and run nothing.
    for id in &replicas {
        stack.wait_logs(id, "no django_migrations table yet", ms(60_000));
    }
    std::thread::sleep(ms(2000));
    for id in &replicas {
        assert!(
            !stack.logs(id).contains("Listening at"),
            "{id} started before the migrations"
        );
    }
    // The one-shot migrations, by hand, as a deployment runs them.
    stack.run(&["run", "--rm", "migrate"]);
    let committed: i64 = docker(&[
        "exec",
        &stack.id("postgres"),
        "psql",
        "-U",
        "shop",
        "-d",
        "shop",
        "-Atc",
        "SELECT (extract(epoch FROM max(applied)) * 1000)::bigint FROM django_migrations",
    ])
    .trim()
    .parse()
    .unwrap();
    let mut worst = 0;
    for id in &replicas {
        let logs = stack.wait_logs(id, "Listening at", ms(60_000));
        worst = worst.max(stamp(&logs, "Starting gunicorn") - committed);
        for bad in ["ProgrammingError", "does not exist", "Applying "] {
            assert!(!logs.contains(bad), "{id}: {bad}\n{logs}");
        }
        assert_eq!(status_inside(id), "200", "{id}");
    }
    docker(&["rm", "-f", &control]);
    // One retry interval (--max-interval, 2 s by default) and the start of gunicorn, with the
    // slack a loaded machine needs.
    assert!(
        worst < 4000,
        "{worst} ms from the last commit to a replica's start"
    );
    worst
}

/// Phase 8 of the end-to-end test; returns how many times the command ran.
fn lost_exits_and_the_engine_restarts(stack: &Stack) -> usize {
    let net = format!("{}_default", stack.project);
    let secret = stack.path().join("secrets/db_password");
    let id = docker(&[
        "run",
        "-d",
        "--restart",
        "on-failure",
        "--network",
        &net,
        "-e",
        "PGUSER=shop",
        "-e",
        "PGPASSWORD_FILE=/run/secrets/db_password",
        "-v",
        &format!("{}:/run/secrets/db_password:ro", secret.display()),
        "--entrypoint",
        "readygate",
        &format!("{}-django", stack.project),
        "--watch",
        "--watch-interval",
        "500ms",
        "--lost-after",
        "2s",
        "--on-lost",
        "exit",
        "--timeout",
        "0",
        "postgres://postgres:5432/shop",
        "--",
        "sleep",
        "1000",
    ])
    .trim()
    .to_string();
    let count = |logs: &str| logs.matches("runs as pid").count();
    stack.wait_logs(&id, "runs as pid", ms(60_000));
    stack.run(&["stop", "-t", "1", "postgres"]);
    wait_until(ms(60_000), ms(500), || {
        let restarts = docker(&["inspect", "-f", "{{.RestartCount}}", &id]);
        match restarts.trim() != "0" {
            true => Ok(()),
            false => Err(format!("never restarted:\n{}", stack.logs(&id))),
        }
    });
    let logs = stack.logs(&id);
    assert!(
        logs.contains("is lost") && logs.contains("exiting 1"),
        "{logs}"
    );
    stack.run(&["start", "postgres"]);
    let logs = wait_until(ms(120_000), ms(500), || {
        let logs = stack.logs(&id);
        match count(&logs) >= 2 {
            true => Ok(logs),
            false => Err(format!("never ran again:\n{logs}")),
        }
    });
    docker(&["rm", "-f", &id]);
    count(&logs)
}

/// The fenced block of `lang` that follows `after` in `text`.
fn block_after(text: &str, after: &str, lang: &str) -> String {
    let start = text.find(after).unwrap_or_else(|| panic!("no {after:?}"));
    let fence = format!("```{lang}\n");
    let from = start + text[start..].find(&fence).unwrap() + fence.len();
    let len = text[from..].find("```").unwrap();
    text[from..from + len].to_string()
}

/// The README's "In your project" run exactly as printed: its settings lines, Dockerfile and
/// compose file in a project made by `django-admin startproject`, the readygate image made by
/// `docker/image.sh`, and `docker compose up`. The base images (no registry here) come through the
/// file's own `*_IMAGE` variables, the port through `HTTP_PORT`.
#[test]
fn the_readmes_stack_runs_as_printed() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = "## In your project";
    let settings = block_after(&readme, section, "python");
    let dockerfile = block_after(&readme, section, "dockerfile");
    let compose = block_after(&readme, section, "yaml");
    let lines = |t: &str| t.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines(&dockerfile) + lines(&compose) <= 40,
        "the README's Dockerfile and compose file are {} lines",
        lines(&dockerfile) + lines(&compose)
    );
    if !docker_ready()
        || !require(have("debootstrap"), "debootstrap")
        || !require(
            have("django-admin"),
            "django-admin (Debian package python3-django)",
        )
        || !require(static_binary().is_some(), "the static build (musl target)")
    {
        return;
    }
    let out = sh(Command::new("bash").arg(repo().join("docker/e2e/django-bases/build.sh")));
    let bases: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| ["PYTHON_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE"].contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(bases.len(), 3, "{out}");
    // `readygate:latest` is one name for the whole machine: one run at a time uses it.
    std::fs::create_dir_all("/var/cache/readygate-e2e").unwrap();
    let lock = std::fs::File::create("/var/cache/readygate-e2e/readygate-latest.lock").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&lock);
    // SAFETY: flock on a descriptor this function owns and keeps open until it returns.
    let locked = unsafe { libc::flock(fd, libc::LOCK_EX) };
    assert_eq!(locked, 0);
    // As printed, with the build directory of this run's static binary (no second build).
    sh(Command::new("bash")
        .arg(repo().join("docker/image.sh"))
        .env("CARGO_TARGET_DIR", repo().join("target/static")));

    let dir = tempfile::tempdir().unwrap();
    sh(Command::new("django-admin")
        .args(["startproject", "mysite"])
        .arg(dir.path()));
    let settings_py = dir.path().join("mysite/settings.py");
    let mut text = std::fs::read_to_string(&settings_py).unwrap();
    text.push('\n');
    text.push_str(&settings);
    std::fs::write(&settings_py, text).unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "Django==4.2.30\ngunicorn==27.0.1\npsycopg[binary]==3.3.9\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("Dockerfile"), &dockerfile).unwrap();
    std::fs::write(dir.path().join("compose.yaml"), &compose).unwrap();

    struct Down<'a>(&'a Path, String);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = compose_command()
                .current_dir(self.0)
                .args(["-p", &self.1, "down", "-v", "--rmi", "local", "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let project = format!("rgreadme{}", std::process::id());
    let http = free_port();
    let compose_in = |args: &[&str]| {
        let mut c = compose_command();
        c.current_dir(dir.path())
            .args(["-p", &project])
            .args(args)
            .env("HTTP_PORT", http.to_string());
        for (k, v) in &bases {
            c.env(k, v);
        }
        c
    };
    let _down = Down(dir.path(), project.clone());
    let start = Instant::now();
    // --force-rm: a failed step's container is not left behind (the legacy builder keeps it).
    sh(&mut compose_in(&["build", "--force-rm"]));
    sh(&mut compose_in(&["up", "-d"]));
    let took = until(http, "/admin/login/", ms(240_000), |status, _| {
        status == 200
    });
    eprintln!(
        "MEASURE README stack: build and up -> the admin login page: {} ms ({} ms after up)",
        start.elapsed().as_millis(),
        took.as_millis()
    );
    let web = sh(&mut compose_in(&["ps", "-q", "web"])).trim().to_string();
    let logs = sh(&mut compose_in(&["logs", "--no-color", "web"]));
    assert!(
        logs.contains("readygate: all 2 targets are ready"),
        "{logs}"
    );
    assert!(
        logs.contains("Applying auth."),
        "the migrations did not run:\n{logs}"
    );
    let pid1 = docker(&["exec", &web, "cat", "/proc/1/cmdline"]);
    assert!(pid1.contains("gunicorn"), "PID 1 is {pid1:?}");
    // The healthcheck checks the app alone (its target replaces READYGATE_TARGETS).
    let health = wait_until(ms(60_000), ms(500), || {
        let s = docker(&["inspect", "-f", "{{.State.Health.Status}}", &web]);
        match s.trim() {
            "healthy" => Ok(s),
            other => Err(format!("health {other}")),
        }
    });
    assert_eq!(health.trim(), "healthy");
    let last = docker(&["inspect", "-f", "{{json .State.Health.Log}}", &web]);
    assert!(!last.contains("postgres://"), "{last}");
}
