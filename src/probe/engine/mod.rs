//! `docker://NAME`, `compose://SERVICE` and `swarm://SERVICE`: what only the container engine
//! knows (a container's health, a job's exit code, a log line, a service's running tasks), asked
//! of the engine's API and told by its event stream.
//!
//! An attempt subscribes to the engine's events about its target first and inspects second, so a
//! state reached before the gate started is seen, and nothing between the two is missed. While
//! the answer is "not yet" it listens, and inspects again on each event: the command starts within
//! milliseconds of the engine's own event, with no polling. It listens for most of the attempt's
//! time and then hands back a "not yet" (cheap, so the next attempt follows at once, and
//! subscribes again: a reconnection is always followed by an inspection). `--check` and `#down`
//! answer after one look.
//!
//! Swarm's event stream says nothing of tasks, so `swarm://` asks for the service's tasks every
//! [`SWARM_TICK`], and sooner on any event about the service.

pub mod api;
pub mod logs;
pub mod state;

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::params::Params;
use crate::uri::Uri;
use crate::verdict::{Cost, Verdict};
use api::{filters, Answer, Engine, Lines, Session};
use state::{Condition, Container, Outcome};

/// The longest an attempt listens before it hands back "not yet": the gate's status line and a
/// deadline's message then say what the engine said at most a second ago. The next attempt
/// subscribes and inspects again, so an event in the pause between the two is not missed.
const LISTEN_MAX: Duration = Duration::from_secs(1);
/// How often `swarm://` asks for the tasks while it waits.
pub const SWARM_TICK: Duration = Duration::from_millis(250);
/// The longest event line read (an event is a few hundred bytes, with labels a few KiB).
const MAX_EVENT: usize = 256 * 1024;
/// The container events that can change a condition (health checks' `exec_*` events cannot).
const EVENTS: &[&str] = &[
    "create",
    "start",
    "restart",
    "die",
    "destroy",
    "health_status",
    "pause",
    "unpause",
    "oom",
    "rename",
    "stop",
];
/// A compose service's containers carry these labels (set by every Compose version).
const PROJECT_LABEL: &str = "com.docker.compose.project";
const SERVICE_LABEL: &str = "com.docker.compose.service";
const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";

/// Which compose project a `compose://` target is in, and how that was learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Project {
    Named {
        name: String,
        from: &'static str,
    },
    /// The gate's own container's label, read from the engine at the first attempt.
    OfContainer(String),
}

#[derive(Debug)]
enum What {
    Container {
        name: String,
        condition: Condition,
    },
    Service {
        project: Project,
        service: String,
        condition: Condition,
    },
    Swarm {
        service: String,
        running: Option<u64>,
    },
}

/// An engine target.
#[derive(Debug)]
pub struct EngineProbe {
    engine: Engine,
    what: What,
    /// How long one attempt listens before it hands back "not yet".
    listen: Duration,
    /// One look, no listening (`--check`, `#down`).
    at_once: bool,
    /// `#log`: the container and its start (a restart is a new log), and the time of the last line
    /// an attempt read, where the next one resumes (a long log is read once, not from its start
    /// on every attempt).
    resume: std::sync::Mutex<Option<(String, String)>>,
    /// The gate's own compose project, once read from its container's labels.
    own_project: std::sync::OnceLock<String>,
}

