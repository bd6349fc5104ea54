//! The command line as typed: clap's view of flags, environment variables and the command after
//! `--`. Nothing here is trusted yet; `plan.rs` turns it into a validated [`crate::plan::Plan`].
//!
//! Every option has a `READYGATE_…` environment variable (a flag wins over its variable), so the
//! gate can be configured in a compose file or a Kubernetes manifest without touching the command.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::report::LogFormat;

/// The whole command definition, with the targets section: for the man page and the shell
/// completions (`examples/assets.rs`).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().after_help(after_help())
}

/// `readygate --version`: the version, the commit it was built from, the target triple, and the
/// optional parts built in (cargo features; the default build has them all).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("READYGATE_COMMIT"),
    ", ",
    env!("READYGATE_TARGET"),
    ")\nfeatures: ",
    env!("READYGATE_FEATURES")
);

/// What `--help` says after the options: the targets (from the table of kinds, see
/// [`crate::probe::KINDS`]), exit statuses and examples.
fn after_help() -> String {
    format!("{}\n\n{AFTER_TARGETS}", crate::probe::help())
}

const AFTER_TARGETS: &str = "\
Exit status:
  0 ready (or, with a COMMAND, the command's own status: readygate becomes the command)
  1 a dependency failed for good (e.g. wrong password); in --check mode, any failure
  2 usage error   124 deadline reached   126 command not executable   127 command not found
  128+N ended by signal N (143 for SIGTERM)

Drop-in: invoked as wait-for-it, wait-for, wait (docker-compose-wait) or dockerize, or as
  readygate --compat=NAME ARGS…, readygate reads that tool's arguments and speaks its lines.

Examples:
  readygate postgres://db:5432 redis://cache:6379 -- gunicorn app.wsgi
  readygate --timeout 2m http://api:8080/healthz#status=200-399
  readygate --check postgres://db:5432     (a Docker healthcheck: exit 0 or 1)";

/// Wait until dependencies can serve, then exec the command in place.
#[derive(Debug, Parser)]
#[command(name = "readygate", version = VERSION, about)]
#[command(
    override_usage = "readygate [OPTIONS] [TARGET]... [-- COMMAND [ARG]...]\n       readygate --check [OPTIONS] [TARGET]..."
)]
pub struct Cli {
    /// Dependencies to wait for (URLs; see below)
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Program to exec once every target is ready (after `--`; passed verbatim, no shell)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,

    /// Overall deadline (30s, 2m, 500ms, or seconds); 0 waits forever
    #[arg(short = 't', long, env = "READYGATE_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub timeout: Duration,

    /// Longest a single attempt (lookup, connect, TLS, exchange) may take
    #[arg(long, env = "READYGATE_ATTEMPT_TIMEOUT", default_value = "5s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub attempt_timeout: Duration,

    /// Pause after a refused connection, and the first step of the backoff
    #[arg(long, env = "READYGATE_INTERVAL", default_value = "50ms", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub interval: Duration,

    /// Longest pause between attempts while a server answers "not ready" or times out
    #[arg(long, env = "READYGATE_MAX_INTERVAL", default_value = "2s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub max_interval: Duration,

    /// Keep waiting through failures that normally end the wait (wrong password, missing database,
    /// rejected certificate), for setups that fix them later
    #[arg(long, env = "READYGATE_RETRY_PERMANENT", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", hide_possible_values = true, value_parser = crate::boolean::parse_arg)]
    pub retry_permanent: bool,

    /// Healthcheck mode: one bounded attempt per target; exit 0 if all are ready, else 1
    #[arg(long, env = "READYGATE_CHECK", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub check: bool,

    /// Print only warnings and errors
    #[arg(short, long, env = "READYGATE_QUIET", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub quiet: bool,

    /// Print every attempt and what the probes saw
    #[arg(short, long, env = "READYGATE_VERBOSE", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub verbose: bool,

    /// Log format on stderr
    #[arg(long, env = "READYGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Live status line: auto (when stderr is a terminal), always, never
    #[arg(long, env = "READYGATE_PROGRESS", value_enum, default_value_t = Progress::Auto, value_name = "WHEN")]
    pub progress: Progress,

    /// Successes in a row before a target counts as ready, or how long it must stay up (3, 2s);
    /// per target: #stable=
    #[arg(long, env = "READYGATE_STABLE", default_value = "1", value_name = "N|DURATION", value_parser = crate::schedule::parse_stability)]
    pub stable: crate::schedule::Stability,

