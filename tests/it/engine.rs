//! `docker://`, `compose://` and `swarm://` on the machine's Docker Engine, with containers of a
//! FROM-scratch busybox image built for the run (names and tags carry the run's tag, so two suites
//! on one machine do not collide): a health check that passes, one-shot jobs that exit 0 or 1 or
//! are removed and recreated, a log line among 20,000 others, a compose project found from the
//! gate's own container, a swarm service's tasks, all of it again through a read-only socket
//! proxy (nginx), and a hostile fake engine on a unix socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::containers::{docker, docker_quiet, docker_ready, sh, tag};
use crate::fake::{read_head, write_reply, Reply};
use crate::harness::{
    gate, ms, require, run, run_during, run_measuring_rss, run_watching, wait_until,
};

/// The busybox image and the containers a test made, removed on drop.
pub(crate) struct Engine {
    pub(crate) image: String,
    containers: Vec<String>,
}

impl Engine {
    /// Builds the image (a static busybox, its applets linked in /bin), or `None` (skip). Each
    /// test has its own tag: one test's clean-up never removes another's image.
    pub(crate) fn start(test: &str) -> Option<Engine> {
        if !docker_ready()
            || !require(
                Path::new("/bin/busybox").exists(),
                "a static busybox (busybox-static)",
            )
        {
            return None;
        }
        let image = format!("readygate-e2e-bb:{}-{test}", tag());
        let ctx = tempfile::tempdir().unwrap();
        std::fs::copy("/bin/busybox", ctx.path().join("busybox")).unwrap();
        std::fs::write(
            ctx.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        )
        .unwrap();
        docker(&["build", "-q", "-t", &image, ctx.path().to_str().unwrap()]);
        Some(Engine {
            image,
            containers: Vec::new(),
        })
    }

    /// A container name of this run.
    pub(crate) fn name(&mut self, what: &str) -> String {
        let name = format!("rg-{}-{what}", tag());
        docker_quiet(&["rm", "-f", &name]);
        self.containers.push(name.clone());
        name
    }

    /// `docker run -d` of a shell script, with extra options before the image.
    pub(crate) fn run(&self, name: &str, options: &[&str], script: &str) -> String {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(options);
        args.extend_from_slice(&[&self.image, "sh", "-c", script]);
        docker(&args).trim().to_string()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        for c in &self.containers {
            docker_quiet(&["rm", "-f", c]);
        }
        docker_quiet(&["rmi", "-f", &self.image]);
    }
}

