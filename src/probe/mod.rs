//! The probes: one module per protocol behind one enum, and [`KINDS`], the one table of what
//! readygate can probe. Schemes, default ports, the examples in error messages, the targets part
//! of `--help` and the documentation's check all come from that table.
//!
//! A probe turns a parsed [`Uri`] into its typed settings (every option validated, so bad input
//! fails at start), and makes ONE attempt when asked, answering with a [`Verdict`]. It gets its
//! stream from [`crate::net`] (an [`crate::net::Endpoint`], TLS from [`crate::net::tls`]) and
//! only speaks its protocol over it. The scheduler bounds each attempt in time, so a probe only
//! has to be cancellation-safe: dropping the attempt's future closes every socket it opened (no
//! spawned task may outlive it).
//!
//! # Adding a protocol
//! 1. A module or folder here (`probe/nats.rs`, or `probe/nats/{mod,wire}.rs` when it has a wire
//!    format of its own): a struct with `from_uri(&Uri) -> Result<Self, String>` that reads its
//!    options with [`crate::params::Params`] (and TLS with `Tls::from_options`), and
//!    `async fn attempt(&self) -> Verdict` that opens its stream with `Endpoint::open`.
//! 2. One arm in [`Probe`] (and in its `match`es below: the compiler lists them).
//! 3. One row in [`KINDS`]: schemes, the features it needs, default port, example, help line,
//!    constructor.
//! 4. A heavy protocol is a cargo feature: in Cargo.toml (default and `fuzzing` lists too) and
//!    [`crate::features::FEATURES`]; `#[cfg(feature = …)]` on its module, arm and `match` arms;
//!    `built_with!` around its constructor (a build without it still knows the kind by name).
//! 5. A row in docs/targets.md's table (a test fails until it is there) and its "what each
//!    answer means" table.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "exec-check")]
pub mod command;
#[cfg(feature = "docker")]
pub mod engine;
pub mod file;
pub mod group;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod http;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
pub mod tcp;
pub mod text;
pub mod unix;

use crate::features::{built_with, not_built};
use crate::uri::Uri;
use crate::verdict::Verdict;

/// What to probe and how, per protocol. Every protocol's settings but TCP's (and the small
/// file and socket ones) are boxed: inline, every target would be as large as PostgreSQL's
/// settings (352 bytes) whatever its kind, and 10,000 waiting targets carry that each.
#[derive(Debug)]
pub enum Probe {
    Tcp(tcp::TcpProbe),
    Http(Box<http::HttpProbe>),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::PgProbe>),
    #[cfg(feature = "redis")]
    Redis(Box<redis::RedisProbe>),
    #[cfg(feature = "redis")]
    Sentinel(Box<redis::sentinel::SentinelProbe>),
    File(file::FileProbe),
    Unix(unix::UnixProbe),
    #[cfg(feature = "mysql")]
    Mysql(Box<mysql::MysqlProbe>),
    #[cfg(feature = "amqp")]
    Amqp(Box<amqp::AmqpProbe>),
    #[cfg(feature = "memcached")]
    Memcached(Box<memcached::MemcachedProbe>),
    #[cfg(feature = "nats")]
    Nats(Box<nats::NatsProbe>),
    #[cfg(feature = "mqtt")]
    Mqtt(Box<mqtt::MqttProbe>),
    #[cfg(feature = "grpc")]
    Grpc(Box<grpc::GrpcProbe>),
    /// `--exec-check`: ready when a command exits 0.
    #[cfg(feature = "exec-check")]
    Command(Box<command::CommandProbe>),
    /// `docker://`, `compose://`, `swarm://`: what the container engine knows.
    #[cfg(feature = "docker")]
    Engine(Box<engine::EngineProbe>),
    /// `a|b`: ready when any member is.
    AnyOf(group::Group),
}

