//! The command line as typed: clap's view of flags, environment variables and the command after
//! `--`. Nothing here is trusted yet; `plan.rs` turns it into a validated [`crate::plan::Plan`].
//!
//! Every option has a `READYGATE_…` environment variable (a flag wins over its variable), so the
//! gate can be configured in a compose file or a Kubernetes manifest without touching the command.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Parser, ValueEnum};

const AFTER_HELP: &str = "\
Targets (the scheme picks the probe):
  tcp://HOST:PORT, HOST:PORT        a TCP connection is accepted
  http://HOST[:PORT]/PATH           GET answers 2xx   (options: #status=, #contains=, #header=)
  https://HOST[:PORT]/PATH          the same over verified TLS   (#ca=FILE, #insecure)
  postgres://[USER[:PASS]@]HOST[:PORT]/DB   the server accepts connections / the user can log in
  redis://[[USER]:PASS@]HOST[:PORT]/DB      PING answers PONG   (rediss:// for TLS)
  IPv6 literals go in brackets: tcp://[::1]:5432. Targets are also read from READYGATE_TARGETS.

Exit status:
  0 ready (or, with a COMMAND, the command's own status: readygate becomes the command)
  1 a dependency failed for good (e.g. wrong password); in --check mode, any failure
  2 usage error   124 deadline reached   126 command not executable   127 command not found
  128+N ended by signal N (143 for SIGTERM)

Examples:
  readygate postgres://db:5432 redis://cache:6379 -- gunicorn app.wsgi
  readygate --timeout 2m http://api:8080/healthz#status=200-399
  readygate --check postgres://db:5432     (a Docker healthcheck: exit 0 or 1)";

/// Wait until dependencies can serve, then exec the command in place.
#[derive(Debug, Parser)]
#[command(name = "readygate", version, about, after_help = AFTER_HELP)]
#[command(
    override_usage = "readygate [OPTIONS] [TARGET]... [-- COMMAND [ARG]...]\n       readygate --check [OPTIONS] [TARGET]..."
)]
pub struct Cli {
    /// Dependencies to wait for (URLs; see below)
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Program to exec once every target is ready (after `--`; passed verbatim, no shell)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,

    /// Overall deadline (30s, 2m, 500ms, or seconds); 0 waits forever
    #[arg(short = 't', long, env = "READYGATE_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub timeout: Duration,

    /// Longest a single attempt (lookup, connect, TLS, exchange) may take
    #[arg(long, env = "READYGATE_ATTEMPT_TIMEOUT", default_value = "5s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub attempt_timeout: Duration,

    /// Pause after a refused connection, and the first step of the backoff
    #[arg(long, env = "READYGATE_INTERVAL", default_value = "50ms", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub interval: Duration,

    /// Longest pause between attempts while a server answers "not ready" or times out
    #[arg(long, env = "READYGATE_MAX_INTERVAL", default_value = "2s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub max_interval: Duration,

    /// Keep waiting through failures that normally end the wait (wrong password, missing database,
    /// rejected certificate), for setups that fix them later
    #[arg(long, env = "READYGATE_RETRY_PERMANENT")]
    pub retry_permanent: bool,

    /// Healthcheck mode: one bounded attempt per target; exit 0 if all are ready, else 1
    #[arg(long, env = "READYGATE_CHECK")]
    pub check: bool,

    /// Print only warnings and errors
    #[arg(short, long, env = "READYGATE_QUIET", conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print every attempt and what the probes saw
    #[arg(short, long, env = "READYGATE_VERBOSE")]
    pub verbose: bool,

    /// Log format on stderr
    #[arg(long, env = "READYGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Live status line: auto (when stderr is a terminal), always, never
    #[arg(long, env = "READYGATE_PROGRESS", value_enum, default_value_t = Progress::Auto, value_name = "WHEN")]
    pub progress: Progress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per change
    Text,
    /// One JSON object per line, for log pipelines
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Always,
    Never,
}

/// Whether the raw arguments ask for healthcheck mode, looked at before parsing so that even a
/// usage error exits 1 there (Docker reserves exit status 2 for healthchecks).
pub fn wants_check(args: &[OsString]) -> bool {
    let on_command_line = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--check");
    let from_env = std::env::var("READYGATE_CHECK")
        .map(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "no" | "off" | "n" | "f"
            )
        })
        .unwrap_or(false);
    on_command_line || from_env
}

/// Whether the raw arguments ask for JSON logs, looked at before parsing so that a usage error
/// reaches a log pipeline as JSON too.
pub fn wants_json(args: &[OsString]) -> bool {
    // The last --log-format before the command wins, in either spelling.
    let mut chosen = None;
    let mut words = args.iter().skip(1).take_while(|a| *a != "--");
    while let Some(word) = words.next() {
        if word == "--log-format" {
            chosen = words.next().map(|v| v == "json");
        } else if let Some(v) = word.to_str().and_then(|w| w.strip_prefix("--log-format=")) {
            chosen = Some(v == "json");
        }
    }
    chosen
        .unwrap_or_else(|| std::env::var("READYGATE_LOG_FORMAT").is_ok_and(|v| v.trim() == "json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_after_double_dash_is_verbatim() {
        let cli = Cli::try_parse_from([
            "readygate",
            "db:5432",
            "--",
            "sh",
            "-c",
            "echo $HOME *",
            "--timeout",
        ])
        .unwrap();
        assert_eq!(cli.targets, vec!["db:5432"]);
        assert_eq!(cli.command, vec!["sh", "-c", "echo $HOME *", "--timeout"]);
    }

    #[test]
    fn json_is_seen_before_parsing() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(&args(&[
            "readygate",
            "--log-format",
            "json",
            "--bogus"
        ])));
        assert!(wants_json(&args(&[
            "readygate",
            "--log-format=json",
            "db:1"
        ])));
        assert!(!wants_json(&args(&["readygate", "--log-format", "text"])));
        assert!(!wants_json(&args(&[
            "readygate",
            "db:1",
            "--",
            "prog",
            "--log-format",
            "json"
        ])));
    }

    #[test]
    fn check_is_seen_before_parsing() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_check(&args(&["readygate", "--bogus", "--check"])));
        assert!(!wants_check(&args(&[
            "readygate",
            "db:1",
            "--",
            "prog",
            "--check"
        ])));
    }
}
