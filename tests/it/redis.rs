//! Redis targets against real redis-server processes.

use std::process::Command;

use crate::fake;
use crate::harness::{
    encode, free_port, gate, have, inspector, is_root, ms, require, run, run_during, run_watching,
    Run,
};
use crate::servers::{password, password_in_url, redis_available, Redis};

fn gate_run(args: &[&str]) -> Run {
    run(gate().args(args), ms(30_000))
}

#[test]
fn waits_for_a_server_started_later() {
    if !redis_available() {
        return;
    }
    let port = free_port();
    let mut redis = None;
    let mut cmd = gate();
    cmd.args(["-t", "20s", &format!("redis://127.0.0.1:{port}/0"), "--"])
        .arg(inspector());
    let r = run_during(&mut cmd, ms(20_000), || {
        std::thread::sleep(ms(700));
        redis = Some(Redis::start_in(
            tempfile::tempdir().unwrap(),
            port,
            &[],
            true,
        ));
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("PONG"), "{}", r.stderr);
    assert!(r.field("pid").is_some());
}

#[test]
fn loading_a_dataset_is_transient() {
    if !redis_available() {
        return;
    }
    // Make an RDB with many keys, then restart with a per-key load delay: the server answers
    // LOADING while it reads them.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    {
        let r = Redis::start_in(
            tempfile::TempDir::new_in(dir.path()).unwrap(),
            port,
            &[
                "--dir",
                dir.path().to_str().unwrap(),
                "--enable-debug-command",
                "yes",
            ],
            true,
        );
        assert!(r.cli(&["DEBUG", "POPULATE", "100000"]).contains("OK"));
        assert!(r.cli(&["SAVE"]).contains("OK"));
    }
    let r = Redis::start_in(
        tempfile::TempDir::new_in(dir.path()).unwrap(),
        port,
        &[
            "--dir",
            dir.path().to_str().unwrap(),
            "--key-load-delay",
            "20",
            "--loading-process-events-interval-bytes",
            "1024",
        ],
        true,
    );
    let out = gate_run(&["-t", "30s", &format!("redis://127.0.0.1:{port}")]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(out.stderr.contains("LOADING"), "{}", out.stderr);
    drop(r);
}

#[test]
fn wrong_password_and_missing_password_fail_fast() {
    if !redis_available() {
        return;
    }
    let r = Redis::start(&["--requirepass", &password()], true);
    let ok = format!("redis://:{}@127.0.0.1:{}", password_in_url(), r.port);
    assert_eq!(gate_run(&["-t", "10s", &ok]).code(), 0);
    let wrong = format!(
        "redis://:{}@127.0.0.1:{}",
        encode(&format!("{}-wrong", password())),
        r.port
    );
    let out = gate_run(&["-t", "30s", &wrong]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.elapsed < ms(3000), "{:?}", out.elapsed);
    assert!(out.stderr.contains("WRONGPASS"), "{}", out.stderr);
    let none = format!("redis://127.0.0.1:{}", r.port);
    let out = gate_run(&["-t", "30s", &none]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("NOAUTH"), "{}", out.stderr);
    // And a password the server does not expect.
    let plain = Redis::start(&[], true);
    let out = gate_run(&[
        "-t",
        "30s",
        &format!("redis://:{}@127.0.0.1:{}", password_in_url(), plain.port),
    ]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
}

#[test]
fn acl_users_with_and_without_permission() {
    if !redis_available() {
        return;
    }
    let pw = password();
    let (app_pw, noping_pw) = (format!(">{pw}"), format!(">{pw}"));
    let r = Redis::start(
        &[
            "--user", "app", "on", &app_pw, "~*", "&*", "+@all", "--user", "noping", "on",
            &noping_pw, "~*", "-@all",
        ],
        true,
    );
    let app = format!("redis://app:{}@127.0.0.1:{}", password_in_url(), r.port);
    let out = gate_run(&["-t", "10s", &app]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let noping = format!("redis://noping:{}@127.0.0.1:{}", password_in_url(), r.port);
    let out = gate_run(&["-t", "30s", &noping]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("NOPERM") && out.stderr.contains("user noping"),
        "{}",
        out.stderr
    );
}

#[test]
fn select_of_the_database_in_the_path() {
    if !redis_available() {
        return;
    }
    let r = Redis::start(&[], true);
    assert_eq!(
        gate_run(&["-t", "10s", &format!("redis://127.0.0.1:{}/5", r.port)]).code(),
        0
    );
    let out = gate_run(&["-t", "30s", &format!("redis://127.0.0.1:{}/99", r.port)]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("DB index is out of range"),
        "{}",
        out.stderr
    );
}

#[test]
fn replica_without_its_primary_is_masterdown_until_the_primary_appears() {
    if !redis_available() {
        return;
    }
    let primary_port = free_port();
    let replica = Redis::start(
        &[
            "--replicaof",
            "127.0.0.1",
            &primary_port.to_string(),
            "--replica-serve-stale-data",
            "no",
        ],
        true,
    );
    let out = gate_run(&["-t", "1s", &format!("redis://127.0.0.1:{}", replica.port)]);
    assert_eq!(out.code(), 124, "{}", out.stderr);
    assert!(out.stderr.contains("MASTERDOWN"), "{}", out.stderr);
    // With the primary up, the replica syncs and answers PONG; #primary still waits for a master.
    let _primary = Redis::start_in(tempfile::tempdir().unwrap(), primary_port, &[], true);
    let out = gate_run(&["-t", "20s", &format!("redis://127.0.0.1:{}", replica.port)]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let out = gate_run(&[
        "-t",
        "1s",
        &format!("redis://127.0.0.1:{}#primary", replica.port),
    ]);
    assert_eq!(out.code(), 124, "{}", out.stderr);
    assert!(
        out.stderr.contains("waiting for a primary"),
        "{}",
        out.stderr
    );
    assert_eq!(
        gate_run(&[
            "-t",
            "5s",
            &format!("redis://127.0.0.1:{primary_port}#primary")
        ])
        .code(),
        0
    );
}

#[test]
fn tls_port_with_a_self_signed_ca() {
    if !redis_available() {
        return;
    }
    let (cert, key) = fake::self_signed();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let tls_port = free_port();
    let r = Redis::start(
        &[
            "--tls-port",
            &tls_port.to_string(),
            "--tls-cert-file",
            cert_file.to_str().unwrap(),
            "--tls-key-file",
            key_file.to_str().unwrap(),
            "--tls-ca-cert-file",
            cert_file.to_str().unwrap(),
            "--tls-auth-clients",
            "no",
        ],
        true,
    );
    crate::servers::wait_port(tls_port, ms(10_000));
    let with_ca = format!("rediss://localhost:{tls_port}#ca={}", cert_file.display());
    assert_eq!(gate_run(&["-t", "10s", &with_ca]).code(), 0);
    let out = gate_run(&["-t", "10s", &format!("rediss://localhost:{tls_port}")]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    let out = gate_run(&[
        "-t",
        "10s",
        &format!("rediss://localhost:{tls_port}#insecure"),
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(out.stderr.contains("verification is OFF"), "{}", out.stderr);
    // Plain redis:// to the TLS port is never ready.
    let out = gate_run(&["-t", "800ms", &format!("redis://127.0.0.1:{tls_port}")]);
    assert_eq!(out.code(), 124, "{}", out.stderr);
    drop(r);
}

#[test]
fn unix_socket_target() {
    if !redis_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("redis.sock");
    let _r = Redis::start(
        &[
            "--unixsocket",
            sock.to_str().unwrap(),
            "--unixsocketperm",
            "700",
        ],
        true,
    );
    let out = gate_run(&[
        "-t",
        "10s",
        &format!("redis+unix://{}?db=1", sock.display()),
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
}

#[test]
fn silence_and_the_wrong_protocol_are_never_ready() {
    let out = gate_run(&[
        "-t",
        "1200ms",
        "--attempt-timeout",
        "300ms",
        &format!("redis://127.0.0.1:{}", fake::silent()),
    ]);
    assert_eq!(out.code(), 124, "{}", out.stderr);
    assert!(
        out.stderr.contains("no answer within 300ms"),
        "{}",
        out.stderr
    );
    let http_port = fake::http_eager(fake::status(400));
    // Another protocol on the port is never ready, and named: the wait ends at once.
    let out = gate_run(&["-t", "20s", &format!("redis://127.0.0.1:{}", http_port)]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("this port answers like HTTP, not Redis"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed < ms(8_000), "{:?}", out.elapsed);
}

#[test]
fn protected_mode_is_permanent() {
    // Protected mode refuses clients that are not on loopback, so this runs in a private network
    // namespace with a documentation address (192.0.2.1, RFC 5737) added to its own loopback
    // interface: the traffic never leaves the namespace.
    if !redis_available()
        || !require(
            is_root() && have("unshare") && have("ip"),
            "root, unshare(1) and ip(8) for the protected-mode test",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("redis.pid");
    let script = format!(
        "ip link set lo up && ip addr add 192.0.2.1/32 dev lo && \
         redis-server --bind 192.0.2.1 --port 6379 --protected-mode yes --save '' --daemonize yes --pidfile {pid} --dir {dir} >/dev/null && \
         for i in $(seq 100); do [ -s {pid} ] && break; sleep 0.05; done; sleep 0.2; \
         \"$0\" -t 10s redis://192.0.2.1:6379; rc=$?; kill $(cat {pid}); exit $rc",
        pid = pidfile.display(),
        dir = dir.path().display()
    );
    let out = run(
        Command::new("unshare").args(["-n", "sh", "-c", &script, env!("CARGO_BIN_EXE_readygate")]),
        ms(30_000),
    );
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("DENIED") && out.stderr.contains("protected mode"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed < ms(5000));
}

/// A redis-server in sentinel mode watching `master_port` as `mymaster`, killed on drop.
struct Sentinel {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(master_port: u16, master_password: &str) -> Sentinel {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\nsentinel auth-pass mymaster {master_password}\nsentinel down-after-milliseconds mymaster 1000\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        crate::servers::wait_port(port, ms(10_000));
        Sentinel {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sentinel_names_the_master_which_must_answer_as_master() {
    if !redis_available() {
        return;
    }
    let pw = password();
    let master_port = free_port();
    // The sentinel starts first; the master it watches comes up later.
    let sentinel = Sentinel::start(master_port, &pw);
    let url = format!(
        "redis+sentinel://:{}@127.0.0.1:{}/mymaster/0",
        password_in_url(),
        sentinel.port
    );
    let mut master = None;
    let mut cmd = gate();
    cmd.args(["-t", "20s", &url, "--"]).arg(inspector());
    let r = run_watching(&mut cmd, ms(25_000), |said| {
        said.wait_for(": connection refused");
        master = Some(Redis::start_in(
            tempfile::tempdir().unwrap(),
            master_port,
            &["--requirepass", &pw, "--masterauth", &pw],
            true,
        ));
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
    assert!(r.stderr.contains("role master"), "{}", r.stderr);
    crate::harness::assert_no_canary(&r.stderr);
    // Wrong data password: the master's WRONGPASS, at once.
    let start = std::time::Instant::now();
    let r = gate_run(&[
        "-t",
        "10s",
        &format!(
            "redis+sentinel://:nope@127.0.0.1:{}/mymaster",
            sentinel.port
        ),
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("WRONGPASS"), "{}", r.stderr);
    assert!(start.elapsed() < ms(1_000));
    // An unknown master name is permanent; a plain Redis is not a sentinel.
    let r = gate_run(&[
        "-t",
        "10s",
        &format!("redis+sentinel://127.0.0.1:{}/nosuch", sentinel.port),
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("knows no master named 'nosuch'"),
        "{}",
        r.stderr
    );
    let r = gate_run(&[
        "-t",
        "10s",
        &format!("redis+sentinel://127.0.0.1:{master_port}/mymaster"),
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a sentinel") || r.stderr.contains("NOAUTH"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_cluster_is_ready_once_every_slot_is_served() {
    if !redis_available() {
        return;
    }
    let nodes: Vec<Redis> = (0..3)
        .map(|_| {
            Redis::start(
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ],
                true,
            )
        })
        .collect();
    let url = format!("redis://127.0.0.1:{}#cluster", nodes[0].port);
    let addresses: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let mut cmd = gate();
    cmd.args(["-t", "30s", &url, "--"]).arg(inspector());
    // The nodes run, but no slot is assigned until the cluster is created.
    let r = run_watching(&mut cmd, ms(35_000), |said| {
        said.wait_for("cluster_state:fail");
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .arg("--cluster-yes")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("cluster_state:fail"), "{}", r.stderr);
    assert!(r.stderr.contains("cluster_state:ok"), "{}", r.stderr);
    // A node that is not in cluster mode: permanent.
    let plain = Redis::start(&[], true);
    let r = gate_run(&[
        "-t",
        "10s",
        &format!("redis://127.0.0.1:{}#cluster", plain.port),
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("not in cluster mode"), "{}", r.stderr);
}

#[test]
fn a_server_frozen_mid_auth_then_killed_then_replaced() {
    // The server accepts but is stopped (SIGSTOP): AUTH gets no answer, each attempt is cut at
    // its bound. Then it is killed (SIGKILL: the held connections reset) and a new one starts on
    // the same port: the gate is ready soon after, and never exits early.
    if !redis_available() {
        return;
    }
    let pw = password();
    let port = free_port();
    let frozen = Redis::start_in(
        tempfile::tempdir().unwrap(),
        port,
        &["--requirepass", &pw],
        true,
    );
    // SAFETY: signals to a child process of this test.
    unsafe { libc::kill(frozen.child.id() as i32, libc::SIGSTOP) };
    let url = format!("redis://:{}@127.0.0.1:{port}/0", password_in_url());
    let mut replacement = None;
    let mut frozen = Some(frozen);
    let mut cmd = gate();
    cmd.args(["-t", "20s", "--attempt-timeout", "300ms", &url, "--"])
        .arg(inspector());
    let r = run_watching(&mut cmd, ms(25_000), |said| {
        said.wait_for("no answer within 300ms");
        if let Some(mut f) = frozen.take() {
            // SAFETY: as above.
            unsafe { libc::kill(f.child.id() as i32, libc::SIGKILL) };
            let _ = f.child.wait();
        }
        std::thread::sleep(ms(300));
        replacement = Some(Redis::start_in(
            tempfile::tempdir().unwrap(),
            port,
            &["--requirepass", &pw],
            true,
        ));
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("no answer within 300ms"), "{}", r.stderr);
    assert!(r.field("pid").is_some());
    crate::harness::assert_no_canary(&r.stderr);
}
