//! dockerize's waiting subset: `dockerize -wait tcp://db:5432 -wait http://web/health
//! -timeout 30s -wait-retry-interval 2s [-wait-http-header 'K: V'] command args`, read as Go's
//! `flag` package reads it (`-flag value`, `-flag=value`, `--flag`, flags end at the first word
//! that is not one, or at `--`), with dockerize's defaults (timeout 10s, retry interval 1s), its
//! log lines (`Waiting for: …`, `Connected to …`, `Received 200 from …`, `Timeout after 10s
//! waiting on dependencies to become available: [...]`, Go's log time stamp before each) and its
//! exit statuses (1 on timeout or a bad `-wait`, 2 for a flag Go's parser refuses).
//!
//! `-wait` takes `tcp://`, `tcp4://`, `tcp6://`, `unix://`, `http://`, `https://` and `file://`.
//! The templating half (`-template`, `-stdout`, `-stderr`, `-poll`, `-delims`, `-no-overwrite`) is
//! refused with a line that names the option: readygate only waits. The command is exec'd in
//! place, where dockerize runs it as its child.

use std::ffi::OsString;
use std::time::Duration;

use super::{Exit, Invocation, Translation};
use crate::exit::Ending;
use crate::report::voice::Voice;

/// Flags that take a value, and the templating ones readygate refuses.
const WAITING: &[&str] = &["wait", "timeout", "wait-retry-interval", "wait-http-header"];
const TEMPLATING: &[&str] = &[
    "template",
    "stdout",
    "stderr",
    "poll",
    "delims",
    "no-overwrite",
];
const BOOLS: &[&str] = &["version", "poll", "no-overwrite"];

/// A short usage (dockerize prints its flag list; this is the subset readygate takes).
const USAGE: &str = "Usage: dockerize [options] [command]

Waiting options (readygate's dockerize mode):
  -wait URL                  tcp://, tcp4://, tcp6://, unix://, http://, https://, file:// (repeatable)
  -timeout DURATION          host wait timeout (default 10s)
  -wait-retry-interval DURATION  pause between attempts (default 1s)
  -wait-http-header 'K: V'   a header for the http(s) waits (repeatable)
";

/// Go's log line: `2006/01/02 15:04:05 message` (UTC).
fn log_line(message: &str) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    // 2006-01-02T15:04:05Z
    let stamp = format!("{} {}", now[..10].replace('-', "/"), &now[11..19]);
    format!("{stamp} {message}")
}

fn exit(stderr: String, status: i32) -> Translation {
    Translation::Exit(Exit {
        stderr,
        status,
        ..Exit::default()
    })
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units (`300ms`, `1.5h`, `2h45m`);
/// `0` alone needs no unit.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += number * unit;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Go's `Duration.String()`: `10s`, `1m30s`, `1.5s`, `500ms`, `1h0m0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, div) = match nanos {
            n if n < 1_000 => ("ns", 1u128),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, div));
    }
    let secs = decimal(nanos % 60_000_000_000, 1_000_000_000);
    let minutes = nanos / 60_000_000_000;
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// `n / div` with the fraction's trailing zeros dropped.
fn decimal(n: u128, div: u128) -> String {
    let whole = n / div;
    let frac = n % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[derive(Debug, Default)]
struct Parsed {
    waits: Vec<String>,
    headers: Vec<String>,
    timeout: Option<String>,
    interval: Option<String>,
    version: bool,
    flags: usize,
    command: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Result<Parsed, Translation> {
    let bad = |message: String| exit(format!("{message}\n{USAGE}"), 2);
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_string_lossy().into_owned();
        if word == "--" {
            i += 1;
            break;
        }
        let Some(flag) = word
            .strip_prefix("--")
            .or_else(|| word.strip_prefix('-'))
            .filter(|f| !f.is_empty())
        else {
            break;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.to_string(), None),
        };
        if name == "h" || name == "help" {
            return Err(exit(USAGE.to_string(), 0));
        }
        if TEMPLATING.contains(&name.as_str()) {
            return Err(exit(
                format!("readygate: error: dockerize's -{name} is not supported: readygate only waits (-wait, -timeout, -wait-retry-interval, -wait-http-header); render templates and tail logs before or after it\n"),
                2,
            ));
        }
        if !WAITING.contains(&name.as_str()) && !BOOLS.contains(&name.as_str()) {
            let shown = crate::text::quote_short(&crate::redact::redact_text(&name));
            return Err(bad(format!("flag provided but not defined: -{shown}")));
        }
        p.flags += 1;
        if BOOLS.contains(&name.as_str()) {
            // Only -version is a waiting-side bool.
            p.version = match inline.as_deref() {
                None | Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
                Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
                Some(v) => {
                    return Err(bad(format!(
                        "invalid boolean value \"{v}\" for -{name}: parse error"
                    )))
                }
            };
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => match args.get(i + 1) {
                Some(v) => {
                    i += 1;
                    v.to_string_lossy().into_owned()
                }
                None => return Err(bad(format!("flag needs an argument: -{name}"))),
            },
        };
        match name.as_str() {
            "wait" => p.waits.push(value),
            "wait-http-header" => p.headers.push(value),
            "timeout" => p.timeout = Some(value),
            _ => p.interval = Some(value),
        }
        i += 1;
    }
    p.command = args[i.min(args.len())..].to_vec();
    Ok(p)
}

