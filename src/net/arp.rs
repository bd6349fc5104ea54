//! `--arp`: ask the link who has a dependency's address while a connection to it waits on ARP.
//!
//! Why: on a Docker network a new container's name is in the embedded DNS about 0.3 s before its
//! interface answers ARP. A connection attempted in that window leaves the kernel's neighbour
//! entry incomplete, the SYN queued behind it, and Linux asks again only after `retrans_time`
//! (1 s), so the dependency is seen up to a second late. An ARP reply addressed to us completes
//! that entry whoever asked (`arp_process` updates an existing entry from any reply), so a request
//! of the gate's own, sent every [`EVERY`] while the entry is incomplete, makes the kernel send
//! the queued SYN as soon as the dependency's interface answers.
//!
//! It needs `CAP_NET_RAW` (Docker grants it to a container by default; a host process needs root):
//! without it, one warning and the kernel's own pace. Opt-in, because it sends packets the kernel
//! did not, and only ever on the link where the kernel itself is asking about that address (read
//! from `/proc/net/arp`): nothing is sent for a routed address, a completed entry or loopback.

use std::convert::Infallible;
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the kernel's own first request is given, and the pace of ours after it: a tenth of
/// the kernel's retransmission interval, so the dependency is seen within ~0.1 s of answering.
pub const EVERY: Duration = Duration::from_millis(100);

/// The neighbour table read at most this far (a host with a large table: the entries we ask about
/// are the recent ones, but the bound is what matters).
const TABLE_MAX: u64 = 256 * 1024;

/// Off, on, or on but refused by the kernel (said once, then off).
static STATE: AtomicU8 = AtomicU8::new(OFF);
const OFF: u8 = 0;
const ON: u8 = 1;
const REFUSED: u8 = 2;

/// Turns `--arp` on for the whole process (one flag, read by every TCP connection).
pub fn enable() {
    STATE.store(ON, Ordering::Relaxed);
}

/// The address to ask about while a connection to `addr` is in progress, if `--arp` is on and
/// ARP can apply (IPv4, not loopback).
pub fn applies(addr: std::net::SocketAddr) -> Option<Ipv4Addr> {
    (STATE.load(Ordering::Relaxed) == ON)
        .then(|| on_a_link(addr))
        .flatten()
}

fn on_a_link(addr: std::net::SocketAddr) -> Option<Ipv4Addr> {
    match addr {
        std::net::SocketAddr::V4(v4) if !v4.ip().is_loopback() => Some(*v4.ip()),
        _ => None,
    }
}

/// Never returns: asks who has `target` every [`EVERY`], starting after one, for as long as the
/// caller keeps it (the connection's wait). `local` is the connection's own source address.
pub async fn nudge_while_pending(local: Option<Ipv4Addr>, target: Ipv4Addr) -> Infallible {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    loop {
        tick.tick().await;
        if STATE.load(Ordering::Relaxed) != ON {
            return std::future::pending().await;
        }
        nudge(local, target);
    }
}

/// What every connection's nudges share: thousands of connections waiting on ARP cost one read of
/// the neighbour table per half interval and one request per address per interval, not one each.
#[derive(Debug)]
struct Shared {
    table: String,
    read_at: Option<Instant>,
    /// Addresses asked about within the last interval (pruned on every call: as many as the
    /// addresses asked about in one interval).
    asked: Vec<(Ipv4Addr, Instant)>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared::new());

impl Shared {
    const fn new() -> Shared {
        Shared {
            table: String::new(),
            read_at: None,
            asked: Vec::new(),
        }
    }

    /// The device to ask on, if the kernel's entry for `target` is incomplete and nobody asked
    /// for it within most of an interval (two connections to one address tick apart).
    fn due(
        &mut self,
        target: Ipv4Addr,
        now: Instant,
        read: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        if self
            .read_at
            .is_none_or(|t| now.duration_since(t) >= EVERY / 2)
        {
            self.table = read().unwrap_or_default();
            self.read_at = Some(now);
        }
        let recent = EVERY * 9 / 10;
        self.asked.retain(|(_, t)| now.duration_since(*t) < recent);
        if self.asked.iter().any(|(ip, _)| *ip == target) {
            return None;
        }
        let device = waiting_on(&self.table, target)?.to_string();
        self.asked.push((target, now));
        Some(device)
    }
}

