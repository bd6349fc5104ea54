//! The one table from how the gate ended to its exit status.
//!
//! Wait mode follows the conventions of `timeout(1)`, the shell and tini: 124 deadline, 126/127 exec
//! failures, 128+N signals. Healthcheck mode (`--check`) collapses everything to 0 or 1, because
//! Docker reserves 2 and treats every other non-zero status as "unhealthy" anyway.

/// How the gate ended (when it did not exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every target is ready (and there is no command to exec).
    Ready,
    /// A target failed permanently (wrong password, certificate rejected, …).
    Failed,
    /// `--check`: a target was not ready at its one attempt.
    NotReady,
    /// The deadline passed with a target not ready.
    TimedOut,
    /// Bad input or configuration.
    Usage,
    /// Ended by this signal while waiting.
    Signal(i32),
    /// The command exists but cannot be run.
    NotExecutable,
    /// The command does not exist.
    NotFound,
    /// The gate itself could not work (e.g. no runtime); rare.
    Internal,
    /// `--watch`: the command ended with this wait status (its exit status, or 128+N when signal
    /// N killed it).
    CommandEnded(i32),
    /// `--watch --on-lost exit`: a lost target made the supervisor stop the command.
    Lost,
}

/// The exit status for an ending.
pub fn code(ending: Ending, check: bool) -> i32 {
    if check {
        return if ending == Ending::Ready { 0 } else { 1 };
    }
    match ending {
        Ending::Ready => 0,
        Ending::Failed | Ending::NotReady | Ending::Internal | Ending::Lost => 1,
        Ending::Usage => 2,
        Ending::TimedOut => 124,
        Ending::NotExecutable => 126,
        Ending::NotFound => 127,
        Ending::Signal(n) => 128 + n,
        Ending::CommandEnded(status) => {
            if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_mode_table() {
        let table = [
            (Ending::Ready, 0),
            (Ending::Failed, 1),
            (Ending::Usage, 2),
            (Ending::TimedOut, 124),
            (Ending::NotExecutable, 126),
            (Ending::NotFound, 127),
            (Ending::Signal(15), 143),
            (Ending::Signal(2), 130),
            (Ending::Lost, 1),
            (Ending::CommandEnded(0), 0),
            (Ending::CommandEnded(3 << 8), 3),
            (Ending::CommandEnded(255 << 8), 255),
            (Ending::CommandEnded(libc::SIGTERM), 143),
            (Ending::CommandEnded(libc::SIGKILL), 137),
        ];
        for (ending, want) in table {
            assert_eq!(code(ending, false), want, "{ending:?}");
        }
    }

    #[test]
    fn check_mode_is_zero_or_one() {
        for ending in [
            Ending::Failed,
            Ending::Usage,
            Ending::TimedOut,
            Ending::Signal(15),
            Ending::NotReady,
            Ending::Internal,
        ] {
            assert_eq!(code(ending, true), 1, "{ending:?}");
        }
        assert_eq!(code(Ending::Ready, true), 0);
    }
}