/// Translates dockerize's flags.
pub fn translate(args: &[OsString]) -> Translation {
    let p = match parse(args) {
        Ok(p) => p,
        Err(t) => return t,
    };
    let duration = |flag: &str, value: Option<&String>, default: Duration| match value {
        None => Ok(default),
        Some(v) => parse_go_duration(v).ok_or_else(|| {
            exit(
                format!(
                    "invalid value \"{}\" for flag -{flag}: parse error\n{USAGE}",
                    crate::text::quote_short(v)
                ),
                2,
            )
        }),
    };
    let timeout = match duration("timeout", p.timeout.as_ref(), Duration::from_secs(10)) {
        Ok(d) => d,
        Err(t) => return t,
    };
    let mut interval = match duration(
        "wait-retry-interval",
        p.interval.as_ref(),
        Duration::from_secs(1),
    ) {
        Ok(d) => d,
        Err(t) => return t,
    };
    if p.version {
        return Translation::Exit(Exit {
            stdout: format!("readygate {} (dockerize mode)\n", env!("CARGO_PKG_VERSION")),
            ..Exit::default()
        });
    }
    if p.command.is_empty() && p.flags == 0 {
        return exit(USAGE.to_string(), 1);
    }
    let targets = match targets(&p.waits, &p.headers) {
        Ok(t) => t,
        Err(t) => return t,
    };
    let once = timeout.is_zero();
    if !once && interval >= timeout {
        interval = timeout / 2;
    }
    let interval = interval.max(Duration::from_millis(1));
    let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
    let mut out: Vec<OsString> = vec!["readygate".into(), "-t".into(), ms(timeout).into()];
    out.extend([
        "--interval".into(),
        ms(interval).into(),
        "--max-interval".into(),
        ms(interval).into(),
    ]);
    // dockerize bounds each dial and request by the same timeout.
    let attempt = if once {
        Duration::from_secs(5)
    } else {
        timeout
    };
    out.extend(["--attempt-timeout".into(), ms(attempt).into()]);
    out.extend(targets.iter().map(OsString::from));
    if targets.is_empty() {
        out.push("--allow-empty".into());
    }
    if !p.command.is_empty() {
        out.push("--".into());
        out.extend(p.command);
    }
    Translation::Run(Invocation {
        args: out,
        once,
        voice: Some(Box::new(Speech {
            waits: p.waits,
            timeout,
            interval,
        })),
    })
}

