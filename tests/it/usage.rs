//! Bad input fails fast: exit 2 (1 under --check), a message quoting the (redacted) input with an
//! example, never a panic and never a wait.

use crate::harness::{self, gate, ms, run, CANARY};

fn pw_url() -> String {
    format!("postgres://app:{}@db:99999/app", harness::encode(CANARY))
}

#[test]
fn bad_input_exits_2_at_once_with_a_quoted_example() {
    let bad_port = pw_url();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["tcp://::1:5432"],
            "'tcp://::1:5432': an IPv6 address must be written in brackets",
        ),
        (vec!["tcp://db:0"], "'tcp://db:0': port 0"),
        (
            vec!["tcp://db:99999"],
            "'tcp://db:99999': '99999' is not a port number",
        ),
        (vec!["tcp://db"], "'tcp://db': the port is missing"),
        (vec!["db"], "'db': expected host:port or a URL"),
        (vec!["ftp://db:21"], "unknown scheme 'ftp'"),
        (vec!["tcp://:5432"], "the host is missing"),
        (vec!["http://"], "the host is missing"),
        (vec![bad_port.as_str()], "'postgres://app:***@db:99999/app'"),
        (vec!["--timeout", "10x", "db:1"], "'10x' is not a duration"),
        (vec!["--timeout=-3s", "db:1"], "'-3s' is negative"),
        (
            vec![
                "--interval",
                "5s",
                "--max-interval",
                "2s",
                "-t",
                "9s",
                "db:1",
            ],
            "--interval (5s) is longer than --max-interval",
        ),
        (
            vec!["--interval", "1s", "-t", "1s", "db:1"],
            "not shorter than --timeout",
        ),
        (
            vec!["--frobnicate", "db:1"],
            "unexpected argument '--frobnicate'",
        ),
        (vec!["http://h/#colour=red"], "unknown option '#colour'"),
        (
            vec!["https://h/#ca=/nonexistent/ca.pem"],
            "cannot read CA file '/nonexistent/ca.pem'",
        ),
        (vec!["--log-format", "xml", "db:1"], "invalid value 'xml'"),
        (vec![], "nothing to wait for"),
        // The slips whose intent is plain are named, not their symptoms (an IPv6 address
        // without brackets, a missing `--`, an empty list of values).
        (
            vec!["db:5432,cache:6379"],
            "targets are separated by spaces, not commas: give each its own argument (in READYGATE_TARGETS too), like db:5432 cache:6379",
        ),
        (
            vec!["redis//cache:6379"],
            "did you mean redis://cache:6379?",
        ),
        (vec!["redis:/cache:6379"], "did you mean redis://cache:6379?"),
        (vec!["postgress://db:5432"], "(did you mean postgres://?"),
        (
            vec!["--tiemout", "3s", "db:1"],
            "unexpected argument '--tiemout': not an option of readygate (did you mean --timeout?)",
        ),
        (
            vec!["-timeout", "60s", "db:1"],
            "'-timeout' has one dash: readygate's long options take two (example: --timeout 30s)",
        ),
        (
            vec!["-check", "db:1"],
            "'-check' has one dash: readygate's long options take two (example: --check)",
        ),
        (
            vec!["db:5432;cache:6379"],
            "targets are separated by spaces, not semicolons",
        ),
        (vec!["db:5432", ",", "cache:6379"], "a lone ','"),
        (
            vec!["-wait", "tcp://db:5432"],
            "'-wait' is dockerize's option: readygate takes the targets themselves",
        ),
        (
            vec!["db:5432", "&&", "gunicorn"],
            "'&&' is shell syntax, and no shell reads these words",
        ),
        (
            vec!["--timeout"],
            "--timeout needs a value (example: --timeout 30s)",
        ),
        (
            vec!["--timeout", "db:1"],
            "--timeout needs a value, and took the target 'db:1' as its value (example: --timeout 30s db:1)",
        ),
    ];
    for (args, want) in cases {
        let r = run(gate().args(&args), ms(3000));
        assert_eq!(r.code(), 2, "args {args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "args {args:?}: stderr {:?}",
            r.stderr
        );
        assert!(r.elapsed < ms(1000), "args {args:?} took {:?}", r.elapsed);
        assert!(r.stdout.is_empty(), "stdout must stay untouched");
        if r.stderr.contains("invalid target") {
            assert!(
                r.stderr.contains("example: "),
                "args {args:?}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn bad_input_in_check_mode_exits_1_with_one_line() {
    for args in [
        vec!["--check", "tcp://::1:5432"],
        vec!["--check", "--timeout", "10x", "db:1"],
        vec!["--check", "--bogus"],
        vec!["--check"],
        vec!["--check", &pw_url()],
    ] {
        let r = run(gate().args(&args), ms(3000));
        assert_eq!(r.code(), 1, "args {args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "args {args:?}: {:?}", r.stderr);
        assert!(r.stderr.len() < 4096);
    }
}

#[test]
fn check_from_environment_also_never_exits_2() {
    let r = run(gate().env("READYGATE_CHECK", "1").arg("tcp://db"), ms(3000));
    assert_eq!(r.code(), 1, "{}", r.stderr);
}

#[test]
fn bad_environment_values_are_errors_not_defaults() {
    let r = run(
        gate()
            .env("READYGATE_TIMEOUT", "5 seconds please")
            .arg("db:1"),
        ms(3000),
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr.contains("'5 seconds please' is not a duration"),
        "{}",
        r.stderr
    );
    let r = run(gate().env("READYGATE_TARGETS", "db:1 tcp://[::1"), ms(3000));
    assert_eq!(r.code(), 2);
    assert!(r.stderr.contains("'tcp://[::1'"), "{}", r.stderr);
}

/// No silent configuration: a variable nobody reads is a warning on every run (an error with
/// --strict-env), and a flag that beats its variable set to another value says so once; the
/// same in --explain, with each value's source and what it beat.
#[test]
fn configuration_that_does_not_apply_is_named() {
    for strict in [
        vec!["--strict-env", "db:1"],
        vec!["--strict-env=yes", "db:1"],
    ] {
        let r = run(gate().env("READYGATE_TIMOUT", "3s").args(&strict), ms(3000));
        assert_eq!(r.code(), 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("READYGATE_TIMOUT is set, but readygate reads no such variable (did you mean READYGATE_TIMEOUT?) (--strict-env"),
            "{}",
            r.stderr
        );
        assert!(r.elapsed < ms(1000), "took {:?}", r.elapsed);
    }
    let r = run(
        gate()
            .env("READYGATE_TIMOUT", "3s")
            .env("READYGATE_STRICT_ENV", "1")
            .args(["--check", "db:1"]),
        ms(3000),
    );
    assert_eq!(r.code(), 1, "a healthcheck never exits 2: {}", r.stderr);
    // Without it, a warning, and the run goes on.
    let r = run(
        gate()
            .env("READYGATE_TIMOUT", "3s")
            .args(["-t", "300ms", "db:1"]),
        ms(3000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("READYGATE_TIMOUT is set").count(),
        1,
        "{}",
        r.stderr
    );

    let secret = "pg_isready -d postgres://u:Sup3rSecretPw@db";
    let r = run(
        gate()
            .env("READYGATE_TIMEOUT", "4s")
            .env("READYGATE_INTERVAL", "100ms")
            .env("READYGATE_EXEC_CHECK", secret)
            .args([
                "--timeout",
                "60s",
                "--interval",
                "0.1s",
                "--exec-check",
                "true",
                "--explain",
                "db:1",
            ]),
        ms(3000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("deadline: 1m (from --timeout, beating READYGATE_TIMEOUT=4s)"),
        "{}",
        r.stdout
    );
    // The same value spelled another way beats nothing.
    assert!(r.stdout.contains("(from --interval)"), "{}", r.stdout);
    assert!(!r.stderr.contains("READYGATE_INTERVAL"), "{}", r.stderr);
    for out in [&r.stdout, &r.stderr] {
        assert_eq!(
            out.matches("--timeout on the command line beats READYGATE_TIMEOUT=4s")
                .count(),
            1,
            "{out}"
        );
        assert!(
            out.contains("--exec-check on the command line beats READYGATE_EXEC_CHECK (its value is not shown)"),
            "{out}"
        );
        assert!(!out.contains("Sup3rSecretPw"), "{out}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let r = run(gate().arg("--help"), ms(3000));
    assert_eq!(r.code(), 0);
    assert!(r.stdout.contains("Exit status"));
    let r = run(gate().arg("--version"), ms(3000));
    assert_eq!(r.code(), 0);
    assert!(r.stdout.starts_with("readygate "));
}

#[test]
fn random_inputs_never_panic() {
    // A small deterministic fuzz over URL-ish strings: every one must end in 0 (ready), 2 (usage) or
    // 124 (timeout), and never in a panic or abort.
    let pieces = [
        "tcp://",
        "http://",
        "postgres://",
        "redis://",
        "[",
        "]",
        "::1",
        ":",
        "@",
        "%",
        "%zz",
        "#",
        "?",
        "&",
        "=",
        "/",
        "db",
        "127.0.0.1",
        "65536",
        "0",
        "x:y@",
        "é",
        "\u{0}",
    ];
    let mut rng = 0x1234_5678_u64;
    let mut inputs = vec![];
    for _ in 0..60 {
        let mut s = String::new();
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            s.push_str(pieces[(rng % pieces.len() as u64) as usize]);
        }
        if !s.contains('\0') {
            inputs.push(s);
        }
    }
    for chunk in inputs.chunks(10) {
        let r = run(
            gate()
                .args([
                    "-t",
                    "200ms",
                    "--attempt-timeout",
                    "100ms",
                    "--interval",
                    "20ms",
                ])
                .args(chunk),
            ms(5000),
        );
        assert!(
            matches!(r.code(), 0 | 1 | 2 | 124),
            "inputs {chunk:?}: code {} {}",
            r.code(),
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

/// Arguments, environment, expected status, expected event.
type JsonCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, i32, &'a str);

#[test]
fn usage_errors_are_json_when_json_is_asked_for() {
    let cases: Vec<JsonCase> = vec![
        (
            vec!["--log-format", "json", "tcp://::1:5"],
            vec![],
            2,
            "\"event\":\"usage\"",
        ),
        (
            vec!["--log-format=json", "--bogus"],
            vec![],
            2,
            "\"event\":\"usage\"",
        ),
        (
            vec!["--check", "--timeout", "10x", "db:1"],
            vec![("READYGATE_LOG_FORMAT", "json")],
            1,
            "\"event\":\"unhealthy\"",
        ),
    ];
    for (args, env, code, event) in cases {
        let r = run(gate().args(&args).envs(env), ms(3000));
        assert_eq!(r.code(), code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        let line = r.stderr.trim_end();
        assert!(
            line.starts_with("{\"time\":\"") && line.ends_with("\"}") && line.contains(event),
            "{line}"
        );
    }
}