/// The process environment, as the constructors read it (tests give their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl EngineProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let env = |k: &str| std::env::var(k).ok();
        Self::from_parts(u, &env, own_container_id)
    }

    pub fn from_parts(
        u: &Uri,
        env: Env<'_>,
        own_id: fn() -> Option<String>,
    ) -> Result<Self, String> {
        let scheme = u.scheme.as_str();
        let example = match scheme {
            "docker" => "docker://migrate#exited",
            "compose" => "compose://db#healthy",
            _ => "swarm://api#running=3",
        };
        let Some(name) = u.host_as_written.clone() else {
            return Err(format!(
                "{scheme}:// names a container or service: {example}"
            ));
        };
        if u.user.is_some() || u.password.is_some() || u.port.is_some() || u.raw_query.is_some() {
            return Err(format!(
                "{scheme}:// takes a name and options only (no user, port or query): {example}"
            ));
        }
        if !matches!(u.path.as_str(), "" | "/") {
            return Err(format!(
                "{scheme}:// takes one name, not a path: {example} (the engine is DOCKER_HOST's)"
            ));
        }
        let tls_verify = env("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0");
        let engine = Engine::from_host(env("DOCKER_HOST").as_deref(), tls_verify)?;
        let mut params = Params::fragment(&u.options);
        let what = if scheme == "swarm" {
            let running = match params.take("running") {
                None => None,
                Some(n) if n.is_empty() => None,
                Some(n) => Some(n.parse::<u64>().map_err(|_| {
                    format!(
                        "#running={} is not a number of tasks: swarm://api#running=3",
                        crate::text::quote_short(&n)
                    )
                })?),
            };
            params.finish(scheme, &["running"])?;
            What::Swarm {
                service: name,
                running,
            }
        } else {
            let condition = condition(&mut params)?;
            if scheme == "compose" {
                let project = match (params.take("project"), env("COMPOSE_PROJECT_NAME")) {
                    (Some(p), _) if !p.is_empty() => Project::Named {
                        name: p,
                        from: "#project",
                    },
                    (Some(_), _) => return Err("#project= names the compose project: compose://db#project=shop".into()),
                    (None, Some(p)) if !p.trim().is_empty() => Project::Named {
                        name: p.trim().to_string(),
                        from: "COMPOSE_PROJECT_NAME",
                    },
                    _ => match own_id() {
                        Some(id) => Project::OfContainer(id),
                        None => return Err(format!(
                            "compose://{name}: which compose project? readygate is not in a container, and neither #project=NAME nor COMPOSE_PROJECT_NAME is given: compose://{name}#project=shop"
                        )),
                    },
                };
                params.finish(scheme, &["running", "healthy", "exited", "log", "project"])?;
                What::Service {
                    project,
                    service: name,
                    condition,
                }
            } else {
                params.finish(scheme, &["running", "healthy", "exited", "log"])?;
                What::Container { name, condition }
            }
        };
        Ok(EngineProbe {
            engine,
            what,
            listen: LISTEN_MAX,
            at_once: false,
            resume: std::sync::Mutex::new(None),
            own_project: std::sync::OnceLock::new(),
        })
    }

    /// The attempt's time: it listens for four fifths of it, at most [`LISTEN_MAX`].
    pub fn set_attempt_timeout(&mut self, timeout: Duration) {
        self.listen = timeout.mul_f64(0.8).min(LISTEN_MAX);
    }

    /// One look per attempt, no listening.
    pub fn answer_at_once(&mut self) {
        self.at_once = true;
    }

    pub fn preflight(&self) -> Result<(), String> {
        self.engine.preflight()
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        let asks = format!(
            "asks the engine at {} (GET only, API version agreed by /_ping)",
            self.engine
        );
        let listens = if self.at_once {
            "one look per attempt".to_string()
        } else {
            "between looks it listens to the engine's events".to_string()
        };
        match &self.what {
            What::Container { name, condition } => vec![
                format!("{asks} whether container {name} {}", condition.describe()),
                format!("{listens}; a container that does not exist yet is waited for"),
            ],
            What::Service {
                project,
                service,
                condition,
            } => vec![
                format!(
                    "{asks} whether every container of service {service} {}",
                    condition.describe()
                ),
                match project {
                    Project::Named { name, from } => {
                        format!("in compose project {name} (from {from})")
                    }
                    Project::OfContainer(id) => format!(
                        "in this container's compose project (the label of container {})",
                        &id[..id.len().min(12)]
                    ),
                },
                listens,
            ],
            What::Swarm { service, running } => vec![
                format!(
                    "{asks} whether service {service} has {} tasks running",
                    running.map_or("as many as its replicas".to_string(), |n| n.to_string())
                ),
                format!(
                    "Swarm tells no task events: it asks every {} ms, and sooner on the service's events",
                    SWARM_TICK.as_millis()
                ),
            ],
        }
    }

    pub async fn attempt(&self) -> Verdict {
        let until = Instant::now() + self.listen;
        let session = match self.engine.session().await {
            Ok(s) => s,
            Err(v) => return v,
        };
        match &self.what {
            What::Swarm { service, running } => {
                self.swarm(&session, service, *running, until).await
            }
            _ => self.containers(&session, until).await,
        }
    }

    /// `docker://` and `compose://`: subscribe, look, and look again on each event.
    async fn containers(&self, s: &Session<'_>, until: Instant) -> Verdict {
        let mut events = match self.at_once {
            true => None,
            false => match self.subscribe(s).await {
                Ok(lines) => Some(lines),
                Err(v) => return v,
            },
        };
        // The exit code of a container that died and was removed before a look found it.
        let mut died: Option<(String, i64)> = None;
        loop {
            let outcome = match self.look(s, died.as_ref(), until).await {
                Ok(o) => o,
                Err(v) => return v,
            };
            let waiting = match outcome {
                Waited::Done(verdict) => return verdict,
                Waited::Not(verdict) => verdict,
            };
            let Some(events) = events.as_mut() else {
                return waiting;
            };
            // Checked here too: a stream that always has a line ready never lets a timeout fire.
            if Instant::now() >= until {
                return waiting;
            }
            match tokio::time::timeout_at(until, events.next_line()).await {
                Err(_) => return waiting,
                Ok(Err(e)) => return Verdict::costly(e),
                Ok(Ok(None)) => return Verdict::costly("the engine ended its event stream"),
                Ok(Ok(Some(line))) => {
                    if let Some(d) = death(&line) {
                        died = Some(d);
                    }
                }
            }
        }
    }

    async fn subscribe(&self, s: &Session<'_>) -> Result<Lines, Verdict> {
        let query = match &self.what {
            What::Container { name, .. } => filters(&[
                ("type", &["container"]),
                ("container", &[name.as_str()]),
                ("event", EVENTS),
            ]),
            What::Service {
                project, service, ..
            } => {
                let project = match project {
                    Project::Named { name, .. } => name.clone(),
                    Project::OfContainer(id) => self.own_project(s, id).await?,
                };
                filters(&[
                    ("type", &["container"]),
                    (
                        "label",
                        &[
                            format!("{PROJECT_LABEL}={project}").as_str(),
                            format!("{SERVICE_LABEL}={service}").as_str(),
                        ],
                    ),
                    ("event", EVENTS),
                ])
            }
            What::Swarm { service, .. } => filters(&[("service", &[service.as_str()])]),
        };
        let stream = s.stream(&format!("/events?filters={query}")).await?;
        Ok(Lines::new(stream, MAX_EVENT))
    }

    /// One look at the containers: done (ready or failed), or why not yet.
    async fn look(
        &self,
        s: &Session<'_>,
        died: Option<&(String, i64)>,
        until: Instant,
    ) -> Result<Waited, Verdict> {
        let (condition, containers, absent) = match &self.what {
            What::Container { name, condition } => {
                let path = format!(
                    "/containers/{}/json",
                    crate::redact::percent_encode(name, false)
                );
                let found = match s.document(&path).await? {
                    Answer::Found(v) => vec![Container::from_inspection(&v)],
                    Answer::Missing => match died {
                        Some((_, code)) => vec![Container::removed_after_exit(name, *code)],
                        None => Vec::new(),
                    },
                };
                (condition, found, format!("no container named {name} (yet)"))
            }
            What::Service {
                project,
                service,
                condition,
            } => {
                let project = match project {
                    Project::Named { name, .. } => name.clone(),
                    Project::OfContainer(id) => self.own_project(s, id).await?,
                };
                let found = service_containers(s, &project, service, died).await?;
                (
                    condition,
                    found,
                    format!("no container of service {service} in compose project {project} (yet)"),
                )
            }
            What::Swarm { .. } => unreachable!("swarm:// has its own loop"),
        };
        if containers.is_empty() {
            return Ok(Waited::Not(Verdict::gone(absent, Cost::Absent)));
        }
        let mut outcomes = Vec::with_capacity(containers.len());
        for c in &containers {
            let mut outcome = c.outcome(condition);
            if let (Outcome::ReadLog { id, tty, since }, Condition::Log(re)) = (&outcome, condition)
            {
                outcome = self
                    .read_log(s, &c.name, id, *tty, since, re, until)
                    .await?;
            }
            outcomes.push(outcome);
        }
        Ok(match state::together(outcomes) {
            Outcome::Ready(detail) => Waited::Done(Verdict::ready(detail)),
            Outcome::Fail(reason) => Waited::Done(Verdict::failed(reason)),
            Outcome::Wait(reason) => Waited::Not(Verdict::cheap(reason)),
            Outcome::ReadLog { .. } => Waited::Not(Verdict::cheap("reading its log")),
        })
    }

    /// Reads a running container's log from its start until a line matches, the log ends (it
    /// stopped: the next look says why) or the attempt's time is up.
    #[allow(clippy::too_many_arguments)]
    async fn read_log(
        &self,
        s: &Session<'_>,
        name: &str,
        id: &str,
        tty: bool,
        since: &str,
        re: &regex_lite::Regex,
        until: Instant,
    ) -> Result<Outcome, Verdict> {
        let follow = if self.at_once { 0 } else { 1 };
        // This run of the container: its id and start.
        let run = format!("{id}@{since}");
        let resumed = match &*self.resume.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((of, at)) if *of == run => at.clone(),
            _ => since.to_string(),
        };
        let path = format!(
            "/containers/{id}/logs?stdout=1&stderr=1&timestamps=1&follow={follow}&since={resumed}"
        );
        let mut stream = s.stream(&path).await?;
        let mut reader = logs::LogReader::new(tty);
        let outcome = self
            .match_log(name, &mut stream, &mut reader, re, until)
            .await;
        if let Some(at) = reader.last_stamp.as_deref().and_then(state::unix_time) {
            *self.resume.lock().unwrap_or_else(|p| p.into_inner()) = Some((run, at));
        }
        outcome
    }

    async fn match_log(
        &self,
        name: &str,
        stream: &mut api::Stream,
        reader: &mut logs::LogReader,
        re: &regex_lite::Regex,
        until: Instant,
    ) -> Result<Outcome, Verdict> {
        let not_yet = |seen: u64| {
            Outcome::Wait(format!(
                "{name} is running; no line of its log matches {} yet ({seen} read)",
                crate::text::quote_short(re.as_str())
            ))
        };
        loop {
            if Instant::now() >= until {
                return Ok(not_yet(reader.seen));
            }
            let chunk = match tokio::time::timeout_at(until, stream.next_chunk()).await {
                Err(_) => return Ok(not_yet(reader.seen)),
                Ok(Err(e)) => return Err(Verdict::costly(e)),
                Ok(Ok(None)) => {
                    return Ok(match reader.finish(re) {
                        true => Outcome::Ready(format!("{name} logged a matching line")),
                        false => not_yet(reader.seen),
                    })
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            match reader.feed(&chunk, re) {
                Ok(true) => return Ok(Outcome::Ready(format!("{name} logged a matching line"))),
                Ok(false) => {}
                Err(e) => return Err(Verdict::costly(e)),
            }
        }
    }

    /// `swarm://`: the service's running tasks against its replicas.
    async fn swarm(
        &self,
        s: &Session<'_>,
        service: &str,
        running: Option<u64>,
        until: Instant,
    ) -> Verdict {
        let mut events = match self.at_once {
            true => None,
            false => match self.subscribe(s).await {
                Ok(lines) => Some(lines),
                Err(v) => return v,
            },
        };
        loop {
            let waiting = match count_tasks(s, service, running).await {
                Ok(Waited::Done(v)) => return v,
                Ok(Waited::Not(v)) => v,
                Err(v) => return v,
            };
            let Some(events) = events.as_mut() else {
                return waiting;
            };
            if Instant::now() >= until {
                return waiting;
            }
            let tick = (Instant::now() + SWARM_TICK).min(until);
            match tokio::time::timeout_at(tick, events.next_line()).await {
                Err(_) if tick >= until => return waiting,
                Err(_) => {}
                Ok(Err(e)) => return Verdict::costly(e),
                Ok(Ok(None)) => return Verdict::costly("the engine ended its event stream"),
                Ok(Ok(Some(_))) => {}
            }
        }
    }
}

/// A look's result: the attempt is over, or it waits with this verdict.
#[derive(Debug)]
enum Waited {
    Done(Verdict),
    Not(Verdict),
}

/// The condition a target's options name (`#running` when none does).
fn condition(params: &mut Params) -> Result<Condition, String> {
    let mut given = Vec::new();
    if params.flag("running")? {
        given.push(Condition::Running);
    }
    if params.flag("healthy")? {
        given.push(Condition::Healthy);
    }
    if let Some(code) = params.take("exited") {
        let code = if code.is_empty() {
            0
        } else {
            code.parse::<i64>()
                .ok()
                .filter(|c| (0..=255).contains(c))
                .ok_or_else(|| {
                    format!(
                        "#exited={} is not an exit code (0 to 255): docker://migrate#exited=0",
                        crate::text::quote_short(&code)
                    )
                })?
        };
        given.push(Condition::Exited(code));
    }
    if let Some(pattern) = params.take("log") {
        if pattern.is_empty() {
            return Err("#log= needs a pattern: docker://api#log=listening%20on".into());
        }
        let re = regex_lite::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                format!(
                    "#log={} is not a regular expression: {}",
                    crate::text::quote_short(&pattern),
                    e.to_string().lines().last().unwrap_or("")
                )
            })?;
        given.push(Condition::Log(Box::new(re)));
    }
    match given.len() {
        0 => Ok(Condition::Running),
        1 => Ok(given.remove(0)),
        _ => Err("give one of #running, #healthy, #exited and #log (a target waits for one thing; give two targets for two)".into()),
    }
}