/// One kind of target: a row of the table.
#[derive(Debug)]
pub struct Kind {
    /// The schemes that select it (the first is the one shown).
    pub schemes: &'static [&'static str],
    /// The cargo features a build needs for it (see [`crate::features::FEATURES`]); without them the kind is
    /// still known, so its targets are refused by name instead of as an unknown scheme.
    pub needs: &'static [&'static str],
    /// The port used when the URL names none (left out of display names).
    pub default_port: Option<u16>,
    /// A correct target, shown with every error about such a target.
    pub example: &'static str,
    /// The URL form and what "ready" means, for `--help`.
    pub usage: &'static str,
    pub meaning: &'static str,
    build: fn(&Uri) -> Result<Probe, String>,
}

/// A kind's constructor that exists only in builds with its feature: without it, the module (and
/// the crates it uses) is not compiled at all, and [`Kind::build`] refuses the target before the
/// stand-in could run.
macro_rules! built_with {
    ($feature:literal, $build:expr) => {{
        #[cfg(feature = $feature)]
        const BUILD: fn(&Uri) -> Result<Probe, String> = $build;
        #[cfg(not(feature = $feature))]
        const BUILD: fn(&Uri) -> Result<Probe, String> =
            |u| Err(not_built(&format!("{}://", u.scheme), $feature));
        BUILD
    }};
}

