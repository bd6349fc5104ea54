//! The live status line for people at a terminal, and the one place that writes to stderr.
//!
//! When stderr is a terminal, one line at the bottom shows every target's state and the elapsed
//! time, redrawn in place (`\r` + erase-line). Log lines are printed above it: erase, print the log
//! line, redraw. In container logs (not a terminal) there is no status line and every write is a
//! plain line, so `docker logs` never shows control characters.
//!
//! stdout is never touched: it belongs to the application after exec.
//!
//! Output must never stop the gate. A stderr that nobody reads (a full pipe, a blocked log driver)
//! would otherwise freeze it in `write(2)`, past its deadline and deaf to SIGTERM. So while the
//! gate runs, a pipe or socket on fd 2 is switched to non-blocking mode ([`nonblocking`]), every
//! line is cut to [`MAX_LINE`] bytes (below `PIPE_BUF`, so a line is written whole or not at all),
//! and a line the pipe cannot take is dropped and counted ([`dropped`]). The original mode is put
//! back ([`restore`]) before exec and exit, because the file description is shared with the
//! command and with whoever else holds the pipe.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

static STATUS: Mutex<Option<String>> = Mutex::new(None);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// fd 2's flags before [`nonblocking`] changed them; -1 when unchanged.
static SAVED_FLAGS: AtomicI32 = AtomicI32::new(-1);
/// Where lines go: fd 2, or (a supervisor's, see [`detach_for_child`]) a description of its own.
static OWN_FD: AtomicI32 = AtomicI32::new(2);
/// stderr is a socket: lines are sent with `MSG_DONTWAIT` instead.
static SEND_DONTWAIT: AtomicBool = AtomicBool::new(false);

/// The longest line written, in bytes: under the 4,096 bytes that a pipe writes atomically and
/// that Docker keeps of a healthcheck's output.
pub const MAX_LINE: usize = 4000;

/// Prints one log line, keeping the status line (if any) below it.
pub fn print_line(line: &str) {
    let line = crate::redact::scrub(line);
    let status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    let line = cut(&line);
    let text = match status.as_deref() {
        Some(s) => format!("\r\x1b[2K{line}\n{s}"),
        None => format!("{line}\n"),
    };
    if !write_stderr(text.as_bytes()) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many lines could not be written because stderr was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn cut(line: &str) -> &str {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// Writes all of `bytes` to fd 2, or gives up (returns false) when it would block or fails. A
/// closed stderr must not stop the gate either.
fn write_stderr(mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let n = if SEND_DONTWAIT.load(Ordering::Relaxed) {
            // SAFETY: sends from a valid buffer of the given length on fd 2, a socket.
            unsafe {
                libc::send(
                    2,
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            }
        } else {
            // SAFETY: writes from a valid buffer of the given length to our stderr descriptor.
            unsafe {
                libc::write(
                    OWN_FD.load(Ordering::Relaxed),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                )
            }
        };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// Makes writes to stderr non-blocking when it is a pipe or a socket (see the module doc). A
/// terminal or a file is left alone: their description is often shared with an interactive shell,
/// and they do not fill up.
pub fn nonblocking() {
    // SAFETY: fstat/fcntl on fd 2 with a zeroed stat buffer; failures leave everything unchanged.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(2, &mut st) != 0 {
            return;
        }
        let kind = st.st_mode & libc::S_IFMT;
        if kind != libc::S_IFIFO && kind != libc::S_IFSOCK {
            return;
        }
        let flags = libc::fcntl(2, libc::F_GETFL);
        if flags < 0 || flags & libc::O_NONBLOCK != 0 {
            return;
        }
        if libc::fcntl(2, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0 {
            SAVED_FLAGS.store(flags, Ordering::Relaxed);
        }
    }
}

/// For `--watch`, before the command starts: fd 2 goes back to its own mode for the command (the
/// description is shared), while the supervisor goes on writing without ever blocking — a pipe
/// is opened again through `/proc/self/fd/2` as a description of its own in non-blocking mode; on
/// a socket every line is sent with `MSG_DONTWAIT`. A supervisor stuck in `write(2)` on a full
/// pipe would stop forwarding signals and reaping.
pub fn detach_for_child() {
    // SAFETY: fstat on fd 2 with a zeroed buffer; open(2) of a NUL-terminated path.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(2, &mut st) == 0 {
            match st.st_mode & libc::S_IFMT {
                libc::S_IFIFO => {
                    let fd = libc::open(
                        c"/proc/self/fd/2".as_ptr(),
                        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
                    );
                    if fd >= 0 {
                        OWN_FD.store(fd, Ordering::Relaxed);
                    }
                }
                libc::S_IFSOCK => SEND_DONTWAIT.store(true, Ordering::Relaxed),
                _ => {}
            }
        }
    }
    restore();
}

/// Puts stderr's mode back as it was found; reports dropped lines if there were any (best effort).
pub fn restore() {
    let flags = SAVED_FLAGS.swap(-1, Ordering::Relaxed);
    if flags < 0 {
        return;
    }
    let dropped = dropped();
    if dropped > 0 {
        write_stderr(
            format!("readygate: warning: {dropped} log line(s) were dropped: stderr was not being read\n")
                .as_bytes(),
        );
    }
    // SAFETY: restores the flags read from fd 2 by `nonblocking`.
    unsafe { libc::fcntl(2, libc::F_SETFL, flags) };
}

/// Shows (or replaces) the status line.
pub fn show(text: &str) {
    let mut status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    let width = terminal_width().saturating_sub(1).max(20);
    // Scrubbed before it is cut, so no cut can leave part of a secret unmasked.
    let text: String = crate::redact::scrub(text).chars().take(width).collect();
    write_stderr(format!("\r\x1b[2K{text}").as_bytes());
    *status = Some(text);
}

/// Removes the status line (before the final message or the exec).
pub fn clear() {
    let mut status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    if status.take().is_some() {
        write_stderr(b"\r\x1b[2K");
    }
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

fn terminal_width() -> usize {
    // SAFETY: winsize is plain data, all-zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass; fd 2 may be anything, and a
    // failure leaves the zeroed struct, handled below.
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}
