//! `wait-for-it host:port [-s] [-t timeout] [-- command args]`, as vishnubob's script (the one
//! Debian's `wait-for-it` package ships) reads its arguments, prints its lines and exits:
//! - arguments in any order, the later value winning: `host:port`, `-h HOST`/`--host=HOST`,
//!   `-p PORT`/`--port=PORT`, `-t SECONDS`/`--timeout=SECONDS` (default 15; 0 or less: no
//!   timeout), `-s`/`--strict`, `-q`/`--quiet`, `--help`, `--` and the command;
//! - its lines on stderr, named by the name it was invoked as: "waiting 15 seconds for db:5432",
//!   "db:5432 is available after 2 seconds", "timeout occurred after waiting 15 seconds for
//!   db:5432", "strict mode, refusing to execute subprocess"; none with `-q`;
//! - exit 1 for usage (after its usage text), 124 on timeout, the command's own status once it
//!   is exec'd.
//!
//! The one difference: without `--strict`, the script runs the command after a timeout; readygate
//! exits 124 instead, with one line that says why. Also refused at once rather than waited out: a
//! timeout or a port that is not a number (the script would treat the first as no timeout and
//! retry the second until its timeout).

use std::ffi::OsString;
use std::time::Duration;

use super::{seconds, Exit, Invocation, Translation};
use crate::exit::Ending;
use crate::report::voice::Voice;

/// The script's usage text, with `$cmdname` in place (it is the tool's interface: scripts and
/// people compare it).
fn usage(name: &str) -> String {
    format!(
        "Usage:
    {name} host:port [-s] [-t timeout] [-- command args]
    -h HOST | --host=HOST       Host or IP under test
    -p PORT | --port=PORT       TCP port under test
                                Alternatively, you specify the host and port as host:port
    -s | --strict               Only execute subcommand if the test succeeds
    -q | --quiet                Don't output any status messages
    -t TIMEOUT | --timeout=TIMEOUT
                                Timeout in seconds, zero for no timeout
    -- COMMAND ARGS             Execute command with args after the test finishes
"
    )
}

/// The arguments as the script's loop leaves them.
#[derive(Debug, Default)]
struct Parsed {
    host: String,
    port: String,
    timeout: Option<String>,
    strict: bool,
    quiet: bool,
    command: Vec<OsString>,
}

/// A usage error: the script's message (if `quiet` did not silence it), its usage text, exit 1.
fn usage_exit(name: &str, message: Option<String>, quiet: bool) -> Translation {
    let mut stderr = String::new();
    if let Some(m) = message.filter(|_| !quiet) {
        stderr.push_str(&m);
        stderr.push('\n');
    }
    stderr.push_str(&usage(name));
    Translation::Exit(Exit {
        stderr,
        status: 1,
        ..Exit::default()
    })
}