/// The events of one container as the engine publishes them (`TimeNano Action`), read from
/// `docker events` started before the container.
struct Events {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Events {
    fn of(name: &str) -> Events {
        let mut child = Command::new("docker")
            .args([
                "events",
                "--filter",
                &format!("container={name}"),
                "--format",
                "{{.TimeNano}} {{.Action}}",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        // `docker events` subscribes asynchronously: give it a moment before the container exists.
        std::thread::sleep(ms(300));
        Events { child, lines }
    }

    /// Unix nanoseconds of the first event whose action starts with `action`.
    fn time_of(&self, action: &str) -> i128 {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let line = self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no {action} event"));
            if let Some((t, a)) = line.split_once(' ') {
                if a.starts_with(action) {
                    return t.parse().unwrap();
                }
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

/// The gate with `DOCKER_HOST` set (a proxy's socket) or left to its default.
fn gate_on(host: Option<&Path>) -> Command {
    let mut g = gate();
    g.env_remove("DOCKER_HOST")
        .env_remove("COMPOSE_PROJECT_NAME");
    if let Some(sock) = host {
        g.env("DOCKER_HOST", format!("unix://{}", sock.display()));
    }
    g
}

/// The command runs at the engine's `health_status: healthy` event, not a polling interval later.
fn health(e: &mut Engine, host: Option<&Path>) {
    let name = e.name("health");
    let events = Events::of(&name);
    let stamp = tempfile::NamedTempFile::new().unwrap();
    let script = format!("date +%s%N > {}", stamp.path().display());
    let g = run_during(
        gate_on(host).args([
            "-t",
            "60",
            &format!("docker://{name}#healthy"),
            "--",
            "sh",
            "-c",
            &script,
        ]),
        Duration::from_secs(90),
        || {
            e.run(
                &name,
                &[
                    "--health-cmd",
                    "test -f /ok",
                    "--health-interval",
                    "250ms",
                    "--health-start-period",
                    "0s",
                ],
                "sleep 2; touch /ok; exec sleep 1000",
            );
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");
    let healthy = events.time_of("health_status: healthy");
    let ran: i128 = std::fs::read_to_string(stamp.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let after_ms = (ran - healthy) as f64 / 1e6;
    eprintln!("MEASURE healthy event to command: {after_ms:.1} ms");
    // The benchmark measures it (milliseconds); here: after the event, and long before a poll.
    assert!((0.0..750.0).contains(&after_ms), "{after_ms} ms\n{g:?}");
    assert!(g.stderr.contains("is healthy"), "{}", g.stderr);
}

/// One-shot jobs: exit 0 starts the command, exit 1 fails at once naming it, one removed before
/// it ran is waited for and seen when it is created again, one run with --rm is seen by its event.
fn jobs(e: &mut Engine, host: Option<&Path>) {
    let name = e.name("migrate");
    let g = run_during(
        gate_on(host).args(["-t", "60", &format!("docker://{name}#exited"), "--", "true"]),
        Duration::from_secs(90),
        || {
            e.run(&name, &[], "sleep 1; exit 0");
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");

    let failing = e.name("failing");
    let events = Events::of(&failing);
    let g = run_during(
        gate_on(host).args([
            "-t",
            "60",
            &format!("docker://{failing}#exited"),
            "--",
            "true",
        ]),
        Duration::from_secs(90),
        || {
            e.run(&failing, &[], "sleep 1; exit 1");
        },
    );
    let ended = now_ns();
    assert_eq!(g.code(), 1, "{g:?}");
    assert!(
        g.stderr
            .contains(&format!("{failing} exited 1 (expected 0)")),
        "{}",
        g.stderr
    );
    let died = events.time_of("die");
    let after_ms = (ended - died) as f64 / 1e6;
    eprintln!("MEASURE die event to exit 1: {after_ms:.1} ms (includes the test's reaping)");
    assert!(after_ms < 1000.0, "{after_ms} ms");

    // Created, removed before it ran, created again and run.
    let again = e.name("again");
    docker(&["create", "--name", &again, &e.image, "sh", "-c", "exit 0"]);
    let g = run_watching(
        gate_on(host).args([
            "-t",
            "60",
            &format!("docker://{again}#exited"),
            "--",
            "true",
        ]),
        Duration::from_secs(90),
        |said| {
            said.wait_for("not started yet");
            docker(&["rm", &again]);
            said.wait_for(&format!("no container named {again}"));
            e.run(&again, &[], "sleep 0.5; exit 0");
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");

    // Removed by the engine as it exits: the die event's code is the answer.
    let gone = e.name("rm");
    let g = run_during(
        gate_on(host).args([
            "-t",
            "60",
            &format!("docker://{gone}#exited=3"),
            "--",
            "true",
        ]),
        Duration::from_secs(90),
        || {
            e.run(&gone, &["--rm"], "sleep 1; exit 3");
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");
}

/// A line written after 20,000 lines of 1 KiB is matched; the gate does not keep the log.
fn log_line(e: &mut Engine, host: Option<&Path>) {
    let name = e.name("log");
    let script = "pad=$(printf '%1000s' x); i=0; while [ $i -lt 20000 ]; do echo \"line $i $pad\"; i=$((i+1)); done; sleep 1.5; echo 'server READY on port 8000' >&2; exec sleep 1000";
    e.run(&name, &[], script);
    let (g, peak_kib) = run_measuring_rss(
        gate_on(host).args([
            "-t",
            "60",
            &format!("docker://{name}#log=READY%20on%20port%20%5Cd%2B"),
            "--",
            "true",
        ]),
        Duration::from_secs(90),
    );
    assert_eq!(g.code(), 0, "{g:?}");
    assert!(g.stderr.contains("logged a matching line"), "{}", g.stderr);
    // 20 MiB of log went through; the gate holds a line at a time.
    assert!(peak_kib < 16 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn docker_targets_on_the_engine() {
    let Some(mut e) = Engine::start("docker") else {
        return;
    };
    health(&mut e, None);
    jobs(&mut e, None);
    log_line(&mut e, None);
    // A container that will never be healthy: no health check at all, a usage mistake named.
    let plain = e.name("plain");
    e.run(&plain, &[], "exec sleep 1000");
    let g = run(
        gate_on(None).args([
            "-t",
            "30",
            &format!("docker://{plain}#healthy"),
            "--",
            "true",
        ]),
        Duration::from_secs(40),
    );
    assert_eq!(g.code(), 1, "{g:?}");
    assert!(g.stderr.contains("has no health check"), "{}", g.stderr);
    // --check answers about now.
    let g = run(
        gate_on(None).args(["--check", &format!("docker://{plain}")]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 0, "{g:?}");
    let g = run(
        gate_on(None).args(["--check", &format!("docker://{plain}#exited")]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 1, "{g:?}");
    assert!(g.elapsed < Duration::from_secs(2), "{g:?}");
    // #down: until the container is gone.
    let g = run_during(
        gate_on(None).args(["-t", "30", &format!("docker://{plain}#down"), "--", "true"]),
        Duration::from_secs(40),
        || {
            std::thread::sleep(ms(500));
            docker(&["rm", "-f", &plain]);
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");
}

/// A read-only proxy of the engine's socket (nginx) that allows GET on the README's paths and
/// nothing else: every target works through it, and it really refuses the rest. One process
/// (`master_process off`): killing a master leaves its workers behind, and as root the single
/// process may use the engine's socket.
struct Proxy {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proxy() -> Option<Proxy> {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if !require(
        nginx.is_some(),
        "nginx (nginx-light), for the read-only socket proxy",
    ) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let socket = dir.path().join("proxy.sock");
    let conf = format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen unix:{d}/proxy.sock;
    location ~ ^(/v[0-9]+\.[0-9]+)?/(_ping|events|containers/json|containers/[A-Za-z0-9_.-]+/(json|logs)|services/[A-Za-z0-9_.-]+|tasks)$ {{
      limit_except GET {{ deny all; }}
      proxy_pass http://unix:/var/run/docker.sock;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
    location / {{ return 403; }}
  }}
}}
"#
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx.unwrap())
        .args([
            "-e",
            &format!("{d}/error.log"),
            "-p",
            &d.to_string(),
            "-c",
            &format!("{d}/nginx.conf"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        ms(20),
        || match UnixStream::connect(&socket) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("nginx on {}: {e}", socket.display())),
        },
    );
    Some(Proxy {
        child,
        _dir: dir,
        socket,
    })
}

/// The status line of a raw request through the proxy.
fn ask(socket: &Path, request: &str) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.take(4096).read_to_string(&mut answer);
    answer.lines().next().unwrap_or("").to_string()
}

#[test]
fn docker_targets_through_a_read_only_socket_proxy() {
    let Some(mut e) = Engine::start("proxy") else {
        return;
    };
    let Some(p) = proxy() else { return };
    let plain = e.name("proxied");
    e.run(&plain, &[], "exec sleep 1000");
    // The proxy is what it claims: GET on the listed paths passes, the rest is refused.
    assert!(ask(&p.socket, "GET /_ping HTTP/1.0\r\n\r\n").contains("200"));
    for refused in [
        format!("POST /v1.47/containers/{plain}/stop HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
        "GET /v1.47/images/json HTTP/1.0\r\n\r\n".to_string(),
        format!("GET /v1.47/containers/{plain}/export HTTP/1.0\r\n\r\n"),
    ] {
        assert!(ask(&p.socket, &refused).contains("403"), "{refused}");
    }
    health(&mut e, Some(&p.socket));
    jobs(&mut e, Some(&p.socket));
    log_line(&mut e, Some(&p.socket));
    let g = run(
        gate_on(Some(&p.socket)).args(["-t", "20", &format!("docker://{plain}"), "--", "true"]),
        Duration::from_secs(30),
    );
    assert_eq!(g.code(), 0, "{g:?}");
}

#[test]
fn compose_targets_find_their_project() {
    let Some(e) = Engine::start("compose") else {
        return;
    };
    let bin = crate::static_build::static_binary().expect("static build");
    let project = format!("rgc{}", tag().replace('-', ""));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            r#"services:
  db:
    image: {image}
    command: sh -c 'sleep 2; touch /ok; exec sleep 1000'
    healthcheck: {{test: ["CMD", "test", "-f", "/ok"], interval: 250ms}}
  migrate:
    image: {image}
    command: sh -c 'sleep 1; exit 0'
  app:
    image: {image}
    entrypoint: ["/readygate", "-t", "60", "compose://db#healthy", "compose://migrate#exited", "--"]
    command: ["sh", "-c", "echo APP STARTED; exec sleep 1000"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - {bin}:/readygate:ro
"#,
            image = e.image,
            bin = bin.display()
        ),
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let mut c = crate::containers::compose_command();
        c.args(["-p", &project, "-f"])
            .arg(dir.path().join("compose.yaml"))
            .args(args);
        c
    };
    struct Down<F: Fn()>(F);
    impl<F: Fn()> Drop for Down<F> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let _down = Down(|| {
        let _ = compose(&["down", "-t", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    });
    sh(&mut compose(&["up", "-d"]));
    // The gate in `app` found its project from its own container's labels.
    let logs = wait_until(Duration::from_secs(60), ms(200), || {
        let out = compose(&["logs", "--no-color", "app"]).output().unwrap();
        let logs = String::from_utf8_lossy(&out.stdout).into_owned();
        match logs.contains("APP STARTED") {
            true => Ok(logs),
            false => Err(logs),
        }
    });
    assert!(
        logs.contains("compose://db is ready") && logs.contains("compose://migrate is ready"),
        "{logs}"
    );
    // From the host, the project is named.
    let g = run(
        gate_on(None).args([
            "--check",
            &format!("compose://db#healthy&project={project}"),
        ]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 0, "{g:?}");
    let g = run(
        gate_on(None)
            .env("COMPOSE_PROJECT_NAME", &project)
            .args(["--check", "compose://nothere"]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 1, "{g:?}");
    assert!(
        g.stderr.contains("no container of service nothere"),
        "{}",
        g.stderr
    );
}

#[test]
fn swarm_targets_count_running_tasks() {
    let Some(e) = Engine::start("swarm") else {
        return;
    };
    let _lock = crate::swarm::lock();
    let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    if !require(
        state.trim() == "inactive",
        "an engine that is not in a swarm (this test makes its own)",
    ) {
        return;
    }
    let had_gwbridge = docker_quiet(&["network", "inspect", "docker_gwbridge"]);
    sh(Command::new("docker").args(["swarm", "init", "--advertise-addr", "127.0.0.1"]));
    let service = format!("rgs{}", tag().replace('-', ""));
    struct Leave {
        service: String,
        had_gwbridge: bool,
    }
    impl Drop for Leave {
        fn drop(&mut self) {
            docker_quiet(&["service", "rm", &self.service]);
            docker_quiet(&["swarm", "leave", "--force"]);
            if !self.had_gwbridge {
                docker_quiet(&["network", "rm", "docker_gwbridge"]);
            }
        }
    }
    let _leave = Leave {
        service: service.clone(),
        had_gwbridge,
    };
    let g = run_watching(
        gate_on(None).args(["-t", "60", &format!("swarm://{service}"), "--", "true"]),
        Duration::from_secs(90),
        |said| {
            said.wait_for("no swarm service named");
            docker(&[
                "service",
                "create",
                "-d",
                "--name",
                &service,
                "--replicas",
                "2",
                &e.image,
                "sleep",
                "1000",
            ]);
        },
    );
    assert_eq!(g.code(), 0, "{g:?}");
    assert!(g.stderr.contains("2 of 2 tasks running"), "{}", g.stderr);
    // A task killed: the count drops, and the gate waits for its replacement.
    let task = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ]);
    let task = task.lines().next().unwrap().to_string();
    docker(&["kill", &task]);
    wait_until(Duration::from_secs(30), ms(100), || {
        let g = run(
            gate_on(None).args(["--check", &format!("swarm://{service}")]),
            Duration::from_secs(10),
        );
        match g.code() {
            1 => Ok(()),
            _ => Err(g.stderr),
        }
    });
    let g = run(
        gate_on(None).args([
            "-t",
            "60",
            &format!("swarm://{service}#running=2"),
            "--",
            "true",
        ]),
        Duration::from_secs(90),
    );
    assert_eq!(g.code(), 0, "{g:?}");
    // Not a manager (after leaving): a clear, permanent reason.
    drop(_leave);
    let g = run(
        gate_on(None).args(["-t", "10", &format!("swarm://{service}"), "--", "true"]),
        Duration::from_secs(20),
    );
    assert_eq!(g.code(), 1, "{g:?}");
    assert!(g.stderr.contains("not a swarm manager"), "{}", g.stderr);
}

/// A fake engine on a unix socket: `/_ping` answers with `version`, and every other path with
/// what `answer` writes (after the request head is read).
fn fake_engine(
    version: &'static str,
    answer: fn(&str, &mut UnixStream),
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("engine.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let head = read_head(&s);
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                if path == "/_ping" {
                    let version = vec![("Api-Version", version.to_string())];
                    write_reply(&mut s, Reply::Status(200, version, "OK".into()));
                } else {
                    answer(&path, &mut s);
                }
            });
        }
    });
    (dir, socket)
}

/// An inspection of the fake's one container, `job`, in `status`.
fn job(s: &mut UnixStream, status: &str) {
    let body = format!(r#"{{"Id":"x","Name":"/job","State":{{"Status":"{status}"}}}}"#);
    write_reply(s, Reply::Status(200, vec![], body));
}

fn chunked_head(s: &mut UnixStream) {
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn a_hostile_engine_is_bounded_and_named() {
    // Each case: the fake's answer, the gate's exit code, what its reason says.
    type Case = (
        &'static str,
        &'static str,
        fn(&str, &mut UnixStream),
        i32,
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "an endless stream of other events",
            "1.45",
            |path, s| {
                if path.contains("/events") {
                    chunked_head(s);
                    let event = br#"{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":{"name":"other"}}}"#;
                    loop {
                        let mut chunk = format!("{:x}\r\n", event.len() + 1).into_bytes();
                        chunk.extend_from_slice(event);
                        chunk.extend_from_slice(b"\n\r\n");
                        if s.write_all(&chunk).is_err() {
                            return;
                        }
                    }
                }
                job(s, "running");
            },
            124,
            "job is still running",
        ),
        (
            "an endless line",
            "1.45",
            |path, s| {
                if path.contains("/events") {
                    chunked_head(s);
                    let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
                    while s.write_all(chunk.as_bytes()).is_ok() {}
                    return;
                }
                job(s, "created");
            },
            124,
            "a line longer than 256 KiB",
        ),
        (
            "a huge document",
            "1.45",
            |path, s| {
                if path.contains("/events") {
                    chunked_head(s);
                    std::thread::sleep(Duration::from_secs(30));
                    return;
                }
                write_reply(s, Reply::EndlessBody);
            },
            124,
            "longer than 4096 KiB",
        ),
        (
            "a version that is none",
            "banana",
            |_, _| {},
            1,
            "is no version",
        ),
        (
            "a version refused",
            "1.51",
            |_, s| {
                let body = r#"{"message":"client version 1.47 is too new. Maximum supported API version is 1.40"}"#;
                write_reply(s, Reply::Status(400, vec![], body.into()));
            },
            1,
            "client version 1.47 is too new",
        ),
        (
            "a proxy that forbids a path",
            "1.45",
            |_, s| {
                write_reply(s, Reply::Status(403, vec![], "Forbidden".into()));
            },
            1,
            "a socket proxy must allow GET",
        ),
        (
            "silence",
            "1.45",
            |_, s| {
                let mut b = [0u8; 1];
                let _ = s.read(&mut b);
            },
            124,
            "job",
        ),
    ];
    for (what, version, answer, code, said) in cases {
        let (_dir, socket) = fake_engine(version, *answer);
        let g = run(
            gate_on(Some(&socket)).args([
                "-t",
                "3",
                "--attempt-timeout",
                "1s",
                "--log-format",
                "json",
                "docker://job#exited",
                "--",
                "true",
            ]),
            Duration::from_secs(20),
        );
        assert_eq!(g.code(), *code, "{what}: {g:?}");
        assert!(g.stderr.contains(said), "{what}: {}", g.stderr);
        if *code == 124 {
            let at = g.event_ms("timeout");
            assert!((2900..4000).contains(&at), "{what}: deadline at {at} ms");
        }
    }
}

#[test]
fn an_engine_socket_that_is_missing_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("docker.sock");
    let started = Instant::now();
    let g = run(
        gate_on(Some(&missing)).args([
            "-t",
            "30",
            "docker://db",
            "compose://db#project=x",
            "--",
            "true",
        ]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 2, "{g:?}");
    assert!(
        g.stderr.contains(&format!(
            "the engine's socket {} does not exist",
            missing.display()
        )),
        "{}",
        g.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    std::fs::write(&missing, "").unwrap();
    let g = run(
        gate_on(Some(&missing)).args(["docker://db", "--", "true"]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 2, "{g:?}");
    assert!(g.stderr.contains("is not a socket"), "{}", g.stderr);
    // A socket the gate's user may not connect to (as the engine's is to a user outside its
    // group): named at start, not waited on. Run as nobody, which only root can arrange.
    if crate::harness::is_root() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        std::fs::remove_file(&missing).unwrap();
        let _listener = UnixListener::bind(&missing).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o600)).unwrap();
        let g = run(
            gate_on(Some(&missing))
                .uid(65534)
                .gid(65534)
                .args(["docker://db", "--", "true"]),
            Duration::from_secs(10),
        );
        assert_eq!(g.code(), 2, "{g:?}");
        assert!(
            g.stderr.contains("is not open to this user"),
            "{}",
            g.stderr
        );
    }
    let g = run(
        gate()
            .env("DOCKER_HOST", "ssh://me@host")
            .args(["docker://db", "--", "true"]),
        Duration::from_secs(10),
    );
    assert_eq!(g.code(), 2, "{g:?}");
    assert!(
        g.stderr.contains("ssh:// and npipe:// are not supported"),
        "{}",
        g.stderr
    );
}
