//! What the supervisor knows, shared between the watch loops and the HTTP server: each target's
//! state and counters, and the command's. Rendered here as `/readyz`'s JSON and `/metrics`' text;
//! only display names and probe reasons go in (redacted like every other output), never input.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One target, as the supervisor sees it.
#[derive(Debug, Clone)]
pub struct TargetState {
    pub name: String,
    pub optional: bool,
    pub ready: bool,
    /// Not ready for longer than `--lost-after` (one event per loss, not one per attempt).
    pub lost: bool,
    /// The last verdict's words.
    pub reason: String,
    /// Since the supervisor started, until this target was first ready.
    pub time_to_ready: Option<Duration>,
    pub attempts: u64,
    pub address_changes: u64,
    pub losses: u64,
}

/// The command under supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The gate is waiting for the targets (at start, or again after a loss with `restart`).
    Gating,
    Running,
    /// Being stopped (a loss with `exit` or `restart`, or a signal).
    Stopping,
    /// No command: the gate only watches and serves.
    Sidecar,
}

#[derive(Debug)]
pub struct State {
    pub targets: Vec<TargetState>,
    pub phase: Phase,
    pub restarts: u64,
    pub started: Instant,
}

pub type Shared = Arc<Mutex<State>>;

impl State {
    pub fn new(names: Vec<(String, bool)>) -> Shared {
        Arc::new(Mutex::new(State {
            targets: names
                .into_iter()
                .map(|(name, optional)| TargetState {
                    name,
                    optional,
                    ready: false,
                    lost: false,
                    reason: "not probed yet".to_string(),
                    time_to_ready: None,
                    attempts: 0,
                    address_changes: 0,
                    losses: 0,
                })
                .collect(),
            phase: Phase::Gating,
            restarts: 0,
            started: Instant::now(),
        }))
    }

    /// Records an attempt's verdict.
    pub fn record(&mut self, index: usize, verdict: &crate::verdict::Verdict) {
        let since = self.started.elapsed();
        if let Some(t) = self.targets.get_mut(index) {
            t.attempts += 1;
            t.ready = verdict.is_ready();
            t.reason = verdict.words();
            if t.ready {
                t.lost = false;
                t.time_to_ready.get_or_insert(since);
            }
        }
    }

    /// A target stayed not ready for `--lost-after`.
    pub fn lose(&mut self, index: usize) {
        if let Some(t) = self.targets.get_mut(index) {
            t.lost = true;
            t.losses += 1;
        }
    }

    /// A target's name resolved to a new set of addresses.
    pub fn moved(&mut self, index: usize) {
        if let Some(t) = self.targets.get_mut(index) {
            t.address_changes += 1;
        }
    }

    /// The command runs (or, with no command, the sidecar watches) and no required target is
    /// lost. A single failed attempt does not count: only a loss (`--lost-after`) does.
    pub fn ready(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Sidecar)
            && self
                .targets
                .iter()
                .all(|t| t.optional || (t.time_to_ready.is_some() && !t.lost))
    }

    /// `/readyz`'s body.
    pub fn readyz_json(&self) -> String {
        let mut out = format!(
            "{{\"ready\":{},\"phase\":\"{}\",\"restarts\":{},\"targets\":[",
            self.ready(),
            phase_name(self.phase),
            self.restarts
        );
        for (i, t) in self.targets.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"target\":\"{}\",\"ready\":{},\"lost\":{},\"optional\":{},\"reason\":\"{}\"}}",
                crate::text::json_escaped(&t.name),
                t.ready,
                t.lost,
                t.optional,
                crate::text::json_escaped(&t.reason)
            );
        }
        out.push_str("]}\n");
        out
    }

    /// `/metrics` in Prometheus' text exposition format.
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let per_target = |out: &mut String,
                          name: &str,
                          kind: &str,
                          help: &str,
                          value: &dyn Fn(&TargetState) -> Option<String>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for t in &self.targets {
                if let Some(v) = value(t) {
                    let _ = writeln!(out, "{name}{{target=\"{}\"}} {v}", label(&t.name));
                }
            }
        };
        per_target(
            &mut out,
            "readygate_target_up",
            "gauge",
            "1 when the target's last attempt found it ready.",
            &|t| Some(u8::from(t.ready).to_string()),
        );
        per_target(
            &mut out,
            "readygate_target_time_to_ready_seconds",
            "gauge",
            "From the start until the target was first ready.",
            &|t| t.time_to_ready.map(|d| format!("{:.3}", d.as_secs_f64())),
        );
        per_target(
            &mut out,
            "readygate_target_attempts_total",
            "counter",
            "Attempts made on the target.",
            &|t| Some(t.attempts.to_string()),
        );
        per_target(
            &mut out,
            "readygate_target_address_changes_total",
            "counter",
            "Times the target's name resolved to a new set of addresses.",
            &|t| Some(t.address_changes.to_string()),
        );
        per_target(
            &mut out,
            "readygate_target_lost_total",
            "counter",
            "Times the target stayed not ready longer than --lost-after.",
            &|t| Some(t.losses.to_string()),
        );
        let _ = writeln!(
            out,
            "# HELP readygate_ready 1 when every required target is ready and the command runs.\n# TYPE readygate_ready gauge\nreadygate_ready {}",
            u8::from(self.ready())
        );
        let _ = writeln!(
            out,
            "# HELP readygate_child_restarts_total Times the command was restarted after a lost target.\n# TYPE readygate_child_restarts_total counter\nreadygate_child_restarts_total {}",
            self.restarts
        );
        out
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Gating => "gating",
        Phase::Running => "running",
        Phase::Stopping => "stopping",
        Phase::Sidecar => "watching",
    }
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::verdict::Verdict;

    #[test]
    fn readiness_needs_every_required_target_and_a_running_command() {
        let shared = State::new(vec![("db".into(), false), ("cache \"x\"".into(), true)]);
        let mut s = shared.lock().unwrap();
        assert!(!s.ready());
        s.record(0, &Verdict::ready(None));
        assert!(!s.ready(), "still gating");
        s.phase = Phase::Running;
        assert!(s.ready(), "the optional target does not count");
        s.record(0, &Verdict::cheap("refused"));
        assert!(s.ready(), "one failed attempt is not a loss");
        s.lose(0);
        assert!(!s.ready());
        assert!(s
            .readyz_json()
            .starts_with("{\"ready\":false,\"phase\":\"running\""));
        let metrics = s.metrics();
        assert!(
            metrics.contains("readygate_target_up{target=\"db\"} 0"),
            "{metrics}"
        );
        assert!(metrics.contains("target=\"cache \\\"x\\\"\""), "{metrics}");
        assert!(metrics.contains("readygate_target_attempts_total{target=\"db\"} 2"));
    }
}
