//! Running the real binary, with a secret-canary sweep on every run, and the prerequisites that let a
//! test skip loudly outside CI but fail under `CI=true`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every password and token in the suite contains this marker, with characters that need
/// URL-encoding. No output of any run may contain it, raw or encoded.
pub const CANARY: &str = "Cn4ry@p:w/d%x";

pub fn canary_encoded() -> String {
    encode(CANARY)
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn assert_no_canary(text: &str) {
    for needle in [
        CANARY.to_string(),
        canary_encoded(),
        encode(&canary_encoded()),
        "Cn4ry".to_string(),
    ] {
        assert!(
            !text.contains(&needle),
            "SECRET LEAKED ({needle:?}) in output:\n{text}"
        );
    }
}

/// The outcome of one run of the gate.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }
    /// `elapsed_ms` of the last JSON line (`--log-format json`) of `event`: the gate's own clock,
    /// which a loaded machine does not stretch as it stretches the test's reading of the wall
    /// clock (the process's start, the reaping). Deadlines are checked on it.
    pub fn event_ms(&self, event: &str) -> u64 {
        let tag = format!("\"event\":\"{event}\"");
        self.stderr
            .lines()
            .rfind(|l| l.contains(&tag))
            .and_then(|l| l.split("\"elapsed_ms\":").nth(1))
            .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {event} line with elapsed_ms:\n{}", self.stderr))
    }

    /// A field `key=value` printed by the inspector.
    pub fn field(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

/// A gate command with a clean environment: no READYGATE_* or PG* variable leaks in from the
/// machine running the tests.
pub fn gate() -> Command {
    gate_at(Path::new(env!("CARGO_BIN_EXE_readygate")))
}

/// [`gate`] for another build of readygate (a static one, one with only some features).
pub fn gate_at(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("READYGATE_") || k.starts_with("PG") || k.starts_with("REDIS") {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null());
    // Start the gate with only fds 0-2, as a container runtime does, so that "no descriptor leaked"
    // is about the gate and not about what the test runner inherited.
    // SAFETY: close_range is async-signal-safe.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    cmd
}

/// Spawns with piped output; returns the child and when it started.
fn spawn(cmd: &mut Command) -> (Child, Instant) {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    (child, start)
}

/// Runs to completion, failing the test if it takes longer than `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Run {
    let (child, start) = spawn(cmd);
    finish(child, start, limit)
}

/// Runs the gate while `during` acts on the world (starts a server, rewrites /etc/hosts, …), then
/// waits for it as [`run`] does. `elapsed` counts from the spawn.
pub fn run_during(cmd: &mut Command, limit: Duration, during: impl FnOnce()) -> Run {
    let (child, start) = spawn(cmd);
    during();
    finish(child, start, limit)
}

/// What the gate has written to stderr so far, for a test that must act only once the gate has
/// *said* something (seen the server refused, seen NOT_SERVING): a fixed sleep instead lets a
/// slow start on a loaded machine skip the state the test is about.
pub struct Said {
    text: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    start: Instant,
    limit: Duration,
}

impl Said {
    /// Blocks until the gate's stderr contains `needle`, failing the test at the run's limit.
    pub fn wait_for(&self, needle: &str) {
        loop {
            // Borrowed while the bytes are UTF-8: no copy of the whole output on every look.
            if String::from_utf8_lossy(&self.text.lock().unwrap()).contains(needle) {
                return;
            }
            if self.start.elapsed() > self.limit {
                let text = String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned();
                panic!(
                    "the gate never said {needle:?} within {:?}:\n{text}",
                    self.limit
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// [`run_during`], with `during` given what the gate says as it says it ([`Said::wait_for`]).
pub fn run_watching(cmd: &mut Command, limit: Duration, during: impl FnOnce(&Said)) -> Run {
    let (mut child, start) = spawn(cmd);
    let text = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut pipe = child.stderr.take().expect("piped stderr");
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    during(&Said {
        text: text.clone(),
        start,
        limit,
    });
    let mut run = finish(child, start, limit);
    let _ = reader.join();
    run.stderr = String::from_utf8_lossy(&text.lock().unwrap()).into_owned();
    assert_no_canary(&run.stderr);
    run
}

/// Runs to completion as [`run`] does, and reports the gate's peak RSS in KiB: its own `VmHWM`,
/// sampled while it runs (a high-water mark, so a sample after the peak still sees it).
pub fn run_measuring_rss(cmd: &mut Command, limit: Duration) -> (Run, u64) {
    let (child, start) = spawn(cmd);
    let mut peak_kib = 0u64;
    let run = finish_with(child, start, limit, |child| {
        use std::os::unix::process::ExitStatusExt;
        // The gate's own high-water mark, sampled every poll (2 ms) while it runs. Not wait4's
        // ru_maxrss: a child started with vfork semantics (posix_spawn) inherits the *test
        // process's* peak RSS at exec, so with other tests running in this process the figure
        // was this process's, not the gate's.
        // Only once the exec is done: before it, the forked child is a copy of this process,
        // whose high-water mark is this test process's.
        let status_file = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .filter(|s| s.lines().next().is_some_and(|l| l.ends_with("readygate")));
        if let Some(hwm) = status_file.and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        }) {
            peak_kib = peak_kib.max(hwm);
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid out-pointer; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(child.id() as i32, &mut status, libc::WNOHANG) };
        (pid > 0).then(|| ExitStatus::from_raw(status))
    });
    eprintln!("MEASURE peak RSS {peak_kib} KiB");
    (run, peak_kib)
}

/// Unix milliseconds from an RFC 3339 time (`docker inspect`) or a PostgreSQL `%m` log time
/// (`2026-11-26 04:00:00.123`).
pub fn unix_ms(stamp: &str) -> i64 {
    let stamp = stamp.trim().replacen(' ', "T", 1);
    let t = humantime::parse_rfc3339_weak(&stamp).unwrap_or_else(|e| panic!("{stamp:?}: {e}"));
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Waits for a spawned child (with piped output), failing the test after `limit`.
pub fn finish(child: Child, start: Instant, limit: Duration) -> Run {
    finish_with(child, start, limit, |c| c.try_wait().expect("wait"))
}

/// [`finish`], reaping the child with `reap` (which returns its status once it has ended).
fn finish_with(
    mut child: Child,
    start: Instant,
    limit: Duration,
    mut reap: impl FnMut(&mut Child) -> Option<ExitStatus>,
) -> Run {
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        if let Some(status) = reap(&mut child) {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap_or_default();
            panic!("readygate did not finish within {limit:?}; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let run = Run {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed,
    };
    assert_no_canary(&run.stdout);
    assert_no_canary(&run.stderr);
    run
}

/// The inspector (tests/support/inspect.c), compiled once per test run.
pub fn inspector() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inspect");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/inspect.c");
        let status = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("a C compiler (cc) is needed to build the test inspector");
        assert!(status.success(), "compiling the inspector failed");
        out
    })
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `cmd` with its output thrown away: whether it ran and exited 0.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null"))
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a prerequisite holds. Outside CI a missing one skips the test; under `CI=true` it fails
/// the test, so CI can never pass by skipping.
///
/// A skip is recorded where the test command can report it after cargo's own summary (cargo
/// captures a passing test's output, so a `SKIPPED:` line alone would never be seen): one line
/// `test name: reason` appended to the file named by `TEST_SKIPS_FILE` (`./test.sh` sets it and
/// prints "N tests skipped" at the end).
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("missing prerequisite under CI=true: {what}");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    eprintln!("SKIPPED: {test}: {what}");
    if let Some(path) = std::env::var_os("TEST_SKIPS_FILE") {
        use std::io::Write;
        // One write of one short line with O_APPEND: lines from parallel tests do not mix.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = f.write_all(format!("{test}: {what}\n").as_bytes());
        }
    }
    false
}

/// A UDP socket on port 53 of a loopback address of its own (127.x.y.z, chosen at random), for a
/// DNS responder: two test runs at once never want the same address. `None` (with the reason)
/// when none could be bound.
pub fn loopback_dns_socket() -> Result<(std::net::UdpSocket, std::net::Ipv4Addr), String> {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 20;
    let mut last = String::new();
    for _ in 0..64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let [a, b, c] = [(seed >> 8) as u8, (seed >> 16) as u8, (seed >> 24) as u8];
        let ip = std::net::Ipv4Addr::new(127, a.max(1), b, c.clamp(2, 254));
        match std::net::UdpSocket::bind((ip, 53)) {
            Ok(s) => return Ok((s, ip)),
            Err(e) => last = format!("binding {ip}:53: {e}"),
        }
    }
    Err(last)
}

