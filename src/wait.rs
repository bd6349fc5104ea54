//! One wait for every target, raced against signals, inside a runtime the caller owns: the
//! gate's single wait before the exec (`crate::gate`) and `--watch`'s waits after a loss
//! (`crate::watch`) both come here, so neither reaches into the other.
//!
//! Also the one place where a target's rules (`#down`, `#optional`, `#stable`,
//! `--retry-permanent`) meet its probe: [`Probes`], what the protocol-blind scheduler is given.

use std::cell::RefCell;
use std::time::Duration;

use crate::exit::Ending;
use crate::notify;
use crate::plan::Plan;
use crate::probe::Probe;
use crate::report::{self, Reporter};
use crate::schedule::{self, Attempts, Outcome, Stability};
use crate::signal;
use crate::target::Rules;
use crate::verdict::Verdict;

/// The plan as the waiting needs it: the probes with their rules, the timing, the names.
pub struct Prepared {
    pub probes: Probes,
    pub settings: schedule::Settings,
    pub names: Vec<String>,
    /// Each target's host names (for `--watch`'s address changes).
    pub hosts: Vec<Vec<String>>,
    pub output: report::OutputOptions,
    /// Printed once at start.
    pub warnings: Vec<String>,
    pub pauses: Pauses,
}

pub fn prepare(plan: Plan) -> Prepared {
    let Plan {
        targets,
        settings,
        retry_permanent,
        stable,
        pauses,
        output,
        ..
    } = plan;
    let names = targets.iter().map(|t| t.name.clone()).collect();
    let hosts = targets.iter().map(|t| t.hosts.clone()).collect();
    let warnings: Vec<String> = targets
        .iter()
        .flat_map(|t| {
            let probe = t
                .probe
                .warnings()
                .into_iter()
                .map(|w| format!("{}: {w}", t.name));
            t.notes.iter().cloned().chain(probe).collect::<Vec<_>>()
        })
        .collect();
    let rules = targets.iter().map(|t| t.rules).collect();
    let probes = Probes {
        probes: targets.into_iter().map(|t| t.probe).collect(),
        rules,
        stable,
        retry_permanent,
    };
    Prepared {
        probes,
        settings,
        names,
        hosts,
        output,
        warnings,
        pauses,
    }
}

/// One wait for every target, inside a runtime that goes on (`--watch` gates again after a loss);
/// `tap` sees every report too.
pub async fn gate_once(
    p: &Prepared,
    warnings: &[String],
    program: Option<&str>,
    inherited: &signal::Inherited,
    tap: &dyn Fn(&schedule::Report),
) -> Ending {
    let reporter = Reporter::new(p.names.clone(), p.output, None);
    watch_and_wait(
        &p.probes,
        p.settings,
        reporter,
        (warnings, program, p.pauses),
        inherited,
        tap,
    )
    .await
}

