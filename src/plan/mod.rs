//! The validated plan: everything the gate will do, decided before anything runs.
//!
//! `Cli` (raw, from clap) becomes a [`Plan`] here; every check that can fail on input happens in this
//! step, so bad input ends in milliseconds with exit 2 and never reaches a probe, a retry loop or a
//! timeout.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use crate::backoff::Policy;
use crate::cli::{Cli, Progress};
use crate::report::{Level, LogFormat, OutputOptions};
use crate::schedule::{Settings, Stability};
use crate::target::{Target, TargetError};

pub mod watch;

/// What the gate does once the targets are ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Exec the command (`Some`) or just exit 0 (`None`).
    Wait { command: Option<Vec<OsString>> },
    /// Healthcheck: one attempt per target, exit 0 or 1.
    Check,
}

#[derive(Debug)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub settings: Settings,
    pub retry_permanent: bool,
    /// The stability of targets that do not set their own (`--stable`).
    pub stable: Stability,
    pub mode: Mode,
    pub output: OutputOptions,
    /// `--explain`: print the plan and exit.
    pub explain: bool,
    /// Pauses before the first attempt and after every target is ready (compatibility modes).
    pub pauses: (Option<Duration>, Option<Duration>),
    /// Where each option's value came from, for `--explain`.
    pub sources: Vec<(String, String)>,
    /// Warnings about the configuration, printed once at start (a variable nobody reads).
    pub notes: Vec<String>,
    /// `--watch`: supervise the command and keep watching after the start.
    pub watch: Option<watch::WatchPlan>,
    /// `--arp`: ask who has a dependency's address while a connection waits on ARP (`net::arp`).
    pub arp: bool,
}

