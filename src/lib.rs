//! readygate gates a program's start on its dependencies: it probes every target (one of the
//! kinds of [`probe::KINDS`]: PostgreSQL, MySQL, Redis, HTTP(S), brokers, gRPC, TCP, files,
//! commands) at the protocol level, concurrently, with backoff under a deadline, and then execs
//! the command in its own place.
//!
//! # Layout
//! - `main.rs` → [`gate`]: the algorithm, parse → plan → wait → exec or exit; `wait`: one wait for
//!   every target raced against signals, and where a target's rules meet its probe; [`startup`]:
//!   the standard descriptors and the descriptor limit, before anything runs and before exec.
//! - `cli`: clap's raw view of flags and `READYGATE_*` variables (one yes/no grammar:
//!   `boolean`); `plan`: the validated plan (`plan::watch`: `--watch`'s part); `duration`:
//!   durations as people write them.
//! - `uri`: the target URL grammar; `params`: a target's `#options` and `?parameters` (`flags`:
//!   those written without a value); [`target`]: a target per URL and its redacted name;
//!   `redact`: keeping secrets out of output, and `redact::Secret`; `environ`: `PG*`-style
//!   variables and `*_FILE` secrets.
//! - `net`: the transport under every protocol — `net::Endpoint` (TCP or unix socket),
//!   `net::connect` (resolve on every attempt, connect to every address), `net::resolve`
//!   (bounded lookups), `net::tls` (rustls, `#ca` / `#insecure`).
//! - [`probe`]: one module per protocol behind one enum, and `probe::KINDS`, the table of
//!   schemes, default ports, examples and help lines.
//! - `schedule`: concurrent attempts, deadlines and cancellation, protocol-blind; `backoff`: the
//!   pure retry policy; `verdict`: the words they share.
//! - `signal`: SIGTERM & co. while waiting, clean state before exec; `exec`: the exec in place;
//!   `watch`: the supervisor after the start (`--watch`).
//! - `report`: everything on stderr (text, JSON, the terminal status line, another tool's voice,
//!   one non-blocking writer); `exit`: the one table from ending to exit status.
//! - Leaves that everything may use: `text` (JSON escaping, quoting input, percent-decoding),
//!   `os` (an OS error in words, a bounded read of a small file), `words`, `suggest`, `features`
//!   (the protocols and parts a build has: cargo features).
//!
//! The modules form floors: no import circle among them (the suite's `layers` test reads the
//! paths and fails on one, naming the lines).
//!
//! Only what the binary and the integration tests use is public. The documentation is for the
//! people who work on readygate (`cargo doc --document-private-items`), so links into private
//! modules are meant.
#![allow(rustdoc::private_intra_doc_links)]
// A build with only some protocols (cargo features) leaves helpers that only the others use
// (the migrations reader, the protocol look, secret files) unused, and code after a TLS
// configuration that a build without TLS cannot make unreachable; the linker drops them. The
// default build, which the lints check, has no dead code.
#![cfg_attr(
    not(all(
        feature = "postgres",
        feature = "mysql",
        feature = "redis",
        feature = "grpc",
        feature = "amqp",
        feature = "nats",
        feature = "mqtt",
        feature = "memcached",
        feature = "exec-check",
        feature = "tls"
    )),
    allow(
        dead_code,
        unused_imports,
        unreachable_code,
        clippy::only_used_in_recursion
    )
)]

mod backoff;
mod boolean;
pub mod cli;
mod compat;
mod duration;
mod environ;
mod exec;
mod exit;
mod explain;
mod features;
mod flags;
// The fuzzers' entry points: built only for them (`--features fuzzing`), never shipped.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
pub mod gate;
mod migrations;
mod net;
mod notify;
mod offload;
mod os;
mod params;
mod plan;
pub mod probe;
mod redact;
mod report;
mod schedule;
mod signal;
mod split;
pub mod startup;
mod suggest;
pub mod target;
mod text;
mod uri;
mod verdict;
mod wait;
mod watch;
mod words;
