//! The README and `docs/` are true line by line where a machine can tell: the options table and
//! the targets table match the program, every shell block is run by a test (or marked as
//! illustrative), every link between them leads somewhere, the README stays a front door (at most
//! 300 lines), and the demo of the Quick start runs.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use crate::harness::{gate, ms, run};

fn readme() -> String {
    doc("README.md")
}

fn doc(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The README and every file of `docs/`, by path.
fn documents() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".md"))
        .collect();
    paths.sort();
    paths.insert(0, "README.md".into());
    paths
        .into_iter()
        .map(|p| {
            let text = doc(&p);
            (p, text)
        })
        .collect()
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
    let rows = table_after(&doc("docs/options.md"), "## Options");
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
            .unwrap_or_else(|| panic!("docs/options.md's table has no row for {flag}"));
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
    let rows = table_after(&doc("docs/targets.md"), "# Targets");
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
        // A CA file to read, a compose project to find: examples that depend on the machine.
        assert!(
            parsed.is_ok() || example.contains("#ca=") || example.starts_with("compose://"),
            "{example} does not parse"
        );
    }
}

/// Every event the gate can say and every field of one (the names in `src/report/event.rs`) is in
/// the JSON table of docs/output.md, and the table names no other.
#[test]
fn the_json_events_table_matches_the_program() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report/event.rs"))
            .unwrap();
    let body = &source[source.find("pub fn line(").expect("Event::line")..];
    // Each arm's tuple starts with the event's name: `("name",` or a line `"name",`.
    let is_name = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let mut named: BTreeSet<String> = BTreeSet::new();
    for line in body.lines() {
        let line = line.trim();
        if let Some(w) = line.strip_prefix('"').and_then(|l| l.strip_suffix("\",")) {
            if is_name(w) {
                named.insert(w.to_string());
            }
        }
        for piece in line.split("(\"").skip(1) {
            if let Some((w, _)) = piece.split_once("\",") {
                if is_name(w) {
                    named.insert(w.to_string());
                }
            }
        }
    }
    assert!(named.len() > 20, "{named:?}");
    let output = doc("docs/output.md");
    let table = table_after(&output, "## JSON lines");
    // The events (first column) and their fields (third), each in backquotes.
    let documented: BTreeSet<String> = table
        .iter()
        .flat_map(|row| [row[0].clone(), row[2].clone()])
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        named, documented,
        "src/report/event.rs against docs/output.md"
    );
}

#[test]
fn every_shell_block_is_tested_or_marked_illustrative() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let mut blocks = 0;
    for (path, text) in documents() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let fence = line.trim_start();
            if !(fence == "```sh" || fence == "```bash" || fence == "```console") {
                continue;
            }
            blocks += 1;
            let at = format!("{path} line {}", i + 1);
            let marker = lines[..i]
                .iter()
                .rev()
                .take(2)
                .find(|l| l.trim_start().starts_with("<!--"))
                .unwrap_or_else(|| {
                    panic!("{at}: a shell block with no <!-- tested: … --> or <!-- illustrative --> above it")
                });
            if marker.contains("illustrative") {
                continue;
            }
            assert!(marker.contains("tested:"), "{at}: {marker}");
            // Every test it names exists.
            for reference in marker.split_whitespace().filter(|w| w.contains("::")) {
                let (file, name) = reference.split_once("::").unwrap();
                let source = std::fs::read_to_string(root.join(file))
                    .unwrap_or_else(|_| panic!("{at}: no file {file}"));
                assert!(
                    source.contains(&format!("fn {name}(")),
                    "{at}: {file} has no test {name}"
                );
            }
            // And every script it names is run by CI.
            if marker.contains(".ci/run runs ./test.sh") {
                assert!(ci.contains("./test.sh"));
            }
        }
    }
    assert!(blocks > 10, "only {blocks} shell blocks found");
}

/// Every relative link of the README and `docs/` leads to a file that exists, and every `#anchor`
/// to a heading of that file.
#[test]
fn every_link_leads_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let slug = |h: &str| -> String {
        h.trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    };
    let anchors = |text: &str| -> BTreeSet<String> {
        let mut fenced = false;
        let mut out = BTreeSet::new();
        for l in text.lines() {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
            } else if !fenced && l.starts_with('#') {
                out.insert(slug(l.trim_start_matches('#')));
            }
        }
        out
    };
    let mut links = 0;
    for (path, text) in documents() {
        let dir = Path::new(&path).parent().unwrap().to_path_buf();
        for piece in text.split("](").skip(1) {
            let Some(end) = piece.find(')') else { continue };
            let link = &piece[..end];
            if link.starts_with("http") || link.contains(' ') {
                continue;
            }
            links += 1;
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() {
                root.join(&path)
            } else {
                root.join(&dir).join(file)
            };
            assert!(target.exists(), "{path}: the link ({link}) leads nowhere");
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap();
                assert!(
                    anchors(&text).contains(anchor),
                    "{path}: the link ({link}) names no heading of {}",
                    target.display()
                );
            }
        }
    }
    assert!(links > 20, "only {links} links found");
}

/// The README is a front door: short, with a table of contents whose every entry is a heading.
#[test]
fn the_readme_is_a_front_door() {
    let text = readme();
    let lines = text.lines().count();
    assert!(lines <= 300, "README.md has {lines} lines (at most 300)");
    let contents = text
        .lines()
        .find(|l| l.starts_with("**Contents:**"))
        .expect("a table of contents");
    for h in text.lines().filter(|l| l.starts_with("## ")) {
        let name = &h[3..];
        assert!(
            contents.contains(&format!("[{name}]")) || text.contains(&format!("[{name}](#")),
            "the contents do not list {name:?}"
        );
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
