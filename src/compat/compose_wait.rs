//! docker-compose-wait (`/wait`), read from its `WAIT_*` variables as its README and source
//! define them, with its log lines and exit statuses:
//! - `WAIT_HOSTS` (`host:port`, comma-separated), `WAIT_PATHS` (files or directories; relative
//!   ones from the working directory), `WAIT_COMMAND` (split as a shell would, exec'd in place);
//! - `WAIT_TIMEOUT` (default 30; `0` = one check, as the tool's "elapsed ≥ timeout after a failed
//!   attempt" makes it), `WAIT_BEFORE`, `WAIT_AFTER`, `WAIT_SLEEP_INTERVAL` (default 1, the pace
//!   of the attempts), `WAIT_HOST_CONNECT_TIMEOUT` (default 5), and the deprecated
//!   `WAIT_HOSTS_TIMEOUT`, `WAIT_BEFORE_HOSTS`, `WAIT_AFTER_HOSTS` (read with the tool's
//!   deprecation warning; the new name wins when both are set);
//! - `WAIT_LOGGER_LEVEL` as env_logger reads it (`debug` by default; any case; `wait=info`
//!   directives; `off`);
//! - its lines on stderr (`[INFO  wait] Host [db:5432] is now available!`, `[ERROR wait]
//!   Timeout! After 30 seconds some hosts are still not reachable`), in its order: one host after
//!   another, although readygate checks them all at once;
//! - exit 1 on timeout.
//!
//! Refused at once instead (the tool would replace the value by its default without a word, or
//! wait for an empty host until its timeout): a value that is not a whole number, an empty entry
//! in a list, a host without a port, a variable that is not UTF-8.

use std::ffi::OsString;
use std::time::Duration;

use super::{Exit, Invocation, Translation};
use crate::environ::Env;
use crate::exit::Ending;
use crate::report::voice::Voice;

/// The version of docker-compose-wait whose behaviour this mode follows.
const VERSION: &str = "2.12.1";
const SEPARATOR: &str = "--------------------------------------------------------";

/// A usage error in readygate's words (the tool has none: it would carry on with a default).
fn refuse(message: String) -> Translation {
    Translation::Exit(Exit {
        stderr: format!(
            "readygate: error: {message}\n  (docker-compose-wait mode: see docs/drop-in.md)\n"
        ),
        status: 2,
        ..Exit::default()
    })
}

/// The configuration, as the tool reads it.
#[derive(Debug)]
struct Config {
    hosts: String,
    paths: String,
    timeout: u64,
    connect_timeout: u64,
    before: u64,
    after: u64,
    interval: u64,
    command: Option<Vec<String>>,
    /// The deprecation warnings, in the order the tool prints them.
    warnings: Vec<String>,
    level: Level,
}

/// env_logger's levels, from quietest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" => Level::Off,
            "error" => Level::Error,
            "warn" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    fn tag(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace | Level::Off => "TRACE",
        }
    }
}

/// The level `WAIT_LOGGER_LEVEL` gives the tool's module (`wait`), as env_logger decides it: the
/// directive with the longest matching module name wins; a spec with no directive at all logs
/// errors; one whose directives all name other modules logs nothing.
fn logger_level(spec: Option<&str>) -> Level {
    let Some(spec) = spec else {
        return Level::Debug;
    };
    let spec = spec.split('/').next().unwrap_or("");
    let mut directives: Vec<(Option<&str>, Level)> = Vec::new();
    for d in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match d.split_once('=') {
            Some((name, level)) => {
                if let Some(l) = Level::parse(level.trim()) {
                    directives.push((Some(name.trim()), l));
                }
            }
            None => match Level::parse(d) {
                Some(l) => directives.push((None, l)),
                None => directives.push((Some(d), Level::Trace)),
            },
        }
    }
    if directives.is_empty() {
        return Level::Error;
    }
    directives
        .iter()
        // env_logger matches a directive whose name the module path starts with.
        .filter(|(name, _)| name.is_none_or(|n| "wait".starts_with(n)))
        .max_by_key(|(name, _)| name.map_or(0, str::len))
        .map_or(Level::Off, |(_, l)| *l)
}