/// The neighbour table's text, read up to [`TABLE_MAX`].
fn read_table() -> Option<String> {
    let mut table = String::new();
    std::fs::File::open("/proc/net/arp")
        .and_then(|f| f.take(TABLE_MAX).read_to_string(&mut table))
        .ok()?;
    Some(table)
}

fn nudge(local: Option<Ipv4Addr>, target: Ipv4Addr) {
    let due = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .due(target, Instant::now(), read_table);
    let Some(device) = due else {
        return;
    };
    let device = device.as_str();
    let sent = send(device, local, target);
    match sent {
        Ok(()) => crate::report::emit(&crate::report::Event::Diagnostic(&format!(
            "--arp: asked who has {target} on {device}"
        ))),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            if STATE.swap(REFUSED, Ordering::Relaxed) == ON {
                crate::report::emit(&crate::report::Event::Warning(
                    "--arp needs CAP_NET_RAW (Docker grants it unless dropped; on a host, root): \
                     waiting at the kernel's own ARP pace",
                ));
            }
        }
        Err(e) => crate::report::emit(&crate::report::Event::Diagnostic(&format!(
            "--arp: cannot ask who has {target} on {device}: {e}"
        ))),
    }
}

/// The device on which the kernel's entry for `target` is still incomplete, from the text of
/// `/proc/net/arp` (`IP address  HW type  Flags  HW address  Mask  Device`; flag 0x2 is
/// "complete").
fn waiting_on(table: &str, target: Ipv4Addr) -> Option<&str> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [ip, _, flags, _, _, device] = cols[..] else {
            return None;
        };
        let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
        (ip.parse::<Ipv4Addr>().ok()? == target && flags & 0x2 == 0).then_some(device)
    })
}

/// An ARP request (RFC 826) for Ethernet and IPv4: who has `target`? tell `sender_ip` at
/// `sender_mac`.
fn request(sender_mac: [u8; 6], sender_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
    p[8..14].copy_from_slice(&sender_mac);
    p[14..18].copy_from_slice(&sender_ip.octets());
    // Target hardware address: zero, unknown.
    p[24..28].copy_from_slice(&target.octets());
    p
}

/// Broadcasts one request on `device` from a packet socket; the kernel writes the Ethernet header.
fn send(device: &str, local: Option<Ipv4Addr>, target: Ipv4Addr) -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let name = std::ffi::CString::new(device).map_err(io::Error::other)?;
    if name.as_bytes().len() >= libc::IFNAMSIZ {
        return Err(io::Error::other("device name too long"));
    }
    let proto = (libc::ETH_P_ARP as u16).to_be();
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            i32::from(proto),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; the name fits (checked above) and stays NUL-terminated.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = *src as libc::c_char;
    }
    let ioctl = |request: libc::c_ulong, ifr: &mut libc::ifreq| {
        // SAFETY: SIOCGIF* requests read the name and fill the union of a valid ifreq.
        match unsafe { libc::ioctl(socket.as_raw_fd(), request as _, ifr as *mut libc::ifreq) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    };
    ioctl(libc::SIOCGIFHWADDR, &mut ifr)?;
    let mut mac = [0u8; 6];
    // SAFETY: SIOCGIFHWADDR filled ifru_hwaddr.
    let hw = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    for (dst, src) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *dst = *src as u8;
    }
    // The connection's own source address is what the dependency must answer to; without it
    // (not known yet), the device's.
    let sender = match local {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => {
            ioctl(libc::SIOCGIFADDR, &mut ifr)?;
            // SAFETY: SIOCGIFADDR filled ifru_addr with an AF_INET sockaddr.
            let addr = unsafe { ifr.ifr_ifru.ifru_addr };
            Ipv4Addr::new(
                addr.sa_data[2] as u8,
                addr.sa_data[3] as u8,
                addr.sa_data[4] as u8,
                addr.sa_data[5] as u8,
            )
        }
    };
    ioctl(libc::SIOCGIFINDEX, &mut ifr)?;
    // SAFETY: SIOCGIFINDEX filled ifru_ifindex.
    let index = unsafe { ifr.ifr_ifru.ifru_ifindex };
    let packet = request(mac, sender, target);
    // SAFETY: sockaddr_ll is plain data.
    let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    to.sll_family = libc::AF_PACKET as u16;
    to.sll_protocol = proto;
    to.sll_ifindex = index;
    to.sll_halen = 6;
    to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    // SAFETY: the buffer and address are valid for their given lengths.
    let sent = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&to as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
