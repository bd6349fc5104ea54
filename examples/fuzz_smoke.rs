//! A fuzzing smoke run on the stable toolchain (what `.ci/run` runs; coverage-guided fuzzing with
//! cargo-fuzz lives in `fuzz/`): random mutations of `fuzz/corpus/TARGET/*` through one entry
//! point of `readygate::fuzz` for SECONDS, failing on a panic (the input is saved first), on an
//! attempt that does not end within its bound, and on a peak RSS over 64 MiB.
//!
//!     cargo run --release --features fuzzing --example fuzz_smoke -- TARGET SECONDS
//!
//! TARGET: target, command_line, server_reply, migration_file, decoder.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static CURRENT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A small xorshift generator: no dependency, and a seed printed for reruns.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"%",
    b"%00",
    b"%zz",
    b"@",
    b"#",
    b"?",
    b"/",
    b":",
    b"\r\n",
    b"\xff\xff\xff\x7f",
    b"\x00\x00\x00\x00",
    b"-1",
    b"99999999999",
    b"*1\r\n",
    b"$2147483647\r\n",
    b"[::1]",
    b"\xce",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(input.len() + 1);
                let what = INTERESTING[rng.below(INTERESTING.len())];
                input.splice(i..i, what.iter().copied());
            }
            3 if input.len() > 1 => {
                let a = rng.below(input.len());
                let b = (a + rng.below(64)).min(input.len());
                input.drain(a..b);
            }
            4 => {
                // Splice in a piece of another corpus entry.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + rng.below(32)).min(other.len());
                    let i = rng.below(input.len() + 1);
                    input.splice(i..i, other[a..b].iter().copied());
                }
            }
            _ => {
                let i = rng.below(input.len() + 1);
                let n = rng.below(16);
                input.splice(
                    i..i,
                    std::iter::repeat_n(input.get(i).copied().unwrap_or(b'A'), n),
                );
            }
        }
    }
    input.truncate(64 * 1024);
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(target), Some(seconds)) =
        (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: fuzz_smoke TARGET SECONDS");
        std::process::exit(2);
    };
    let run: fn(&[u8]) -> bool = match target.as_str() {
        "target" => |d| {
            readygate::fuzz::target(d);
            true
        },
        "command_line" => |d| {
            readygate::fuzz::command_line(d);
            true
        },
        "server_reply" => readygate::fuzz::server_reply,
        "migration_file" => |d| {
            readygate::fuzz::migration_file(d);
            true
        },
        "decoder" => |d| {
            readygate::fuzz::decoder(d);
            true
        },
        other => {
            eprintln!("unknown target {other}");
            std::process::exit(2);
        }
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let corpus: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(!corpus.is_empty(), "no corpus in {}", dir.display());
    let crash =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/fuzz-smoke-{target}.crash"));
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(input) = CURRENT.lock() {
            let _ = std::fs::write(&crash, &*input);
        }
        eprintln!("fuzz_smoke: panic: {info}");
    }));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = Rng(seed);
    let baseline = peak_rss_kib();
    let start = Instant::now();
    let mut execs = 0u64;
    for input in &corpus {
        assert!(run(input), "a corpus entry hangs");
    }
    while start.elapsed() < Duration::from_secs(seconds) {
        let mut input = corpus[rng.below(corpus.len())].clone();
        mutate(&mut rng, &mut input, &corpus);
        if let Ok(mut c) = CURRENT.lock() {
            c.clone_from(&input);
        }
        let began = Instant::now();
        let ended = run(&input);
        if !ended || began.elapsed() > Duration::from_secs(2) {
            let path = format!("target/fuzz-smoke-{target}.hang");
            let _ = std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path), &input);
            eprintln!(
                "fuzz_smoke: {target}: an input took {:?} (saved in {path})",
                began.elapsed()
            );
            std::process::exit(1);
        }
        execs += 1;
    }
    let peak = peak_rss_kib();
    println!(
        "fuzz_smoke: {target}: {execs} executions in {seconds} s, seed {seed}, peak RSS {} KiB (baseline {baseline})",
        peak
    );
    if peak > 64 * 1024 {
        eprintln!("fuzz_smoke: {target}: peak RSS over 64 MiB");
        std::process::exit(1);
    }
}
