//! `--exec-check 'CMD ARG…'`: ready when the command exits 0 — for a dependency readygate has no
//! protocol for (a CLI that knows it: `kafka-topics.sh --list`, `mongosh --eval …`).
//!
//! The words are split as a shell splits them (quotes and backslashes), but no shell runs: no
//! `$VAR`, glob or pipe. Each attempt runs the command once with stdin from `/dev/null` and its
//! output kept off readygate's stdout (which belongs to the command readygate execs): the last
//! 4 KiB of it are shown with `-v` only, redacted. The attempt timeout bounds it. The command's
//! exit decides (a background process it left may hold its output open): when it exits, or on
//! timeout or cancel, its whole process group is killed, and every such child is reaped before
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

/// Children an attempt still waits for (by PID, through tokio): a supervisor that reaps orphans
/// (`--watch`) leaves these to their attempt.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Whether `pid` is a check's child that its attempt still waits for.
pub fn is_running(pid: i32) -> bool {
    RUNNING.lock().is_ok_and(|l| l.contains(&pid))
}

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
                    crate::os::io_reason(&e)
                ))
            }
        };
        let pid = child.id().map(|p| p as i32);
        let guard = Guard::new(pid);
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let drains = async { tokio::join!(drain(out.as_mut()), drain(err.as_mut())) };
        tokio::pin!(drains);
        // The exit decides, not the end of the output: a background process the command left
        // behind may hold the pipes open for as long as it runs.
        let mut output = None;
        let status = tokio::select! {
            status = child.wait() => status,
            o = &mut drains => {
                output = Some(o);
                child.wait().await
            }
        };
        let ((tail_out, out_cut), (tail_err, err_cut)) = match output {
            Some(o) => o,
            None => tokio::time::timeout(LINGER, &mut drains)
                .await
                .unwrap_or_default(),
        };
        // Whatever it left in its group goes now, and is reaped before the exec (finding: a
        // check's orphan became the exec'd program's zombie).
        guard.kill();
        if !tail_out.is_empty() || !tail_err.is_empty() {
            crate::report::emit(&crate::report::Event::ExecOutput {
                program: &self.argv[0],
                tail: &shown_tail(&tail_out, out_cut, &tail_err, err_cut),
            });
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
            Err(e) => Verdict::costly(crate::os::io_reason(&e)),
        }
    }
}

/// How long the output may still be read once the command has exited.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// More than is shown is kept, so that a secret cut by the window's start can be dropped with it
/// after the rest is scrubbed (a secret is far shorter than this).
const MARGIN: usize = 1024;

/// Reads a pipe to its end, keeping the last [`KEEP`] + [`MARGIN`] bytes (and whether earlier
/// ones were dropped): a chatty command never blocks on a full pipe, and never costs more than
/// that.
async fn drain<R: tokio::io::AsyncRead + Unpin>(r: Option<&mut R>) -> (Vec<u8>, bool) {
    let Some(r) = r else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = r.read(&mut buf).await {
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * (KEEP + MARGIN) {
            kept.drain(..kept.len() - (KEEP + MARGIN));
            cut = true;
        }
    }
    (kept, cut)
}

/// The output as shown with `-v`: each stream scrubbed whole BEFORE it is cut to its last bytes,
/// so that a cut never leaves a piece of a secret the scrubber can no longer recognise.
fn shown_tail(out: &[u8], out_cut: bool, err: &[u8], err_cut: bool) -> String {
    let one = |bytes: &[u8], cut: bool| -> String {
        let text = String::from_utf8_lossy(bytes);
        let text = crate::redact::scrub_outside(&text);
        let mut start = if cut { MARGIN.min(text.len()) } else { 0 };
        start = start.max(text.len().saturating_sub(KEEP));
        while !text.is_char_boundary(start) {
            start += 1;
        }
        crate::redact::redact_text(text[start..].trim())
    };
    let parts: Vec<String> = [one(out, out_cut), one(err, err_cut)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    parts.join(" ")
}

/// Kills the child's process group: when the attempt is dropped before the child ended, and after
/// it ended, for whatever it left running in its group. While it lives, the child is in
/// [`RUNNING`].
struct Guard(Option<i32>);

impl Guard {
    fn new(pid: Option<i32>) -> Guard {
        if let (Some(pid), Ok(mut list)) = (pid, RUNNING.lock()) {
            list.push(pid);
        }
        Guard(pid)
    }

    fn kill(mut self) {
        if let Some(pid) = self.0.take() {
            unregister(pid);
            kill_group(pid);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            unregister(pid);
            kill_group(pid);
        }
    }
}

fn unregister(pid: i32) {
    if let Ok(mut list) = RUNNING.lock() {
        list.retain(|p| *p != pid);
    }
}

fn kill_group(pid: i32) {
    // SAFETY: kill(2) on the group we created for this child (pgid = its pid); ESRCH when the
    // group is empty already is fine.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    if let Ok(mut list) = KILLED.lock() {
        list.push(pid);
    }
}

/// Reaps every child a cancelled attempt killed (they got SIGKILL, so this is quick), so that no
/// zombie is handed to the exec'd program and none outlives the gate.
pub fn reap_killed() {
    let pids = KILLED
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    if pids.is_empty() {
        return;
    }
    for pid in pids {
        let mut status = 0;
        // SAFETY: waitpid on our own child; ECHILD (reaped already by the runtime) is fine.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    // As PID 1 (or a subreaper) the checks' orphans are our children too: the killed ones are
    // reaped here; one that left the group (setsid) and still runs is given up after a moment.
    let until = std::time::Instant::now() + std::time::Duration::from_millis(200);
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) without blocking; before exec every child is a check's.
        match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
            0 if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            n if n > 0 => {}
            _ => break,
        }
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
