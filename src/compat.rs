//! Drop-in compatibility: invoked under another gate's name, readygate takes that gate's arguments
//! and variables and says them in its own words, so that an image can swap the binary and keep its
//! files. The translation is all there is: the plan, the probes and the exit statuses are
//! readygate's, and a value the other tool would have silently replaced by a default is an error.
//!
//! - `wait-for-it` / `wait-for-it.sh` (a symlink or a copy under that name): `host:port` (several
//!   allowed, as in the Python version), `-h HOST` / `--host=HOST`, `-p PORT` / `--port=PORT`,
//!   `-t SECONDS` / `--timeout=SECONDS` (default 15, `0` for none), `-s` / `--strict`, `-q` /
//!   `--quiet`, `-- COMMAND…`. readygate never runs the command after a failure: without
//!   `--strict`, wait-for-it would; here the gate exits 124 and says so once.
//! - `wait` / `docker-compose-wait` (docker-compose-wait's binary is `/wait`): `WAIT_HOSTS`,
//!   `WAIT_PATHS`, `WAIT_TIMEOUT`, `WAIT_BEFORE`, `WAIT_AFTER`, `WAIT_SLEEP_INTERVAL`,
//!   `WAIT_HOST_CONNECT_TIMEOUT`, `WAIT_LOGGER_LEVEL`, `WAIT_COMMAND`; the hosts are checked all at
//!   once rather than one after another.

use std::ffi::OsString;
use std::path::Path;

use crate::environ::Env;

/// Arguments readygate understands, and notes to print once the output is set up.
type Translated = (Vec<OsString>, Vec<String>);

/// Translates a peer's invocation, or passes readygate's own through unchanged.
pub fn translate(args: Vec<OsString>, env: Env<'_>) -> Result<Translated, String> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match name {
        "wait-for-it" | "wait-for-it.sh" => wait_for_it(&args[1..]),
        "wait" | "docker-compose-wait" => compose_wait(&args[1..], env),
        _ => Ok((args, Vec::new())),
    }
}