fn read(env: Env<'_>) -> Result<Config, String> {
    let mut warnings = Vec::new();
    // The tool's `legacy_or_new`: the legacy name, with a warning, unless the new one is set.
    let mut legacy_or_new = |legacy: &str, name: &str| -> Option<(String, String)> {
        let old = env(legacy).map(|v| {
            warnings.push(format!(
                "Environment variable [{legacy}] is deprecated. Use [{name}] instead."
            ));
            (legacy.to_string(), v)
        });
        env(name).map(|v| (name.to_string(), v)).or(old)
    };
    let timeout = legacy_or_new("WAIT_HOSTS_TIMEOUT", "WAIT_TIMEOUT");
    let before = legacy_or_new("WAIT_BEFORE_HOSTS", "WAIT_BEFORE");
    let after = legacy_or_new("WAIT_AFTER_HOSTS", "WAIT_AFTER");
    let number = |found: Option<(String, String)>, default: u64| -> Result<u64, String> {
        let Some((name, value)) = found else {
            return Ok(default);
        };
        let n = value.trim().parse::<u64>().map_err(|_| {
            format!(
                "{name}='{}' is not a whole number of seconds (example: {name}=30)",
                crate::text::quote_short(&value)
            )
        })?;
        if Duration::from_secs(n) > crate::duration::MAX {
            return Err(format!("{name}={n} is more than a year"));
        }
        Ok(n)
    };
    let own = |name: &str| env(name).map(|v| (name.to_string(), v));
    let command = match env("WAIT_COMMAND").filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => {
            Some(crate::words::split(c.trim()).map_err(|e| format!("WAIT_COMMAND has {e}"))?)
        }
    };
    Ok(Config {
        hosts: env("WAIT_HOSTS").unwrap_or_default(),
        paths: env("WAIT_PATHS").unwrap_or_default(),
        timeout: number(timeout, 30)?,
        connect_timeout: number(own("WAIT_HOST_CONNECT_TIMEOUT"), 5)?,
        before: number(before, 0)?,
        after: number(after, 0)?,
        interval: number(own("WAIT_SLEEP_INTERVAL"), 1)?,
        command,
        warnings,
        level: logger_level(env("WAIT_LOGGER_LEVEL").as_deref()),
    })
}

/// The entries of a comma-separated list as the tool splits it (`trim`, then `split(',')`), or
/// the error for an empty one.
fn entries(name: &str, value: &str) -> Result<Vec<String>, String> {
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = value.trim().split(',').map(str::to_string).collect();
    if list.iter().any(|e| e.trim().is_empty()) {
        return Err(format!(
            "{name}='{}' has an empty entry (a variable left unset in a template?): docker-compose-wait would wait for it until its timeout",
            crate::text::quote_short(value)
        ));
    }
    Ok(list)
}

/// Names of the variables read here whose value is not UTF-8 (the tool takes them as unset).
fn not_utf8() -> Option<String> {
    [
        "WAIT_HOSTS",
        "WAIT_PATHS",
        "WAIT_COMMAND",
        "WAIT_TIMEOUT",
        "WAIT_HOSTS_TIMEOUT",
        "WAIT_BEFORE",
        "WAIT_BEFORE_HOSTS",
        "WAIT_AFTER",
        "WAIT_AFTER_HOSTS",
        "WAIT_SLEEP_INTERVAL",
        "WAIT_HOST_CONNECT_TIMEOUT",
        "WAIT_LOGGER_LEVEL",
    ]
    .into_iter()
    .find(|n| std::env::var_os(n).is_some_and(|v| v.to_str().is_none()))
    .map(|n| format!("{n} is not valid UTF-8: check how it was written"))
}

