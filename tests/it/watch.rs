//! `--watch`: after the start. The supervisor's PID 1 duties in the spirit of tini's own tests
//! (exit statuses passed through, every catchable signal forwarded, orphans reaped, a SIGTERM the
//! command ignores forwarded and waited out), a lost dependency (a real PostgreSQL stopped under a
//! running command) and the actions on it, a new address of a dependency's name, and the HTTP
//! server's bounds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{assert_no_canary, finish, free_port, gate, have, is_root, ms, require, run};
use crate::servers::{self, Pg};
use crate::signals::{child_of, spawn, wait_for_handler};

/// A TCP target that is up: it accepts (and closes) every connection, so that hundreds of
/// attempts never fill its backlog. Dropped, it closes its port.
struct Up {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn listen_on(l: TcpListener) -> Up {
    l.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => drop(s),
                Err(_) => std::thread::sleep(ms(2)),
            }
        }
    });
    Up {
        stop,
        thread: Some(thread),
    }
}

fn up() -> (Up, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    (listen_on(l), target)
}

/// A GET on the gate's server: (status, body); `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), ms(1000)).ok()?;
    s.set_read_timeout(Some(ms(3000))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

/// Polls `/readyz` until `want`; the time it took.
fn until_readyz(port: u16, want: u16, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if get(port, "/readyz").is_some_and(|(s, _)| s == want) {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "/readyz never answered {want}");
        std::thread::sleep(ms(20));
    }
}

/// Stops the supervisor with SIGTERM (forwarded to its command): the run, which must end 143.
fn stop(child: Child, pid: u32) -> crate::harness::Run {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let r = finish(child, Instant::now(), ms(10_000));
    assert_eq!(r.code(), 143, "{}", r.stderr);
    r
}

/// The PID of the command the supervisor started.
fn command_of(gate_pid: u32) -> u32 {
    child_of(gate_pid)
}

#[test]
fn every_exit_status_passes_through() {
    let (_l, target) = up();
    for code in 0..=255 {
        let r = run(
            gate().args([
                "--watch",
                "-q",
                &target,
                "--",
                "sh",
                "-c",
                &format!("exit {code}"),
            ]),
            ms(10_000),
        );
        assert_eq!(r.code(), code, "{}", r.stderr);
    }
}

/// Signals whose default action ends a process: the command dies of it, the supervisor reports
/// 128+N. The rest (ignored or stopping by default) are seen by a trap in the command.
const ENDING: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGPWR,
];
const TRAPPED: &[(i32, &str)] = &[
    (libc::SIGURG, "URG"),
    (libc::SIGWINCH, "WINCH"),
    (libc::SIGCONT, "CONT"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
];

/// The supervisor, started with `args`, once its command runs; (child, supervisor pid).
fn supervised(args: &[&str], pid1: bool) -> (Child, u32) {
    let child = if pid1 {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--"])
            .arg(env!("CARGO_BIN_EXE_readygate"))
            .args(args)
            .stdin(Stdio::null());
        spawn(&mut cmd)
    } else {
        spawn(gate().args(args))
    };
    let pid = if pid1 {
        child_of(child.id())
    } else {
        child.id()
    };
    wait_for_handler(pid, libc::SIGTERM);
    let _ = command_of(pid);
    (child, pid)
}

fn every_signal_forwarded(pid1: bool) {
    let (_l, target) = up();
    for &sig in ENDING {
        let (child, pid) = supervised(&["--watch", &target, "--", "sleep", "30"], pid1);
        std::thread::sleep(ms(100));
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid as i32, sig) };
        let r = finish(child, Instant::now(), ms(10_000));
        assert_eq!(r.code(), 128 + sig, "signal {sig}: {}", r.stderr);
    }
    for &(sig, name) in TRAPPED {
        let script = format!("trap 'exit 40' {name}; while :; do sleep 0.02; done");
        let (child, pid) = supervised(&["--watch", &target, "--", "sh", "-c", &script], pid1);
        std::thread::sleep(ms(200));
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, sig) };
        let r = finish(child, Instant::now(), ms(10_000));
        assert_eq!(r.code(), 40, "SIG{name}: {}", r.stderr);
    }
}

