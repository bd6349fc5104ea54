//! What users of every other gate ask for: stability, any-of groups, optional and inverse targets,
//! no silent "nothing to wait for", the command checked before waiting, drop-in compatibility with
//! wait-for-it and docker-compose-wait, `--explain`, systemd notifications and error messages that
//! point at the real cause. Through the real binary.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fake;
use crate::harness::{gate, inspector, ms, run, run_during, run_watching, HeldPort};
use crate::servers::{postgres_available, Pg};

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A port that first behaves like Docker's userland proxy with no backend (accepts, then closes at
/// once), and after `flip` like the real server (keeps connections open).
fn proxy_then_server(flip: Arc<AtomicBool>) -> u16 {
    fake::raw(move |mut s| {
        if !flip.load(Ordering::SeqCst) {
            return; // dropped: closed right after the accept
        }
        let mut buf = [0u8; 64];
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read(&mut buf);
    })
}

#[test]
fn stability_waits_out_a_proxy_that_accepts_before_its_backend_listens() {
    let flip = Arc::new(AtomicBool::new(false));
    let port = proxy_then_server(flip.clone());
    let target = format!("127.0.0.1:{port}");
    // Without stability a bare connect counts: ready at once, although nothing serves.
    let r = run(gate().args(["-t", "3", &target]), ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed < ms(1000));
    // With it, only after the real server is up.
    let r = run_watching(
        gate().args(["-t", "10", &format!("{target}#stable=3")]),
        ms(15_000),
        |said| {
            said.wait_for("closed right after it was accepted");
            flip.store(true, Ordering::SeqCst);
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("closed right after it was accepted"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("3 in a row"), "{}", r.stderr);
}

#[test]
fn stability_against_postgresql_restarting_during_its_init() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    let target = format!(
        "postgres://127.0.0.1:{}/?sslmode=disable#stable=1500ms",
        pg.port
    );
    let args = [
        "-t".to_string(),
        "60".into(),
        target,
        "--".into(),
        inspector().display().to_string(),
    ];
    let r = run_during(gate().args(&args), ms(60_000), || {
        // The first start (the init's), a stop, then the start that stays.
        pg.start();
        std::thread::sleep(ms(300));
        pg.stop("fast");
        std::thread::sleep(ms(500));
        pg.start();
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let log = pg.log();
    let last_ready = log
        .lines()
        .rfind(|l| l.contains("database system is ready to accept connections"))
        .unwrap();
    let ready_ms = crate::servers::log_time_ms(last_ready);
    let started: i64 = r.field("started_ms").unwrap().parse().unwrap();
    // Not during the first, short-lived server: only once the last one has stayed up 1.5 s.
    assert!(
        started - ready_ms >= 1400,
        "started {} ms after the final start:\n{}",
        started - ready_ms,
        r.stderr
    );
}

#[test]
fn any_of_a_group_is_enough_and_only_all_failing_is_a_failure() {
    let (_l, open) = listener();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let r = run(
        gate().args(["-t", "3", &format!("127.0.0.1:{closed}|127.0.0.1:{open}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "tcp://127.0.0.1:{closed} | tcp://127.0.0.1:{open} is ready"
        )),
        "{}",
        r.stderr
    );
    // Two servers whose certificates are rejected: every member failed permanently.
    let (cert, key) = fake::self_signed();
    let a = fake::https(&cert, &key, fake::status(200));
    let b = fake::https(&cert, &key, fake::status(200));
    let group = format!("https://localhost:{a}/|https://localhost:{b}/");
    let r = run(gate().args(["-t", "10", &group]), ms(8000));
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("every member failed"), "{}", r.stderr);
    assert!(r.elapsed < ms(3000));
    // One failed for good, one merely refused: keep waiting (for the other).
    let group = format!("https://localhost:{a}/|127.0.0.1:{closed}");
    let r = run(gate().args(["-t", "1", &group]), ms(5000));
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

#[test]
fn optional_targets_never_hold_the_command_past_the_deadline() {
    let (_l, open) = listener();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let r = run(
        gate()
            .env("INSPECT_MARKER", &ran)
            .args([
                "-t",
                "1",
                &format!("127.0.0.1:{open}"),
                &format!("127.0.0.1:{closed}#optional"),
                "--",
            ])
            .arg(inspector()),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(ran.exists(), "the command ran");
    assert!(r.elapsed >= ms(1000));
    assert!(
        r.stderr
            .contains("it is optional, so it is not waited for any longer"),
        "{}",
        r.stderr
    );
    // A required target that is not ready is not hidden by an optional one.
    let r = run(
        gate().args([
            "-t",
            "1",
            &format!("127.0.0.1:{closed}"),
            &format!("127.0.0.1:{open}#optional"),
            "--",
            "true",
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

#[test]
fn down_waits_until_a_port_is_freed_or_a_file_is_gone() {
    let (l, port) = listener();
    let r = run_watching(
        gate().args(["-t", "10", &format!("127.0.0.1:{port}#down")]),
        ms(15_000),
        move |said| {
            said.wait_for("still up");
            drop(l);
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("still up"), "{}", r.stderr);
    assert!(r.stderr.contains("(down) is ready"), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("old.lock");
    std::fs::write(&lock, "1").unwrap();
    let target = format!("file://{}#down", lock.display());
    let r = run_during(gate().args(["-t", "10", &target]), ms(15_000), || {
        std::thread::sleep(ms(500));
        std::fs::remove_file(&lock).unwrap();
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed >= ms(500));
}

#[test]
fn no_target_at_all_is_an_error_unless_said_on_purpose() {
    let r = run(gate().args(["--", "true"]), ms(3000));
    assert_eq!(r.code(), 2, "{}", r.stderr);
    assert!(r.stderr.contains("READYGATE_TARGETS"), "{}", r.stderr);
    // The misspelled variable is named.
    let r = run(
        gate()
            .env("READYGATE_TARGET", "db:5432")
            .args(["--", "true"]),
        ms(3000),
    );
    assert_eq!(r.code(), 2);
    assert!(r.stderr.contains("READYGATE_TARGET is set"), "{}", r.stderr);
    let r = run(
        gate().env("READYGATE_TARGETS", "").args(["--", "true"]),
        ms(3000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let r = run(gate().args(["--allow-empty", "--", "true"]), ms(3000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn a_command_that_cannot_start_is_said_before_any_wait() {
    let r = run(
        gate().args(["-t", "30", "127.0.0.1:1", "--", "no-such-program-here"]),
        ms(3000),
    );
    assert_eq!(r.code(), 127, "{}", r.stderr);
    assert!(r.elapsed < ms(1000), "{:?}", r.elapsed);
    assert!(r.stderr.contains("not waiting"), "{}", r.stderr);
    // The classic mistake: the program and its arguments as one word.
    let r = run(
        gate().args(["-t", "30", "127.0.0.1:1", "--", "sh -c true"]),
        ms(3000),
    );
    assert_eq!(r.code(), 127, "{}", r.stderr);
    assert!(r.stderr.contains("separate words"), "{}", r.stderr);
    let r = run(
        gate().args(["-t", "30", "127.0.0.1:1", "--", "/etc/passwd"]),
        ms(3000),
    );
    assert_eq!(r.code(), 126, "{}", r.stderr);
}

/// A directory with readygate under another name (as a symlink), like an image that swapped the
/// binary and kept its command lines.
#[test]
fn explain_shows_the_plan_and_where_each_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("pw");
    std::fs::write(&secret, format!("{}\n", crate::harness::CANARY)).unwrap();
    // A gunicorn to find: --explain checks the command as the real run does.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/true", bin.join("gunicorn")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = run(
        gate()
            .env("PATH", path)
            .env("READYGATE_MAX_INTERVAL", "3s")
            .env("PGPASSWORD_FILE", &secret)
            .env("PGUSER", "app")
            .args([
                "--explain",
                "-t",
                "45s",
                "postgres://db/app#stable=3",
                "http://api:8080/health#optional&header=Authorization:%20Bearer%20x",
                "--",
                "gunicorn",
                "--secret-arg",
            ]),
        ms(3000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let out = &r.stdout;
    for want in [
        "deadline: 45s (from --timeout)",
        "up to 3s (from READYGATE_MAX_INTERVAL)",
        "each attempt: at most 5s (from default)",
        "user app (from PGUSER)",
        "password given (from PGPASSWORD_FILE)",
        "host db (from the URL)",
        "after 3 successes in a row (#stable)",
        "optional: waited for until the deadline",
        "header authorization sent (value not shown)",
        "then exec gunicorn",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("--secret-arg") && !out.contains("Bearer"),
        "{out}"
    );
}

#[test]
fn systemd_hears_what_the_gate_waits_for_and_gives_it_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let child = gate()
        .env("NOTIFY_SOCKET", &path)
        .args(["-t", "1.5", &format!("127.0.0.1:{closed}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        if messages.len() >= 2 {
            break;
        }
    }
    let r = crate::harness::finish(child, Instant::now(), ms(5000));
    assert_eq!(r.code(), 124);
    let all = messages.join("\n");
    assert!(
        all.contains(&format!(
            "STATUS=waiting for tcp://127.0.0.1:{closed}: connection refused"
        )),
        "{all}"
    );
    assert!(all.contains("EXTEND_TIMEOUT_USEC=5000000"), "{all}");
}

#[test]
fn messages_point_at_the_real_cause() {
    let cases: &[(&[&str], &str)] = &[
        (&["$DATABASE_URL"], "never expanded"),
        (&["postgres://app@db/app#query=SELECT 1"], "%20"),
        (
            &["--bogus", "db:1"],
            "a command and its options go after `--`",
        ),
    ];
    for (args, want) in cases {
        let r = run(gate().args(*args), ms(3000));
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("tip:"), "{}", r.stderr);
    }
    // --interval above the default cap raises the cap instead of failing.
    let r = run(
        gate().args(["--interval", "5s", "-t", "6s", "--check", "127.0.0.1:1"]),
        ms(3000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("max-interval"), "{}", r.stderr);
}

#[test]
fn man_page_and_completions_come_from_the_definition() {
    #[path = "../../examples/assets.rs"]
    mod assets;
    let dir = tempfile::tempdir().unwrap();
    let files = assets::write(dir.path()).unwrap();
    assert_eq!(files.len(), 4);
    let man = std::fs::read_to_string(dir.path().join("readygate.1")).unwrap();
    assert!(
        man.contains("READYGATE_TIMEOUT") && man.contains("\\-\\-stable"),
        "{man}"
    );
    let bash = std::fs::read_to_string(dir.path().join("completions/readygate.bash")).unwrap();
    assert!(bash.contains("--attempt-timeout") && bash.contains("--strict-env"));
    // The tables render as tables: every kind of target on a line of its own in `man`'s output
    // (filled roff would run them together), and the about line names more than four protocols.
    let Ok(out) = std::process::Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(dir.path().join("readygate.1"))
        .env("MANWIDTH", "120")
        .env("LC_ALL", "C.UTF-8")
        .output()
    else {
        crate::harness::require(false, "man (Debian package man-db)");
        return;
    };
    let shown = String::from_utf8_lossy(&out.stdout);
    let shown: String = shown
        .lines()
        .map(|l| l.trim().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for kind in readygate::probe::KINDS {
        assert!(
            shown.lines().any(|l| l.starts_with(kind.usage)),
            "man does not show {:?} at the start of a line:\n{shown}",
            kind.usage
        );
    }
    assert!(shown.contains("MySQL") && shown.contains("gRPC"), "{shown}");
    let help = run(gate().arg("--help"), ms(3000)).stdout;
    for kind in readygate::probe::KINDS {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(kind.usage))
            .unwrap_or_else(|| panic!("--help has no line for {}", kind.usage));
        assert!(
            line.contains(kind.meaning) || line.trim() == kind.usage,
            "--help runs two things together: {line:?}"
        );
    }
}

#[test]
fn a_flapping_server_starts_the_command_only_after_the_real_recovery_when_asked() {
    // Says "ready" once, then fails for a while (a service that crashes right after its first
    // health check), then recovers. By default the first success counts (documented: "Up once is
    // not always up"); with `--stable 3` only three successes in a row do, which the flap breaks.
    let flap = || {
        let mut script = vec![fake::status(200)];
        script.extend(std::iter::repeat_n(fake::status(503), 12));
        script.push(fake::status(200));
        fake::http(script)
    };
    let once = flap();
    let r = run(
        gate().args(["-t", "10", &format!("http://127.0.0.1:{}/", once.port)]),
        ms(15_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(once.requests.load(Ordering::SeqCst), 1, "{}", r.stderr);
    let server = flap();
    let r = run(
        gate().args([
            "-t",
            "20",
            "--stable",
            "3",
            &format!("http://127.0.0.1:{}/", server.port),
        ]),
        ms(25_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // 1 success, 12 failures, then 3 successes in a row: 16 requests, no fewer.
    let n = server.requests.load(Ordering::SeqCst);
    assert!(
        n >= 16,
        "ready after {n} requests, before the recovery\n{}",
        r.stderr
    );
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
    assert!(r.stderr.contains("3 in a row"), "{}", r.stderr);
}
