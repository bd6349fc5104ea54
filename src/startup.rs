//! What the process needs before anything else runs, and gives back before exec: the standard
//! descriptors, the descriptor limit.
//!
//! - **fds 0–2.** Rust's runtime opens `/dev/null` on a closed 0, 1 or 2 before `main` and aborts
//!   when it cannot (a `FROM scratch` image has no `/dev/null`). [`sanitize_std_fds`] runs earlier,
//!   from `.init_array`: it fills a closed standard descriptor with `/dev/null`, or where there is
//!   none with a read-only descriptor of `/` (writes to it fail harmlessly), so no socket can ever
//!   become fd 2 and receive log lines. Placeholders of `/` are closed again before exec: the
//!   command gets the descriptors its parent gave.
//! - **The descriptor limit.** The soft `RLIMIT_NOFILE` is raised to the hard limit while waiting
//!   (thousands of targets need thousands of sockets) and put back before exec, so the command
//!   inherits the limit it was given. Too few descriptors to work at all is a clear error.

use std::sync::atomic::{AtomicU8, Ordering};

/// Bit N set: fd N was closed at start and now holds a placeholder of `/`.
static PLACEHOLDERS: AtomicU8 = AtomicU8::new(0);

/// Fills closed standard descriptors (see the module doc). Runs before `main`: libc calls only.
pub extern "C" fn sanitize_std_fds() {
    for fd in 0..3 {
        // SAFETY: fcntl(F_GETFD) only queries; open returns the lowest free descriptor, which is
        // `fd` since every lower one is open (checked in order).
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) != -1 {
                continue;
            }
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null == fd {
                continue;
            }
            if null >= 0 {
                libc::close(null);
            }
            let root = libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            if root == fd {
                PLACEHOLDERS.fetch_or(1 << fd, Ordering::Relaxed);
            } else if root >= 0 {
                libc::close(root);
            }
        }
    }
}

/// The descriptor limit as found at start, to give back before exec.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    nofile: Option<libc::rlimit>,
    /// The soft limit while waiting (raised, if it could be), for the scheduler's share.
    pub descriptors: u64,
}

/// The descriptor limit as it was found at start (async-signal-safe: a child of `--watch` calls it
/// between fork and exec).
pub fn restore_limit(limits: &Limits) {
    if let Some(lim) = limits.nofile {
        // SAFETY: restores the limit read at start.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

/// The fewest descriptors the gate needs to wait at all: the runtime's epoll, waker and signal
/// pipe, and a socket or two per attempt.
const MIN_FDS: usize = 8;

/// Raises the soft descriptor limit and checks that enough descriptors are free.
pub fn prepare() -> Result<Limits, String> {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    let original = unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0).then_some(lim)
    };
    // Unknown limit: as if there were plenty (the count below still checks the minimum).
    let mut descriptors = original.map_or(u64::MAX, |lim| lim.rlim_cur);
    if let Some(lim) = original {
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: as above; failure leaves the limit unchanged.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                descriptors = lim.rlim_max;
            }
        }
    }
    // Count free descriptors by taking them (and giving them back): what the limit allows minus
    // what the parent left open.
    let mut taken = Vec::with_capacity(MIN_FDS);
    while taken.len() < MIN_FDS {
        // SAFETY: duplicates fd 2, which sanitize_std_fds guarantees is open.
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            break;
        }
        taken.push(fd);
    }
    let free = taken.len();
    for fd in taken {
        // SAFETY: closes descriptors this function just opened.
        unsafe { libc::close(fd) };
    }
    if free < MIN_FDS {
        let limit = original.map_or("unknown".to_string(), |l| l.rlim_cur.to_string());
        return Err(format!(
            "too few file descriptors: only {free} free, at least {MIN_FDS} needed (ulimit -n is {limit})"
        ));
    }
    Ok(Limits {
        nofile: original,
        descriptors,
    })
}

/// Gives back what the command must inherit unchanged: the descriptor limit and closed standard
/// descriptors.
pub fn restore_for_exec(limits: &Limits) {
    restore_limit(limits);
    let placeholders = PLACEHOLDERS.load(Ordering::Relaxed);
    for fd in 0..3 {
        if placeholders & (1 << fd) != 0 {
            // SAFETY: closes a placeholder this module opened.
            unsafe { libc::close(fd) };
        }
    }
}
