//! The command as a child: started with a clean signal state, sent signals, and reaped — with
//! every other process that ends up a child of the supervisor (orphans re-parented to PID 1 or to
//! a subreaper), so that none stays a zombie.
//!
//! Why `waitid(…, WNOWAIT)` before reaping: `--exec-check` probes run their commands as tokio
//! children and wait for them by PID. A blind `waitpid(-1)` would take such a child's status from
//! under its attempt; a peek first leaves a check's child to its attempt.

use std::ffi::OsString;
use std::io;

use libc::c_int;

/// The command, started.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub pid: i32,
    /// Signals go to its whole process group (`--signal-group`; it leads a group of its own).
    group: bool,
}

/// Makes this process the reaper of its orphaned descendants when it is not PID 1 already, so that
/// what the command leaves behind comes back here to be reaped.
pub fn become_subreaper() {
    if std::process::id() != 1 {
        // SAFETY: prctl with an integer argument; failure (an old kernel) only loses the reaping
        // of orphans, which their real init then does.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
}

impl Child {
    /// Starts the command (its argv verbatim, no shell): the signal mask emptied and SIGPIPE back
    /// to the default (handlers the supervisor installed are reset by execve itself), the
    /// descriptor limit as it was found, and with `group` a process group of its own.
    pub fn spawn(
        command: &[OsString],
        group: bool,
        limits: &crate::startup::Limits,
    ) -> io::Result<Child> {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(&command[0]);
        cmd.args(&command[1..]);
        if group {
            cmd.process_group(0);
        }
        let limits = *limits;
        // SAFETY: between fork and exec only async-signal-safe calls (sigaction, sigprocmask,
        // setrlimit).
        unsafe {
            cmd.pre_exec(move || {
                crate::signal::restore_for_exec();
                crate::startup::restore_limit(&limits);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        // The std handle is dropped without a wait: `reap` collects the status, with the orphans'.
        let pid = child.id() as i32;
        drop(child);
        Ok(Child { pid, group })
    }

    /// Sends `sig` to the command (or its group).
    pub fn signal(&self, sig: c_int) {
        let to = if self.group { -self.pid } else { self.pid };
        // SAFETY: kill(2) on our own child (or its group); ESRCH once it is gone is fine.
        unsafe { libc::kill(to, sig) };
    }
}

/// Reaps every child that has ended, but not those an `--exec-check` attempt still waits for.
/// Returns the raw wait status of `main`, if it was among them.
pub fn reap(main: Option<i32>) -> Option<c_int> {
    let mut found = None;
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) with WNOWAIT only looks: the child stays waitable.
        let rc = unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid is valid for a SIGCHLD siginfo (0 when no child has ended).
        let pid = unsafe { info.si_pid() };
        if rc != 0 || pid == 0 {
            return found;
        }
        if crate::probe::is_check_child(pid) {
            // A check's child: its attempt reaps it; the rest waits for the next round.
            return found;
        }
        let mut status = 0;
        // SAFETY: waitpid on a child that has ended (seen above).
        let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if got == pid && Some(pid) == main {
            found = Some(status);
        }
        if got <= 0 {
            return found;
        }
    }
}
