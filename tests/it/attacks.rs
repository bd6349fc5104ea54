//! Regressions from the gate attacked from outside: each test reproduces one finding (the number
//! in its name is the finding's) through the real binary, and failed on the code before the fix.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::fake::{self, pg_message, read_some};
use crate::harness::{encode, finish, gate, ms, run, run_measuring_rss, CANARY};

#[test]
fn f01_a_multi_byte_redis_reply_is_a_verdict_not_a_crash() {
    for reply in ["é\r\n", "\u{feff}+PONG\r\n"] {
        let port = fake::raw(move |mut s| {
            read_some(&mut s);
            let _ = s.write_all(reply.as_bytes());
            std::thread::sleep(ms(200));
        });
        let target = format!("redis://127.0.0.1:{port}");
        let r = run(gate().args(["-t", "0.5", &target]), ms(5000));
        assert_eq!(r.code(), 124, "{reply:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("does not speak the Redis protocol"),
            "{}",
            r.stderr
        );
        let r = run(gate().args(["--check", &target]), ms(5000));
        assert_eq!(r.code(), 1, "{reply:?}: {}", r.stderr);
    }
}

#[test]
fn f02_huge_redis_replies_keep_memory_bounded() {
    // An array of 1,024 bulk strings of 1 MiB each, sent as fast as the gate reads.
    let port = fake::raw(|mut s| {
        read_some(&mut s);
        let mut out = b"*1024\r\n".to_vec();
        let bulk = format!("${}\r\n{}\r\n", 1 << 20, "x".repeat(1 << 20));
        out.extend_from_slice(bulk.as_bytes());
        let _ = s.write_all(&out);
        for _ in 0..1023 {
            if s.write_all(bulk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let (r, peak_kib) = run_measuring_rss(
        gate().args(["-t", "1", &format!("redis://127.0.0.1:{port}")]),
        ms(6000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("reply too large"), "{}", r.stderr);
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");
}

/// A fake PostgreSQL that lets anyone in (AuthenticationOk, ReadyForQuery) and answers the query
/// with `rows`.
fn pg_trusting(rows: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> u16 {
    fake::raw(move |mut s| {
        read_some(&mut s); // StartupMessage
        let mut hello = pg_message(b'R', &0i32.to_be_bytes());
        hello.extend(pg_message(b'Z', b"I"));
        if s.write_all(&hello).is_err() {
            return;
        }
        read_some(&mut s); // Query
        rows(&mut s);
    })
}

#[test]
fn f02_a_postgres_message_declaring_2_gib_or_endless_rows_stay_bounded() {
    let huge = pg_trusting(|s| {
        let mut m = vec![b'T'];
        m.extend_from_slice(&i32::MAX.to_be_bytes());
        let _ = s.write_all(&m);
        let _ = s.write_all(&vec![0u8; 8 << 20]);
    });
    let (r, peak_kib) = run_measuring_rss(
        gate().args([
            "-t",
            "1",
            &format!("postgres://app@127.0.0.1:{huge}/app?sslmode=disable"),
        ]),
        ms(6000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("reply too large"), "{}", r.stderr);
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");

    // Rows without end: the first one is enough.
    let endless = pg_trusting(|s| {
        let mut desc = 1i16.to_be_bytes().to_vec();
        desc.extend_from_slice(b"v\0");
        desc.extend_from_slice(&[0; 18]);
        let _ = s.write_all(&pg_message(b'T', &desc));
        let mut row = 1i16.to_be_bytes().to_vec();
        row.extend_from_slice(&1000i32.to_be_bytes());
        row.extend_from_slice(&[b'r'; 1000]);
        let row = pg_message(b'D', &row);
        for _ in 0..1_000_000 {
            if s.write_all(&row).is_err() {
                return;
            }
        }
    });
    let (r, peak_kib) = run_measuring_rss(
        gate().args([
            "-t",
            "3",
            &format!("postgres://app@127.0.0.1:{endless}/app?sslmode=disable#query=SELECT%20v"),
        ]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("query returned a row"), "{}", r.stderr);
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn f03_huge_durations_are_refused_not_a_panic() {
    for args in [
        &["--timeout", "10000000000000000000", "127.0.0.1:1"][..],
        &["--timeout", "500000000000y", "127.0.0.1:1"],
        &["--interval", "999999999999999s", "127.0.0.1:1"],
    ] {
        let r = run(gate().args(args), ms(3000));
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("longest duration"), "{}", r.stderr);
        let r = run(gate().arg("--check").args(args), ms(3000));
        assert_eq!(r.code(), 1, "{args:?}: {}", r.stderr);
    }
    // The longest accepted values run (and are cut by a signal-free short deadline here).
    let r = run(
        gate().args([
            "--interval",
            "300d",
            "--max-interval",
            "365d",
            "-t",
            "365d",
            "--check",
            "127.0.0.1:1",
        ]),
        ms(3000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
}

#[test]
fn f04_too_few_descriptors_is_a_clear_error() {
    for limit in [6u64, 7] {
        let mut cmd = gate();
        cmd.args(["-t", "1", "127.0.0.1:1"]);
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
                Ok(())
            });
        }
        let r = run(&mut cmd, ms(5000));
        assert_eq!(r.code(), 1, "ulimit -n {limit}: {}", r.stderr);
        assert!(
            r.stderr.contains("too few file descriptors"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn f06_to_f12_passwords_in_odd_places_are_never_printed() {
    let pw = CANARY; // unencoded: '@', ':', '/', '%'
    let cases = [
        format!("redis://:{pw}/x@cache:6379/0"),
        "redis://:Cn4ry?x@cache:6379/0".to_string(),
        "redis://:Cn4ry#x@cache:6379/0".to_string(),
        "http://u:Cn4ry/x@api/".to_string(),
        format!("postgres://app:{pw}/tail@db/app"),
        "postgres://app:p@ss/Cn4rytail@db/app".to_string(),
        "redis://Cn4rySECRET@cache".to_string(),
        "http://api/h?token=Cn4ry<".to_string(),
        "http://api/h?pw=Cn4ry&jwt=Cn4ry&bearer=Cn4ry&code=Cn4ry&auth=Cn4ry".to_string(),
        "http://api/#header=X-Access-Token:%20Cn4ry".to_string(),
        "http://a%3ACn4ry:zz@api/".to_string(),
        format!(
            "postgres://u:Cn4ry@db/app,postgres://u2:{}@db2/app",
            encode(pw)
        ),
    ];
    for target in &cases {
        for extra in [
            &[][..],
            &["--log-format", "json"][..],
            &["--check"][..],
            &["-v"][..],
        ] {
            // `finish` fails the test if any output holds the canary.
            let r = run(gate().args(extra).args(["-t", "0.2", target]), ms(5000));
            assert_ne!(r.code(), 0, "{target}: {}", r.stderr);
        }
        // As the value of an option (an unset variable before it), and from the environment.
        let r = run(gate().args(["--timeout", target, "--", "true"]), ms(3000));
        assert_eq!(r.code(), 2, "{}", r.stderr);
        for var in [
            "READYGATE_TIMEOUT",
            "READYGATE_LOG_FORMAT",
            "READYGATE_PROGRESS",
        ] {
            let r = run(gate().env(var, target).args(["db:1"]), ms(3000));
            assert_eq!(r.code(), 2, "{var}: {}", r.stderr);
            assert!(r.stderr.contains(var), "{var}: {}", r.stderr);
        }
    }
    // Two targets joined by a comma: rejected before anything is sent, with the reason.
    let r = run(gate().env("READYGATE_TARGETS", &cases[11]), ms(3000));
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr
            .contains("targets are separated by spaces, not commas"),
        "{}",
        r.stderr
    );
}

#[test]
fn f14_thousands_of_refused_targets_still_meet_the_deadline() {
    let targets: Vec<String> = (0..4000).map(|_| "127.0.0.1:1".to_string()).collect();
    let r = run(gate().args(["-t", "2", "-q"]).args(&targets), ms(8000));
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.elapsed < ms(3500), "took {:?}", r.elapsed);
}

#[test]
fn f15_a_stderr_nobody_reads_does_not_stop_the_gate() {
    let targets: Vec<String> = (0..3000)
        .map(|i| format!("127.0.0.{}:1", 1 + i % 200))
        .collect();
    let (reader, writer) = std::io::pipe().unwrap();
    let start = Instant::now();
    let mut child = gate()
        .args(["-t", "1", "-v"])
        .args(&targets)
        .stdout(Stdio::null())
        .stderr(writer)
        .spawn()
        .unwrap();
    // The pipe is never read until the gate has ended.
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > ms(6000) {
            let _ = child.kill();
            panic!("the gate froze on a full stderr");
        }
        std::thread::sleep(ms(10));
    };
    assert_eq!(status.code(), Some(124));
    assert!(start.elapsed() < ms(3000), "{:?}", start.elapsed());
    drop(reader);
}

#[test]
fn f16_sigterm_in_the_first_millisecond_is_not_lost() {
    for _ in 0..20 {
        let child = gate()
            .args(["-t", "10", "127.0.0.1:1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let r = finish(child, Instant::now(), ms(5000));
        // Killed by the default action before main, or 143 from the gate: never the 10 s wait.
        assert!(
            r.status.code().is_none_or(|c| c == 143),
            "{:?} {}",
            r.status,
            r.stderr
        );
        assert!(r.elapsed < ms(2000), "{:?}", r.elapsed);
    }
}

#[test]
fn f17_secret_and_ca_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for file in [fifo.to_str().unwrap(), "/dev/zero"] {
        let r = run(
            gate()
                .env("PGPASSWORD_FILE", file)
                .args(["postgres://app@db/app"]),
            ms(3000),
        );
        assert_eq!(r.code(), 2, "{file}: {}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        let r = run(gate().args([&format!("https://h/#ca={file}")]), ms(3000));
        assert_eq!(r.code(), 2, "{file}: {}", r.stderr);
    }
}

#[test]
fn f19_a_long_retry_after_is_capped_at_max_interval() {
    let h = fake::http(vec![
        fake::Reply::Status(503, vec![("Retry-After", "3600".into())], String::new()),
        fake::status(200),
    ]);
    let r = run(
        gate().args(["-t", "10", &format!("http://127.0.0.1:{}/", h.port)]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed < ms(3500), "{:?}", r.elapsed);
    assert!(r.stderr.contains("Retry-After 1h"), "{}", r.stderr);
}

#[test]
fn f20_contains_over_a_trickling_body_keeps_the_deadline() {
    let port = fake::raw(|mut s| {
        read_some(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for _ in 0..100_000 {
            if s.write_all(b"1\r\nz\r\n").is_err() {
                return;
            }
        }
    });
    let r = run(
        gate().args([
            "-t",
            "1.5",
            &format!("http://127.0.0.1:{port}/#contains=READY"),
        ]),
        ms(6000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.elapsed < ms(1900), "{:?}", r.elapsed);
}

#[test]
fn f21_a_self_signed_ca_certificate_is_trusted_as_itself() {
    let make = |names: &[&str], expired: bool| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        // What `openssl req -x509` makes by default.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let dir = tempfile::tempdir().unwrap();
    for (names, expired, want, text) in [
        (&["localhost"][..], false, 0, "is ready"),
        (
            &["other.example"][..],
            false,
            1,
            "not valid for this host name",
        ),
        (&["localhost"][..], true, 1, "expired"),
    ] {
        let (cert, key) = make(names, expired);
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &cert).unwrap();
        let h = fake::https(&cert, &key, fake::status(200));
        let r = run(
            gate().args([
                "-t",
                "3",
                &format!("https://localhost:{h}/#ca={}", ca.display()),
            ]),
            ms(6000),
        );
        assert_eq!(r.code(), want, "{names:?}: {}", r.stderr);
        assert!(r.stderr.contains(text), "{}", r.stderr);
        assert!(!r.stderr.contains("Other("), "{}", r.stderr);
    }
}

#[test]
fn f22_postgres_answers_that_are_not_ready_or_never_will_be() {
    // An ErrorResponse without a SQLSTATE: not "accepting connections".
    let no_code = fake::raw(|mut s| {
        read_some(&mut s);
        let _ = s.write_all(&pg_message(b'E', b"SFATAL\0Mgo away\0\0"));
    });
    let r = run(
        gate().args([
            "-t",
            "0.5",
            &format!("postgres://127.0.0.1:{no_code}/?sslmode=disable"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("without a SQLSTATE"), "{}", r.stderr);
    // An authentication method the gate cannot do (GSSAPI, code 7): fails at once.
    let gss = fake::raw(|mut s| {
        read_some(&mut s);
        let _ = s.write_all(&pg_message(b'R', &7i32.to_be_bytes()));
        std::thread::sleep(ms(500));
    });
    let r = run(
        gate().args([
            "-t",
            "10",
            &format!("postgres://app@127.0.0.1:{gss}/app?sslmode=disable"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("does not support"), "{}", r.stderr);
    assert!(r.elapsed < ms(2000));
}

#[test]
fn f13_a_cleartext_password_over_plaintext_is_warned_about() {
    let port = fake::raw(|mut s| {
        let mut first = [0u8; 8];
        let _ = std::io::Read::read_exact(&mut s, &mut first);
        let _ = s.write_all(b"N"); // no TLS (sslmode=prefer goes on in plaintext)
        read_some(&mut s);
        let _ = s.write_all(&pg_message(b'R', &3i32.to_be_bytes()));
        read_some(&mut s); // the password
        let mut ok = pg_message(b'R', &0i32.to_be_bytes());
        ok.extend(pg_message(b'Z', b"I"));
        let _ = s.write_all(&ok);
        read_some(&mut s);
        let mut done = pg_message(b'C', b"SELECT 1\0");
        done.extend(pg_message(b'Z', b"I"));
        let _ = s.write_all(&done);
        read_some(&mut s);
    });
    let url = format!("postgres://app:{}@127.0.0.1:{port}/app", encode(CANARY));
    let r = run(gate().args(["-t", "3", &url]), ms(6000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("asked for the password in cleartext over an unencrypted connection"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("sslmode=require prevents this"));
}

#[test]
fn f23_scripts_that_cannot_run_exit_126() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content, text) in [
        (
            "bad-interpreter",
            "#!/nonexistent/sh\necho hi\n",
            "interpreter '/nonexistent/sh'",
        ),
        ("no-shebang", "echo hi\n", "exec format error"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let r = run(gate().arg("--allow-empty").arg("--").arg(&path), ms(3000));
        assert_eq!(r.code(), 126, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(text), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{name} ran: {}", r.stdout);
    }
}

#[test]
fn f24_a_sigterm_left_pending_by_the_parent_ends_the_wait_before_anything_starts() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut cmd = gate();
    cmd.args([&format!("127.0.0.1:{port}"), "--", "echo", "started"]);
    // SAFETY: sigprocmask and raise are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::raise(libc::SIGTERM);
            Ok(())
        });
    }
    let r = run(&mut cmd, ms(5000));
    assert_eq!(r.code(), 143, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "the command ran: {}", r.stdout);
    assert!(!r.stderr.contains("starting"), "{}", r.stderr);
}

#[test]
fn f25_input_that_can_never_work_exits_2_at_once() {
    let long_label = format!("tcp://{}.x:1", "a".repeat(64));
    let long_name = format!("tcp://{}:1", ["abcdefghij"; 26].join("."));
    for target in [
        "http://x/%zz",
        "postgres://u@db/a%00b",
        long_label.as_str(),
        long_name.as_str(),
        "tcp://x..y:1",
        "http://h/#status=200&status=201",
        "redis://h?db=1&db=2",
        "http://u:p@h/#header=Authorization:%20Basic%20x",
        "http://h/#header=Host:%20other",
        "tcp://db:5432\u{7}",
    ] {
        let r = run(gate().args([target]), ms(3000));
        assert_eq!(r.code(), 2, "{target:?}: {}", r.stderr);
        assert!(r.elapsed < ms(1000));
        assert!(!r.stderr.contains('\0') && !r.stderr.contains('\u{7}'));
    }
}

#[test]
fn f26_yes_no_variables_and_flags_share_one_grammar() {
    for yes in ["1", "yes", "on", "true"] {
        let r = run(
            gate()
                .env("READYGATE_QUIET", yes)
                .args(["-t", "0.3", "127.0.0.1:1"]),
            ms(3000),
        );
        assert_eq!(r.code(), 124, "{yes}: {}", r.stderr);
        assert!(!r.stderr.contains("waiting for"), "{yes}: {}", r.stderr);
        let r = run(
            gate().env("READYGATE_CHECK", yes).args(["127.0.0.1:1"]),
            ms(3000),
        );
        assert_eq!(r.code(), 1, "{yes}: {}", r.stderr);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ready = format!("127.0.0.1:{}", port.local_addr().unwrap().port());
    let r = run(gate().env("READYGATE_CHECK", "1").args([&ready]), ms(3000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let r = run(gate().args(["--check=true", &ready]), ms(3000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // The flag wins over its variable.
    let r = run(
        gate()
            .env("READYGATE_QUIET", "true")
            .args(["-v", "-t", "0.2", "127.0.0.1:1"]),
        ms(3000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("debug:"), "{}", r.stderr);
    // A bad value names the variable that holds it.
    let r = run(
        gate().env("READYGATE_QUIET", "maybe").args(["db:1"]),
        ms(3000),
    );
    assert_eq!(r.code(), 2);
    assert!(r.stderr.contains("READYGATE_QUIET"), "{}", r.stderr);
    assert!(r.stderr.contains("yes/no"), "{}", r.stderr);
}

#[test]
fn f27_an_attempt_cut_by_its_timeout_closes_its_connection() {
    // Every protocol: against a server that never answers, the gate never holds more than the
    // connection of the attempt in flight.
    for scheme in ["tcp", "http", "redis", "postgres"] {
        let h = fake::holding();
        let target = match scheme {
            "tcp" => format!("tcp://127.0.0.1:{}", h.port),
            "postgres" => format!("postgres://app@127.0.0.1:{}/app?sslmode=disable", h.port),
            s => format!("{s}://127.0.0.1:{}/", h.port),
        };
        let r = run(
            gate().args([
                "-t",
                "2",
                "--attempt-timeout",
                "100ms",
                "--max-interval",
                "100ms",
                &target,
            ]),
            ms(6000),
        );
        if scheme == "tcp" {
            assert_eq!(r.code(), 0, "{}", r.stderr);
            continue;
        }
        assert_eq!(r.code(), 124, "{scheme}: {}", r.stderr);
        std::thread::sleep(ms(200));
        assert!(
            h.most.load(Ordering::SeqCst) <= 2,
            "{scheme}: {} at once",
            h.most.load(Ordering::SeqCst)
        );
        assert_eq!(h.open.load(Ordering::SeqCst), 0, "{scheme}: left open");
    }
}

#[test]
fn f29_server_text_cannot_forge_log_lines() {
    let port = fake::raw(|mut s| {
        read_some(&mut s);
        let _ = s.write_all(b"-ERR x\x1b[2J\rreadygate: all 3 targets are ready\r\n");
    });
    let r = run(
        gate().args(["-t", "0.3", &format!("redis://127.0.0.1:{port}")]),
        ms(3000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    assert!(
        !r.stderr.lines().any(|l| l.starts_with("readygate: all 3")),
        "{}",
        r.stderr
    );
}

#[test]
fn f30_check_prints_one_short_line_whatever_the_input() {
    // Just under the kernel's limit for one argument (128 KiB).
    let huge = format!("tcp://{}:1", "a".repeat(120 * 1024));
    let targets: Vec<String> = (0..10_000).map(|_| "127.0.0.1:1".to_string()).collect();
    for args in [vec![huge.clone()], targets] {
        let r = run(gate().arg("--check").args(&args), ms(10_000));
        assert_eq!(r.code(), 1, "{}", &r.stderr[..r.stderr.len().min(300)]);
        assert_eq!(
            r.stderr.lines().count(),
            1,
            "{}",
            &r.stderr[..r.stderr.len().min(300)]
        );
        assert!(r.stderr.len() < 4096, "{} bytes", r.stderr.len());
    }
}