IP address       HW type     Flags       HW address            Mask     Device
172.18.0.3       0x1         0x0         00:00:00:00:00:00     *        eth0
172.18.0.4       0x1         0x2         02:42:ac:12:00:04     *        eth0
10.0.0.9         0x1         0x0         00:00:00:00:00:00     *        br-1a2b
";

    #[test]
    fn only_an_incomplete_entry_is_asked_about_on_its_own_device() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(waiting_on(TABLE, ip("172.18.0.3")), Some("eth0"));
        assert_eq!(waiting_on(TABLE, ip("10.0.0.9")), Some("br-1a2b"));
        // Complete: the kernel knows it already; absent: not on a link the kernel is asking on.
        assert_eq!(waiting_on(TABLE, ip("172.18.0.4")), None);
        assert_eq!(waiting_on(TABLE, ip("172.18.0.5")), None);
        assert_eq!(waiting_on("garbage\n1 2 3\n\n", ip("172.18.0.3")), None);
    }

    #[test]
    fn many_connections_share_one_read_and_one_request_per_interval() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let mut shared = Shared::new();
        let t0 = Instant::now();
        let reads = std::cell::Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            Some(TABLE.to_string())
        };
        // A thousand connections to one address in one tick: one read, one request.
        let asked = (0..1000)
            .filter(|_| shared.due(ip("172.18.0.3"), t0, read).is_some())
            .count();
        assert_eq!((asked, reads.get()), (1, 1));
        // Another incomplete address in the same tick is asked about; a complete one is not.
        assert_eq!(
            shared.due(ip("10.0.0.9"), t0, read).as_deref(),
            Some("br-1a2b")
        );
        assert_eq!(shared.due(ip("172.18.0.4"), t0, read), None);
        // A connection ticking 40 ms later: neither a new read nor a second request.
        assert_eq!(shared.due(ip("172.18.0.3"), t0 + EVERY * 2 / 5, read), None);
        assert_eq!(reads.get(), 1);
        // The next interval: the table read again, the address asked about again.
        assert_eq!(
            shared.due(ip("172.18.0.3"), t0 + EVERY, read).as_deref(),
            Some("eth0")
        );
        assert_eq!(reads.get(), 2);
        // The list of addresses asked about does not grow past one interval's.
        assert!(shared.asked.len() <= 2, "{:?}", shared.asked);
        // An unreadable table: nothing is asked.
        let mut blind = Shared::new();
        assert_eq!(blind.due(ip("172.18.0.3"), t0, || None), None);
    }

    #[test]
    fn a_request_is_rfc_826() {
        let p = request(
            [2, 0x42, 0xac, 0x12, 0, 2],
            Ipv4Addr::new(172, 18, 0, 2),
            Ipv4Addr::new(172, 18, 0, 3),
        );
        assert_eq!(
            p,
            [
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0x42, 0xac, 0x12, 0, 2, 172, 18, 0, 2, 0, 0, 0, 0, 0, 0,
                172, 18, 0, 3
            ]
        );
    }

    #[test]
    fn loopback_and_ipv6_are_never_nudged() {
        assert!(on_a_link("127.0.0.1:5432".parse().unwrap()).is_none());
        assert!(on_a_link("[fd00::2]:5432".parse().unwrap()).is_none());
        assert_eq!(
            on_a_link("172.18.0.3:5432".parse().unwrap()),
            Some(Ipv4Addr::new(172, 18, 0, 3))
        );
    }
}
