//! What a container's inspection means for a condition: ready, not yet, or never. Pure functions
//! over the engine's JSON, so every case is a unit test.

use serde_json::Value;

/// What a `docker://` or `compose://` target waits for.
#[derive(Debug, Clone)]
pub enum Condition {
    /// `#running` (the default): started, not paused, not restarting.
    Running,
    /// `#healthy`: its health check passes.
    Healthy,
    /// `#exited=CODE`: it ran and exited with CODE (a one-shot job).
    Exited(i64),
    /// `#log=REGEX`: running, and a line of its output since it started matches.
    Log(Box<regex_lite::Regex>),
}

impl Condition {
    pub fn describe(&self) -> String {
        match self {
            Condition::Running => "is running".into(),
            Condition::Healthy => "is running and its health check passes".into(),
            Condition::Exited(code) => format!("has exited with code {code}"),
            Condition::Log(re) => format!(
                "is running and has written a line matching {} since it started",
                crate::text::quote_short(re.as_str())
            ),
        }
    }
}

/// What one container's state says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ready(String),
    Wait(String),
    Fail(String),
    /// Running, and the condition is in its output: read its log from `since` (a Unix time).
    ReadLog {
        id: String,
        tty: bool,
        since: String,
    },
}

/// One inspected container, by the fields the conditions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// Its name, without the engine's leading '/'.
    pub name: String,
    pub status: String,
    pub exit_code: i64,
    pub oom: bool,
    /// `None`: no health check.
    pub health: Option<String>,
    /// The last health check's output, first line.
    pub health_said: Option<String>,
    pub restart_policy: String,
    pub max_retries: i64,
    pub restart_count: i64,
    pub tty: bool,
    pub started_at: String,
}

impl Container {
    /// From `GET /containers/{name}/json`.
    pub fn from_inspection(v: &Value) -> Container {
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let number = |p: &str| v.pointer(p).and_then(Value::as_i64).unwrap_or_default();
        let health = v
            .pointer("/State/Health/Status")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let health_said = v
            .pointer("/State/Health/Log")
            .and_then(Value::as_array)
            .and_then(|log| log.last())
            .and_then(|last| last.get("Output"))
            .and_then(Value::as_str)
            .and_then(|o| o.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(|l| l.chars().take(120).collect());
        Container {
            id: text("/Id"),
            name: text("/Name").trim_start_matches('/').to_string(),
            status: text("/State/Status"),
            exit_code: number("/State/ExitCode"),
            oom: v
                .pointer("/State/OOMKilled")
                .and_then(Value::as_bool)
                .unwrap_or_default(),
            health,
            health_said,
            restart_policy: text("/HostConfig/RestartPolicy/Name"),
            max_retries: number("/HostConfig/RestartPolicy/MaximumRetryCount"),
            restart_count: number("/RestartCount"),
            tty: v
                .pointer("/Config/Tty")
                .and_then(Value::as_bool)
                .unwrap_or_default(),
            started_at: text("/State/StartedAt"),
        }
    }

    /// A container that is gone, known only by the exit code of the `die` event before its
    /// removal (`docker run --rm`, a removed job): it will never start again.
    pub fn removed_after_exit(name: &str, exit_code: i64) -> Container {
        Container {
            id: String::new(),
            name: name.to_string(),
            status: "exited".into(),
            exit_code,
            oom: false,
            health: None,
            health_said: None,
            restart_policy: "no".into(),
            max_retries: 0,
            restart_count: 0,
            tty: false,
            started_at: String::new(),
        }
    }

    /// Whether the engine will start it again after it exited, by its restart policy.
    /// (`always` and `unless-stopped` do not restart a container stopped by hand, which the
    /// inspection does not tell: waiting is the safe side, under the deadline.)
    fn will_restart(&self) -> bool {
        match self.restart_policy.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                self.exit_code != 0
                    && (self.max_retries <= 0 || self.restart_count < self.max_retries)
            }
            _ => false,
        }
    }

    fn exited(&self) -> String {
        let oom = if self.oom { " (out of memory)" } else { "" };
        format!("{} exited {}{oom}", self.name, self.exit_code)
    }

    /// What its state means for `condition`.
    pub fn outcome(&self, condition: &Condition) -> Outcome {
        let name = &self.name;
        // The states in which no condition but #exited can hold.
        let not_running = || match self.status.as_str() {
            "created" => Outcome::Wait(format!("{name} is created, not started yet")),
            "restarting" => Outcome::Wait(format!("{name} is restarting ({})", self.exited())),
            "paused" => Outcome::Wait(format!("{name} is paused")),
            "removing" => Outcome::Wait(format!("{name} is being removed")),
            "dead" => Outcome::Fail(format!(
                "{name} is dead (the engine failed to stop or remove it)"
            )),
            "exited" if self.will_restart() => Outcome::Wait(format!(
                "{}; its restart policy ({}) starts it again",
                self.exited(),
                self.restart_policy
            )),
            "exited" => Outcome::Fail(format!(
                "{}, and its restart policy ({}) will not start it again",
                self.exited(),
                if self.restart_policy.is_empty() {
                    "no"
                } else {
                    &self.restart_policy
                }
            )),
            other => Outcome::Wait(format!("{name} is {other}")),
        };
        match condition {
            Condition::Exited(want) => match self.status.as_str() {
                "exited" if self.exit_code == *want => Outcome::Ready(self.exited()),
                "exited" if self.will_restart() => Outcome::Wait(format!(
                    "{} (waiting for {want}); its restart policy ({}) runs it again",
                    self.exited(),
                    self.restart_policy
                )),
                "exited" => Outcome::Fail(format!("{} (expected {want})", self.exited())),
                "running" => Outcome::Wait(format!("{name} is still running")),
                _ => not_running(),
            },
            _ if self.status != "running" => not_running(),
            Condition::Running => Outcome::Ready(format!("{name} is running")),
            Condition::Healthy => match self.health.as_deref() {
                None => Outcome::Fail(format!(
                    "{name} has no health check: give it one (HEALTHCHECK in its image, healthcheck: in compose, docker run --health-cmd) or wait for #running"
                )),
                Some("healthy") => Outcome::Ready(format!("{name} is healthy")),
                Some(state) => Outcome::Wait(match &self.health_said {
                    Some(said) if state == "unhealthy" => format!(
                        "{name} is unhealthy (its last check said: {})",
                        crate::redact::redact_text(said)
                    ),
                    _ => format!("{name} is running, health: {state}"),
                }),
            },
            Condition::Log(_) => Outcome::ReadLog {
                id: self.id.clone(),
                tty: self.tty,
                since: unix_time(&self.started_at).unwrap_or_else(|| "0".into()),
            },
        }
    }
}