/// A `die` event's container and exit code.
pub fn death(line: &[u8]) -> Option<(String, i64)> {
    let event: Value = serde_json::from_slice(line).ok()?;
    let action = event
        .get("Action")
        .or_else(|| event.get("status"))
        .and_then(Value::as_str)?;
    if action != "die" {
        return None;
    }
    let attributes = event.pointer("/Actor/Attributes")?;
    let name = attributes.get("name").and_then(Value::as_str)?.to_string();
    let code = attributes
        .get("exitCode")
        .and_then(Value::as_str)?
        .parse()
        .ok()?;
    Some((name, code))
}

impl EngineProbe {
    /// The compose project of the gate's own container, asked once.
    async fn own_project(&self, s: &Session<'_>, id: &str) -> Result<String, Verdict> {
        if let Some(p) = self.own_project.get() {
            return Ok(p.clone());
        }
        let project = project_of(s, id).await?;
        Ok(self.own_project.get_or_init(|| project).clone())
    }
}

/// The compose project of a container (the gate's own), from its labels.
async fn project_of(s: &Session<'_>, id: &str) -> Result<String, Verdict> {
    let short = &id[..id.len().min(12)];
    match s.document(&format!("/containers/{id}/json")).await? {
        Answer::Found(v) => v
            .pointer("/Config/Labels")
            .and_then(|l| l.get(PROJECT_LABEL))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                Verdict::failed(format!(
                    "this container ({short}) is not in a compose project: name it with #project=NAME or COMPOSE_PROJECT_NAME"
                ))
            }),
        Answer::Missing => Err(Verdict::failed(format!(
            "the engine does not know this container ({short}): is DOCKER_HOST another engine? name the project with #project=NAME"
        ))),
    }
}

