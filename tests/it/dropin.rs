//! Drop-in modes: readygate under another gate's name must be what a script can observe of that
//! gate — stdout, stderr and the exit status — except that the command never starts while a
//! dependency is not ready.
//!
//! wait-for-it: differential, against Debian's `wait-for-it` package run side by side on the same
//! arguments and listeners. The others have no package here: their documented behaviour is written
//! down as data, each case naming the line of the tool's script, source or README it comes from.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fake;
use crate::harness::{gate, have, ms, require, run, HeldPort, Run};

/// A symbolic link to the binary under another name, in a directory of its own.
pub fn under_name(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join(name);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_readygate"), &link).unwrap();
    (dir, link)
}

/// The program at `path` with the same clean environment as `gate()`.
pub fn as_peer(path: &Path) -> Command {
    let cmd = gate();
    let mut peer = Command::new(path);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => peer.env(k, v),
            None => peer.env_remove(k),
        };
    }
    peer.stdin(std::process::Stdio::null());
    peer
}

fn listening() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// `{open}` and `{closed}` in a case's words, replaced by the ports.
fn words(case: &[&str], open: u16, closed: u16) -> Vec<String> {
    case.iter()
        .map(|w| {
            w.replace("{open}", &format!("127.0.0.1:{open}"))
                .replace("{open_port}", &open.to_string())
                .replace("{closed}", &format!("127.0.0.1:{closed}"))
                .replace("{closed_port}", &closed.to_string())
        })
        .collect()
}

fn observed(r: &Run) -> (i32, String, String) {
    (r.code(), r.stdout.clone(), r.stderr.clone())
}

#[test]
fn wait_for_it_is_what_debians_script_is() {
    if !require(
        have("wait-for-it"),
        "Debian's wait-for-it (apt-get install wait-for-it)",
    ) {
        return;
    }
    let script = PathBuf::from(
        String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v wait-for-it"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim(),
    );
    let (_dir, ours) = under_name("wait-for-it");
    let (_l, open) = listening();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    // Every option form of the script, in any order, later values winning; its README's examples.
    let cases: &[&[&str]] = &[
        &["{open}"],
        &["{open}", "--", "echo", "google is up"],
        &["-t", "0", "{open}", "--", "echo", "google is up"],
        &["{open}", "-q", "--", "echo", "quiet"],
        &[
            "-h",
            "127.0.0.1",
            "-p",
            "{open_port}",
            "--",
            "sh",
            "-c",
            "exit 7",
        ],
        &[
            "--host=127.0.0.1",
            "--port={open_port}",
            "--timeout=2",
            "-s",
            "--",
            "echo",
            "x",
        ],
        &["{closed}", "-t", "1"],
        &["-t", "1", "{closed}", "-s", "--", "echo", "must not run"],
        &[
            "{closed}",
            "--timeout=1",
            "--strict",
            "--",
            "echo",
            "must not run",
        ],
        &["-q", "{closed}", "-t", "1"],
        &["{open}", "-p", "{closed_port}", "-t", "1"],
        &["-p", "{closed_port}", "{open}"],
        &["--child", "{open}"],
        &["--help"],
        &["-q", "--help"],
        &[],
        &["-h", "127.0.0.1"],
        &["--bogus", "{open}"],
        &["-q", "--bogus"],
        &["{open}", "-t", "", "--bogus"],
        // Its own test suite (test/wait-for-it.py), rewritten here.
        &["--host=localhost"],
        &["--port=80"],
        &["localhost:{open_port}", "--timeout=1"],
        &["{open}", "--", "ls", "not_real_file"],
    ];
    for case in cases {
        let args = words(case, open, closed);
        let theirs = run(as_peer(&script).args(&args), ms(10_000));
        let mine = run(as_peer(&ours).args(&args), ms(10_000));
        assert_eq!(observed(&mine), observed(&theirs), "wait-for-it {args:?}");
    }
    // The one difference: without --strict the script runs the command after a timeout; readygate
    // exits 124, says why in one more line, and runs nothing.
    let args = words(&["{closed}", "-t", "1", "--", "echo", "ran"], open, closed);
    let theirs = run(as_peer(&script).args(&args), ms(10_000));
    let mine = run(as_peer(&ours).args(&args), ms(10_000));
    assert_eq!((theirs.code(), theirs.stdout.as_str()), (0, "ran\n"));
    assert_eq!((mine.code(), mine.stdout.as_str()), (124, ""));
    let extra = mine
        .stderr
        .strip_prefix(theirs.stderr.as_str())
        .unwrap_or_else(|| {
            panic!(
                "not the script's lines first:\n{}\nvs\n{}",
                mine.stderr, theirs.stderr
            )
        });
    assert_eq!(extra.lines().count(), 1, "{extra}");
    assert!(extra.contains("without --strict"), "{extra}");
}

