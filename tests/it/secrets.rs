//! A property: for random passwords (printable ASCII, always with some of `#?/@:%,`), in every
//! scheme, through every output mode and every failure path — a usage error, a refused port, a
//! name that does not resolve, a silent server, and servers that echo what they were sent back in
//! their error — no output holds the password or any 4-character piece of it, raw or
//! percent-encoded, nor the HTTP Basic credentials.
//!
//! A 4-character piece of a random password can, rarely, occur in ordinary output by chance; a hit
//! is therefore checked again with another password of the same shape, and only a hit that goes
//! away with the password counts.

use std::io::{Read, Write};
use std::net::TcpStream;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::fake;
use crate::harness::{encode, free_port, gate, ms, run, Run};

const SPECIAL: &[u8] = b"#?/@:%,";

/// Fake servers that put back into their error whatever the client sent (or, for PostgreSQL,
/// the password it asks for in cleartext).
struct Echoes {
    redis: u16,
    http: u16,
    postgres: u16,
    nats: u16,
    raw: u16,
}

fn read_some(s: &mut TcpStream) -> Vec<u8> {
    let _ = s.set_read_timeout(Some(ms(500)));
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

fn printable(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect()
}

impl Echoes {
    fn start() -> Echoes {
        let redis = fake::raw(|mut s| {
            let got = read_some(&mut s);
            let _ = s.write_all(format!("-ERR you sent {}\r\n", printable(&got)).as_bytes());
        });
        let http = fake::raw(|mut s| {
            let got = printable(&read_some(&mut s));
            let body = format!("you sent {got}");
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 401 {}\r\nContent-Length: {}\r\nWWW-Authenticate: {}\r\n\r\n{body}",
                    got.chars().take(60).collect::<String>(),
                    body.len(),
                    got.chars().take(100).collect::<String>()
                )
                .as_bytes(),
            );
        });
        let postgres = fake::raw(|mut s| {
            let _ = read_some(&mut s); // startup (or SSLRequest)
                                       // Refuse TLS if asked, then ask for the password in cleartext.
            let _ = s.write_all(&fake::pg_message(b'R', &3i32.to_be_bytes()));
            let got = read_some(&mut s);
            let mut body = b"SFATAL\0C28P01\0Mpassword was ".to_vec();
            body.extend(printable(&got).into_bytes());
            body.extend_from_slice(b"\0\0");
            let _ = s.write_all(&fake::pg_message(b'E', &body));
        });
        let nats = fake::raw(|mut s| {
            let _ = s.write_all(b"INFO {\"server_id\":\"x\",\"auth_required\":true}\r\n");
            let got = read_some(&mut s);
            let _ = s.write_all(
                format!("-ERR 'Authorization Violation: {}'\r\n", printable(&got)).as_bytes(),
            );
        });
        let raw = fake::raw(|mut s| {
            for _ in 0..3 {
                let got = read_some(&mut s);
                if got.is_empty() || s.write_all(&got).is_err() {
                    break;
                }
            }
        });
        Echoes {
            redis,
            http,
            postgres,
            nats,
            raw,
        }
    }

    /// The echo server for a scheme, if it has one of its own; else the raw echo.
    fn for_scheme(&self, scheme: &str) -> u16 {
        match scheme {
            "redis" | "redis+sentinel" => self.redis,
            "http" => self.http,
            "postgres" | "postgresql" => self.postgres,
            "nats" => self.nats,
            _ => self.raw,
        }
    }
}

/// Every 4-byte piece of `pw`, raw and percent-encoded, and HTTP Basic's `app:pw` in base64.
fn pieces(pw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = pw.as_bytes();
    for w in b.windows(4) {
        let w = String::from_utf8_lossy(w).into_owned();
        out.push(encode(&w));
        out.push(w);
    }
    out.push(base64(&format!("app:{pw}")));
    out.sort();
    out.dedup();
    out
}

fn base64(input: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The pieces found in a run that a run of the same case with another password does not print:
/// those came from the password, not from ordinary output.
fn still_absent<'a>(found: &'a [String], again: &Run) -> Vec<&'a String> {
    found
        .iter()
        .filter(|p| !again.stderr.contains(p.as_str()) && !again.stdout.contains(p.as_str()))
        .collect()
}

/// The pieces of `pw` found in the run's output.
fn leaks(r: &Run, pw: &str) -> Vec<String> {
    pieces(pw)
        .into_iter()
        .filter(|p| r.stderr.contains(p.as_str()) || r.stdout.contains(p.as_str()))
        .collect()
}

