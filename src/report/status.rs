//! The live status line for people at a terminal, and the one place that writes to stderr.
//!
//! When stderr is a terminal, one line at the bottom shows every target's state and the elapsed
//! time, redrawn in place (`\r` + erase-line). Log lines are printed above it: erase, print the log
//! line, redraw. In container logs (not a terminal) there is no status line and every write is a
//! plain line, so `docker logs` never shows control characters.
//!
//! stdout is never touched: it belongs to the application after exec.

use std::io::Write;
use std::sync::Mutex;

static STATUS: Mutex<Option<String>> = Mutex::new(None);

/// Prints one log line, keeping the status line (if any) below it.
pub fn print_line(line: &str) {
    let status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr().lock();
    // A closed stderr must not stop the gate: ignore write errors.
    let _ = match status.as_deref() {
        Some(s) => write!(err, "\r\x1b[2K{line}\n{s}"),
        None => writeln!(err, "{line}"),
    };
    let _ = err.flush();
}

/// Shows (or replaces) the status line.
pub fn show(text: &str) {
    let mut status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    let width = terminal_width().saturating_sub(1).max(20);
    let text: String = text.chars().take(width).collect();
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{text}");
    let _ = err.flush();
    *status = Some(text);
}

/// Removes the status line (before the final message or the exec).
pub fn clear() {
    let mut status = STATUS.lock().unwrap_or_else(|p| p.into_inner());
    if status.take().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass; fd 2 may be anything, and a
    // failure leaves the zeroed struct, handled below.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}
