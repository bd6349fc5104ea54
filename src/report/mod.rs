//! Everything the user sees, on stderr: one line when a target changes state, one when it becomes
//! ready, a final line, and on a terminal a live status line.
//!
//! The [`Reporter`] turns scheduler reports into [`Event`]s; [`format::Format`] renders every
//! event, of the wait and of everything else the gate says, as text or JSON, and in a drop-in mode
//! the tool's [`voice::Voice`] speaks the same events in that tool's words. It only ever holds
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
                elapsed: Duration::ZERO,
                command: false,
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

    /// Whether the live status line is drawn (the caller runs the timer that redraws it).
    pub fn shows_progress(&self) -> bool {
        self.options.progress
    }

    /// Healthcheck mode, with readygate's own lines (a drop-in voice speaks as its tool does).
    fn checking(&self) -> bool {
        self.options.check && self.voice.is_none()
    }

    pub fn start(&mut self, deadline: Option<Duration>, warnings: &[String]) {
        self.deadline = deadline;
        for w in warnings {
            say(&mut self.voice, &Event::Warning(w));
        }
        if self.voice.is_none() && (self.options.check || self.names.is_empty()) {
            return;
        }
        say(
            &mut self.voice,
            &Event::Start {
                names: &self.names,
                deadline,
            },
        );
    }

    pub fn on_report(&mut self, r: &Report) {
        let checking = self.checking();
        let name = &self.names[r.index];
        let attempt = |reason| Event::Attempt {
            index: r.index,
            target: name,
            attempt: r.attempt,
            reason,
            elapsed: r.elapsed,
        };
        match &r.verdict {
            Verdict::Ready { detail } => {
                say(&mut self.voice, &attempt(None));
                self.states[r.index] = State::Ready;
                if checking {
                    return;
                }
                say(
                    &mut self.voice,
                    &Event::Ready {
                        index: r.index,
                        target: name,
                        elapsed: r.elapsed,
                        attempts: r.attempt,
                        detail: detail.as_deref(),
                    },
                );
            }
            Verdict::NotReady { reason, .. } => {
                say(&mut self.voice, &attempt(Some(reason)));
                // Every attempt passes here (20 a second while a port is refused): allocate only
                // when the state changes.
                let unchanged =
                    matches!(&self.states[r.index], State::NotReady(old) if old == reason);
                if !unchanged {
                    if !checking {
                        say(
                            &mut self.voice,
                            &Event::NotReady {
                                target: name,
                                reason,
                                elapsed: r.elapsed,
                            },
                        );
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
        let states = self.names.iter().zip(&self.states).map(|(n, s)| {
            let state = match s {
                State::Waiting => None,
                State::NotReady(r) => Some(Err(r.as_str())),
                State::Ready => Some(Ok(())),
            };
            (n.as_str(), state)
        });
        stderr::show(&format::status_line(self.start.elapsed(), states));
    }

    /// The final line(s): warnings for optional targets given up, then one line for the ending.
    pub fn finish(&mut self, outcome: &Outcome, program: Option<&str>) {
        stderr::clear();
        let checking = self.checking();
        let names = |pending: &[(usize, String)]| -> String {
            list(
                pending
                    .iter()
                    .map(|(i, r)| format!("{} ({r})", self.names[*i])),
                "; ",
            )
        };
        let elapsed = self.start.elapsed();
        let command = program.is_some();
        let event = match outcome {
            Outcome::AllReady {
                elapsed: ready_after,
                skipped,
            } => {
                for (i, reason) in skipped {
                    say(
                        &mut self.voice,
                        &Event::OptionalNotReady {
                            target: &self.names[*i],
                            reason,
                        },
                    );
                }
                return self.all_ready(*ready_after, skipped, program);
            }
            Outcome::Failed { index, reason } if checking => {
                let name = &self.names[*index];
                Event::Unhealthy {
                    failed: Some((name, reason)),
                    what: &truncate(&format!("{name} ({reason})")),
                    elapsed,
                    command,
                }
            }
            Outcome::Failed { index, reason } => Event::Failed {
                target: &self.names[*index],
                reason,
            },
            Outcome::TimedOut { pending } if !checking => Event::Timeout {
                elapsed,
                after: self.deadline.unwrap_or(elapsed),
                pending: &names(pending),
                command,
            },
            Outcome::TimedOut { pending } | Outcome::NotReady { pending } => Event::Unhealthy {
                failed: None,
                what: &truncate(&names(pending)),
                elapsed,
                command,
            },
        };
        say(&mut self.voice, &event);
    }

    /// Every required target is ready.
    fn all_ready(&mut self, elapsed: Duration, skipped: &[(usize, String)], program: Option<&str>) {
        if self.checking() {
            // Only what answered: an optional target given up is not listed as ready.
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
            return;
        }
        say(
            &mut self.voice,
            &Event::AllReady {
                elapsed,
                targets: self.names.len(),
                skipped: skipped.len(),
                program,
            },
        );
    }

    pub fn interrupted(&mut self, signal_name: &str) {
        stderr::clear();
        say(
            &mut self.voice,
            &Event::Interrupted {
                signal: signal_name,
            },
        );
    }
}

/// Says one event: in readygate's words ([`emit`]), or in the drop-in tool's.
fn say(voice: &mut Option<Box<dyn voice::Voice>>, event: &Event<'_>) {
    match voice {
        Some(v) => {
            for line in v.speak(event) {
                stderr::print_line(&line);
            }
        }
        None => emit(event),
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