fn parse(name: &str, args: &[OsString]) -> Result<Parsed, Translation> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_string_lossy().into_owned();
        let next = || args.get(i + 1).map(|a| a.to_string_lossy().into_owned());
        match word.as_str() {
            w if w.contains(':') => {
                // `${1//:/ }` split into words: the first two are the host and the port.
                let mut parts = w
                    .split(|c: char| c == ':' || c.is_whitespace())
                    .filter(|s| !s.is_empty());
                p.host = parts.next().unwrap_or("").to_string();
                p.port = parts.next().unwrap_or("").to_string();
                i += 1;
            }
            "--child" => i += 1,
            "-q" | "--quiet" => {
                p.quiet = true;
                i += 1;
            }
            "-s" | "--strict" => {
                p.strict = true;
                i += 1;
            }
            // An empty value after -h/-p/-t ends the argument loop, as in the script.
            "-h" | "-p" | "-t" => {
                let value = next().unwrap_or_default();
                if value.is_empty() {
                    break;
                }
                match word.as_str() {
                    "-h" => p.host = value,
                    "-p" => p.port = value,
                    _ => p.timeout = Some(value),
                }
                i += 2;
            }
            w if w.starts_with("--host=") => {
                p.host = w["--host=".len()..].to_string();
                i += 1;
            }
            w if w.starts_with("--port=") => {
                p.port = w["--port=".len()..].to_string();
                i += 1;
            }
            w if w.starts_with("--timeout=") => {
                p.timeout = Some(w["--timeout=".len()..].to_string());
                i += 1;
            }
            "--" => {
                p.command = args[i + 1..].to_vec();
                break;
            }
            "--help" => return Err(usage_exit(name, None, p.quiet)),
            _ => {
                let shown = crate::text::quote_short(&crate::redact::redact_text(&word));
                return Err(usage_exit(
                    name,
                    Some(format!("Unknown argument: {shown}")),
                    p.quiet,
                ));
            }
        }
    }
    if p.host.is_empty() || p.port.is_empty() {
        let message = "Error: you need to provide a host and port to test.".to_string();
        return Err(usage_exit(name, Some(message), p.quiet));
    }
    Ok(p)
}

/// Translates the script's arguments.
pub fn translate(name: &str, args: &[OsString]) -> Translation {
    let p = match parse(name, args) {
        Ok(p) => p,
        Err(t) => return t,
    };
    // Refused at once where the script would wait without a word (see the module's comment).
    let refuse = |what: &str, value: &str| {
        let message = format!(
            "{name}: {what} '{}' is not a whole number{}",
            crate::text::quote_short(value),
            if what == "timeout" {
                " of seconds"
            } else {
                " from 1 to 65535"
            }
        );
        usage_exit(name, Some(message), false)
    };
    let timeout = match p.timeout.as_deref().unwrap_or("15").parse::<i64>() {
        Ok(t) => t.max(0) as u64,
        Err(_) => return refuse("timeout", p.timeout.as_deref().unwrap_or("")),
    };
    if !matches!(p.port.parse::<u32>(), Ok(1..=65535)) {
        return refuse("port", &p.port);
    }
    let target = format!("{}:{}", p.host, p.port);
    let mut out: Vec<OsString> = vec![
        "readygate".into(),
        "-t".into(),
        format!("{timeout}s").into(),
    ];
    out.push(format!("tcp://{target}").into());
    let command = !p.command.is_empty();
    if command {
        out.push("--".into());
        out.extend(p.command);
    } else {
        out.push("--allow-empty".into());
    }
    Translation::Run(Invocation {
        args: out,
        voice: Some(Box::new(Speech {
            name: name.to_string(),
            target,
            timeout,
            strict: p.strict,
            quiet: p.quiet,
        })),
        once: false,
    })
}

/// The script's lines.
#[derive(Debug)]
struct Speech {
    name: String,
    target: String,
    timeout: u64,
    strict: bool,
    quiet: bool,
}

impl Speech {
    fn say(&self, line: String) -> Vec<String> {
        if self.quiet {
            Vec::new()
        } else {
            vec![line]
        }
    }
}

impl Voice for Speech {
    fn start(&mut self) -> Vec<String> {
        let (name, target) = (&self.name, &self.target);
        self.say(match self.timeout {
            0 => format!("{name}: waiting for {target} without a timeout"),
            t => format!("{name}: waiting {t} seconds for {target}"),
        })
    }

    fn all_ready(&mut self, elapsed: Duration) -> Vec<String> {
        let (name, target) = (&self.name, &self.target);
        self.say(format!(
            "{name}: {target} is available after {} seconds",
            seconds(elapsed)
        ))
    }