/// Every kind of target readygate knows.
pub const KINDS: &[Kind] = &[
    Kind {
        schemes: &["tcp"],
        needs: &[],
        default_port: None,
        example: "tcp://db:5432 (or db:5432)",
        usage: "tcp://HOST:PORT, HOST:PORT",
        meaning: "a TCP connection is accepted",
        build: |u| tcp::TcpProbe::from_uri(u).map(Probe::Tcp),
    },
    Kind {
        schemes: &["http"],
        needs: &[],
        default_port: Some(80),
        example: "http://api:8080/healthz",
        usage: "http://HOST[:PORT]/PATH",
        meaning: "GET answers 2xx   (#status=, #contains=, #header=)",
        build: |u| http::HttpProbe::from_uri(u).map(|p| Probe::Http(Box::new(p))),
    },
    Kind {
        schemes: &["https"],
        needs: &["tls"],
        default_port: Some(443),
        example: "https://api.example.com/healthz#ca=/run/secrets/ca.pem",
        usage: "https://HOST[:PORT]/PATH",
        meaning: "the same over verified TLS   (#ca=FILE, #insecure)",
        build: |u| http::HttpProbe::from_uri(u).map(|p| Probe::Http(Box::new(p))),
    },
    Kind {
        schemes: &["postgres", "postgresql"],
        needs: &["postgres"],
        default_port: Some(5432),
        example: "postgres://app@db:5432/app",
        usage: "postgres://[USER[:PASS]@]HOST[:PORT]/DB",
        meaning: "accepts connections / the user can log in   (postgresql:// too)",
        build: built_with!("postgres", |u| postgres::PgProbe::from_uri(u)
            .map(|p| Probe::Postgres(Box::new(p)))),
    },
    Kind {
        schemes: &["redis"],
        needs: &["redis"],
        default_port: Some(6379),
        example: "redis://cache:6379/0",
        usage: "redis://[[USER]:PASS@]HOST[:PORT]/DB",
        meaning: "PING answers PONG after AUTH and SELECT",
        build: built_with!("redis", |u| redis::RedisProbe::from_uri(u)
            .map(|p| Probe::Redis(Box::new(p)))),
    },
    Kind {
        schemes: &["rediss"],
        needs: &["redis", "tls"],
        default_port: Some(6379),
        example: "rediss://cache:6380/0#ca=/run/secrets/ca.pem",
        usage: "rediss://…",
        meaning: "the same over verified TLS   (#ca=FILE, #insecure)",
        build: built_with!("redis", |u| redis::RedisProbe::from_uri(u)
            .map(|p| Probe::Redis(Box::new(p)))),
    },
    Kind {
        schemes: &["redis+unix"],
        needs: &["redis"],
        default_port: None,
        example: "redis+unix:///run/redis/redis.sock?db=0",
        usage: "redis+unix:///PATH/redis.sock[?db=N]",
        meaning: "the same over a unix socket",
        build: built_with!("redis", |u| redis::RedisProbe::from_uri(u)
            .map(|p| Probe::Redis(Box::new(p)))),
    },
    Kind {
        schemes: &["redis+sentinel"],
        needs: &["redis"],
        default_port: Some(26379),
        example: "redis+sentinel://sentinel:26379/mymaster/0",
        usage: "redis+sentinel://[[USER]:PASS@]HOST[:PORT]/MASTER",
        meaning: "the sentinel names a master, which answers as master",
        build: built_with!("redis", |u| redis::sentinel::SentinelProbe::from_uri(u)
            .map(|p| Probe::Sentinel(Box::new(p)))),
    },
    Kind {
        schemes: &["file"],
        needs: &[],
        default_port: None,
        example: "file:///run/app/ready",
        usage: "file:///PATH",
        meaning: "the file exists   (#nonempty; #absent: until it is gone)",
        build: |u| file::FileProbe::from_uri(u).map(Probe::File),
    },
    Kind {
        schemes: &["grpc", "grpcs"],
        needs: &["grpc"],
        default_port: None,
        example: "grpc://api:50051#service=app.v1.Orders",
        usage: "grpc://HOST:PORT[#service=NAME]",
        meaning: "the gRPC health service says SERVING   (grpcs:// with TLS)",
        build: built_with!("grpc", |u| grpc::GrpcProbe::from_uri(u)
            .map(|p| Probe::Grpc(Box::new(p)))),
    },
    Kind {
        schemes: &["unix"],
        needs: &[],
        default_port: None,
        example: "unix:///run/php/php-fpm.sock",
        usage: "unix:///PATH",
        meaning: "a unix stream socket accepts a connection",
        build: |u| unix::UnixProbe::from_uri(u).map(Probe::Unix),
    },
    Kind {
        schemes: &["mysql", "mariadb"],
        needs: &["mysql"],
        default_port: Some(3306),
        example: "mysql://app@db:3306/app",
        usage: "mysql://[USER[:PASS]@]HOST[:PORT]/DB",
        meaning: "accepts connections / the user can log in   (mariadb:// too)",
        build: built_with!("mysql", |u| mysql::MysqlProbe::from_uri(u)
            .map(|p| Probe::Mysql(Box::new(p)))),
    },
    Kind {
        schemes: &["amqp"],
        needs: &["amqp"],
        default_port: Some(5672),
        example: "amqp://app:secret@rabbitmq:5672/app",
        usage: "amqp://[USER:PASS@]HOST[:PORT]/VHOST",
        meaning: "the AMQP 0-9-1 handshake opens the vhost (RabbitMQ)",
        build: built_with!("amqp", |u| amqp::AmqpProbe::from_uri(u)
            .map(|p| Probe::Amqp(Box::new(p)))),
    },
    Kind {
        schemes: &["amqps"],
        needs: &["amqp", "tls"],
        default_port: Some(5671),
        example: "amqps://app:secret@rabbitmq:5671/app#ca=/run/secrets/ca.pem",
        usage: "amqps://…",
        meaning: "the same over verified TLS   (#ca=FILE, #insecure)",
        build: built_with!("amqp", |u| amqp::AmqpProbe::from_uri(u)
            .map(|p| Probe::Amqp(Box::new(p)))),
    },
    Kind {
        schemes: &["memcached"],
        needs: &["memcached"],
        default_port: Some(11211),
        example: "memcached://cache:11211",
        usage: "memcached://[USER:PASS@]HOST[:PORT]",
        meaning: "version answers VERSION",
        build: built_with!("memcached", |u| memcached::MemcachedProbe::from_uri(u)
            .map(|p| Probe::Memcached(Box::new(p)))),
    },
    Kind {
        schemes: &["nats"],
        needs: &["nats"],
        default_port: Some(4222),
        example: "nats://nats:4222",
        usage: "nats://[USER:PASS@|TOKEN@]HOST[:PORT]",
        meaning: "INFO, then PONG to CONNECT + PING   (#tls)",
        build: built_with!("nats", |u| nats::NatsProbe::from_uri(u)
            .map(|p| Probe::Nats(Box::new(p)))),
    },
    Kind {
        schemes: &["mqtt"],
        needs: &["mqtt"],
        default_port: Some(1883),
        example: "mqtt://broker:1883",
        usage: "mqtt://[USER[:PASS]@]HOST[:PORT]",
        meaning: "CONNECT is accepted   (#version=5)",
        build: built_with!("mqtt", |u| mqtt::MqttProbe::from_uri(u)
            .map(|p| Probe::Mqtt(Box::new(p)))),
    },
    Kind {
        schemes: &["mqtts"],
        needs: &["mqtt", "tls"],
        default_port: Some(8883),
        example: "mqtts://broker:8883#ca=/run/secrets/ca.pem",
        usage: "mqtts://…",
        meaning: "the same over verified TLS   (#ca=FILE, #insecure)",
        build: built_with!("mqtt", |u| mqtt::MqttProbe::from_uri(u)
            .map(|p| Probe::Mqtt(Box::new(p)))),
    },
    Kind {
        schemes: &["docker"],
        needs: &["docker"],
        default_port: None,
        example: "docker://migrate#exited",
        usage: "docker://CONTAINER",
        meaning: "the engine says it runs   (#healthy, #exited[=CODE], #log=REGEX)",
        build: built_with!("docker", |u| engine::EngineProbe::from_uri(u)
            .map(|p| Probe::Engine(Box::new(p)))),
    },
    Kind {
        schemes: &["compose"],
        needs: &["docker"],
        default_port: None,
        example: "compose://db#healthy",
        usage: "compose://SERVICE",
        meaning: "the same for every container of a compose service   (#project=)",
        build: built_with!("docker", |u| engine::EngineProbe::from_uri(u)
            .map(|p| Probe::Engine(Box::new(p)))),
    },
    Kind {
        schemes: &["swarm"],
        needs: &["docker"],
        default_port: None,
        example: "swarm://api#running=3",
        usage: "swarm://SERVICE",
        meaning: "a swarm service has its replicas running   (#running=N)",
        build: built_with!("docker", |u| engine::EngineProbe::from_uri(u)
            .map(|p| Probe::Engine(Box::new(p)))),
    },
];