#[test]
fn every_catchable_signal_is_forwarded_and_128_plus_n_reported() {
    every_signal_forwarded(false);
}

#[test]
fn as_pid_1_every_catchable_signal_is_forwarded() {
    if !require(
        is_root() && have("unshare"),
        "root and unshare(1) for PID-namespace tests",
    ) {
        return;
    }
    every_signal_forwarded(true);
}

/// The children of `pid` and how many are zombies.
fn children(pid: u32) -> (usize, usize) {
    let mut all = 0;
    let mut zombies = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: the comm may hold spaces; split after its ')'.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().unwrap_or("");
        let ppid: u32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == pid {
            all += 1;
            zombies += usize::from(state == "Z");
        }
    }
    (all, zombies)
}

#[test]
fn a_hundred_orphans_leave_no_zombie() {
    let (_l, target) = up();
    // Each `(sleep 0.5 &)` leaves an orphan whose parent shell is gone: it comes back to the
    // supervisor (a subreaper), which must reap it when it exits.
    let script = "for i in $(seq 100); do (sleep 0.5 &); done; sleep 3";
    let (child, pid) = supervised(&["--watch", &target, "--", "sh", "-c", script], false);
    let start = Instant::now();
    let mut most = 0;
    while start.elapsed() < ms(400) {
        most = most.max(children(pid).0);
        std::thread::sleep(ms(10));
    }
    assert!(
        most > 50,
        "the orphans never came back to the supervisor ({most})"
    );
    std::thread::sleep(ms(1500));
    let (left, zombies) = children(pid);
    assert_eq!(zombies, 0, "{zombies} zombies of {left} children");
    assert_eq!(left, 1, "only the command is left");
    let r = finish(child, Instant::now(), ms(10_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn sigterm_ignored_by_the_command_is_forwarded_and_waited_out() {
    let (_l, target) = up();
    let script = "trap '' TERM; sleep 1.5; exit 5";
    let (child, pid) = supervised(&["--watch", &target, "--", "sh", "-c", script], false);
    std::thread::sleep(ms(100));
    let start = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let r = finish(child, start, ms(10_000));
    assert_eq!(r.code(), 5, "{}", r.stderr);
    assert!(
        r.elapsed > ms(1000),
        "the supervisor did not wait: {:?}",
        r.elapsed
    );
}

#[test]
fn a_lost_postgresql_turns_readyz_503_and_back() {
    if !servers::postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let port = free_port();
    let url = pg.url(&Pg::app(), "appdb");
    let serve = format!("127.0.0.1:{port}");
    let args = [
        "--watch",
        "--serve",
        &serve,
        "--watch-interval",
        "200ms",
        "--lost-after",
        "1s",
        &url,
        "--",
        "sleep",
        "120",
    ];
    let (child, pid) = supervised(&args, false);
    until_readyz(port, 200, ms(10_000));
    let (_, body) = get(port, "/readyz").unwrap();
    assert_no_canary(&body);
    assert!(
        body.contains("\"ready\":true") && body.contains("appdb"),
        "{body}"
    );
    pg.stop("immediate");
    let took = until_readyz(port, 503, ms(20_000));
    eprintln!(
        "MEASURE PostgreSQL stopped -> /readyz 503: {} ms (--lost-after 1s)",
        took.as_millis()
    );
    // Not before --lost-after: one failed attempt is not a loss (hysteresis)…
    assert!(took >= ms(900), "{took:?}");
    let (_, body) = get(port, "/readyz").unwrap();
    assert!(body.contains("\"lost\":true"), "{body}");
    let (_, metrics) = get(port, "/metrics").unwrap();
    assert!(
        metrics.contains("readygate_target_lost_total{target="),
        "{metrics}"
    );
    assert_no_canary(&metrics);
    pg.start();
    until_readyz(port, 200, ms(20_000));
    let r = stop(child, pid);
    assert!(
        r.stderr.contains("is lost") && r.stderr.contains("is ready again"),
        "{}",
        r.stderr
    );
}

/// A supervisor that watches `target` every 100 ms, takes it for lost after 500 ms and does
/// `action`, running `script` in sh.
fn lost_quickly(action: &str, target: &str, script: &str) -> Vec<String> {
    let words = [
        "--watch",
        "--watch-interval",
        "100ms",
        "--lost-after",
        "500ms",
        "--on-lost",
    ];
    words
        .iter()
        .copied()
        .chain([action, target, "--", "sh", "-c", script])
        .map(str::to_string)
        .collect()
}

#[test]
fn on_lost_exit_stops_the_command_and_exits_1() {
    let (l, target) = up();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("stopped");
    let script = format!(
        "trap 'echo stopped > {}; exit 0' TERM; while :; do sleep 0.02; done",
        marker.display()
    );
    let args = lost_quickly("exit", &target, &script);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, _) = supervised(&args, false);
    drop(l);
    let r = finish(child, Instant::now(), ms(10_000));
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(marker.exists(), "the command was not stopped with SIGTERM");
    assert!(r.stderr.contains("is lost"), "{}", r.stderr);
}

#[test]
fn on_lost_restart_gates_again_and_starts_the_command_again() {
    let (l, target) = up();
    let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let starts = dir.path().join("starts");
    let script = format!("echo start >> {}; exec sleep 60", starts.display());
    let args = lost_quickly("restart", &target, &script);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, pid) = supervised(&args, false);
    drop(l);
    // Stopped, and waiting in the gate: started once so far.
    std::thread::sleep(ms(1500));
    assert_eq!(std::fs::read_to_string(&starts).unwrap().lines().count(), 1);
    let _l = listen_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let start = Instant::now();
    while std::fs::read_to_string(&starts).unwrap().lines().count() < 2 {
        assert!(start.elapsed() < ms(10_000), "never started again");
        std::thread::sleep(ms(20));
    }
    let r = stop(child, pid);
    assert!(r.stderr.contains("gating again"), "{}", r.stderr);
}

#[test]
fn the_server_shrugs_off_slow_and_huge_clients_and_shows_no_secret() {
    let (_l, target) = up();
    let port = free_port();
    let serve = format!("127.0.0.1:{port}");
    // A second target with a password (the canary) that never comes up: optional, so the command
    // runs, and its name shows in every body.
    let secret = format!(
        "redis://:{}@127.0.0.1:{}/0#optional",
        servers::password_in_url(),
        free_port()
    );
    let args = [
        "--watch", "--serve", &serve, "-t", "2s", &target, &secret, "--", "sleep", "60",
    ];
    let (child, pid) = supervised(&args, false);
    until_readyz(port, 200, ms(10_000));
    for path in ["/readyz", "/metrics", "/livez", "/nothing"] {
        let (_, body) = get(port, path).unwrap();
        assert_no_canary(&body);
    }
    // 500 slow clients: connected, half a request line, then nothing.
    let mut slow = Vec::new();
    for _ in 0..500 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /rea");
            slow.push(s);
        }
    }
    assert!(slow.len() >= 450, "{}", slow.len());
    let start = Instant::now();
    let answer = get(port, "/readyz");
    let took = start.elapsed();
    eprintln!(
        "MEASURE /readyz with 500 slow clients connected: {} ms",
        took.as_millis()
    );
    assert_eq!(answer.map(|(s, _)| s), Some(200));
    assert!(took < ms(300), "{took:?}");
    drop(slow);
    // A request head of 1 MiB: refused, never read whole.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(ms(5000))).unwrap();
    let _ = s.write_all(b"GET /readyz HTTP/1.1\r\n");
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000));
    for _ in 0..1024 {
        if s.write_all(filler.as_bytes()).is_err() {
            break;
        }
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(!reply.contains(" 200 "), "{reply}");
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
        "{reply}"
    );
    stop(child, pid);
}