    fn timed_out(&mut self, _elapsed: Duration, command: bool) -> Vec<String> {
        let (name, target, t) = (&self.name, &self.target, self.timeout);
        let mut lines = self.say(format!(
            "{name}: timeout occurred after waiting {t} seconds for {target}"
        ));
        if command && self.strict {
            lines.extend(self.say(format!(
                "{name}: strict mode, refusing to execute subprocess"
            )));
        } else if command {
            // The one difference from the script, said even with -q: it is not what the script
            // would have done.
            lines.push(format!(
                "{name}: not running the command: readygate never starts it while a dependency is not ready (wait-for-it would, without --strict)"
            ));
        }
        lines
    }

    fn status(&self, ending: Ending) -> Option<i32> {
        match ending {
            Ending::Usage => Some(1),
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
        translate("wait-for-it", &args)
    }

    #[test]
    fn every_option_form_and_later_values_win() {
        assert_eq!(
            words(&run(&["db:5432", "-s", "-t", "60", "--", "app", "-x"])),
            ["readygate", "-t", "60s", "tcp://db:5432", "--", "app", "-x"]
        );
        assert_eq!(
            words(&run(&["--host=db", "--port=5432", "--timeout=0"])),
            ["readygate", "-t", "0s", "tcp://db:5432", "--allow-empty"]
        );
        // A later -p beats the port of host:port, and a later host:port beats both.
        assert_eq!(words(&run(&["db:1", "-p", "2"]))[3], "tcp://db:2");
        assert_eq!(words(&run(&["-h", "a", "-p", "1", "b:2"]))[3], "tcp://b:2");
        // A negative timeout is no timeout, as `[[ $TIMEOUT -gt 0 ]]` decides.
        assert_eq!(words(&run(&["db:1", "-t", "-5"]))[2], "0s");
        // An empty value ends the loop: what follows is not read.
        assert_eq!(words(&run(&["db:1", "-t", "", "--bogus"]))[2], "15s");
    }

    #[test]
    fn usage_errors_print_the_usage_and_exit_1() {
        for (args, first) in [
            (&["--help"][..], "Usage:"),
            (&["db:1", "--bogus"], "Unknown argument: --bogus"),
            (&[], "Error: you need to provide a host and port to test."),
            (
                &["-h", "db"],
                "Error: you need to provide a host and port to test.",
            ),
            (
                &["db:1", "-t", "5s"],
                "wait-for-it: timeout '5s' is not a whole number of seconds",
            ),
        ] {
            let Translation::Exit(e) = run(args) else {
                panic!("{args:?}")
            };
            assert_eq!(e.status, 1, "{args:?}");
            assert!(e.stderr.starts_with(first), "{args:?}: {}", e.stderr);
            assert!(e
                .stderr
                .contains("    wait-for-it host:port [-s] [-t timeout] [-- command args]\n"));
            assert!(e.stdout.is_empty());
        }
        // -q silences the message, never the usage text.
        let Translation::Exit(e) = run(&["-q", "--bogus"]) else {
            panic!()
        };
        assert!(e.stderr.starts_with("Usage:"), "{}", e.stderr);
    }

    #[test]
    fn its_lines() {
        let Translation::Run(mut i) = run(&["db:5432", "-s", "--", "app"]) else {
            panic!()
        };
        let v = i.voice.as_mut().unwrap();
        assert_eq!(v.start(), ["wait-for-it: waiting 15 seconds for db:5432"]);
        assert_eq!(
            v.all_ready(Duration::from_millis(2300)),
            ["wait-for-it: db:5432 is available after 2 seconds"]
        );
        assert_eq!(
            v.timed_out(Duration::from_secs(15), true),
            [
                "wait-for-it: timeout occurred after waiting 15 seconds for db:5432",
                "wait-for-it: strict mode, refusing to execute subprocess"
            ]
        );
        let Translation::Run(mut i) = run(&["db:5432", "-q", "-t", "0", "--", "app"]) else {
            panic!()
        };
        let v = i.voice.as_mut().unwrap();
        assert!(v.start().is_empty());
        let lines = v.timed_out(Duration::from_secs(1), true);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("without --strict"), "{lines:?}");
    }
}