    /// A command that must exit 0 (no shell; words split as a shell would), checked like a
    /// target; repeatable. Example: --exec-check 'kafka-topics.sh --bootstrap-server k:9092 --list'
    #[arg(
        long = "exec-check",
        env = "READYGATE_EXEC_CHECK",
        value_name = "COMMAND"
    )]
    pub exec_checks: Vec<String>,

    /// Run the command even with no target at all (otherwise an error: a misspelled variable
    /// must not mean "nothing to wait for"); an empty READYGATE_TARGETS says the same
    #[arg(long, env = "READYGATE_ALLOW_EMPTY", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub allow_empty: bool,

    /// Print the plan (every target, its settings and where each came from) and exit 0, probing
    /// nothing
    #[arg(long, env = "READYGATE_EXPLAIN", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub explain: bool,

    /// After the start, stay as the command's supervisor (PID 1's duties, signals forwarded) and
    /// keep watching the targets; with no command, watch and serve until signalled
    #[arg(long, env = "READYGATE_WATCH", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub watch: bool,

    /// With --watch: how often each target is probed after the start
    #[arg(long, env = "READYGATE_WATCH_INTERVAL", default_value = "2s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub watch_interval: Duration,

    /// With --watch: how long a target must stay not ready before it counts as lost
    #[arg(long, env = "READYGATE_LOST_AFTER", default_value = "10s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub lost_after: Duration,

    /// With --watch: the signal sent to the command when a target's name resolves to new
    /// addresses (HUP reloads nginx, USR2 HAProxy)
    #[arg(long, env = "READYGATE_ON_CHANGE", value_name = "SIGNAL")]
    pub on_change: Option<String>,

    /// With --watch: what a lost target does: report, exit, restart, or signal:SIG
    #[arg(
        long,
        env = "READYGATE_ON_LOST",
        default_value = "report",
        value_name = "ACTION"
    )]
    pub on_lost: String,

    /// With --watch: serve /readyz, /livez and /metrics over HTTP on this address (:9090)
    #[arg(long, env = "READYGATE_SERVE", value_name = "ADDR")]
    pub serve: Option<String>,

    /// With --watch: forward signals to the command's whole process group
    #[arg(long, env = "READYGATE_SIGNAL_GROUP", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub signal_group: bool,

    /// Refuse to start when a READYGATE_* variable is set that readygate does not read (a
    /// misspelling); without it, a warning
    #[arg(long, env = "READYGATE_STRICT_ENV", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub strict_env: bool,

    /// Ask the link who has a dependency's IPv4 address every 100 ms while a connection waits on
    /// ARP (a container that just started; needs CAP_NET_RAW, which Docker grants by default)
    #[arg(long, env = "READYGATE_ARP", num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", value_name = "BOOL", value_parser = crate::boolean::parse_arg)]
    pub arp: bool,

    /// (docker-compose-wait's WAIT_BEFORE) a pause before the first attempt
    #[arg(long, hide = true, value_parser = crate::duration::parse)]
    pub pause_before: Option<Duration>,

    /// (docker-compose-wait's WAIT_AFTER) a pause after every target is ready
    #[arg(long, hide = true, value_parser = crate::duration::parse)]
    pub pause_after: Option<Duration>,

    /// Where each option's value came from ("--timeout", "READYGATE_TIMEOUT", "default"), for
    /// --explain.
    #[arg(skip)]
    pub sources: Vec<(String, String)>,

    /// The flags that beat a variable set to another value, as notes for the start ("--timeout
    /// on the command line beats READYGATE_TIMEOUT=4s"), and the same by flag for --explain.
    #[arg(skip)]
    pub beaten: Vec<(String, String)>,

    /// The exec checks came from READYGATE_EXEC_CHECK (an error about one names the variable).
    #[arg(skip)]
    pub exec_checks_from_env: bool,

    /// The `--watch` options given (a flag or a variable), by flag: they mean nothing without it.
    #[arg(skip)]
    pub watch_options: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Always,
    Never,
}

/// The gate's own words: everything before the `--` that starts the command.
fn own_words(args: &[OsString]) -> impl Iterator<Item = &OsString> {
    args.iter().skip(1).take_while(|a| *a != "--")
}