/// A usage or configuration error (exit 2, or 1 in `--check` mode).
#[derive(Debug)]
pub enum PlanError {
    Target(TargetError),
    Invalid(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Target(e) => e.fmt(f),
            PlanError::Invalid(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for PlanError {}

impl Plan {
    /// Builds the plan. `env_targets` is the value of `READYGATE_TARGETS`, if set (set and empty
    /// means "no dependencies here"); `env_names` the names of the `READYGATE_*` variables set,
    /// so that a misspelled one can be named when there is nothing to wait for.
    pub fn build(
        mut cli: Cli,
        env_targets: Option<&str>,
        env_names: &[String],
        stderr_is_terminal: bool,
    ) -> Result<Plan, PlanError> {
        let watch = watch::WatchPlan::from_cli(&cli).map_err(PlanError::Invalid)?;
        let mut inputs: Vec<String> = std::mem::take(&mut cli.targets);
        // Targets on the command line replace READYGATE_TARGETS, as every flag beats its
        // variable: `readygate --check http://localhost:8000/health` in an image whose environment
        // names the databases checks the app alone (a database outage must not mark every app
        // container unhealthy).
        let mut notes = unknown_variables(env_names);
        if cli.strict_env && !notes.is_empty() {
            return Err(PlanError::Invalid(format!(
                "{} (--strict-env: a variable readygate does not read is an error)",
                notes.join("; ")
            )));
        }
        notes.extend(
            cli.beaten
                .iter()
                .map(|(flag, variable)| format!("{flag} on the command line beats {variable}")),
        );
        let replaced = !inputs.is_empty() && env_targets.is_some_and(|e| !e.trim().is_empty());
        if replaced && !cli.check {
            notes.push(
                "READYGATE_TARGETS is set, but the targets on the command line replace it".into(),
            );
        }
        let env_targets = env_targets.filter(|_| inputs.is_empty());
        if let Some(env) = env_targets {
            let words = crate::split::split(env, char::is_whitespace)
                .map_err(|problem| PlanError::Invalid(format!("READYGATE_TARGETS: {problem}")))?;
            inputs.extend(words.into_iter().map(str::to_string));
        }
        let targets = targets(&cli, &inputs)?;
        let deadline = (!cli.timeout.is_zero()).then_some(cli.timeout);
        check_timing(
            &cli.attempt_timeout,
            &cli.interval,
            &cli.max_interval,
            deadline,
        )
        .map_err(PlanError::Invalid)?;
        // Only an empty READYGATE_TARGETS says "no dependencies here" on purpose: one made of
        // separators is what a template becomes when its variables are unset. `--explain` answers
        // as the real run would.
        let empty_allowed = cli.allow_empty || env_targets == Some("");
        if targets.is_empty() && !empty_allowed {
            return Err(PlanError::Invalid(nothing_to_wait_for(env_names)));
        }
        let mode = mode(
            cli.check,
            std::mem::take(&mut cli.command),
            targets.is_empty(),
        )
        .map_err(PlanError::Invalid)?;
        let check = mode == Mode::Check;
        if let Some(w) = &watch {
            w.fits(&mode).map_err(PlanError::Invalid)?;
        }
        let output = output(&cli, check, stderr_is_terminal);
        Ok(Plan {
            targets,
            settings: Settings {
                deadline,
                attempt_timeout: cli.attempt_timeout,
                policy: Policy {
                    interval: cli.interval,
                    max_interval: cli.max_interval,
                },
                single_attempt: check,
                // Known once the descriptor limit is (`startup::prepare`, in `gate`).
                in_flight: None,
            },
            retry_permanent: cli.retry_permanent,
            stable: cli.stable,
            explain: cli.explain,
            pauses: (cli.pause_before, cli.pause_after),
            sources: cli.sources,
            notes,
            watch,
            arp: cli.arp,
            output,
            mode,
        })
    }
}

/// Every target, from the URLs and the exec checks, with the settings that apply to each probe.
fn targets(cli: &Cli, inputs: &[String]) -> Result<Vec<Target>, PlanError> {
    let mut targets = inputs
        .iter()
        .map(|t| Target::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(PlanError::Target)?;
    for line in &cli.exec_checks {
        let target = Target::command(line).map_err(|e| match cli.exec_checks_from_env {
            true => PlanError::Invalid(format!("READYGATE_EXEC_CHECK: {e}")),
            false => PlanError::Target(e),
        })?;
        targets.push(target);
    }
    for t in &mut targets {
        t.probe.preflight().map_err(|problem| {
            PlanError::Target(TargetError {
                input: t.name.clone(),
                problem,
                example: "docker://migrate#exited (with -v /var/run/docker.sock:/var/run/docker.sock:ro)",
            })
        })?;
        t.probe.set_attempt_timeout(cli.attempt_timeout);
        if cli.check || t.rules.down {
            t.probe.answer_at_once();
        }
        if cli.retry_permanent || t.rules.down {
            t.probe.retry_failed_members();
        }
        // Stability does not apply to `--check`'s one attempt (README), nor does watching for
        // a close that only a second attempt would confirm.
        if t.rules.stable.unwrap_or(cli.stable) != Stability::Once && !cli.check {
            // Long enough to see a proxy close what it accepted, short next to an interval.
            t.probe
                .watch_for_close(Duration::from_millis(100).min(cli.attempt_timeout));
        }
    }
    Ok(targets)
}

/// How much to say and how: the status line only on a terminal (unless forced), in text, when not
/// quiet and not a healthcheck.
fn output(cli: &Cli, check: bool, stderr_is_terminal: bool) -> OutputOptions {
    let level = if cli.quiet {
        Level::Quiet
    } else if cli.verbose {
        Level::Verbose
    } else {
        Level::Normal
    };
    let progress = match cli.progress {
        Progress::Always => true,
        Progress::Never => false,
        Progress::Auto => stderr_is_terminal,
    } && cli.log_format == LogFormat::Text
        && level != Level::Quiet
        && !check;
    OutputOptions {
        format: cli.log_format,
        level,
        progress,
        check,
    }
}

/// The timing options must make sense together: every attempt has time, the gate cannot spin,
/// and there is room for a second attempt.
fn check_timing(
    attempt_timeout: &Duration,
    interval: &Duration,
    max_interval: &Duration,
    deadline: Option<Duration>,
) -> Result<(), String> {
    use crate::duration::show;
    if attempt_timeout.is_zero() {
        return Err("--attempt-timeout must be more than 0 (example: --attempt-timeout 5s)".into());
    }
    if interval.is_zero() {
        return Err(
            "--interval must be more than 0, or the gate would spin (example: --interval 50ms)"
                .into(),
        );
    }
    if interval > max_interval {
        return Err(format!(
            "--interval ({}) is longer than --max-interval ({}): the first pause cannot exceed the longest",
            show(*interval),
            show(*max_interval)
        ));
    }
    match deadline {
        Some(d) if *interval >= d => Err(format!(
            "--interval ({}) is not shorter than --timeout ({}): there would be no second attempt",
            show(*interval),
            show(d)
        )),
        _ => Ok(()),
    }
}

/// Every `READYGATE_*` variable readygate reads: the options' (a unit test holds this list to
/// clap's definition) and the targets'. A list, not clap's definition built again: this check
/// runs on every start, and building the definition is most of the start-up's work.
const KNOWN_VARIABLES: &[&str] = &[
    "READYGATE_TIMEOUT",
    "READYGATE_ATTEMPT_TIMEOUT",
    "READYGATE_INTERVAL",
    "READYGATE_MAX_INTERVAL",
    "READYGATE_RETRY_PERMANENT",
    "READYGATE_CHECK",
    "READYGATE_QUIET",
    "READYGATE_VERBOSE",
    "READYGATE_LOG_FORMAT",
    "READYGATE_PROGRESS",
    "READYGATE_STABLE",
    "READYGATE_EXEC_CHECK",
    "READYGATE_ALLOW_EMPTY",
    "READYGATE_EXPLAIN",
    "READYGATE_WATCH",
    "READYGATE_WATCH_INTERVAL",
    "READYGATE_LOST_AFTER",
    "READYGATE_ON_CHANGE",
    "READYGATE_ON_LOST",
    "READYGATE_SERVE",
    "READYGATE_SIGNAL_GROUP",
    "READYGATE_STRICT_ENV",
    "READYGATE_ARP",
    "READYGATE_TARGETS",
];

/// One line for each `READYGATE_*` variable that is set but read by nobody (a misspelling keeps a
/// setting from applying without a word otherwise), with the nearest known name.
pub fn unknown_variables(env_names: &[String]) -> Vec<String> {
    env_names
        .iter()
        .filter(|n| !KNOWN_VARIABLES.contains(&n.as_str()))
        .map(|n| {
            let hint = crate::suggest::nearest(n, KNOWN_VARIABLES.iter().copied())
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            format!("{n} is set, but readygate reads no such variable{hint}")
        })
        .collect()
}

/// The error for a gate with no target at all, naming a `READYGATE_*` variable that looks like a
/// misspelling of `READYGATE_TARGETS` (or of anything else readygate reads).
fn nothing_to_wait_for(env_names: &[String]) -> String {
    let mut message = "no targets: give them as arguments or in READYGATE_TARGETS (set READYGATE_TARGETS=\"\" or give --allow-empty when there is really nothing to wait for)\n  example: readygate postgres://db:5432 -- gunicorn app.wsgi".to_string();
    for line in unknown_variables(env_names) {
        message.push_str(&format!("\n  note: {line}"));
    }
    message
}

/// Healthcheck or wait, and what there is to do.
fn mode(check: bool, command: Vec<OsString>, no_targets: bool) -> Result<Mode, String> {
    if check {
        if !command.is_empty() {
            return Err("--check takes no command: it only reports (exit 0 ready, 1 not)".into());
        }
        if no_targets {
            return Err(
                "--check needs at least one target (example: readygate --check postgres://db:5432)"
                    .into(),
            );
        }
        return Ok(Mode::Check);
    }
    Ok(Mode::Wait {
        command: (!command.is_empty()).then_some(command),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn build(args: &[&str], env: Option<&str>) -> Result<Plan, String> {
        let mut argv = vec!["readygate"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        Plan::build(cli, env, &[], false).map_err(|e| e.to_string())
    }

    #[test]
    fn env_targets_are_the_targets_unless_arguments_replace_them() {
        let plan = build(&[], Some(" cache:6379\n http://api/h ")).unwrap();
        let names: Vec<_> = plan.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["tcp://cache:6379", "http://api/h"]);
        let plan = build(&["db:5432"], Some(" cache:6379\n http://api/h ")).unwrap();
        let names: Vec<_> = plan.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["tcp://db:5432"]);
        assert!(
            plan.notes.iter().any(|n| n.contains("replace it")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn timeout_zero_means_no_deadline() {
        assert_eq!(
            build(&["-t", "0", "db:1"], None).unwrap().settings.deadline,
            None
        );
        assert_eq!(
            build(&["db:1"], None).unwrap().settings.deadline,
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn the_known_variables_are_the_options_and_the_targets() {
        use clap::CommandFactory;
        let mut from_clap: Vec<String> = Cli::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
            .chain(["READYGATE_TARGETS".to_string()])
            .collect();
        from_clap.sort();
        let mut listed: Vec<String> = KNOWN_VARIABLES.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(listed, from_clap);
    }

    #[test]
    fn invalid_plans_table() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "no targets"),
            (&["--", "app"], "no targets"),
            (&["--timeout", "10x", "db:1"], "'10x' is not a duration"),
            (&["--timeout", "-5", "db:1"], "unexpected argument '-5'"),
            (&["--timeout=-5", "db:1"], "is negative"),
            (
                &["--interval", "0", "db:1"],
                "--interval must be more than 0",
            ),
            (&["--interval", "3s", "db:1"], "longer than --max-interval"),
            (
                &["--interval", "1s", "-t", "1s", "db:1"],
                "not shorter than --timeout",
            ),
            (
                &["--attempt-timeout", "0", "db:1"],
                "--attempt-timeout must be more than 0",
            ),
            (&["--check"], "no targets"),
            (&["--check", "db:1", "--", "x"], "--check takes no command"),
            (&["db:1", "gunicorn"], "put `--` before the command"),
            (&["--bogus"], "unexpected argument '--bogus'"),
        ];
        for (args, want) in cases {
            let err = build(args, None).unwrap_err();
            assert!(err.contains(want), "args {args:?}: {err}");
        }
    }
}
