//! The static musl build: fully static, within its size budget, and working in an empty root with
//! nothing but the binary, /etc/hosts and /etc/resolv.conf (no libc, no NSS, no CA files).

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fake;
use crate::harness::{have, is_root, loopback_dns_socket, ms, require, run};

/// The size budget for the static binary with every probe and TLS built in (every protocol of
/// the targets table: 3.5 MiB).
const BUDGET: u64 = 7 * 512 * 1024;

/// Builds (once, cached in target/static) the release binary for x86_64-unknown-linux-musl.
pub fn static_binary() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = root.join("target/static");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "x86_64-unknown-linux-musl",
                "--target-dir",
            ])
            .arg(&target_dir)
            .current_dir(root)
            .status()
            .ok()?;
        status
            .success()
            .then(|| target_dir.join("x86_64-unknown-linux-musl/release/readygate"))
    })
    .as_deref()
}

/// The test inspector, linked statically with musl (the stand-in application for empty roots).
pub fn static_inspector() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inspect-static");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/inspect.c");
        let ok = Command::new("musl-gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .ok()?
            .success();
        ok.then_some(out)
    })
    .as_deref()
}

fn static_prerequisites() -> bool {
    require(
        have("musl-gcc") && static_binary().is_some() && static_inspector().is_some(),
        "the musl target and musl-tools (musl-gcc) for the static build",
    )
}

#[test]
fn the_static_binary_is_static_and_within_budget() {
    if !static_prerequisites() {
        return;
    }
    let bin = static_binary().unwrap();
    let file = Command::new("file").arg(bin).output().unwrap();
    let file = String::from_utf8_lossy(&file.stdout);
    // Not a static-pie: a static-pie relocates itself at every start (see .cargo/config.toml).
    assert!(
        file.contains("statically linked") && !file.contains("pie"),
        "{file}"
    );
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    let ldd = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        !ldd.contains("=>")
            && (ldd.contains("statically linked") || ldd.contains("not a dynamic executable")),
        "{ldd}"
    );
    let size = std::fs::metadata(bin).unwrap().len();
    eprintln!(
        "MEASURE static binary: {size} bytes ({:.2} MiB)",
        size as f64 / 1048576.0
    );
    assert!(size <= BUDGET, "{size} bytes is over the 3.5 MiB budget");
}

/// The x86-64 static build links the functions a start-up runs side by side (link/startup-first.sh
/// with Debian's lld): its peak RSS while it waits is bounded well below the 2.6 MiB it had with
/// them spread over the text (1.5 MiB measured). A stale link/startup.order, or a build that fell
/// back to the plain link, fails here.
#[test]
fn the_start_up_code_is_laid_out_together() {
    if !static_prerequisites()
        || !require(
            have("ld.lld") && have("readelf"),
            "Debian's lld (ld.lld) for the ordered x86-64 link",
        )
    {
        return;
    }
    let bin = static_binary().unwrap();
    let comment = Command::new("readelf")
        .args(["-p", ".comment"])
        .arg(bin)
        .output()
        .unwrap();
    let comment = String::from_utf8_lossy(&comment.stdout);
    assert!(comment.contains("LLD"), "not linked by lld:\n{comment}");
    let refused = crate::harness::HeldPort::new();
    let (g, peak_kib) = crate::harness::run_measuring_rss(
        Command::new(bin)
            .args(["-q", "-t", "400ms"])
            .arg(format!("tcp://127.0.0.1:{}", refused.port))
            .args(["--", "true"]),
        std::time::Duration::from_secs(10),
    );
    assert_eq!(g.code(), 124, "{g:?}");
    assert!(
        (256..=2048).contains(&peak_kib),
        "peak RSS {peak_kib} KiB while waiting (bound 2 MiB; link/order.sh rewrites the order)"
    );
}

/// A minimal DNS server (RFC 1035): answers A queries for `name` with `ip`, NOERROR with no answer
/// for other types of that name, NXDOMAIN for anything else. TTL 0.
fn dns_responder(socket: UdpSocket, name: &'static str, ip: [u8; 4]) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            if n < 17 {
                continue;
            }
            let mut labels = vec![];
            let mut i = 12;
            while i < n && buf[i] != 0 {
                let len = buf[i] as usize;
                labels.push(String::from_utf8_lossy(&buf[i + 1..(i + 1 + len).min(n)]).to_string());
                i += 1 + len;
            }
            let end = i + 5; // zero label + qtype + qclass
            if end > n {
                continue;
            }
            let qtype = u16::from_be_bytes([buf[i + 1], buf[i + 2]]);
            let matches = labels.join(".").eq_ignore_ascii_case(name);
            let mut out = Vec::from(&buf[..2]);
            out.extend_from_slice(&[
                0x81,
                if matches { 0x80 } else { 0x83 },
                0,
                1,
                0,
                u8::from(matches && qtype == 1),
                0,
                0,
                0,
                0,
            ]);
            out.extend_from_slice(&buf[12..end]);
            if matches && qtype == 1 {
                out.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
                out.extend_from_slice(&ip);
            }
            let _ = socket.send_to(&out, peer);
        }
    });
}