/// Translates docker-compose-wait's configuration (it takes no arguments).
pub fn translate(args: &[OsString], env: Env<'_>) -> Translation {
    if !args.is_empty() {
        return refuse(
            "docker-compose-wait mode takes no arguments: it reads WAIT_HOSTS, WAIT_PATHS, WAIT_TIMEOUT, … from the environment".into(),
        );
    }
    if let Some(e) = not_utf8() {
        return refuse(e);
    }
    let config = match read(env) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let (hosts, paths) = match (
        entries("WAIT_HOSTS", &config.hosts),
        entries("WAIT_PATHS", &config.paths),
    ) {
        (Ok(h), Ok(p)) => (h, p),
        (Err(e), _) | (_, Err(e)) => return refuse(e),
    };
    let mut out: Vec<OsString> = vec!["readygate".into()];
    out.extend(["-t".into(), format!("{}s", config.timeout).into()]);
    // The tool's pace: one attempt per WAIT_SLEEP_INTERVAL, kept under the timeout so that there
    // is a second attempt (readygate refuses a plan without one).
    let mut interval = Duration::from_secs(config.interval);
    if interval.is_zero() {
        interval = Duration::from_millis(50);
    }
    if config.timeout > 0 && interval >= Duration::from_secs(config.timeout) {
        interval = Duration::from_secs(config.timeout) / 2;
    }
    let pace = crate::duration::show(interval);
    out.extend([
        "--interval".into(),
        pace.clone().into(),
        "--max-interval".into(),
        pace.into(),
    ]);
    let connect = config.connect_timeout.max(1);
    out.extend(["--attempt-timeout".into(), format!("{connect}s").into()]);
    if config.before > 0 {
        out.extend([
            "--pause-before".into(),
            format!("{}s", config.before).into(),
        ]);
    }
    if config.after > 0 {
        out.extend(["--pause-after".into(), format!("{}s", config.after).into()]);
    }
    for h in &hosts {
        let h = h.trim();
        if !crate::split::starts_like_a_target(h) || h.contains("://") {
            return refuse(format!(
                "WAIT_HOSTS: '{}' is not host:port (example: WAIT_HOSTS=db:5432,cache:6379)",
                crate::text::quote_short(h)
            ));
        }
        out.push(format!("tcp://{h}").into());
    }
    for p in &paths {
        let path = std::path::Path::new(p.trim());
        let absolute = match path.is_absolute() {
            true => path.to_path_buf(),
            false => match std::env::current_dir() {
                Ok(cwd) => cwd.join(path),
                Err(e) => {
                    return refuse(format!(
                    "WAIT_PATHS: '{}' is relative, and the working directory cannot be read ({e})",
                    p.trim()
                ))
                }
            },
        };
        out.push(format!("file://{}", encode_path(&absolute.to_string_lossy())).into());
    }
    if hosts.is_empty() && paths.is_empty() {
        out.push("--allow-empty".into());
    }
    // Shown as the program's name only (never an argument, nor a value assigned in the word).
    let program = config
        .command
        .as_ref()
        .map(|c| crate::exec::program_name(&c.iter().map(OsString::from).collect::<Vec<_>>()));
    if let Some(words) = &config.command {
        out.push("--".into());
        out.extend(words.iter().map(OsString::from));
    }
    let names: Vec<(bool, String)> = hosts
        .iter()
        .map(|h| (true, h.clone()))
        .chain(paths.iter().map(|p| (false, p.clone())))
        .collect();
    Translation::Run(Invocation {
        args: out,
        once: config.timeout == 0,
        voice: Some(Box::new(Speech {
            ready: vec![false; names.len()],
            names,
            current: 0,
            program,
            config,
        })),
    })
}

