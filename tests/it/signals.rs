//! Signals while waiting: 128+N at once, also as PID 1 of a PID namespace (where the kernel
//! delivers only handled signals), and in every blocking state: backoff sleep, connect, TLS
//! handshake. (Name lookups: see dns.rs.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fake;
use crate::harness::{finish, gate, have, inspector, is_root, ms, require, HeldPort, Run};

/// The PID of `parent`'s only child, once it exists.
pub fn child_of(parent: u32) -> u32 {
    let deadline = Instant::now() + ms(5000);
    loop {
        let path = format!("/proc/{parent}/task/{parent}/children");
        if let Some(pid) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.split_whitespace().next().map(|p| p.parse().unwrap()))
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no child of {parent}");
        std::thread::sleep(ms(5));
    }
}

/// Waits until `pid` is the gate and has a handler for `sig` (so the test does not race start-up).
pub fn wait_for_handler(pid: u32, sig: i32) {
    let deadline = Instant::now() + ms(5000);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let is_gate = status
            .lines()
            .next()
            .is_some_and(|l| l.contains("readygate"));
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            .unwrap_or(0);
        if is_gate && caught & (1 << (sig - 1)) != 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never installed a handler for {sig}"
        );
        std::thread::sleep(ms(5));
    }
}

/// Sends `sig` to the gate once it is waiting; returns the run and the time from signal to exit.
pub fn signal_gate(child: Child, gate_pid: u32, sig: i32) -> (Run, Duration) {
    wait_for_handler(gate_pid, sig);
    std::thread::sleep(ms(300)); // let it get into the blocking state under test
    let start = Instant::now();
    // SAFETY: plain kill(2) on a pid we own.
    unsafe { libc::kill(gate_pid as i32, sig) };
    let r = finish(child, Instant::now(), ms(5000));
    (r, start.elapsed())
}

pub fn spawn(cmd: &mut Command) -> Child {
    // A shell's background job starts with SIGINT and SIGQUIT ignored, and the gate leaves a signal
    // its parent ignored alone: give the gate the defaults a container runtime gives it.
    // SAFETY: signal(2) in the child between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn each_signal_ends_the_wait_with_128_plus_n() {
    for (sig, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGQUIT, "SIGQUIT"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let refused = HeldPort::new();
        let child = spawn(
            gate()
                .args(["-t", "60s", &format!("127.0.0.1:{}", refused.port), "--"])
                .arg(inspector())
                .env("INSPECT_MARKER", &marker),
        );
        let pid = child.id();
        let (r, took) = signal_gate(child, pid, sig);
        assert_eq!(r.code(), 128 + sig, "{name}: {}", r.stderr);
        assert!(took < ms(500), "{name} took {took:?}");
        assert!(
            r.stderr.contains(&format!("interrupted by {name}")),
            "{}",
            r.stderr
        );
        assert!(!marker.exists(), "no exec after a signal");
    }
}

fn pid1_namespace_available() -> bool {
    require(
        is_root() && have("unshare"),
        "root and unshare(1) for PID-namespace tests",
    )
}

#[test]
fn as_pid_1_every_signal_and_every_blocking_state() {
    if !pid1_namespace_available() {
        return;
    }
    let silent = fake::silent();
    let (backlog, _keep, _l) = fake::full_backlog();
    let refused = HeldPort::new();
    let states = [
        ("backoff sleep", format!("127.0.0.1:{}", refused.port)),
        ("connect", format!("tcp://127.0.0.1:{backlog}")),
        ("TLS handshake", format!("https://127.0.0.1:{silent}/")),
        ("HTTP exchange", format!("http://127.0.0.1:{silent}/")),
    ];
    let signals = [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
        (libc::SIGQUIT, 131),
    ];
    for (i, (state, target)) in states.iter().enumerate() {
        // Every state with SIGTERM; every signal in one state each.
        for (sig, want) in [signals[0], signals[i % signals.len()]] {
            let child = spawn(
                Command::new("unshare")
                    .args(["--pid", "--fork", "--mount-proc"])
                    .arg(env!("CARGO_BIN_EXE_readygate"))
                    .args([
                        "-t",
                        "60s",
                        "--attempt-timeout",
                        "50s",
                        "--interval",
                        "1s",
                        target,
                        "--",
                    ])
                    .arg(inspector()),
            );
            let gate_pid = child_of(child.id());
            let (r, took) = signal_gate(child, gate_pid, sig);
            assert_eq!(r.code(), want, "{state}, signal {sig}: {}", r.stderr);
            assert!(took < ms(500), "{state}, signal {sig}: took {took:?}");
            assert!(r.field("pid").is_none(), "no exec");
        }
    }
}

#[test]
fn after_exec_the_command_is_pid_1() {
    if !pid1_namespace_available() {
        return;
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_readygate"))
        .args([
            format!("127.0.0.1:{}", l.local_addr().unwrap().port()),
            "--".into(),
        ])
        .arg(inspector());
    let r = crate::harness::run(&mut cmd, ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.field("pid").as_deref(), Some("1"));
}