/// The command line for one case: `scheme`, a failure `path`, an output `mode`, the password `pw`
/// given in the URL (or through the scheme's own variable).
fn case(
    scheme: &str,
    path: usize,
    mode: usize,
    pw: &str,
    echoes: &Echoes,
    silent: u16,
) -> std::process::Command {
    let enc = encode(pw);
    let host_port = match path {
        0 => "127.0.0.1:99999".to_string(), // usage error: port out of range
        1 => format!("127.0.0.1:{}", free_port()),
        2 => "no-such-host.invalid:1234".to_string(),
        3 => format!("127.0.0.1:{silent}"),
        _ => format!("127.0.0.1:{}", echoes.for_scheme(scheme)),
    };
    let tail = match scheme {
        "redis+sentinel" => "/mymaster",
        "amqp" | "amqps" => "/vhost",
        "grpc" | "grpcs" | "tcp" | "nats" | "memcached" | "mqtt" | "mqtts" => "",
        _ => "/db",
    };
    let mut cmd = gate();
    cmd.args(["-t", "600ms", "--attempt-timeout", "250ms"]);
    match mode {
        0 => {}
        1 => {
            cmd.args(["--log-format", "json", "-v"]);
        }
        2 => {
            cmd.arg("-v");
        }
        3 => {
            cmd.arg("-q");
        }
        4 => {
            cmd.arg("--check");
        }
        5 => {
            cmd.arg("--explain");
        }
        _ => {
            cmd.args(["--progress", "always"]);
        }
    }
    // The password through the scheme's own variable for the database schemes, half the time.
    let via_env = match scheme {
        "postgres" | "postgresql" if mode.is_multiple_of(2) => Some("PGPASSWORD"),
        "mysql" | "mariadb" if mode.is_multiple_of(2) => Some("MYSQL_PWD"),
        _ => None,
    };
    let url = match via_env {
        Some(var) => {
            cmd.env(var, pw);
            format!("{scheme}://app@{host_port}{tail}")
        }
        None if scheme == "tcp" => format!("tcp://app:{enc}@{host_port}"),
        None => format!("{scheme}://app:{enc}@{host_port}{tail}"),
    };
    cmd.arg(url);
    cmd
}

fn password() -> impl Strategy<Value = String> {
    let printable: Vec<u8> = (0x21u8..0x7f).collect();
    (
        proptest::collection::vec(proptest::sample::select(printable), 10..22),
        proptest::collection::vec(proptest::sample::select(SPECIAL.to_vec()), 1..4),
        any::<proptest::sample::Index>(),
    )
        .prop_map(|(mut body, specials, at)| {
            let i = at.index(body.len());
            body.splice(i..i, specials);
            String::from_utf8(body).unwrap()
        })
}

