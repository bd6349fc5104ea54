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
use crate::verdict::{Cost, Verdict};

/// The slots ([`Settings::in_flight`]) that `descriptors` allow for attempts that want `wanted`
/// at once: each attempt needs a socket, a TLS or happy-eyeballs attempt briefly two, and a
/// reserve stays for the runtime, lookups and stderr. `None` when there are enough for all.
pub fn slots_for_descriptors(descriptors: u64, wanted: usize) -> Option<u32> {
    let slots = (descriptors.saturating_sub(64) / 2).max(8);
    (slots < wanted as u64).then_some(u32::try_from(slots).unwrap_or(u32::MAX))
}

/// Something that can make attempts for `count()` targets, by index.
pub trait Attempts {
    fn count(&self) -> usize;
    fn attempt(&self, index: usize) -> impl Future<Output = Verdict>;
    /// How many successes make a target ready.
    fn stability(&self, _index: usize) -> Stability {
        Stability::Once
    }
    /// An optional target is waited for until the deadline, then given up with a warning; its
    /// permanent failure is a warning too. It never holds the command back past the deadline.
    fn optional(&self, _index: usize) -> bool {
        false
    }
    /// How many slots (pairs of descriptors) an attempt holds at its peak.
    fn slots(&self, _index: usize) -> u32 {
        1
    }
}

/// When a target counts as ready: "up once is not up" for a server that restarts during its
/// initialisation, or a proxy that accepts before its backend listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// At its first successful attempt (the default).
    Once,
    /// After this many successful attempts in a row (like Kubernetes' `successThreshold`).
    InARow(u32),
    /// After successful attempts without a failure in between for at least this long.
    HeldFor(Duration),
}

/// Parses a stability: `N` successes in a row, or a duration to stay up (`#stable=2s`).
pub fn parse_stability(value: &str) -> Result<Stability, String> {
    let bad = || {
        format!(
            "'{}' is not a stability: a number of successes in a row, or how long to stay up (examples: 3, 2s)",
            crate::text::quote_short(value)
        )
    };
    if let Ok(n) = value.trim().parse::<u32>() {
        return match n {
            0 => Err(bad()),
            1 => Ok(Stability::Once),
            n => Ok(Stability::InARow(n)),
        };
    }
    if value.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    match crate::duration::parse(value) {
        Ok(d) if !d.is_zero() => Ok(Stability::HeldFor(d)),
        _ => Err(bad()),
    }
}

impl Stability {
    /// Whether `successes` in a row, the first `held` ago, are enough.
    fn reached(self, successes: u32, held: Duration) -> bool {
        match self {
            Stability::Once => true,
            Stability::InARow(n) => successes >= n,
            Stability::HeldFor(d) => successes > 1 && held >= d,
        }
    }

    /// Said while the streak is not long enough yet (one line per target, not per attempt).
    fn waiting(self) -> String {
        match self {
            Stability::Once => String::new(),
            Stability::InARow(n) => format!("up, until it answers {n} times in a row"),
            Stability::HeldFor(d) => {
                format!("up, until it stays up for {}", crate::duration::show(d))
            }
        }
    }

    /// Added to the "ready" line.
    fn note(self, successes: u32) -> Option<String> {
        match self {
            Stability::Once => None,
            Stability::InARow(_) => Some(format!("{successes} in a row")),
            Stability::HeldFor(d) => Some(format!("up for {}", crate::duration::show(d))),
        }
    }
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
    /// At most this many slots (pairs of descriptors, see [`Attempts::slots`]) held by attempts
    /// in flight at once, when the gate has fewer descriptors than its targets want
    /// ([`slots_for_descriptors`]); `None`: every attempt runs when it is due. Waiting for a slot
    /// is fair (first come, first served) and not charged to the attempt's timeout: 5,000 targets
    /// under `ulimit -n 1024` are probed in turns, never "not ready" for lack of a descriptor of
    /// the gate's own.
    pub in_flight: Option<u32>,
}

