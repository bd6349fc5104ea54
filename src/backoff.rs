//! The retry policy: pure arithmetic, no clock and no async, so it is tested exhaustively.
//!
//! - The first attempt is immediate (the scheduler does not ask for a delay before it).
//! - After a cheap failure (connection refused), wait `interval` (±20% jitter). A starting server
//!   is then noticed within about one interval, and a refused SYN costs the server nothing.
//! - After a costly failure (the server answered "not yet", the resolver failed or did not
//!   answer, an attempt timed out), the delay grows by half each time (×1.5) from `interval` up to `max_interval`, and a
//!   random point in the upper half of it is taken ("equal jitter"), so replicas that started
//!   together spread out. Why ×1.5 and not ×2: a server's own "not yet" often lasts only a few
//!   hundred milliseconds (PostgreSQL's start-up answers 57P03 until it is consistent), and a
//!   gentler growth notices its end sooner; the cap, not the growth rate, is what protects a
//!   server from a hundred replicas in a long outage.
//! - After "name not found" (the resolver answered: the compose service's container does not exist
//!   yet), wait `interval` but at least [`LOOKUP_FLOOR`] (±20%), with no growth: a name appears at
//!   an unknown moment, and a growing pause (it once reached 2 s) made the gate notice a new
//!   container up to 2 s late. The floor keeps each gate to about ten queries a second per name,
//!   a load any resolver (Docker's embedded one, a cluster's CoreDNS) takes from many replicas; a
//!   resolver that fails or does not answer is costly, not this.
//! - A cheap failure or a missing name resets the growth: the server went away and will come back
//!   from scratch.
//! - A server's own `Retry-After` is honoured as a floor, but never beyond `max_interval`: a
//!   `Retry-After: 3600` must not turn a 30 s deadline into a certain timeout (the scheduler also
//!   caps every delay at the deadline).

use std::time::Duration;

/// The shortest pause between two lookups of a name the resolver said does not exist: about ten
/// queries a second per name, and a new name noticed within ~50 ms on average.
pub const LOOKUP_FLOOR: Duration = Duration::from_millis(100);

/// The validated policy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub interval: Duration,
    pub max_interval: Duration,
}

/// Backoff state for one target.
#[derive(Debug)]
pub struct Backoff {
    policy: Policy,
    costly_streak: u32,
    rng: u64,
}

impl Backoff {
    /// `seed` only spreads replicas apart; it needs no cryptographic quality.
    pub fn new(policy: Policy, seed: u64) -> Self {
        Backoff {
            policy,
            costly_streak: 0,
            rng: seed | 1,
        }
    }

    /// The pause before the next attempt after a failure.
    pub fn next_delay(
        &mut self,
        cost: crate::verdict::Cost,
        retry_after: Option<Duration>,
    ) -> Duration {
        let delay = match cost {
            crate::verdict::Cost::Cheap => {
                self.costly_streak = 0;
                // ±20%: keeps many gates from probing in lock-step.
                self.policy.interval.mul_f64(0.8 + 0.4 * self.unit())
            }
            crate::verdict::Cost::Absent => {
                self.costly_streak = 0;
                // `--max-interval` below the floor is an explicit wish for speed: honoured.
                let floor = LOOKUP_FLOOR.min(self.policy.max_interval);
                self.policy
                    .interval
                    .max(floor)
                    .mul_f64(0.8 + 0.4 * self.unit())
            }
            crate::verdict::Cost::Costly => {
                let ceiling = ceiling(self.policy, self.costly_streak);
                self.costly_streak = self.costly_streak.saturating_add(1);
                ceiling.mul_f64(0.5 + 0.5 * self.unit())
            }
        };
        match retry_after {
            Some(floor) => delay.max(floor.min(self.policy.max_interval)),
            None => delay,
        }
    }

