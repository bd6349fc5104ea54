//! MySQL/MariaDB, AMQP (RabbitMQ), memcached, NATS, MQTT (Mosquitto), unix sockets and
//! `--exec-check`, against real servers: started after the gate, wrong credentials ending the wait
//! at once with the server's code, a missing database or vhost, a silent server, another protocol
//! on the port, and the canary password never printed.

use std::time::{Duration, Instant};

use crate::brokers::{self, Mariadb, McAuth, Rabbit};
use crate::fake;
use crate::harness::{
    assert_no_canary, free_port, gate, inspector, ms, require, run, run_during, run_watching,
    HeldPort, Run,
};
use crate::servers::password_in_url;

fn gate_run(args: &[&str]) -> Run {
    run(gate().args(args), ms(30_000))
}

/// Runs the gate for `url` and expects a permanent failure, fast, that says `want` and no secret.
fn fails_fast(url: &str, want: &[&str]) {
    let start = Instant::now();
    let r = gate_run(&["-t", "20s", url, "--", "true"]);
    let took = start.elapsed();
    assert_eq!(r.code(), 1, "{url}: {}", r.stderr);
    assert!(took < ms(1_000), "{url}: took {took:?}");
    for w in want {
        assert!(r.stderr.contains(w), "{url}: no '{w}' in {}", r.stderr);
    }
    assert_no_canary(&r.stderr);
}

/// Waits for `url` while `start` brings the server up 700 ms after the gate started; the command
/// must run, and `detail` be what the gate saw.
fn waits_for(url: &str, detail: &str, start: impl FnOnce()) -> Run {
    let mut cmd = gate();
    cmd.args(["-t", "60s", url, "--"]).arg(inspector());
    let r = run_during(&mut cmd, ms(70_000), || {
        std::thread::sleep(ms(700));
        start();
    });
    assert_eq!(r.code(), 0, "{url}: {}", r.stderr);
    assert!(
        r.field("pid").is_some(),
        "the command did not run: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains(detail),
        "{url}: no '{detail}' in {}",
        r.stderr
    );
    assert_no_canary(&r.stderr);
    r
}

