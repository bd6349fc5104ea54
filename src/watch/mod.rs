//! `--watch`: after the start. Instead of exec'ing the command in its place, readygate starts it
//! as a child and stays as its supervisor:
//! - **a correct PID 1** (or, when it is not PID 1, a child subreaper): every catchable signal is
//!   forwarded to the command (`--signal-group`: to its process group), every zombie is reaped —
//!   orphaned grandchildren too — and the command's exit status becomes readygate's (128+N when
//!   signal N killed it);
//! - **the targets keep being probed** every `--watch-interval`; one that stays not ready for
//!   `--lost-after` is *lost*: `--on-lost` reports it (and `/readyz` turns 503), stops the command
//!   and exits 1 (`exit`, so that the orchestrator restarts the container and the gate gates
//!   again), stops it, gates again and starts it again in place (`restart`), or sends it a signal
//!   (`signal:SIG`);
//! - **a dependency's new address** (its name resolves to another set of addresses: a recreated
//!   container) sends `--on-change` to the command — HUP makes nginx resolve its upstreams again;
//! - `--serve ADDR`: `/readyz`, `/livez`, `/metrics` ([`serve`]).
//!
//! Without a command it only watches and serves, until a signal ends it (a sidecar).
//!
//! Nothing here changes the default: without `--watch`, readygate execs the command in place.

mod child;
mod serve;
mod state;

use std::ffi::OsString;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use libc::c_int;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use crate::exit::{self, Ending};
use crate::plan::watch::{OnLost, WatchPlan};
use crate::report::{emit, Event};
use crate::schedule::Attempts;
use crate::verdict::Verdict;
use crate::wait::Prepared;
use child::Child;
use state::{Phase, Shared, State};

/// How long a command stopped for a restart may take before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Attempts of the watch loops in flight at once, whatever the number of targets.
const WATCH_ATTEMPTS: usize = 64;

/// Runs the supervisor; returns the exit status.
pub fn run(
    prepared: Prepared,
    plan: WatchPlan,
    command: Option<Vec<OsString>>,
    inherited: &crate::signal::Inherited,
    limits: &crate::startup::Limits,
) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            emit(&Event::Internal(&format!("cannot start the runtime: {e}")));
            return exit::code(Ending::Internal, false);
        }
    };
    let status = runtime.block_on(supervise(
        &prepared,
        &plan,
        command.as_deref(),
        inherited,
        limits,
    ));
    runtime.shutdown_background();
    status
}

/// Every signal the supervisor forwards, and SIGCHLD.
struct Signals {
    streams: Vec<(c_int, Signal)>,
}

impl Signals {
    /// Installed first: a forwarded signal's default action (SIGUSR1 ends a process) must never
    /// hit the supervisor. Signals the parent left ignored stay ignored.
    fn install(inherited: &crate::signal::Inherited) -> std::io::Result<Signals> {
        let mut streams = Vec::new();
        for (sig, _) in crate::signal::FORWARDED {
            if !inherited.ignores(sig) {
                streams.push((sig, signal(SignalKind::from_raw(sig))?));
            }
        }
        streams.push((libc::SIGCHLD, signal(SignalKind::child())?));
        Ok(Signals { streams })
    }

    async fn recv(&mut self) -> c_int {
        crate::signal::first_of(&mut self.streams).await
    }

    /// Forgets what arrived while the gate waited (the gate's own handlers acted on it).
    fn drain(&mut self) {
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        for (_, stream) in &mut self.streams {
            while stream.poll_recv(&mut cx).is_ready() {}
        }
    }
}

/// What the watch loops tell the supervisor.
#[derive(Debug)]
enum Change {
    Lost(usize, String),
    Back(usize),
    Moved {
        index: usize,
        name: String,
        addrs: Vec<IpAddr>,
    },
}

/// How a run of the command ended.
enum Next {
    Exit(i32),
    Restart,
}

