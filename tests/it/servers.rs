//! Real servers for the tests: PostgreSQL clusters (initdb + pg_ctl, as the `postgres` user when
//! the suite runs as root) and redis-server processes, each on a free loopback port with its own
//! data directory. Never the machine's shared instances.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{encode, free_port, have, is_root, ms, require, CANARY};

/// The password of the `app` role / Redis users: contains the canary.
pub fn password() -> String {
    format!("{CANARY}-pw")
}

/// The password, ready for a URL.
pub fn password_in_url() -> String {
    encode(&password())
}

fn pg_bin() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").exists() {
                return Some(dir);
            }
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|d| d.join("initdb").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    })
    .as_deref()
}

/// Whether PostgreSQL tests can run here; skips loudly (or fails under CI=true) when not.
pub fn postgres_available() -> bool {
    let ok = pg_bin().is_some()
        && (!is_root() || have("runuser"))
        && (!is_root() || user_exists("postgres"));
    require(
        ok,
        "PostgreSQL server binaries (Debian package postgresql) and, as root, a 'postgres' user",
    )
}

fn user_exists(name: &str) -> bool {
    crate::harness::succeeds(Command::new("id").arg(name))
}

/// A throwaway PostgreSQL cluster.
pub struct Pg {
    _dir: tempfile::TempDir,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    log: PathBuf,
    /// A start was asked for (the server may still be on its way up at drop).
    started: std::sync::atomic::AtomicBool,
}

