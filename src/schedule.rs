//! The scheduler: runs every target's attempts concurrently, with backoff, per-attempt timeouts and
//! the overall deadline. It knows no protocol: it sees only [`Verdict`]s, which is what lets it be
//! tested with scripted fake attempts under tokio's paused clock.
//!
//! It reports every attempt's verdict through a callback (the reporter decides what is worth a
//! line) and returns the [`Outcome`].
//!
//! All targets' loops are polled inside the caller's task (a `FuturesUnordered`), not spawned: a
//! target that wakes touches only its own loop, with no cross-task wake-up, no channel and no
//! allocation per attempt. While a gate waits, the kernel work of an attempt is most of its cost;
//! this keeps the rest near zero. Cancellation is by dropping: when the deadline passes, a target
//! fails permanently, or the caller stops polling (a signal arrived), every attempt in flight is
//! dropped and its sockets closed.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use crate::backoff::{Backoff, Policy};
use crate::verdict::Verdict;

/// Something that can make attempts for `count()` targets, by index.
pub trait Attempts {
    fn count(&self) -> usize;
    fn attempt(&self, index: usize) -> impl Future<Output = Verdict>;
}

/// How the scheduler runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `None`: wait forever (`--timeout 0`).
    pub deadline: Option<Duration>,
    pub attempt_timeout: Duration,
    pub policy: Policy,
    /// One attempt per target, then stop (`--check`).
    pub single_attempt: bool,
}

/// One attempt's result, as reported while waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub index: usize,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Since the scheduler started.
    pub elapsed: Duration,
    pub verdict: Verdict,
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AllReady {
        elapsed: Duration,
    },
    /// A target failed permanently; the others were abandoned.
    Failed {
        index: usize,
        reason: String,
    },
    /// The deadline passed; `(index, last reason)` of each target not ready.
    TimedOut {
        pending: Vec<(usize, String)>,
    },
    /// Single-attempt mode: these targets were not ready at their one attempt.
    NotReady {
        pending: Vec<(usize, String)>,
    },
}