#[test]
fn mariadb_ping_login_errors_and_tls() {
    if !brokers::mariadb_available() {
        return;
    }
    let mut db = Mariadb::new();
    let port = db.port;
    let pw = password_in_url();
    let login = format!("mysql://app:{pw}@127.0.0.1:{port}/appdb");
    // Started after the gate: ping and login both wait through the start.
    waits_for(
        &format!("mariadb://127.0.0.1:{port}"),
        "refused the probe's login",
        || db.start(&[], true),
    );
    waits_for(&login, "logged in, SELECT 1", || {});
    fails_fast(
        &format!("mysql://app:wrong{pw}@127.0.0.1:{port}/appdb"),
        &["Access denied", "1045", "user app"],
    );
    fails_fast(
        &format!("mysql://nobody:{pw}@127.0.0.1:{port}/appdb"),
        &["1045", "user nobody"],
    );
    fails_fast(
        &format!("mysql://app:{pw}@127.0.0.1:{port}/nodb"),
        &["1044", "database nodb"],
    );
    fails_fast(
        &format!("{login}?ssl-mode=REQUIRED"),
        &["does not offer TLS", "no plaintext fallback"],
    );
    // A #query that returns no row keeps the gate waiting, then 124.
    let r = gate_run(&[
        "-t",
        "1s",
        &format!("{login}#query=SELECT%201%20FROM%20dual%20WHERE%200"),
    ]);
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("returned no row"), "{}", r.stderr);
    // The password from MYSQL_PWD.
    let r = run(
        gate().env("MYSQL_PWD", crate::servers::password()).args([
            "-t",
            "5s",
            &format!("mysql://app@127.0.0.1:{port}/appdb"),
        ]),
        ms(10_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);

    // With TLS: REQUIRED, VERIFY_IDENTITY against the certificate, and a wrong name rejected.
    let (cert, key) = fake::self_signed();
    let cert_file = db.install("cert.pem", &cert);
    let key_file = db.install("key.pem", &key);
    drop(db.server.take());
    db.start(
        &[
            format!("--ssl-cert={}", cert_file.display()),
            format!("--ssl-key={}", key_file.display()),
        ],
        true,
    );
    let r = gate_run(&["-t", "5s", &format!("{login}?ssl-mode=REQUIRED")]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let verified = format!(
        "mysql://app:{pw}@localhost:{port}/appdb?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        cert_file.display()
    );
    let r = gate_run(&["-t", "5s", &verified]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    fails_fast(
        &format!("{login}?ssl-mode=VERIFY_IDENTITY"),
        &["certificate"],
    );
    assert!(!db.log().contains("[ERROR]"), "{}", db.log());
}

/// A local address that is not loopback: MariaDB keeps its host cache (and blocks hosts) only for
/// such connections.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn mariadb_gated_attempts_do_not_get_the_host_blocked() {
    if !brokers::mariadb_available() {
        return;
    }
    let Some(ip) = non_loopback_address() else {
        require(
            false,
            "a non-loopback local address (MariaDB's host cache ignores loopback)",
        );
        return;
    };
    let mut db = Mariadb::new();
    db.start(&["--max-connect-errors=3".to_string()], true);
    db.sql(&format!(
        "CREATE USER app@'{ip}' IDENTIFIED BY '{}'; GRANT ALL ON appdb.* TO app@'{ip}';",
        crate::servers::password()
    ));
    let port = db.port;
    let login = format!("mysql://app:{}@{ip}:{port}/appdb", password_in_url());
    // 200 gated attempts at the ping level (--stable=200: 200 successes in a row, one run).
    let r = gate_run(&[
        "-t",
        "60s",
        "--stable=200",
        "--interval=1ms",
        &format!("mysql://{ip}:{port}"),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let r = gate_run(&["-t", "5s", &login]);
    assert_eq!(r.code(), 0, "after 200 gated pings: {}", r.stderr);
    // A TCP-only loop (connect, close) gets the host blocked after 3.
    for _ in 0..5 {
        drop(std::net::TcpStream::connect((ip, port)).unwrap());
        std::thread::sleep(ms(20));
    }
    std::thread::sleep(ms(300));
    fails_fast(&login, &["blocked", "1129"]);
}

#[test]
fn rabbitmq_handshake_credentials_and_vhosts() {
    if !brokers::rabbitmq_available() {
        return;
    }
    let port = free_port();
    let mut rabbit = None;
    // Boot takes seconds (the Erlang VM, then the broker's boot steps, the port opening last).
    waits_for(
        &format!("amqp://127.0.0.1:{port}//"),
        "open-ok on vhost /",
        || {
            rabbit = Some(Rabbit::start_on(port));
        },
    );
    let rabbit = rabbit.unwrap();
    let pw = crate::servers::password();
    rabbit.ctl(&["add_user", "app", &pw]);
    rabbit.ctl(&["add_vhost", "shop"]);
    rabbit.ctl(&["set_permissions", "-p", "shop", "app", ".*", ".*", ".*"]);
    let enc = password_in_url();
    let r = gate_run(&[
        "-t",
        "5s",
        &format!("amqp://app:{enc}@127.0.0.1:{port}/shop"),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_no_canary(&r.stderr);
    fails_fast(
        &format!("amqp://app:x{enc}@127.0.0.1:{port}/shop"),
        &["ACCESS_REFUSED", "403", "user app"],
    );
    fails_fast(
        &format!("amqp://app:{enc}@127.0.0.1:{port}/nosuch"),
        &["NOT_ALLOWED", "530", "vhost nosuch"],
    );
    // The broker logged clean closes, not "client unexpectedly closed TCP connection".
    let logs: String = std::fs::read_dir(rabbit.server.dir.path().join("log"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(!logs.contains("unexpectedly closed"), "{logs}");
}

#[test]
fn memcached_version_and_authentication() {
    if !brokers::simple_available("memcached", "memcached")
        || !brokers::simple_available("saslpasswd2", "sasl2-bin")
    {
        return;
    }
    let port = free_port();
    let mut server = None;
    waits_for(&format!("memcached://127.0.0.1:{port}"), "VERSION", || {
        server = Some(brokers::memcached(port, McAuth::None));
    });
    let pw = password_in_url();
    // The text protocol's authentication (--auth-file).
    let text_port = free_port();
    let _text = brokers::memcached(text_port, McAuth::Text);
    let r = gate_run(&[
        "-t",
        "5s",
        &format!("memcached://app:{pw}@127.0.0.1:{text_port}#auth=text"),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    fails_fast(
        &format!("memcached://app:x{pw}@127.0.0.1:{text_port}#auth=text"),
        &["refused user app"],
    );
    fails_fast(
        &format!("memcached://127.0.0.1:{text_port}"),
        &["unauthenticated"],
    );
    // SASL over the binary protocol (-S).
    let sasl_port = free_port();
    let _sasl = brokers::memcached(sasl_port, McAuth::Sasl);
    let r = gate_run(&[
        "-t",
        "5s",
        &format!("memcached://app:{pw}@127.0.0.1:{sasl_port}"),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("SASL as app"), "{}", r.stderr);
    assert_no_canary(&r.stderr);
    fails_fast(
        &format!("memcached://app:x{pw}@127.0.0.1:{sasl_port}"),
        &["refused user app", "SASL"],
    );
    // SASL asked of a server without it.
    fails_fast(
        &format!("memcached://app:{pw}@127.0.0.1:{port}"),
        &["does not do SASL"],
    );
}

#[test]
fn nats_connect_and_authorization() {
    if !brokers::simple_available("nats-server", "nats-server") {
        return;
    }
    let port = free_port();
    let mut server = None;
    let url = format!("nats://app:{}@127.0.0.1:{port}", password_in_url());
    waits_for(&url, "PONG", || server = Some(brokers::nats(port, &[])));
    fails_fast(
        &format!("nats://app:x{}@127.0.0.1:{port}", password_in_url()),
        &["Authorization Violation", "user app"],
    );
    fails_fast(
        &format!("nats://127.0.0.1:{port}"),
        &["Authorization Violation"],
    );
    // TLS: required by the server, verified against its certificate; without #tls, a clear error.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = fake::self_signed();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let tls_port = free_port();
    let _tls = brokers::nats(
        tls_port,
        &[
            "--tls",
            "--tlscert",
            cert_file.to_str().unwrap(),
            "--tlskey",
            key_file.to_str().unwrap(),
        ],
    );
    crate::servers::wait_port(tls_port, ms(10_000));
    let pw = password_in_url();
    let r = gate_run(&[
        "-t",
        "5s",
        &format!(
            "nats://app:{pw}@localhost:{tls_port}#ca={}",
            cert_file.display()
        ),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_no_canary(&r.stderr);
    fails_fast(
        &format!("nats://app:{pw}@localhost:{tls_port}"),
        &["requires TLS", "#tls"],
    );
    fails_fast(
        &format!("nats://app:{pw}@localhost:{tls_port}#tls"),
        &["certificate"],
    );
    // TLS asked of a server without it: never ready.
    let r = gate_run(&[
        "-t",
        "1s",
        &format!("nats://app:{pw}@localhost:{port}#insecure"),
    ]);
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

#[test]
fn mqtt_connack_in_both_versions() {
    if !brokers::simple_available("mosquitto", "mosquitto")
        || !brokers::simple_available("mosquitto_passwd", "mosquitto")
    {
        return;
    }
    let port = free_port();
    let mut server = None;
    let url = format!("mqtt://app:{}@127.0.0.1:{port}", password_in_url());
    waits_for(&url, "CONNACK accepted", || {
        server = Some(brokers::mosquitto(port))
    });
    let r = gate_run(&["-t", "5s", &format!("{url}#version=5")]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    fails_fast(
        &format!("mqtt://app:x{}@127.0.0.1:{port}", password_in_url()),
        &["not authorized", "0x05", "user app"],
    );
    fails_fast(
        &format!(
            "mqtt://app:x{}@127.0.0.1:{port}#version=5",
            password_in_url()
        ),
        &["0x87", "user app"],
    );
}

#[test]
fn silent_servers_and_other_protocols_are_not_ready() {
    let silent = fake::silent();
    let http = fake::raw(|mut s| {
        use std::io::Write;
        let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    for scheme in ["mysql", "amqp", "memcached", "nats", "mqtt", "grpc"] {
        let start = Instant::now();
        let r = gate_run(&[
            "-t",
            "1500ms",
            "--attempt-timeout",
            "300ms",
            &format!("{scheme}://127.0.0.1:{silent}"),
        ]);
        assert_eq!(r.code(), 124, "{scheme}: {}", r.stderr);
        assert!(
            r.stderr.contains("no answer within 300ms"),
            "{scheme}: {}",
            r.stderr
        );
        assert!(
            start.elapsed() < ms(3_000),
            "{scheme}: {:?}",
            start.elapsed()
        );
        let r = gate_run(&[
            "-t",
            "1s",
            "--attempt-timeout",
            "300ms",
            &format!("{scheme}://127.0.0.1:{http}"),
        ]);
        // Never ready: named as HTTP when the reply says it (the wait then ends at once), else
        // said what is wrong with it until the deadline.
        match r.code() {
            1 => assert!(
                r.stderr.contains("this port answers like HTTP"),
                "{scheme}: {}",
                r.stderr
            ),
            124 => assert!(
                r.stderr.contains("does not speak")
                    || r.stderr.contains("connection closed")
                    || r.stderr.contains("connection reset"),
                "{scheme}: {}",
                r.stderr
            ),
            other => panic!("{scheme}: exit {other}: {}", r.stderr),
        }
    }
}

#[test]
fn huge_frames_cost_a_bounded_amount_of_memory() {
    // Endless banners and frames declaring gigabytes: each probe stops at its budget.
    let endless = fake::raw(|mut s| {
        use std::io::Write;
        let chunk = vec![b'A'; 64 * 1024];
        while s.write_all(&chunk).is_ok() {}
    });
    for scheme in ["mysql", "amqp", "memcached", "nats", "mqtt", "grpc"] {
        let (r, rss) = crate::harness::run_measuring_rss(
            gate().args([
                "-t",
                "1s",
                "--attempt-timeout",
                "500ms",
                &format!("{scheme}://127.0.0.1:{endless}"),
            ]),
            ms(10_000),
        );
        assert_eq!(r.code(), 124, "{scheme}: {}", r.stderr);
        assert!(rss < 24 * 1024 * 1024, "{scheme}: peak RSS {rss}");
    }
}

#[test]
fn unix_sockets_wait_for_a_listener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    let mut listener = None;
    let mut cmd = gate();
    cmd.args(["-t", "10s", &format!("unix://{}", path.display()), "--"])
        .arg(inspector());
    let r = run_during(&mut cmd, ms(15_000), || {
        std::thread::sleep(ms(300));
        listener = Some(std::os::unix::net::UnixListener::bind(&path).unwrap());
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.field("pid").is_some());
}

#[test]
fn exec_checks_run_without_a_shell_and_stay_off_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("ok");
    // Ready once the file exists; the check's output never reaches stdout.
    let check = format!(
        "sh -c 'echo noise; echo {} >&2; test -e {}'",
        crate::harness::CANARY,
        flag.display()
    );
    let mut cmd = gate();
    cmd.args(["-t", "10s", "--exec-check", &check, "--"])
        .arg(inspector());
    let r = run_during(&mut cmd, ms(15_000), || {
        std::thread::sleep(ms(300));
        std::fs::write(&flag, "").unwrap();
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(!r.stdout.contains("noise"), "{}", r.stdout);
    assert!(r.stderr.contains("exit status 0"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(crate::harness::CANARY),
        "output shown without -v: {}",
        r.stderr
    );
    // A check that hangs is killed at the attempt timeout, with what it started.
    let mark = dir.path().join("late");
    let slow = format!("sh -c 'sleep 2; touch {}'", mark.display());
    let r = gate_run(&[
        "-t",
        "1s",
        "--attempt-timeout",
        "300ms",
        "--exec-check",
        &slow,
    ]);
    assert_eq!(r.code(), 124, "{}", r.stderr);
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(!mark.exists(), "the timed-out check went on running");
    // No shell: `$HOME` and `;` are plain words.
    let r = gate_run(&["-t", "1s", "--exec-check", "test $HOME = '$HOME'"]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // A program that does not exist: a usage error at once.
    let r = gate_run(&["--exec-check", "no-such-program-xyz --flag"]);
    assert_eq!(r.code(), 2, "{}", r.stderr);
    assert!(r.stderr.contains("command not found"), "{}", r.stderr);
}

#[test]
fn no_scheme_prints_the_password_on_any_path() {
    // Every kind that takes a password, against a refused port, a silent server and an HTTP
    // server, in every output mode: the canary never appears.
    let refused_held = HeldPort::new();
    let refused = refused_held.port;
    let silent = fake::silent();
    let http = fake::raw(|mut s| {
        use std::io::Write;
        let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
    });
    let pw = password_in_url();
    let mut urls = Vec::new();
    for kind in readygate::probe::KINDS {
        for scheme in kind.schemes {
            if matches!(*scheme, "tcp" | "file" | "unix" | "redis+unix") {
                continue;
            }
            for port in [refused, silent, http] {
                urls.push(format!("{scheme}://app:{pw}@127.0.0.1:{port}/x"));
            }
        }
    }
    // NATS' token form: the user part is the secret.
    urls.push(format!("nats://{pw}@127.0.0.1:{http}"));
    for url in &urls {
        for mode in [
            &["-v"][..],
            &["--log-format", "json", "-v"],
            &["--check"],
            &["--explain"],
        ] {
            let r = gate_run(
                &[
                    &["-t", "400ms", "--attempt-timeout", "200ms"][..],
                    mode,
                    &[url.as_str()],
                ]
                .concat(),
            );
            assert_no_canary(&r.stderr);
            assert_no_canary(&r.stdout);
        }
    }
}

/// The gRPC health server (tests/support/grpc_health_server.py) in test.sh's virtual environment.
struct GrpcServer {
    child: std::process::Child,
}

impl GrpcServer {
    fn python() -> Option<std::path::PathBuf> {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
        let ok = std::process::Command::new(&p)
            .args(["-c", "import grpc_health.v1.health"])
            .output()
            .is_ok_and(|o| o.status.success());
        require(
            ok,
            "grpcio and grpcio-health-checking in target/test-venv (test.sh installs them)",
        )
        .then_some(p)
    }

    fn start(python: &std::path::Path, port: u16, extra: &[&str]) -> GrpcServer {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support/grpc_health_server.py");
        let child = std::process::Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        GrpcServer { child }
    }

    fn set(&mut self, service: &str, status: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{service} {status}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn grpc_health_service_over_h2c_and_tls() {
    let Some(python) = GrpcServer::python() else {
        return;
    };
    let port = free_port();
    let mut server = None;
    // Started after the gate; the service turns SERVING later.
    let url = format!("grpc://127.0.0.1:{port}#service=app.v1.Orders");
    let mut cmd = gate();
    cmd.args(["-t", "30s", &url, "--"]).arg(inspector());
    let r = run_watching(&mut cmd, ms(40_000), |said| {
        said.wait_for("is not ready: connection refused");
        let mut s = GrpcServer::start(&python, port, &[]);
        s.set("app.v1.Orders", "NOT_SERVING");
        said.wait_for("NOT_SERVING");
        s.set("app.v1.Orders", "SERVING");
        server = Some(s);
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("NOT_SERVING"), "{}", r.stderr);
    assert!(r.stderr.contains("SERVING)"), "{}", r.stderr);
    // An unregistered service: not ready (NOT_FOUND), up to the deadline.
    // -v shows readygate's attempts, not the HTTP/2 library's internals.
    let r = gate_run(&["-v", "-t", "5s", &format!("grpc://127.0.0.1:{port}")]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("attempt 1 ready"), "{}", r.stderr);
    assert!(!r.stderr.contains("client connection"), "{}", r.stderr);
    let r = gate_run(&["-t", "1s", &format!("grpc://127.0.0.1:{port}#service=nope")]);
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("NOT_FOUND"), "{}", r.stderr);
    // A server without the health service: permanent, with the hint.
    let bare_port = free_port();
    let _bare = GrpcServer::start(&python, bare_port, &["--no-health"]);
    crate::servers::wait_port(bare_port, ms(20_000));
    fails_fast(
        &format!("grpc://127.0.0.1:{bare_port}"),
        &["UNIMPLEMENTED", "grpc.health.v1.Health"],
    );
    // TLS with ALPN h2, verified against the server's certificate.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = fake::self_signed();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let tls_port = free_port();
    let _tls = GrpcServer::start(
        &python,
        tls_port,
        &[
            "--tls",
            cert_file.to_str().unwrap(),
            key_file.to_str().unwrap(),
        ],
    );
    crate::servers::wait_port(tls_port, ms(20_000));
    let r = gate_run(&[
        "-t",
        "10s",
        &format!("grpcs://localhost:{tls_port}#ca={}", cert_file.display()),
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // h2c against the TLS port, TLS against the h2c port: never ready.
    let r = gate_run(&["-t", "1s", &format!("grpcs://localhost:{port}#insecure")]);
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

/// A URL aimed at a port of another protocol (a swapped port in a compose file) fails at once
/// naming what answers there, instead of waiting out the deadline with "no answer"; a server of
/// the right protocol at the right port is never taken for another.
#[test]
fn a_port_that_speaks_another_protocol_is_named() {
    if !crate::servers::redis_available()
        || !brokers::mariadb_available()
        || !brokers::simple_available("memcached", "memcached")
        || !crate::servers::postgres_available()
    {
        return;
    }
    let redis = crate::servers::Redis::start(&[], true);
    let mut maria = Mariadb::new();
    maria.start(&[], true);
    let mc_port = free_port();
    let _mc = brokers::memcached(mc_port, McAuth::None);
    crate::servers::wait_port(mc_port, ms(10_000));
    let pg = crate::servers::Pg::new("");
    pg.start();
    let cases = [
        (
            format!("postgres://app@127.0.0.1:{}/app", redis.port),
            "this port answers like Redis, not PostgreSQL",
        ),
        (
            format!("mysql://app@127.0.0.1:{}/appdb", redis.port),
            "this port answers like Redis, not MySQL or MariaDB",
        ),
        (
            format!("redis://127.0.0.1:{mc_port}"),
            "this port answers like memcached, not Redis",
        ),
        (
            format!("redis://127.0.0.1:{}", maria.port),
            "this port answers like MySQL or MariaDB, not Redis",
        ),
        (
            format!("postgres://app@127.0.0.1:{}/appdb", maria.port),
            "this port answers like MySQL or MariaDB, not PostgreSQL",
        ),
        (
            format!("mysql://app@127.0.0.1:{}/app", pg.port),
            "this port answers like PostgreSQL, not MySQL or MariaDB",
        ),
        (
            format!("amqp://127.0.0.1:{}", redis.port),
            "this port answers like Redis, not AMQP (RabbitMQ)",
        ),
        (
            format!("memcached://127.0.0.1:{}", redis.port),
            "this port answers like Redis, not memcached",
        ),
        (
            format!("nats://127.0.0.1:{}", redis.port),
            "this port answers like Redis, not NATS",
        ),
        (
            format!("mqtt://127.0.0.1:{}", redis.port),
            "this port answers like Redis, not MQTT",
        ),
    ];
    for (url, want) in &cases {
        let start = Instant::now();
        let r = gate_run(&["-t", "20s", url, "--", "true"]);
        let took = start.elapsed();
        assert_eq!(r.code(), 1, "{url}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{url}: no '{want}' in {}",
            r.stderr
        );
        // Bounded by the look (one second of silence, then a second at most), far from the
        // deadline; the slack is a loaded machine's.
        assert!(took < ms(8_000), "{url}: took {took:?}");
    }
    // The right servers on their ports are ready, with no look in their way.
    for url in [
        format!("redis://127.0.0.1:{}", redis.port),
        format!("memcached://127.0.0.1:{mc_port}"),
    ] {
        let r = gate_run(&["-t", "20s", &url, "--", "true"]);
        assert_eq!(r.code(), 0, "{url}: {}", r.stderr);
        assert!(!r.stderr.contains("answers like"), "{}", r.stderr);
    }
}
