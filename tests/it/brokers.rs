//! Real servers for the protocols beyond PostgreSQL and Redis: MariaDB, RabbitMQ, memcached, NATS
//! and Mosquitto from Debian's packages, each on a free loopback port with its own directory,
//! killed (with everything it started) on drop.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{free_port, have, is_root, ms, require};
use crate::servers::{password, wait_port};

/// A server process in its own process group, with its directory.
pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    /// Run on drop, after the kill (epmd, which RabbitMQ starts detached).
    cleanup: Option<Command>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole group: RabbitMQ's Erlang VM and its helpers, mariadbd's children.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        // epmd refuses `-kill` while it still counts a node as alive, which it does until it
        // sees the killed node's connection close: ask again until it has gone.
        if let Some(c) = &mut self.cleanup {
            for _ in 0..50 {
                let out = c.stdin(Stdio::null()).output();
                let said = out.map_or(String::new(), |o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                });
                if said.contains("Killed") || said.contains("Cannot connect") || said.is_empty() {
                    break;
                }
                std::thread::sleep(ms(100));
            }
        }
    }
}

/// A directory other users (the server's own account) can read.
fn open_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap()
}

pub fn mariadb_available() -> bool {
    require(
        have("mariadbd") && have("mariadb-install-db") && have("mariadb"),
        "MariaDB (Debian packages mariadb-server, mariadb-client)",
    )
}