/// One target as the wait sees it.
#[derive(Debug, Default)]
struct Standing {
    optional: bool,
    ready: bool,
    /// An optional target given up (a permanent failure): no longer waited for.
    given_up: bool,
    /// Why it was last not ready.
    last: Option<String>,
}

/// What every target's loop shares.
struct Common<'a> {
    settings: Settings,
    start: Instant,
    deadline_at: Option<Instant>,
    /// Reports, queued by the loops and handled by [`run`] between polls.
    queue: &'a RefCell<Vec<Report>>,
    /// The slots of [`Settings::in_flight`], and how many there are.
    slots: Option<(tokio::sync::Semaphore, u32)>,
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
    /// Every required target is ready; `skipped`: optional targets given up, with their reason.
    AllReady {
        elapsed: Duration,
        skipped: Vec<(usize, String)>,
    },
    /// A target failed permanently; the others were abandoned.
    Failed { index: usize, reason: String },
    /// The deadline passed; `(index, last reason)` of each required target not ready.
    TimedOut { pending: Vec<(usize, String)> },
    /// Single-attempt mode: these targets were not ready at their one attempt.
    NotReady { pending: Vec<(usize, String)> },
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
    let queue: RefCell<Vec<Report>> = RefCell::new(Vec::with_capacity(count.min(64)));
    let common = Common {
        settings,
        start,
        deadline_at,
        queue: &queue,
        slots: settings
            .in_flight
            .map(|n| (tokio::sync::Semaphore::new(n as usize), n)),
    };
    let seed = seed();
    let mut loops: FuturesUnordered<_> = (0..count)
        .map(|index| {
            let backoff = Backoff::new(
                settings.policy,
                seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            target_loop(attempts, index, &common, backoff)
        })
        .collect();

    let mut targets: Vec<Standing> = (0..count)
        .map(|i| Standing {
            optional: attempts.optional(i),
            ..Standing::default()
        })
        .collect();
    // Swapped with the queue so that neither buffer is freed and reallocated per attempt.
    let mut batch: Vec<Report> = Vec::with_capacity(count.min(64));
    let mut required = targets.iter().filter(|t| !t.optional).count();
    let mut open_optional = count - required;
    let mut deadline_sleep = pin!(async {
        match deadline_at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    });
    let end = |targets: &[Standing], required: usize| {
        if required == 0 {
            Outcome::AllReady {
                elapsed: start.elapsed(),
                skipped: pending(targets, true),
            }
        } else {
            Outcome::TimedOut {
                pending: pending(targets, false),
            }
        }
    };
    while required + open_optional > 0 {
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
            () = &mut deadline_sleep => return end(&targets, required),
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
            let target = &mut targets[index];
            let optional = target.optional;
            let done = |required: &mut usize, open_optional: &mut usize| {
                if optional {
                    *open_optional -= 1;
                } else {
                    *required -= 1;
                }
            };
            // Owned from here on: the reason moves instead of being copied on every attempt.
            match report.verdict {
                Verdict::Ready { .. } => {
                    if !target.ready && !target.given_up {
                        done(&mut required, &mut open_optional);
                        target.ready = true;
                    }
                }
                Verdict::Failed { reason } if target.optional => {
                    done(&mut required, &mut open_optional);
                    target.last = Some(reason);
                    target.given_up = true;
                }
                Verdict::Failed { reason } => {
                    return Outcome::Failed { index, reason };
                }
                Verdict::NotReady { reason, .. } => {
                    target.last = Some(reason);
                    if settings.single_attempt {
                        done(&mut required, &mut open_optional);
                    }
                }
            }
        }
        if required + open_optional > 0 && deadline_at.is_some_and(|at| Instant::now() >= at) {
            return end(&targets, required);
        }
    }
    let all_required = targets.iter().all(|t| t.ready || t.optional);
    if all_required {
        Outcome::AllReady {
            elapsed: start.elapsed(),
            skipped: pending(&targets, true),
        }
    } else if !settings.single_attempt {
        // Waiting loops end early only when the deadline cut their attempt.
        Outcome::TimedOut {
            pending: pending(&targets, false),
        }
    } else {
        Outcome::NotReady {
            pending: pending(&targets, false),
        }
    }
}

