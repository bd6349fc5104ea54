//! The gate's algorithm, top to bottom: parse → plan → wait (or get a signal) → exec or exit.
//!
//! `main.rs` only hands the arguments here and exits with what comes back; this function never
//! returns when the exec succeeds.

use std::cell::RefCell;
use std::ffi::OsString;
use std::time::Duration;

use crate::cli;
use crate::compat;
use crate::environ;
use crate::exec;
use crate::exit::{self, Ending};
use crate::explain;
use crate::notify;
use crate::plan::{Mode, Plan};
use crate::probe::Probe;
use crate::report::{self, Reporter};
use crate::schedule::Stability;
use crate::schedule::{self, Attempts, Outcome};
use crate::signal;
use crate::startup;
use crate::target::Rules;
use crate::verdict::Verdict;

/// Blocks the signals that end the wait, first thing in `main`, so that none is lost before the
/// handlers exist (see `signal.rs`).
pub fn block_signals() {
    signal::block_watched();
}

/// [`block_signals`] as a constructor that runs before `main` (libc calls only).
pub extern "C" fn block_signals_early() {
    signal::block_watched();
}

/// What another tool would have printed and its status, when it ends before any waiting.
fn say_and_exit(e: &compat::Exit) -> i32 {
    use std::io::Write;
    if !e.stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(e.stdout.as_bytes())
            .and_then(|()| out.flush());
    }
    if report::json_from_env() && !e.stderr.is_empty() {
        report::usage_error(e.stderr.trim_end(), false, true);
    } else {
        for line in e.stderr.lines() {
            report::stderr::print_line(line);
        }
    }
    e.status
}

/// Runs the gate with these arguments (`argv[0]` included); returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    // Before anything else: which signals did the parent leave ignored?
    let inherited = signal::record();
    // Invoked as another gate (wait-for-it, docker-compose-wait, …): its arguments said in ours,
    // and its voice for the lines and exit statuses.
    if let Some(message) = compat::unknown_mode(&args) {
        report::usage_error(&message, false, report::json_from_env());
        return exit::code(Ending::Usage, false);
    }
    let invocation = match compat::translate(args, &environ::process) {
        compat::Translation::Run(invocation) => invocation,
        compat::Translation::Exit(e) => return say_and_exit(&e),
    };
    let compat::Invocation { args, voice, once } = invocation;
    let mut plan = match parse(&args) {
        Ok(plan) => plan,
        Err(0) => return 0,
        Err(status) => {
            return voice
                .as_ref()
                .and_then(|v| v.status(Ending::Usage))
                .unwrap_or(status)
        }
    };
    plan.settings.single_attempt |= once;
    // Another tool's lines replace readygate's in text output (no status line either); JSON stays
    // readygate's.
    let speaks = voice.is_some() && plan.output.format == crate::cli::LogFormat::Text;
    plan.output.progress &= !speaks;
    report::init(&plan.output);
    for note in &plan.notes {
        tracing::warn!(event = "warning", "{note}");
    }
    let mut voice = voice;
    if speaks {
        for line in voice.as_mut().map(|v| v.prelude()).unwrap_or_default() {
            report::stderr::print_line(&line);
        }
    }
    // The tool's own exit statuses, where they differ from readygate's.
    let statuses: Vec<(Ending, i32)> = voice.as_ref().map_or(Vec::new(), |v| {
        [
            Ending::TimedOut,
            Ending::NotReady,
            Ending::Failed,
            Ending::Usage,
            Ending::NotFound,
            Ending::NotExecutable,
            Ending::Internal,
        ]
        .into_iter()
        .filter_map(|e| v.status(e).map(|s| (e, s)))
        .collect()
    });
    let status_of = |ending: Ending, check: bool| {
        statuses
            .iter()
            .find(|(e, _)| *e == ending)
            .map_or_else(|| exit::code(ending, check), |(_, s)| *s)
    };
    let check = plan.mode == Mode::Check;
    let command = match &plan.mode {
        Mode::Wait { command } => command.clone(),
        Mode::Check => None,
    };
    if plan.explain && !explain::print(&plan) {
        return exit::code(Ending::Internal, check);
    }
    // A command that cannot start is said now, not after a 30 s wait (and `--explain` says it too).
    if let Some(Err(err)) = command.as_deref().map(exec::check) {
        tracing::error!(event = "exec_failed", "{err}; not waiting");
        return status_of(exec_ending(&err), check);
    }
    if plan.explain {
        return 0;
    }
    let limits = match startup::prepare() {
        Ok(limits) => {
            let wanted = plan.targets.iter().map(|t| t.probe.slots() as usize).sum();
            crate::schedule::limit_attempts_to_descriptors(limits.descriptors, wanted);
            limits
        }
        Err(e) => {
            tracing::error!(event = "internal", "{e}");
            return exit::code(Ending::Internal, check);
        }
    };
    // A stderr that nobody reads must not freeze the wait; given back below on every path.
    report::stderr::nonblocking();
    if let Some(watching) = plan.watch.take() {
        let status = crate::watch::run(prepare(plan), watching, command, &inherited, &limits);
        report::stderr::restore();
        return status;
    }
    let ending = wait(
        plan,
        command.as_deref(),
        &inherited,
        voice.take().filter(|_| speaks),
    );
    // An --exec-check child killed by a cancelled attempt must not become the command's child.
    crate::probe::command::reap_killed();
    let status = match (ending, command) {
        (Ending::Ready, Some(command)) => {
            report::stderr::restore();
            startup::restore_for_exec(&limits);
            signal::restore_for_exec();
            let err = exec::exec(&command);
            tracing::error!(event = "exec_failed", "{err}");
            status_of(exec_ending(&err), check)
        }
        (ending, _) => status_of(ending, check),
    };
    report::stderr::restore();
    status
}

