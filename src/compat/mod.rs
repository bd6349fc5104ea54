//! Drop-in compatibility: invoked under another gate's name (a symlink or a copy named like it), or
//! as `readygate --compat=NAME …`, readygate takes that tool's arguments and variables, says them in
//! its own words for the plan, and speaks the tool's lines and exit statuses back, so that an image
//! can swap the file and keep its scripts, log filters and `$?` tests.
//!
//! - [`wait_for_it`]: vishnubob's `wait-for-it.sh` (Debian's `wait-for-it`).
//! - [`wait_for`]: eficode's POSIX `wait-for`.
//! - [`compose_wait`]: docker-compose-wait's `/wait` and its `WAIT_*` variables.
//! - [`dockerize`]: dockerize's `-wait` subset.
//!
//! One difference stays, on purpose, in every mode: the command never starts when a dependency is
//! not ready (wait-for-it without `--strict` would start it); docs/drop-in.md lists
//! every observable difference.
//!
//! Each mode is two pieces: a translation of its arguments (pure, tested against the tool's own
//! documented behaviour) and a [`crate::report::voice::Voice`] that turns the gate's progress into the tool's lines.

pub mod compose_wait;
pub mod dockerize;
pub mod wait_for;
pub mod wait_for_it;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::environ::Env;
use crate::report::voice::Voice;

/// The tools readygate can stand in for, by the names they are invoked as.
pub const NAMES: &[&str] = &[
    "wait-for-it",
    "wait-for-it.sh",
    "wait-for",
    "wait",
    "docker-compose-wait",
    "dockerize",
];

/// What an invocation becomes.
#[derive(Debug)]
pub enum Translation {
    /// readygate's own arguments (unchanged when it was invoked as itself).
    Run(Invocation),
    /// The tool would end here (its `--help`, `--version` or a usage error): what it prints and
    /// its exit status.
    Exit(Exit),
}

/// A gate run in another tool's clothes.
#[derive(Debug, Default)]
pub struct Invocation {
    /// Arguments readygate's own parser reads (`argv[0]` included).
    pub args: Vec<OsString>,
    /// How the run speaks; `None` for readygate's own lines.
    pub voice: Option<Box<dyn Voice>>,
    /// One attempt per target, then stop (docker-compose-wait's `WAIT_TIMEOUT=0`).
    pub once: bool,
}

/// The end of a run that never got to waiting.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Exit {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

/// Translates an invocation, or passes readygate's own through unchanged.
pub fn translate(args: Vec<OsString>, env: Env<'_>) -> Translation {
    let invoked = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let (name, rest, shown) = match explicit(&args) {
        Some((name, skip)) => (name.clone(), &args[skip..], name),
        None => (invoked.clone(), &args[1.min(args.len())..], invoked),
    };
    let argv0 = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "wait-for-it" | "wait-for-it.sh" => wait_for_it::translate(&shown, rest),
        "wait-for" => wait_for::translate(&argv0, rest),
        "wait" | "docker-compose-wait" => compose_wait::translate(rest, env),
        "dockerize" => dockerize::translate(rest),
        _ => Translation::Run(Invocation {
            args,
            ..Invocation::default()
        }),
    }
}

/// `readygate --compat=NAME …` or `readygate --compat NAME …`: the tool's name and how many words
/// it took.
fn explicit(args: &[OsString]) -> Option<(String, usize)> {
    let first = args.get(1)?.to_str()?;
    if let Some(name) = first.strip_prefix("--compat=") {
        return Some((name.to_string(), 2));
    }
    if first == "--compat" {
        return Some((args.get(2)?.to_str()?.to_string(), 3));
    }
    None
}

/// `--compat=NAME` with a name readygate does not stand in for: a usage error in readygate's words.
pub fn unknown_mode(args: &[OsString]) -> Option<String> {
    let (name, _) = explicit(args)?;
    (!NAMES.contains(&name.as_str())).then(|| {
        let hint = crate::suggest::nearest(&name, NAMES.iter().copied())
            .map(|n| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        format!(
            "--compat={}: not a tool readygate stands in for{hint}; one of: {}",
            crate::text::quote_short(&name),
            NAMES.join(", ")
        )
    })
}

/// The arguments a translation gives readygate, as strings (for the modes' tests).
#[cfg(test)]
pub fn words_of(t: &Translation) -> Vec<String> {
    match t {
        Translation::Run(i) => i
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        Translation::Exit(e) => panic!("{e:?}"),
    }
}

/// Whole seconds, as the shell tools count them (`$(date +%s)` differences).
fn seconds(d: Duration) -> u64 {
    d.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_name_passes_through_and_compat_selects() {
        let none = |_: &str| None;
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        match translate(args(&["readygate", "-t", "1", "db:1"]), &none) {
            Translation::Run(i) => {
                assert_eq!(i.args, args(&["readygate", "-t", "1", "db:1"]));
                assert!(i.voice.is_none());
            }
            other => panic!("{other:?}"),
        }
        match translate(args(&["readygate", "--compat=wait-for-it", "db:1"]), &none) {
            Translation::Run(i) => assert!(i.voice.is_some()),
            other => panic!("{other:?}"),
        }
        match translate(
            args(&["readygate", "--compat", "wait-for", "--help"]),
            &none,
        ) {
            Translation::Exit(e) => assert_eq!(e.status, 0),
            other => panic!("{other:?}"),
        }
        assert!(unknown_mode(&args(&["readygate", "--compat=wait-for-itt"]))
            .unwrap()
            .contains("did you mean wait-for-it?"));
        assert!(unknown_mode(&args(&["readygate", "--compat=dockerize"])).is_none());
    }
}