/// A case for a tool without an oracle here: its words, and what it prints and exits with.
struct Case<'a> {
    args: &'a [&'a str],
    status: i32,
    stdout: &'a str,
    /// The whole stderr, or its start when it ends with `…`.
    stderr: &'a str,
    /// Where the expectation comes from.
    source: &'a str,
}

fn check(program: &Path, case: &Case<'_>, open: u16, closed: u16, http: u16) {
    let args: Vec<String> = words(case.args, open, closed)
        .into_iter()
        .map(|w| w.replace("{http}", &format!("http://127.0.0.1:{http}/")))
        .collect();
    let r = run(as_peer(program).args(&args), ms(10_000));
    let shown = program.display().to_string();
    let want = case.stderr.replace("$0", &shown);
    let stderr_ok = match want.strip_suffix('…') {
        Some(start) => r.stderr.starts_with(start),
        None => r.stderr == want,
    };
    assert!(
        r.code() == case.status && r.stdout == case.stdout && stderr_ok,
        "{args:?} ({}): got status {}, stdout {:?}, stderr {:?}",
        case.source,
        r.code(),
        r.stdout,
        r.stderr
    );
}

#[test]
fn wait_for_as_its_script_and_tests_define_it() {
    let (_dir, ours) = under_name("wait-for");
    let (_l, open) = listening();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let http = fake::http_eager(fake::status(200));
    let usage = "Usage:\n  $0 host:port|url [-t timeout] [-- command args]\n…";
    let cases = [
        Case { args: &["{open}", "--", "echo", "Eficode site is up"], status: 0, stdout: "Eficode site is up\n", stderr: "", source: "README, Examples" },
        Case { args: &["-t", "1", "{closed}", "--", "echo", "success"], status: 1, stdout: "", stderr: "Operation timed out\n", source: "wait-for.bats: nonexistent server should not start command; script: echo \"Operation timed out\" >&2; exit 1" },
        Case { args: &["-q", "-t", "1", "{closed}"], status: 1, stdout: "", stderr: "Operation timed out\n", source: "script: the timeout line is not echoerr, -q does not silence it" },
        Case { args: &["-qt1", "{open}", "--", "echo", "success"], status: 0, stdout: "success\n", stderr: "", source: "wait-for.bats: support condensed option style" },
        Case { args: &["-t", "-1", "{open}", "--", "echo", "success"], status: 3, stdout: "", stderr: "Error: invalid timeout '-1'\nUsage:…", source: "wait-for.bats: timeout cannot be negative; script: usage 3" },
        Case { args: &["-t", "--", "{open}", "--", "echo", "success"], status: 3, stdout: "", stderr: "Error: invalid timeout '--'\nUsage:…", source: "wait-for.bats: timeout cannot be empty" },
        Case { args: &["{http}", "--", "echo", "success"], status: 0, stdout: "success\n", stderr: "", source: "wait-for.bats: http:// should be immediately found" },
        Case { args: &["-t", "1", "http://127.0.0.1:{closed_port}/", "--", "echo", "success"], status: 1, stdout: "", stderr: "Operation timed out\n", source: "wait-for.bats: connection error in HTTP test should not start command" },
        Case { args: &["--version"], status: 0, stdout: "2.2.4\n", stderr: "", source: "wait-for.bats: --version; script: VERSION=\"2.2.4\"" },
        Case { args: &["-v"], status: 0, stdout: "2.2.4\n", stderr: "", source: "wait-for.bats: --version response matches shorthand -v" },
        Case { args: &["--help"], status: 0, stdout: "", stderr: usage, source: "script: --help) usage 0" },
        Case { args: &["{open}", "-x"], status: 1, stdout: "", stderr: "Unknown option: -x\nUsage:…", source: "script: -*) Unknown option, usage 1" },
        Case { args: &["{open}", "stray"], status: 1, stdout: "", stderr: "Unknown argument: stray\nUsage:…", source: "script: *) Unknown argument, usage 1" },
        Case { args: &[], status: 2, stdout: "", stderr: "Error: you need to provide a host and port to test.\nUsage:…", source: "script: usage 2 for a missing host" },
        Case { args: &["-q", "-t", "x", "{open}"], status: 3, stdout: "", stderr: "Usage:…", source: "script: echoerr is silenced by -q, the usage text is not" },
    ];
    for case in &cases {
        check(&ours, case, open, closed, http);
    }
    // wait-for.bats: the variables the script uses itself (HOST, PROTOCOL) reach the command as
    // they were, set or unset.
    let r = run(
        as_peer(&ours)
            .env("HOST", "success")
            .env_remove("PROTOCOL")
            .args([
                &format!("127.0.0.1:{open}"),
                "--",
                "sh",
                "-uc",
                "echo \"$HOST\"; echo \"${PROTOCOL-unset}\"",
            ]),
        ms(5000),
    );
    assert_eq!(
        (r.code(), r.stdout.as_str()),
        (0, "success\nunset\n"),
        "{}",
        r.stderr
    );
    // The usage text is the script's, whole.
    let r = run(as_peer(&ours).arg("--help"), ms(5000));
    assert!(r.stderr.ends_with("  -- COMMAND ARGS                     Execute command with args after the test finishes\n"), "{}", r.stderr);
}

