//! Replacing the gate with the command: `execvp` in place.
//!
//! Same PID (so the command is PID 1 in a container and receives `docker stop`'s SIGTERM itself),
//! argv verbatim (no shell, no `$VAR` or glob expansion), stdin/stdout/stderr inherited. Every
//! descriptor the gate opened is close-on-exec (Rust and tokio open them so), so none leaks.
//!
//! On failure the shell's conventions apply: 127 when the program is not found, 126 when it is
//! found but cannot be run — including a script whose `#!` interpreter does not exist (the kernel
//! says ENOENT for it, which must not read as "command not found") and a file that is neither a
//! binary for this machine nor a script with a `#!` line.
//!
//! Why our own PATH search and `execv` rather than `execvp`: glibc's `execvp` runs a file without
//! `#!` through `/bin/sh` (ENOEXEC fallback) and musl's does not, so the static and the dynamic
//! builds would start different things. readygate does what the kernel does, in both: such a file
//! is not executable (126).

use std::ffi::{CString, OsString};
use std::io;
use std::path::{Path, PathBuf};

/// Why the command could not be started.
#[derive(Debug)]
pub enum ExecError {
    NotFound { program: String },
    NotExecutable { program: String, reason: String },
}

impl ExecError {
    /// Its row in the exit-status table (127 not found, 126 not executable).
    pub fn ending(&self) -> crate::exit::Ending {
        match self {
            ExecError::NotFound { .. } => crate::exit::Ending::NotFound,
            ExecError::NotExecutable { .. } => crate::exit::Ending::NotExecutable,
        }
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::NotFound { program } => {
                let shown = shown_program(program);
                write!(
                    f,
                    "cannot start '{shown}': command not found{}{}",
                    if program.contains('/') {
                        ""
                    } else {
                        " in PATH"
                    },
                    if program.trim().contains(char::is_whitespace) {
                        " (the program and its arguments are one word here: give them as separate words, as in `-- gunicorn app.wsgi`, not `-- \"gunicorn app.wsgi\"`)"
                    } else if program.contains('=') && !program.contains('/') {
                        " (a variable assignment: no shell runs the command; write `env NAME=value program`)"
                    } else {
                        ""
                    }
                )
            }
            ExecError::NotExecutable { program, reason } => {
                write!(f, "cannot start '{}': {reason}", shown_program(program))
            }
        }
    }
}

/// A program's name as printed: its first word only, and nothing after an `=`, since a one-word
/// command (`"psql postgres://u:pw@db"`) or an assignment (`PGPASSWORD=…`) carries its arguments
/// or a value in the same word.
fn shown_program(program: &str) -> String {
    let word = program.split_whitespace().next().unwrap_or("");
    let word = match word.split_once('=') {
        Some((name, _)) => format!("{name}=…"),
        None => word.to_string(),
    };
    crate::text::quote_short(&crate::redact::redact_text(&word))
}

/// The program's name as printed (never its arguments, which may carry secrets).
pub fn program_name(command: &[OsString]) -> String {
    command
        .first()
        .map_or(String::new(), |p| shown_program(&p.to_string_lossy()))
}

/// The program word as given; it is shown only through [`shown_program`].
fn raw_program(command: &[OsString]) -> String {
    command
        .first()
        .map_or(String::new(), |p| p.to_string_lossy().into_owned())
}

/// Execs the command. Returns only if that failed.
pub fn exec(command: &[OsString]) -> ExecError {
    use std::os::unix::ffi::OsStrExt;
    let program = raw_program(command);
    if command.is_empty() || command[0].is_empty() {
        return ExecError::NotFound { program };
    }
    let Ok(argv) = command
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return ExecError::NotExecutable {
            program,
            reason: "an argument contains a NUL byte".into(),
        };
    };
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let name = command[0].as_bytes();
    let mut denied = None;
    for candidate in candidates(name) {
        let Ok(path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: NUL-terminated path and argv (ending in a null pointer) that outlive the call;
        // the environment is the process's own (`environ`), unchanged.
        unsafe { libc::execv(path.as_ptr(), argv_ptrs.as_ptr()) };
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // Not here: try the next PATH directory, as execvp does.
            Some(libc::ENOENT) | Some(libc::ENOTDIR) if !candidate.exists() => continue,
            Some(libc::EACCES) if !name.contains(&b'/') => {
                denied = Some(err);
                continue;
            }
            _ => return describe(program, &candidate, &err),
        }
    }
    match denied {
        Some(err) => ExecError::NotExecutable {
            program,
            reason: permission_reason(&err),
        },
        None => ExecError::NotFound { program },
    }
}

/// Why `--watch` could not start the command as a child (the spawn's error, said as an exec's).
pub fn spawn_error(command: &[OsString], err: &io::Error) -> ExecError {
    let program = raw_program(command);
    match err.kind() {
        io::ErrorKind::NotFound => ExecError::NotFound { program },
        _ => ExecError::NotExecutable {
            program,
            reason: crate::os::io_reason(err),
        },
    }
}

/// Checks, before any waiting, that the command can be started: found (in PATH, as execvp would
/// search) and executable. A missing program is then reported at once, not after the wait; a
/// script whose interpreter is missing is still found out only by the exec itself.
pub fn check(command: &[OsString]) -> Result<(), ExecError> {
    use std::os::unix::ffi::OsStrExt;
    let program = raw_program(command);
    let Some(name) = command.first().filter(|n| !n.is_empty()) else {
        return Err(ExecError::NotFound { program });
    };
    let mut denied = false;
    for candidate in candidates(name.as_bytes()) {
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        let Ok(path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: access(2) with a NUL-terminated path; it only reads the file's metadata.
        let executable = unsafe { libc::access(path.as_ptr(), libc::X_OK) } == 0;
        if meta.is_file() && executable {
            return Ok(());
        }
        if meta.is_dir() && name.as_bytes().contains(&b'/') {
            return Err(ExecError::NotExecutable {
                program,
                reason: "it is a directory, not a program".into(),
            });
        }
        denied = true;
    }
    if denied {
        Err(ExecError::NotExecutable {
            program,
            reason: "permission denied (not executable)".into(),
        })
    } else {
        Err(ExecError::NotFound { program })
    }
}

/// Where to look for the program: the path itself when it has a `/`, else each PATH directory
/// (the default search path when PATH is unset, as in execvp).
fn candidates(name: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(name);
    if name.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(name)];
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/bin:/usr/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            // An empty PATH entry means the current directory.
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            dir.join(name)
        })
        .collect()
}

fn permission_reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::EACCES) => "permission denied (not executable)".into(),
        _ => crate::os::io_reason(err),
    }
}

/// Why an existing file could not be executed.
fn describe(program: String, path: &Path, err: &io::Error) -> ExecError {
    let reason = match err.raw_os_error() {
        // The file exists, so ENOENT is about its interpreter (`#!/nonexistent`, or the dynamic
        // loader of a binary built for another libc).
        Some(libc::ENOENT) => match interpreter(path) {
            Some(interp) => format!("its interpreter '{interp}' (the #! line) does not exist"),
            None => "a program it needs to run (its dynamic loader) does not exist".into(),
        },
        Some(libc::ENOEXEC) => {
            "exec format error: not a program for this machine, and no #! line".into()
        }
        Some(libc::EACCES) => "permission denied (not executable)".into(),
        _ => crate::os::io_reason(err),
    };
    ExecError::NotExecutable { program, reason }
}

/// The interpreter named on a script's `#!` line.
fn interpreter(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    text.split_whitespace().next().map(str::to_string)
}
