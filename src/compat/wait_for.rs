//! `wait-for host:port|url [-t timeout] [-q] [-- command args]`, as eficode's POSIX script reads
//! its arguments, prints its lines and exits:
//! - `host:port`, or an `http://` / `https://` URL (probed natively: no wget needed; ready on a
//!   2xx answer); the later one wins;
//! - `-t SECONDS`, `-tSECONDS`, `--timeout=SECONDS` (default 15, `0` for none; anything but a
//!   whole number ≥ 0 is refused with exit 3), `-q`/`--quiet` and condensed forms (`-qt1`),
//!   `-v`/`--version`, `--help`, `--` and the command;
//! - nothing printed while waiting or when ready; "Operation timed out" on timeout (even with
//!   `-q`), exit 1; usage errors after its usage text, exit 1 (unknown word), 2 (no host) or 3
//!   (bad timeout); `--help` exit 0.
//!
//! Differences: a redirect is not followed (wget follows it): give the final URL.

use std::ffi::OsString;
use std::time::Duration;

use super::{Exit, Invocation, Translation};
use crate::exit::Ending;
use crate::report::voice::Voice;

/// The version of the script whose interface this mode follows (`wait-for --version`).
const VERSION: &str = "2.2.4";

/// The script's usage text, with `$0` as it was invoked (it is the tool's interface).
fn usage(argv0: &str) -> String {
    format!(
        "Usage:
  {argv0} host:port|url [-t timeout] [-- command args]
  -q | --quiet                        Do not output any status messages
  -t TIMEOUT | --timeout=timeout      Timeout in seconds, zero for no timeout
                                      Defaults to 15 seconds
  -v | --version                      Show the version of this tool
  -- COMMAND ARGS                     Execute command with args after the test finishes
"
    )
}

#[derive(Debug, Default)]
struct Parsed {
    /// `host:port`, or a URL.
    target: Option<Target>,
    timeout: String,
    quiet: bool,
    command: Vec<OsString>,
}

#[derive(Debug, Clone)]
enum Target {
    Tcp { host: String, port: String },
    Http(String),
}

fn exit(argv0: &str, message: Option<String>, quiet: bool, status: i32) -> Translation {
    let mut stderr = String::new();
    if let Some(m) = message.filter(|_| !quiet) {
        stderr.push_str(&m);
        stderr.push('\n');
    }
    stderr.push_str(&usage(argv0));
    Translation::Exit(Exit {
        stderr,
        status,
        ..Exit::default()
    })
}

fn parse(argv0: &str, args: &[OsString]) -> Result<Parsed, Translation> {
    let mut p = Parsed {
        timeout: "15".into(),
        ..Parsed::default()
    };
    let mut words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    let shown = |w: &str| crate::text::quote_short(&crate::redact::redact_text(w));
    while let Some(word) = words.get(i).cloned() {
        match word.as_str() {
            w if w.starts_with("http://") || w.starts_with("https://") => {
                p.target = Some(Target::Http(w.to_string()));
            }
            w if w.contains(':') => {
                // `cut -d : -f 1` and `-f 2`.
                let mut fields = w.split(':');
                p.target = Some(Target::Tcp {
                    host: fields.next().unwrap_or("").to_string(),
                    port: fields.next().unwrap_or("").to_string(),
                });
            }
            "-v" | "--version" => {
                return Err(Translation::Exit(Exit {
                    stdout: format!("{VERSION}\n"),
                    ..Exit::default()
                }))
            }
            "-q" | "--quiet" => p.quiet = true,
            w if w.starts_with("-q-") => {
                return Err(exit(
                    argv0,
                    Some(format!("Unknown option: {}", shown(w))),
                    false,
                    1,
                ))
            }
            // Condensed: `-qt1` is `-q -t1`.
            w if w.starts_with("-q") => {
                p.quiet = true;
                words[i] = format!("-{}", &w[2..]);
                continue;
            }
            "-t" | "--timeout" => match words.get(i + 1) {
                Some(v) => {
                    p.timeout = v.clone();
                    i += 1;
                }
                None => return Err(exit(argv0, Some("Unknown argument: ".into()), false, 1)),
            },
            w if w.starts_with("-t") => p.timeout = w[2..].to_string(),
            w if w.starts_with("--timeout=") => p.timeout = w["--timeout=".len()..].to_string(),
            "--" => {
                p.command = args[i + 1..].to_vec();
                break;
            }
            "--help" => return Err(exit(argv0, None, true, 0)),
            w if w.starts_with('-') => {
                return Err(exit(
                    argv0,
                    Some(format!("Unknown option: {}", shown(w))),
                    false,
                    1,
                ))
            }
            w => {
                return Err(exit(
                    argv0,
                    Some(format!("Unknown argument: {}", shown(w))),
                    false,
                    1,
                ))
            }
        }
        i += 1;
    }
    Ok(p)
}