pub(crate) fn exec_ending(err: &exec::ExecError) -> Ending {
    match err {
        exec::ExecError::NotFound { .. } => Ending::NotFound,
        exec::ExecError::NotExecutable { .. } => Ending::NotExecutable,
    }
}

/// Arguments and environment → a validated plan, or the exit status of a usage error (printed).
fn parse(args: &[OsString]) -> Result<Plan, i32> {
    let check = cli::wants_check(args);
    let json = cli::wants_json(args);
    let usage = |message: &str| {
        report::usage_error(message, check, json);
        exit::code(Ending::Usage, check)
    };
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(None) => return Err(0),
        Err(Some(message)) => return Err(usage(&message)),
    };
    let env_targets = match std::env::var("READYGATE_TARGETS") {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(usage(
                "READYGATE_TARGETS is not valid UTF-8: check how it was written",
            ))
        }
    };
    let env_names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("READYGATE_"))
        .collect();
    Plan::build(
        cli,
        env_targets.as_deref(),
        &env_names,
        report::stderr::stderr_is_terminal(),
    )
    .map_err(|e| usage(&e.to_string()))
}

/// The plan as the waiting needs it: the probes with their rules, the timing, the names.
pub(crate) struct Prepared {
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

pub(crate) fn prepare(plan: Plan) -> Prepared {
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

/// Waits for every target (or a signal), reporting as it goes, then tears the runtime down.
fn wait(
    plan: Plan,
    command: Option<&[OsString]>,
    inherited: &signal::Inherited,
    voice: Option<Box<dyn compat::Voice>>,
) -> Ending {
    // One thread: name lookups run on threads of their own (see resolve.rs), nothing else blocks.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return Ending::Internal;
        }
    };
    let p = prepare(plan);
    let reporter = Reporter::new(p.names.clone(), p.output, voice);
    let program = command.map(exec::program_name);
    let ending = runtime.block_on(watch_and_wait(
        &p.probes,
        p.settings,
        reporter,
        (&p.warnings, program.as_deref(), p.pauses),
        inherited,
        &|_| {},
    ));
    // Tear the runtime down before exec: abort every task and close every socket now. Lookups still
    // blocked in getaddrinfo are abandoned, not waited for (execve or exit ends those threads).
    runtime.shutdown_background();
    ending
}

/// One wait for every target, inside a runtime that goes on (`--watch` gates again after a loss);
/// `tap` sees every report too.
pub(crate) async fn gate_once(
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
async fn watch_and_wait(
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
            tracing::error!("cannot install signal handlers: {e}");
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
            reporter.borrow().interrupted(signal::name(sig));
            return Ending::Signal(sig);
        }
        () = ticker => Ending::Internal,
        () = notifying => Ending::Internal,
    };
    if let (Ending::Ready, Some(pause)) = (ending, after) {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            sig = watch.recv() => {
                reporter.borrow().interrupted(signal::name(sig));
                return Ending::Signal(sig);
            }
        }
    }
    ending
}

/// Pauses before the first attempt and after every target is ready.
pub(crate) type Pauses = (Option<Duration>, Option<Duration>);

/// The probes as the scheduler sees them: attempts by index.
pub(crate) struct Probes {
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
