//! Entry points for the fuzzers (`fuzz/`, cargo-fuzz) and for the stable smoke run
//! (`examples/fuzz_smoke.rs`, run by `.ci/run`): bytes in, no panic, no hang, bounded memory out.
//! Compiled only with the `fuzzing` feature: not part of readygate's interface, not shipped.
//!
//! - [`target`]: one target string through the URL parser and every probe's option checks.
//! - [`command_line`]: NUL-separated words as argv (and `KEY=VALUE` words after a lone `--env`
//!   as the environment's `READYGATE_TARGETS`) through the parser and the plan.
//! - [`migration_file`]: a Python source file through the reader `#migrated` uses (the tokenizer,
//!   the literal reader, and the Django, `apps.py` and Alembic readers over it).
//! - [`decoder`]: the first byte picks one of [`DECODERS`], the protocol decoders that are plain
//!   functions over bytes (no socket, no runtime): thousands of times faster than a loopback
//!   attempt, so the fuzzer reaches deeper into each.
//! - [`server_reply`]: the first byte picks a kind of target, the rest is what a server on a
//!   loopback port sends to each connection; one attempt of the real probe runs against it, so
//!   every protocol decoder (and TLS, HTTP/2, tokio-postgres under the framing guard) reads it.

use std::cell::RefCell;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bound on one attempt here; a decoder that waits longer than this for bytes that will never
/// come is a hang.
pub const ATTEMPT: Duration = Duration::from_secs(1);

/// One decoder over bytes; what it returns does not matter, only that it returns.
pub type Decode = fn(&[u8]);

/// The decoders that are plain functions over bytes, in the order [`decoder`]'s first byte picks
/// them (modulo their number); each has a cargo-fuzz target of its own in `fuzz/`.
pub const DECODERS: &[(&str, Decode)] = &[
    ("tls_validity", |d| {
        let _ = crate::net::tls::validity(d);
    }),
    ("grpc_status", |d| {
        let _ = crate::probe::grpc::serving_status(d);
    }),
    ("mysql_greeting", |d| {
        let _ = crate::probe::mysql::wire::greeting(d);
    }),
    ("mysql_error", |d| {
        let _ = crate::probe::mysql::wire::error(d);
    }),
    ("mysql_row", |d| {
        let _ = crate::probe::mysql::wire::text_row(d);
    }),
    ("pg_error", |d| {
        let _ = crate::probe::postgres::wire::parse_error(d);
    }),
    ("amqp_mechanisms", |d| {
        let _ = crate::probe::amqp::mechanisms(d);
    }),
    ("pgpass_line", |d| {
        let _ = crate::probe::postgres::pgpass::split(&String::from_utf8_lossy(d));
    }),
    ("words", |d| {
        let _ = crate::words::split(&String::from_utf8_lossy(d));
    }),
    ("amqp_frame", |d| {
        use crate::probe::amqp::{frame_head, method, Head};
        if let Some((head, rest)) = d.split_first_chunk::<7>() {
            if let Head::Frame { kind, .. } = frame_head(head) {
                let _ = method(kind, rest);
            }
        }
    }),
    ("nats_line", |d| {
        let _ = crate::probe::nats::server_line(d);
    }),
    ("mqtt_connack", |d| {
        use crate::probe::mqtt::{connack_code, connack_head, remaining_length};
        if let Some((&kind, rest)) = d.split_first() {
            let len = remaining_length(rest).unwrap_or(0);
            let _ = connack_head(kind, len);
            let _ = connack_code(rest);
        }
    }),
    ("memcached_binary", |d| {
        if let Some((head, _)) = d.split_first_chunk::<24>() {
            let _ = crate::probe::memcached::binary::response_head(head);
        }
    }),
    ("memcached_line", |d| {
        static PROBE: std::sync::OnceLock<crate::probe::memcached::MemcachedProbe> =
            std::sync::OnceLock::new();
        let probe = PROBE.get_or_init(|| {
            let uri = crate::uri::parse("memcached://127.0.0.1").expect("a valid URL");
            crate::probe::memcached::MemcachedProbe::from_uri(&uri).expect("a valid target")
        });
        let _ = probe.judge(d);
    }),
    ("pg_framing", |d| {
        // The framing guard over the bytes in chunks of the first byte's size (at least 1), as
        // reads of any size would hand them over.
        use crate::probe::postgres::guard::Guarded;
        if let Some((&size, rest)) = d.split_first() {
            let method = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
            let mut guard = Guarded::with_limit((), method, 64 * 1024);
            for chunk in rest.chunks(usize::from(size).max(1)) {
                if guard.observe(chunk).is_err() {
                    break;
                }
            }
        }
    }),
    ("resp", |d| {
        // The redis crate's parser, then readygate's reading of what it parsed.
        if let Ok(v) = redis::parse_redis_value(d) {
            let _ = crate::probe::redis::resp::reply(v);
        }
    }),
    ("engine_json", |d| {
        // An event line and an inspection, as the engine targets read them, under every condition.
        use crate::probe::engine::state::{Condition, Container};
        let _ = crate::probe::engine::death(d);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(d) {
            let c = Container::from_inspection(&v);
            let log = regex_lite::Regex::new("x").expect("a valid pattern");
            for condition in [
                Condition::Running,
                Condition::Healthy,
                Condition::Exited(0),
                Condition::Log(Box::new(log)),
            ] {
                let _ = c.outcome(&condition);
            }
        }
    }),
    ("engine_log", |d| {
        // A log stream in chunks of the first byte's size, multiplexed when the second is odd.
        use crate::probe::engine::logs::LogReader;
        if let Some((&[size, tty], rest)) = d.split_first_chunk::<2>() {
            let re = regex_lite::Regex::new("^READY").expect("a valid pattern");
            let mut reader = LogReader::new(tty % 2 == 0);
            for chunk in rest.chunks(usize::from(size).max(1)) {
                if !matches!(reader.feed(chunk, &re), Ok(false)) {
                    break;
                }
            }
            let _ = reader.finish(&re);
        }
    }),
];