/// Several containers of one service: ready when every one is, failed when any one failed,
/// else the first reason to wait.
pub fn together(outcomes: Vec<Outcome>) -> Outcome {
    if let Some(fail) = outcomes.iter().find(|o| matches!(o, Outcome::Fail(_))) {
        return fail.clone();
    }
    if let Some(wait) = outcomes.iter().find(|o| !matches!(o, Outcome::Ready(_))) {
        return wait.clone();
    }
    match outcomes.as_slice() {
        [one] => one.clone(),
        [Outcome::Ready(first), ..] => {
            Outcome::Ready(format!("{first} (and {} more)", outcomes.len() - 1))
        }
        _ => Outcome::Wait("no container".into()),
    }
}

/// An RFC 3339 time in UTC as the engine writes it ("2026-12-03T16:00:01.123456789Z") as Unix
/// seconds with nanoseconds ("1796313601.123456789"), the form the logs API's `since` takes.
/// `None` for anything else (the zero time of a container that never started among them).
pub fn unix_time(rfc3339: &str) -> Option<String> {
    let s = rfc3339.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if year < 1970
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
        || fraction.is_empty()
        || fraction.len() > 9
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds = crate::duration::utc_seconds(year, month, day, hour, minute, second);
    Some(format!("{seconds}.{fraction:0<9}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(state: Value, policy: &str) -> Container {
        Container::from_inspection(&json!({
            "Id": "abc123",
            "Name": "/migrate",
            "State": state,
            "RestartCount": 0,
            "HostConfig": {"RestartPolicy": {"Name": policy, "MaximumRetryCount": 0}},
            "Config": {"Tty": false},
        }))
    }

    fn exited(code: i64, policy: &str) -> Container {
        container(
            json!({"Status": "exited", "ExitCode": code, "StartedAt": "2026-12-03T16:00:00Z"}),
            policy,
        )
    }

    #[test]
    fn a_job_that_exited_is_ready_failed_or_rerun_by_its_code_and_policy() {
        let want0 = Condition::Exited(0);
        assert_eq!(
            exited(0, "no").outcome(&want0),
            Outcome::Ready("migrate exited 0".into())
        );
        assert_eq!(
            exited(1, "no").outcome(&want0),
            Outcome::Fail("migrate exited 1 (expected 0)".into())
        );
        assert!(
            matches!(exited(1, "on-failure").outcome(&want0), Outcome::Wait(w) if w.contains("runs it again"))
        );
        assert_eq!(
            exited(3, "").outcome(&Condition::Exited(3)),
            Outcome::Ready("migrate exited 3".into())
        );
        let running = container(json!({"Status": "running"}), "no");
        assert!(
            matches!(running.outcome(&want0), Outcome::Wait(w) if w == "migrate is still running")
        );
        let created = container(json!({"Status": "created"}), "no");
        assert!(
            matches!(created.outcome(&want0), Outcome::Wait(w) if w.contains("not started yet"))
        );
        let gone = Container::removed_after_exit("migrate", 2);
        assert_eq!(
            gone.outcome(&want0),
            Outcome::Fail("migrate exited 2 (expected 0)".into())
        );
    }

    #[test]
    fn running_waits_for_a_restart_and_fails_when_none_will_come() {
        let r = Condition::Running;
        assert!(
            matches!(exited(0, "no").outcome(&r), Outcome::Fail(f) if f.contains("will not start it again"))
        );
        assert!(matches!(exited(0, "always").outcome(&r), Outcome::Wait(_)));
        assert!(matches!(
            exited(0, "unless-stopped").outcome(&r),
            Outcome::Wait(_)
        ));
        // on-failure restarts a failure only, and only up to its maximum.
        assert!(matches!(
            exited(0, "on-failure").outcome(&r),
            Outcome::Fail(_)
        ));
        assert!(matches!(
            exited(1, "on-failure").outcome(&r),
            Outcome::Wait(_)
        ));
        let mut spent = exited(1, "on-failure");
        spent.max_retries = 3;
        spent.restart_count = 3;
        assert!(matches!(spent.outcome(&r), Outcome::Fail(_)));
        let mut oom = exited(137, "no");
        oom.oom = true;
        assert!(
            matches!(oom.outcome(&r), Outcome::Fail(f) if f.contains("exited 137 (out of memory)"))
        );
        for (status, word) in [
            ("paused", "paused"),
            ("restarting", "restarting"),
            ("removing", "removed"),
        ] {
            let c = container(json!({"Status": status}), "always");
            assert!(
                matches!(c.outcome(&r), Outcome::Wait(w) if w.contains(word)),
                "{status}"
            );
        }
        assert!(matches!(
            container(json!({"Status": "dead"}), "no").outcome(&r),
            Outcome::Fail(_)
        ));
        assert_eq!(
            container(json!({"Status": "running"}), "no").outcome(&r),
            Outcome::Ready("migrate is running".into())
        );
    }

    #[test]
    fn healthy_reads_the_health_check() {
        let h = Condition::Healthy;
        let with = |health: Value| container(json!({"Status": "running", "Health": health}), "no");
        assert!(
            matches!(container(json!({"Status": "running"}), "no").outcome(&h), Outcome::Fail(f) if f.contains("no health check"))
        );
        assert!(
            matches!(with(json!({"Status": "starting"})).outcome(&h), Outcome::Wait(w) if w.contains("health: starting"))
        );
        assert!(matches!(
            with(json!({"Status": "healthy"})).outcome(&h),
            Outcome::Ready(_)
        ));
        let unhealthy = with(json!({"Status": "unhealthy", "Log": [
            {"ExitCode": 1, "Output": "\n  curl: connection to postgres://app:s3cret@db failed\nmore"}
        ]}));
        let Outcome::Wait(said) = unhealthy.outcome(&h) else {
            panic!("unhealthy waits: it may recover")
        };
        assert!(
            said.contains("unhealthy (its last check said: curl: connection"),
            "{said}"
        );
        assert!(!said.contains("s3cret"), "{said}");
    }

    #[test]
    fn a_log_condition_reads_the_log_from_the_start_of_this_run() {
        let re = Condition::Log(Box::new(regex_lite::Regex::new("ready").unwrap()));
        let c = container(
            json!({"Status": "running", "StartedAt": "2026-12-03T16:00:01.5Z"}),
            "no",
        );
        assert_eq!(
            c.outcome(&re),
            Outcome::ReadLog {
                id: "abc123".into(),
                tty: false,
                since: "1796313601.500000000".into()
            }
        );
        assert!(matches!(exited(0, "no").outcome(&re), Outcome::Fail(_)));
    }

    #[test]
    fn several_containers_are_ready_together() {
        let ready = || Outcome::Ready("web-1 is running".into());
        let wait = Outcome::Wait("web-2 is created".into());
        let fail = Outcome::Fail("web-3 exited 1".into());
        assert_eq!(together(vec![ready(), wait.clone()]), wait);
        assert_eq!(together(vec![wait, fail.clone()]), fail);
        assert_eq!(
            together(vec![ready(), ready()]),
            Outcome::Ready("web-1 is running (and 1 more)".into())
        );
        assert_eq!(together(vec![ready()]), ready());
    }

    #[test]
    fn unix_time_matches_known_instants() {
        assert_eq!(unix_time("1970-01-01T00:00:00Z").unwrap(), "0.000000000");
        assert_eq!(
            unix_time("2000-03-01T00:00:00.1Z").unwrap(),
            "951868800.100000000"
        );
        assert_eq!(
            unix_time("2026-12-03T16:00:01.123456789Z").unwrap(),
            "1796313601.123456789"
        );
        for bad in [
            "0001-01-01T00:00:00Z",
            "2026-12-03T16:00:01+01:00",
            "2026-13-03T16:00:01Z",
            "2026-12-03T16:00:01.Z",
            "",
            "yesterday",
        ] {
            assert_eq!(unix_time(bad), None, "{bad}");
        }
    }
}
