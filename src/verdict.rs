//! The vocabulary shared by the probes and the scheduler: what one attempt found out.
//!
//! A probe decides what a server's answer means (ready, not yet, never); the scheduler decides what
//! to do about it (stop, wait and retry, give up) without knowing any protocol.

use std::time::Duration;

/// How much a failed attempt cost the dependency, which sets how soon the next one may come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// The kernel answered (connection refused): retrying soon is harmless and finds a starting
    /// server within tens of milliseconds.
    Cheap,
    /// The server itself answered "not yet", a lookup failed, or the attempt timed out: back off
    /// exponentially with jitter so that many replicas do not stampede a recovering server.
    Costly,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The dependency can serve. `detail` says how we know (e.g. `HTTP 200`).
    Ready { detail: Option<String> },
    /// Not yet; waiting may fix it.
    NotReady {
        reason: String,
        cost: Cost,
        /// The server asked for a pause (HTTP `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Waiting will not fix it on its own (wrong password, certificate rejected): fail fast.
    Failed { reason: String },
}

impl Verdict {
    pub fn ready(detail: impl Into<Option<String>>) -> Self {
        Verdict::Ready {
            detail: detail.into(),
        }
    }
    pub fn cheap(reason: impl Into<String>) -> Self {
        Verdict::NotReady {
            reason: reason.into(),
            cost: Cost::Cheap,
            retry_after: None,
        }
    }
    pub fn costly(reason: impl Into<String>) -> Self {
        Verdict::NotReady {
            reason: reason.into(),
            cost: Cost::Costly,
            retry_after: None,
        }
    }
    pub fn failed(reason: impl Into<String>) -> Self {
        Verdict::Failed {
            reason: reason.into(),
        }
    }
}
