//! HTTP(S) targets against scripted in-process servers.

use std::sync::atomic::Ordering;

use crate::fake::{self, status, Reply};
use crate::harness::{encode, gate, inspector, ms, run, HeldPort, CANARY};

#[test]
fn ready_only_at_200_after_503s() {
    let srv = fake::http(vec![status(503), status(503), status(200)]);
    let r = run(
        gate()
            .args([
                "-t",
                "10s",
                &format!("http://127.0.0.1:{}/healthz", srv.port),
                "--",
            ])
            .arg(inspector()),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 3);
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 200"), "{}", r.stderr);
    assert!(r.field("pid").is_some());
    let head = srv.heads.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_lowercase()
            .contains(&format!("host: 127.0.0.1:{}", srv.port)),
        "{head}"
    );
}

#[test]
fn error_statuses_are_not_ready_by_default_and_can_be_accepted() {
    for code in [404, 500, 302] {
        let srv = fake::http(vec![status(code)]);
        let r = run(
            gate().args(["-t", "600ms", &format!("http://127.0.0.1:{}/", srv.port)]),
            ms(4000),
        );
        assert_eq!(r.code(), 124, "{code}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("HTTP {code}"))
                && (r.stderr.contains("expected 2xx")
                    || r.stderr.contains("redirects are not followed")),
            "{}",
            r.stderr
        );
    }
    let srv = fake::http(vec![status(404)]);
    let r = run(
        gate().args([
            "-t",
            "2s",
            &format!("http://127.0.0.1:{}/#status=200-299,404", srv.port),
        ]),
        ms(4000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

/// Django's APPEND_SLASH answers `/health` with a 301 to `/health/`: the reason names the
/// redirect and where it goes, and a permanent one ends the wait at once (exit 1).
#[test]
fn a_redirect_is_named_and_a_permanent_one_fails_fast() {
    let srv = fake::http(vec![Reply::Status(
        301,
        vec![("Location", "/health/".to_string())],
        String::new(),
    )]);
    let r = run(
        gate().args([
            "-t",
            "20s",
            &format!("http://127.0.0.1:{}/health", srv.port),
            "--",
            "true",
        ]),
        ms(20_000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("HTTP 301 Moved Permanently to '/health/': redirects are not followed; use the final URL"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < ms(5_000), "took {:?}", r.elapsed);
    // A temporary one is waited on, with the same words.
    let srv = fake::http(vec![Reply::Status(
        302,
        vec![("Location", "/login?next=/health&token=s3cret".to_string())],
        String::new(),
    )]);
    let r = run(
        gate().args(["-t", "600ms", &format!("http://127.0.0.1:{}/", srv.port)]),
        ms(4000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.stderr.contains("HTTP 302 Found to '/login?…'"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
}

#[test]
fn body_must_contain_the_expected_text() {
    let down = Reply::Status(200, vec![], r#"{"status":"DOWN"}"#.into());
    let up = Reply::Status(200, vec![], r#"{"status":"UP"}"#.into());
    let srv = fake::http(vec![down, up]);
    let target = format!(
        "http://127.0.0.1:{}/health#contains={}",
        srv.port,
        encode(r#""status":"UP""#)
    );
    let r = run(gate().args(["-t", "5s", &target]), ms(6000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 2);
    assert!(r.stderr.contains("body does not contain"), "{}", r.stderr);
}

#[test]
fn slowloris_and_silence_are_bounded_by_the_attempt_timeout() {
    for port in [fake::http(vec![Reply::Slowloris]).port, fake::silent()] {
        let r = run(
            gate().args([
                "-t",
                "1500ms",
                "--attempt-timeout",
                "400ms",
                &format!("http://127.0.0.1:{port}/"),
            ]),
            ms(5000),
        );
        assert_eq!(r.code(), 124, "{}", r.stderr);
        assert!(r.elapsed < ms(1900), "{:?}", r.elapsed);
        assert!(r.stderr.contains("no answer within 400ms"), "{}", r.stderr);
    }
}

#[test]
fn giant_response_head_is_refused_not_buffered() {
    let srv = fake::http(vec![Reply::GiantHead]);
    let r = run(
        gate().args(["-t", "1s", &format!("http://127.0.0.1:{}/", srv.port)]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(
        r.stderr.contains("response head too large (over 64 KiB"),
        "{}",
        r.stderr
    );
}

#[test]
fn retry_after_is_honoured() {
    let srv = fake::http(vec![
        Reply::Status(503, vec![("Retry-After", "1".into())], String::new()),
        status(200),
    ]);
    let r = run(
        gate().args(["-t", "5s", &format!("http://127.0.0.1:{}/", srv.port)]),
        ms(6000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.elapsed >= ms(1000), "{:?}", r.elapsed);
}

#[test]
fn credentials_are_sent_but_never_printed() {
    let srv = fake::http(vec![status(401), status(200)]);
    let target = format!(
        "http://admin:{pw}@127.0.0.1:{port}/h?token={pw}#header=X-Api-Key:%20{pw}",
        pw = encode(CANARY),
        port = srv.port
    );
    for format in ["text", "json"] {
        let r = run(
            gate().args(["-v", "--log-format", format, "-t", "5s", &target]),
            ms(6000),
        );
        assert_eq!(r.code(), 0, "{}", r.stderr);
        assert!(r.stderr.contains("admin:***@"), "{}", r.stderr);
        assert!(r.stderr.contains("token=***"), "{}", r.stderr);
    }
    let heads = srv.heads.lock().unwrap();
    let head = heads[0].to_lowercase();
    assert!(head.contains("authorization: basic "), "{head}");
    assert!(head.contains("x-api-key: cn4ry@p:w/d%x"), "{head}");
    // The canary sweep in `run` has already checked every byte of output.
}

#[test]
fn https_verifies_by_default_and_accepts_a_ca_or_an_explicit_insecure_switch() {
    let (cert, key) = fake::self_signed();
    let port = fake::https(&cert, &key, status(200));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert).unwrap();

    // Default: the self-signed certificate is rejected, permanently (exit 1), fast.
    let r = run(
        gate().args(["-t", "10s", &format!("https://localhost:{port}/")]),
        ms(8000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("certificate rejected: unknown issuer"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < ms(2000), "{:?}", r.elapsed);

    // With the CA: ready.
    let r = run(
        gate().args([
            "-t",
            "10s",
            &format!("https://localhost:{port}/#ca={}", ca.display()),
        ]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);

    // An IP address in the certificate is verified as such.
    let r = run(
        gate().args([
            "-t",
            "10s",
            &format!("https://127.0.0.1:{port}/#ca={}", ca.display()),
        ]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);

    // The right CA but a certificate for another name: rejected, permanently.
    let key = rcgen::KeyPair::generate().unwrap();
    let other = rcgen::CertificateParams::new(vec!["other.example".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let other_port = fake::https(&other.pem(), &key.serialize_pem(), status(200));
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, other.pem()).unwrap();
    let r = run(
        gate().args([
            "-t",
            "10s",
            &format!("https://localhost:{other_port}/#ca={}", other_ca.display()),
        ]),
        ms(8000),
    );
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not valid for this host name"),
        "{}",
        r.stderr
    );

    // Insecure: ready, with a warning.
    let r = run(
        gate().args(["-t", "10s", &format!("https://localhost:{port}/#insecure")]),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: ") && r.stderr.contains("verification is OFF"),
        "{}",
        r.stderr
    );

    // --retry-permanent keeps waiting through the rejection instead.
    let r = run(
        gate().args([
            "-t",
            "800ms",
            "--retry-permanent",
            &format!("https://localhost:{port}/"),
        ]),
        ms(5000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
}

#[test]
fn wrong_protocol_is_never_ready_and_says_why() {
    let (cert, key) = fake::self_signed();
    let tls_port = fake::https(&cert, &key, status(200));
    let r = run(
        gate().args(["-t", "800ms", &format!("http://127.0.0.1:{tls_port}/")]),
        ms(5000),
    );
    assert_ne!(r.code(), 0, "{}", r.stderr);
    let plain = fake::http(vec![status(200)]);
    let r = run(
        gate().args(["-t", "800ms", &format!("https://localhost:{}/", plain.port)]),
        ms(5000),
    );
    assert_ne!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("does not speak TLS"), "{}", r.stderr);
}

#[test]
fn closed_http_port_is_cheap_to_retry() {
    let port_held = HeldPort::new();
    let port = port_held.port;
    let r = run(
        gate().args(["-t", "500ms", "-v", &format!("http://127.0.0.1:{port}/")]),
        ms(3000),
    );
    assert_eq!(r.code(), 124);
    // Refused connections are retried at about the interval (50ms): several attempts in 500ms.
    let attempts = r
        .stderr
        .lines()
        .filter(|l| l.contains(": attempt "))
        .count();
    assert!(attempts >= 5, "{attempts} attempts:\n{}", r.stderr);
}

#[test]
fn an_endless_body_is_read_only_up_to_its_bound() {
    let srv = fake::http(vec![Reply::EndlessBody]);
    let target = format!("http://127.0.0.1:{}/#contains=never-there", srv.port);
    let r = run(
        gate().args(["-t", "1500ms", "--attempt-timeout", "1s", &target]),
        ms(6000),
    );
    assert_eq!(r.code(), 124, "{}", r.stderr);
    assert!(r.stderr.contains("first 1 MiB read"), "{}", r.stderr);
}
