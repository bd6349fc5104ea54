//! TCP targets, deadlines and attempt bounds against real listeners and misbehaving fake servers.

use std::net::TcpListener;
use std::time::Instant;

use crate::fake;
use crate::harness::{gate, inspector, ms, run, HeldPort};

#[test]
fn waits_for_a_late_listener_then_execs_once() {
    let held = HeldPort::new();
    let port = held.port;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let opened = std::thread::spawn(move || {
        std::thread::sleep(ms(700));
        let l = held.listen();
        let at = std::time::SystemTime::now();
        std::thread::sleep(ms(3000));
        drop(l);
        at
    });
    let r = run(
        gate()
            .args(["-t", "10s", &format!("tcp://127.0.0.1:{port}"), "--"])
            .arg(inspector())
            .env("INSPECT_MARKER", &marker),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(marker.exists());
    assert_eq!(
        r.stdout.matches("pid=").count(),
        1,
        "the command runs exactly once"
    );
    // Detection latency: the command started soon after the port opened (generous bound; the
    // benchmark measures it properly).
    let opened_ms = opened
        .join()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let started: i64 = r.field("started_ms").unwrap().parse().unwrap();
    assert!(
        started - opened_ms < 900,
        "exec {}ms after the port opened",
        started - opened_ms
    );
    assert!(
        r.stderr.contains("is not ready: connection refused"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("is ready after"), "{}", r.stderr);
}

#[test]
fn never_ready_exits_124_on_time_and_never_runs_the_command() {
    let held = HeldPort::new();
    let port = held.port;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let r = run(
        gate()
            .args(["-t", "1s", &format!("127.0.0.1:{port}"), "--"])
            .arg(inspector())
            .env("INSPECT_MARKER", &marker),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        !marker.exists(),
        "the command must never run after a timeout"
    );
    // The precise bound is the scheduler's (paused-clock unit tests) and the gate's own clock
    // (`deadline_wins_over_a_longer_attempt_timeout`); the wall clock gets a loaded machine's slack.
    assert!(
        r.elapsed >= ms(1000) && r.elapsed < ms(3000),
        "{:?}",
        r.elapsed
    );
    assert!(
        r.stderr.contains(&format!(
            "timed out after 1s; not ready: tcp://127.0.0.1:{port} (connection refused)"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn unanswered_syn_is_bounded_by_the_attempt_timeout_and_the_deadline() {
    let (port, _keep, _l) = fake::full_backlog();
    let r = run(
        gate().args([
            "--log-format",
            "json",
            "-t",
            "1500ms",
            "--attempt-timeout",
            "300ms",
            &format!("tcp://127.0.0.1:{port}"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    // The gate's own clock for the deadline; the wall clock with a loaded machine's slack.
    let elapsed = r.event_ms("timeout");
    assert!((1500..1700).contains(&elapsed), "{elapsed} ms");
    assert!(
        r.elapsed >= ms(1500) && r.elapsed < ms(4500),
        "{:?}",
        r.elapsed
    );
    assert!(r.stderr.contains("no answer within 300ms"), "{}", r.stderr);
}

#[test]
fn deadline_wins_over_a_longer_attempt_timeout() {
    // Scenario: an attempt timeout longer than the time left must not stretch the deadline.
    let (port, _keep, _l) = fake::full_backlog();
    let r = run(
        gate().args([
            "-t",
            "1s",
            "--attempt-timeout",
            "30s",
            "--log-format",
            "json",
            &format!("tcp://127.0.0.1:{port}"),
        ]),
        ms(10_000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    // The gate's own clock says when it ended (a loaded machine delays the start of the process
    // and the test's reading, not the deadline); the wall clock gets a loaded machine's slack,
    // still far from the 30 s attempt timeout.
    let elapsed = r.event_ms("timeout");
    assert!(
        (1000..1300).contains(&elapsed),
        "{elapsed} ms: {}",
        r.stderr
    );
    assert!(r.elapsed < ms(5000), "{:?}", r.elapsed);
}

#[test]
fn reset_connections_are_retried_without_panic() {
    let port = fake::resetting();
    let r = run(
        gate().args(["-t", "1s", &format!("http://127.0.0.1:{port}/")]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.stderr.contains("reset") || r.stderr.contains("closed"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn targets_are_probed_in_parallel() {
    let held: Vec<HeldPort> = (0..3).map(|_| HeldPort::new()).collect();
    let ports: Vec<u16> = held.iter().map(|h| h.port).collect();
    let opener = {
        std::thread::spawn(move || {
            std::thread::sleep(ms(1000));
            let ls: Vec<TcpListener> = held.into_iter().map(HeldPort::listen).collect();
            std::thread::sleep(ms(3000));
            drop(ls);
        })
    };
    let start = Instant::now();
    let args: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let r = run(gate().arg("-t").arg("10s").args(&args), ms(8000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // Sequential probing would need far longer than the slowest one.
    assert!(start.elapsed() < ms(3000), "{:?}", start.elapsed());
    assert!(r.stderr.contains("all 3 targets are ready"), "{}", r.stderr);
    opener.join().unwrap();
}

#[test]
fn timeout_names_each_target_not_ready_and_why() {
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_port = up.local_addr().unwrap().port();
    let down_held = HeldPort::new();
    let down = down_held.port;
    let r = run(
        gate().args([
            "-t",
            "800ms",
            &format!("127.0.0.1:{up_port}"),
            &format!("127.0.0.1:{down}"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains(&format!(
            "not ready: tcp://127.0.0.1:{down} (connection refused)"
        )),
        "{last}"
    );
    assert!(!last.contains(&format!(":{up_port}")), "{last}");
}

#[test]
fn localhost_falls_through_to_the_family_that_listens() {
    // Only 127.0.0.1 listens; if localhost resolves to ::1 first, ::1 refuses and the next address
    // must be tried within the same attempt.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let r = run(
        gate().args(["-t", "3s", "-v", &format!("localhost:{port}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("ready after"), "{}", r.stderr);
}

#[test]
fn ipv6_literal_target() {
    let Ok(l) = TcpListener::bind("[::1]:0") else {
        crate::harness::require(false, "IPv6 loopback (::1)");
        return;
    };
    let port = l.local_addr().unwrap().port();
    // Accepts (the kernel does) and never answers: the HTTP target cannot be ready.
    let silent = TcpListener::bind("[::1]:0").unwrap();
    let r = run(
        gate().args([
            "-t",
            "1s",
            &format!("tcp://[::1]:{port}"),
            &format!(
                "http://[::1]:{}/#status=200",
                silent.local_addr().unwrap().port()
            ),
        ]),
        ms(5000),
    );
    // The tcp one is ready, the http one (silent) is not: the timeout line shows the bracketed
    // literal, proving both parsed and were probed.
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("tcp://[::1]:{port} is ready")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("http://[::1]:"), "{}", r.stderr);
}

#[test]
fn json_log_format_is_one_object_per_line() {
    let held = HeldPort::new();
    let port = held.port;
    let r = run(
        gate().args([
            "--log-format",
            "json",
            "-t",
            "300ms",
            &format!("127.0.0.1:{port}"),
        ]),
        ms(3000),
    );
    assert_eq!(r.code(), 124);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(lines.len() >= 3, "{}", r.stderr);
    for l in &lines {
        assert!(l.starts_with("{\"time\":\"") && l.ends_with('}'), "{l}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"event\":\"not_ready\"")
            && l.contains("\"reason\":\"connection refused\"")),
        "{}",
        r.stderr
    );
    assert!(lines.last().unwrap().contains("\"event\":\"timeout\""));
}

#[test]
fn quiet_prints_only_the_failure() {
    let held = HeldPort::new();
    let port = held.port;
    let r = run(
        gate().args(["-q", "-t", "300ms", &format!("127.0.0.1:{port}")]),
        ms(3000),
    );
    assert_eq!(r.code(), 124);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let r = run(
        gate().args([
            "-q",
            &format!("127.0.0.1:{}", up.local_addr().unwrap().port()),
        ]),
        ms(3000),
    );
    assert_eq!(r.code(), 0);
    assert_eq!(r.stderr, "");
}

#[test]
fn no_deadline_with_timeout_zero() {
    let held = HeldPort::new();
    let port = held.port;
    std::thread::spawn(move || {
        std::thread::sleep(ms(1200));
        let l = held.listen();
        std::thread::sleep(ms(3000));
        drop(l);
    });
    let r = run(
        gate().args(["-t", "0", &format!("127.0.0.1:{port}")]),
        ms(6000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("no deadline"), "{}", r.stderr);
}

#[test]
fn status_line_is_redrawn_in_place_and_cleared_before_the_last_line() {
    // Forced on (stderr is a pipe here); a terminal turns it on by itself.
    let held = HeldPort::new();
    let port = held.port;
    let r = run(
        gate().args([
            "--progress",
            "always",
            "-t",
            "600ms",
            &format!("127.0.0.1:{port}"),
        ]),
        ms(3000),
    );
    assert_eq!(r.code(), 124);
    assert!(r.stderr.contains("\r\x1b[2Kreadygate "), "{:?}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("tcp://127.0.0.1:{port} ✗ connection refused")),
        "{:?}",
        r.stderr
    );
    // The final line starts on a cleared line and nothing is redrawn after it.
    let last = r.stderr.rsplit("\r\x1b[2K").next().unwrap();
    assert!(last.starts_with("readygate: error: timed out"), "{last:?}");
    // Never in logs: the default (auto) on a pipe prints plain lines only.
    let r = run(
        gate().args(["-t", "300ms", &format!("127.0.0.1:{port}")]),
        ms(3000),
    );
    assert!(
        !r.stderr.contains('\r') && !r.stderr.contains('\x1b'),
        "{:?}",
        r.stderr
    );
}

#[test]
fn many_attempts_keep_descriptors_and_memory_flat() {
    // Hundreds of attempts against a server that accepts and resets: nothing may accumulate.
    let port = fake::resetting();
    let child = gate()
        .args([
            "-t",
            "4s",
            "--interval",
            "5ms",
            "--max-interval",
            "10ms",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let sample = || {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap();
        (fds, rss)
    };
    std::thread::sleep(ms(1000));
    let (fds_early, rss_early) = sample();
    std::thread::sleep(ms(2500));
    let (fds_late, rss_late) = sample();
    let r = crate::harness::finish(child, Instant::now(), ms(5000));
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        fds_late <= fds_early + 1,
        "descriptors grew: {fds_early} -> {fds_late}"
    );
    assert!(
        rss_late <= rss_early + 512,
        "RSS grew: {rss_early} kB -> {rss_late} kB"
    );
}