/// Waits for every target; see the module doc.
///
/// One function (past 80 lines) on purpose: the loop's state (who is ready, each target's last
/// reason, how many remain, the deadline) is read and written both where the loops are polled
/// and where their reports are handled; split, it would travel in a struct for no gain.
pub async fn run<A: Attempts>(
    attempts: &A,
    settings: Settings,
    mut on_report: impl FnMut(&Report),
) -> Outcome {
    let start = Instant::now();
    let deadline_at = settings.deadline.map(|d| start + d);
    let count = attempts.count();
    // Reports are queued by the target loops and handled below, between polls.
    let queue: RefCell<Vec<Report>> = RefCell::new(Vec::with_capacity(count.min(64)));
    let seed = seed();
    let mut loops: FuturesUnordered<_> = (0..count)
        .map(|index| {
            let backoff = Backoff::new(
                settings.policy,
                seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            target_loop(
                attempts,
                index,
                settings,
                start,
                deadline_at,
                backoff,
                &queue,
            )
        })
        .collect();

    let mut ready = vec![false; count];
    let mut last: Vec<Option<String>> = vec![None; count];
    // Swapped with the queue so that neither buffer is freed and reallocated per attempt.
    let mut batch: Vec<Report> = Vec::with_capacity(count.min(64));
    let mut remaining = count;
    let mut deadline_sleep = pin!(async {
        match deadline_at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    });
    while remaining > 0 {
        // Drive the loops until one of them has queued a report (or all have ended).
        let progress = poll_fn(|cx| {
            while let Poll::Ready(Some(())) = loops.poll_next_unpin(cx) {}
            if queue.borrow().is_empty() && !loops.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        });
        tokio::select! {
            // Reports first: one that arrives together with the deadline still counts.
            biased;
            () = progress => {}
            () = &mut deadline_sleep => {
                return Outcome::TimedOut { pending: pending(&ready, &last) };
            }
        }
        // With thousands of targets, reports can arrive on every poll, so the branch above may
        // never see its turn: check the clock itself after each batch (below), and give the
        // runtime a chance to run other work (the signal watcher) when this task has used its
        // budget.
        tokio::task::consume_budget().await;
        std::mem::swap(&mut *queue.borrow_mut(), &mut batch);
        if batch.is_empty() && loops.is_empty() {
            break;
        }
        for report in batch.drain(..) {
            on_report(&report);
            let index = report.index;
            // Owned from here on: the reason moves instead of being copied on every attempt.
            match report.verdict {
                Verdict::Ready { .. } => {
                    if !ready[index] {
                        ready[index] = true;
                        remaining -= 1;
                    }
                }
                Verdict::Failed { reason } => {
                    return Outcome::Failed { index, reason };
                }
                Verdict::NotReady { reason, .. } => {
                    last[index] = Some(reason);
                    if settings.single_attempt {
                        remaining -= 1;
                    }
                }
            }
        }
        if remaining > 0 && deadline_at.is_some_and(|at| Instant::now() >= at) {
            return Outcome::TimedOut {
                pending: pending(&ready, &last),
            };
        }
    }
    if ready.iter().all(|r| *r) {
        Outcome::AllReady {
            elapsed: start.elapsed(),
        }
    } else if !settings.single_attempt {
        // Waiting loops end early only when the deadline cut their attempt.
        Outcome::TimedOut {
            pending: pending(&ready, &last),
        }
    } else {
        Outcome::NotReady {
            pending: pending(&ready, &last),
        }
    }
}

fn pending(ready: &[bool], last: &[Option<String>]) -> Vec<(usize, String)> {
    ready
        .iter()
        .enumerate()
        .filter(|(_, r)| !**r)
        .map(|(i, _)| {
            (
                i,
                last[i]
                    .clone()
                    .unwrap_or_else(|| "no answer yet (first attempt still running)".to_string()),
            )
        })
        .collect()
}

async fn target_loop<A: Attempts>(
    attempts: &A,
    index: usize,
    settings: Settings,
    start: Instant,
    deadline_at: Option<Instant>,
    mut backoff: Backoff,
    queue: &RefCell<Vec<Report>>,
) {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        // Every attempt is bounded by the attempt timeout AND the time left, so the deadline holds
        // even against a server that accepts and never answers.
        let left = deadline_at.map(|at| at.saturating_duration_since(Instant::now()));
        let budget = left.map_or(settings.attempt_timeout, |l| {
            l.min(settings.attempt_timeout)
        });
        let verdict = match tokio::time::timeout(budget, attempts.attempt(index)).await {
            Ok(v) => v,
            // Cut by the deadline, not by the attempt timeout: the wait is over, and the reason
            // the target was last seen not ready stays the one reported.
            Err(_) if budget < settings.attempt_timeout => return,
            Err(_) => Verdict::costly(format!(
                "no answer within {}",
                crate::duration::show(budget)
            )),
        };
        let retry = match &verdict {
            Verdict::NotReady {
                cost, retry_after, ..
            } if !settings.single_attempt => Some((*cost, *retry_after)),
            _ => None,
        };
        // Never borrowed across an await: the loops and the reader share one task.
        queue.borrow_mut().push(Report {
            index,
            attempt,
            elapsed: start.elapsed(),
            verdict,
        });
        let Some((cost, retry_after)) = retry else {
            return;
        };
        let delay = backoff.next_delay(cost, retry_after);
        tokio::time::sleep(delay).await;
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Scripted attempts: each target has a list of (how long the attempt takes, verdict); the last
    /// entry repeats forever. `Duration::MAX` means "hangs".
    struct Script {
        steps: Vec<Vec<(Duration, Verdict)>>,
        calls: Mutex<Vec<usize>>,
    }

    impl Script {
        fn new(steps: Vec<Vec<(Duration, Verdict)>>) -> Arc<Self> {
            let n = steps.len();
            Arc::new(Script {
                steps,
                calls: Mutex::new(vec![0; n]),
            })
        }
        fn calls(&self, i: usize) -> usize {
            self.calls.lock().unwrap()[i]
        }
    }

    impl Attempts for Script {
        fn count(&self) -> usize {
            self.steps.len()
        }
        fn attempt(&self, index: usize) -> impl Future<Output = Verdict> {
            let n = {
                let mut calls = self.calls.lock().unwrap();
                calls[index] += 1;
                calls[index] - 1
            };
            let steps = &self.steps[index];
            let (took, verdict) = steps[n.min(steps.len() - 1)].clone();
            async move {
                if took == Duration::MAX {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(took).await;
                verdict
            }
        }
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn settings(deadline_ms: u64) -> Settings {
        Settings {
            deadline: Some(MS(deadline_ms)),
            attempt_timeout: MS(1000),
            policy: Policy {
                interval: MS(50),
                max_interval: MS(2000),
            },
            single_attempt: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ready_after_refusals_within_one_interval_each() {
        let refused = (MS(0), Verdict::cheap("connection refused"));
        let script = Script::new(vec![vec![
            refused.clone(),
            refused,
            (MS(0), Verdict::ready(None)),
        ]]);
        let mut reports = vec![];
        let out = run(&*script, settings(10_000), |r| reports.push(r.clone())).await;
        let Outcome::AllReady { elapsed } = out else {
            panic!("{out:?}")
        };
        // Two cheap retries at 50ms ±20%.
        assert!(elapsed >= MS(80) && elapsed <= MS(120), "{elapsed:?}");
        assert_eq!(reports.len(), 3);
        assert_eq!(reports[2].attempt, 3);
        assert_eq!(script.calls(0), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn targets_run_in_parallel() {
        let slow = vec![(MS(1000), Verdict::ready(None))];
        let script = Script::new(vec![slow.clone(), slow.clone(), slow]);
        let mut s = settings(10_000);
        s.attempt_timeout = MS(5000);
        let out = run(&*script, s, |_| {}).await;
        assert_eq!(out, Outcome::AllReady { elapsed: MS(1000) });
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failure_ends_the_wait_at_once() {
        let script = Script::new(vec![
            vec![(MS(10), Verdict::failed("password authentication failed"))],
            vec![(Duration::MAX, Verdict::ready(None))],
        ]);
        let begin = Instant::now();
        let out = run(&*script, settings(30_000), |_| {}).await;
        assert_eq!(
            out,
            Outcome::Failed {
                index: 0,
                reason: "password authentication failed".into()
            }
        );
        assert_eq!(begin.elapsed(), MS(10));
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_holds_against_a_hanging_server() {
        let script = Script::new(vec![
            vec![(Duration::MAX, Verdict::ready(None))],
            vec![(MS(0), Verdict::ready(None))],
        ]);
        let mut s = settings(2500);
        s.attempt_timeout = MS(60_000);
        let begin = Instant::now();
        let out = run(&*script, s, |_| {}).await;
        assert_eq!(begin.elapsed(), MS(2500));
        let Outcome::TimedOut { pending } = out else {
            panic!("{out:?}")
        };
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0, 0);
        assert!(pending[0].1.contains("no answer"), "{pending:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_bounds_each_attempt_and_backs_off() {
        let script = Script::new(vec![vec![(Duration::MAX, Verdict::ready(None))]]);
        let mut s = settings(10_000);
        s.attempt_timeout = MS(1000);
        let mut reports = vec![];
        let out = run(&*script, s, |r| reports.push(r.clone())).await;
        assert!(matches!(out, Outcome::TimedOut { .. }));
        // Each attempt ends at 1s; costly backoff spaces them: far fewer than 10 attempts.
        assert!((4..=9).contains(&reports.len()), "{}", reports.len());
        assert!(reports.iter().all(|r| matches!(&r.verdict, Verdict::NotReady { reason, .. } if reason == "no answer within 1s")));
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_waits_as_long_as_needed() {
        let mut steps = vec![(MS(0), Verdict::costly("HTTP 503")); 40];
        steps.push((MS(0), Verdict::ready(None)));
        let script = Script::new(vec![steps]);
        let mut s = settings(0);
        s.deadline = None;
        let out = run(&*script, s, |_| {}).await;
        assert!(
            matches!(out, Outcome::AllReady { elapsed } if elapsed > Duration::from_secs(30)),
            "{out:?}"
        );
        assert_eq!(script.calls(0), 41);
    }

    #[tokio::test(start_paused = true)]
    async fn single_attempt_reports_not_ready_without_retrying() {
        let script = Script::new(vec![
            vec![(MS(5), Verdict::ready(None))],
            vec![(MS(5), Verdict::cheap("connection refused"))],
        ]);
        let mut s = settings(10_000);
        s.single_attempt = true;
        let out = run(&*script, s, |_| {}).await;
        assert_eq!(
            out,
            Outcome::NotReady {
                pending: vec![(1, "connection refused".into())]
            }
        );
        assert_eq!(script.calls(1), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let script = Script::new(vec![vec![
            (
                MS(0),
                Verdict::NotReady {
                    reason: "HTTP 503".into(),
                    cost: crate::verdict::Cost::Costly,
                    retry_after: Some(MS(1500)),
                },
            ),
            (MS(0), Verdict::ready(None)),
        ]]);
        let out = run(&*script, settings(10_000), |_| {}).await;
        assert_eq!(out, Outcome::AllReady { elapsed: MS(1500) });
    }
}