/// The optional (or the required) targets that are not ready, with their last reason.
fn pending(targets: &[Standing], optional: bool) -> Vec<(usize, String)> {
    targets
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.ready && t.optional == optional)
        .map(|(i, t)| {
            (
                i,
                t.last
                    .clone()
                    .unwrap_or_else(|| "no answer yet (first attempt still running)".to_string()),
            )
        })
        .collect()
}

async fn target_loop<A: Attempts>(
    attempts: &A,
    index: usize,
    common: &Common<'_>,
    mut backoff: Backoff,
) {
    let Common {
        settings,
        start,
        deadline_at,
        queue,
        ref slots,
    } = *common;
    let mut streak = Streak::new(attempts.stability(index));
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        // Every attempt is bounded by the attempt timeout AND the time left, so the deadline holds
        // even against a server that accepts and never answers.
        // A slot first, if descriptors are scarce (see `Settings::in_flight`); the wait for it
        // ends at the deadline too.
        let slot = match slots {
            None => None,
            Some((slots, total)) => {
                let wait = slots.acquire_many(attempts.slots(index).clamp(1, *total));
                let slot = match deadline_at {
                    Some(at) => match tokio::time::timeout_at(at, wait).await {
                        Ok(slot) => slot,
                        Err(_) => return,
                    },
                    None => wait.await,
                };
                slot.ok()
            }
        };
        // No attempt starts past the deadline. Starting one is not free: against a loopback
        // listener whose backlog is full, connect(2) itself spends milliseconds in the kernel, and
        // hundreds of attempts let go at once by freed slots used to push the end of the wait
        // seconds past the deadline (10,000 silent targets under `ulimit -n 1024`).
        if deadline_at.is_some_and(|at| Instant::now() >= at) {
            return;
        }
        let left = deadline_at.map(|at| at.saturating_duration_since(Instant::now()));
        let budget = left.map_or(settings.attempt_timeout, |l| {
            l.min(settings.attempt_timeout)
        });
        // Boxed: the attempt's state (a connect, a login) lives only while it runs, so a target
        // between attempts holds a pointer, not the largest attempt's state (10,000 waiting TCP
        // targets: 0.97 KiB each for their loops inline, measured with massif).
        let verdict = tokio::time::timeout(budget, Box::pin(attempts.attempt(index))).await;
        // The attempt's sockets are closed: the slot goes to the next target in line, not held
        // through this target's pause.
        drop(slot);
        let verdict = match verdict {
            Ok(v) => v,
            // Cut by the deadline, not by the attempt timeout: the wait is over, and the reason
            // the target was last seen not ready stays the one reported.
            Err(_) if budget < settings.attempt_timeout => return,
            // Silence until the attempt's end: nothing answered (`#down` takes it as gone).
            Err(_) => Verdict::gone(
                format!("no answer within {}", crate::duration::show(budget)),
                Cost::Costly,
            ),
        };
        let verdict = if settings.single_attempt {
            verdict
        } else {
            streak.judge(verdict)
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

/// Successful attempts in a row, and when the first of them was: what a stability counts.
struct Streak {
    stability: Stability,
    run: Option<(u32, Instant)>,
}

impl Streak {
    fn new(stability: Stability) -> Self {
        Streak {
            stability,
            run: None,
        }
    }

    /// A success short of the stability asked for is "not yet", retried after the interval; any
    /// other verdict breaks the streak.
    fn judge(&mut self, verdict: Verdict) -> Verdict {
        let Verdict::Ready { detail } = verdict else {
            self.run = None;
            return verdict;
        };
        let (n, since) = self.run.map_or((1, Instant::now()), |(n, s)| (n + 1, s));
        self.run = Some((n, since));
        if !self.stability.reached(n, since.elapsed()) {
            return Verdict::NotReady {
                reason: self.stability.waiting(),
                cost: Cost::Cheap,
                retry_after: None,
                gone: false,
            };
        }
        let detail = match (detail, self.stability.note(n)) {
            (Some(d), Some(n)) => Some(format!("{d}, {n}")),
            (d, n) => d.or(n),
        };
        Verdict::Ready { detail }
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
        stability: Stability,
        optional: Vec<usize>,
    }

    impl Script {
        fn new(steps: Vec<Vec<(Duration, Verdict)>>) -> Arc<Self> {
            let n = steps.len();
            Arc::new(Script {
                steps,
                calls: Mutex::new(vec![0; n]),
                stability: Stability::Once,
                optional: vec![],
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
        fn stability(&self, _: usize) -> Stability {
            self.stability
        }
        fn optional(&self, index: usize) -> bool {
            self.optional.contains(&index)
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
            in_flight: None,
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
        let Outcome::AllReady { elapsed, .. } = out else {
            panic!("{out:?}")
        };
        // Two cheap retries at 50ms ±20%.
        assert!(elapsed >= MS(80) && elapsed <= MS(120), "{elapsed:?}");
        assert_eq!(reports.len(), 3);
        assert_eq!(reports[2].attempt, 3);
        assert_eq!(script.calls(0), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_in_flight_stay_within_the_slots_given() {
        // Six targets whose one attempt takes 100 ms, two slots: three turns of two.
        let script = Script::new(vec![vec![(MS(100), Verdict::ready(None))]; 6]);
        let mut s = settings(10_000);
        s.in_flight = Some(2);
        let mut at = vec![];
        let out = run(&*script, s, |r| at.push(r.elapsed)).await;
        assert!(matches!(out, Outcome::AllReady { .. }), "{out:?}");
        at.sort();
        let turns: Vec<u128> = at.iter().map(|e| e.as_millis() / 100).collect();
        assert_eq!(turns, [1, 1, 2, 2, 3, 3], "{at:?}");
        // Without the bound, all six at once.
        let script = Script::new(vec![vec![(MS(100), Verdict::ready(None))]; 6]);
        let out = run(&*script, settings(10_000), |_| {}).await;
        let Outcome::AllReady { elapsed, .. } = out else {
            panic!("{out:?}")
        };
        assert!(elapsed < MS(150), "{elapsed:?}");
    }

    #[test]
    fn slots_follow_the_descriptors_left_after_a_reserve() {
        assert_eq!(slots_for_descriptors(1024, 5000), Some(480));
        assert_eq!(slots_for_descriptors(1024, 480), None);
        // Never fewer than 8, however few descriptors.
        assert_eq!(slots_for_descriptors(70, 100), Some(8));
        assert_eq!(slots_for_descriptors(u64::MAX, 10_000), None);
        assert_eq!(slots_for_descriptors(1 << 40, usize::MAX), Some(u32::MAX));
    }

    #[tokio::test(start_paused = true)]
    async fn targets_run_in_parallel() {
        let slow = vec![(MS(1000), Verdict::ready(None))];
        let script = Script::new(vec![slow.clone(), slow.clone(), slow]);
        let mut s = settings(10_000);
        s.attempt_timeout = MS(5000);
        let out = run(&*script, s, |_| {}).await;
        assert_eq!(
            out,
            Outcome::AllReady {
                elapsed: MS(1000),
                skipped: vec![]
            }
        );
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
            matches!(out, Outcome::AllReady { elapsed, .. } if elapsed > Duration::from_secs(30)),
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
                    gone: false,
                },
            ),
            (MS(0), Verdict::ready(None)),
        ]]);
        let out = run(&*script, settings(10_000), |_| {}).await;
        assert_eq!(
            out,
            Outcome::AllReady {
                elapsed: MS(1500),
                skipped: vec![]
            }
        );
    }

    fn script_with(
        steps: Vec<Vec<(Duration, Verdict)>>,
        stability: Stability,
        optional: Vec<usize>,
    ) -> Script {
        let n = steps.len();
        Script {
            steps,
            calls: Mutex::new(vec![0; n]),
            stability,
            optional,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stability_needs_successes_in_a_row_and_a_failure_restarts_the_count() {
        let up = (MS(0), Verdict::ready(None));
        let down = (MS(0), Verdict::cheap("connection reset by peer"));
        // Up twice, down (the init restart), then up for good.
        let script = script_with(
            vec![vec![up.clone(), up.clone(), down, up]],
            Stability::InARow(3),
            vec![],
        );
        let mut reports = vec![];
        let out = run(&script, settings(10_000), |r| reports.push(r.clone())).await;
        assert!(matches!(out, Outcome::AllReady { .. }), "{out:?}");
        // Attempts 1-2 up (not enough), 3 down, 4-6 up: ready at the 6th.
        assert_eq!(script.calls(0), 6);
        let last = reports.last().unwrap();
        assert_eq!(last.attempt, 6);
        assert_eq!(
            last.verdict,
            Verdict::Ready {
                detail: Some("3 in a row".into())
            }
        );
        assert!(reports[..5]
            .iter()
            .all(|r| matches!(r.verdict, Verdict::NotReady { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn stability_held_for_a_duration() {
        let script = script_with(
            vec![vec![(MS(0), Verdict::ready(None))]],
            Stability::HeldFor(MS(1000)),
            vec![],
        );
        let out = run(&script, settings(10_000), |_| {}).await;
        let Outcome::AllReady { elapsed, .. } = out else {
            panic!("{out:?}")
        };
        // Success at 0 and then every ~50 ms: ready at the first success 1 s after the first.
        assert!(elapsed >= MS(1000) && elapsed <= MS(1100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_bounds_stability_too() {
        // Up, down, up, down, …: never three in a row.
        let script = script_with(
            vec![vec![
                (MS(0), Verdict::ready(None)),
                (MS(0), Verdict::cheap("refused")),
                (MS(0), Verdict::ready(None)),
                (MS(0), Verdict::cheap("refused")),
                (MS(0), Verdict::ready(None)),
                (MS(0), Verdict::cheap("refused")),
            ]],
            Stability::InARow(3),
            vec![],
        );
        let out = run(&script, settings(250), |_| {}).await;
        assert!(matches!(out, Outcome::TimedOut { .. }), "{out:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn optional_targets_are_given_up_at_the_deadline_not_before() {
        let script = script_with(
            vec![
                vec![(MS(0), Verdict::ready(None))],
                vec![(MS(0), Verdict::cheap("connection refused"))],
            ],
            Stability::Once,
            vec![1],
        );
        let begin = Instant::now();
        let out = run(&script, settings(2000), |_| {}).await;
        assert_eq!(begin.elapsed(), MS(2000));
        assert_eq!(
            out,
            Outcome::AllReady {
                elapsed: MS(2000),
                skipped: vec![(1, "connection refused".into())]
            }
        );
        // Ready as soon as the optional one is, too.
        let script = script_with(
            vec![
                vec![(MS(0), Verdict::ready(None))],
                vec![(MS(300), Verdict::ready(None))],
            ],
            Stability::Once,
            vec![1],
        );
        let out = run(&script, settings(2000), |_| {}).await;
        assert_eq!(
            out,
            Outcome::AllReady {
                elapsed: MS(300),
                skipped: vec![]
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_optional_failure_is_no_failure_but_a_required_one_is() {
        let script = script_with(
            vec![
                vec![(MS(100), Verdict::ready(None))],
                vec![(MS(0), Verdict::failed("wrong password"))],
            ],
            Stability::Once,
            vec![1],
        );
        let out = run(&script, settings(5000), |_| {}).await;
        assert_eq!(
            out,
            Outcome::AllReady {
                elapsed: MS(100),
                skipped: vec![(1, "wrong password".into())]
            }
        );
        // A required target's timeout is not hidden by an optional one.
        let script = script_with(
            vec![
                vec![(MS(0), Verdict::cheap("refused"))],
                vec![(MS(0), Verdict::ready(None))],
            ],
            Stability::Once,
            vec![1],
        );
        let out = run(&script, settings(500), |_| {}).await;
        assert_eq!(
            out,
            Outcome::TimedOut {
                pending: vec![(0, "refused".into())]
            }
        );
    }
}
