//! Signals while waiting, and a clean signal state for the command after exec.
//!
//! While waiting, SIGTERM, SIGINT, SIGHUP and SIGQUIT end the gate at once with 128+N. This matters
//! most as PID 1 in a container: the kernel delivers to PID 1 only the signals it has a handler for,
//! so without these handlers `docker stop` would wait out its grace period and SIGKILL.
//!
//! The four signals are blocked first thing in `main` ([`block_watched`]) and unblocked only once
//! the handlers exist ([`unblock_watched`]): a `docker stop` in the first millisecond stays pending
//! instead of being lost. A signal already pending then (sent early, or left pending by a parent
//! that had it blocked) ends the wait at once with 128+N, before any target is probed and before
//! anything is started ([`pending_watched`]).
//!
//! A signal that was already IGNORED when the gate started (a shell does that for `cmd &`) is left
//! alone, and stays ignored for the command.
//!
//! Before exec ([`restore_for_exec`]): SIGPIPE goes back to default (Rust's runtime ignores it at
//! start-up, and an ignored SIGPIPE would be inherited by the command), and the signal mask is
//! emptied. The watched signals need nothing: `execve` resets caught handlers to the default
//! itself, and leaves the ones the parent ignored ignored.

use std::future::poll_fn;
use std::io;
use std::task::Poll;

use libc::c_int;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// The signals that end the wait, with their names.
pub const WATCHED: [(c_int, &str); 4] = [
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
];

/// The signals a supervisor (`--watch`) forwards to its command: every one a process can catch
/// but SIGCHLD (the supervisor's own), SIGPIPE (Rust's runtime ignores it in the supervisor, and
/// a pipe of the supervisor's is none of the command's business) and the synchronous ones the
/// kernel raises on a fault.
pub const FORWARDED: [(c_int, &str); 18] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGCONT, "SIGCONT"),
    (libc::SIGTSTP, "SIGTSTP"),
    (libc::SIGTTIN, "SIGTTIN"),
    (libc::SIGTTOU, "SIGTTOU"),
    (libc::SIGURG, "SIGURG"),
    (libc::SIGXCPU, "SIGXCPU"),
    (libc::SIGXFSZ, "SIGXFSZ"),
    (libc::SIGVTALRM, "SIGVTALRM"),
    (libc::SIGPROF, "SIGPROF"),
    (libc::SIGWINCH, "SIGWINCH"),
    (libc::SIGPWR, "SIGPWR"),
];

/// A signal as people write it: `HUP`, `SIGHUP`, `hup` or its number; only those a process can be
/// sent and catch (see [`FORWARDED`]), so `KILL` and `STOP` are refused with the reason.
pub fn parse(text: &str) -> Result<c_int, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let named = if upper.starts_with("SIG") {
        upper.clone()
    } else {
        format!("SIG{upper}")
    };
    let found = match t.parse::<c_int>() {
        Ok(n) => FORWARDED.iter().find(|(s, _)| *s == n),
        Err(_) => FORWARDED.iter().find(|(_, n)| *n == named),
    };
    if let Some((sig, _)) = found {
        return Ok(*sig);
    }
    let why = match named.as_str() {
        "SIGKILL" | "SIGSTOP" => " (it cannot be caught, so it would not reload anything)",
        _ => "",
    };
    Err(format!(
        "'{}' is not a signal readygate sends{why}; one of HUP, INT, QUIT, USR1, USR2, TERM, WINCH, … (example: HUP)",
        crate::text::quote_short(t)
    ))
}

/// The dispositions found at start-up, before any handler was installed.
#[derive(Debug, Clone)]
pub struct Inherited {
    ignored: Vec<c_int>,
}

impl Inherited {
    /// Whether the parent left this signal ignored (it stays ignored, for the command too).
    pub fn ignores(&self, sig: c_int) -> bool {
        self.ignored.contains(&sig)
    }
}

/// Records which signals the parent left ignored (every one [`FORWARDED`] names). Call before
/// [`Watch::install`].
pub fn record() -> Inherited {
    let ignored = FORWARDED
        .iter()
        .map(|(sig, _)| *sig)
        .filter(|sig| {
            // SAFETY: sigaction is plain data, all-zero is a valid value.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: querying (null new action) writes only into `old`.
            let rc = unsafe { libc::sigaction(*sig, std::ptr::null(), &mut old) };
            rc == 0 && old.sa_sigaction == libc::SIG_IGN
        })
        .collect();
    Inherited { ignored }
}

fn watched_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for (sig, _) in WATCHED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Blocks the watched signals on the calling (main) thread; see the module doc.
pub fn block_watched() {
    let set = watched_set();
    // SAFETY: a valid, initialised set; the old mask is not needed (exec empties the mask).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Unblocks the watched signals; call once [`Watch::install`] succeeded.
pub fn unblock_watched() {
    let set = watched_set();
    // SAFETY: as in block_watched.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
}

/// The first watched signal that is pending (blocked and sent), if any, ignoring those the parent
/// left ignored.
pub fn pending_watched(inherited: &Inherited) -> Option<c_int> {
    // SAFETY: sigpending fills the set we pass; sigismember reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        if libc::sigpending(&mut set) != 0 {
            return None;
        }
        WATCHED
            .iter()
            .map(|(sig, _)| *sig)
            .find(|sig| !inherited.ignored.contains(sig) && libc::sigismember(&set, *sig) == 1)
    }
}

/// Waits for any watched signal.
#[derive(Debug)]
pub struct Watch {
    streams: Vec<(c_int, Signal)>,
}

impl Watch {
    /// Installs handlers (inside the runtime) for every watched signal not inherited as ignored.
    pub fn install(inherited: &Inherited) -> io::Result<Watch> {
        let mut streams = Vec::new();
        for (sig, _) in WATCHED {
            if !inherited.ignored.contains(&sig) {
                streams.push((sig, signal(SignalKind::from_raw(sig))?));
            }
        }
        Ok(Watch { streams })
    }

    /// Resolves with the number of the first signal received.
    pub async fn recv(&mut self) -> c_int {
        first_of(&mut self.streams).await
    }
}

/// The number of the first signal any of `streams` receives.
pub async fn first_of(streams: &mut [(c_int, Signal)]) -> c_int {
    poll_fn(|cx| {
        for (sig, stream) in streams.iter_mut() {
            if stream.poll_recv(cx).is_ready() {
                return Poll::Ready(*sig);
            }
        }
        Poll::Pending
    })
    .await
}

/// The conventional name of a signal readygate handles.
pub fn name(sig: c_int) -> &'static str {
    FORWARDED
        .iter()
        .find(|(s, _)| *s == sig)
        .map_or("a signal", |(_, n)| n)
}

/// Puts the signal state back as the command should inherit it (see the module doc).
///
/// What `execve(2)` already does is not repeated: handlers that were caught (the watched signals)
/// are reset to the default by the kernel, and signals ignored by the parent stay ignored. What it
/// does not do is done here: SIGPIPE, which Rust's runtime set to ignored at start-up, goes back to
/// the default (an ignored SIGPIPE would be inherited by the command), and the signal mask, which
/// `execve` keeps, is emptied.
pub fn restore_for_exec() {
    // SAFETY: a zeroed sigaction with an empty mask and the plain SIG_DFL handler is valid.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGPIPE, &action, std::ptr::null_mut());
    }
    // SAFETY: an empty, initialised set; SIG_SETMASK on the calling (main) thread, whose mask the
    // new program inherits.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}