fn wait_for_it(args: &[OsString]) -> Result<Translated, String> {
    let usage = |what: String| {
        format!(
            "{what}\n  wait-for-it mode: wait-for-it host:port [-s] [-t timeout] [-- command args]"
        )
    };
    let mut words = args.iter();
    let (mut host, mut port) = (None::<String>, None::<String>);
    let mut services = Vec::new();
    let (mut timeout, mut strict, mut quiet) = ("15".to_string(), false, false);
    let mut command: Vec<OsString> = Vec::new();
    while let Some(word) = words.next() {
        let w = word
            .to_str()
            .ok_or_else(|| usage("an argument is not valid UTF-8".into()))?;
        let mut value = |flag: &str| -> Result<String, String> {
            words
                .next()
                .and_then(|v| v.to_str().map(str::to_string))
                .ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        match w {
            "--" => {
                command = words.by_ref().cloned().collect();
                break;
            }
            "-h" => host = Some(value("-h")?),
            "-p" => port = Some(value("-p")?),
            "-t" => timeout = value("-t")?,
            "-s" | "--strict" => strict = true,
            "-q" | "--quiet" => quiet = true,
            _ if w.starts_with("--host=") => host = Some(w["--host=".len()..].to_string()),
            _ if w.starts_with("--port=") => port = Some(w["--port=".len()..].to_string()),
            _ if w.starts_with("--timeout=") => timeout = w["--timeout=".len()..].to_string(),
            _ if !w.starts_with('-') && w.contains(':') => services.push(w.to_string()),
            _ => {
                return Err(usage(format!(
                    "unknown argument '{}'",
                    crate::redact::quote_short(w)
                )))
            }
        }
    }
    if let (Some(h), Some(p)) = (&host, &port) {
        services.push(format!("{h}:{p}"));
    } else if host.is_some() || port.is_some() {
        return Err(usage("-h/--host and -p/--port go together".into()));
    }
    if services.is_empty() {
        return Err(usage("you need to provide a host and port to test".into()));
    }
    if timeout.parse::<u64>().is_err() {
        return Err(usage(format!(
            "the timeout '{}' is not a whole number of seconds",
            crate::redact::quote_short(&timeout)
        )));
    }
    let mut out: Vec<OsString> = vec!["readygate".into(), "-t".into(), timeout.into()];
    if quiet {
        out.push("-q".into());
    }
    out.extend(services.into_iter().map(|s| format!("tcp://{s}").into()));
    let mut notes = Vec::new();
    if !command.is_empty() {
        if !strict && !quiet {
            notes.push("wait-for-it mode: without --strict, wait-for-it runs the command even after a timeout; readygate never does (it exits 124 instead)".to_string());
        }
        out.push("--".into());
        out.extend(command);
    } else {
        out.push("--allow-empty".into());
    }
    Ok((out, notes))
}

/// docker-compose-wait's variables, one block each in the order of its documentation (a little
/// past 80 lines: splitting the blocks apart would hide that order).
fn compose_wait(args: &[OsString], env: Env<'_>) -> Result<Translated, String> {
    if !args.is_empty() {
        return Err(
            "docker-compose-wait mode takes no arguments: it reads WAIT_HOSTS, WAIT_PATHS, WAIT_TIMEOUT, … from the environment".into(),
        );
    }
    let seconds = |name: &str, default: u64| -> Result<u64, String> {
        match env(name) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                format!(
                    "{name}='{}' is not a whole number of seconds (example: {name}=30)",
                    crate::redact::quote_short(&crate::redact::redact_text(&v))
                )
            }),
        }
    };
    let list = |name: &str| -> Vec<String> {
        env(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out: Vec<OsString> = vec!["readygate".into()];
    out.extend([
        "-t".into(),
        format!("{}s", seconds("WAIT_TIMEOUT", 30)?).into(),
    ]);
    let interval = seconds("WAIT_SLEEP_INTERVAL", 1)?.max(1);
    out.extend(["--interval".into(), format!("{interval}s").into()]);
    out.extend([
        "--max-interval".into(),
        format!("{}s", interval.max(2)).into(),
    ]);
    out.extend([
        "--attempt-timeout".into(),
        format!("{}s", seconds("WAIT_HOST_CONNECT_TIMEOUT", 5)?.max(1)).into(),
    ]);
    for (name, flag) in [
        ("WAIT_BEFORE", "--pause-before"),
        ("WAIT_AFTER", "--pause-after"),
    ] {
        let s = seconds(name, 0)?;
        if s > 0 {
            out.extend([flag.into(), format!("{s}s").into()]);
        }
    }
    match env("WAIT_LOGGER_LEVEL").as_deref().map(str::trim) {
        None | Some("debug" | "info") => {}
        Some("error" | "off") => out.push("-q".into()),
        Some(other) => {
            return Err(format!(
                "WAIT_LOGGER_LEVEL='{}' is not one of debug, info, error, off",
                crate::redact::quote_short(other)
            ))
        }
    }
    let hosts = list("WAIT_HOSTS");
    let paths = list("WAIT_PATHS");
    if hosts.is_empty() && paths.is_empty() {
        out.push("--allow-empty".into());
    }
    out.extend(hosts.iter().map(|h| format!("tcp://{h}").into()));
    for p in &paths {
        if !p.starts_with('/') {
            return Err(format!(
                "WAIT_PATHS: '{}' is not an absolute path",
                crate::redact::quote_short(p)
            ));
        }
        out.push(format!("file://{}", encode_path(p)).into());
    }
    if let Some(command) = env("WAIT_COMMAND").filter(|c| !c.trim().is_empty()) {
        out.push("--".into());
        // Split as a shell splits a simple command, which is what docker-compose-wait does.
        let words = crate::words::split(&command).map_err(|e| format!("WAIT_COMMAND has {e}"))?;
        out.extend(words.into_iter().map(OsString::from));
    }
    Ok((out, Vec::new()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn strings(t: &Translated) -> Vec<String> {
        t.0.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn wait_for_it_lines() {
        let none = |_: &str| None;
        let t = translate(
            args(&[
                "/usr/bin/wait-for-it",
                "db:5432",
                "-s",
                "-t",
                "60",
                "--",
                "app",
                "-x",
            ]),
            &none,
        )
        .unwrap();
        assert_eq!(
            strings(&t),
            ["readygate", "-t", "60", "tcp://db:5432", "--", "app", "-x"]
        );
        assert!(t.1.is_empty());
        let t = translate(
            args(&["wait-for-it.sh", "--host=db", "--port=5432", "--", "app"]),
            &none,
        )
        .unwrap();
        assert_eq!(
            strings(&t),
            ["readygate", "-t", "15", "tcp://db:5432", "--", "app"]
        );
        assert!(t.1[0].contains("without --strict"));
        let t = translate(args(&["wait-for-it", "-h", "db", "-p", "1", "-q"]), &none).unwrap();
        assert_eq!(
            strings(&t),
            ["readygate", "-t", "15", "-q", "tcp://db:1", "--allow-empty"]
        );
        for bad in [
            &["wait-for-it"][..],
            &["wait-for-it", "db:1", "-t", "5s"],
            &["wait-for-it", "--bogus", "db:1"],
            &["wait-for-it", "-h", "db"],
        ] {
            assert!(translate(args(bad), &none).is_err(), "{bad:?}");
        }
        // Its own name: nothing changes.
        let t = translate(args(&["readygate", "-h"]), &none).unwrap();
        assert_eq!(strings(&t), ["readygate", "-h"]);
    }

    #[test]
    fn docker_compose_wait_environment() {
        let vars: HashMap<&str, &str> = [
            ("WAIT_HOSTS", "db:5432, cache:6379"),
            ("WAIT_PATHS", "/run/ready"),
            ("WAIT_TIMEOUT", "60"),
            ("WAIT_BEFORE", "2"),
            ("WAIT_COMMAND", "python 'manage.py' \"run server\""),
        ]
        .into();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let t = translate(args(&["/wait"]), &env).unwrap();
        let s = strings(&t);
        assert_eq!(&s[..3], ["readygate", "-t", "60s"]);
        assert!(s.windows(2).any(|w| w == ["--pause-before", "2s"]));
        assert!(
            s.contains(&"tcp://db:5432".to_string()) && s.contains(&"tcp://cache:6379".to_string())
        );
        assert!(s.contains(&"file:///run/ready".to_string()));
        assert_eq!(
            &s[s.len() - 4..],
            ["--", "python", "manage.py", "run server"]
        );
        // Where docker-compose-wait silently took its default, readygate says what is wrong.
        let bad: HashMap<&str, &str> = [("WAIT_HOSTS", "db:1"), ("WAIT_TIMEOUT", "5s")].into();
        let env = |k: &str| bad.get(k).map(|v| v.to_string());
        assert!(translate(args(&["wait"]), &env)
            .unwrap_err()
            .contains("WAIT_TIMEOUT='5s'"));
    }

    #[test]
    fn words_like_a_shell() {
        assert_eq!(
            crate::words::split(r#"a  'b c' "d \"e\"" f\ g"#).unwrap(),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert!(crate::words::split("a 'b").is_err());
        assert_eq!(crate::words::split("").unwrap(), Vec::<String>::new());
    }
}
