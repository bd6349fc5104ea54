//! PostgreSQL targets against real servers: every "not ready" state PostgreSQL has, the
//! permanent failures, TLS, the environment conventions and the official image's init sequence.

use std::time::{Duration, Instant};

use crate::fake;
use crate::harness::{encode, gate, inspector, ms, run, run_during, run_measuring_rss, Run};
use crate::servers::{log_time_ms, password, postgres_available, wait_port, Pg};

fn gate_run(args: &[&str], limit_ms: u64) -> Run {
    run(gate().args(args), ms(limit_ms))
}

/// Runs the gate while `during` acts on the server.
fn gate_while(args: Vec<String>, during: impl FnOnce()) -> Run {
    run_during(gate().args(&args), ms(60_000), during)
}

#[test]
fn login_waits_for_a_server_started_later_and_execs_soon_after_it_accepts() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    let url = pg.url(&Pg::app(), "appdb");
    // A short --max-interval makes "within one backoff step" a tight bound even while the server
    // answers 57P03 during its start-up.
    let args = vec![
        "-t".into(),
        "30s".into(),
        "--max-interval".into(),
        "300ms".into(),
        url,
        "--".into(),
        inspector().display().to_string(),
    ];
    let r = gate_while(args, || {
        std::thread::sleep(ms(800));
        pg.start_nowait("");
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("logged in, SELECT 1"), "{}", r.stderr);
    // Latency from "ready to accept connections" in the server's log to the command's start.
    let log = pg.log();
    // The last start (set-up started and stopped the cluster once before).
    let ready_line = log
        .lines()
        .rfind(|l| l.contains("database system is ready to accept connections"))
        .unwrap();
    let ready_ms = log_time_ms(ready_line);
    let started: i64 = r.field("started_ms").unwrap().parse().unwrap();
    let latency = started - ready_ms;
    eprintln!("MEASURE postgres accept -> exec: {latency} ms");
    assert!(
        (-50..800).contains(&latency),
        "exec {latency}ms after PostgreSQL became ready:\n{}",
        r.stderr
    );
}

#[test]
fn ping_level_needs_no_password_like_pg_isready() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    // No user: the ping level. Even a wrong password at the ping level means "the server is up".
    let r = gate_run(&[&pg.url("", "")], 10_000);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("accepting connections"), "{}", r.stderr);
    let wrong = format!(
        "postgres://app:{}@127.0.0.1:{}/appdb#level=ping",
        encode("wrong"),
        pg.port
    );
    let r = gate_run(&[&wrong], 10_000);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // --check works the same way for a healthcheck without a secret.
    let r = gate_run(&["--check", &pg.url("", "")], 10_000);
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn hot_standby_off_is_not_ready_until_promoted() {
    if !postgres_available() {
        return;
    }
    let primary = Pg::new("");
    primary.start();
    let standby = primary.standby("hot_standby = off");
    standby.start_nowait("");
    wait_port(standby.port, Duration::from_secs(20));
    for url in [standby.url(&Pg::app(), "appdb"), standby.url("", "")] {
        let r = gate_run(&["-t", "1500ms", &url], 10_000);
        assert_eq!(r.code(), 124, "{}", r.stderr);
        assert!(r.stderr.contains("SQLSTATE 57P03"), "{}", r.stderr);
    }
    let r = gate_while(
        vec!["-t".into(), "30s".into(), standby.url(&Pg::app(), "appdb")],
        || {
            std::thread::sleep(ms(1000));
            standby.promote();
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("57P03") && r.stderr.contains("ready after"),
        "{}",
        r.stderr
    );
}

#[test]
fn primary_option_waits_for_a_standby_to_be_promoted() {
    if !postgres_available() {
        return;
    }
    let primary = Pg::new("");
    primary.start();
    let standby = primary.standby("hot_standby = on");
    standby.start();
    let url = format!(
        "{}?target_session_attrs=read-write",
        standby.url(&Pg::app(), "appdb")
    );
    let r = gate_run(&["-t", "1s", &url], 10_000);
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("standby"), "{}", r.stderr);
    let r = gate_while(
        vec![
            "-t".into(),
            "30s".into(),
            format!("{}#primary", standby.url(&Pg::app(), "appdb")),
        ],
        || {
            std::thread::sleep(ms(800));
            standby.promote();
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn smart_shutdown_in_progress_is_transient() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let mut session = pg.psql_background("SELECT pg_sleep(2)");
    std::thread::sleep(ms(300));
    pg.stop_nowait("smart");
    let url = pg.url(&Pg::app(), "appdb");
    let r = gate_while(vec!["-t".into(), "30s".into(), url], || {
        let _ = session.wait();
        // Once the session ends the server stops; start it again.
        let deadline = Instant::now() + ms(20_000);
        while pg.data.join("postmaster.pid").exists() && Instant::now() < deadline {
            std::thread::sleep(ms(50));
        }
        pg.start_nowait("");
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("SQLSTATE 57P03"), "{}", r.stderr);
}

#[test]
fn too_many_connections_is_transient() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("max_connections = 3\nsuperuser_reserved_connections = 0");
    pg.start();
    let sessions: Vec<_> = (0..3)
        .map(|_| pg.psql_background("SELECT pg_sleep(2)"))
        .collect();
    std::thread::sleep(ms(500));
    let r = gate_run(&["-t", "30s", &pg.url(&Pg::app(), "appdb")], 40_000);
    for mut s in sessions {
        let _ = s.wait();
    }
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("SQLSTATE 53300"), "{}", r.stderr);
}

#[test]
fn wrong_password_fails_fast_naming_user_host_database_and_sqlstate() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = format!(
        "postgres://app:{}@127.0.0.1:{}/appdb",
        encode(&format!("{}-wrong", password())),
        pg.port
    );
    let r = gate_run(&["-t", "30s", &url, "--", "true"], 10_000);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.elapsed < ms(3000), "failed fast: {:?}", r.elapsed);
    let last = r.stderr.lines().last().unwrap();
    for want in [
        "SQLSTATE 28P01",
        "user app",
        "database appdb",
        &format!("host 127.0.0.1:{}", pg.port),
        "--retry-permanent",
    ] {
        assert!(last.contains(want), "missing {want:?}: {last}");
    }
    // The opt-in policy keeps waiting instead.
    let r = gate_run(&["-t", "1s", "--retry-permanent", &url], 10_000);
    assert_eq!(r.code(), 124, "{}", r.stderr);
    // JSON and verbose paths carry no secret either (the sweep in `run` checks every byte).
    let r = gate_run(&["-v", "--log-format", "json", "-t", "30s", &url], 10_000);
    assert_eq!(r.code(), 1, "{}", r.stderr);
}