/// An `--exec-check` command's probe and the name it prints.
#[cfg(feature = "exec-check")]
pub fn exec_check(line: &str) -> Result<(String, Probe), String> {
    let probe = command::CommandProbe::parse(line)?;
    Ok((probe.name(), Probe::Command(Box::new(probe))))
}

/// An `--exec-check` command's probe: refused in a build without the feature.
#[cfg(not(feature = "exec-check"))]
pub fn exec_check(_line: &str) -> Result<(String, Probe), String> {
    Err(not_built("--exec-check", "exec-check"))
}

/// The checks' children: a supervisor leaves those still awaited to their attempts, and the gate
/// reaps those a cancelled attempt killed (see [`command`]).
#[cfg(feature = "exec-check")]
pub use command::{is_running as is_check_child, reap_killed};

/// A build without `--exec-check` starts no check children.
#[cfg(not(feature = "exec-check"))]
pub fn is_check_child(_pid: i32) -> bool {
    false
}

/// A build without `--exec-check` has no killed check children to reap.
#[cfg(not(feature = "exec-check"))]
pub fn reap_killed() {}

/// A host-and-port target's host and port: the URL's port, or its scheme's default from [`KINDS`]
/// (the one table, which also leaves that port out of the target's printed name).
pub fn tcp_endpoint(u: &Uri) -> Result<(crate::uri::Host, u16), String> {
    let host = u.host.clone().ok_or("the host is missing")?;
    let port = u
        .port
        .or_else(|| kind(&u.scheme).and_then(|k| k.default_port))
        .ok_or("the port is missing")?;
    Ok((host, port))
}

/// The kind a scheme selects.
pub fn kind(scheme: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.schemes.contains(&scheme))
}