/// Every container of a compose service but one-off `run` containers, inspected.
async fn service_containers(
    s: &Session<'_>,
    project: &str,
    service: &str,
    died: Option<&(String, i64)>,
) -> Result<Vec<Container>, Verdict> {
    let query = filters(&[(
        "label",
        &[
            format!("{PROJECT_LABEL}={project}").as_str(),
            format!("{SERVICE_LABEL}={service}").as_str(),
        ],
    )]);
    let Answer::Found(list) = s
        .document(&format!("/containers/json?all=1&filters={query}"))
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for c in list.as_array().map(Vec::as_slice).unwrap_or_default() {
        let oneoff = c
            .pointer("/Labels")
            .and_then(|l| l.get(ONEOFF_LABEL))
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let Some(id) = c.get("Id").and_then(Value::as_str) else {
            continue;
        };
        if oneoff {
            continue;
        }
        // Removed between the list and the look: as if it had not been listed.
        if let Answer::Found(v) = s.document(&format!("/containers/{id}/json")).await? {
            found.push(Container::from_inspection(&v));
        }
    }
    if found.is_empty() {
        if let Some((name, code)) = died {
            found.push(Container::removed_after_exit(name, *code));
        }
    }
    Ok(found)
}

/// A swarm service's running tasks against what it asks for.
async fn count_tasks(s: &Session<'_>, service: &str, want: Option<u64>) -> Result<Waited, Verdict> {
    let spec = match s
        .document(&format!(
            "/services/{}",
            crate::redact::percent_encode(service, false)
        ))
        .await?
    {
        Answer::Found(v) => v,
        Answer::Missing => {
            return Ok(Waited::Not(Verdict::gone(
                format!("no swarm service named {service} (yet)"),
                Cost::Absent,
            )))
        }
    };
    let query = filters(&[("service", &[service]), ("desired-state", &["running"])]);
    let Answer::Found(tasks) = s.document(&format!("/tasks?filters={query}")).await? else {
        return Ok(Waited::Not(Verdict::cheap(format!(
            "{service} has no tasks yet"
        ))));
    };
    let tasks = tasks.as_array().map(Vec::as_slice).unwrap_or_default();
    let state = |t: &Value| {
        t.pointer("/Status/State")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let running = tasks.iter().filter(|t| state(t) == "running").count() as u64;
    let replicas = spec
        .pointer("/Spec/Mode/Replicated/Replicas")
        .and_then(Value::as_u64);
    let (want, enough) = enough_tasks(running, want, replicas, tasks.len() as u64);
    if enough {
        return Ok(Waited::Done(Verdict::ready(format!(
            "{service}: {running} of {want} tasks running"
        ))));
    }
    let why = tasks
        .iter()
        .filter(|t| state(t) != "running")
        .find_map(|t| {
            let err = t
                .pointer("/Status/Err")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty());
            let said = err.or_else(|| t.pointer("/Status/Message").and_then(Value::as_str));
            said.map(|m| {
                format!(
                    " (a task is {}: {})",
                    state(t),
                    crate::redact::redact_text(m)
                )
            })
        })
        .unwrap_or_default();
    Ok(Waited::Not(Verdict::cheap(format!(
        "{service}: {running} of {want} tasks running{why}"
    ))))
}

