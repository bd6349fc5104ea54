//! Another tool's voice: in a drop-in mode (`crate::compat`), the lines that tool prints at each
//! step of the wait replace the gate's own. Defined here, where the lines are written, and spoken
//! by each mode; so the reports never reach up into the modes.

use std::time::Duration;

use super::Event;
use crate::exit::Ending;

/// The lines another tool prints at each step of the wait, and the statuses it exits with. Every
/// method returns the lines to print on stderr (the tools print there too), already in the tool's
/// format; none of them may contain a secret (they are built from the tool's own arguments, which
/// name hosts and ports, and the gate's redacted target names).
pub trait Voice: std::fmt::Debug + Send {
    /// Before anything else, once the output is set up (warnings the tool prints while reading its
    /// configuration, a banner).
    fn prelude(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The wait begins (after any pause before it).
    fn start(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Target `index` (in the order the tool was given them) is ready.
    fn ready(&mut self, _index: usize, _detail: Option<&str>, _elapsed: Duration) -> Vec<String> {
        Vec::new()
    }
    /// An attempt at target `index` failed.
    fn not_ready(&mut self, _index: usize, _reason: &str, _elapsed: Duration) -> Vec<String> {
        Vec::new()
    }
    /// Every target is ready.
    fn all_ready(&mut self, _elapsed: Duration) -> Vec<String> {
        Vec::new()
    }
    /// The deadline passed. `command`: there was a command, which is not started.
    fn timed_out(&mut self, _elapsed: Duration, _command: bool) -> Vec<String> {
        Vec::new()
    }
    /// A target failed for good (readygate's reason; the tools themselves would have waited).
    fn failed(&mut self, name: &str, reason: &str) -> Vec<String> {
        vec![format!(
            "readygate: error: {name} failed: {reason}; not waiting"
        )]
    }
    /// The tool's lines for one of the gate's events: in a drop-in mode every event passes here
    /// instead of [`super::format::Format`]. The tools say nothing of warnings, of optional
    /// targets or of a signal.
    fn speak(&mut self, event: &Event<'_>) -> Vec<String> {
        match *event {
            Event::Start { .. } => self.start(),
            Event::Attempt {
                index,
                reason: Some(reason),
                elapsed,
                ..
            } => self.not_ready(index, reason, elapsed),
            Event::Ready {
                index,
                detail,
                elapsed,
                ..
            } => self.ready(index, detail, elapsed),
            Event::AllReady { elapsed, .. } => self.all_ready(elapsed),
            Event::Timeout {
                elapsed, command, ..
            }
            | Event::Unhealthy {
                failed: None,
                elapsed,
                command,
                ..
            } => self.timed_out(elapsed, command),
            Event::Failed { target, reason }
            | Event::Unhealthy {
                failed: Some((target, reason)),
                ..
            } => self.failed(target, reason),
            _ => Vec::new(),
        }
    }
    /// The exit status for an ending, where the tool's differs from readygate's.
    fn status(&self, _ending: Ending) -> Option<i32> {
        None
    }
}
