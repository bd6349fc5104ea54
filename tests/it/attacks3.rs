//! Regressions from the third outside attack: each test reproduces one finding (the number in its
//! name is the finding's) through the real binary, and failed on the code before the fix. The
//! drop-in findings (9–12, 20–22) are in `dropin.rs`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::fake::{self, read_some};
use crate::harness::{
    free_port, gate, have, is_root, ms, require, run, run_measuring_rss, HeldPort,
};
use crate::servers::{postgres_available, Pg};

/// No 4-character piece of `secret` in the run's output.
fn assert_hidden(out: &str, secret: &str, what: &str) {
    let chars: Vec<char> = secret.chars().collect();
    for w in chars.windows(4) {
        let piece: String = w.iter().collect();
        if piece.chars().all(|c| c.is_alphanumeric()) {
            assert!(
                !out.contains(&piece),
                "{what}: '{piece}' of the secret printed:\n{out}"
            );
        }
    }
}

#[test]
fn f01_a_secret_split_by_a_bar_or_white_space_is_never_printed() {
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let cases: Vec<(Vec<String>, Option<String>, &str)> = vec![
        (
            vec![format!("redis://:Sx7Kq|Wm3Zp@127.0.0.1:{closed}")],
            None,
            "Sx7Kq|Wm3Zp",
        ),
        (
            vec!["postgres://h.invalid/db?password=Pq9X|vR4tZ1".into()],
            None,
            "Pq9X|vR4tZ1",
        ),
        (
            vec!["http://h.invalid/#header=X-Api-Token:%20Tk7q|Zx9Wv2".into()],
            None,
            "Tk7q|Zx9Wv2",
        ),
        (
            vec![format!("amqp://u:Aq4M|Zx8Kw2@127.0.0.1:{closed}/vh")],
            None,
            "Aq4M|Zx8Kw2",
        ),
        (
            vec![format!("redis://u:1234|5678@127.0.0.1:{closed}")],
            None,
            "1234|5678",
        ),
        (
            vec!["http://h.invalid/?token=abcdef|ghij:80".into()],
            None,
            "abcdef|ghij",
        ),
        (
            vec![],
            Some(format!("redis://:Sq7Xw Vz3Kp@127.0.0.1:{closed}")),
            "Sq7Xw Vz3Kp",
        ),
        (
            vec![],
            Some("postgres://u:Pq3K\tWx9Zv@h.invalid/db".into()),
            "Pq3K\tWx9Zv",
        ),
        (
            vec![],
            Some("http://h.invalid/#header=X-Api-Key: Kx4Vq8Zm2W".into()),
            "Kx4Vq8Zm2W",
        ),
    ];
    for (args, env, secret) in cases {
        for mode in [
            &["--check"][..],
            &["-t", "300ms"],
            &["--explain"],
            &["--log-format", "json", "-t", "300ms"],
        ] {
            let mut cmd = gate();
            cmd.args(mode).args(&args);
            if let Some(e) = &env {
                cmd.env("READYGATE_TARGETS", e);
            }
            let r = run(&mut cmd, ms(5000));
            let what = format!("{args:?} {env:?} {mode:?}");
            assert_hidden(&r.stderr, secret, &what);
            assert_hidden(&r.stdout, secret, &what);
        }
    }
    // Where the structure is clear, a raw '|' in a password is the password's: the target works.
    let http = fake::http_eager(fake::status(200));
    let r = run(
        gate().args(["--check", &format!("http://u:pa|ss@127.0.0.1:{http}/")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

/// A fake Redis: `PING` answered with `reply`, whatever came before.
fn redis_answering(reply: &'static str) -> u16 {
    fake::raw(move |mut s| {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let answer = if text.contains("PING") {
                reply
            } else {
                "+OK\r\n"
            };
            if s.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    })
}

#[test]
fn f02_down_means_nothing_answers() {
    // Answers that prove a live server: never "down".
    let http503 = fake::http_eager(fake::status(503));
    let loading = redis_answering("-LOADING Redis is loading the dataset in memory\r\n");
    let (backlog, _fill, _l) = fake::full_backlog();
    for target in [
        format!("http://127.0.0.1:{http503}/#down"),
        format!("redis://127.0.0.1:{loading}#down"),
    ] {
        let r = run(gate().args(["-t", "1", &target]), ms(5000));
        assert_eq!(r.code(), 124, "{target}: {}", r.stderr);
        assert!(r.stderr.contains("still up"), "{target}: {}", r.stderr);
    }
    let _ = backlog;
    // Nothing answering: down.
    let refused = HeldPort::new();
    for target in [
        format!("tcp://127.0.0.1:{}#down", refused.port),
        "tcp://no-such-host.invalid:1#down".to_string(),
        format!(
            "unix:///tmp/readygate-no-such-{}.sock#down",
            std::process::id()
        ),
    ] {
        let r = run(gate().args(["-t", "5", &target]), ms(8000));
        assert_eq!(r.code(), 0, "{target}: {}", r.stderr);
    }
}

#[test]
fn f02_a_postgresql_in_smart_shutdown_is_still_up() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let mut session = pg.psql_background("SELECT pg_sleep(6)");
    std::thread::sleep(ms(500));
    pg.stop_nowait("smart");
    std::thread::sleep(ms(800));
    let target = format!("postgres://127.0.0.1:{}#down", pg.port);
    let r = run(gate().args(["-t", "2", &target]), ms(10_000));
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("57P03"), "{}", r.stderr);
    let _ = session.wait();
    // Once it has stopped, it is down.
    let r = run(gate().args(["-t", "20", &target]), ms(25_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn f03_a_one_word_command_shows_only_its_program() {
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    for command in [
        "psql postgres://u:S3cretDbPw@db/x",
        "sh -c \"mysql -uroot -pS3cretDbPw\"",
        "PGPASSWORD=S3cretDbPw psql -h db",
    ] {
        let r = run(
            gate().args(["-t", "1", &format!("127.0.0.1:{closed}"), "--", command]),
            ms(5000),
        );
        assert_eq!(r.code(), 127, "{}", r.stderr);
        assert!(!r.stderr.contains("S3cretDbPw"), "{}", r.stderr);
    }
    let r = run(
        gate()
            .env("WAIT_COMMAND", "x")
            .args(["--compat=wait"])
            .env("WAIT_COMMAND", "PGPASSWORD=S3cretDbPw psql -h db"),
        ms(5000),
    );
    assert!(!r.stderr.contains("S3cretDbPw"), "{}", r.stderr);
}

#[test]
fn f04_a_weak_password_never_garbles_the_gates_own_words() {
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    for (url, name) in [
        (
            format!("postgres://postgres:postgres@127.0.0.1:{closed}/postgres"),
            format!("postgres://postgres:***@127.0.0.1:{closed}/postgres"),
        ),
        (
            format!("postgres://postgres:ready@127.0.0.1:{closed}/postgres"),
            format!("postgres://postgres:***@127.0.0.1:{closed}/postgres"),
        ),
        (
            format!("amqp://guest:guest@127.0.0.1:{closed}/"),
            format!("amqp://guest:***@127.0.0.1:{closed}/"),
        ),
    ] {
        let r = run(gate().args(["-t", "500ms", &url]), ms(5000));
        assert_eq!(r.code(), 124, "{}", r.stderr);
        for line in r.stderr.lines() {
            assert!(line.starts_with("readygate: "), "{line}");
        }
        assert!(r.stderr.contains(&name), "{}", r.stderr);
        assert!(r.stderr.contains("timed out after"), "{}", r.stderr);
        assert!(
            r.stderr.contains("the password is"),
            "no weak-password warning:\n{}",
            r.stderr
        );
    }
}

#[test]
fn f05_f06_groups_under_down_and_retry_permanent() {
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    // A member that rejects the password is up: the group is not "down".
    let wrongpass = redis_answering("-WRONGPASS invalid username-password pair\r\n");
    let r = run(
        gate().args([
            "-t",
            "1",
            &format!("redis://:pw123456@127.0.0.1:{wrongpass}|tcp://127.0.0.1:{closed}#down"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    // --retry-permanent applies inside a group: a member fixed later makes it ready.
    let fixed = Arc::new(AtomicBool::new(false));
    let flag = fixed.clone();
    let port = fake::raw(move |mut s| {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            // One reply per command, in order (a client may send several at once).
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let mut replies = String::new();
            for command in text.split('*').skip(1) {
                replies.push_str(match (flag.load(Ordering::SeqCst), command) {
                    (false, c) if c.contains("AUTH") => {
                        "-WRONGPASS invalid username-password pair\r\n"
                    }
                    (_, c) if c.contains("PING") => "+PONG\r\n",
                    _ => "+OK\r\n",
                });
            }
            if s.write_all(replies.as_bytes()).is_err() {
                return;
            }
        }
    });
    let target = format!("redis://:pw123456@127.0.0.1:{port}|tcp://127.0.0.1:{closed}");
    let r = crate::harness::run_during(
        gate().args(["-t", "8", "--retry-permanent", &target]),
        ms(12_000),
        || {
            std::thread::sleep(ms(1500));
            fixed.store(true, Ordering::SeqCst);
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn f08_a_rabbitmq_connection_limit_is_waited_out() {
    // connection.start, then, after start-ok, connection.close 530 with RabbitMQ's limit text.
    let port = amqp_closing(
        530,
        b"NOT_ALLOWED - access to vhost '/' refused for user 'u': connection limit (1) is reached",
    );
    let r = run(
        gate().args([
            "-t",
            "1500ms",
            &format!("amqp://u:pw123456@127.0.0.1:{port}/"),
        ]),
        ms(6000),
    );
    assert_eq!(
        r.code(),
        124,
        "a busy broker is not a permanent failure: {}",
        r.stderr
    );
    assert!(r.stderr.contains("connection limit"), "{}", r.stderr);
}

/// A fake AMQP broker: `connection.start`, then, after the client's `start-ok`, `connection.close`
/// with `code` and `text`.
fn amqp_closing(code: u16, text: &'static [u8]) -> u16 {
    fake::raw(move |mut s| {
        read_some(&mut s); // protocol header
        let _ = s.write_all(&amqp_method(10, 10, &start_args()));
        read_some(&mut s); // start-ok
        let mut args = code.to_be_bytes().to_vec();
        args.push(text.len() as u8);
        args.extend_from_slice(text);
        args.extend_from_slice(&[0, 10, 0, 11]);
        let _ = s.write_all(&amqp_method(10, 50, &args));
        std::thread::sleep(ms(100));
    })
}

/// connection.start's arguments: version 0-9, empty server properties, PLAIN, en_US.
fn start_args() -> Vec<u8> {
    let mut a = vec![0, 9];
    a.extend_from_slice(&0u32.to_be_bytes());
    for s in [&b"PLAIN"[..], b"en_US"] {
        a.extend_from_slice(&(s.len() as u32).to_be_bytes());
        a.extend_from_slice(s);
    }
    a
}

fn amqp_method(class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut payload = class.to_be_bytes().to_vec();
    payload.extend_from_slice(&method.to_be_bytes());
    payload.extend_from_slice(args);
    let mut frame = vec![1, 0, 0];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame.push(0xCE);
    frame
}

#[test]
fn f13_an_exec_check_that_leaves_a_background_process_is_ready() {
    let r = run(
        gate().args([
            "-t",
            "8",
            "--attempt-timeout",
            "2s",
            "--exec-check",
            "sh -c 'sleep 30 & exit 0'",
        ]),
        ms(10_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed < ms(2000), "{:?}", r.elapsed);
}

#[test]
fn f14_what_a_check_leaves_behind_is_no_zombie_of_the_command() {
    if !require(
        is_root() && have("unshare"),
        "root and unshare (a PID namespace)",
    ) {
        return;
    }
    // As PID 1: the check's background sleep is killed and reaped before the exec; the command
    // (PID 1 now) then lists its children's states after the sleep would have ended.
    let r = run(
        std::process::Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount-proc",
                env!("CARGO_BIN_EXE_readygate"),
                "-t",
                "6",
            ])
            .args([
                "--exec-check",
                "sh -c 'sleep 1.5 >/dev/null 2>&1 & exit 0'",
                "--",
            ])
            .args(["sh", "-c", "sleep 2.5; cat /proc/[0-9]*/stat 2>/dev/null"]),
        ms(15_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    for line in r.stdout.lines() {
        let state = line
            .rsplit(") ")
            .next()
            .and_then(|rest| rest.split(' ').next());
        assert_ne!(
            state,
            Some("Z"),
            "a zombie was handed to the command: {line}"
        );
    }
}

#[test]
fn f15_the_exec_check_output_is_scrubbed_before_it_is_cut() {
    let secret = "Zq8xWv3KpL9mTn2R";
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let script = format!("import sys; sys.stdout.write('pw={secret}' + 'x'*4090)");
    let r = run(
        gate().args([
            "-v",
            "-t",
            "2",
            &format!("http://u:{secret}@127.0.0.1:{closed}/#optional"),
            "--exec-check",
            &format!("python3 -c \"{script}\""),
        ]),
        ms(8000),
    );
    assert_hidden(&r.stderr, secret, "exec-check output");
}

#[test]
fn f16_ten_thousand_tls_capable_targets_share_one_trust_store() {
    let args: Vec<String> = (0..10_000)
        .map(|i| format!("postgres://127.0.0.1:9/{i}"))
        .collect();
    let (r, peak_kib) = run_measuring_rss(gate().arg("--explain").args(&args), ms(20_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn f17_a_json_line_stays_json_whatever_its_length() {
    let long = "p".repeat(2100);
    let group: Vec<String> = (0..300)
        .map(|i| format!("tcp://127.0.0.1:{}", 1000 + i))
        .collect();
    let refused = HeldPort::new();
    for target in [
        format!("http://127.0.0.1:{}/{long}", refused.port),
        group.join("|"),
    ] {
        let r = run(
            gate().args(["--log-format", "json", "-t", "300ms", &target]),
            ms(5000),
        );
        for line in r.stderr.lines() {
            assert!(line.len() <= 4000, "{} bytes", line.len());
            assert!(json_object(line), "not one JSON object: {line}");
        }
    }
}

/// Whether `line` is one whole JSON object (strings closed, braces balanced).
fn json_object(line: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in line.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, c) if (c as u32) < 0x20 => return false,
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => depth -= 1,
            _ => {}
        }
    }
    line.starts_with('{') && depth == 0 && !in_string
}

#[test]
fn f18_explain_answers_as_the_run_would() {
    let r = run(
        gate()
            .env("READYGATE_TARGET", "db:5432")
            .args(["--explain", "--", "true"]),
        ms(3000),
    );
    assert_eq!(r.code(), 2, "{}", r.stderr);
    let r = run(
        gate().args(["--explain", "127.0.0.1:1", "--", "no-such-command-here"]),
        ms(3000),
    );
    assert_eq!(r.code(), 127, "{}", r.stderr);
    // stdout that will not take the plan: said, not lost.
    let script = format!(
        "exec {} --explain 127.0.0.1:1 >/dev/full",
        env!("CARGO_BIN_EXE_readygate")
    );
    let r = run(
        std::process::Command::new("sh").args(["-c", &script]),
        ms(3000),
    );
    assert_ne!(r.code(), 0);
    assert!(r.stderr.contains("cannot write the plan"), "{}", r.stderr);
}

#[test]
fn f19_the_password_file_matches_a_unix_socket_by_its_directory() {
    if !postgres_available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let pg = Pg::new("");
    // Passwords on the socket too.
    std::fs::write(
        pg.data.join("pg_hba.conf"),
        "local all postgres trust\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    let escaped = crate::servers::password()
        .replace('\\', "\\\\")
        .replace(':', "\\:");
    let target = format!(
        "postgres://app@/appdb?host={}&port={}",
        crate::harness::encode(pg.socket_dir.to_str().unwrap()),
        pg.port
    );
    for (host, ready) in [
        (pg.socket_dir.display().to_string(), true),
        ("localhost".to_string(), false),
    ] {
        std::fs::write(&file, format!("{host}:{}:*:app:{escaped}\n", pg.port)).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let r = run(
            gate().args(["-t", "10s", &target]).env("PGPASSFILE", &file),
            ms(20_000),
        );
        assert_eq!(r.code() == 0, ready, "{host}: {}", r.stderr);
    }
    // A password file that is not a regular file is said, not silently skipped.
    let r = run(
        gate()
            .args(["-t", "3s", &target])
            .env("PGPASSFILE", "/dev/zero"),
        ms(10_000),
    );
    assert!(
        r.stderr.contains("is ignored: it is not a regular file"),
        "{}",
        r.stderr
    );
}

#[test]
fn f23_f24_file_targets_look_before_they_say_gone() {
    let dir = tempfile::tempdir().unwrap();
    // A symbolic link to nothing is still there.
    let lock = dir.path().join("lock");
    std::os::unix::fs::symlink("/nonexistent-target", &lock).unwrap();
    for option in ["absent", "down"] {
        let r = run(
            gate().args([
                "-t",
                "500ms",
                &format!("file://{}#{option}", lock.display()),
            ]),
            ms(5000),
        );
        assert_eq!(r.code(), 124, "#{option}: {}", r.stderr);
    }
    // /proc files say 0 bytes and have content; a directory with a file is not empty.
    std::fs::write(dir.path().join("f"), "x").unwrap();
    for target in [
        "file:///proc/self/status#nonempty".to_string(),
        format!("file://{}#nonempty", dir.path().display()),
    ] {
        let r = run(gate().args(["--check", &target]), ms(5000));
        assert_eq!(r.code(), 0, "{target}: {}", r.stderr);
    }
    // Not allowed to look: not gone.
    if !require(
        is_root() && have("runuser"),
        "root and runuser (a file another user cannot see)",
    ) {
        return;
    }
    let private = tempfile::tempdir().unwrap();
    std::fs::write(private.path().join("f"), "x").unwrap();
    let target = format!("file://{}/f#down", private.path().display());
    let r = run(
        std::process::Command::new("runuser").args([
            "-u",
            "nobody",
            "--",
            env!("CARGO_BIN_EXE_readygate"),
            "-t",
            "500ms",
            &target,
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

/// A MySQL server's greeting (protocol 10, mysql_native_password, no TLS).
fn mysql_greeting() -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"5.7.99-fake\0");
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh\0");
    let caps: u32 = 0x0000_0001 | 0x0000_0200 | 0x0000_8000 | 0x0008_0000;
    p.extend_from_slice(&(caps as u16).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    p.extend_from_slice(b"mysql_native_password\0");
    mysql_packet(0, &p)
}

fn mysql_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    out.push(seq);
    out.extend_from_slice(payload);
    out
}

/// A fake MySQL that answers the handshake response with `answer`, then counts the packets the
/// client sent after it (an answer to the request: the handshake was completed, not dropped).
fn mysql_asking(answer: Vec<u8>, completed: Arc<AtomicUsize>) -> u16 {
    fake::raw(move |mut s| {
        let _ = s.write_all(&mysql_greeting());
        read_some(&mut s);
        let _ = s.write_all(&mysql_packet(2, &answer));
        let _ = s.set_read_timeout(Some(ms(2000)));
        let mut buf = [0u8; 256];
        if let Ok(n @ 4..) = s.read(&mut buf) {
            completed.fetch_add(1, Ordering::SeqCst);
            let _ = n;
            let mut err = vec![0xFF];
            err.extend_from_slice(&1045u16.to_le_bytes());
            err.extend_from_slice(b"#28000Access denied");
            let _ = s.write_all(&mysql_packet(buf[3].wrapping_add(1), &err));
        }
    })
}

#[test]
fn f25_f32_mysql_answers_that_prove_the_server_up_and_a_cleartext_plugin() {
    let full_auth = vec![0x01, 0x04];
    let mut clear = vec![0xFE];
    clear.extend_from_slice(b"mysql_clear_password\0");
    for answer in [full_auth, clear.clone()] {
        let completed = Arc::new(AtomicUsize::new(0));
        let port = mysql_asking(answer.clone(), completed.clone());
        let r = run(
            gate().args(["--check", &format!("mysql://127.0.0.1:{port}")]),
            ms(5000),
        );
        assert_eq!(r.code(), 0, "{answer:?}: {}", r.stderr);
        crate::harness::wait_until(ms(3000), ms(20), || {
            match completed.load(Ordering::SeqCst) {
                0 => Err("the handshake was dropped half-way".to_string()),
                _ => Ok(()),
            }
        });
    }
    // At the login level, the cleartext plugin over a connection with no checked certificate is
    // refused before anything is sent.
    let port = mysql_asking(clear, Arc::new(AtomicUsize::new(0)));
    let r = run(
        gate().args([
            "-t",
            "3",
            &format!("mysql://app:S3cretPassw0rd@127.0.0.1:{port}"),
        ]),
        ms(6000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("VERIFY_CA"), "{}", r.stderr);
}

#[test]
fn f27_memcached_with_an_auth_file_is_named() {
    if !crate::brokers::simple_available("memcached", "memcached") {
        return;
    }
    let port = free_port();
    let _server = crate::brokers::memcached(port, crate::brokers::McAuth::Text);
    crate::servers::wait_port(port, ms(5000));
    let r = run(
        gate().args([
            "-t",
            "7",
            &format!("memcached://mcuser:McPassw0rd9@127.0.0.1:{port}"),
        ]),
        ms(10_000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("#auth=text"), "{}", r.stderr);
    assert!(r.elapsed < ms(4000), "{:?}", r.elapsed);
}

#[test]
fn f28_exec_checks_take_turns_for_descriptors() {
    let mut cmd = gate();
    cmd.args(["-t", "20"]);
    for _ in 0..500 {
        cmd.args(["--exec-check", "true"]);
    }
    crate::harness::with_descriptors(&mut cmd, 256);
    let r = run(&mut cmd, ms(30_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(!r.stderr.contains("descriptors"), "{}", r.stderr);
}

#[test]
fn f29_a_unix_path_too_long_for_the_kernel_is_refused_at_start() {
    let long = format!("/run/{}.sock", "a".repeat(120));
    for target in [format!("unix://{long}"), format!("redis+unix://{long}")] {
        let r = run(gate().arg(&target), ms(3000));
        assert_eq!(r.code(), 2, "{}", r.stderr);
        assert!(r.stderr.contains("at most 107"), "{}", r.stderr);
    }
}

#[test]
fn f30_check_lists_only_what_answered_and_ignores_stability() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = l.local_addr().unwrap().port();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let r = run(
        gate().args([
            "--check",
            &format!("tcp://127.0.0.1:{closed}#optional"),
            &format!("127.0.0.1:{open}"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("readygate: ready: ") && !last.contains(&closed.to_string()),
        "{}",
        r.stderr
    );
    // Accepts and closes at once (Docker's proxy without a backend): `--stable` does not apply.
    let proxy = fake::raw(|_s| {});
    let r = run(
        gate().args(["--check", "--stable", "10s", &format!("127.0.0.1:{proxy}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn f31_a_raw_ampersand_or_hash_inside_a_secret_value() {
    for (target, secret) in [
        (
            "postgres://h.invalid/db?password=PgPart1&PgPart2xyz",
            "PgPart2xyz",
        ),
        (
            "http://h.invalid/#header=Authorization:%20Bearer%20abcSECRET&def1SECRET2",
            "def1SECRET2",
        ),
        (
            "http://h.invalid/?token=TokPart1#TokPart2xyz",
            "TokPart2xyz",
        ),
    ] {
        let r = run(gate().args(["--check", target]), ms(3000));
        assert_eq!(r.code(), 1, "{}", r.stderr);
        assert_hidden(&r.stderr, secret, target);
    }
}

#[test]
fn f33_a_servers_encoded_echo_of_the_credentials_is_masked() {
    // An AMQP broker refusing the login with a text that quotes the SASL PLAIN response, encoded.
    let port = amqp_closing(403, b"ACCESS_REFUSED b64=AGFtcXB1c2VyAEFtcXBTZWNyZXRQdzc3 hex=00616d71707573657200416d717053656372657450773737 rev=77wPterceSpqmA");
    let r = run(
        gate().args([
            "-t",
            "2",
            &format!("amqp://amqpuser:AmqpSecretPw77@127.0.0.1:{port}/"),
        ]),
        ms(6000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    for leak in [
        "XBTZWNyZXRQdzc3",
        "416d7170536563",
        "77wPterceSpqmA",
        "AmqpSecretPw77",
    ] {
        assert!(!r.stderr.contains(leak), "{leak}: {}", r.stderr);
    }
}

#[test]
fn f34_a_group_lets_losing_mysql_handshakes_finish() {
    let winner = fake::raw(|mut s| {
        let _ = s.write_all(&mysql_greeting());
        read_some(&mut s);
        let _ = s.write_all(&mysql_packet(2, &[0, 0, 0, 2, 0, 0, 0]));
        read_some(&mut s);
    });
    let completed = Arc::new(AtomicUsize::new(0));
    let seen = completed.clone();
    let slow = fake::raw(move |mut s| {
        std::thread::sleep(ms(100));
        let _ = s.write_all(&mysql_greeting());
        let _ = s.set_read_timeout(Some(ms(2000)));
        let mut buf = [0u8; 512];
        if matches!(s.read(&mut buf), Ok(4..)) {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let target = format!("mysql://127.0.0.1:{winner}|mysql://127.0.0.1:{slow}");
    let r = run(gate().args(["--check", &target]), ms(5000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    crate::harness::wait_until(ms(3000), ms(20), || {
        match completed.load(Ordering::SeqCst) {
            0 => Err("the losing member's handshake was dropped".to_string()),
            _ => Ok(()),
        }
    });
}

#[test]
fn f35_urls_copied_from_applications_are_taken() {
    for target in [
        "amqp://u:p@rabbit.invalid:5672/vhost?heartbeat=30&connection_timeout=5000",
        "postgres://app@db.invalid/app?target_session_attrs=standby",
        "postgres://app@db.invalid/app?target_session_attrs=read-only",
        "postgres://app@db.invalid/app?target_session_attrs=prefer-standby",
    ] {
        let r = run(gate().args(["--explain", target]), ms(3000));
        assert_eq!(r.code(), 0, "{target}: {}", r.stderr);
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, _key) = fake::self_signed();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert).unwrap();
    let target = format!(
        "mysql://db.invalid/app?ssl-mode=REQUIRED&ssl-ca={}",
        ca.display()
    );
    let r = run(gate().args(["--explain", &target]), ms(3000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stdout.contains("VERIFY_CA"), "{}", r.stdout);
}

#[test]
fn f35_a_standby_is_waited_for_when_asked() {
    if !postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let url = |attrs: &str| {
        format!(
            "{}?target_session_attrs={attrs}",
            pg.url(&Pg::app(), "appdb")
        )
    };
    let r = run(gate().args(["--check", &url("read-write")]), ms(10_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let r = run(gate().args(["--check", &url("standby")]), ms(10_000));
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("not a standby"), "{}", r.stderr);
}

#[test]
fn f36_smaller_messages() {
    // A misspelled variable is said on every run, with the name it was meant to be.
    let r = run(
        gate()
            .env("READYGATE_TIMOUT", "5")
            .args(["--check", "127.0.0.1:1"]),
        ms(3000),
    );
    assert!(r.stderr.contains("READYGATE_TIMOUT is set, but readygate reads no such variable (did you mean READYGATE_TIMEOUT?)"), "{}", r.stderr);
    // READYGATE_EXEC_CHECK is named when its command cannot start.
    let r = run(gate().env("READYGATE_EXEC_CHECK", "/nonexist x"), ms(3000));
    assert_eq!(r.code(), 2);
    assert!(r.stderr.contains("READYGATE_EXEC_CHECK"), "{}", r.stderr);
    // A directory as the command.
    let r = run(gate().args(["--allow-empty", "--", "/usr"]), ms(3000));
    assert_eq!(r.code(), 126);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    // Usage errors of the drop-in modes follow READYGATE_LOG_FORMAT.
    let r = run(
        gate()
            .env("READYGATE_LOG_FORMAT", "json")
            .args(["--compat=wait-for-it", "--bogus"]),
        ms(3000),
    );
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.starts_with('{') && json_object(r.stderr.trim_end()),
        "{}",
        r.stderr
    );
    // A non-UTF-8 READYGATE_TARGETS is named.
    use std::os::unix::ffi::OsStrExt;
    let r = run(
        gate().env(
            "READYGATE_TARGETS",
            std::ffi::OsStr::from_bytes(b"db:\xff1"),
        ),
        ms(3000),
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr.contains("READYGATE_TARGETS is not valid UTF-8"),
        "{}",
        r.stderr
    );
}

/// As PID 1 the kernel drops a signal that is neither handled nor blocked: a SIGTERM sent right
/// after the exec used to be lost in most tries (the gate then waited out its deadline). The
/// watched signals are now blocked by a constructor, before Rust's own start-up; the window left
/// is the kernel's exec and the static start before it, microseconds. Measured on the static build
/// (the one that runs as PID 1 in images): 0 lost in 40 here; a lost one ends the run at the
/// harness's limit.
#[test]
fn sigterm_the_moment_a_pid_1_gate_is_execd_is_not_lost() {
    if !require(
        is_root() && have("unshare"),
        "root and unshare (a PID namespace)",
    ) {
        return;
    }
    let Some(gate) = crate::static_build::static_binary() else {
        require(false, "the static build (the musl target)");
        return;
    };
    let gate = gate.display().to_string();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let mut lost = 0;
    for _ in 0..40 {
        // `sh` is PID 1 and execs the gate; a child of it sends the signal the moment
        // /proc/1/exe says the exec is done.
        let script = format!(
            "(while [ \"$(readlink /proc/1/exe)\" != '{gate}' ]; do :; done; kill -TERM 1) & exec {gate} -q -t 20 127.0.0.1:{closed}"
        );
        let r = run(
            std::process::Command::new("timeout").args([
                "5",
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "sh",
                "-c",
                &script,
            ]),
            ms(10_000),
        );
        if r.status.code() != Some(143) {
            lost += 1;
        }
    }
    assert!(lost <= 2, "{lost} of 40 SIGTERMs lost");
}

#[test]
fn f16_the_deadline_holds_while_attempts_queue_for_descriptors() {
    // A listener that never accepts: its backlog fills, and every further connect(2) costs the
    // kernel milliseconds. 10,000 targets take turns for 480 slots under 1,024 descriptors.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    crate::hardening::the_deadline_holds_under_1024_descriptors(
        (0..10_000).map(|i| format!("http://127.0.0.1:{port}/{i}")),
    );
}

#[test]
fn f07_sslmode_prefer_falls_back_when_tls_cannot_be_set_up() {
    // Says 'S' to the SSLRequest, then ends the TLS handshake with an alert (no cipher suite in
    // common); a connection that starts with the startup message itself is let in.
    let port = fake::raw(|mut s| {
        let mut head = [0u8; 8];
        if s.read_exact(&mut head).is_err() {
            return;
        }
        if head[4..8] == 80877103u32.to_be_bytes() {
            let _ = s.write_all(b"S");
            read_some(&mut s); // ClientHello
            let _ = s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
            return;
        }
        read_some(&mut s); // the rest of the startup message
        let _ = s.write_all(&fake::pg_message(b'R', &0i32.to_be_bytes()));
        std::thread::sleep(ms(100));
    });
    let r = run(
        gate().args(["--check", &format!("postgres://127.0.0.1:{port}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // require never falls back.
    let r = run(
        gate().args([
            "-t",
            "1",
            &format!("postgres://127.0.0.1:{port}?sslmode=require"),
        ]),
        ms(5000),
    );
    assert_ne!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn f26_mariadb_an_expired_password_fails_at_once() {
    if !crate::brokers::mariadb_available() {
        return;
    }
    let mut db = crate::brokers::Mariadb::new();
    db.start(&[], true);
    db.sql("CREATE USER 'expired'@'%' IDENTIFIED BY 'ExpPw1234x' PASSWORD EXPIRE");
    let r = run(
        gate().args([
            "-t",
            "10",
            &format!("mysql://expired:ExpPw1234x@127.0.0.1:{}", db.port),
        ]),
        ms(15_000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    assert!(r.elapsed < ms(5000), "{:?}", r.elapsed);
}

#[test]
fn f36_a_silent_master_is_named_and_a_self_signed_server_said_so() {
    let silent = fake::silent();
    let sentinel = fake::raw(move |mut s| {
        read_some(&mut s);
        let port = silent.to_string();
        let reply = format!("*2\r\n$9\r\n127.0.0.1\r\n${}\r\n{port}\r\n", port.len());
        let _ = s.write_all(reply.as_bytes());
        std::thread::sleep(ms(2000));
    });
    let r = run(
        gate().args([
            "-t",
            "2",
            "--attempt-timeout",
            "500ms",
            &format!("redis+sentinel://127.0.0.1:{sentinel}/mymaster"),
        ]),
        ms(6000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("master 127.0.0.1:{silent}: no answer")),
        "{}",
        r.stderr
    );
    // A CA certificate presented as the server's own.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let port = fake::https(&cert.pem(), &key.serialize_pem(), fake::status(200));
    let r = run(
        gate().args(["-t", "2", &format!("https://127.0.0.1:{port}/")]),
        ms(6000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("self-signed"), "{}", r.stderr);
}