/// A MariaDB server with user `app` (password [`password`]) owning database `appdb`.
pub struct Mariadb {
    pub server: Option<Server>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Mariadb {
    /// Installs a data directory (not started).
    pub fn new() -> Mariadb {
        let dir = open_dir("readygate-mariadb");
        let mut cmd = Command::new("mariadb-install-db");
        cmd.args([
            "--no-defaults",
            &format!("--datadir={}", dir.path().join("data").display()),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]);
        if is_root() {
            cmd.arg("--user=mysql");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mariadb {
            server: None,
            port: free_port(),
            dir,
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("data").join("s.sock")
    }

    /// Starts the server with extra options; `wait`: until it listens and `app` exists.
    pub fn start(&mut self, extra: &[String], wait: bool) {
        let d = self.dir.path();
        let mut cmd = Command::new("mariadbd");
        cmd.args([
            "--no-defaults".to_string(),
            format!("--datadir={}", d.join("data").display()),
            format!("--port={}", self.port),
            "--bind-address=0.0.0.0".to_string(),
            format!("--socket={}", self.socket().display()),
            format!("--pid-file={}", d.join("data").join("pid").display()),
            "--skip-log-bin".to_string(),
            "--innodb-buffer-pool-size=16M".to_string(),
        ])
        .args(extra);
        if is_root() {
            cmd.arg("--user=mysql");
        }
        let child = spawn(&mut cmd, &d.join("server.log"));
        self.server = Some(Server {
            child,
            dir: open_dir("readygate-mariadb-run"),
            cleanup: None,
        });
        if wait {
            wait_port(self.port, ms(30_000));
            self.sql(&format!(
                "CREATE USER IF NOT EXISTS app@'%' IDENTIFIED BY '{}'; CREATE DATABASE IF NOT EXISTS appdb; GRANT ALL ON appdb.* TO app@'%';",
                password()
            ));
        }
    }

    pub fn sql(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .args(["--no-defaults", "-uroot", "-N", "-S"])
            .arg(self.socket())
            .args(["-e", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A file in the server's directory that its account can read (a certificate, a key).
    pub fn install(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }
}

pub fn rabbitmq_available() -> bool {
    require(
        Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").exists(),
        "RabbitMQ (Debian package rabbitmq-server)",
    )
}

/// A RabbitMQ node of its own (node name, ports, epmd port, data and cookie directory).
pub struct Rabbit {
    pub server: Server,
    env: Vec<(String, String)>,
}

impl Rabbit {
    pub fn start_on(port: u16) -> Rabbit {
        let dir = open_dir("readygate-rabbitmq");
        let d = dir.path().to_path_buf();
        std::fs::create_dir_all(d.join("home")).unwrap();
        let epmd = free_port();
        let env: Vec<(String, String)> = [
            ("HOME", d.join("home").display().to_string()),
            ("RABBITMQ_NODENAME", format!("readygate{port}@localhost")),
            ("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1".into()),
            ("RABBITMQ_NODE_PORT", port.to_string()),
            ("RABBITMQ_DIST_PORT", free_port().to_string()),
            ("ERL_EPMD_PORT", epmd.to_string()),
            (
                "RABBITMQ_MNESIA_BASE",
                d.join("mnesia").display().to_string(),
            ),
            ("RABBITMQ_LOG_BASE", d.join("log").display().to_string()),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                d.join("plugins").display().to_string(),
            ),
            (
                "RABBITMQ_CONFIG_FILE",
                d.join("rabbitmq").display().to_string(),
            ),
            ("RABBITMQ_PID_FILE", d.join("pid").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut cmd = Command::new("/usr/lib/rabbitmq/bin/rabbitmq-server");
        cmd.envs(env.iter().cloned());
        let child = spawn(&mut cmd, &d.join("server.log"));
        let mut cleanup = Command::new("epmd");
        cleanup.args(["-port", &epmd.to_string(), "-kill"]);
        Rabbit {
            server: Server {
                child,
                dir,
                cleanup: have("epmd").then_some(cleanup),
            },
            env,
        }
    }

    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
            .envs(self.env.iter().cloned())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub fn simple_available(program: &str, package: &str) -> bool {
    require(
        have(program),
        &format!("{program} (Debian package {package})"),
    )
}

/// How a memcached server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McAuth {
    None,
    /// `-Y FILE`: the text protocol's authentication.
    Text,
    /// `-S`: SASL over the binary protocol (a sasldb made with saslpasswd2).
    Sasl,
}

/// memcached, with user `app` when it authenticates.
pub fn memcached(port: u16, auth: McAuth) -> Server {
    let dir = open_dir("readygate-memcached");
    let mut cmd = Command::new("memcached");
    cmd.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]);
    if is_root() {
        cmd.args(["-u", "nobody"]);
    }
    match auth {
        McAuth::None => {}
        McAuth::Text => {
            let file = dir.path().join("auth");
            std::fs::write(&file, format!("app:{}\n", password())).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            cmd.arg("-Y").arg(&file);
        }
        McAuth::Sasl => {
            let db = dir.path().join("sasldb2");
            let mut child = Command::new("saslpasswd2")
                .args(["-p", "-a", "memcached", "-c", "-f"])
                .arg(&db)
                .arg("app")
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(password().as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success());
            std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::write(
                dir.path().join("memcached.conf"),
                format!("mech_list: plain\nsasldb_path: {}\n", db.display()),
            )
            .unwrap();
            cmd.arg("-S").env("SASL_CONF_PATH", dir.path());
        }
    }
    let child = spawn(&mut cmd, &dir.path().join("log"));
    wait_port(port, ms(10_000));
    Server {
        child,
        dir,
        cleanup: None,
    }
}

/// nats-server with user `app` and `extra` options, without waiting for it.
pub fn nats(port: u16, extra: &[&str]) -> Server {
    let dir = open_dir("readygate-nats");
    let mut cmd = Command::new("nats-server");
    cmd.args([
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--user",
        "app",
        "--pass",
    ])
    .arg(password())
    .args(extra);
    let child = spawn(&mut cmd, &dir.path().join("log"));
    Server {
        child,
        dir,
        cleanup: None,
    }
}

/// Mosquitto with user `app` and anonymous access off, without waiting for it.
pub fn mosquitto(port: u16) -> Server {
    let dir = open_dir("readygate-mosquitto");
    let pw = dir.path().join("passwords");
    let out = Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&pw)
        .arg("app")
        .arg(password())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
            pw.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new("mosquitto");
    cmd.arg("-c").arg(&conf);
    let child = spawn(&mut cmd, &dir.path().join("log"));
    Server {
        child,
        dir,
        cleanup: None,
    }
}