#[test]
fn missing_database_fails_fast_or_waits_for_createdb() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = pg.url(&Pg::app(), "later");
    let r = gate_run(&["-t", "30s", &url], 10_000);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("SQLSTATE 3D000") && r.stderr.contains("--retry-permanent"),
        "{}",
        r.stderr
    );
    let r = gate_while(
        vec!["-t".into(), "30s".into(), "--retry-permanent".into(), url],
        || {
            std::thread::sleep(ms(800));
            pg.psql("CREATE DATABASE later OWNER app");
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn pg_hba_rejection_is_permanent() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = format!(
        "postgres://blocked:{}@127.0.0.1:{}/appdb",
        encode(&password()),
        pg.port
    );
    let r = gate_run(&["-t", "30s", &url], 10_000);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("SQLSTATE 28000") && r.stderr.contains("user blocked"),
        "{}",
        r.stderr
    );
}

#[test]
fn sslmode_require_never_falls_back_to_plaintext() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    for mode in ["require", "verify-full"] {
        let url = format!("{}?sslmode={mode}", pg.url(&Pg::app(), "appdb"));
        let r = gate_run(&["-t", "30s", &url], 10_000);
        assert_eq!(r.code(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("does not support TLS")
                && r.stderr.contains(&format!("sslmode={mode}")),
            "{}",
            r.stderr
        );
    }
    // prefer (the default) logs in over plaintext.
    let r = gate_run(&["-t", "30s", &pg.url(&Pg::app(), "appdb")], 10_000);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(!pg.log().contains("password authentication failed"));
}