#[test]
fn runs_in_an_empty_root() {
    if !static_prerequisites()
        || !require(
            is_root() && have("chroot"),
            "root and chroot(8) for the empty-root test",
        )
    {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir(r.join("etc")).unwrap();
    std::fs::copy(static_binary().unwrap(), r.join("readygate")).unwrap();
    std::fs::copy(static_inspector().unwrap(), r.join("app")).unwrap();
    std::fs::write(
        r.join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.0.1 from-hosts.test\n",
    )
    .unwrap();
    let (dns, dns_ip) = match loopback_dns_socket() {
        Ok(pair) => pair,
        // Under CI=true this fails, with what really happened (an address in use, say).
        Err(why) => {
            require(false, &format!("a DNS responder on loopback: {why}"));
            return;
        }
    };
    dns_responder(dns, "from-dns.test", [127, 0, 0, 1]);
    let resolv = format!("nameserver {dns_ip}\noptions timeout:1 attempts:2\n");
    std::fs::write(r.join("etc/resolv.conf"), &resolv).unwrap();
    // Nothing else: no libc, no NSS modules, no CA bundle.
    let entries: Vec<_> = std::fs::read_dir(r)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 3, "{entries:?}");

    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (cert, key) = fake::self_signed();
    let tls_port = fake::https(&cert, &key, fake::status(200));
    let chroot = |args: &[String]| {
        let mut c = Command::new("chroot");
        c.arg(r).arg("/readygate").args(args);
        run(&mut c, ms(20_000))
    };

    // Names from /etc/hosts and from the DNS server in resolv.conf, then exec of a static program.
    let out = chroot(&[
        "-t".into(),
        "10s".into(),
        format!("tcp://from-hosts.test:{port}"),
        format!("tcp://from-dns.test:{port}"),
        "--".into(),
        "/app".into(),
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(
        out.field("pid").is_some(),
        "the static program ran: {}",
        out.stdout
    );

    // TLS verification against the built-in roots works with no CA file on disk: a self-signed
    // certificate is rejected as "unknown issuer" (not a crash, not "no roots").
    let out = chroot(&[
        "-t".into(),
        "10s".into(),
        format!("https://localhost:{tls_port}/"),
    ]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    std::fs::write(r.join("ca.pem"), &cert).unwrap();
    let out = chroot(&[
        "-t".into(),
        "10s".into(),
        format!("https://localhost:{tls_port}/#ca=/ca.pem"),
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr);

    // Finding 4: stdin or stderr closed, and no /dev/null to stand in for them (Rust's runtime
    // aborted). The gate still works; with stderr closed it just cannot say so.
    for closed in [0, 2] {
        let mut c = Command::new("chroot");
        c.arg(r).args([
            "/readygate",
            "-t",
            "5s",
            &format!("tcp://from-hosts.test:{port}"),
        ]);
        // SAFETY: close is async-signal-safe; chroot(8) passes the closed descriptor on.
        unsafe {
            use std::os::unix::process::CommandExt;
            c.pre_exec(move || {
                libc::close(closed);
                Ok(())
            });
        }
        let out = run(&mut c, ms(20_000));
        assert_eq!(out.code(), 0, "fd {closed} closed: {}", out.stderr);
    }

    // Finding 23: a file that is neither a program nor a script with a #! line is 126 in the
    // static build too (musl's execvp, like the kernel, refuses it; glibc's ran it through sh).
    std::fs::write(r.join("noshebang"), "echo hi\n").unwrap();
    std::fs::set_permissions(
        r.join("noshebang"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = chroot(&["--allow-empty".into(), "--".into(), "/noshebang".into()]);
    assert_eq!(out.code(), 126, "{}", out.stderr);
    assert!(out.stderr.contains("exec format error"), "{}", out.stderr);

    // Finding 5: musl's resolver divides by `attempts`; attempts:0 used to kill the gate with
    // SIGFPE. It is refused with the reason instead.
    std::fs::write(
        r.join("etc/resolv.conf"),
        format!("nameserver {dns_ip}\noptions attempts:0\n"),
    )
    .unwrap();
    let out = chroot(&[
        "-t".into(),
        "5s".into(),
        format!("tcp://from-dns.test:{port}"),
    ]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("attempts:0"), "{}", out.stderr);
    std::fs::write(r.join("etc/resolv.conf"), &resolv).unwrap();
}