impl Pg {
    /// `initdb` a new cluster (not started) with roles `app` (password), `blocked` (rejected by
    /// pg_hba) and database `appdb`. `conf` is appended to postgresql.conf.
    pub fn new(conf: &str) -> Pg {
        let dir = tempfile::Builder::new()
            .prefix("readygate-pg")
            .tempdir_in("/tmp")
            .unwrap();
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("sock");
        std::fs::create_dir(&socket_dir).unwrap();
        let log = dir.path().join("log");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        if is_root() {
            chown_postgres(dir.path());
        }
        let port = free_port();
        let pg = Pg {
            _dir: dir,
            data,
            socket_dir,
            port,
            log,
            started: std::sync::atomic::AtomicBool::new(false),
        };
        pg.run_as(
            "initdb",
            &[
                "-D",
                pg.data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        let conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 40\nlog_line_prefix = '%m [%p] '\n{conf}\n",
            pg.port,
            pg.socket_dir.display()
        );
        append(&pg.data.join("postgresql.conf"), &conf);
        std::fs::write(
            pg.data.join("pg_hba.conf"),
            "local all all trust\nlocal replication all trust\nhost all blocked 127.0.0.1/32 reject\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n",
        )
        .unwrap();
        pg.start();
        pg.psql(&format!(
            "CREATE ROLE app LOGIN PASSWORD '{pw}'; CREATE ROLE blocked LOGIN PASSWORD '{pw}';",
            pw = password()
        ));
        pg.psql("CREATE DATABASE appdb OWNER app");
        pg.stop("fast");
        pg
    }

    fn run_as(&self, program: &str, args: &[&str]) -> Output {
        let out = pg_command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `-h SOCKET_DIR -p PORT -U postgres`: the superuser over the unix socket (trust).
    fn superuser(&self) -> Vec<String> {
        let dir = self.socket_dir.to_str().unwrap().to_string();
        vec![
            "-h".into(),
            dir,
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
        ]
    }

    /// Starts and waits until it accepts connections.
    pub fn start(&self) {
        self.pg_ctl(&["start", "-w", "-t", "30"], &[]);
    }

    /// Starts without waiting; `opts` are extra server options (`-c name=value`).
    pub fn start_nowait(&self, opts: &str) {
        self.pg_ctl(&["start", "-W"], &["-o", opts]);
    }

    pub fn stop(&self, mode: &str) {
        self.pg_ctl(&["stop", "-w", "-m", mode], &[]);
    }

    /// Asks for a stop without waiting for it.
    pub fn stop_nowait(&self, mode: &str) {
        self.pg_ctl(&["stop", "-W", "-m", mode], &[]);
    }

    pub fn promote(&self) {
        self.pg_ctl(&["promote", "-w"], &[]);
    }

    fn pg_ctl(&self, action: &[&str], extra: &[&str]) {
        match action.first() {
            Some(&"start") => self
                .started
                .store(true, std::sync::atomic::Ordering::SeqCst),
            Some(&"stop") => self
                .started
                .store(false, std::sync::atomic::Ordering::SeqCst),
            _ => {}
        }
        let mut args = vec![
            "-D",
            self.data.to_str().unwrap(),
            "-l",
            self.log.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(action);
        self.run_as("pg_ctl", &args);
    }

    /// Runs SQL as the superuser over the unix socket (trust).
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs SQL as the superuser in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let mut args = self.superuser();
        args.extend(
            [
                "-d",
                db,
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]
            .map(String::from),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        String::from_utf8_lossy(&self.run_as("psql", &args).stdout).into_owned()
    }

    /// Runs SQL in the background (e.g. a session that holds a connection).
    pub fn psql_background(&self, sql: &str) -> Child {
        self.psql_background_in("postgres", sql)
    }

    /// Runs SQL in the background in database `db`.
    pub fn psql_background_in(&self, db: &str, sql: &str) -> Child {
        pg_command("psql")
            .args(self.superuser())
            .args(["-d", db, "-X", "-q", "-c", sql])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// A standby of this (running) cluster, not started: `pg_basebackup -R`.
    pub fn standby(&self, conf: &str) -> Pg {
        let dir = tempfile::Builder::new()
            .prefix("readygate-pg-standby")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("sock");
        std::fs::create_dir(&socket_dir).unwrap();
        if is_root() {
            chown_postgres(dir.path());
        }
        let log = dir.path().join("log");
        let standby = Pg {
            _dir: dir,
            data,
            socket_dir,
            port: free_port(),
            log,
            started: std::sync::atomic::AtomicBool::new(false),
        };
        let mut args = vec!["-D".to_string(), standby.data.to_str().unwrap().to_string()];
        args.extend(self.superuser());
        args.extend(["-R", "-X", "stream"].map(String::from));
        self.run_as(
            "pg_basebackup",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        append(
            &standby.data.join("postgresql.conf"),
            &format!(
                "port = {}\nunix_socket_directories = '{}'\n{conf}\n",
                standby.port,
                standby.socket_dir.display()
            ),
        );
        standby
    }

    /// Appends settings to postgresql.conf (applied at the next start).
    pub fn configure(&self, conf: &str) {
        append(&self.data.join("postgresql.conf"), &format!("{conf}\n"));
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Copies a file into the data directory, owned by the server's user with mode 0600.
    pub fn install_private(&self, name: &str, content: &str) {
        let path = self.data.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if is_root() {
            chown_postgres(&path);
        }
    }

    pub fn url(&self, user_info: &str, db: &str) -> String {
        format!("postgres://{user_info}127.0.0.1:{}/{db}", self.port)
    }

    /// The `app` login URL of database `db` that waits for `sql` to return a row (`#query=`).
    pub fn query_url(&self, db: &str, sql: &str) -> String {
        format!("{}#query={}", self.url(&Pg::app(), db), encode(sql))
    }

    /// `app:PASSWORD@`
    pub fn app() -> String {
        format!("app:{}@", password_in_url())
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // A server started without waiting (`start_nowait`) may write its pid file only after the
        // test ended: wait for it, or the server outlives the test (and its deleted directory).
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            let pid = self.data.join("postmaster.pid");
            let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !pid.exists() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let pid_file = self.data.join("postmaster.pid");
        let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
        else {
            return;
        };
        let stopped = pg_command("pg_ctl")
            .args([
                "-D",
                self.data.to_str().unwrap(),
                "stop",
                "-m",
                "immediate",
                "-w",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        // pg_ctl can fail on a loaded machine (runuser, a signal): the postmaster must not outlive
        // the test, so it gets SIGQUIT (an immediate stop), then SIGKILL, by the pid it wrote.
        if !stopped {
            eprintln!(
                "pg_ctl stop failed for {}: signalling {pid}",
                self.data.display()
            );
            // SAFETY: kill(2) with the pid the cluster's own postmaster wrote.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
            let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
            // SAFETY: as above; signal 0 only asks whether it still exists.
            while unsafe { libc::kill(pid, 0) } == 0 && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// A PostgreSQL program, run as the `postgres` user when the suite runs as root (the server
/// refuses to run as root).
fn pg_command(program: &str) -> Command {
    let bin = pg_bin().expect("postgres binaries").join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn chown_postgres(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Waits until `port` on 127.0.0.1 accepts TCP.
pub fn wait_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < limit, "port {port} never opened");
        std::thread::sleep(ms(10));
    }
}

/// The time at the start of a PostgreSQL log line (`log_line_prefix = '%m …'`), in Unix ms.
pub fn log_time_ms(line: &str) -> i64 {
    let mut parts = line.split_whitespace();
    let (date, time) = (parts.next().expect("a date"), parts.next().expect("a time"));
    crate::harness::unix_ms(&format!("{date} {time}"))
}

pub fn redis_available() -> bool {
    require(
        have("redis-server") && have("redis-cli"),
        "redis-server and redis-cli (Debian package redis-server)",
    )
}

/// A redis-server process, killed on drop.
pub struct Redis {
    pub child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` on a free port with `args`, waiting until it listens (unless
    /// `wait` is false).
    pub fn start(args: &[&str], wait: bool) -> Redis {
        Self::start_in(tempfile::tempdir().unwrap(), free_port(), args, wait)
    }

    pub fn start_in(dir: tempfile::TempDir, port: u16, args: &[&str], wait: bool) -> Redis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                dir.path().to_str().unwrap(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = Redis {
            child,
            port,
            _dir: dir,
        };
        if wait && port != 0 {
            wait_port(port, ms(10_000));
        }
        r
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
