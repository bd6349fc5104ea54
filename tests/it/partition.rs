//! Network partitions in the middle of an attempt, in a network namespace of the test's own: the
//! gate runs in the namespace, the servers outside, reached over a veth pair through a proxy that
//! slows every chunk by 150 ms (so connect, the TLS handshake and PostgreSQL's authentication each
//! span a partition's moment); the partition is the host side of the veth going down. The attempt
//! in flight must be cut at its bound and the deadline hold to ±100 ms; a healed partition must be
//! noticed. (`tc netem` would be the usual tool; this kernel has no netem qdisc.)

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fake;
use crate::harness::{finish, have, is_root, ms, require, Run};
use crate::servers::{postgres_available, Pg};

/// A namespace joined to the host by a veth pair, removed on drop.
struct Netns {
    name: String,
    host_if: String,
    host_ip: Ipv4Addr,
}

fn ip(args: &[&str]) -> bool {
    crate::harness::succeeds(Command::new("ip").args(args))
}

impl Netns {
    fn new() -> Option<Netns> {
        if !require(
            is_root() && have("ip"),
            "root and ip(8) for network namespaces",
        ) {
            return None;
        }
        let id = std::process::id() % 100_000;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let (b, c) = (200 + (nanos % 50) as u8, ((nanos >> 8) % 64) as u8 * 4);
        let n = Netns {
            name: format!("rg-part-{id}-{nanos}"),
            host_if: format!("rgh{}", nanos % 1_000_000),
            host_ip: Ipv4Addr::new(10, b, c, 1),
        };
        let ns_if = format!("rgn{}", nanos % 1_000_000);
        let ns_ip = format!("10.{b}.{}.2/30", c);
        let ok = ip(&["netns", "add", &n.name])
            && ip(&[
                "link", "add", &n.host_if, "type", "veth", "peer", "name", &ns_if,
            ])
            && ip(&["link", "set", &ns_if, "netns", &n.name])
            && ip(&[
                "addr",
                "add",
                &format!("{}/30", n.host_ip),
                "dev",
                &n.host_if,
            ])
            && ip(&["link", "set", &n.host_if, "up"])
            && ip(&[
                "netns", "exec", &n.name, "ip", "addr", "add", &ns_ip, "dev", &ns_if,
            ])
            && ip(&["netns", "exec", &n.name, "ip", "link", "set", &ns_if, "up"])
            && ip(&["netns", "exec", &n.name, "ip", "link", "set", "lo", "up"]);
        require(ok, "a network namespace with a veth pair").then_some(n)
    }

    fn partition(&self, down: bool) {
        assert!(ip(&[
            "link",
            "set",
            &self.host_if,
            if down { "down" } else { "up" }
        ]));
    }

    /// The gate, run inside the namespace.
    fn gate(&self, args: &[&str]) -> Run {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, env!("CARGO_BIN_EXE_readygate")])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child, Instant::now(), ms(30_000))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_if]);
        ip(&["netns", "del", &self.name]);
    }
}

/// A proxy on `at` to 127.0.0.1:`to` that holds every chunk 150 ms in each direction.
fn slow_proxy(at: Ipv4Addr, to: u16) -> u16 {
    let l = TcpListener::bind((at, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n @ 1..) = from.read(&mut buf) {
                        std::thread::sleep(ms(150));
                        if into.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    port
}

/// Runs the gate against `url` (in the namespace), cutting the link at `cut` and, if `heal`, back
/// up at that time.
fn partitioned(ns: &Netns, args: &[&str], cut: Duration, heal: Option<Duration>) -> Run {
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(cut);
            ns.partition(true);
            if let Some(h) = heal {
                std::thread::sleep(h.saturating_sub(cut));
                ns.partition(false);
            }
        });
        ns.gate(args)
    })
}

#[test]
fn a_partition_mid_attempt_is_cut_at_its_bound_and_the_deadline_holds() {
    let Some(ns) = Netns::new() else {
        return;
    };
    let (cert, key) = fake::self_signed();
    let https = fake::https(&cert, &key, fake::status(200));
    let tls_port = slow_proxy(ns.host_ip, https);
    let url = format!("https://{}:{tls_port}/#insecure", ns.host_ip);
    // Reachable and slow: ready (the proxy's delays fit in the attempt).
    let r = ns.gate(&["-t", "10s", "--attempt-timeout", "3s", &url]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // Cut during the TLS handshake (each leg takes 150 ms): never healed → 124 at the deadline.
    for cut in [ms(80), ms(250), ms(420)] {
        let r = partitioned(
            &ns,
            &[
                "--log-format",
                "json",
                "-t",
                "2s",
                "--attempt-timeout",
                "700ms",
                &url,
            ],
            cut,
            None,
        );
        assert_eq!(r.code(), 124, "cut at {cut:?}: {}", r.stderr);
        // The gate's own clock (a loaded machine delays the test's reading, not the deadline).
        let ended = r.event_ms("timeout");
        assert!(
            (2_000..2_150).contains(&ended),
            "cut at {cut:?}: the deadline of 2 s ended after {ended} ms"
        );
        ns.partition(false);
    }
    // Healed at 1.2 s: noticed, ready before the deadline. The attempt bound leaves room for the
    // proxy's delays, which add up per chunk on a loaded machine (TLS flights split into several).
    let r = partitioned(
        &ns,
        &["-t", "10s", "--attempt-timeout", "3s", &url],
        ms(200),
        Some(ms(1_200)),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
}

#[test]
fn a_partition_during_postgres_authentication() {
    if !postgres_available() {
        return;
    }
    let Some(ns) = Netns::new() else {
        return;
    };
    let pg = Pg::new("");
    pg.start();
    let port = slow_proxy(ns.host_ip, pg.port);
    // The proxy connects from 127.0.0.1, which pg_hba admits with a password (SCRAM: several legs,
    // each held 150 ms by the proxy).
    let url = format!(
        "postgres://{}{}:{port}/appdb?sslmode=disable",
        Pg::app(),
        ns.host_ip
    );
    let r = ns.gate(&["-t", "10s", "--attempt-timeout", "4s", &url]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    for cut in [ms(200), ms(450), ms(700)] {
        let r = partitioned(
            &ns,
            &[
                "--log-format",
                "json",
                "-t",
                "2500ms",
                "--attempt-timeout",
                "1s",
                &url,
            ],
            cut,
            None,
        );
        assert_eq!(r.code(), 124, "cut at {cut:?}: {}", r.stderr);
        let ended = r.event_ms("timeout");
        assert!(
            (2_500..2_650).contains(&ended),
            "cut at {cut:?}: the deadline of 2.5 s ended after {ended} ms"
        );
        crate::harness::assert_no_canary(&r.stderr);
        ns.partition(false);
    }
}