/// Every scheme, for error messages: "tcp, http, …".
pub fn schemes() -> String {
    let all: Vec<&str> = KINDS
        .iter()
        .flat_map(|k| k.schemes.iter().copied())
        .collect();
    all.join(", ")
}

/// The targets part of `--help`.
pub fn help() -> String {
    const COLUMN: usize = 42;
    let mut out = String::from("Targets (the scheme picks the probe):\n");
    for k in KINDS {
        let absent = k
            .missing_feature()
            .map(|f| format!("not in this build (feature {f})"));
        let meaning = absent.as_deref().unwrap_or(k.meaning);
        // A form too long for its column gets its meaning on the next line, never run together.
        if k.usage.chars().count() < COLUMN {
            out.push_str(&format!("  {:<COLUMN$}{}\n", k.usage, meaning));
        } else {
            out.push_str(&format!("  {}\n  {:<COLUMN$}{}\n", k.usage, "", meaning));
        }
    }
    out.push_str(
        "  IPv6 literals go in brackets: tcp://[::1]:5432. Targets are also read from\n  READYGATE_TARGETS when none is given as an argument.",
    );
    let (with, without) = crate::features::listed();
    out.push_str(&format!("\n  Features in this build: {}", with.join(" ")));
    if !without.is_empty() {
        out.push_str(&format!("; left out: {}", without.join(" ")));
    }
    out
}

impl Kind {
    /// Builds the probe for a parsed URL of this kind, validating every option.
    pub fn build(&self, uri: &Uri) -> Result<Probe, String> {
        if let Some(missing) = self.missing_feature() {
            return Err(not_built(&format!("{}://", uri.scheme), missing));
        }
        (self.build)(uri)
    }

    /// The first feature this build lacks for this kind. (TLS asked of a kind that has it as an
    /// option, `grpcs://` or `nats://…#tls`, is refused by `net::tls` in a build without it.)
    pub fn missing_feature(&self) -> Option<&'static str> {
        self.needs.iter().copied().find(|f| !built_with(f))
    }
}

impl Probe {
    /// One attempt (see the module doc).
    ///
    /// Each protocol's attempt is boxed but TCP's: unboxed, every attempt (and every group's and
    /// watch loop's) would be as large as the largest protocol's state (9.3 KiB, PostgreSQL's and
    /// TLS's once) whatever its own protocol. TCP's state is small and stays inline: its attempt is
    /// the one repeated every 50 ms by the thousands. (The scheduler boxes each attempt as a whole
    /// too, so that a target between attempts holds only a pointer.)
    pub async fn attempt(&self) -> Verdict {
        match self {
            Probe::Tcp(t) => t.attempt().await,
            Probe::Http(h) => Box::pin(h.attempt()).await,
            #[cfg(feature = "postgres")]
            Probe::Postgres(p) => Box::pin(p.attempt()).await,
            #[cfg(feature = "redis")]
            Probe::Redis(r) => Box::pin(r.attempt()).await,
            #[cfg(feature = "redis")]
            Probe::Sentinel(s) => Box::pin(s.attempt()).await,
            Probe::File(f) => Box::pin(f.attempt()).await,
            Probe::Unix(u) => Box::pin(u.attempt()).await,
            #[cfg(feature = "mysql")]
            Probe::Mysql(m) => Box::pin(m.attempt()).await,
            #[cfg(feature = "amqp")]
            Probe::Amqp(a) => Box::pin(a.attempt()).await,
            #[cfg(feature = "memcached")]
            Probe::Memcached(m) => Box::pin(m.attempt()).await,
            #[cfg(feature = "nats")]
            Probe::Nats(n) => Box::pin(n.attempt()).await,
            #[cfg(feature = "mqtt")]
            Probe::Mqtt(m) => Box::pin(m.attempt()).await,
            #[cfg(feature = "grpc")]
            Probe::Grpc(g) => Box::pin(g.attempt()).await,
            #[cfg(feature = "exec-check")]
            Probe::Command(c) => Box::pin(c.attempt()).await,
            #[cfg(feature = "docker")]
            Probe::Engine(e) => Box::pin(e.attempt()).await,
            Probe::AnyOf(g) => Box::pin(g.attempt()).await,
        }
    }

