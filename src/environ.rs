//! Settings read from the environment, with the Docker secrets convention.
//!
//! A secret can come from `NAME` or from a file named by `NAME_FILE` (Docker and Kubernetes mount
//! secrets as files under `/run/secrets`, so the secret is in neither `docker inspect` nor
//! `/proc/PID/environ`). Setting both is an error, as in the official database images; a file that
//! is missing or unreadable is a usage error at start, not something to retry. One trailing newline
//! is dropped: `echo secret > file` is how most secret files are made.
//!
//! Probes read the environment through an [`Env`] so that tests can pass their own.

use crate::uri::Secret;

/// A way to look up environment variables.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The largest secret file read (a password is a few dozen bytes).
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads a small regular file whole, refusing anything else: a FIFO would block the gate for ever
/// (even past SIGTERM, before the handlers exist), `/dev/zero` would grow it without end. The file is
/// opened non-blocking, so that opening a FIFO cannot block either.
pub fn read_small_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| crate::net::connect::io_reason(&e))?;
    let meta = file
        .metadata()
        .map_err(|e| crate::net::connect::io_reason(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    if meta.len() > max {
        return Err(format!("larger than {} KiB", max / 1024));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    // The size may change while reading: never read more than the bound.
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| crate::net::connect::io_reason(&e))?;
    if data.len() as u64 > max {
        return Err(format!("larger than {} KiB", max / 1024));
    }
    Ok(data)
}

/// Reads `name`, or the file named by `name_FILE`.
pub fn secret(env: Env<'_>, name: &str) -> Result<Option<Secret>, String> {
    let file_var = format!("{name}_FILE");
    match (env(name), env(&file_var)) {
        (Some(_), Some(_)) => Err(format!("both {name} and {file_var} are set: set only one")),
        (Some(v), None) => Ok(Some(Secret::new(v))),
        (None, Some(path)) => {
            let bytes = read_small_file(std::path::Path::new(&path), MAX_SECRET_FILE)
                .map_err(|e| format!("cannot read {file_var} '{path}': {e}"))?;
            let mut text = String::from_utf8(bytes)
                .map_err(|_| format!("cannot read {file_var} '{path}': it is not UTF-8 text"))?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(Some(Secret::new(text)))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env<'a>(map: &'a HashMap<&'a str, String>) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secret_from_variable_file_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let mut m = HashMap::new();
        assert_eq!(secret(&env(&m), "PGPASSWORD").unwrap(), None);
        m.insert("PGPASSWORD_FILE", file.display().to_string());
        assert_eq!(
            secret(&env(&m), "PGPASSWORD").unwrap().unwrap().expose(),
            "s3cret"
        );
        m.insert("PGPASSWORD", "x".into());
        assert!(secret(&env(&m), "PGPASSWORD")
            .unwrap_err()
            .contains("both PGPASSWORD and PGPASSWORD_FILE"));
        m.remove("PGPASSWORD");
        m.insert("PGPASSWORD_FILE", "/nonexistent/pw".into());
        assert!(secret(&env(&m), "PGPASSWORD")
            .unwrap_err()
            .contains("cannot read PGPASSWORD_FILE '/nonexistent/pw'"));
    }

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let start = std::time::Instant::now();
        assert_eq!(
            read_small_file(&fifo, 10).unwrap_err(),
            "not a regular file"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            read_small_file(std::path::Path::new("/dev/zero"), 10).unwrap_err(),
            "not a regular file"
        );
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert_eq!(
            read_small_file(&big, 1024).unwrap_err(),
            "larger than 1 KiB"
        );
        assert_eq!(read_small_file(&big, 4096).unwrap().len(), 2048);
    }
}
