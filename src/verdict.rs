//! The vocabulary shared by the probes and the scheduler: what one attempt found out.
//!
//! A probe decides what a server's answer means (ready, not yet, never); the scheduler decides what
//! to do about it (stop, wait and retry, give up) without knowing any protocol.

use std::time::Duration;

/// How much a failed attempt cost the dependency, which sets how soon the next one may come.
///
/// Ordered from cheapest to costliest: where several failures make one (a group of targets), the
/// costliest sets the pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cost {
    /// The kernel answered (connection refused): retrying soon is harmless and finds a starting
    /// server within tens of milliseconds.
    Cheap,
    /// The resolver answered that the name does not exist (yet): the normal state of a compose
    /// service whose container is not created yet. An answer, not a silence, so waiting longer and
    /// longer would only make the gate notice the name late; but each retry is a query to a DNS
    /// server, so it is spaced further apart than a refused SYN (see `backoff::LOOKUP_FLOOR`).
    Absent,
    /// The server itself answered "not yet", the resolver failed or did not answer, or the attempt
    /// timed out: back off exponentially with jitter so that many replicas do not stampede a
    /// recovering server.
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
        /// Nothing answered at all: no connection (refused, unreachable), no such name, no socket
        /// or file, or silence until the attempt's timeout. Any answer, even "not yet", is not
        /// this: it is what `#down` tells apart (see `gate::down`).
        gone: bool,
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
        Self::not_ready(reason, Cost::Cheap, false)
    }
    pub fn costly(reason: impl Into<String>) -> Self {
        Self::not_ready(reason, Cost::Costly, false)
    }
    /// Nothing answered (see `NotReady::gone`), at this cost.
    pub fn gone(reason: impl Into<String>, cost: Cost) -> Self {
        Self::not_ready(reason, cost, true)
    }
    fn not_ready(reason: impl Into<String>, cost: Cost, gone: bool) -> Self {
        Verdict::NotReady {
            reason: reason.into(),
            cost,
            retry_after: None,
            gone,
        }
    }
    pub fn is_ready(&self) -> bool {
        matches!(self, Verdict::Ready { .. })
    }
    /// What the attempt found, in words: the detail of a success, the reason of anything else.
    pub fn words(&self) -> String {
        match self {
            Verdict::Ready { detail } => detail.clone().unwrap_or_else(|| "ready".into()),
            Verdict::NotReady { reason, .. } | Verdict::Failed { reason } => reason.clone(),
        }
    }
    pub fn failed(reason: impl Into<String>) -> Self {
        Verdict::Failed {
            reason: reason.into(),
        }
    }
}
