//! The gate's algorithm, top to bottom: parse → plan → wait (or get a signal) → exec or exit.
//!
//! `main.rs` only hands the arguments here and exits with what comes back; this function never
//! returns when the exec succeeds.

use std::ffi::OsString;

use crate::cli;
use crate::compat;
use crate::environ;
use crate::exec;
use crate::exit::{self, Ending};
use crate::explain;
use crate::plan::{Mode, Plan};
use crate::report::voice::Voice;
use crate::report::{self, Reporter};
use crate::signal;
use crate::startup;
use crate::wait;

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

/// The invocation → the plan, and the voice of the tool it was invoked as (wait-for-it,
/// docker-compose-wait, …: its arguments said in ours, its lines and exit statuses); or the exit
/// status when it ends here (usage, `--help`, that tool's own early exits).
fn invocation(args: Vec<OsString>) -> Result<(Plan, Option<Box<dyn Voice>>), i32> {
    if let Some(message) = compat::unknown_mode(&args) {
        report::usage_error(&message, false, report::json_from_env());
        return Err(exit::code(Ending::Usage, false));
    }
    let invocation = match compat::translate(args, &environ::process) {
        compat::Translation::Run(invocation) => invocation,
        compat::Translation::Exit(e) => return Err(say_and_exit(&e)),
    };
    let compat::Invocation { args, voice, once } = invocation;
    let mut plan = match parse(&args) {
        Ok(plan) => plan,
        Err(0) => return Err(0),
        Err(status) => {
            return Err(voice
                .as_ref()
                .and_then(|v| v.status(Ending::Usage))
                .unwrap_or(status))
        }
    };
    plan.settings.single_attempt |= once;
    Ok((plan, voice))
}

/// The exit statuses of the tool a drop-in mode speaks as, where they differ from readygate's.
struct Statuses(Vec<(Ending, i32)>);

impl Statuses {
    fn of(voice: Option<&dyn Voice>) -> Self {
        Statuses(voice.map_or(Vec::new(), |v| {
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
        }))
    }

    fn status(&self, ending: Ending, check: bool) -> i32 {
        self.0
            .iter()
            .find(|(e, _)| *e == ending)
            .map_or_else(|| exit::code(ending, check), |(_, s)| *s)
    }
}

/// Runs the gate with these arguments (`argv[0]` included); returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    // Before anything else: which signals did the parent leave ignored?
    let inherited = signal::record();
    let (mut plan, voice) = match invocation(args) {
        Ok(planned) => planned,
        Err(status) => return status,
    };
    // Another tool's lines replace readygate's in text output (no status line either); JSON stays
    // readygate's.
    let speaks = voice.is_some() && plan.output.format == crate::report::LogFormat::Text;
    plan.output.progress &= !speaks;
    report::init(&plan.output);
    for note in &plan.notes {
        report::emit(&report::Event::Warning(note));
    }
    let mut voice = voice;
    if speaks {
        for line in voice.as_mut().map(|v| v.prelude()).unwrap_or_default() {
            report::stderr::print_line(&line);
        }
    }
    let statuses = Statuses::of(voice.as_deref());
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
        report::emit(&report::Event::ExecFailed {
            error: &err.to_string(),
            before_waiting: true,
        });
        return statuses.status(err.ending(), check);
    }
    if plan.explain {
        return 0;
    }
    let limits = match startup::prepare() {
        Ok(limits) => {
            let wanted = plan.targets.iter().map(|t| t.probe.slots() as usize).sum();
            plan.settings.in_flight =
                crate::schedule::slots_for_descriptors(limits.descriptors, wanted);
            limits
        }
        Err(e) => {
            report::emit(&report::Event::Internal(&e.to_string()));
            return exit::code(Ending::Internal, check);
        }
    };
    if plan.arp {
        crate::net::arp::enable();
    }
    // A stderr that nobody reads must not freeze the wait; given back below on every path.
    report::stderr::nonblocking();
    if let Some(watching) = plan.watch.take() {
        let status = crate::watch::run(wait::prepare(plan), watching, command, &inherited, &limits);
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
    crate::probe::reap_killed();
    let status = match (ending, command) {
        (Ending::Ready, Some(command)) => {
            report::stderr::restore();
            startup::restore_for_exec(&limits);
            signal::restore_for_exec();
            let err = exec::exec(&command);
            report::emit(&report::Event::ExecFailed {
                error: &err.to_string(),
                before_waiting: false,
            });
            statuses.status(err.ending(), check)
        }
        (ending, _) => statuses.status(ending, check),
    };
    report::stderr::restore();
    status
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

/// Waits for every target (or a signal), reporting as it goes, then tears the runtime down.
fn wait(
    plan: Plan,
    command: Option<&[OsString]>,
    inherited: &signal::Inherited,
    voice: Option<Box<dyn crate::report::voice::Voice>>,
) -> Ending {
    // One thread: name lookups run on threads of their own (see resolve.rs), nothing else blocks.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            report::emit(&report::Event::Internal(&format!(
                "cannot start the runtime: {e}"
            )));
            return Ending::Internal;
        }
    };
    let p = wait::prepare(plan);
    let reporter = Reporter::new(p.names.clone(), p.output, voice);
    let program = command.map(exec::program_name);
    let ending = runtime.block_on(wait::watch_and_wait(
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