/// Each `-wait` as a readygate target, with the `-wait-http-header`s on the HTTP ones; or
/// dockerize's own error.
fn targets(waits: &[String], headers_given: &[String]) -> Result<Vec<String>, Translation> {
    let fatal = |message: String| Err(exit(format!("{}\n", log_line(&message)), 1));
    let mut headers = Vec::new();
    for h in headers_given {
        if waits.is_empty() {
            return fatal(format!(
                "-wait-http-header \"{h}\" provided with no -wait option"
            ));
        }
        match h.split_once(':') {
            Some((k, v)) => headers.push(format!("{}: {}", k.trim(), v.trim())),
            None => {
                return fatal(format!(
                    "bad HTTP Headers argument: {h}. expected \"headerName: headerValue\""
                ))
            }
        }
    }
    let mut targets = Vec::new();
    for w in waits {
        let scheme = w.split_once("://").map_or("", |(s, _)| s);
        let target = match scheme {
            "tcp" | "tcp4" | "tcp6" => format!("tcp://{}", &w[scheme.len() + 3..]),
            "unix" | "file" => w.clone(),
            "http" | "https" => {
                let mut t = w.clone();
                for h in &headers {
                    t.push(if t.contains('#') { '&' } else { '#' });
                    t.push_str("header=");
                    t.push_str(&crate::redact::percent_encode(h, false));
                }
                t
            }
            other => {
                return fatal(format!(
                    "invalid host protocol provided: {other}. supported protocols are: tcp, tcp4, tcp6 and http"
                ))
            }
        };
        targets.push(target);
    }
    Ok(targets)
}

#[derive(Debug)]
struct Speech {
    waits: Vec<String>,
    timeout: Duration,
    interval: Duration,
}

impl Speech {
    /// `scheme://address` as dockerize's dial lines show it.
    fn dialled(&self, index: usize) -> &str {
        &self.waits[index]
    }
}

impl Voice for Speech {
    fn start(&mut self) -> Vec<String> {
        self.waits
            .iter()
            .map(|w| log_line(&format!("Waiting for: {w}")))
            .collect()
    }

    fn ready(&mut self, index: usize, detail: Option<&str>, _elapsed: Duration) -> Vec<String> {
        let w = self.dialled(index);
        let line = match w.split_once("://").map_or("", |(s, _)| s) {
            "http" | "https" => {
                let status = detail
                    .and_then(|d| d.strip_prefix("HTTP "))
                    .map_or("200", |s| &s[..s.len().min(3)]);
                format!("Received {status} from {w}")
            }
            "file" => format!("File {w} had been generated"),
            _ => format!("Connected to {w}"),
        };
        vec![log_line(&line)]
    }

    fn not_ready(&mut self, index: usize, reason: &str, _elapsed: Duration) -> Vec<String> {
        let w = self.dialled(index);
        let sleeping = go_duration(self.interval);
        let line = match w.split_once("://").map_or("", |(s, _)| s) {
            "file" => return Vec::new(),
            "http" | "https" => match reason.strip_prefix("HTTP ") {
                Some(s) => format!(
                    "Received {} from {w}. Sleeping {sleeping}",
                    &s[..s.len().min(3)]
                ),
                None => format!("Problem with request to {w}: {reason}. Sleeping {sleeping}"),
            },
            _ => format!("Problem with dial {w}: {reason}. Sleeping {sleeping}"),
        };
        vec![log_line(&line)]
    }

