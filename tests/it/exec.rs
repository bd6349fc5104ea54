//! The exec: same PID, argv verbatim, only fds 0-2, a clean signal state, the command's own exit
//! status, stdin/stdout inherited, 126/127.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Instant;

use crate::harness::{finish, gate, inspector, ms, run};

/// A signal mask line (`SigIgn:` …) from /proc/PID/status text.
fn mask(status: &str, key: &str) -> u64 {
    let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
    u64::from_str_radix(line.trim(), 16).unwrap()
}

fn up() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let t = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, t)
}

#[test]
fn exec_keeps_pid_argv_fds_and_leaves_a_clean_signal_state() {
    let (_l, target) = up();
    let child = gate()
        .args(["-t", "5s", &target, "--"])
        .arg(inspector())
        .args(["$HOME", "*", "", "a b", "--timeout", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let r = finish(child, Instant::now(), ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.field("pid"), Some(pid.to_string()), "exec keeps the PID");
    assert_eq!(r.field("argc"), Some("7".into()));
    let args: Vec<String> = (1..7)
        .map(|i| r.field(&format!("arg[{i}]")).unwrap())
        .collect();
    assert_eq!(
        args,
        ["$HOME", "*", "", "a b", "--timeout", "-v"],
        "argv verbatim, no expansion"
    );
    assert_eq!(
        r.field("fds").as_deref(),
        Some("0,1,2"),
        "no descriptor leaked"
    );
    assert_eq!(mask(&r.stdout, "SigBlk:"), 0, "signal mask empty");
    assert_eq!(mask(&r.stdout, "SigCgt:"), 0, "no handler survives exec");
    // Ignored: nothing beyond what this test process itself passes down (SIGPIPE included).
    let ours = mask(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "SigIgn:",
    );
    let ignored = mask(&r.stdout, "SigIgn:");
    assert_eq!(
        ignored & !ours,
        0,
        "gate left signals ignored: {ignored:x} (ours {ours:x})"
    );
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE back to default"
    );
    // The gate wrote nothing to stdout: every line there is the inspector's.
    assert!(
        r.stdout
            .lines()
            .all(|l| l.contains('=') || l.starts_with("Sig")),
        "{}",
        r.stdout
    );
}

#[test]
fn inherited_ignored_signals_stay_ignored_and_the_mask_is_emptied() {
    let (_l, target) = up();
    let mut cmd = gate();
    cmd.args(["-t", "5s", &target, "--"]).arg(inspector());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let r = run(&mut cmd, ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let ignored = mask(&r.stdout, "SigIgn:");
    assert!(ignored & 1 != 0, "SIGHUP stays ignored: {ignored:x}");
    // Nothing else is ignored but what this test process itself passes down.
    let ours = mask(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "SigIgn:",
    );
    assert_eq!(
        ignored & !(ours | 1),
        0,
        "gate added ignored signals: {ignored:x} (ours {ours:x})"
    );
    assert_eq!(mask(&r.stdout, "SigBlk:"), 0, "mask emptied");
}

#[test]
fn descriptors_the_parent_passed_on_purpose_are_kept() {
    // Socket activation and similar hand-offs pass fds without close-on-exec; the gate keeps them.
    let (_l, target) = up();
    let mut cmd = gate();
    cmd.args([&target, "--"]).arg(inspector());
    // SAFETY: dup2 is async-signal-safe; runs after the harness closed fds >= 3.
    unsafe {
        cmd.pre_exec(|| {
            libc::dup2(2, 5);
            Ok(())
        });
    }
    let r = run(&mut cmd, ms(5000));
    assert_eq!(r.field("fds").as_deref(), Some("0,1,2,5"), "{}", r.stderr);
}

#[test]
fn exit_status_is_the_commands_own() {
    let (_l, target) = up();
    let r = run(
        gate()
            .args([&target, "--"])
            .arg(inspector())
            .env("INSPECT_EXIT", "7"),
        ms(5000),
    );
    assert_eq!(r.code(), 7);
}

#[test]
fn stdin_is_inherited() {
    let (_l, target) = up();
    let mut child = gate()
        .args([&target, "--", "sh", "-c", "read line; echo \"got=$line\""])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let r = finish(child, Instant::now(), ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.stdout, "got=hello\n");
}

#[test]
fn command_not_found_is_127_and_not_executable_is_126() {
    let (_l, target) = up();
    let r = run(
        gate().args([&target, "--", "no-such-command-xyz"]),
        ms(5000),
    );
    assert_eq!(r.code(), 127, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot start 'no-such-command-xyz': command not found in PATH"),
        "{}",
        r.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-exec");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    let r = run(gate().arg(&target).arg("--").arg(&file), ms(5000));
    assert_eq!(r.code(), 126, "{}", r.stderr);
    let r = run(
        gate().args(["--allow-empty", "--", "/nonexistent/prog"]),
        ms(5000),
    );
    assert_eq!(r.code(), 127, "{}", r.stderr);
}

#[test]
fn a_command_with_an_empty_target_list_runs_at_once() {
    let r = run(
        gate()
            .env("READYGATE_TARGETS", "")
            .arg("--")
            .arg(inspector()),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.field("pid").is_some());
}