async fn supervise(
    p: &Prepared,
    plan: &WatchPlan,
    command: Option<&[OsString]>,
    inherited: &crate::signal::Inherited,
    limits: &crate::startup::Limits,
) -> i32 {
    let mut signals = match Signals::install(inherited) {
        Ok(s) => s,
        Err(e) => {
            emit(&Event::Internal(&format!(
                "cannot install signal handlers: {e}"
            )));
            return exit::code(Ending::Internal, false);
        }
    };
    child::become_subreaper();
    let state = State::new(
        p.names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), p.probes.rules[i].optional))
            .collect(),
    );
    if let Some(addr) = plan.serve {
        match serve::bind(addr).await {
            Ok(listener) => {
                tokio::spawn(serve::serve(listener, state.clone()));
            }
            Err(e) => {
                crate::report::usage_error(
                    &e,
                    false,
                    p.output.format == crate::report::LogFormat::Json,
                );
                return exit::code(Ending::Usage, false);
            }
        }
    }
    let program = command.map(crate::exec::program_name);
    let mut first = true;
    loop {
        set_phase(&state, Phase::Gating);
        let warnings = if first {
            p.warnings.clone()
        } else {
            Vec::new()
        };
        first = false;
        let ending = crate::wait::gate_once(p, &warnings, program.as_deref(), inherited, &|r| {
            if let Ok(mut s) = state.lock() {
                s.record(r.index, &r.verdict);
            }
        })
        .await;
        if ending != Ending::Ready {
            return exit::code(ending, false);
        }
        signals.drain();
        let Some(command) = command else {
            set_phase(&state, Phase::Sidecar);
            emit(&Event::Watching {
                targets: p.names.len(),
                every: plan.interval,
            });
            return sidecar(p, plan, &state, &mut signals).await;
        };
        // The command shares stderr: it gets it back as it was; the supervisor keeps a
        // non-blocking way of its own to it.
        crate::report::stderr::detach_for_child();
        let child = match Child::spawn(command, plan.signal_group, limits) {
            Ok(c) => c,
            Err(e) => {
                let err = crate::exec::spawn_error(command, &e);
                emit(&Event::ExecFailed {
                    error: &err.to_string(),
                    before_waiting: false,
                });
                return exit::code(err.ending(), false);
            }
        };
        set_phase(&state, Phase::Running);
        emit(&Event::Started {
            program: program.as_deref().unwrap_or("the command"),
            pid: child.pid,
            targets: p.names.len(),
            every: plan.interval,
        });
        match run_child(p, plan, &state, &mut signals, child).await {
            Next::Exit(code) => return code,
            Next::Restart => {
                if let Ok(mut s) = state.lock() {
                    s.restarts += 1;
                }
            }
        }
    }
}

fn set_phase(state: &Shared, phase: Phase) {
    if let Ok(mut s) = state.lock() {
        s.phase = phase;
    }
}

/// The command runs: forward signals, reap, act on the watch loops' events.
async fn run_child(
    p: &Prepared,
    plan: &WatchPlan,
    state: &Shared,
    signals: &mut Signals,
    child: Child,
) -> Next {
    let (tx, mut events) = mpsc::unbounded_channel();
    let watching = watch_all(p, plan, state, &tx);
    tokio::pin!(watching);
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    // Why the command is being stopped, if the supervisor stops it.
    let mut stopping: Option<OnLost> = None;
    let mut terminating = false;
    let mut kill_at: Option<tokio::time::Instant> = None;
    loop {
        let kill_timer = async {
            match kill_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            sig = signals.recv() => {
                if sig != libc::SIGCHLD {
                    // Forwarded as it came; the command decides (Docker's grace period decides
                    // for one that ignores SIGTERM).
                    emit(&Event::Forwarded {
                        signal: crate::signal::name(sig),
                        pid: child.pid,
                    });
                    child.signal(sig);
                    if matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT) {
                        terminating = true;
                        set_phase(state, Phase::Stopping);
                    }
                    continue;
                }
            }
            _ = sweep.tick() => {}
            () = kill_timer => {
                emit(&Event::Killed {
                    pid: child.pid,
                    grace: STOP_GRACE,
                });
                child.signal(libc::SIGKILL);
                kill_at = None;
                continue;
            }
            Some(event) = events.recv() => {
                if let Some(action) = on_event(p, plan, state, Some(&child), event, stopping.is_some() || terminating) {
                    stopping = Some(action);
                    if action == OnLost::Restart {
                        kill_at = Some(tokio::time::Instant::now() + STOP_GRACE);
                    }
                }
                continue;
            }
            () = &mut watching => continue,
        }
        // A child ended (SIGCHLD, or the sweep): reap; was it the command?
        let Some(status) = child::reap(Some(child.pid)) else {
            continue;
        };
        let code = exit::code(Ending::CommandEnded(status), false);
        return match stopping {
            Some(OnLost::Restart) if !terminating => {
                emit(&Event::Restarting { status: code });
                Next::Restart
            }
            Some(OnLost::Exit) if !terminating => {
                emit(&Event::ExitLost { status: code });
                Next::Exit(exit::code(Ending::Lost, false))
            }
            _ => {
                emit(&Event::Exited { status: code });
                Next::Exit(code)
            }
        };
    }
}

