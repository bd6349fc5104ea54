//! `--check`, the healthcheck mode: exit 0 or 1 in every case, one short line, no secret.

use std::net::TcpListener;

use crate::fake;
use crate::harness::{encode, gate, ms, run, HeldPort, CANARY};

#[test]
fn exit_status_is_0_or_1_in_every_case() {
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = format!("127.0.0.1:{}", up.local_addr().unwrap().port());
    let refused = HeldPort::new();
    let down = format!("127.0.0.1:{}", refused.port);
    let silent = format!("http://127.0.0.1:{}/", fake::silent());
    let (cert, key) = fake::self_signed();
    let bad_cert = format!(
        "https://localhost:{}/",
        fake::https(&cert, &key, fake::status(200))
    );
    let secret = format!("http://u:{}@127.0.0.1:{}/", encode(CANARY), refused.port);
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec![up.as_str()], 0),
        (vec![up.as_str(), down.as_str()], 1),
        (vec![silent.as_str(), "--attempt-timeout", "300ms"], 1),
        (vec![silent.as_str(), "-t", "300ms"], 1),
        (vec![bad_cert.as_str()], 1),
        (vec![secret.as_str()], 1),
        (vec!["tcp://[::1"], 1),
    ];
    for (args, want) in cases {
        let r = run(gate().arg("--check").args(&args), ms(5000));
        assert_eq!(r.code(), want, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {:?}", r.stderr);
        assert!(r.stderr.len() < 4096);
        assert!(r.stdout.is_empty());
        let prefix = if want == 0 {
            "readygate: ready: "
        } else {
            "readygate: "
        };
        assert!(r.stderr.starts_with(prefix), "{:?}", r.stderr);
    }
}

#[test]
fn check_makes_one_attempt_bounded_by_the_attempt_timeout() {
    let r = run(
        gate().args([
            "--check",
            "--attempt-timeout",
            "500ms",
            &format!("http://127.0.0.1:{}/", fake::silent()),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 1);
    assert!(r.elapsed < ms(900), "{:?}", r.elapsed);
    assert!(r.stderr.contains("no answer within 500ms"), "{}", r.stderr);
}

/// Targets on the command line replace READYGATE_TARGETS (the command line wins, as for every
/// option): an app's healthcheck on its own URL does not probe the databases its environment
/// names, so a database outage does not mark it unhealthy.
#[test]
fn command_line_targets_replace_readygate_targets() {
    let app = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = format!("127.0.0.1:{}", app.local_addr().unwrap().port());
    let refused = crate::harness::HeldPort::new();
    let down = format!("postgres://127.0.0.1:{}/db", refused.port);
    // --check: only the argument is probed, and nothing is said about the variable.
    let r = run(
        gate()
            .env("READYGATE_TARGETS", &down)
            .args(["--check", &app]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(!r.stderr.contains("READYGATE_TARGETS"), "{}", r.stderr);
    // Wait mode: the same, with one warning that says so.
    let r = run(
        gate()
            .env("READYGATE_TARGETS", &down)
            .args(["-t", "2s", &app, "--", "true"]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("READYGATE_TARGETS is set, but the targets on the command line replace it"),
        "{}",
        r.stderr
    );
    // Without arguments, the variable is the targets.
    let r = run(
        gate().env("READYGATE_TARGETS", &down).args(["--check"]),
        ms(10_000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
}
