//! Everything the user sees, on stderr: one line when a target changes state, one when it becomes
//! ready, a final line, and on a terminal a live status line.
//!
//! The [`Reporter`] turns scheduler reports into [`Event`]s; [`format::Format`] renders every
//! event, of the wait and of everything else the gate says, as text or JSON. It only ever holds
//! redacted target names, never raw input, so no path through it can print a secret. The
//! command's arguments are never printed either (they may carry secrets): only the program's name.

pub mod event;
pub mod format;
pub mod stderr;
pub mod voice;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use event::Event;
use event::Severity;
use format::Format;

use crate::duration::show;
use crate::schedule::{Outcome, Report};
use crate::verdict::Verdict;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy)]
pub struct OutputOptions {
    pub format: LogFormat,
    pub level: Level,
    /// Live status line (only when stderr is a terminal, unless forced).
    pub progress: bool,
    /// Healthcheck mode: one short final line only.
    pub check: bool,
}

/// `--log-format`: how the gate's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per change
    Text,
    /// One JSON object per line, for log pipelines
    Json,
}

/// How the whole process writes its lines, once the plan says ([`init`]); nothing is said before.
static FORMAT: OnceLock<Format> = OnceLock::new();

/// Sets the format for the whole process (once).
pub fn init(options: &OutputOptions) {
    let _ = FORMAT.set(Format {
        json: options.format == LogFormat::Json,
        shown: match options.level {
            Level::Quiet => Severity::Warn,
            Level::Normal => Severity::Info,
            Level::Verbose => Severity::Debug,
        },
    });
}

/// Says one event, if the format shows it.
pub fn emit(event: &Event<'_>) {
    if let Some(line) = FORMAT.get().and_then(|f| f.render(event)) {
        stderr::print_line(&line);
    }
}

/// Prints a usage error before any plan exists (text; the subscriber may not be installed).
/// Whether `READYGATE_LOG_FORMAT` asks for JSON (for errors before the command line is read).
pub fn json_from_env() -> bool {
    std::env::var("READYGATE_LOG_FORMAT").is_ok_and(|v| v.trim() == "json")
}

