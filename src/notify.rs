//! systemd's notify protocol (sd_notify(3)): when `NOTIFY_SOCKET` is set, the gate says what it
//! waits for (`STATUS=…`, shown by `systemctl status`) and asks for more time
//! (`EXTEND_TIMEOUT_USEC=…`) so that a long wait is not killed by `TimeoutStartSec`. It does not
//! send `READY=1`: the command it execs is the service, and says so itself. Each message is one
//! datagram on a unix socket (a path, or `@name` for the abstract namespace); a lost or refused
//! datagram is ignored, never a reason to stop.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// How often the status is sent, and the time asked for each time (more than the period, so the
/// unit's start timeout never runs out between two messages).
pub const EVERY: Duration = Duration::from_secs(1);
const EXTEND: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
}

impl Notifier {
    /// A notifier when `NOTIFY_SOCKET` names a socket that can be reached.
    pub fn from_env() -> Option<Notifier> {
        let target = std::env::var_os("NOTIFY_SOCKET")?;
        let socket = UnixDatagram::unbound().ok()?;
        socket.set_nonblocking(true).ok()?;
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str());
        let connected = match bytes.strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?;
                socket.connect_addr(&addr)
            }
            None => socket.connect(&target),
        };
        connected.ok()?;
        Some(Notifier { socket })
    }

    /// Says what the gate waits for, and asks for more time.
    pub fn waiting(&self, status: &str) {
        // One line: the protocol is newline-separated assignments.
        let status: String = status
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(1000)
            .collect();
        let message = format!(
            "STATUS={status}\nEXTEND_TIMEOUT_USEC={}\n",
            EXTEND.as_micros()
        );
        let _ = self.socket.send(message.as_bytes());
    }
}
