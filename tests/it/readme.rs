//! The README is true line by line where a machine can tell: its options table and its targets
//! table match the program, every shell block in it is run by a test (or marked as illustrative),
//! and the demo of the Quick start runs.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use crate::harness::{gate, ms, run};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The rows of the Markdown table that follows `heading`.
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// `--long` words and `READYGATE_*` words in a text.
fn words(text: &str, prefix: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| w.starts_with(prefix) && w.len() > prefix.len())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_options_table_matches_the_program() {
    let rows = table_after(&readme(), "### Options");
    let command = readygate::cli::Cli::command();
    let mut flags = BTreeSet::new();
    let mut vars = BTreeSet::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") || arg.is_hide_set() {
            continue;
        }
        let flag = format!("--{long}");
        let var = arg.get_env().unwrap().to_str().unwrap().to_string();
        // Its row names the flag and the variable, and the default the program uses.
        let row = rows
            .iter()
            .find(|r| r[0].contains(&flag))
            .unwrap_or_else(|| panic!("README's options table has no row for {flag}"));
        assert!(row[1].contains(&var), "{flag}: {row:?}");
        let default = arg
            .get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned());
        let shown = row[2].trim_matches('`');
        match default.as_deref() {
            Some("false") => assert_eq!(shown, "off", "{flag}"),
            Some(d) => assert_eq!(shown, d, "{flag}"),
            None => {}
        }
        flags.insert(flag);
        vars.insert(var);
    }
    vars.insert("READYGATE_TARGETS".to_string());
    let table: String = rows
        .iter()
        .map(|r| r.join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(words(&table, "--"), flags, "flags in the README's table");
    assert_eq!(
        words(&table, "READYGATE_"),
        vars,
        "variables in the README's table"
    );
    // And --help says the same.
    let help = run(gate().arg("--help"), ms(3000)).stdout;
    for v in vars.iter().filter(|v| *v != "READYGATE_TARGETS") {
        assert!(help.contains(v.as_str()), "--help does not name {v}");
    }
    assert!(help.contains("READYGATE_TARGETS"));
}

#[test]
fn the_targets_table_matches_the_program() {
    let rows = table_after(&readme(), "### Targets");
    let in_readme: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| {
            r[0].split('`')
                .filter_map(|w| w.split_once("://").map(|(s, _)| s.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let known: BTreeSet<String> = readygate::probe::schemes()
        .split(", ")
        .map(str::to_string)
        .collect();
    assert_eq!(
        in_readme, known,
        "README's targets table vs the schemes readygate knows"
    );
    let help = run(gate().arg("--help"), ms(3000)).stdout;
    for scheme in &known {
        assert!(
            help.contains(&format!("{scheme}://")),
            "--help does not show {scheme}://"
        );
    }
    // Each kind's own example parses (nothing listed that the parser refuses).
    for kind in readygate::probe::KINDS {
        let example = kind.example.split(' ').next().unwrap();
        let parsed = readygate::target::Target::parse(example);
        assert!(
            parsed.is_ok() || example.contains("#ca="),
            "{example} does not parse"
        );
    }
}

#[test]
fn every_shell_block_is_tested_or_marked_illustrative() {
    let text = readme();
    let lines: Vec<&str> = text.lines().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (i, line) in lines.iter().enumerate() {
        let fence = line.trim_start();
        if !(fence == "```sh" || fence == "```bash" || fence == "```console") {
            continue;
        }
        let marker = lines[..i]
            .iter()
            .rev()
            .take(2)
            .find(|l| l.trim_start().starts_with("<!--"))
            .unwrap_or_else(|| {
                panic!("README line {}: a shell block with no <!-- tested: … --> or <!-- illustrative --> above it", i + 1)
            });
        if marker.contains("illustrative") {
            continue;
        }
        assert!(
            marker.contains("tested:"),
            "README line {}: {marker}",
            i + 1
        );
        // Every test it names exists.
        for reference in marker.split_whitespace().filter(|w| w.contains("::")) {
            let (file, name) = reference.split_once("::").unwrap();
            let source = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|_| panic!("README line {}: no file {file}", i + 1));
            assert!(
                source.contains(&format!("fn {name}(")),
                "README line {}: {file} has no test {name}",
                i + 1
            );
        }
        // And every script it names is run by CI.
        let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
        if marker.contains(".ci/run runs ./test.sh") {
            assert!(ci.contains("./test.sh"));
        }
    }
}

#[test]
fn the_demo_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("demo/run.sh"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("the command runs as PID"),
        "{stdout}{stderr}"
    );
}