/// Translates the script's arguments.
pub fn translate(argv0: &str, args: &[OsString]) -> Translation {
    let p = match parse(argv0, args) {
        Ok(p) => p,
        Err(t) => return t,
    };
    // `[ "$TIMEOUT" -ge 0 ]`: a whole number, not negative.
    let Some(timeout) = p
        .timeout
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|_| !p.timeout.trim().starts_with('+'))
    else {
        let message = format!(
            "Error: invalid timeout '{}'",
            crate::text::quote_short(&p.timeout)
        );
        return exit(argv0, Some(message), p.quiet, 3);
    };
    let target = match p.target {
        Some(Target::Tcp { host, port }) if !host.is_empty() && !port.is_empty() => {
            format!("tcp://{host}:{port}")
        }
        Some(Target::Http(url)) if !url.is_empty() => url,
        Some(Target::Http(_)) => {
            let message = "Error: you need to provide a host to test.".to_string();
            return exit(argv0, Some(message), p.quiet, 2);
        }
        _ => {
            let message = "Error: you need to provide a host and port to test.".to_string();
            return exit(argv0, Some(message), p.quiet, 2);
        }
    };
    let mut out: Vec<OsString> = vec![
        "readygate".into(),
        "-t".into(),
        format!("{timeout}s").into(),
        target.into(),
    ];
    if p.command.is_empty() {
        out.push("--allow-empty".into());
    } else {
        out.push("--".into());
        out.extend(p.command);
    }
    Translation::Run(Invocation {
        args: out,
        voice: Some(Box::new(Speech)),
        once: false,
    })
}

/// The script says nothing but its timeout.
#[derive(Debug)]
struct Speech;

impl Voice for Speech {
    fn timed_out(&mut self, _elapsed: Duration, _command: bool) -> Vec<String> {
        vec!["Operation timed out".to_string()]
    }

    fn status(&self, ending: Ending) -> Option<i32> {
        match ending {
            Ending::TimedOut | Ending::Failed => Some(1),
            Ending::Usage => Some(2),
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
        translate("/usr/bin/wait-for", &args)
    }

    #[test]
    fn forms() {
        assert_eq!(
            words(&run(&["db:5432", "-t", "3", "--", "app", "x"])),
            ["readygate", "-t", "3s", "tcp://db:5432", "--", "app", "x"]
        );
        assert_eq!(words(&run(&["-qt1", "db:1"]))[2], "1s");
        assert_eq!(words(&run(&["db:1", "-t0"]))[2], "0s");
        assert_eq!(
            words(&run(&["--timeout=7", "http://web/health"]))[2..4],
            ["7s", "http://web/health"]
        );
        assert_eq!(words(&run(&["a:1", "b:2"]))[3], "tcp://b:2");
    }

    #[test]
    fn exits_as_the_script_does() {
        let cases: &[(&[&str], i32, &str, &str)] = &[
            (
                &["--help"],
                0,
                "",
                "Usage:\n  /usr/bin/wait-for host:port|url",
            ),
            (&["-v"], 0, "2.2.4\n", ""),
            (&["db:1", "-x"], 1, "", "Unknown option: -x\nUsage:"),
            (&["-q-x"], 1, "", "Unknown option: -q-x\n"),
            (&["db:1", "stray"], 1, "", "Unknown argument: stray\n"),
            (
                &["db:1", "-t", "-1"],
                3,
                "",
                "Error: invalid timeout '-1'\n",
            ),
            (&["db:1", "-t", ""], 3, "", "Error: invalid timeout ''\n"),
            (&["-q", "db:1", "-t", "x"], 3, "", "Usage:"),
            (
                &[],
                2,
                "",
                "Error: you need to provide a host and port to test.\n",
            ),
            (
                &["db:"],
                2,
                "",
                "Error: you need to provide a host and port to test.\n",
            ),
        ];
        for (args, status, stdout, stderr) in cases {
            let Translation::Exit(e) = run(args) else {
                panic!("{args:?}")
            };
            assert_eq!(e.status, *status, "{args:?}");
            assert_eq!(e.stdout, *stdout, "{args:?}");
            assert!(e.stderr.starts_with(stderr), "{args:?}: {:?}", e.stderr);
        }
    }

    #[test]
    fn only_the_timeout_is_said() {
        let Translation::Run(mut i) = run(&["-q", "db:1"]) else {
            panic!()
        };
        let v = i.voice.as_mut().unwrap();
        assert!(v.start().is_empty());
        assert_eq!(
            v.timed_out(Duration::from_secs(15), false),
            ["Operation timed out"]
        );
        assert_eq!(v.status(Ending::TimedOut), Some(1));
    }
}