/// Inside the runtime: the signal watcher first, then the wait, raced against any signal.
///
/// One function (past 80 lines) on purpose: every await in it (the pause before, the wait with its
/// status line and systemd timers, the pause after) must be raced against the same signal watcher.
pub async fn watch_and_wait(
    probes: &Probes,
    settings: schedule::Settings,
    mut reporter: Reporter,
    (warnings, program, (before, after)): (&[String], Option<&str>, Pauses),
    inherited: &signal::Inherited,
    tap: &dyn Fn(&schedule::Report),
) -> Ending {
    let mut watch = match signal::Watch::install(inherited) {
        Ok(w) => w,
        Err(e) => {
            report::emit(&report::Event::Internal(&format!(
                "cannot install signal handlers: {e}"
            )));
            return Ending::Internal;
        }
    };
    // Sent before the handlers existed: it ends the wait now, before any probe and any
    // "starting" line (unblocking below delivers it to the handler, which is then unused).
    if let Some(sig) = signal::pending_watched(inherited) {
        signal::unblock_watched();
        reporter.interrupted(signal::name(sig));
        return Ending::Signal(sig);
    }
    signal::unblock_watched();
    if let Some(pause) = before {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            sig = watch.recv() => {
                reporter.interrupted(signal::name(sig));
                return Ending::Signal(sig);
            }
        }
    }
    reporter.start(settings.deadline, warnings);
    let progress = reporter.shows_progress();
    let notifier = notify::Notifier::from_env();
    let reporter = RefCell::new(reporter);
    // The RefCell is borrowed only inside synchronous callbacks of this one task, never across
    // an await, so the borrows cannot overlap.
    let wait = schedule::run(probes, settings, |r| {
        tap(r);
        reporter.borrow_mut().on_report(r)
    });
    let ticker = async {
        if !progress {
            return std::future::pending().await;
        }
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            reporter.borrow().tick();
        }
    };
    // systemd (NOTIFY_SOCKET): what the gate waits for, and more time before TimeoutStartSec.
    let notifying = async {
        let Some(notifier) = &notifier else {
            return std::future::pending().await;
        };
        let mut every = tokio::time::interval(notify::EVERY);
        loop {
            every.tick().await;
            notifier.waiting(&reporter.borrow().summary());
        }
    };
    let ending = tokio::select! {
        outcome = wait => {
            reporter.borrow_mut().finish(&outcome, program);
            match outcome {
                Outcome::AllReady { .. } => Ending::Ready,
                Outcome::Failed { .. } => Ending::Failed,
                Outcome::TimedOut { .. } => Ending::TimedOut,
                Outcome::NotReady { .. } => Ending::NotReady,
            }
        }
        sig = watch.recv() => {
            reporter.borrow_mut().interrupted(signal::name(sig));
            return Ending::Signal(sig);
        }
        () = ticker => Ending::Internal,
        () = notifying => Ending::Internal,
    };
    if let (Ending::Ready, Some(pause)) = (ending, after) {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            sig = watch.recv() => {
                reporter.borrow_mut().interrupted(signal::name(sig));
                return Ending::Signal(sig);
            }
        }
    }
    ending
}

/// Pauses before the first attempt and after every target is ready.
pub type Pauses = (Option<Duration>, Option<Duration>);

/// The probes as the scheduler sees them: attempts by index.
pub struct Probes {
    probes: Vec<Probe>,
    pub rules: Vec<Rules>,
    /// For targets without their own `#stable`.
    stable: Stability,
    retry_permanent: bool,
}

impl Attempts for Probes {
    fn count(&self) -> usize {
        self.probes.len()
    }

    fn stability(&self, index: usize) -> Stability {
        self.rules[index].stable.unwrap_or(self.stable)
    }

    fn optional(&self, index: usize) -> bool {
        self.rules[index].optional
    }

    fn slots(&self, index: usize) -> u32 {
        self.probes[index].slots()
    }

    async fn attempt(&self, index: usize) -> Verdict {
        let verdict = self.probes[index].attempt().await;
        let verdict = if self.rules[index].down {
            down(verdict)
        } else {
            verdict
        };
        match verdict {
            // Downgrade "permanent" to "not yet" when asked, with backoff as for a server that said
            // no: the setup is expected to fix it (a role created by a migration job).
            Verdict::Failed { reason } if self.retry_permanent => Verdict::costly(reason),
            verdict => verdict,
        }
    }
}

/// `#down`: ready when nothing answers — a refused connection, an unreachable host, a name that
/// does not resolve, no socket or file, silence. Any answer at all (a "not yet" such as HTTP 503,
/// PostgreSQL 57P03 "shutting down" or Redis `LOADING`, an error, a wrong password) means something
/// is still there.
fn down(verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::NotReady {
            reason, gone: true, ..
        } => Verdict::ready(format!("down: {reason}")),
        Verdict::Ready { detail } => Verdict::costly(format!(
            "still up ({}); waiting for it to go down",
            detail.as_deref().unwrap_or("it answers")
        )),
        Verdict::Failed { reason } | Verdict::NotReady { reason, .. } => Verdict::costly(format!(
            "still up (it answered: {reason}); waiting for it to go down"
        )),
    }
}