/// Whether the raw arguments ask for healthcheck mode, looked at before parsing so that even a
/// usage error exits 1 there (Docker reserves exit status 2 for healthchecks). The flag wins over
/// `READYGATE_CHECK`; both use the one yes/no grammar ([`crate::boolean`]), and a value that is
/// not a yes/no word counts as "check" here (its usage error then exits 1, which is what a
/// healthcheck needs).
pub fn wants_check(args: &[OsString]) -> bool {
    let mut chosen = None;
    for word in own_words(args) {
        if word == "--check" {
            chosen = Some(true);
        } else if let Some(v) = word.to_str().and_then(|w| w.strip_prefix("--check=")) {
            chosen = Some(crate::boolean::parse(v).unwrap_or(true));
        }
    }
    chosen.unwrap_or_else(|| {
        std::env::var("READYGATE_CHECK").is_ok_and(|v| crate::boolean::parse(&v).unwrap_or(true))
    })
}

/// Parses the arguments (and `READYGATE_*` variables) into a [`Cli`], applying the rule that a
/// flag on the command line wins over a variable (`READYGATE_QUIET=1 readygate -v` is verbose).
/// The error is the message to print (already redacted), or `None` for `--help`/`--version`,
/// which clap has printed.
pub fn parse(args: &[OsString]) -> Result<Cli, Option<String>> {
    use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    // The targets part of --help is built from the table of kinds; only --help needs it, and
    // start-up cost is paid on every container start.
    if own_words(args).any(|w| w == "-h" || w == "--help") {
        command = command.after_help(after_help());
    }
    if let Some(message) = one_dash(&command, args) {
        return Err(Some(message));
    }
    let matches = match command.try_get_matches_from_mut(args) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), DisplayHelp | DisplayVersion) => {
            let _ = e.print();
            return Err(None);
        }
        Err(e) => return Err(Some(usage_message(&e, args))),
    };
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| Some(usage_message(&e, args)))?;
    cli.beaten = beaten(&command, &matches);
    // Only --explain shows where each value came from.
    if cli.explain {
        cli.sources = sources(&command, &matches, &cli.beaten);
    }
    cli.exec_checks_from_env =
        matches.value_source("exec_checks") == Some(clap::parser::ValueSource::EnvVariable);
    for (id, flag) in [
        ("watch_interval", "--watch-interval"),
        ("lost_after", "--lost-after"),
        ("on_change", "--on-change"),
        ("on_lost", "--on-lost"),
        ("serve", "--serve"),
        ("signal_group", "--signal-group"),
    ] {
        if matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        ) {
            cli.watch_options.push(flag);
        }
    }
    // `--interval 5s` alone: the default cap (2 s) follows it up rather than refusing it.
    if cli.interval > cli.max_interval
        && matches.value_source("max_interval") == Some(clap::parser::ValueSource::DefaultValue)
    {
        cli.max_interval = cli.interval;
    }
    if cli.quiet && cli.verbose {
        let typed =
            |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
        match (typed("quiet"), typed("verbose")) {
            (true, true) => {
                return Err(Some(
                    "-q/--quiet and -v/--verbose contradict each other: give one".into(),
                ))
            }
            (true, false) => cli.verbose = false,
            (false, true) => cli.quiet = false,
            (false, false) => {
                return Err(Some(
                    "READYGATE_QUIET and READYGATE_VERBOSE are both set: set only one".into(),
                ))
            }
        }
    }
    Ok(cli)
}

/// A long option written with one dash, as Go's tools take them (`-timeout 60s`, dockerize's and
/// wait-for's habit): clap would read `-t` with the value `imeout` and name the wrong problem.
fn one_dash(command: &clap::Command, args: &[OsString]) -> Option<String> {
    own_words(args).find_map(|word| {
        let word = word.to_str()?;
        let name = word.strip_prefix('-').filter(|w| !w.starts_with('-'))?;
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        if name == "wait" {
            return Some(
                "'-wait' is dockerize's option: readygate takes the targets themselves (example: readygate tcp://db:5432 -- gunicorn app.wsgi), or speaks dockerize's arguments as `readygate --compat=dockerize …`".into(),
            );
        }
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(name) && name.len() > 1)?;
        let switch = arg
            .get_value_names()
            .and_then(|v| v.first())
            .is_some_and(|n| n.as_str() == "BOOL");
        let example = match switch {
            true => String::new(),
            false => format!(" {}", example_value(arg)),
        };
        Some(format!(
            "'{}' has one dash: readygate's long options take two (example: --{name}{example})",
            crate::text::quote_short(word)
        ))
    })
}