/// How many tasks a swarm service needs running, and whether `running` is that many: the number
/// asked for, else its replicas, else (a global service: one task per eligible node) every task it
/// wants running, of which there must be one.
fn enough_tasks(
    running: u64,
    asked: Option<u64>,
    replicas: Option<u64>,
    wanted: u64,
) -> (u64, bool) {
    match (asked, replicas) {
        (Some(n), _) | (None, Some(n)) => (n, running >= n),
        (None, None) => (wanted, wanted > 0 && running >= wanted),
    }
}

/// This process's container, if it runs in one: the engine bind-mounts files from the
/// container's own directory (`…/containers/ID/hostname`), which its mount table names.
fn own_container_id() -> Option<String> {
    // Read once per process, however many compose:// targets ask.
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ID.get_or_init(read_own_container_id).clone()
}

fn read_own_container_id() -> Option<String> {
    use std::io::Read;
    let mut table = String::new();
    std::fs::File::open("/proc/self/mountinfo")
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut table)
        .ok()?;
    container_id_in(&table)
}

fn container_id_in(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let (_, after) = line.split_once("/containers/")?;
        let id = after.split('/').next()?;
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(
        s: &str,
        env: &[(&str, &str)],
        own: fn() -> Option<String>,
    ) -> Result<EngineProbe, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        EngineProbe::from_parts(
            &crate::uri::parse(s).map_err(|e| e.to_string())?,
            &lookup,
            own,
        )
    }

    fn parse(s: &str) -> Result<EngineProbe, String> {
        parse_with(s, &[], || None)
    }

    #[test]
    fn conditions_and_their_mistakes() {
        let p = parse("docker://Migrate#exited").unwrap();
        assert!(
            matches!(&p.what, What::Container { name, condition: Condition::Exited(0) } if name == "Migrate")
        );
        assert!(matches!(
            parse("docker://db").unwrap().what,
            What::Container {
                condition: Condition::Running,
                ..
            }
        ));
        assert!(matches!(
            parse("docker://db#exited=3").unwrap().what,
            What::Container {
                condition: Condition::Exited(3),
                ..
            }
        ));
        assert!(matches!(
            parse("docker://db#log=ready%20to%20accept").unwrap().what,
            What::Container {
                condition: Condition::Log(_),
                ..
            }
        ));
        for (bad, said) in [
            ("docker://db#exited=256", "not an exit code"),
            ("docker://db#exited=x", "not an exit code"),
            ("docker://db#healthy&exited", "give one of"),
            ("docker://db#log=(", "not a regular expression"),
            ("docker://db#log=", "needs a pattern"),
            ("docker://db#project=x", "unknown option '#project'"),
            ("docker://db:5432", "no user, port or query"),
            ("docker://db/x", "not a path"),
            ("docker:///x", "names a container"),
            ("swarm://api#running=many", "not a number"),
            ("swarm://api#healthy", "unknown option '#healthy'"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(said), "{bad}: {e}");
        }
    }

    #[test]
    fn a_compose_project_comes_from_the_option_the_environment_or_the_own_container() {
        let id = || Some("a".repeat(64));
        let project = |p: EngineProbe| match p.what {
            What::Service { project, .. } => project,
            _ => panic!("a service"),
        };
        assert_eq!(
            project(
                parse_with(
                    "compose://db#project=shop",
                    &[("COMPOSE_PROJECT_NAME", "other")],
                    id
                )
                .unwrap()
            ),
            Project::Named {
                name: "shop".into(),
                from: "#project"
            }
        );
        assert_eq!(
            project(parse_with("compose://db", &[("COMPOSE_PROJECT_NAME", "other")], id).unwrap()),
            Project::Named {
                name: "other".into(),
                from: "COMPOSE_PROJECT_NAME"
            }
        );
        assert_eq!(
            project(parse_with("compose://db", &[], id).unwrap()),
            Project::OfContainer("a".repeat(64))
        );
        let said = parse_with("compose://db#healthy", &[], || None).unwrap_err();
        assert!(
            said.contains("which compose project") && said.contains("#project="),
            "{said}"
        );
    }

    #[test]
    fn docker_host_is_honoured_and_tls_refused() {
        let p = parse_with(
            "docker://db",
            &[("DOCKER_HOST", "tcp://proxy:2375")],
            || None,
        )
        .unwrap();
        assert_eq!(p.engine.to_string(), "tcp://proxy:2375");
        let e = parse_with(
            "docker://db",
            &[
                ("DOCKER_HOST", "tcp://proxy:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
            ],
            || None,
        )
        .unwrap_err();
        assert!(e.contains("TLS"), "{e}");
    }

    #[test]
    fn the_own_container_is_found_in_the_mount_table() {
        let id = "0123456789abcdef".repeat(4);
        let table = format!(
            "1 0 0:1 / / rw - overlay overlay rw\n2 1 8:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
        );
        assert_eq!(container_id_in(&table), Some(id));
        assert_eq!(
            container_id_in("1 0 0:1 / / rw - ext4 /dev/sda1 rw\n"),
            None
        );
        assert_eq!(container_id_in("x /containers/abc/hostname\n"), None);
    }

    #[test]
    fn a_service_has_enough_tasks_by_the_count_asked_its_replicas_or_all_it_wants() {
        assert_eq!(enough_tasks(2, None, Some(3), 3), (3, false));
        assert_eq!(enough_tasks(3, None, Some(3), 3), (3, true));
        assert_eq!(enough_tasks(1, Some(1), Some(3), 3), (1, true));
        assert_eq!(enough_tasks(0, Some(0), Some(3), 3), (0, true));
        assert_eq!(enough_tasks(0, None, Some(0), 0), (0, true));
        // Global: every task it wants, and at least one.
        assert_eq!(enough_tasks(0, None, None, 0), (0, false));
        assert_eq!(enough_tasks(2, None, None, 3), (3, false));
        assert_eq!(enough_tasks(3, None, None, 3), (3, true));
    }

    #[test]
    fn a_die_event_gives_the_exit_code() {
        let line = br#"{"status":"die","id":"abc","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"3","name":"migrate"}}}"#;
        assert_eq!(death(line), Some(("migrate".into(), 3)));
        assert_eq!(
            death(br#"{"Action":"start","Actor":{"Attributes":{"name":"m"}}}"#),
            None
        );
        assert_eq!(death(b"garbage"), None);
    }
}