/// Handles one event (`child`: the command, if there is one); returns the action that stops the
/// command — or, with no command, ends the sidecar — if one starts now.
fn on_event(
    p: &Prepared,
    plan: &WatchPlan,
    state: &Shared,
    child: Option<&Child>,
    event: Change,
    stopping: bool,
) -> Option<OnLost> {
    match event {
        Change::Back(i) => {
            emit(&Event::Back {
                target: &p.names[i],
            });
            None
        }
        Change::Moved { index, name, addrs } => {
            if let Ok(mut s) = state.lock() {
                s.moved(index);
            }
            let shown: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
            match (plan.on_change, child) {
                (Some(sig), Some(child)) if !stopping => {
                    emit(&Event::AddressChanged {
                        target: &p.names[index],
                        name: &name,
                        addresses: &shown.join(", "),
                        sent: Some((crate::signal::name(sig), child.pid)),
                    });
                    child.signal(sig);
                }
                _ => emit(&Event::AddressChanged {
                    target: &p.names[index],
                    name: &name,
                    addresses: &shown.join(", "),
                    sent: None,
                }),
            }
            None
        }
        Change::Lost(i, reason) => {
            let name = &p.names[i];
            let optional = p.probes.rules[i].optional;
            emit(&Event::Lost {
                target: name,
                reason: &reason,
                after: plan.lost_after,
            });
            if stopping || optional {
                return None;
            }
            // Without a command only `exit` acts (the plan refuses the others there).
            let Some(child) = child else {
                return (plan.on_lost == OnLost::Exit).then_some(OnLost::Exit);
            };
            match plan.on_lost {
                OnLost::Report => None,
                OnLost::Signal(sig) => {
                    emit(&Event::Sent {
                        signal: crate::signal::name(sig),
                        pid: child.pid,
                    });
                    child.signal(sig);
                    None
                }
                action @ (OnLost::Exit | OnLost::Restart) => {
                    emit(&Event::Stopping {
                        pid: child.pid,
                        target: name,
                    });
                    set_phase(state, Phase::Stopping);
                    child.signal(libc::SIGTERM);
                    Some(action)
                }
            }
        }
    }
}

/// No command: watch and serve until a signal ends it (or a loss, with `--on-lost exit`).
async fn sidecar(p: &Prepared, plan: &WatchPlan, state: &Shared, signals: &mut Signals) -> i32 {
    let (tx, mut events) = mpsc::unbounded_channel();
    let watching = watch_all(p, plan, state, &tx);
    tokio::pin!(watching);
    loop {
        tokio::select! {
            sig = signals.recv() => {
                if matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT | libc::SIGHUP) {
                    emit(&Event::Stopped {
                        signal: crate::signal::name(sig),
                    });
                    return exit::code(Ending::Signal(sig), false);
                }
                if sig == libc::SIGCHLD {
                    child::reap(None);
                }
            }
            Some(event) = events.recv() => {
                if on_event(p, plan, state, None, event, false).is_some() {
                    return exit::code(Ending::Lost, false);
                }
            }
            () = &mut watching => {}
        }
    }
}

/// Every target's watch loop, together (never ends).
async fn watch_all(
    p: &Prepared,
    plan: &WatchPlan,
    state: &Shared,
    tx: &mpsc::UnboundedSender<Change>,
) {
    let limit = tokio::sync::Semaphore::new(WATCH_ATTEMPTS);
    let loops = (0..p.names.len()).map(|i| watch_one(i, p, plan, state, tx, &limit));
    futures_util::future::join_all(loops).await;
}

/// One target: its names' addresses and an attempt, every `--watch-interval`.
async fn watch_one(
    i: usize,
    p: &Prepared,
    plan: &WatchPlan,
    state: &Shared,
    tx: &mpsc::UnboundedSender<Change>,
    limit: &tokio::sync::Semaphore,
) {
    let names = &p.hosts[i];
    let mut known: Vec<Option<Vec<IpAddr>>> = vec![None; names.len()];
    let mut down_since: Option<Instant> = None;
    let mut lost = false;
    loop {
        // The addresses first, so that the first look right after the start is the baseline.
        for (k, name) in names.iter().enumerate() {
            let Ok(mut addrs) = crate::net::resolve::lookup(name).await else {
                // Gone from DNS (the container is being recreated): no change until it is back.
                continue;
            };
            addrs.sort();
            addrs.dedup();
            match &known[k] {
                Some(old) if *old != addrs => {
                    known[k] = Some(addrs.clone());
                    let _ = tx.send(Change::Moved {
                        index: i,
                        name: name.clone(),
                        addrs,
                    });
                }
                Some(_) => {}
                None => known[k] = Some(addrs),
            }
        }
        let verdict = {
            let _permit = limit.acquire().await;
            match tokio::time::timeout(p.settings.attempt_timeout, p.probes.attempt(i)).await {
                Ok(v) => v,
                Err(_) => Verdict::costly(format!(
                    "no answer within {}",
                    crate::duration::show(p.settings.attempt_timeout)
                )),
            }
        };
        let ready = verdict.is_ready();
        if let Ok(mut s) = state.lock() {
            s.record(i, &verdict);
        }
        if ready {
            down_since = None;
            if lost {
                lost = false;
                let _ = tx.send(Change::Back(i));
            }
        } else {
            let since = *down_since.get_or_insert_with(Instant::now);
            if !lost && since.elapsed() >= plan.lost_after {
                lost = true;
                if let Ok(mut s) = state.lock() {
                    s.lose(i);
                }
                let _ = tx.send(Change::Lost(i, verdict.words()));
            }
        }
        tokio::time::sleep(plan.interval).await;
    }
}
