//! Every line the gate says to the user is one of these [`Event`]s: the one vocabulary of its
//! output, rendered by [`super::format`] as a text line or a JSON object. In JSON, every object
//! has `time`, `level` and `event` (the name given at each variant below), the variant's fields
//! in the order listed, then `message` (the text line's words): this type is the schema, and
//! `docs/output.md` documents it.
//!
//! Nothing secret can reach here: the targets are redacted names, the reasons come from probes
//! (and every string is scrubbed again as it is rendered), and a command is shown by its program
//! name only.

use std::time::Duration;

use crate::duration::show;

/// How important a line is: `-q` shows warnings and errors, `-v` adds the diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warn,
    Info,
    Debug,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }
}

/// One line to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `warning`: something the user should change (a note on the configuration, a password sent
    /// in the clear).
    Warning(&'a str),
    /// `start` (`targets`): the wait begins.
    Start {
        names: &'a [String],
        deadline: Option<Duration>,
    },
    /// `attempt` (`target`, `attempt`, `reason` when not ready), `-v` only: every attempt.
    /// (`index`, the target's place in the plan, and `elapsed` are for the drop-in voices.)
    Attempt {
        index: usize,
        target: &'a str,
        attempt: u32,
        reason: Option<&'a str>,
        elapsed: Duration,
    },
    /// `ready` (`target`, `elapsed_ms`, `attempts`).
    Ready {
        index: usize,
        target: &'a str,
        elapsed: Duration,
        attempts: u32,
        detail: Option<&'a str>,
    },
    /// `not_ready` (`target`, `reason`, `elapsed_ms`): a target's reason changed.
    NotReady {
        target: &'a str,
        reason: &'a str,
        elapsed: Duration,
    },
    /// `optional_not_ready` (`target`, `reason`): an optional target given up.
    OptionalNotReady { target: &'a str, reason: &'a str },
    /// `all_ready` (`elapsed_ms`): every required target is ready; `program` starts next.
    AllReady {
        elapsed: Duration,
        targets: usize,
        skipped: usize,
        program: Option<&'a str>,
    },
    /// `healthy`: `--check` found every target ready (`ready`: their names, cut short).
    Healthy { ready: &'a str },
    /// `failed` (`target`, `reason`): a permanent failure; the wait ends.
    Failed { target: &'a str, reason: &'a str },
    /// `unhealthy` (`target`, `reason` for a permanent failure): `--check` (or a single attempt)
    /// found a target not ready; `what` names them, cut short. (`elapsed` and `command`, whether
    /// a command was to start, are for the drop-in voices.)
    Unhealthy {
        failed: Option<(&'a str, &'a str)>,
        what: &'a str,
        elapsed: Duration,
        command: bool,
    },
    /// `timeout` (`elapsed_ms`): the deadline passed (`after`, as configured) with `pending`
    /// targets not ready; `command`: one was to start.
    Timeout {
        elapsed: Duration,
        after: Duration,
        pending: &'a str,
        command: bool,
    },
    /// `interrupted` (`signal`): a signal ended the wait.
    Interrupted { signal: &'a str },
    /// `usage`: the command line or the environment is wrong (exit status 2).
    Usage { message: &'a str },
    /// `exec_failed`: the command cannot start; `waiting`: said before the wait, which is skipped.
    ExecFailed {
        error: &'a str,
        before_waiting: bool,
    },
    /// `internal`: the gate itself cannot go on (no runtime, no signal handlers, stdout closed).
    Internal(&'a str),
    /// `exec_output`, `-v` only: the tail of an exec check's output.
    ExecOutput { program: &'a str, tail: &'a str },
    /// `diagnostic`, `-v` only: what the transport did (addresses resolved, a connect failed).
    Diagnostic(&'a str),
    /// `watching` (`--watch` without a command): the sidecar watches.
    Watching { targets: usize, every: Duration },
    /// `started` (`pid`): `--watch` started the command.
    Started {
        program: &'a str,
        pid: i32,
        targets: usize,
        every: Duration,
    },
    /// `signal`, `-v` only: a signal forwarded to the command.
    Forwarded { signal: &'a str, pid: i32 },
    /// `signal`: `--on-lost signal:SIG` sent it.
    Sent { signal: &'a str, pid: i32 },
    /// `kill`: the command did not stop within `grace`.
    Killed { pid: i32, grace: Duration },
    /// `restarting`: the command stopped (`status`) for `--on-lost restart`.
    Restarting { status: i32 },
    /// `exit_lost`: the command stopped for `--on-lost exit`; the gate exits 1.
    ExitLost { status: i32 },
    /// `exited` (`status`): the command ended by itself.
    Exited { status: i32 },
    /// `back` (`target`): a watched target is ready again.
    Back { target: &'a str },
    /// `address_changed` (`target`): a target's name resolves to other addresses; `sent`: the
    /// signal sent to the command for it (`--on-change`).
    AddressChanged {
        target: &'a str,
        name: &'a str,
        addresses: &'a str,
        sent: Option<(&'a str, i32)>,
    },
    /// `lost` (`target`, `reason`): not ready for `after` while watched.
    Lost {
        target: &'a str,
        reason: &'a str,
        after: Duration,
    },
    /// `stopping`: the command is stopped (SIGTERM) because `target` is lost.
    Stopping { pid: i32, target: &'a str },
    /// `interrupted`: a signal ends the sidecar.
    Stopped { signal: &'a str },
}

/// A field's value in JSON: a string (escaped, scrubbed) or a bare number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Str(&'a str),
    Num(i64),
}

/// An event as the formats see it.
#[derive(Debug)]
pub struct Line<'a> {
    pub severity: Severity,
    pub name: &'static str,
    pub fields: Vec<(&'static str, Value<'a>)>,
    pub message: String,
}

fn ms(d: Duration) -> Value<'static> {
    Value::Num(d.as_millis() as i64)
}

impl Event<'_> {
    pub fn severity(&self) -> Severity {
        use Event::*;
        match self {
            Failed { .. }
            | Unhealthy { .. }
            | Timeout { .. }
            | Usage { .. }
            | ExecFailed { .. }
            | Internal(_)
            | ExitLost { .. } => Severity::Error,
            Warning(_)
            | OptionalNotReady { .. }
            | Interrupted { .. }
            | Killed { .. }
            | Lost { .. }
            | Stopping { .. } => Severity::Warn,
            Attempt { .. } | ExecOutput { .. } | Diagnostic(_) | Forwarded { .. } => {
                Severity::Debug
            }
            _ => Severity::Info,
        }
    }

    /// The event's name, fields and words.
    ///
    /// One match on purpose, however long: it is the JSON schema and every line's wording, read
    /// in one place (docs/output.md is checked against it).
    pub fn line(&self) -> Line<'_> {
        use Event::*;
        use Value::{Num, Str};
        let (name, fields, message): (_, Vec<(&'static str, Value)>, _) = match *self {
            Warning(text) => ("warning", vec![], text.to_string()),
            Start { names, deadline } => {
                let limit = deadline.map_or("no deadline".to_string(), |d| {
                    format!("timeout {}", show(d))
                });
                let plural = if names.len() == 1 { "" } else { "s" };
                (
                    "start",
                    vec![("targets", Num(names.len() as i64))],
                    format!(
                        "waiting for {} target{plural} ({limit}): {}",
                        names.len(),
                        super::list(names.iter(), ", ")
                    ),
                )
            }
            Attempt {
                target,
                attempt,
                reason,
                ..
            } => {
                let mut fields = vec![("target", Str(target)), ("attempt", Num(attempt.into()))];
                let message = match reason {
                    Some(r) => {
                        fields.push(("reason", Str(r)));
                        format!("{target}: attempt {attempt}: {r}")
                    }
                    None => format!("{target}: attempt {attempt} ready"),
                };
                ("attempt", fields, message)
            }
            Ready {
                target,
                elapsed,
                attempts,
                detail,
                ..
            } => {
                let how = detail.map_or(String::new(), |d| format!(", {d}"));
                let n = if attempts == 1 {
                    "1 attempt".to_string()
                } else {
                    format!("{attempts} attempts")
                };
                (
                    "ready",
                    vec![
                        ("target", Str(target)),
                        ("elapsed_ms", ms(elapsed)),
                        ("attempts", Num(attempts.into())),
                    ],
                    format!("{target} is ready after {} ({n}{how})", show(elapsed)),
                )
            }
            NotReady {
                target,
                reason,
                elapsed,
            } => (
                "not_ready",
                vec![
                    ("target", Str(target)),
                    ("reason", Str(reason)),
                    ("elapsed_ms", ms(elapsed)),
                ],
                format!("{target} is not ready: {reason}"),
            ),
            OptionalNotReady { target, reason } => (
                "optional_not_ready",
                vec![("target", Str(target)), ("reason", Str(reason))],
                format!("{target} is not ready ({reason}); it is optional, so it is not waited for any longer"),
            ),
            AllReady {
                elapsed,
                targets,
                skipped,
                program,
            } => {
                let what = program.map_or(String::new(), |p| format!("; starting {p}"));
                if targets == 0 {
                    // Allowed so that an empty READYGATE_TARGETS in one environment still runs.
                    (
                        "all_ready",
                        vec![("elapsed_ms", Num(0))],
                        format!("no targets to wait for{what}"),
                    )
                } else {
                    let all = match (targets, skipped) {
                        (1, 0) => "the target is".to_string(),
                        (n, 0) => format!("all {n} targets are"),
                        (n, s) => format!("{} of {n} targets are", n - s),
                    };
                    (
                        "all_ready",
                        vec![("elapsed_ms", ms(elapsed))],
                        format!("{all} ready after {}{what}", show(elapsed)),
                    )
                }
            }
            Healthy { ready } => ("healthy", vec![], format!("ready: {ready}")),
            Failed { target, reason } => (
                "failed",
                vec![("target", Str(target)), ("reason", Str(reason))],
                format!("{target} failed: {reason}; not waiting (waiting will not fix this; --retry-permanent keeps waiting)"),
            ),
            Unhealthy { failed, what, .. } => (
                "unhealthy",
                failed.map_or(vec![], |(target, reason)| {
                    vec![("target", Str(target)), ("reason", Str(reason))]
                }),
                format!("not ready: {what}"),
            ),
            Timeout {
                elapsed,
                after,
                pending,
                ..
            } => (
                "timeout",
                vec![("elapsed_ms", ms(elapsed))],
                format!(
                    "timed out after {}; not ready: {pending}; the command was not started",
                    show(after)
                ),
            ),
            Interrupted { signal } => (
                "interrupted",
                vec![("signal", Str(signal))],
                format!("interrupted by {signal} while waiting; the command was not started"),
            ),
            Usage { message } => ("usage", vec![], message.to_string()),
            ExecFailed {
                error,
                before_waiting,
            } => (
                "exec_failed",
                vec![],
                if before_waiting {
                    format!("{error}; not waiting")
                } else {
                    error.to_string()
                },
            ),
            Internal(text) => ("internal", vec![], text.to_string()),
            ExecOutput { program, tail } => ("exec_output", vec![], format!("{program}: {tail}")),
            Diagnostic(text) => ("diagnostic", vec![], text.to_string()),
            Watching { targets, every } => (
                "watching",
                vec![],
                format!("watching {targets} target(s) every {}", show(every)),
            ),
            Started {
                program,
                pid,
                targets,
                every,
            } => (
                "started",
                vec![("pid", Num(pid.into()))],
                format!(
                    "{program} runs as pid {pid}; watching {targets} target(s) every {}",
                    show(every)
                ),
            ),
            Forwarded { signal, pid } => (
                "signal",
                vec![],
                format!("forwarding {signal} to pid {pid}"),
            ),
            Sent { signal, pid } => ("signal", vec![], format!("sending {signal} to pid {pid}")),
            Killed { pid, grace } => (
                "kill",
                vec![],
                format!("pid {pid} did not stop within {}; SIGKILL", show(grace)),
            ),
            Restarting { status } => (
                "restarting",
                vec![],
                format!("the command stopped ({status}); gating again before it starts again"),
            ),
            ExitLost { status } => (
                "exit_lost",
                vec![],
                format!("the command stopped ({status}); exiting 1 so that the container is restarted and gated again"),
            ),
            Exited { status } => (
                "exited",
                vec![("status", Num(status.into()))],
                format!("the command exited with status {status}"),
            ),
            Back { target } => (
                "back",
                vec![("target", Str(target))],
                format!("{target} is ready again"),
            ),
            AddressChanged {
                target,
                name,
                addresses,
                sent,
            } => (
                "address_changed",
                vec![("target", Str(target))],
                match sent {
                    Some((signal, pid)) => format!(
                        "'{name}' now resolves to {addresses}; sending {signal} to pid {pid}"
                    ),
                    None => format!("'{name}' now resolves to {addresses}"),
                },
            ),
            Lost {
                target,
                reason,
                after,
            } => (
                "lost",
                vec![("target", Str(target)), ("reason", Str(reason))],
                format!(
                    "{target} is lost: not ready for {} ({reason})",
                    show(after)
                ),
            ),
            Stopping { pid, target } => (
                "stopping",
                vec![],
                format!("stopping pid {pid} (SIGTERM) because {target} is lost"),
            ),
            Stopped { signal } => ("interrupted", vec![], format!("{signal}: stopping")),
        };
        Line {
            severity: self.severity(),
            name,
            fields,
            message,
        }
    }
}