#[test]
fn watch_options_without_watch_or_that_cannot_work_are_usage_errors() {
    let (_l, target) = up();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("127.0.0.1:{}", taken.local_addr().unwrap().port());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--serve", ":9090", &target, "--", "true"],
            "add --watch",
        ),
        (
            vec!["--on-change", "HUP", &target, "--", "true"],
            "add --watch",
        ),
        (vec!["--watch", "--signal-group", &target], "there is none"),
        (
            vec!["--watch", "--on-change", "KILL", &target, "--", "true"],
            "cannot be caught",
        ),
        (
            vec!["--watch", "--on-change", "BOGUS", &target, "--", "true"],
            "example: HUP",
        ),
        (
            vec!["--watch", "--on-lost", "reboot", &target, "--", "true"],
            "report, exit, restart",
        ),
        (
            vec!["--watch", "--on-lost", "restart", &target],
            "there is none",
        ),
        (
            vec![
                "--watch",
                "--serve",
                "localhost:99999",
                &target,
                "--",
                "true",
            ],
            "examples: :9090",
        ),
        (
            vec!["--watch", "--watch-interval", "0", &target, "--", "true"],
            "more than 0",
        ),
        (
            vec!["--watch", "--serve", &taken, &target, "--", "true"],
            "cannot listen",
        ),
    ];
    for (args, says) in cases {
        let r = run(gate().args(&args), ms(5000));
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
    // A healthcheck's usage error exits 1 (Docker keeps 2 for itself).
    let r = run(gate().args(["--watch", "--check", &target]), ms(5000));
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--watch and --check"), "{}", r.stderr);
    // Without --watch nothing changes: the command is exec'd in place.
    let r = run(
        gate().args([&target, "--", "sh", "-c", "echo $$"]),
        ms(5000),
    );
    assert_eq!(r.code(), 0);
}