/// Polls `check` every `every` until it returns `Ok`, failing the test after `limit` with the last
/// `Err` (what was seen instead).
pub fn wait_until<T>(
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(t) => return t,
            Err(last) if start.elapsed() > limit => panic!("gave up after {limit:?}: {last}"),
            Err(_) => std::thread::sleep(every),
        }
    }
}

/// A loopback TCP port held by the test: bound, not listening. A connection to it is refused
/// exactly as by a server that is not up yet, and no other process can take the port meanwhile;
/// [`HeldPort::listen`] brings the server up on the same socket. (A port found free, released and
/// bound again later could be taken in between by another test on a busy machine.)
pub struct HeldPort {
    fd: std::os::fd::OwnedFd,
    pub port: u16,
}

impl HeldPort {
    pub fn new() -> Self {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: plain socket calls on a descriptor this function owns; the address structures
        // are fully initialised and their sizes passed.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            let bound = libc::bind(raw, std::ptr::addr_of!(addr).cast(), len);
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let mut got: libc::sockaddr_in = std::mem::zeroed();
            let mut got_len = len;
            libc::getsockname(raw, std::ptr::addr_of_mut!(got).cast(), &mut got_len);
            HeldPort {
                fd,
                port: u16::from_be(got.sin_port),
            }
        }
    }

    /// The server is up: the held socket listens (backlog 128).
    pub fn listen(self) -> std::net::TcpListener {
        let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
        // SAFETY: listen on a bound socket this value owns.
        let ok = unsafe { libc::listen(raw, 128) };
        assert_eq!(ok, 0, "listen: {}", std::io::Error::last_os_error());
        std::net::TcpListener::from(self.fd)
    }
}

/// A port that nothing listens on (bound then released), for servers that bind it themselves
/// (PostgreSQL, Redis, the brokers); in-process servers use [`HeldPort`].
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` with at most `n` descriptors (both limits), as `ulimit -n N` would.
pub fn with_descriptors(cmd: &mut Command, n: u64) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit between fork and exec (async-signal-safe).
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        })
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