/// Where each option's value came from, by the flag's name, with what a flag beat.
fn sources(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    beaten: &[(String, String)],
) -> Vec<(String, String)> {
    use clap::parser::ValueSource;
    command
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            let flag = format!("--{long}");
            let from = match matches.value_source(a.get_id().as_str())? {
                ValueSource::CommandLine => match beaten.iter().find(|(f, _)| *f == flag) {
                    Some((_, variable)) => format!("{flag}, beating {variable}"),
                    None => flag.clone(),
                },
                ValueSource::EnvVariable => a.get_env()?.to_string_lossy().into_owned(),
                _ => "default".to_string(),
            };
            Some((flag, from))
        })
        .collect()
}

/// The flags typed on the command line whose variable is set too, to another value: a flag wins
/// (as everywhere), and an image's ENTRYPOINT flag silently beating `-e READYGATE_TIMEOUT=4s`
/// is the surprise this names. Returns (flag, "VARIABLE=value"); the value is redacted, and an
/// exec check's never shown (a command line may hold a password).
fn beaten(command: &clap::Command, matches: &clap::ArgMatches) -> Vec<(String, String)> {
    use clap::parser::ValueSource;
    command
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            let id = a.get_id().as_str();
            if matches.value_source(id) != Some(ValueSource::CommandLine) {
                return None;
            }
            let variable = a.get_env()?.to_str()?;
            let set = std::env::var_os(variable)?;
            let set = set.to_string_lossy();
            let typed: Vec<String> = matches
                .get_raw(id)?
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            if typed.len() == 1 && same_value(&typed[0], &set) {
                return None;
            }
            let shown = if id == "exec_checks" {
                format!("{variable} (its value is not shown)")
            } else {
                format!(
                    "{variable}={}",
                    crate::text::quote_short(&crate::redact::redact_input(set.trim()))
                )
            };
            Some((format!("--{long}"), shown))
        })
        .collect()
}

/// Whether two spellings mean the same value (`60` and `1m`, `1` and `true`).
fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b)
        || matches!((crate::duration::parse(a), crate::duration::parse(b)), (Ok(x), Ok(y)) if x == y)
        || matches!((crate::boolean::parse(a), crate::boolean::parse(b)), (Some(x), Some(y)) if x == y)
}

/// A clap error as readygate says it: the variable named when the bad value came from one, the
/// value redacted and cut short, and none of clap's tips (some point the wrong way, such as
/// "use '-- --bogus'", which would make the word the command).
fn usage_message(e: &clap::Error, args: &[OsString]) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    let message = match e.kind() {
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            let shown_arg = context(ContextKind::InvalidArg).unwrap_or_default();
            let value = context(ContextKind::InvalidValue).unwrap_or_default();
            let command = Cli::command();
            let arg = command.get_arguments().find(|a| {
                a.get_long()
                    .is_some_and(|l| shown_arg.starts_with(&format!("--{l}")))
            });
            // Named after where the value came from: the flag when it was typed, else its
            // variable (a value from the environment is invisible on the command line).
            let name = match arg {
                Some(a) if !typed(a, args) => a
                    .get_env()
                    .and_then(|v| v.to_str())
                    .map_or(shown_arg.clone(), str::to_string),
                _ => shown_arg.split(' ').next().unwrap_or_default().to_string(),
            };
            if value.is_empty() && e.kind() == ErrorKind::InvalidValue {
                let example = arg.map_or("", example_value);
                return crate::redact::redact_text(&format!(
                    "{name} needs a value (example: {name} {example})"
                ));
            }
            let reason = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| {
                    let valid = context(ContextKind::ValidValue).unwrap_or_default();
                    format!(
                        "invalid value '{}' (expected one of: {valid})",
                        crate::text::quote_short(&value)
                    )
                });
            // `--timeout db:5432 …`: the flag's value was forgotten and it took the target.
            let took_target = typed_arg(arg, args)
                && (value.contains("://")
                    || value
                        .rsplit_once(':')
                        .is_some_and(|(_, p)| p.parse::<u16>().is_ok()));
            if took_target {
                let example = arg.map_or("", example_value);
                return crate::redact::redact_text(&format!(
                    "{name} needs a value, and took the target '{}' as its value (example: {name} {example} {})",
                    crate::text::quote_short(&crate::redact::redact_input(&value)),
                    crate::text::quote_short(&crate::redact::redact_input(&value)),
                ));
            }
            format!("{name}: {reason}")
        }
        ErrorKind::UnknownArgument => {
            let word = context(ContextKind::InvalidArg).unwrap_or_default();
            let command = Cli::command();
            let longs: Vec<String> = command
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            let typed = word.split('=').next().unwrap_or_default();
            let hint = typed
                .starts_with("--")
                .then(|| crate::suggest::nearest(typed, longs.iter().map(String::as_str)))
                .flatten()
                .map(|l| format!(" (did you mean {l}?)"))
                .unwrap_or_default();
            format!(
                "unexpected argument '{}': not an option of readygate{hint}; a command and its options go after `--`\n  example: readygate db:5432 -- gunicorn --workers 2 app.wsgi",
                crate::text::quote_short(&word)
            )
        }
        _ => {
            let text = e.render().to_string();
            let kept: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim_start().starts_with("tip:") && !l.starts_with("Usage:"))
                .filter(|l| !l.trim().is_empty())
                .collect();
            kept.join("\n")
                .strip_prefix("error: ")
                .map(str::to_string)
                .unwrap_or_else(|| kept.join("\n"))
        }
    };
    crate::redact::redact_text(&message)
}

