//! readygate gates a program's start on its dependencies: it probes every target (one of the
//! kinds of [`probe::KINDS`]: PostgreSQL, MySQL, Redis, HTTP(S), brokers, gRPC, TCP, files,
//! commands) at the protocol level, concurrently, with backoff under a deadline, and then execs
//! the command in its own place.
//!
//! # Layout
//! - `main.rs` → [`gate`]: the algorithm, parse → plan → wait → exec or exit; [`startup`]: the
//!   standard descriptors and the descriptor limit, before anything runs and before exec.
//! - `cli`: clap's raw view of flags and `READYGATE_*` variables (one yes/no grammar:
//!   `boolean`); `plan`: the validated plan; `duration`: durations as people write them.
//! - `uri`: the target URL grammar; `params`: a target's `#options` and `?parameters`;
//!   [`target`]: a target per URL and its redacted name; `redact`: keeping secrets out of output;
//!   `environ`: `PG*`-style variables, `*_FILE` secrets and small files.
//! - `net`: the transport under every protocol — `net::Endpoint` (TCP or unix socket),
//!   `net::connect` (resolve on every attempt, connect to every address), `net::resolve`
//!   (bounded lookups), `net::tls` (rustls, `#ca` / `#insecure`).
//! - [`probe`]: one module per protocol behind one enum, and `probe::KINDS`, the table of
//!   schemes, default ports, examples and help lines.
//! - `schedule`: concurrent attempts, deadlines and cancellation, protocol-blind; `backoff`: the
//!   pure retry policy; `verdict`: the words they share.
//! - `signal`: SIGTERM & co. while waiting, clean state before exec; `exec`: the exec in place.
//! - `report`: everything on stderr (text, JSON, the terminal status line, one non-blocking
//!   writer); `exit`: the one table from ending to exit status.
//!
//! Only what the binary and the integration tests use is public. The documentation is for the
//! people who work on readygate (`cargo doc --document-private-items`), so links into private
//! modules are meant.
#![allow(rustdoc::private_intra_doc_links)]

mod backoff;
mod boolean;
pub mod cli;
mod compat;
mod duration;
mod environ;
mod exec;
mod exit;
mod explain;
#[doc(hidden)]
pub mod fuzz;
pub mod gate;
mod migrations;
mod net;
mod notify;
mod offload;
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
mod uri;
mod verdict;
mod watch;
mod words;