    fn timed_out(&mut self, _elapsed: Duration, _command: bool) -> Vec<String> {
        vec![log_line(&format!(
            "Timeout after {} waiting on dependencies to become available: [{}]",
            go_duration(self.timeout),
            self.waits.join(" ")
        ))]
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

    fn run(args: &[&str]) -> Translation {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        translate(&args)
    }

    #[test]
    fn go_durations() {
        for (text, d, shown) in [
            ("10s", Duration::from_secs(10), "10s"),
            ("1m30s", Duration::from_secs(90), "1m30s"),
            ("1.5s", Duration::from_millis(1500), "1.5s"),
            ("500ms", Duration::from_millis(500), "500ms"),
            ("1h", Duration::from_secs(3600), "1h0m0s"),
            ("0", Duration::ZERO, "0s"),
        ] {
            assert_eq!(parse_go_duration(text), Some(d), "{text}");
            assert_eq!(go_duration(d), shown, "{text}");
        }
        for bad in ["", "10", "-1s", "1x", "s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_readme_example_and_flag_forms() {
        let w = words(&run(&[
            "-wait",
            "tcp://db:5432",
            "--wait=http://web/health",
            "-timeout",
            "30s",
            "-wait-retry-interval",
            "2s",
            "-wait-http-header",
            "X-Key: v 1",
            "app",
            "-x",
        ]));
        assert_eq!(&w[..3], ["readygate", "-t", "30000ms"]);
        assert!(w.contains(&"tcp://db:5432".into()));
        assert!(
            w.contains(&"http://web/health#header=X-Key%3A%20v%201".into()),
            "{w:?}"
        );
        assert_eq!(&w[w.len() - 3..], ["--", "app", "-x"]);
        assert!(w.windows(2).any(|p| p == ["--interval", "2000ms"]));
        // Defaults: 10s, 1s.
        let w = words(&run(&["-wait", "tcp6://db:1"]));
        assert_eq!(
            &w[..5],
            ["readygate", "-t", "10000ms", "--interval", "1000ms"]
        );
        assert!(w.contains(&"tcp://db:1".into()));
    }

    #[test]
    fn refusals_and_their_statuses() {
        let cases: &[(&[&str], i32, &str)] = &[
            (
                &["-template", "a:b", "-wait", "tcp://db:1"],
                2,
                "dockerize's -template is not supported",
            ),
            (&["-stdout", "/x"], 2, "-stdout is not supported"),
            (&["-bogus"], 2, "flag provided but not defined: -bogus"),
            (
                &["-timeout", "10"],
                2,
                "invalid value \"10\" for flag -timeout: parse error",
            ),
            (&["-wait"], 2, "flag needs an argument: -wait"),
            (
                &["-wait", "redis://c:1"],
                1,
                "invalid host protocol provided: redis.",
            ),
            (
                &["-wait-http-header", "K: V"],
                1,
                "provided with no -wait option",
            ),
            (
                &["-wait", "http://w/", "-wait-http-header", "nocolon"],
                1,
                "bad HTTP Headers argument",
            ),
            (&[], 1, "Usage: dockerize"),
            (&["-h"], 0, "Usage: dockerize"),
        ];
        for (args, status, want) in cases {
            let Translation::Exit(e) = run(args) else {
                panic!("{args:?}")
            };
            assert_eq!(e.status, *status, "{args:?}");
            assert!(e.stderr.contains(want), "{args:?}: {}", e.stderr);
        }
    }

    #[test]
    fn its_lines() {
        let Translation::Run(mut i) = run(&[
            "-wait",
            "tcp://db:5432",
            "-wait",
            "http://web/h",
            "-timeout",
            "3s",
        ]) else {
            panic!()
        };
        let v = i.voice.as_mut().unwrap();
        let start = v.start();
        assert!(
            start[0].ends_with(" Waiting for: tcp://db:5432"),
            "{start:?}"
        );
        assert_eq!(
            start[0].len(),
            "2006/01/02 15:04:05 ".len() + "Waiting for: tcp://db:5432".len()
        );
        assert!(v.ready(0, None, Duration::ZERO)[0].ends_with(" Connected to tcp://db:5432"));
        assert!(v.ready(1, Some("HTTP 204"), Duration::ZERO)[0]
            .ends_with(" Received 204 from http://web/h"));
        assert!(v.not_ready(
            1,
            "HTTP 503 Service Unavailable (expected 2xx)",
            Duration::ZERO
        )[0]
        .ends_with(" Received 503 from http://web/h. Sleeping 1s"));
        assert!(v.timed_out(Duration::ZERO, false)[0]
            .ends_with(" Timeout after 3s waiting on dependencies to become available: [tcp://db:5432 http://web/h]"));
        assert_eq!(v.status(Ending::TimedOut), Some(1));
    }
}