#[test]
fn tls_with_a_self_signed_ca() {
    if !postgres_available() {
        return;
    }
    let (cert, key) = fake::self_signed();
    let pg = Pg::new("");
    pg.install_private("server.crt", &cert);
    pg.install_private("server.key", &key);
    // log_connections: the server writes one line per authorized login, saying whether it used TLS.
    pg.configure(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nlog_connections = on",
    );
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert).unwrap();
    let base = pg.url(&Pg::app(), "appdb");
    let cases = [
        (format!("{base}?sslmode=verify-full"), 1, "unknown issuer"),
        (
            format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display()),
            0,
            "logged in",
        ),
        (
            format!(
                "postgres://app:{}@localhost:{}/appdb?sslmode=verify-full&sslrootcert={}",
                encode(&password()),
                pg.port,
                ca.display()
            ),
            0,
            "logged in",
        ),
        (format!("{base}?sslmode=require"), 0, "logged in"),
        (
            format!("{base}?sslmode=verify-ca&sslrootcert={}", ca.display()),
            0,
            "logged in",
        ),
        (
            format!("{}?sslmode=verify-full", pg.url("", "")),
            1,
            "unknown issuer",
        ),
    ];
    for (url, want, text) in cases {
        let r = gate_run(&["-t", "20s", &url], 30_000);
        assert_eq!(r.code(), want, "{}", r.stderr);
        assert!(r.stderr.contains(text), "{}", r.stderr);
    }
    // The four logins above were authorized over TLS, every one of them.
    let log = pg.log();
    let logins: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection authorized: user=app"))
        .collect();
    assert_eq!(logins.len(), 4, "{log}");
    assert!(logins.iter().all(|l| l.contains("SSL enabled")), "{log}");
}

#[test]
fn official_image_init_sequence_is_not_ready_until_the_tcp_start() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    let url = pg.url(&Pg::app(), "appdb");
    let t0 = Instant::now();
    let mut final_start = Duration::ZERO;
    let r = gate_while(vec!["-t".into(), "40s".into(), url], || {
        // The image's entrypoint: a temporary server on the unix socket only, init scripts, stop,
        // then the real server on TCP.
        pg.start_nowait("-c listen_addresses=''");
        std::thread::sleep(ms(1500));
        pg.psql("CREATE TABLE IF NOT EXISTS init_marker(x int)");
        pg.stop("fast");
        final_start = t0.elapsed();
        pg.start_nowait("");
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.elapsed >= final_start,
        "ready at {:?}, before the TCP start at {final_start:?}",
        r.elapsed
    );
    // Set-up, the socket-only start and the final start.
    let starts = pg
        .log()
        .lines()
        .filter(|l| l.contains("ready to accept connections"))
        .count();
    assert_eq!(starts, 3, "{}", pg.log());
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
}

#[test]
fn query_must_succeed_and_return_a_row() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = pg.query_url("appdb", "SELECT 1 FROM migrations_done");
    let r = gate_while(vec!["-t".into(), "30s".into(), url], || {
        std::thread::sleep(ms(800));
        pg.psql_in("appdb", "CREATE TABLE migrations_done(x int); INSERT INTO migrations_done VALUES (1); GRANT SELECT ON migrations_done TO app;");
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("42P01"), "{}", r.stderr);
    let bad = pg.query_url("appdb", "SELEC 1");
    let r = gate_run(&["-t", "30s", &bad], 10_000);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("syntax error"), "{}", r.stderr);
}

