//! Names resolve on every attempt with no cache: a name that appears late, and a name that moves.
//!
//! Each test runs the gate in its own mount namespace (`unshare -m`) with /etc/hosts and
//! /etc/resolv.conf bind-mounted from files the test rewrites in place while the gate waits.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::harness::{finish, have, is_root, loopback_dns_socket, ms, require, run_during};
use crate::signals::{child_of, signal_gate};

pub(crate) struct Names {
    dir: tempfile::TempDir,
}

impl Names {
    pub(crate) fn new(hosts: &str, resolv: &str) -> Option<Names> {
        if !require(
            is_root() && have("unshare") && have("mount"),
            "root, unshare(1) and mount(8) for DNS tests",
        ) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hosts"), hosts).unwrap();
        std::fs::write(dir.path().join("resolv.conf"), resolv).unwrap();
        Some(Names { dir })
    }

    pub(crate) fn hosts(&self) -> std::path::PathBuf {
        self.dir.path().join("hosts")
    }

    /// The gate in a new mount namespace seeing our files; PID 1 of a new PID namespace too.
    pub(crate) fn gate(&self, args: &[String]) -> Command {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--pid", "--fork", "--mount-proc", "--", "sh", "-c"])
            .arg(r#"mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf && exec "$@""#)
            .arg(self.dir.path())
            .arg(env!("CARGO_BIN_EXE_readygate"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// A resolver that never answers: a UDP socket on port 53 of a loopback address of its own, which
/// reads nothing. `None` (skipped, or failed under CI=true) without root or a free address.
fn silent_resolver() -> Option<(std::net::UdpSocket, std::net::Ipv4Addr)> {
    if !require(is_root(), "root to bind a UDP port 53 on loopback") {
        return None;
    }
    match loopback_dns_socket() {
        Ok(pair) => Some(pair),
        Err(why) => {
            require(false, &format!("a silent DNS server on loopback: {why}"));
            None
        }
    }
}

/// Rewrites a file in place (same inode), so a bind mount of it sees the change.
pub(crate) fn rewrite(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
}

// An unreachable resolver answers at once (ICMP port unreachable on loopback), so "name not found"
// comes fast, as from Docker's embedded DNS.
pub(crate) const FAST_RESOLV: &str = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";

#[test]
fn a_name_that_appears_late_is_found() {
    let base = "127.0.0.1 localhost\n";
    let Some(names) = Names::new(base, FAST_RESOLV) else {
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hosts = names.hosts();
    let r = run_during(
        &mut names.gate(&[
            "-t".into(),
            "10s".into(),
            format!("tcp://late-svc.test:{port}"),
        ]),
        ms(15_000),
        || {
            std::thread::sleep(ms(800));
            rewrite(&hosts, &format!("{base}127.0.0.1 late-svc.test\n"));
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot resolve 'late-svc.test'"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed >= ms(800), "{:?}", r.elapsed);
}

#[test]
fn a_name_that_moves_to_a_live_address_is_followed() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // 127.0.0.2 has nothing on this port: refused.
    let Some(names) = Names::new("127.0.0.2 moving.test\n", FAST_RESOLV) else {
        return;
    };
    let hosts = names.hosts();
    let r = run_during(
        &mut names.gate(&[
            "-t".into(),
            "10s".into(),
            format!("tcp://moving.test:{port}"),
        ]),
        ms(15_000),
        || {
            std::thread::sleep(ms(800));
            rewrite(&hosts, "127.0.0.1 moving.test\n");
        },
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
    assert!(r.elapsed >= ms(800), "{:?}", r.elapsed);
}

#[test]
fn several_addresses_the_first_refusing() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let Some(names) = Names::new(
        "::1 multi.test\n127.0.0.3 multi.test\n127.0.0.1 multi.test\n",
        FAST_RESOLV,
    ) else {
        return;
    };
    let r = finish(
        names
            .gate(&["-t".into(), "3s".into(), format!("tcp://multi.test:{port}")])
            .spawn()
            .unwrap(),
        Instant::now(),
        ms(8000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("ready after") && r.stderr.contains("(1 attempt)"),
        "every address is tried within one attempt: {}",
        r.stderr
    );
}

#[test]
fn sigterm_during_a_hanging_lookup_as_pid_1() {
    // A resolver that never answers: a bound UDP socket that reads nothing.
    let Some((silent_dns, ip)) = silent_resolver() else {
        return;
    };
    let Some(names) = Names::new(
        "127.0.0.1 localhost\n",
        &format!("nameserver {ip}\noptions timeout:30 attempts:1\n"),
    ) else {
        return;
    };
    let child = names
        .gate(&[
            "-t".into(),
            "60s".into(),
            "--attempt-timeout".into(),
            "50s".into(),
            "tcp://hangs.test:5432".into(),
        ])
        .spawn()
        .unwrap();
    let gate_pid = child_of(child.id());
    let (r, took) = signal_gate(child, gate_pid, libc::SIGTERM);
    assert_eq!(r.code(), 143, "{}", r.stderr);
    assert!(took < ms(500), "{took:?}");
    drop(silent_dns);
}

/// Finding 18: lookups abandoned by timed-out attempts filled a shared pool of 32 threads, so 40
/// names added to /etc/hosts while the resolver was silent were still not seen 19 s later. Now
/// each name has one lookup at a time, and a stuck one does not hold up the others.
#[test]
fn names_behind_a_silent_resolver_do_not_starve_each_other() {
    let Some((silent_dns, ip)) = silent_resolver() else {
        return;
    };
    let base = "127.0.0.1 localhost\n";
    let Some(names) = Names::new(
        base,
        &format!("nameserver {ip}\noptions timeout:1 attempts:1\n"),
    ) else {
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut args: Vec<String> = vec![
        "-t".into(),
        "20s".into(),
        "--attempt-timeout".into(),
        "200ms".into(),
        "-q".into(),
    ];
    args.extend((0..40).map(|i| format!("tcp://svc{i}.test:{port}")));
    let hosts = names.hosts();
    let r = run_during(&mut names.gate(&args), ms(30_000), || {
        std::thread::sleep(ms(2000));
        let mut all = base.to_string();
        for i in 0..40 {
            all.push_str(&format!("127.0.0.1 svc{i}.test\n"));
        }
        rewrite(&hosts, &all);
    });
    assert_eq!(r.code(), 0, "{}", r.stderr);
    // A lookup stuck when the names appeared returns after the resolver's timeout (1 s per
    // query); the next one reads /etc/hosts.
    assert!(r.elapsed < ms(8000), "{:?}", r.elapsed);
    drop(silent_dns);
}

/// Where the question of `query` ends, and its type: the question ends after its name (labels
/// up to a zero byte) and 4 bytes of type and class.
fn question(query: &[u8]) -> (usize, Option<u16>) {
    let mut end = 12;
    while end < query.len() && query[end] != 0 {
        end += 1 + query[end] as usize;
    }
    let end = (end + 5).min(query.len());
    let qtype = query
        .get(end - 4..end - 2)
        .map(|t| u16::from_be_bytes([t[0], t[1]]));
    (end, qtype)
}

/// A DNS reply to `query`: the question echoed, `rcode`, the truncation bit, and for an A
/// question with `answer`, one A record.
fn dns_reply(
    query: &[u8],
    rcode: u8,
    truncated: bool,
    answer: Option<std::net::Ipv4Addr>,
) -> Vec<u8> {
    let (end, qtype) = question(query);
    let a_answer = answer.filter(|_| qtype == Some(1) && rcode == 0 && !truncated);
    let mut r = query[..2].to_vec();
    r.push(0x80 | (query[2] & 0x01) | if truncated { 0x02 } else { 0 });
    r.push(0x80 | rcode);
    r.extend_from_slice(&[0, 1, 0, u8::from(a_answer.is_some()), 0, 0, 0, 0]);
    r.extend_from_slice(&query[12..end]);
    if let Some(ip) = a_answer {
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    r
}

/// A resolver of the test's own on port 53 of a loopback address, and the gate's names pointing at
/// it: each query is answered with what `answer` makes of it and of the time since the start, or
/// not at all (`None`). `None` (skipped, or failed under CI=true) without root.
fn scripted_resolver(
    answer: impl Fn(&[u8], std::time::Duration) -> Option<Vec<u8>> + Send + 'static,
) -> Option<(Names, Instant)> {
    let (dns, ip) = silent_resolver()?;
    let names = Names::new(
        "127.0.0.1 localhost\n",
        &format!("nameserver {ip}\noptions timeout:1 attempts:1\n"),
    )?;
    let started = Instant::now();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = dns.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            if let Some(reply) = answer(&buf[..n], started.elapsed()) {
                let _ = dns.send_to(&reply, from);
            }
        }
    });
    Some((names, started))
}

#[test]
fn a_resolver_that_fails_then_hangs_then_truncates_then_answers() {
    // SERVFAIL, then silence, then truncated replies (and nothing on TCP), then the address: each
    // phase is "not ready" within the attempt timeout, and the answer is taken at once.
    let Some((names, started)) = scripted_resolver(|q, since| match since.as_millis() / 1500 {
        0 => Some(dns_reply(q, 2, false, None)),
        1 => None,
        2 => Some(dns_reply(q, 0, true, None)),
        _ => Some(dns_reply(q, 0, false, Some(std::net::Ipv4Addr::LOCALHOST))),
    }) else {
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let r = finish(
        names
            .gate(&[
                "-t".into(),
                "20s".into(),
                "--attempt-timeout".into(),
                "500ms".into(),
                format!("tcp://flaky.test:{port}"),
            ])
            .spawn()
            .unwrap(),
        Instant::now(),
        ms(30_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let took = started.elapsed();
    assert!(
        took >= ms(4_500),
        "ready before the resolver answered: {took:?}\n{}",
        r.stderr
    );
    assert!(
        took < ms(8_000),
        "the answer was not taken soon: {took:?}\n{}",
        r.stderr
    );
    // The failing phases were reasons to wait, in words; the silent one cut at the attempt bound.
    assert!(
        r.stderr.contains("cannot resolve 'flaky.test'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no answer within 500ms"), "{}", r.stderr);
    drop(l);
}

#[test]
fn a_missing_name_is_looked_up_at_a_steady_pace_and_found_at_once() {
    // The compose case: the service's name does not exist until its container is created. The
    // resolver answers NXDOMAIN for 3 s, then the address. The gate must neither back off to
    // seconds (a name noticed late) nor query it more than ~10 times a second.
    let phase = ms(3_000);
    let absent_queries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = absent_queries.clone();
    let Some((names, started)) = scripted_resolver(move |q, since| {
        Some(if since < phase {
            // One lookup asks for A and AAAA: count the A questions only.
            if question(q).1 == Some(1) {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            dns_reply(q, 3, false, None)
        } else {
            dns_reply(q, 0, false, Some(std::net::Ipv4Addr::LOCALHOST))
        })
    }) else {
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let r = finish(
        names
            .gate(&["-t".into(), "20s".into(), format!("tcp://late.test:{port}")])
            .spawn()
            .unwrap(),
        Instant::now(),
        ms(30_000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(r.stderr.contains("name not found"), "{}", r.stderr);
    let took = started.elapsed();
    assert!(took >= phase, "ready before the name existed: {took:?}");
    // A pause of 100 ms ±20% after each answer: the name is seen within ~120 ms (+ a loaded
    // machine's slack); the old growing pause reached 2 s.
    assert!(
        took < phase + ms(600),
        "the new name was noticed {:?} late\n{}",
        took - phase,
        r.stderr
    );
    let n = absent_queries.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (15..=36).contains(&n),
        "{n} lookups in 3 s: want a steady ~10 a second\n{}",
        r.stderr
    );
    drop(l);
}
