//! Any-of groups: `kafka1:9092|kafka2:9092` is one target, ready as soon as any member is.
//!
//! Each attempt probes every member still in the running, all at once, and ends with the first
//! that is ready (the others' attempts are dropped, their sockets closed). A member that failed
//! permanently (a wrong password) is out for good; the group fails only when every member has.
//! Otherwise the group is "not ready", with each member's reason.

use std::sync::Mutex;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::Probe;
use crate::verdict::{Cost, Verdict};

/// How long the losing members' attempts may go on once one member is ready (see `attempt`).
const LINGER: std::time::Duration = std::time::Duration::from_millis(300);

#[derive(Debug)]
pub struct Group {
    /// Display name and probe of each member.
    members: Vec<(String, Probe)>,
    /// A member's permanent failure, once it has one.
    failed: Mutex<Vec<Option<String>>>,
    /// Probe a member that failed again at every attempt (`--retry-permanent`, `#down`): its
    /// failure is then a "not yet", or an answer that shows it is up, decided above the group.
    retry_failed: bool,
}

impl Group {
    pub fn new(members: Vec<(String, Probe)>) -> Self {
        let failed = Mutex::new(vec![None; members.len()]);
        Group {
            members,
            failed,
            retry_failed: false,
        }
    }

    /// See [`Group::retry_failed`].
    pub fn retry_failed_members(&mut self) {
        self.retry_failed = true;
    }

    /// The members' probes.
    pub fn probes(&self) -> impl Iterator<Item = &Probe> {
        self.members.iter().map(|(_, p)| p)
    }

    /// The members' probes (for settings that apply to each).
    pub fn probes_mut(&mut self) -> impl Iterator<Item = &mut Probe> {
        self.members.iter_mut().map(|(_, p)| p)
    }

    /// Each member and what its probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        let mut out = vec!["ready when any one of these is:".to_string()];
        for (name, probe) in &self.members {
            out.push(format!("{name}: {}", probe.explain().join("; ")));
        }
        out
    }

    /// The members' warnings, each with its member's name.
    pub fn warnings(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|(name, p)| {
                p.warnings()
                    .into_iter()
                    .map(move |w| format!("{name}: {w}"))
            })
            .collect()
    }

    pub async fn attempt(&self) -> Verdict {
        let out: Vec<bool> = {
            let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.iter().map(Option::is_some).collect()
        };
        // A member is a Probe, whose attempt may be a group's (the future is recursive in type,
        // though groups do not nest): `Probe::attempt` boxes each protocol's attempt, which
        // breaks the cycle.
        let mut attempts: FuturesUnordered<_> = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| !out[*i])
            .map(|(i, (_, probe))| async move { (i, probe.attempt().await) })
            .collect();
        let mut reasons = Vec::new();
        let mut cost = Cost::Cheap;
        // Whether every member probed found nothing at all (`#down` is ready only then).
        let mut all_gone = true;
        let mut failures = 0;
        while let Some((i, verdict)) = attempts.next().await {
            let name = &self.members[i].0;
            match verdict {
                Verdict::Ready { detail } => {
                    let how = detail.map_or(String::new(), |d| format!(": {d}"));
                    // A server that counts a handshake dropped half-way against the client's
                    // host (MySQL's max_connect_errors) gets the other members' handshakes
                    // finished, for a moment, instead of cut.
                    if self
                        .members
                        .iter()
                        .any(|(_, p)| p.counts_dropped_handshakes())
                    {
                        let rest = async { while attempts.next().await.is_some() {} };
                        let _ = tokio::time::timeout(LINGER, rest).await;
                    }
                    return Verdict::ready(format!("{name}{how}"));
                }
                Verdict::NotReady {
                    reason,
                    cost: c,
                    gone,
                    ..
                } => {
                    cost = cost.max(c);
                    all_gone &= gone;
                    reasons.push(format!("{name}: {reason}"));
                }
                Verdict::Failed { reason } => {
                    all_gone = false;
                    failures += 1;
                    cost = Cost::Costly;
                    reasons.push(format!("{name}: {reason}"));
                    if !self.retry_failed {
                        self.failed.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(reason);
                    }
                }
            }
        }
        if self.retry_failed && failures == reasons.len() {
            // Every member failed this time: the group's failure, for the rule above to take.
            return Verdict::failed(format!("every member failed: {}", reasons.join("; ")));
        }
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.iter().all(Option::is_some) {
            let all: Vec<String> = self
                .members
                .iter()
                .zip(failed.iter())
                .map(|((name, _), r)| format!("{name}: {}", r.as_deref().unwrap_or("")))
                .collect();
            return Verdict::failed(format!("every member failed: {}", all.join("; ")));
        }
        Verdict::NotReady {
            reason: reasons.join("; "),
            cost,
            retry_after: None,
            gone: all_gone,
        }
    }
}
