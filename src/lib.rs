//! readygate gates a program's start on its dependencies: it probes every target (TCP, HTTP(S),
//! PostgreSQL, Redis) at the protocol level, concurrently, with backoff under a deadline, and then
//! execs the command in its own place.
//!
//! # Layout
//! - `main.rs` → [`gate`]: the algorithm, parse → plan → wait → exec or exit.
//! - [`cli`]: clap's raw view of flags and `READYGATE_*` variables; [`plan`]: the validated plan.
//! - [`uri`]: the target URL grammar; [`target`]: a target per URL, its options and redacted name;
//!   [`redact`]: keeping secrets out of output; [`environ`]: `PG*`-style variables and `*_FILE`.
//! - [`probe`]: one module per protocol behind one enum; [`connect`]: resolve on every attempt and
//!   connect to every address; [`probe::tls`]: rustls configuration.
//! - [`schedule`]: concurrent attempts, deadlines and cancellation, protocol-blind;
//!   [`backoff`]: the pure retry policy; [`verdict`]: the words they share.
//! - [`signal`]: SIGTERM & co. while waiting, clean state before exec; [`exec`]: execvp in place.
//! - [`report`]: everything on stderr (text, JSON, the terminal status line);
//!   [`exit`]: the one table from ending to exit status.

pub mod backoff;
pub mod boolean;
pub mod cli;
pub mod connect;
pub mod duration;
pub mod environ;
pub mod exec;
pub mod exit;
pub mod gate;
pub mod plan;
pub mod probe;
pub mod redact;
pub mod report;
pub mod resolve;
pub mod schedule;
pub mod signal;
pub mod startup;
pub mod target;
pub mod uri;
pub mod verdict;
