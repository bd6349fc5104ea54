//! Replacing the gate with the command: `execvp` in place.
//!
//! Same PID (so the command is PID 1 in a container and receives `docker stop`'s SIGTERM itself),
//! argv verbatim (no shell, no `$VAR` or glob expansion), stdin/stdout/stderr inherited. Every
//! descriptor the gate opened is close-on-exec (Rust and tokio open them so), so none leaks.
//!
//! On failure the shell's conventions apply: 127 when the program is not found, 126 when it is
//! found but cannot be run.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Why the command could not be started.
#[derive(Debug)]
pub enum ExecError {
    NotFound { program: String },
    NotExecutable { program: String, reason: String },
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::NotFound { program } => write!(
                f,
                "cannot start '{program}': command not found{}",
                if program.contains('/') {
                    ""
                } else {
                    " in PATH"
                }
            ),
            ExecError::NotExecutable { program, reason } => {
                write!(f, "cannot start '{program}': {reason}")
            }
        }
    }
}

/// The program's name as printed (never its arguments, which may carry secrets).
pub fn program_name(command: &[OsString]) -> String {
    command
        .first()
        .map_or(String::new(), |p| p.to_string_lossy().into_owned())
}

/// Execs the command. Returns only if that failed.
pub fn exec(command: &[OsString]) -> ExecError {
    let program = program_name(command);
    if command.is_empty() || command[0].is_empty() {
        return ExecError::NotFound { program };
    }
    // `Command::exec` calls execvp (PATH search as the shell does) with the environment unchanged.
    let err = Command::new(&command[0]).args(&command[1..]).exec();
    match err.kind() {
        io::ErrorKind::NotFound => ExecError::NotFound { program },
        io::ErrorKind::PermissionDenied => ExecError::NotExecutable {
            program,
            reason: "permission denied (not executable)".into(),
        },
        _ => ExecError::NotExecutable {
            program,
            reason: crate::connect::io_reason(&err),
        },
    }
}
