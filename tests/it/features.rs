//! Builds with only some of the protocols (cargo features; `bench/sizes.sh` builds them, static
//! musl release binaries as the images ship): a kind left out is refused at start naming its
//! feature (exit 2, never a wait), `--version` and `--help` say what the build has, what is in the
//! build works, and PostgreSQL without TLS goes in plaintext by default as libpq built without SSL
//! does, refusing only what insists on TLS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::fake;
use crate::harness::{gate_at as gate, have, ms, require, run, HeldPort};
use crate::servers::{postgres_available, Pg};

/// Builds a set of features once per test run (bench/sizes.sh serializes builds across runs).
fn build(set: &str) -> Option<PathBuf> {
    static BUILT: Mutex<Option<HashMap<String, Option<PathBuf>>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    built
        .entry(set.to_string())
        .or_insert_with(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new(root.join("bench/sizes.sh"))
                .args(["--build", set])
                .current_dir(root)
                .output()
                .ok()?;
            if !out.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
                return None;
            }
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Some(root.join(path))
        })
        .clone()
}

fn prerequisites(set: &str) -> Option<PathBuf> {
    let bin = if have("musl-gcc") { build(set) } else { None };
    require(
        bin.is_some(),
        "the musl target and musl-tools for the feature builds (bench/sizes.sh)",
    )
    .then_some(bin)
    .flatten()
}

/// A refusal at start: exit 2 within a second, saying `said`.
fn refused(cmd: &mut Command, said: &str) {
    let r = run(cmd, ms(5000));
    assert_eq!(r.code(), 2, "{said}: {}", r.stderr);
    assert!(r.stderr.contains(said), "{said}: {}", r.stderr);
    assert!(r.elapsed < ms(1000), "{said}: took {:?}", r.elapsed);
}

/// The targets were ready and the command ran.
fn started(cmd: &mut Command) {
    let r = run(cmd.args(["--", "sh", "-c", "echo started"]), ms(20_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.stdout, "started\n");
}

#[test]
fn a_kind_left_out_is_refused_naming_its_feature() {
    let Some(bin) = prerequisites("tls") else {
        return;
    };
    for (target, feature) in [
        ("postgres://app@db:5432/app", "postgres"),
        ("postgresql://db", "postgres"),
        ("mysql://db", "mysql"),
        ("mariadb://db", "mysql"),
        ("redis://cache:6379", "redis"),
        ("rediss://cache:6380", "redis"),
        ("redis+unix:///run/redis.sock", "redis"),
        ("redis+sentinel://s:26379/mymaster", "redis"),
        ("grpc://api:50051", "grpc"),
        ("grpcs://api:50051", "grpc"),
        ("amqp://mq", "amqp"),
        ("amqps://mq", "amqp"),
        ("nats://n:4222", "nats"),
        ("mqtt://b:1883", "mqtt"),
        ("memcached://c:11211", "memcached"),
        // Inside a group too, and after a target that this build has.
        ("tcp://a:1|postgres://db", "postgres"),
    ] {
        let scheme = target
            .rsplit('|')
            .next()
            .unwrap()
            .split("://")
            .next()
            .unwrap();
        refused(
            gate(&bin).args(["-t", "30s", target, "--", "true"]),
            &format!("{scheme}:// is not in this build (feature {feature}"),
        );
    }
    refused(
        gate(&bin).args(["--exec-check", "true", "--", "true"]),
        "--exec-check is not in this build (feature exec-check",
    );

    let r = run(gate(&bin).arg("--version"), ms(5000));
    assert_eq!(r.code(), 0);
    assert!(r.stdout.contains("\nfeatures: tls\n"), "{}", r.stdout);
    let r = run(gate(&bin).arg("--help"), ms(5000));
    assert_eq!(r.code(), 0);
    assert!(
        r.stdout.contains("not in this build (feature postgres)")
            && r.stdout.contains(
                "Features in this build: tls; left out: postgres mysql redis grpc amqp nats mqtt memcached exec-check"
            ),
        "{}",
        r.stdout
    );
}

#[test]
fn what_the_build_has_works() {
    let (Some(tls), Some(none)) = (prerequisites("tls"), prerequisites("none")) else {
        return;
    };
    // Smaller without TLS: the build really leaves the code out.
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&none) < size(&tls), "{} {}", size(&none), size(&tls));

    let (cert, key) = fake::self_signed();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert).unwrap();
    let https = fake::https(&cert, &key, fake::status(200));
    let http = fake::http(vec![fake::status(503), fake::status(200)]);
    let held = HeldPort::new();
    let tcp = held.listen();
    let tcp_port = tcp.local_addr().unwrap().port();
    let targets = [
        format!("tcp://127.0.0.1:{tcp_port}"),
        format!("http://127.0.0.1:{}/health", http.port),
        format!("https://localhost:{https}/health#ca={}", ca.display()),
    ];
    started(gate(&tls).args(["-t", "20s"]).args(&targets));
    // The build without TLS: the same plain targets, and HTTPS refused by name.
    started(gate(&none).args(["-t", "20s"]).args(&targets[..2]));
    refused(
        gate(&none).args(["-t", "20s", &targets[2]]),
        "https:// is not in this build (feature tls",
    );
    let r = run(gate(&none).arg("--version"), ms(5000));
    assert!(r.stdout.contains("\nfeatures: none\n"), "{}", r.stdout);
}

#[test]
fn postgres_without_tls_logs_in_in_plaintext_and_refuses_what_insists_on_tls() {
    if !postgres_available() {
        return;
    }
    let Some(bin) = prerequisites("postgres") else {
        return;
    };
    let pg = Pg::new("ssl = off");
    pg.start();
    let url = pg.url(&Pg::app(), "appdb");
    let r = run(gate(&bin).args(["-t", "20s", "-v", &url]), ms(20_000));
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("logged in"), "{}", r.stderr);
    for mode in ["require", "verify-ca", "verify-full"] {
        refused(
            gate(&bin).args(["-t", "20s", &format!("{url}?sslmode={mode}")]),
            "TLS is not in this build (feature tls",
        );
    }
    let r = run(gate(&bin).arg("--version"), ms(5000));
    assert!(r.stdout.contains("\nfeatures: postgres\n"), "{}", r.stdout);
}