#[test]
fn no_piece_of_a_password_is_ever_printed() {
    let echoes = Echoes::start();
    let silent = fake::silent();
    let schemes: Vec<&str> = readygate::probe::KINDS
        .iter()
        .flat_map(|k| k.schemes.iter().copied())
        .filter(|s| !matches!(*s, "file" | "unix" | "redis+unix"))
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(
        &(password(), password(), any::<u64>()),
        |(pw, other, seed)| {
            for (i, scheme) in schemes.iter().enumerate() {
                let path = (seed as usize + i) % 5;
                let mode = (seed as usize / 5 + i * 3) % 7;
                let r = run(
                    &mut case(scheme, path, mode, &pw, &echoes, silent),
                    ms(10_000),
                );
                runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let found = leaks(&r, &pw);
                if found.is_empty() {
                    continue;
                }
                // Same case with another password: a piece that is still there is ordinary output.
                let again = run(
                    &mut case(scheme, path, mode, &other, &echoes, silent),
                    ms(10_000),
                );
                let real = still_absent(&found, &again);
                prop_assert!(
                    real.is_empty(),
                    "{scheme}, path {path}, mode {mode}: {real:?} of the password printed:\n{}{}",
                    r.stdout,
                    r.stderr
                );
            }
            Ok(())
        },
    );
    eprintln!("MEASURE secrets property: {} runs", runs.into_inner());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Characters that separate targets or parameters, written raw (unencoded) inside a secret: a
/// secret must never be split at one and a piece of it printed (a comma, too: the comma-list hint
/// must not take a secret holding one for two targets).
const RAW: &[u8] = b"| \t&#,";

fn raw_password() -> impl Strategy<Value = String> {
    let alnum: Vec<u8> = (b'0'..=b'9')
        .chain(b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .collect();
    (
        proptest::collection::vec(proptest::sample::select(alnum), 10..18),
        proptest::collection::vec(proptest::sample::select(RAW.to_vec()), 1..3),
        any::<proptest::sample::Index>(),
    )
        .prop_map(|(mut body, specials, at)| {
            // Never first or last: a leading or trailing space is trimmed by any shell.
            let i = 1 + at.index(body.len() - 2);
            body.splice(i..i, specials);
            String::from_utf8(body).unwrap()
        })
}

/// The target for one secret position, with `pw` written raw.
fn raw_target(position: usize, pw: &str, echoes: &Echoes, silent: u16) -> String {
    let closed = free_port();
    match position % 6 {
        0 => format!("redis://app:{pw}@127.0.0.1:{}", echoes.redis),
        1 => format!(
            "postgres://app@127.0.0.1:{}/db?password={pw}",
            echoes.postgres
        ),
        2 => format!("http://127.0.0.1:{}/h?token={pw}", echoes.http),
        3 => format!(
            "http://127.0.0.1:{}/#header=Authorization:%20Bearer%20{pw}",
            echoes.http
        ),
        4 => format!("amqp://app:{pw}@127.0.0.1:{silent}/vh"),
        _ => format!("mysql://app:{pw}@127.0.0.1:{closed}/db"),
    }
}

#[test]
fn no_piece_of_a_secret_holding_a_raw_separator_is_printed() {
    let echoes = Echoes::start();
    let silent = fake::silent();
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(raw_password(), raw_password(), any::<u64>()),
        |(pw, other, seed)| {
            for position in 0..6 {
                for mode in 0..4 {
                    let make = |pw: &str| {
                        let target = raw_target(position, pw, &echoes, silent);
                        let mut cmd = gate();
                        cmd.args(["-t", "500ms", "--attempt-timeout", "250ms"]);
                        match mode {
                            0 => {}
                            1 => {
                                cmd.arg("--check");
                            }
                            2 => {
                                cmd.args(["--log-format", "json", "-v"]);
                            }
                            _ => {
                                cmd.arg("--explain");
                            }
                        }
                        // Half the time from READYGATE_TARGETS, where white space separates targets.
                        if (seed as usize + position + mode).is_multiple_of(2) {
                            cmd.env("READYGATE_TARGETS", &target);
                        } else {
                            cmd.arg(&target);
                        }
                        cmd
                    };
                    let r = run(&mut make(&pw), ms(10_000));
                    let found: Vec<String> = alnum_pieces(&pw)
                        .into_iter()
                        .filter(|p| r.stderr.contains(p.as_str()) || r.stdout.contains(p.as_str()))
                        .collect();
                    if found.is_empty() {
                        continue;
                    }
                    let again = run(&mut make(&other), ms(10_000));
                    let real = still_absent(&found, &again);
                    prop_assert!(
                        real.is_empty(),
                        "position {position}, mode {mode}, {pw:?}: {real:?} printed:\n{}{}",
                        r.stdout,
                        r.stderr
                    );
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Every 4-character run of letters and digits in `pw` (the pieces a split would print).
fn alnum_pieces(pw: &str) -> Vec<String> {
    let chars: Vec<char> = pw.chars().collect();
    chars
        .windows(4)
        .filter(|w| w.iter().all(|c| c.is_ascii_alphanumeric()))
        .map(|w| w.iter().collect())
        .collect()
}

/// Passwords equal to the user, to the scheme, or to the word "ready": every line still starts
/// with readygate's own name, the target's name is whole, and the gate says once why it cannot
/// mask such a password everywhere.
#[test]
fn a_weak_password_never_garbles_the_output() {
    let echoes = Echoes::start();
    for (url, name) in [
        (
            format!(
                "postgres://postgres:postgres@127.0.0.1:{}/postgres",
                echoes.postgres
            ),
            format!(
                "postgres://postgres:***@127.0.0.1:{}/postgres",
                echoes.postgres
            ),
        ),
        (
            format!("redis://redis:redis@127.0.0.1:{}", echoes.redis),
            format!("redis://redis:***@127.0.0.1:{}", echoes.redis),
        ),
        (
            format!("redis://app:ready@127.0.0.1:{}", echoes.redis),
            format!("redis://app:***@127.0.0.1:{}", echoes.redis),
        ),
    ] {
        for mode in [&["-t", "500ms"][..], &["--check"], &["-v", "-t", "500ms"]] {
            let r = run(gate().args(mode).arg(&url), ms(5000));
            for line in r.stderr.lines() {
                assert!(line.starts_with("readygate: "), "{mode:?}: {line}");
            }
            assert!(r.stderr.contains(&name), "{mode:?}: {}", r.stderr);
            assert!(!r.stderr.contains("***gate"), "{}", r.stderr);
            if mode[0] != "--check" {
                assert!(r.stderr.contains("the password is"), "{}", r.stderr);
            }
        }
    }
}