#[test]
fn docker_compose_wait_as_its_readme_and_source_define_it() {
    let (_dir, wait) = under_name("wait");
    let (_a, pa) = listening();
    let (_b, pb) = listening();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let file = tempfile::NamedTempFile::new().unwrap();
    let sep = "--------------------------------------------------------";
    // README: WAIT_HOSTS with spaces after the commas, WAIT_PATHS, WAIT_COMMAND exec'd in place.
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{pa}, 127.0.0.1:{pb}"))
            .env("WAIT_PATHS", file.path())
            .env("WAIT_TIMEOUT", "5")
            .env("WAIT_LOGGER_LEVEL", "info")
            .env("WAIT_COMMAND", "echo 'all ready'"),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.stdout, "all ready\n");
    // src/lib.rs's info lines, in its order (hosts one after another, then the paths).
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.contains("not yet available"))
        .collect();
    let want = [
        format!("[INFO  wait] {sep}"),
        format!(
            "[INFO  wait]  docker-compose-wait 2.12.1 (readygate {})",
            env!("CARGO_PKG_VERSION")
        ),
        "[INFO  wait] ---------------------------".to_string(),
        format!("[INFO  wait] Checking availability of host [127.0.0.1:{pa}]"),
        format!("[INFO  wait] Host [127.0.0.1:{pa}] is now available!"),
        format!("[INFO  wait] {sep}"),
        format!("[INFO  wait] Checking availability of host [ 127.0.0.1:{pb}]"),
        format!("[INFO  wait] Host [ 127.0.0.1:{pb}] is now available!"),
        format!("[INFO  wait] {sep}"),
        format!(
            "[INFO  wait] Checking availability of path [{}]",
            file.path().display()
        ),
        format!(
            "[INFO  wait] Path [{}] is now available!",
            file.path().display()
        ),
        format!("[INFO  wait] {sep}"),
        "[INFO  wait] docker-compose-wait - Everything's fine, the application can now start!"
            .to_string(),
        format!("[INFO  wait] {sep}"),
    ];
    assert_eq!(lines, want, "{}", r.stderr);
    // WAIT_TIMEOUT=0: one check, "Timeout!", exit 1 (sleeper.elapsed(0) after the first failure).
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{closed}"))
            .env("WAIT_TIMEOUT", "0")
            .env("WAIT_LOGGER_LEVEL", "INFO")
            .env("WAIT_COMMAND", "echo started"),
        ms(5000),
    );
    assert_eq!((r.code(), r.stdout.as_str()), (1, ""), "{}", r.stderr);
    assert!(r.elapsed < ms(3000), "{:?}", r.elapsed);
    assert!(
        r.stderr.ends_with(
            "[ERROR wait] Timeout! After 0 seconds some hosts are still not reachable\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "[INFO  wait] Host [127.0.0.1:{closed}] not yet available...\n"
        )),
        "{}",
        r.stderr
    );
    // The legacy variables, with the tool's deprecation warning (legacy_or_new).
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{closed}"))
            .env("WAIT_HOSTS_TIMEOUT", "1")
            .env("WAIT_LOGGER_LEVEL", "warn"),
        ms(5000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "[WARN  wait] Environment variable [WAIT_HOSTS_TIMEOUT] is deprecated. Use [WAIT_TIMEOUT] instead.\n[ERROR wait] Timeout! After 1 seconds some hosts are still not reachable\n"
    );
    // WAIT_TIMEOUT not above WAIT_SLEEP_INTERVAL runs, as the tool runs it.
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{closed}"))
            .env("WAIT_TIMEOUT", "1")
            .env("WAIT_SLEEP_INTERVAL", "5")
            .env("WAIT_LOGGER_LEVEL", "off"),
        ms(5000),
    );
    assert_eq!((r.code(), r.stderr.as_str()), (1, ""));
    // WAIT_BEFORE pauses before the first check.
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{pa}"))
            .env("WAIT_BEFORE", "1")
            .env("WAIT_LOGGER_LEVEL", "error"),
        ms(5000),
    );
    assert_eq!((r.code(), r.stderr.as_str()), (0, ""));
    assert!(r.elapsed >= ms(1000));
    // A relative WAIT_PATHS is from the working directory, as Path::exists sees it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ready.txt"), "").unwrap();
    let r = run(
        as_peer(&wait)
            .current_dir(dir.path())
            .env("WAIT_PATHS", "ready.txt")
            .env("WAIT_LOGGER_LEVEL", "off"),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // Its own integration tests: WAIT_AFTER pauses after; nothing given runs at once; one host of
    // two not available fails; a path not there fails with the paths' message.
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{pa}"))
            .env("WAIT_AFTER", "1")
            .env("WAIT_LOGGER_LEVEL", "off"),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed >= ms(1000));
    let r = run(
        as_peer(&wait)
            .env("WAIT_COMMAND", "echo at once")
            .env("WAIT_LOGGER_LEVEL", "off"),
        ms(3000),
    );
    assert_eq!(
        (r.code(), r.stdout.as_str()),
        (0, "at once\n"),
        "{}",
        r.stderr
    );
    let r = run(
        as_peer(&wait)
            .env("WAIT_HOSTS", format!("127.0.0.1:{pa},127.0.0.1:{closed}"))
            .env("WAIT_TIMEOUT", "1")
            .env("WAIT_LOGGER_LEVEL", "error"),
        ms(5000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    let r = run(
        as_peer(&wait)
            .env("WAIT_PATHS", "/no/such/path")
            .env("WAIT_TIMEOUT", "1")
            .env("WAIT_LOGGER_LEVEL", "error"),
        ms(5000),
    );
    assert_eq!(
        (r.code(), r.stderr.as_str()),
        (
            1,
            "[ERROR wait] Timeout! After [1] seconds some paths are still not reachable\n"
        )
    );
    // Where the tool would take a default without a word, or wait for an empty host: refused.
    for (name, value, want) in [
        ("WAIT_TIMEOUT", "5s", "WAIT_TIMEOUT='5s'"),
        ("WAIT_HOSTS", ",", "has an empty entry"),
        ("WAIT_HOSTS", "db:1,", "has an empty entry"),
    ] {
        let r = run(
            as_peer(&wait)
                .env(name, value)
                .env("WAIT_COMMAND", "echo started"),
            ms(3000),
        );
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (2, ""),
            "{name}={value}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(want), "{}", r.stderr);
    }
}

#[test]
fn dockerize_wait_as_its_readme_defines_it() {
    let (_dir, dockerize) = under_name("dockerize");
    let (_l, open) = listening();
    let closed_held = HeldPort::new();
    let closed = closed_held.port;
    let http = fake::http_eager(fake::status(200));
    // README: `dockerize -wait tcp://db:5432 -wait http://web:80 -timeout 10s` then the command.
    let r = run(
        as_peer(&dockerize).args([
            "-wait",
            &format!("tcp://127.0.0.1:{open}"),
            "-wait",
            &format!("http://127.0.0.1:{http}/"),
            "-timeout",
            "10s",
            "echo",
            "started",
        ]),
        ms(8000),
    );
    assert_eq!(
        (r.code(), r.stdout.as_str()),
        (0, "started\n"),
        "{}",
        r.stderr
    );
    let stamp = "2006/01/02 15:04:05 ".len();
    let lines: Vec<&str> = r.stderr.lines().map(|l| &l[stamp..]).collect();
    assert!(
        lines.contains(&format!("Waiting for: tcp://127.0.0.1:{open}").as_str()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("Connected to tcp://127.0.0.1:{open}").as_str()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("Received 200 from http://127.0.0.1:{http}/").as_str()),
        "{lines:?}"
    );
    // README: a header for the http waits (never printed), and tcp + http + file together.
    let file = tempfile::NamedTempFile::new().unwrap();
    let r = run(
        as_peer(&dockerize).args([
            "-wait",
            &format!("http://127.0.0.1:{http}/"),
            "-wait-http-header",
            "Authorization:Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "-wait",
            &format!("tcp://127.0.0.1:{open}"),
            "-wait",
            &format!("file://{}", file.path().display()),
        ]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(!r.stderr.contains("QWxhZGRp"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "File file://{} had been generated",
            file.path().display()
        )),
        "{}",
        r.stderr
    );
    // main.go: log.Fatalf("Timeout after %s waiting on dependencies …: %v") → exit 1.
    let target = format!("tcp://127.0.0.1:{closed}");
    let r = run(
        as_peer(&dockerize).args([
            "-wait",
            &target,
            "-timeout",
            "1s",
            "-wait-retry-interval",
            "200ms",
            "echo",
            "no",
        ]),
        ms(5000),
    );
    assert_eq!((r.code(), r.stdout.as_str()), (1, ""), "{}", r.stderr);
    assert!(
        r.stderr.trim_end().ends_with(&format!(
            "Timeout after 1s waiting on dependencies to become available: [{target}]"
        )),
        "{}",
        r.stderr
    );
    // The templating half is refused with its name; Go's flag errors exit 2.
    for (args, status, want) in [
        (
            &["-template", "a.tmpl:/etc/a", "-wait", "tcp://db:1"][..],
            2,
            "-template is not supported",
        ),
        (&["-bogus"], 2, "flag provided but not defined: -bogus"),
        (
            &["-wait", "redis://c:1"],
            1,
            "invalid host protocol provided: redis",
        ),
    ] {
        let r = run(as_peer(&dockerize).args(args), ms(3000));
        assert_eq!(r.code(), status, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn compat_selects_a_mode_without_a_symlink() {
    let (_l, open) = listening();
    let r = run(
        gate().args(["--compat=wait-for-it", &format!("127.0.0.1:{open}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.stderr, format!("wait-for-it: waiting 15 seconds for 127.0.0.1:{open}\nwait-for-it: 127.0.0.1:{open} is available after 0 seconds\n"));
    let r = run(gate().args(["--compat=wait-for-itt", "db:1"]), ms(3000));
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr.contains("did you mean wait-for-it?"),
        "{}",
        r.stderr
    );
}