/// A value to show in the example of an option given without one, by the kind of value it takes.
fn example_value(arg: &clap::Arg) -> &'static str {
    match arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|n| n.as_str())
    {
        Some("DURATION") => "30s",
        Some("FORMAT") => "json",
        Some("WHEN") => "auto",
        Some("N|DURATION") => "3",
        Some("COMMAND") => "'pg_isready -h db'",
        Some("SIGNAL") => "HUP",
        Some("ACTION") => "restart",
        Some("ADDR") => ":9090",
        _ => "VALUE",
    }
}

/// Whether `arg` (if known) was typed on the command line.
fn typed_arg(arg: Option<&clap::Arg>, args: &[OsString]) -> bool {
    arg.is_some_and(|a| typed(a, args))
}

/// Whether a flag was typed on the command line (before the command), in any spelling.
fn typed(arg: &clap::Arg, args: &[OsString]) -> bool {
    let long = arg.get_long().map(|l| format!("--{l}"));
    let short = arg.get_short().map(|c| format!("-{c}"));
    own_words(args).any(|w| {
        let Some(w) = w.to_str() else { return false };
        long.as_deref()
            .is_some_and(|l| w == l || w.starts_with(&format!("{l}=")))
            || short
                .as_deref()
                .is_some_and(|s| w.starts_with(s) && !w.starts_with("--"))
    })
}

/// Whether the raw arguments ask for JSON logs, looked at before parsing so that a usage error
/// reaches a log pipeline as JSON too.
pub fn wants_json(args: &[OsString]) -> bool {
    // The last --log-format before the command wins, in either spelling.
    let mut chosen = None;
    let mut words = own_words(args);
    while let Some(word) = words.next() {
        if word == "--log-format" {
            chosen = words.next().map(|v| v == "json");
        } else if let Some(v) = word.to_str().and_then(|w| w.strip_prefix("--log-format=")) {
            chosen = Some(v == "json");
        }
    }
    chosen
        .unwrap_or_else(|| std::env::var("READYGATE_LOG_FORMAT").is_ok_and(|v| v.trim() == "json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_after_double_dash_is_verbatim() {
        let cli = Cli::try_parse_from([
            "readygate",
            "db:5432",
            "--",
            "sh",
            "-c",
            "echo $HOME *",
            "--timeout",
        ])
        .unwrap();
        assert_eq!(cli.targets, vec!["db:5432"]);
        assert_eq!(cli.command, vec!["sh", "-c", "echo $HOME *", "--timeout"]);
    }

    #[test]
    fn json_is_seen_before_parsing() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(&args(&[
            "readygate",
            "--log-format",
            "json",
            "--bogus"
        ])));
        assert!(wants_json(&args(&[
            "readygate",
            "--log-format=json",
            "db:1"
        ])));
        assert!(!wants_json(&args(&["readygate", "--log-format", "text"])));
        assert!(!wants_json(&args(&[
            "readygate",
            "db:1",
            "--",
            "prog",
            "--log-format",
            "json"
        ])));
    }

    #[test]
    fn check_is_seen_before_parsing() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_check(&args(&["readygate", "--bogus", "--check"])));
        assert!(!wants_check(&args(&[
            "readygate",
            "db:1",
            "--",
            "prog",
            "--check"
        ])));
    }
}