    /// Whether the server holds a handshake dropped half-way against the client (MySQL's
    /// `max_connect_errors` blocks the host), so that a group lets it finish.
    pub fn counts_dropped_handshakes(&self) -> bool {
        match self {
            #[cfg(feature = "mysql")]
            Probe::Mysql(_) => true,
            _ => false,
        }
    }

    /// How many pairs of descriptors one attempt holds at its peak: a socket (and a second one
    /// for a moment while connecting to two addresses) is one; an engine target's two sockets are
    /// two; starting a command takes three pipes at once (its stdout, its stderr, and the
    /// exec-error pipe of the spawn); a group holds each member's at once.
    pub fn slots(&self) -> u32 {
        match self {
            #[cfg(feature = "exec-check")]
            Probe::Command(_) => 3,
            // The event stream held open, and a request to the engine beside it.
            #[cfg(feature = "docker")]
            Probe::Engine(_) => 2,
            Probe::AnyOf(g) => g.probes().map(Probe::slots).sum(),
            _ => 1,
        }
    }

    /// A group keeps probing a member that failed (`--retry-permanent`, `#down`).
    pub fn retry_failed_members(&mut self) {
        if let Probe::AnyOf(g) = self {
            g.retry_failed_members();
        }
    }

    /// Tells the probe how long an attempt may take, for protocols that can also bound the work
    /// on the server's side.
    pub fn set_attempt_timeout(&mut self, timeout: std::time::Duration) {
        match self {
            #[cfg(feature = "postgres")]
            Probe::Postgres(p) => p.set_attempt_timeout(timeout),
            #[cfg(feature = "redis")]
            Probe::Sentinel(s) => s.set_attempt_timeout(timeout),
            #[cfg(feature = "docker")]
            Probe::Engine(e) => e.set_attempt_timeout(timeout),
            Probe::AnyOf(g) => g.probes_mut().for_each(|p| p.set_attempt_timeout(timeout)),
            _ => {}
        }
    }

    /// What the probe will do, in words, for `--explain` (never a secret).
    pub fn explain(&self) -> Vec<String> {
        match self {
            Probe::Tcp(t) => t.explain(),
            Probe::Http(h) => h.explain(),
            #[cfg(feature = "postgres")]
            Probe::Postgres(p) => p.explain(),
            #[cfg(feature = "redis")]
            Probe::Redis(r) => r.explain(),
            #[cfg(feature = "redis")]
            Probe::Sentinel(s) => s.explain(),
            Probe::File(f) => f.explain(),
            Probe::Unix(u) => u.explain(),
            #[cfg(feature = "mysql")]
            Probe::Mysql(m) => m.explain(),
            #[cfg(feature = "amqp")]
            Probe::Amqp(a) => a.explain(),
            #[cfg(feature = "memcached")]
            Probe::Memcached(m) => m.explain(),
            #[cfg(feature = "nats")]
            Probe::Nats(n) => n.explain(),
            #[cfg(feature = "mqtt")]
            Probe::Mqtt(m) => m.explain(),
            #[cfg(feature = "grpc")]
            Probe::Grpc(g) => g.explain(),
            #[cfg(feature = "exec-check")]
            Probe::Command(c) => c.explain(),
            #[cfg(feature = "docker")]
            Probe::Engine(e) => e.explain(),
            Probe::AnyOf(g) => g.explain(),
        }
    }

    /// Probes that listen for news between looks (the engine's events) look once and answer
    /// instead: `--check` asks about now, and `#down` about absence, which no event announces
    /// sooner than a look.
    pub fn answer_at_once(&mut self) {
        match self {
            #[cfg(feature = "docker")]
            Probe::Engine(e) => e.answer_at_once(),
            Probe::AnyOf(g) => g.probes_mut().for_each(Probe::answer_at_once),
            _ => {}
        }
    }