pub fn usage_error(message: &str, check: bool, json: bool) {
    if json {
        let line = first_line(message);
        let event = if check {
            Event::Unhealthy {
                failed: None,
                what: line.strip_prefix("error: ").unwrap_or(line),
            }
        } else {
            Event::Usage {
                message: message
                    .strip_prefix("error: ")
                    .unwrap_or(message)
                    .trim_end(),
            }
        };
        let json = Format {
            json: true,
            shown: Severity::Error,
        };
        if let Some(line) = json.render(&event) {
            stderr::print_line(&line);
        }
        return;
    }
    // In text, a usage error keeps its lines (clap's, with the hint under them).
    if check {
        // Docker keeps a healthcheck's output: one line, short.
        let line = first_line(message);
        stderr::print_line(&format!(
            "readygate: not ready: {}",
            line.strip_prefix("error: ").unwrap_or(line)
        ));
    } else {
        stderr::print_line(&format!(
            "readygate: error: {message}\n  (see 'readygate --help')"
        ));
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Waiting,
    NotReady(String),
    Ready,
}

/// Tracks each target's state and reports changes.
#[derive(Debug)]
pub struct Reporter {
    names: Vec<String>,
    states: Vec<State>,
    options: OutputOptions,
    start: Instant,
    /// The configured deadline, as shown when it passes (not the measured time, which a loaded
    /// machine stretches by a few milliseconds).
    deadline: Option<Duration>,
    /// Another tool's lines instead of readygate's (drop-in modes, text output).
    voice: Option<Box<dyn voice::Voice>>,
}

impl Reporter {
    pub fn new(
        names: Vec<String>,
        options: OutputOptions,
        voice: Option<Box<dyn voice::Voice>>,
    ) -> Self {
        let states = vec![State::Waiting; names.len()];
        Reporter {
            names,
            states,
            options,
            start: Instant::now(),
            deadline: None,
            voice,
        }
    }

    /// Prints what the voice says.
    fn say(lines: Vec<String>) {
        for line in lines {
            stderr::print_line(&line);
        }
    }

    /// Whether the live status line is drawn (the caller runs the timer that redraws it).
    pub fn shows_progress(&self) -> bool {
        self.options.progress
    }

    pub fn start(&mut self, deadline: Option<Duration>, warnings: &[String]) {
        self.deadline = deadline;
        if let Some(v) = self.voice.as_mut() {
            Self::say(v.start());
            return;
        }
        for w in warnings {
            emit(&Event::Warning(w));
        }
        if self.options.check || self.names.is_empty() {
            return;
        }
        emit(&Event::Start {
            names: &self.names,
            deadline,
        });
    }

    pub fn on_report(&mut self, r: &Report) {
        if let Some(v) = self.voice.as_mut() {
            Self::say(match &r.verdict {
                Verdict::Ready { detail } => v.ready(r.index, detail.as_deref(), r.elapsed),
                Verdict::NotReady { reason, .. } => v.not_ready(r.index, reason, r.elapsed),
                Verdict::Failed { .. } => Vec::new(),
            });
            if matches!(r.verdict, Verdict::Ready { .. }) {
                self.states[r.index] = State::Ready;
            }
            return;
        }
        let name = &self.names[r.index];
        match &r.verdict {
            Verdict::Ready { detail } => {
                emit(&Event::Attempt {
                    target: name,
                    attempt: r.attempt,
                    reason: None,
                });
                self.states[r.index] = State::Ready;
                if self.options.check {
                    return;
                }
                emit(&Event::Ready {
                    target: name,
                    elapsed: r.elapsed,
                    attempts: r.attempt,
                    detail: detail.as_deref(),
                });
            }
            Verdict::NotReady { reason, .. } => {
                emit(&Event::Attempt {
                    target: name,
                    attempt: r.attempt,
                    reason: Some(reason),
                });
                // Every attempt passes here (20 a second while a port is refused): allocate only
                // when the state changes.
                let unchanged =
                    matches!(&self.states[r.index], State::NotReady(old) if old == reason);
                if !unchanged {
                    if !self.options.check {
                        emit(&Event::NotReady {
                            target: name,
                            reason,
                            elapsed: r.elapsed,
                        });
                    }
                    self.states[r.index] = State::NotReady(reason.clone());
                }
            }
            Verdict::Failed { .. } => {} // reported by `finish`
        }
    }

    /// One line on what the gate is waiting for: the first target not ready and why, and how many
    /// are ready (for systemd's `STATUS=`).
    pub fn summary(&self) -> String {
        let ready = self.states.iter().filter(|s| **s == State::Ready).count();
        let first = self
            .names
            .iter()
            .zip(&self.states)
            .find(|(_, s)| **s != State::Ready);
        match first {
            None => format!("all {ready} targets are ready"),
            Some((name, State::NotReady(reason))) => format!(
                "waiting for {name}: {reason} ({ready} of {} ready)",
                self.names.len()
            ),
            Some((name, _)) => {
                format!("waiting for {name} ({ready} of {} ready)", self.names.len())
            }
        }
    }

    /// Redraws the status line (called on a timer while waiting).
    pub fn tick(&self) {
        if !self.options.progress {
            return;
        }
        let parts: Vec<String> = self
            .names
            .iter()
            .zip(&self.states)
            .map(|(n, s)| match s {
                State::Waiting => format!("{n} …"),
                State::NotReady(r) => format!("{n} ✗ {r}"),
                State::Ready => format!("{n} ✓"),
            })
            .collect();
        stderr::show(&format!(
            "readygate {:>6}  {}",
            show(self.start.elapsed()),
            parts.join("  │  ")
        ));
    }

    /// The final line(s): warnings for optional targets given up, then one line for the ending.
    pub fn finish(&mut self, outcome: &Outcome, program: Option<&str>) {
        stderr::clear();
        if let Some(v) = self.voice.as_mut() {
            Self::say(match outcome {
                Outcome::AllReady { elapsed, .. } => v.all_ready(*elapsed),
                Outcome::TimedOut { .. } | Outcome::NotReady { .. } => {
                    v.timed_out(self.start.elapsed(), program.is_some())
                }
                Outcome::Failed { index, reason } => v.failed(&self.names[*index], reason),
            });
            return;
        }
        match outcome {
            Outcome::AllReady { skipped, .. } => {
                for (i, reason) in skipped {
                    emit(&Event::OptionalNotReady {
                        target: &self.names[*i],
                        reason,
                    });
                }
                self.all_ready(outcome, program);
            }
            _ => self.ended(outcome),
        }
    }

    /// Every required target is ready.
    fn all_ready(&self, outcome: &Outcome, program: Option<&str>) {
        match outcome {
            Outcome::AllReady { skipped, .. } if self.options.check => {
                // Only what answered: an optional target given up above is not listed as ready.
                let ready = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !skipped.iter().any(|(s, _)| s == i))
                    .map(|(_, n)| n)
                    .collect::<Vec<_>>();
                emit(&Event::Healthy {
                    ready: &truncate(&list(ready.into_iter(), ", ")),
                });
            }
            Outcome::AllReady { elapsed, skipped } => emit(&Event::AllReady {
                elapsed: *elapsed,
                targets: self.names.len(),
                skipped: skipped.len(),
                program,
            }),
            _ => {}
        }
    }

    /// Every other ending.
    fn ended(&self, outcome: &Outcome) {
        let names = |pending: &[(usize, String)]| -> String {
            list(
                pending
                    .iter()
                    .map(|(i, r)| format!("{} ({r})", self.names[*i])),
                "; ",
            )
        };
        match outcome {
            Outcome::AllReady { .. } => {}
            Outcome::Failed { index, reason } => {
                let name = &self.names[*index];
                if self.options.check {
                    emit(&Event::Unhealthy {
                        failed: Some((name, reason)),
                        what: &truncate(&format!("{name} ({reason})")),
                    });
                } else {
                    emit(&Event::Failed {
                        target: name,
                        reason,
                    });
                }
            }
            Outcome::TimedOut { pending } if !self.options.check => {
                emit(&Event::Timeout {
                    elapsed: self.start.elapsed(),
                    after: self.deadline.unwrap_or_else(|| self.start.elapsed()),
                    pending: &names(pending),
                });
            }
            Outcome::TimedOut { pending } | Outcome::NotReady { pending } => {
                emit(&Event::Unhealthy {
                    failed: None,
                    what: &truncate(&names(pending)),
                });
            }
        }
    }

    pub fn interrupted(&self, signal_name: &str) {
        stderr::clear();
        // The tools say nothing when a signal ends them.
        if self.voice.is_some() {
            return;
        }
        emit(&Event::Interrupted {
            signal: signal_name,
        });
    }
}

/// Lists names for one line: the first few, then how many more (a start line for 10,000 targets
/// would otherwise be hundreds of kilobytes, more than a pipe holds).
pub(crate) fn list<T: std::fmt::Display>(
    items: impl ExactSizeIterator<Item = T>,
    separator: &str,
) -> String {
    const SHOWN: usize = 10;
    let total = items.len();
    let mut out: Vec<String> = items.take(SHOWN).map(|i| i.to_string()).collect();
    if total > SHOWN {
        out.push(format!("… and {} more", total - SHOWN));
    }
    out.join(separator)
}

/// Keeps healthcheck output far below Docker's 4096-byte limit.
fn truncate(s: &str) -> String {
    const MAX: usize = 1000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
