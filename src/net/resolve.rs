//! Name lookups that can neither starve each other nor take the gate down.
//!
//! `getaddrinfo` blocks and cannot be cancelled, so each lookup runs on a thread of its own, one
//! per name at a time and at most [`MAX_THREADS`] in all ([`crate::offload`]). A resolver that
//! does not answer therefore holds one thread per name, not one per attempt, and no name waits
//! behind another name's lookups (a shared pool of 32 threads once filled up with abandoned
//! lookups of 40 names, and a name added to /etc/hosts was still not seen 19 s later).
//!
//! Errors are `getaddrinfo`'s own codes, said in words; in the static musl build, a
//! `/etc/resolv.conf` that would crash musl's resolver (`options attempts:0`, a division by zero)
//! is refused before the lookup.

use std::ffi::CString;
use std::net::{IpAddr, SocketAddr};

use crate::offload::Jobs;
use crate::verdict::{Cost, Verdict};

/// The most lookup threads alive at once.
pub const MAX_THREADS: usize = 256;

type Answer = Result<Vec<IpAddr>, Verdict>;

static LOOKUPS: Jobs<Answer> = Jobs::new("name lookups", MAX_THREADS);

/// Every address of `name`, or the verdict that says why there is none.
pub async fn lookup(name: &str) -> Answer {
    let owned = name.to_string();
    LOOKUPS
        .run(name, move || getaddrinfo(&owned))
        .await
        .unwrap_or_else(|reason| Err(Verdict::costly(reason)))
}

/// The C library's resolver (it reads /etc/hosts and /etc/resolv.conf itself, also in a
/// `FROM scratch` image with the static build), with its error codes said in words.
fn getaddrinfo(name: &str) -> Answer {
    refuse_crashing_resolv_conf()?;
    let c_name = CString::new(name).map_err(|_| Verdict::failed("a host name cannot hold NUL"))?;
    // SAFETY: zeroed hints are valid (AF_UNSPEC); getaddrinfo writes a list we free below, and
    // every ai_addr is read according to its family.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut list: *mut libc::addrinfo = std::ptr::null_mut();
        let rc = libc::getaddrinfo(c_name.as_ptr(), std::ptr::null(), &hints, &mut list);
        if rc != 0 {
            let errno = std::io::Error::last_os_error();
            let reason = format!("cannot resolve '{name}': {}", gai_reason(rc, &errno));
            // The resolver's answer "no such name" is the compose service not created yet: retried
            // at a short steady pace. A failure or a silence of the resolver backs off.
            return Err(if rc == libc::EAI_NONAME {
                Verdict::gone(reason, Cost::Absent)
            } else {
                Verdict::gone(reason, Cost::Costly)
            });
        }
        let mut out = Vec::new();
        let mut node = list;
        while !node.is_null() {
            let ai = &*node;
            if !ai.ai_addr.is_null() {
                match ai.ai_family {
                    libc::AF_INET => {
                        let sin = &*(ai.ai_addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ai.ai_addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            node = ai.ai_next;
        }
        libc::freeaddrinfo(list);
        if out.is_empty() {
            return Err(Verdict::gone(
                format!("name '{name}' has no address"),
                Cost::Absent,
            ));
        }
        Ok(out)
    }
}

/// `getaddrinfo`'s error code in words. glibc and musl word these differently; the gate says the
/// same thing for both.
fn gai_reason(rc: i32, errno: &std::io::Error) -> String {
    match rc {
        libc::EAI_NONAME => "name not found".into(),
        libc::EAI_AGAIN => "the DNS server did not answer (temporary failure)".into(),
        libc::EAI_FAIL => "the DNS server failed to answer".into(),
        libc::EAI_MEMORY => "out of memory".into(),
        // The C library's reason is errno, which some resolver set-ups leave stale (an empty
        // hosts line in nsswitch.conf reported "Device or resource busy").
        libc::EAI_SYSTEM => format!(
            "the lookup failed ({}); check /etc/nsswitch.conf and /etc/resolv.conf",
            crate::os::io_reason(errno)
        ),
        other => {
            // SAFETY: gai_strerror returns a static NUL-terminated string.
            let text = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(other)) };
            text.to_string_lossy().to_lowercase()
        }
    }
}

/// musl divides by `attempts` (res_msend.c): `options attempts:0` kills the process with SIGFPE.
/// Refuse it with a reason instead (glibc treats 0 as 1 and needs no check).
fn refuse_crashing_resolv_conf() -> Result<(), Verdict> {
    if !cfg!(target_env = "musl") {
        return Ok(());
    }
    let Ok(conf) = crate::os::read_small_file(std::path::Path::new("/etc/resolv.conf"), 64 * 1024)
    else {
        return Ok(());
    };
    if has_zero_attempts(&String::from_utf8_lossy(&conf)) {
        return Err(Verdict::failed(
            "/etc/resolv.conf says 'options attempts:0', which crashes the static build's resolver (musl); set attempts:1 or more",
        ));
    }
    Ok(())
}

fn has_zero_attempts(conf: &str) -> bool {
    conf.lines()
        .filter(|l| l.trim_start().starts_with("options"))
        .flat_map(str::split_whitespace)
        .any(|opt| {
            opt.strip_prefix("attempts:")
                .is_some_and(|n| n.trim_start_matches('0').is_empty() || n.parse::<u64>() == Ok(0))
        })
}

/// Every address of `host` with `port`.
pub fn with_port(addrs: Vec<IpAddr>, port: u16) -> Vec<SocketAddr> {
    addrs
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_attempts_is_recognised() {
        assert!(has_zero_attempts(
            "nameserver 1.1.1.1\noptions ndots:1 attempts:0\n"
        ));
        assert!(has_zero_attempts("options attempts:00"));
        assert!(!has_zero_attempts("options attempts:2 timeout:0"));
        assert!(!has_zero_attempts(
            "# options attempts:0\nnameserver 10.0.0.1"
        ));
    }

    #[tokio::test]
    async fn lookups_answer_in_words() {
        let (a, b) = tokio::join!(lookup("localhost"), lookup("localhost"));
        assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
        let missing = lookup("no-such-name.invalid").await.unwrap_err();
        let Verdict::NotReady { reason, .. } = missing else {
            panic!("{missing:?}")
        };
        assert!(
            reason.starts_with("cannot resolve 'no-such-name.invalid'"),
            "{reason}"
        );
    }
}