/// A path as it goes in a `file://` URL: the characters the URL grammar gives a meaning encoded.
fn encode_path(path: &str) -> String {
    path.chars()
        .map(|c| match c {
            '%' | '?' | '#' | ' ' | '@' | '|' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// The tool's lines, in its order: it checks the hosts, then the paths, one after another.
#[derive(Debug)]
struct Speech {
    /// Each target: (a host, not a path) and its name as the tool shows it.
    names: Vec<(bool, String)>,
    ready: Vec<bool>,
    /// The target the tool would be checking now.
    current: usize,
    /// The command's program (the tool prints the whole command line; never its arguments here).
    program: Option<String>,
    config: Config,
}

impl Speech {
    fn line(&self, level: Level, text: &str) -> Option<String> {
        (level <= self.config.level && self.config.level != Level::Off)
            .then(|| format!("[{} wait] {text}", level.tag()))
    }

    fn lines(&self, lines: &[(Level, String)]) -> Vec<String> {
        lines.iter().filter_map(|(l, t)| self.line(*l, t)).collect()
    }

    fn checking(&self) -> Vec<(Level, String)> {
        match self.names.get(self.current) {
            Some((true, h)) => vec![(Level::Info, format!("Checking availability of host [{h}]"))],
            Some((false, p)) => vec![(Level::Info, format!("Checking availability of path [{p}]"))],
            None => Vec::new(),
        }
    }
}

impl Voice for Speech {
    fn prelude(&mut self) -> Vec<String> {
        use Level::{Debug, Info, Warn};
        let c = &self.config;
        let mut out: Vec<(Level, String)> = c.warnings.iter().map(|w| (Warn, w.clone())).collect();
        out.push((Info, SEPARATOR.into()));
        out.push((
            Info,
            format!(
                " docker-compose-wait {VERSION} (readygate {})",
                env!("CARGO_PKG_VERSION")
            ),
        ));
        out.push((Info, "---------------------------".into()));
        out.push((Debug, "Starting with configuration:".into()));
        out.push((Debug, format!(" - Hosts to be waiting for: [{}]", c.hosts)));
        out.push((Debug, format!(" - Paths to be waiting for: [{}]", c.paths)));
        out.push((
            Debug,
            format!(" - Timeout before failure: {} seconds ", c.timeout),
        ));
        out.push((
            Debug,
            format!(
                " - TCP connection timeout before retry: {} seconds ",
                c.connect_timeout
            ),
        ));
        if let Some(p) = &self.program {
            out.push((
                Debug,
                format!(
                    " - Command to run once ready: {} …",
                    crate::text::quote_short(p)
                ),
            ));
        }
        out.push((
            Debug,
            format!(
                " - Sleeping time before checking for hosts/paths availability: {} seconds",
                c.before
            ),
        ));
        out.push((
            Debug,
            format!(
                " - Sleeping time once all hosts/paths are available: {} seconds",
                c.after
            ),
        ));
        out.push((
            Debug,
            format!(" - Sleeping time between retries: {} seconds", c.interval),
        ));
        out.push((Debug, SEPARATOR.into()));
        if c.before > 0 {
            out.push((
                Info,
                format!(
                    "Waiting {} seconds before checking for hosts/paths availability",
                    c.before
                ),
            ));
            out.push((Info, SEPARATOR.into()));
        }
        self.lines(&out)
    }

    fn start(&mut self) -> Vec<String> {
        self.lines(&self.checking())
    }

    fn ready(&mut self, index: usize, _detail: Option<&str>, _elapsed: Duration) -> Vec<String> {
        if let Some(r) = self.ready.get_mut(index) {
            *r = true;
        }
        let mut out = Vec::new();
        while self.ready.get(self.current) == Some(&true) {
            let (host, name) = &self.names[self.current];
            out.push((
                Level::Info,
                match host {
                    true => format!("Host [{name}] is now available!"),
                    false => format!("Path [{name}] is now available!"),
                },
            ));
            out.push((Level::Info, SEPARATOR.to_string()));
            self.current += 1;
            out.extend(self.checking());
        }
        self.lines(&out)
    }

    fn not_ready(&mut self, index: usize, _reason: &str, _elapsed: Duration) -> Vec<String> {
        if index != self.current {
            return Vec::new();
        }
        let line = match &self.names[index] {
            (true, h) => format!("Host [{h}] not yet available..."),
            (false, p) => format!("Path {p} not yet available..."),
        };
        self.lines(&[(Level::Info, line)])
    }

    fn all_ready(&mut self, _elapsed: Duration) -> Vec<String> {
        let mut out = Vec::new();
        if self.config.after > 0 {
            out.push((
                Level::Info,
                format!(
                    "Waiting {} seconds after hosts/paths availability",
                    self.config.after
                ),
            ));
            out.push((Level::Info, SEPARATOR.to_string()));
        }
        out.push((
            Level::Info,
            "docker-compose-wait - Everything's fine, the application can now start!".into(),
        ));
        out.push((Level::Info, SEPARATOR.to_string()));
        self.lines(&out)
    }

    fn timed_out(&mut self, _elapsed: Duration, _command: bool) -> Vec<String> {
        let t = self.config.timeout;
        let line = match self.names.get(self.current) {
            Some((false, _)) => {
                format!("Timeout! After [{t}] seconds some paths are still not reachable")
            }
            _ => format!("Timeout! After {t} seconds some hosts are still not reachable"),
        };
        self.lines(&[(Level::Error, line)])
    }

    fn status(&self, ending: Ending) -> Option<i32> {
        match ending {
            Ending::TimedOut | Ending::NotReady | Ending::Failed => Some(1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::words_of as words;
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)]) -> Translation {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        translate(&[], &move |k: &str| vars.get(k).cloned())
    }

    fn has(words: &[String], pair: [&str; 2]) -> bool {
        words.windows(2).any(|w| w == pair)
    }

    #[test]
    fn variables_and_their_legacy_names() {
        let w = words(&run(&[
            ("WAIT_HOSTS", "db:5432, cache:6379"),
            ("WAIT_PATHS", "/run/ready"),
            ("WAIT_TIMEOUT", "60"),
            ("WAIT_BEFORE", "2"),
            ("WAIT_COMMAND", "python 'manage.py' \"run server\""),
        ]));
        assert!(has(&w, ["-t", "60s"]) && has(&w, ["--pause-before", "2s"]));
        assert!(has(&w, ["--interval", "1s"]) && has(&w, ["--attempt-timeout", "5s"]));
        assert!(w.contains(&"tcp://db:5432".into()) && w.contains(&"tcp://cache:6379".into()));
        assert!(w.contains(&"file:///run/ready".into()));
        assert_eq!(
            &w[w.len() - 4..],
            ["--", "python", "manage.py", "run server"]
        );
        // The legacy names are read, with the tool's warning; the new name wins.
        let t = run(&[
            ("WAIT_HOSTS", "db:1"),
            ("WAIT_HOSTS_TIMEOUT", "2"),
            ("WAIT_BEFORE_HOSTS", "3"),
        ]);
        let w = words(&t);
        assert!(
            has(&w, ["-t", "2s"]) && has(&w, ["--pause-before", "3s"]),
            "{w:?}"
        );
        let Translation::Run(mut i) = t else { panic!() };
        let prelude = i.voice.as_mut().unwrap().prelude();
        assert_eq!(prelude[0], "[WARN  wait] Environment variable [WAIT_HOSTS_TIMEOUT] is deprecated. Use [WAIT_TIMEOUT] instead.");
        assert!(has(
            &words(&run(&[
                ("WAIT_HOSTS", "db:1"),
                ("WAIT_HOSTS_TIMEOUT", "2"),
                ("WAIT_TIMEOUT", "9")
            ])),
            ["-t", "9s"]
        ));
    }

    #[test]
    fn timeouts_the_tool_accepts() {
        // 0: one check, then exit 1.
        let Translation::Run(i) = run(&[("WAIT_HOSTS", "db:1"), ("WAIT_TIMEOUT", "0")]) else {
            panic!()
        };
        assert!(i.once);
        assert_eq!(i.voice.as_ref().unwrap().status(Ending::NotReady), Some(1));
        // Not longer than the sleep interval: still a plan with a second attempt.
        let w = words(&run(&[("WAIT_HOSTS", "db:1"), ("WAIT_TIMEOUT", "1")]));
        assert!(has(&w, ["--interval", "500ms"]), "{w:?}");
        let w = words(&run(&[
            ("WAIT_HOSTS", "db:1"),
            ("WAIT_TIMEOUT", "2"),
            ("WAIT_SLEEP_INTERVAL", "5"),
        ]));
        assert!(has(&w, ["--interval", "1s"]), "{w:?}");
    }

    #[test]
    fn refused_where_the_tool_would_go_on_without_a_word() {
        for (vars, want) in [
            (
                &[("WAIT_HOSTS", ","), ("WAIT_TIMEOUT", "2")][..],
                "WAIT_HOSTS=',' has an empty entry",
            ),
            (&[("WAIT_PATHS", ",")], "WAIT_PATHS=',' has an empty entry"),
            (&[("WAIT_HOSTS", "db:1,")], "has an empty entry"),
            (&[("WAIT_HOSTS", "db")], "'db' is not host:port"),
            (
                &[("WAIT_TIMEOUT", "5s")],
                "WAIT_TIMEOUT='5s' is not a whole number",
            ),
            (&[("WAIT_HOSTS_TIMEOUT", "x")], "WAIT_HOSTS_TIMEOUT='x'"),
            (
                &[("WAIT_TIMEOUT", "99999999999")],
                "WAIT_TIMEOUT=99999999999 is more than a year",
            ),
        ] {
            let Translation::Exit(e) = run(vars) else {
                panic!("{vars:?}")
            };
            assert_eq!(e.status, 2);
            assert!(e.stderr.contains(want), "{vars:?}: {}", e.stderr);
        }
    }

    #[test]
    fn relative_paths_are_from_the_working_directory() {
        let w = words(&run(&[("WAIT_PATHS", "ready.txt")]));
        let cwd = std::env::current_dir().unwrap();
        assert!(
            w.contains(&format!("file://{}", cwd.join("ready.txt").display())),
            "{w:?}"
        );
    }

    #[test]
    fn logger_levels_as_env_logger_reads_them() {
        for (spec, want) in [
            (None, Level::Debug),
            (Some("warn"), Level::Warn),
            (Some("INFO"), Level::Info),
            (Some("wait=error,debug"), Level::Error),
            (Some("other=debug"), Level::Off),
            (Some("wait"), Level::Trace),
            (Some("bogus=zz"), Level::Error),
            (Some("off"), Level::Off),
        ] {
            assert_eq!(logger_level(spec), want, "{spec:?}");
        }
    }

    #[test]
    fn its_lines_in_its_order() {
        let Translation::Run(mut i) =
            run(&[("WAIT_HOSTS", "a:1, b:2"), ("WAIT_LOGGER_LEVEL", "info")])
        else {
            panic!()
        };
        let v = i.voice.as_mut().unwrap();
        assert_eq!(
            v.start(),
            ["[INFO  wait] Checking availability of host [a:1]"]
        );
        // b is ready first: said only once a is.
        assert!(v.ready(1, None, Duration::ZERO).is_empty());
        assert_eq!(
            v.not_ready(0, "refused", Duration::ZERO),
            ["[INFO  wait] Host [a:1] not yet available..."]
        );
        assert_eq!(
            v.ready(0, None, Duration::ZERO),
            [
                "[INFO  wait] Host [a:1] is now available!",
                &format!("[INFO  wait] {SEPARATOR}"),
                "[INFO  wait] Checking availability of host [ b:2]",
                "[INFO  wait] Host [ b:2] is now available!",
                &format!("[INFO  wait] {SEPARATOR}"),
            ]
        );
        assert_eq!(
            v.all_ready(Duration::ZERO)[0],
            "[INFO  wait] docker-compose-wait - Everything's fine, the application can now start!"
        );
        assert_eq!(
            v.timed_out(Duration::ZERO, false),
            ["[ERROR wait] Timeout! After 30 seconds some hosts are still not reachable"]
        );
        assert_eq!(v.status(Ending::TimedOut), Some(1));
    }
}
