//! `--exec-check 'CMD ARG…'`: ready when the command exits 0 — for a dependency readygate has no
//! protocol for (a CLI that knows it: `kafka-topics.sh --list`, `mongosh --eval …`).
//!
//! The words are split as a shell splits them (quotes and backslashes), but no shell runs: no
//! `$VAR`, glob or pipe. Each attempt runs the command once with stdin from `/dev/null` and its
//! output kept off readygate's stdout (which belongs to the command readygate execs): the last
//! 4 KiB of it are shown with `-v` only, redacted. The attempt timeout bounds it; on timeout or
//! cancel the command's whole process group is killed, and every such child is reaped before
//! readygate exits or execs, so none is left to the exec'd program.

use std::ffi::OsString;
use std::process::Stdio;
use std::sync::Mutex;

use tokio::io::AsyncReadExt;

use crate::verdict::Verdict;

/// The output kept per attempt (the tail, for `-v`).
const KEEP: usize = 4096;

/// Children killed by a cancelled attempt and perhaps not reaped yet.
static KILLED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

#[derive(Debug)]
pub struct CommandProbe {
    argv: Vec<String>,
}

impl CommandProbe {
    /// Splits and checks a command line (the program must exist and be executable).
    pub fn parse(line: &str) -> Result<Self, String> {
        let argv = crate::words::split(line).map_err(|e| format!("the command has {e}"))?;
        let Some(program) = argv.first() else {
            return Err("the command is empty: --exec-check 'pg_isready -h db'".into());
        };
        crate::exec::check(&[OsString::from(program)]).map_err(|e| e.to_string())?;
        Ok(CommandProbe { argv })
    }

    /// The command line as shown (redacted: a URL in it loses its password).
    pub fn name(&self) -> String {
        crate::redact::redact_text(&format!("exec {}", self.argv.join(" ")))
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        vec![format!(
            "{} exits 0 (no shell; killed at the attempt timeout)",
            crate::redact::redact_text(&self.argv.join(" "))
        )]
    }

    pub async fn attempt(&self) -> Verdict {
        let mut cmd = tokio::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so that a timeout kills what it started too.
            .process_group(0);
        // SAFETY: between fork and exec only async-signal-safe calls (sigaction, sigprocmask).
        unsafe {
            cmd.pre_exec(|| {
                crate::signal::restore_for_exec();
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            // Checked at start; gone since, or no process could be made (a pids limit): wait.
            Err(e) => {
                return Verdict::costly(format!(
                    "cannot start {}: {}",
                    self.argv[0],
                    crate::net::connect::io_reason(&e)
                ))
            }
        };
        let guard = Guard(child.id().map(|p| p as i32));
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let (status, tail_out, tail_err) =
            tokio::join!(child.wait(), drain(out.as_mut()), drain(err.as_mut()));
        guard.disarm();
        let mut tail = tail_out;
        tail.extend(tail_err);
        if !tail.is_empty() {
            let text =
                String::from_utf8_lossy(&tail[tail.len().saturating_sub(KEEP)..]).into_owned();
            tracing::debug!(
                event = "exec_output",
                "{}: {}",
                self.argv[0],
                crate::redact::redact_text(text.trim())
            );
        }
        match status {
            Ok(s) if s.success() => Verdict::ready("exit status 0".to_string()),
            Ok(s) => Verdict::costly(
                match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                    (Some(code), _) => format!("{} exited with status {code}", self.argv[0]),
                    (_, Some(sig)) => format!("{} was killed by signal {sig}", self.argv[0]),
                    _ => format!("{} failed", self.argv[0]),
                },
            ),
            Err(e) => Verdict::costly(crate::net::connect::io_reason(&e)),
        }
    }
}

/// Reads a pipe to its end, keeping the last [`KEEP`] bytes: a chatty command never blocks on a
/// full pipe, and never costs more than that.
async fn drain<R: tokio::io::AsyncRead + Unpin>(r: Option<&mut R>) -> Vec<u8> {
    let Some(r) = r else { return Vec::new() };
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = r.read(&mut buf).await {
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * KEEP {
            kept.drain(..kept.len() - KEEP);
        }
    }
    kept
}

/// Kills the child's process group when the attempt is dropped before the child ended.
struct Guard(Option<i32>);

impl Guard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the group we created for this child (pgid = its pid).
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            if let Ok(mut list) = KILLED.lock() {
                list.push(pid);
            }
        }
    }
}

/// Reaps every child a cancelled attempt killed (they got SIGKILL, so this is quick), so that no
/// zombie is handed to the exec'd program and none outlives the gate.
pub fn reap_killed() {
    let pids = KILLED
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    for pid in pids {
        let mut status = 0;
        // SAFETY: waitpid on our own child; ECHILD (reaped already by the runtime) is fine.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_command_lines() {
        for bad in ["", "'x", "\"x", "x\\"] {
            assert!(CommandProbe::parse(bad).is_err(), "{bad}");
        }
        assert!(CommandProbe::parse("/no/such/program").is_err());
    }

    #[tokio::test]
    async fn exit_codes_and_timeouts() {
        let ok = CommandProbe::parse("sh -c 'exit 0'").unwrap();
        assert!(matches!(ok.attempt().await, Verdict::Ready { .. }));
        let no = CommandProbe::parse("sh -c 'echo out; echo err >&2; exit 3'").unwrap();
        let Verdict::NotReady { reason, .. } = no.attempt().await else {
            panic!()
        };
        assert_eq!(reason, "sh exited with status 3");
        // Cancelled: the group is killed (the grandchild too) and reaped.
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("mark");
        let slow =
            CommandProbe::parse(&format!("sh -c 'sleep 0.3; touch {}'", mark.display())).unwrap();
        let cut = tokio::time::timeout(std::time::Duration::from_millis(50), slow.attempt()).await;
        assert!(cut.is_err());
        reap_killed();
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(!mark.exists(), "the cancelled command went on running");
    }
}