    /// What can be known at start to make the target unusable for good (the engine's socket
    /// missing): refused then, with exit 2, never waited on.
    pub fn preflight(&self) -> Result<(), String> {
        match self {
            #[cfg(feature = "docker")]
            Probe::Engine(e) => e.preflight(),
            Probe::AnyOf(g) => g.probes().try_for_each(Probe::preflight),
            _ => Ok(()),
        }
    }

    /// Whether the target's host is a name the network resolves (`--watch` follows its
    /// addresses); a container's or service's name on the engine is not.
    pub fn resolves_its_host(&self) -> bool {
        match self {
            #[cfg(feature = "docker")]
            Probe::Engine(_) => false,
            _ => true,
        }
    }

    /// With a stability asked for, a TCP probe also checks that an accepted connection stays open
    /// for `window` (see [`tcp::TcpProbe::watch_for_close`]).
    pub fn watch_for_close(&mut self, window: std::time::Duration) {
        match self {
            Probe::Tcp(t) => t.watch_for_close(window),
            Probe::AnyOf(g) => g.probes_mut().for_each(|p| p.watch_for_close(window)),
            _ => {}
        }
    }

    /// Warnings worth showing once at start (e.g. TLS verification switched off).
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Probe::Http(h) => h.warning().into_iter().collect(),
            #[cfg(feature = "redis")]
            Probe::Redis(r) => r.warning().into_iter().collect(),
            #[cfg(feature = "amqp")]
            Probe::Amqp(a) => a.warning().into_iter().collect(),
            #[cfg(feature = "mqtt")]
            Probe::Mqtt(m) => m.warning().into_iter().collect(),
            #[cfg(feature = "grpc")]
            Probe::Grpc(g) => g.warning().into_iter().collect(),
            #[cfg(feature = "nats")]
            Probe::Nats(n) => n.warning().into_iter().collect(),
            #[cfg(feature = "postgres")]
            Probe::Postgres(p) => p.warning.iter().cloned().collect(),
            Probe::AnyOf(g) => g.warnings(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probes_default_ports_are_the_tables() {
        #[cfg(feature = "postgres")]
        assert_eq!(
            kind("postgres").unwrap().default_port,
            Some(postgres::DEFAULT_PORT)
        );
        #[cfg(feature = "redis")]
        assert_eq!(
            kind("redis").unwrap().default_port,
            Some(redis::DEFAULT_PORT)
        );
    }

    #[test]
    fn every_scheme_belongs_to_one_kind() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            for s in k.schemes {
                assert!(seen.insert(*s), "{s} twice");
                assert_eq!(kind(s).map(|k| k.example), Some(k.example));
            }
            // The example is a target of this kind that parses.
            let example = k.example.split(' ').next().unwrap();
            let uri = crate::uri::parse(example).unwrap();
            // Except where the example depends on the machine: a CA file to read, a compose
            // project to find (in a container of one, or COMPOSE_PROJECT_NAME).
            assert!(
                k.build(&uri).is_ok()
                    || example.contains("#ca=")
                    || (example.starts_with("compose://")
                        && std::env::var_os("COMPOSE_PROJECT_NAME").is_none()),
                "{example}"
            );
        }
        assert!(help().contains("redis+unix:///PATH"));
        assert!(schemes().starts_with("tcp, http, https, postgres, postgresql"));
    }

    /// Every waiting target holds one attempt future: its size, times 10,000 targets, is the
    /// gate's memory at scale. Unboxed it was 9 KiB (the largest protocol's) for every target.
    /// `Probe::attempt` returns one future type whatever the protocol, so one probe measures all.
    #[test]
    fn an_attempt_future_is_small_whatever_the_protocol() {
        let probe = KINDS[0]
            .build(&crate::uri::parse("tcp://db:5432").unwrap())
            .unwrap();
        let size = std::mem::size_of_val(&probe.attempt());
        assert!(size <= 512, "{size} bytes");
    }
}