#[test]
fn environment_variables_and_password_files() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{}\n", password())).unwrap();
    let target = format!("postgres://127.0.0.1:{}", pg.port);
    let r = run(
        gate()
            .arg("-t")
            .arg("20s")
            .arg(&target)
            .env("PGUSER", "app")
            .env("PGDATABASE", "appdb")
            .env("PGPASSWORD_FILE", &file),
        ms(30_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("logged in"), "{}", r.stderr);
    let r = run(
        gate()
            .arg(&target)
            .env("PGUSER", "app")
            .env("PGPASSWORD", password())
            .env("PGPASSWORD_FILE", &file),
        ms(5000),
    );
    assert_eq!(r.code(), 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("both PGPASSWORD and PGPASSWORD_FILE"),
        "{}",
        r.stderr
    );
    let r = run(
        gate()
            .arg(&target)
            .env("PGUSER", "app")
            .env("PGPASSWORD_FILE", "/run/secrets/nope"),
        ms(5000),
    );
    assert_eq!(r.code(), 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot read PGPASSWORD_FILE '/run/secrets/nope'"),
        "{}",
        r.stderr
    );
    // PGHOST/PGPORT as a unix-socket directory.
    let r = run(
        gate()
            .arg("postgres://")
            .env("PGHOST", &pg.socket_dir)
            .env("PGPORT", pg.port.to_string())
            .env("PGUSER", "app")
            .env("PGDATABASE", "appdb"),
        ms(10_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn unix_socket_target() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = format!(
        "postgres://app@/appdb?host={}&port={}",
        encode(pg.socket_dir.to_str().unwrap()),
        pg.port
    );
    let r = gate_run(&["-t", "10s", &url], 20_000);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("logged in"), "{}", r.stderr);
}

#[test]
fn silence_and_the_wrong_protocol_are_never_ready() {
    let silent = fake::silent();
    let r = gate_run(
        &[
            "-t",
            "1500ms",
            "--attempt-timeout",
            "400ms",
            &format!("postgres://app@127.0.0.1:{silent}/appdb"),
        ],
        10_000,
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.elapsed < ms(1900) && r.stderr.contains("no answer within 400ms"),
        "{:?} {}",
        r.elapsed,
        r.stderr
    );
    let http_port = fake::http_eager(fake::status(400));
    for url in [
        format!("postgres://app@127.0.0.1:{}/appdb", http_port),
        format!("postgres://127.0.0.1:{}?sslmode=disable", http_port),
    ] {
        // Another protocol on the port is never ready, and named: the wait ends at once.
        let r = gate_run(&["-t", "20s", &url], 10_000);
        assert_eq!(r.code(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("this port answers like HTTP, not PostgreSQL"),
            "{}",
            r.stderr
        );
        assert!(r.elapsed < ms(8_000), "{:?}", r.elapsed);
    }
}

#[test]
fn password_file_like_libpq() {
    if !postgres_available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let pg = Pg::new("");
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    // An escaped colon in the password field, a wildcard port, and a line that must not match.
    let escaped = password().replace('\\', "\\\\").replace(':', "\\:");
    std::fs::write(
        &file,
        format!("# comment\nother:*:*:app:wrong\n127.0.0.1:*:appdb:app:{escaped}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let target = format!("postgres://app@127.0.0.1:{}/appdb", pg.port);
    let r = run(
        gate().args(["-t", "20s", &target]).env("PGPASSFILE", &file),
        ms(30_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("logged in"), "{}", r.stderr);
    // Readable by others: ignored with a warning, as libpq does; then no password at all.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(
        gate().args(["-t", "20s", &target]).env("PGPASSFILE", &file),
        ms(30_000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("is ignored: others can read it"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("none was given"), "{}", r.stderr);
}

/// Finding 27: a login attempt cut by the attempt timeout (a query waiting on a lock) used to leave
/// its connection behind, two descriptors and one server session per attempt.
#[test]
fn attempts_cut_by_their_timeout_leave_no_session_behind() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    pg.psql_in(
        "appdb",
        "CREATE TABLE migrations(x int); GRANT SELECT ON migrations TO app;",
    );
    // Holds an exclusive lock for longer than the gate waits.
    let mut locker = pg.psql_background_in(
        "appdb",
        "BEGIN; LOCK TABLE migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20);",
    );
    std::thread::sleep(ms(800));
    let url = pg.query_url("appdb", "SELECT 1 FROM migrations");
    let mut most = 0usize;
    let r = run_during(
        gate().args([
            "-t",
            "4",
            "--attempt-timeout",
            "300ms",
            "--max-interval",
            "300ms",
            &url,
        ]),
        ms(15_000),
        || {
            for _ in 0..30 {
                std::thread::sleep(ms(100));
                let n: usize = pg
                    .psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
                    .trim()
                    .parse()
                    .unwrap_or(0);
                most = most.max(n);
            }
        },
    );
    let _ = locker.kill();
    let _ = locker.wait();
    assert_eq!(r.code(), 124, "{}", r.stderr);
    // One attempt in flight at a time, and the sessions of attempts just cut by their timeout,
    // which the server ends within its statement_timeout.
    assert!(most <= 3, "{most} sessions of the gate at once");
}

/// Finding 2: a query returning twenty million rows was buffered whole (2.5 GB); one row is enough.
#[test]
fn a_huge_result_is_not_buffered() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = pg.query_url("appdb", "SELECT generate_series(1, 20000000)");
    let (r, peak) = run_measuring_rss(gate().args(["-t", "20", &url]), ms(30_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB");
}

/// The server's startup (recovery) process, a child of the postmaster, once it runs.
fn startup_process(pg: &Pg) -> Result<i32, String> {
    let pid_file =
        std::fs::read_to_string(pg.data.join("postmaster.pid")).map_err(|e| e.to_string())?;
    let postmaster = pid_file
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let children = std::fs::read_dir(format!("/proc/{postmaster}/task"))
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .collect::<String>();
    children
        .split_whitespace()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains("startup"))
        })
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no startup process among {children:?}"))
}

#[test]
fn crash_recovery_paused_with_sigstop_is_waited_through() {
    // Scenario 9: a crash-stopped server restarts and replays WAL; its startup process is paused
    // with SIGSTOP (the server accepts, and answers 57P03, for as long as it likes); resumed, it
    // finishes and the gate goes on.
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("checkpoint_timeout = 1h\nmax_wal_size = 1GB\n");
    pg.start();
    let mut paused = None;
    // The replay must still be running when we look for it: enough WAL, and a few tries.
    for _ in 0..3 {
        pg.psql("DROP TABLE IF EXISTS t; CREATE TABLE t AS SELECT generate_series(1, 2000000) x;");
        pg.stop("immediate");
        pg.start_nowait("");
        let found = crate::harness::wait_until(ms(10_000), ms(1), || startup_process(&pg));
        // SAFETY: kill(2) with a pid read from the cluster's own process tree.
        if unsafe { libc::kill(found, libc::SIGSTOP) } == 0 && startup_process(&pg) == Ok(found) {
            paused = Some(found);
            break;
        }
        wait_port(pg.port, ms(30_000));
    }
    let Some(startup) = paused else {
        panic!("recovery always finished before it could be paused");
    };
    let url = pg.url(&Pg::app(), "appdb");
    let r = gate_while(vec!["-t".into(), "30s".into(), url], || {
        std::thread::sleep(ms(1_500));
        // SAFETY: as above.
        unsafe { libc::kill(startup, libc::SIGCONT) };
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("57P03"), "{}", r.stderr);
    let after = r
        .stderr
        .lines()
        .find(|l| l.contains("is ready after"))
        .unwrap_or_default();
    assert!(
        !after.contains("ready after 0") && !after.contains("ms ("),
        "ready before the resume: {after}"
    );
}

/// A forwarding proxy in front of PostgreSQL that calls `on_login` once, the first time a client
/// sends its password message (`p`: the SCRAM first message), just before forwarding it.
fn proxy_stopping_at_login(to: u16, on_login: impl Fn() + Send + Sync + 'static) -> u16 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let fired = Arc::new(AtomicBool::new(false));
    let on_login = Arc::new(on_login);
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue; // refused: the client sees its connection closed
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (fired, on_login) = (fired.clone(), on_login.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if buf[0] == b'p' && !fired.swap(true, Ordering::SeqCst) {
                        on_login();
                    }
                    if s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Both);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_server_stopped_in_the_middle_of_the_login_is_waited_for() {
    // The server answers the start-up and asks for the password, then is stopped with `pg_ctl
    // stop -m immediate` before the password reaches it, and started again a second later. The
    // attempt in flight is cut ("not ready", never a permanent failure or a hang), and the gate
    // logs in to the restarted server.
    if !postgres_available() {
        return;
    }
    let pg = std::sync::Arc::new(Pg::new(""));
    pg.start();
    let stopped = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    // A weak reference: the proxy's thread outlives the test, and a strong one would keep the
    // server from ever being dropped (and stopped).
    let (pg2, stopped2) = (std::sync::Arc::downgrade(&pg), stopped.clone());
    let port = proxy_stopping_at_login(pg.port, move || {
        if let Some(pg) = pg2.upgrade() {
            pg.stop("immediate");
        }
        *stopped2.lock().unwrap() = Some(Instant::now());
    });
    let url = format!(
        "postgres://app:{}@127.0.0.1:{port}/appdb",
        encode(&password())
    );
    let started = Instant::now();
    let r = gate_while(vec!["-t".into(), "30s".into(), url], || {
        let t = crate::harness::wait_until(ms(20_000), ms(5), || {
            stopped.lock().unwrap().ok_or_else(|| "not yet".to_string())
        });
        std::thread::sleep(ms(1_000).saturating_sub(t.elapsed()));
        pg.start_nowait("");
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("is not ready"), "{}", r.stderr);
    let stopped_at = stopped
        .lock()
        .unwrap()
        .expect("the login was never reached");
    assert!(
        r.elapsed + ms(100) >= stopped_at.duration_since(started) + ms(1_000),
        "ready before the server came back: {:?}\n{}",
        r.elapsed,
        r.stderr
    );
    assert!(r.stderr.contains("is ready after"), "{}", r.stderr);
}
