//! Blocking system calls that may hang (`getaddrinfo` against a silent resolver, `stat` on a dead
//! network file system), made without letting them hang the gate.
//!
//! Each job runs on a thread of its own, and a [`Jobs`] registry keeps three rules:
//! - **one job per key at a time**: an attempt that finds its key's job still running (its own
//!   earlier one, abandoned when the attempt timed out, or another target's) waits for that one
//!   instead of starting another, so a call that never returns costs one thread per key, not one
//!   per attempt, and no key waits behind another key's jobs;
//! - **at most `max` threads** in flight; past that an attempt is "not ready" with the reason;
//! - **a thread that cannot be created** (a pids cgroup at its limit) is a reason to wait, never a
//!   panic.
//!
//! Threads start with every signal blocked, so that SIGTERM keeps reaching the main thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::watch;

/// A thread's stack: getaddrinfo with NSS modules needs more than a few pages.
const STACK: usize = 256 * 1024;

type InFlight<T> = watch::Receiver<Option<T>>;

/// The jobs of one kind (name lookups, file checks).
#[derive(Debug)]
pub struct Jobs<T> {
    /// What the jobs are, for messages: "name lookups".
    what: &'static str,
    max: usize,
    in_flight: Mutex<Option<HashMap<String, InFlight<T>>>>,
    threads: AtomicUsize,
}

impl<T: Clone + Send + Sync + 'static> Jobs<T> {
    pub const fn new(what: &'static str, max: usize) -> Self {
        Jobs {
            what,
            max,
            in_flight: Mutex::new(None),
            threads: AtomicUsize::new(0),
        }
    }

    /// Threads of this kind alive now.
    #[cfg(test)]
    pub fn threads(&self) -> usize {
        self.threads.load(Ordering::Relaxed)
    }

    /// The result of `job` for `key`: of the one already running for it, or of a new one.
    pub async fn run(
        &'static self,
        key: &str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let mut receiver = self.join_or_start(key, job)?;
        let answer = match receiver.wait_for(Option::is_some).await {
            Ok(answer) => answer.clone(),
            Err(_) => None,
        };
        answer.ok_or_else(|| format!("one of the {} ended without an answer", self.what))
    }

    fn join_or_start(
        &'static self,
        key: &str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<InFlight<T>, String> {
        let mut guard = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(receiver) = map.get(key) {
            return Ok(receiver.clone());
        }
        if self.threads.load(Ordering::Relaxed) >= self.max {
            return Err(format!(
                "{} {} are already waiting for an answer",
                self.max, self.what
            ));
        }
        let (sender, receiver) = watch::channel(None);
        let owned = key.to_string();
        self.threads.fetch_add(1, Ordering::Relaxed);
        let spawned = spawn_quietly(move || {
            let answer = job();
            // Forget the job before answering: an attempt that comes after this starts afresh.
            let mut guard = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(map) = guard.as_mut() {
                map.remove(&owned);
            }
            drop(guard);
            sender.send_replace(Some(answer));
            self.threads.fetch_sub(1, Ordering::Relaxed);
        });
        if let Err(e) = spawned {
            self.threads.fetch_sub(1, Ordering::Relaxed);
            return Err(format!(
                "cannot start a thread for {}: {}",
                self.what,
                crate::os::io_reason(&e)
            ));
        }
        map.insert(key.to_string(), receiver.clone());
        Ok(receiver)
    }
}

/// Spawns a thread with every signal blocked, so that signals keep reaching the main thread (whose
/// `epoll_wait` they must interrupt).
fn spawn_quietly(f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    // SAFETY: a full set, and the old mask restored right after the spawn (threads inherit the
    // mask of their creator).
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let spawned = std::thread::Builder::new()
            .name("offload".into())
            .stack_size(STACK)
            .spawn(f);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        spawned.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    static SLOW: Jobs<u32> = Jobs::new("test jobs", 4);

    #[tokio::test]
    async fn one_job_per_key_and_a_bound_on_threads() {
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let g = gate.clone();
        let first = SLOW.run("a", move || {
            g.wait();
            1
        });
        // A second request for "a" while the first runs joins it (its job is never run).
        let second = SLOW.run("a", || 2);
        let release = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(SLOW.threads(), 1);
            let gate = gate.clone();
            tokio::task::spawn_blocking(move || gate.wait())
                .await
                .unwrap();
        };
        let (a, b, ()) = tokio::join!(first, second, release);
        assert_eq!((a, b), (Ok(1), Ok(1)));
    }
}
