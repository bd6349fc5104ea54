//! What the operating system says, in the user's words, and the one bounded way to read a file
//! the user named. A leaf: the transport, the environment, the exec, the probes and the migration
//! readers all need these, and each used to reach into another's module for them.

use std::io;

/// A short, stable description of an I/O error (no OS error numbers).
pub fn io_reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset by peer".into(),
        ConnectionAborted => "connection aborted".into(),
        UnexpectedEof => "connection closed by peer".into(),
        BrokenPipe => "connection closed by peer (broken pipe)".into(),
        TimedOut => "timed out".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_lowercase(),
                None => text,
            }
        }
    }
}

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
        .map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
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
        .map_err(|e| io_reason(&e))?;
    if data.len() as u64 > max {
        return Err(format!("larger than {} KiB", max / 1024));
    }
    Ok(data)
}

/// Whether this process may read and write `path` by its permissions (connecting to a unix socket
/// takes write permission on it), as the kernel would decide with the real user and groups.
pub fn may_read_and_write(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() only reads the NUL-terminated path, which lives until the call returns.
    unsafe { libc::access(c_path.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

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
