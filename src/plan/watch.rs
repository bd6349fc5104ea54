//! `--watch` and its options, validated with the rest of the plan: what the supervisor
//! (`crate::watch`) is given, never the command line itself.

use std::net::SocketAddr;
use std::time::Duration;

use libc::c_int;

use super::Mode;

/// What a lost target does (`--on-lost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLost {
    Report,
    Exit,
    Restart,
    Signal(c_int),
}

/// `--watch` and its options, validated.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    pub interval: Duration,
    pub lost_after: Duration,
    pub on_change: Option<c_int>,
    pub on_lost: OnLost,
    pub serve: Option<SocketAddr>,
    pub signal_group: bool,
}

impl WatchPlan {
    /// `None` without `--watch` (then none of its options may be given).
    pub fn from_cli(cli: &crate::cli::Cli) -> Result<Option<WatchPlan>, String> {
        if !cli.watch {
            if let Some(flag) = cli.watch_options.first() {
                return Err(format!(
                    "{flag} acts after the start, which only --watch watches: add --watch (example: readygate --watch --serve :9090 postgres://db:5432 -- gunicorn app.wsgi)"
                ));
            }
            return Ok(None);
        }
        if cli.watch_interval.is_zero() {
            return Err(
                "--watch-interval must be more than 0 (example: --watch-interval 2s)".into(),
            );
        }
        if cli.lost_after.is_zero() {
            return Err("--lost-after must be more than 0 (example: --lost-after 10s)".into());
        }
        let on_change = cli
            .on_change
            .as_deref()
            .map(|s| crate::signal::parse(s).map_err(|e| format!("--on-change: {e}")))
            .transpose()?;
        let on_lost = match cli.on_lost.trim() {
            "report" => OnLost::Report,
            "exit" => OnLost::Exit,
            "restart" => OnLost::Restart,
            other => match other.strip_prefix("signal:") {
                Some(sig) => OnLost::Signal(
                    crate::signal::parse(sig).map_err(|e| format!("--on-lost signal:…: {e}"))?,
                ),
                None => {
                    return Err(format!(
                        "--on-lost '{}' is not one of report, exit, restart, signal:SIG (example: --on-lost restart)",
                        crate::text::quote_short(other)
                    ))
                }
            },
        };
        let serve = cli.serve.as_deref().map(parse_addr).transpose()?;
        Ok(Some(WatchPlan {
            interval: cli.watch_interval,
            lost_after: cli.lost_after,
            on_change,
            on_lost,
            serve,
            signal_group: cli.signal_group,
        }))
    }

    /// Whether the rest of the plan allows it.
    pub fn fits(&self, mode: &Mode) -> Result<(), String> {
        match mode {
            Mode::Check => Err(
                "--watch and --check: a healthcheck makes one attempt and exits; give one of them"
                    .into(),
            ),
            Mode::Wait { command: None } => {
                let needs = match self.on_lost {
                    OnLost::Restart => Some("--on-lost restart"),
                    OnLost::Signal(_) => Some("--on-lost signal:…"),
                    _ => None,
                }
                .or(self.on_change.map(|_| "--on-change"))
                .or(self.signal_group.then_some("--signal-group"));
                match needs {
                    Some(what) => Err(format!(
                        "{what} acts on the command, and there is none: give it after `--`"
                    )),
                    None => Ok(()),
                }
            }
            Mode::Wait { command: Some(_) } => Ok(()),
        }
    }
}

/// `:9090`, `9090`, `0.0.0.0:9090`, `127.0.0.1:9090`, `[::]:9090`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "--serve '{}' is not an address to listen on (examples: :9090, 127.0.0.1:9090, [::]:9090)",
            crate::text::quote_short(t)
        )
    };
    let with_host = if let Some(port) = t.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
        format!("0.0.0.0:{t}")
    } else {
        t.to_string()
    };
    with_host.parse::<SocketAddr>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_addr(":9090").unwrap().to_string(), "0.0.0.0:9090");
        assert_eq!(parse_addr("9090").unwrap().to_string(), "0.0.0.0:9090");
        assert_eq!(parse_addr("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in ["", "localhost:9090", ":99999", "http://x:1"] {
            assert!(parse_addr(bad).unwrap_err().contains("examples"), "{bad}");
        }
    }
}