#[test]
fn a_sidecar_without_a_command_watches_until_signalled() {
    let (_l, target) = up();
    let port = free_port();
    let serve = format!("127.0.0.1:{port}");
    let child = spawn(gate().args(["--watch", "--serve", &serve, &target]));
    until_readyz(port, 200, ms(10_000));
    wait_for_handler(child.id(), libc::SIGTERM);
    let pid = child.id();
    stop(child, pid);
}

/// The nginx lesson in small: a dependency's name moves to a new address (its container was
/// recreated), and the command gets `--on-change`'s signal once — and without `--on-change`, none.
#[test]
fn a_new_address_sends_the_on_change_signal_once() {
    let base = "127.0.0.1 localhost\n";
    let Some(names) = crate::dns::Names::new(
        &format!("{base}127.0.0.1 moving.test\n"),
        crate::dns::FAST_RESOLV,
    ) else {
        return;
    };
    // Listening on every loopback address: up at the old address and at the new one.
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let _up = listen_on(l);
    let dir = tempfile::tempdir().unwrap();
    for on_change in [true, false] {
        let hups = dir.path().join(format!("hups-{on_change}"));
        std::fs::write(&hups, "").unwrap();
        crate::dns::rewrite(&names.hosts(), &format!("{base}127.0.0.1 moving.test\n"));
        let script = format!(
            "trap 'echo HUP >> {}' HUP; while :; do sleep 0.02; done",
            hups.display()
        );
        let target = format!("moving.test:{port}");
        let mut args: Vec<String> = ["--watch", "--watch-interval", "100ms"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if on_change {
            args.extend(["--on-change".to_string(), "HUP".to_string()]);
        }
        args.extend([target, "--".into(), "sh".into(), "-c".into(), script]);
        let child = spawn(&mut names.gate(&args));
        let pid = child_of(child.id());
        wait_for_handler(pid, libc::SIGTERM);
        let _ = command_of(pid);
        std::thread::sleep(ms(500));
        crate::dns::rewrite(&names.hosts(), &format!("{base}127.0.0.2 moving.test\n"));
        let start = Instant::now();
        let limit = if on_change { ms(5000) } else { ms(1500) };
        while start.elapsed() < limit && std::fs::read_to_string(&hups).unwrap().is_empty() {
            std::thread::sleep(ms(20));
        }
        if on_change {
            eprintln!(
                "MEASURE hosts changed -> SIGHUP to the command: {} ms",
                start.elapsed().as_millis()
            );
        }
        // Once per change, not once per look.
        std::thread::sleep(ms(500));
        let got = std::fs::read_to_string(&hups).unwrap().lines().count();
        assert_eq!(got, usize::from(on_change), "on_change {on_change}");
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let r = finish(child, Instant::now(), ms(10_000));
        assert!(
            r.stderr.contains("now resolves to 127.0.0.2"),
            "{}",
            r.stderr
        );
    }
}

/// A stderr nobody reads (a full pipe) must not stop the supervisor from forwarding a signal: it
/// writes on a non-blocking description of its own, while the command keeps fd 2 as it was.
#[test]
fn a_full_stderr_does_not_stop_the_supervisor() {
    let (_l, target) = up();
    let mut fds = [0; 2];
    // SAFETY: pipe(2) into a two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) = (fds[0], fds[1]);
    // Fill it: nothing will ever read it.
    // SAFETY: fcntl/write on the pipe we just made.
    unsafe {
        let flags = libc::fcntl(write_end, libc::F_GETFL);
        libc::fcntl(write_end, libc::F_SETFL, flags | libc::O_NONBLOCK);
        let chunk = [b'x'; 4096];
        while libc::write(write_end, chunk.as_ptr().cast(), chunk.len()) > 0 {}
        libc::fcntl(write_end, libc::F_SETFL, flags);
    }
    // SAFETY: the write end becomes the child's stderr; it is closed here after the spawn.
    let stderr = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(write_end) };
    let mut cmd = gate();
    cmd.args([
        "--watch",
        "-v",
        "--watch-interval",
        "20ms",
        &target,
        "--",
        "sleep",
        "30",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::from(stderr));
    // SAFETY: signal(2) in the child between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let _ = child_of(pid);
    std::thread::sleep(ms(500));
    let start = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > ms(5000) {
            let _ = child.kill();
            panic!("the supervisor is stuck on its full stderr");
        }
        std::thread::sleep(ms(10));
    };
    assert_eq!(status.code(), Some(143));
    // SAFETY: closing the read end we own.
    unsafe { libc::close(read_end) };
}

/// The compose pattern of the README: the app's healthcheck is `readygate --check` on the gate's
/// own `/readyz` — healthy while the dependencies are, unhealthy once one is lost.
#[test]
fn a_healthcheck_on_the_gates_readyz_follows_the_dependencies() {
    let (l, target) = up();
    let port = free_port();
    let serve = format!("127.0.0.1:{port}");
    let args = [
        "--watch",
        "--serve",
        &serve,
        "--watch-interval",
        "100ms",
        "--lost-after",
        "500ms",
        &target,
        "--",
        "sleep",
        "60",
    ];
    let (child, pid) = supervised(&args, false);
    let check = || {
        run(
            gate().args(["--check", &format!("http://127.0.0.1:{port}/readyz")]),
            ms(10_000),
        )
        .code()
    };
    until_readyz(port, 200, ms(10_000));
    assert_eq!(check(), 0);
    drop(l);
    until_readyz(port, 503, ms(10_000));
    assert_eq!(check(), 1);
    stop(child, pid);
}