    /// A number in [0, 1) from xorshift64*.
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The ceiling of the `streak`-th costly delay: `interval × 1.5^streak`, capped at `max_interval`
/// (computed in floating point and checked, so no input can overflow it).
fn ceiling(policy: Policy, streak: u32) -> Duration {
    let secs = policy.interval.as_secs_f64() * 1.5f64.powi(streak.min(200) as i32);
    Duration::try_from_secs_f64(secs)
        .unwrap_or(Duration::MAX)
        .min(policy.max_interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Cost;

    const P: Policy = Policy {
        interval: Duration::from_millis(50),
        max_interval: Duration::from_secs(2),
    };

    #[test]
    fn cheap_stays_near_interval() {
        let mut b = Backoff::new(P, 42);
        for _ in 0..1000 {
            let d = b.next_delay(Cost::Cheap, None);
            assert!(
                d >= Duration::from_millis(40) && d <= Duration::from_millis(60),
                "{d:?}"
            );
        }
    }

    #[test]
    fn costly_grows_by_half_to_cap_with_equal_jitter() {
        let mut b = Backoff::new(P, 7);
        let mut delays = vec![];
        for _ in 0..14 {
            let d = b.next_delay(Cost::Costly, None);
            delays.push(d);
        }
        // Step n lies in [c/2, c] where c = min(50ms × 1.5^n, 2s): 50, 75, 112.5, 168.75 ms, …
        let expected_ms = [50.0, 75.0, 112.5, 168.75, 253.125];
        for (n, want) in expected_ms.iter().enumerate() {
            assert_eq!(ceiling(P, n as u32), Duration::from_secs_f64(want / 1000.0));
        }
        for (n, d) in delays.iter().enumerate() {
            let c =
                Duration::from_secs_f64(0.05 * 1.5f64.powi(n as i32)).min(Duration::from_secs(2));
            assert!(
                *d >= c / 2 && *d <= c,
                "step {n}: {d:?} not in [{:?}, {c:?}]",
                c / 2
            );
        }
    }

    #[test]
    fn cheap_resets_streak() {
        let mut b = Backoff::new(P, 3);
        for _ in 0..10 {
            b.next_delay(Cost::Costly, None);
        }
        b.next_delay(Cost::Cheap, None);
        assert!(b.next_delay(Cost::Costly, None) <= Duration::from_millis(50));
    }

    #[test]
    fn a_missing_name_is_retried_at_a_steady_floor_that_never_grows() {
        let mut b = Backoff::new(P, 11);
        let delays: Vec<Duration> = (0..1000)
            .map(|_| b.next_delay(Cost::Absent, None))
            .collect();
        for d in &delays {
            assert!(
                *d >= Duration::from_millis(80) && *d <= Duration::from_millis(120),
                "{d:?}"
            );
        }
        // About ten lookups a second per name, no more.
        let per_second = 1000.0 / (delays.iter().sum::<Duration>().as_secs_f64());
        assert!((9.0..=11.0).contains(&per_second), "{per_second} lookups/s");
        // It resets a costly streak, as a refused connection does.
        for _ in 0..10 {
            b.next_delay(Cost::Costly, None);
        }
        b.next_delay(Cost::Absent, None);
        assert!(b.next_delay(Cost::Costly, None) <= Duration::from_millis(50));
    }

    #[test]
    fn the_lookup_floor_follows_a_longer_interval_and_yields_to_a_shorter_cap() {
        let slow = Policy {
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(2),
        };
        let d = Backoff::new(slow, 5).next_delay(Cost::Absent, None);
        assert!(
            d >= Duration::from_millis(800) && d <= Duration::from_millis(1200),
            "{d:?}"
        );
        let fast = Policy {
            interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(40),
        };
        let d = Backoff::new(fast, 5).next_delay(Cost::Absent, None);
        assert!(
            d >= Duration::from_millis(32) && d <= Duration::from_millis(48),
            "{d:?}"
        );
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_max_interval() {
        let mut b = Backoff::new(P, 9);
        assert_eq!(
            b.next_delay(Cost::Costly, Some(Duration::from_millis(1500))),
            Duration::from_millis(1500)
        );
        assert_eq!(
            b.next_delay(Cost::Costly, Some(Duration::from_secs(3600))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn the_longest_settings_do_not_overflow() {
        let huge = Policy {
            interval: crate::duration::MAX,
            max_interval: crate::duration::MAX,
        };
        let mut b = Backoff::new(huge, 1);
        for _ in 0..300 {
            assert!(b.next_delay(Cost::Costly, None) <= crate::duration::MAX);
            assert!(b.next_delay(Cost::Cheap, Some(Duration::MAX)) <= crate::duration::MAX * 2);
        }
    }

    #[test]
    fn jitter_spreads_replicas() {
        let delays: Vec<Duration> = (1..=20u64)
            .map(|seed| {
                let mut b = Backoff::new(P, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                for _ in 0..9 {
                    b.next_delay(Cost::Costly, None);
                }
                b.next_delay(Cost::Costly, None)
            })
            .collect();
        let min = delays.iter().min().unwrap();
        let max = delays.iter().max().unwrap();
        assert!(*max - *min > Duration::from_millis(200), "{min:?}..{max:?}");
    }
}