/// One decoder by name (a cargo-fuzz target each); `false` when there is none of that name.
pub fn decode(name: &str, data: &[u8]) -> bool {
    DECODERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| run(data))
        .is_some()
}

/// The first byte picks a decoder of [`DECODERS`], the rest is its input (the stable smoke run).
pub fn decoder(data: &[u8]) {
    if let Some((&pick, rest)) = data.split_first() {
        (DECODERS[usize::from(pick) % DECODERS.len()].1)(rest);
    }
}

/// One target string.
pub fn target(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::target::Target::parse(text);
    }
}

/// A Python source file through every reader `#migrated` has.
pub fn migration_file(data: &[u8]) {
    use crate::migrations::{alembic, django};
    let text = String::from_utf8_lossy(data);
    let _ = django::read_migration(&text);
    let _ = django::read_label(&text);
    let _ = alembic::read_revision(&text);
}

/// NUL-separated argv words through the command-line parser and the plan.
pub fn command_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut args: Vec<OsString> = vec!["readygate".into()];
    let mut env_targets = None;
    let mut words = text.split('\0');
    for w in words.by_ref() {
        if w == "--env" {
            break;
        }
        // Help and version print to stdout and end the parse: nothing to find there.
        let prints = w == "--help"
            || w == "--version"
            || (w.starts_with('-') && !w.starts_with("--") && (w.contains('h') || w.contains('V')));
        if prints {
            continue;
        }
        args.push(w.into());
    }
    let rest: Vec<&str> = words.collect();
    if !rest.is_empty() {
        env_targets = Some(rest.join(" "));
    }
    if let Ok(cli) = crate::cli::parse(&args) {
        let _ = crate::plan::Plan::build(cli, env_targets.as_deref(), &[], false);
    }
}

/// The kinds of target [`server_reply`] picks from (by the first byte).
pub const SCHEMES: &[&str] = &[
    "postgres://app:pw@127.0.0.1:{port}/db",
    "postgres://127.0.0.1:{port}/db",
    "redis://:pw@127.0.0.1:{port}/1#primary",
    "redis://127.0.0.1:{port}#cluster",
    "redis+sentinel://127.0.0.1:{port}/mymaster",
    "http://127.0.0.1:{port}/health#contains=UP",
    "https://127.0.0.1:{port}/#insecure",
    "mysql://127.0.0.1:{port}",
    "mysql://app:pw@127.0.0.1:{port}/db#query=SELECT%201",
    "amqp://app:pw@127.0.0.1:{port}/vh",
    "memcached://127.0.0.1:{port}",
    "memcached://app:pw@127.0.0.1:{port}",
    "memcached://app:pw@127.0.0.1:{port}#auth=text",
    "nats://app:pw@127.0.0.1:{port}",
    "mqtt://app:pw@127.0.0.1:{port}",
    "mqtt://127.0.0.1:{port}#version=5",
    "grpc://127.0.0.1:{port}#service=a",
    "tcp://127.0.0.1:{port}#stable=2",
];

/// A loopback server sending the current input to every connection, and a runtime, per thread.
struct Bench {
    runtime: tokio::runtime::Runtime,
    reply: Arc<Mutex<Vec<u8>>>,
    probes: Vec<crate::probe::Probe>,
}

thread_local! {
    static BENCH: RefCell<Option<Bench>> = const { RefCell::new(None) };
}

fn bench() -> Bench {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let reply = Arc::new(Mutex::new(Vec::new()));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let port = listener.local_addr().expect("its port").port();
    let served = reply.clone();
    runtime.spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let bytes = served.lock().map(|r| r.clone()).unwrap_or_default();
            tokio::spawn(async move {
                let _ = s.write_all(&bytes).await;
                let _ = s.shutdown().await;
                let mut sink = [0u8; 4096];
                while let Ok(1..) = s.read(&mut sink).await {}
            });
        }
    });
    let probes = SCHEMES
        .iter()
        .map(|s| {
            let t = crate::target::Target::parse(&s.replace("{port}", &port.to_string()))
                .expect("the fuzz targets parse");
            t.probe
        })
        .collect();
    Bench {
        runtime,
        reply,
        probes,
    }
}

/// One attempt of the kind `data[0]` picks against a server that sends `data[1..]`. Returns
/// false when the attempt did not end within [`ATTEMPT`] (a hang).
pub fn server_reply(data: &[u8]) -> bool {
    let Some((&pick, reply)) = data.split_first() else {
        return true;
    };
    BENCH.with(|cell| {
        let mut cell = cell.borrow_mut();
        let b = cell.get_or_insert_with(bench);
        if let Ok(mut r) = b.reply.lock() {
            *r = reply.to_vec();
        }
        let probe = &b.probes[pick as usize % b.probes.len()];
        b.runtime
            .block_on(async { tokio::time::timeout(ATTEMPT, probe.attempt()).await })
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_run() {
        target(b"postgres://u:p@h:1/d?sslmode=require#level=login");
        command_line(b"-t\x005s\x00tcp://h:1\x00--env\x00redis://h");
        for pick in 0..SCHEMES.len() as u8 {
            assert!(server_reply(&[
                pick, b'+', b'P', b'O', b'N', b'G', b'\r', b'\n'
            ]));
        }
    }
}
