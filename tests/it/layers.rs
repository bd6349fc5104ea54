//! The modules of `src/` form floors, not a circle: read from the code's own paths (`crate::x`,
//! `crate::{x, y}`, `super::…` climbing to the root), the imports between top-level modules have
//! no cycle. A helper that lives on the wrong floor (an escaper in the reports used by redaction,
//! an I/O reason in the transport used by the environment) shows up here as a cycle, with the lines
//! that make it.
//!
//! Comments, string and character literals and `#[cfg(test)]` modules are not imports: a doc link
//! to a module above is fine, and a unit test may use anything.
//!
//! `cargo test --test it layers -- --nocapture` prints the floors (each module above everything it
//! uses).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One import of another top-level module: where it is written, and the module it names.
#[derive(Debug, Clone)]
struct Use {
    file: String,
    line: usize,
    to: String,
}

type Graph = BTreeMap<String, Vec<Use>>;

#[test]
fn the_modules_of_src_form_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 20, "only {} modules found", graph.len());
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "{}", describe(&graph, &cycles));
    for (i, floor) in floors(&graph).iter().enumerate() {
        println!("floor {i}: {}", floor.join(", "));
    }
}

#[test]
fn a_cycle_is_found_and_shown_with_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("b")).unwrap();
    let files = [
        ("lib.rs", "mod a;\npub mod b;\nmod c;\n"),
        // A doc link and a string are no imports; the test module may use anything.
        (
            "a.rs",
            "//! See [`crate::c`].\nuse crate::{b::{self, X}, text};\nfn f() { let _ = \"crate::c\"; }\n#[cfg(test)]\nmod tests { use crate::c; fn g() { let _ = '{'; } }\n",
        ),
        ("b/mod.rs", "mod inner;\n"),
        ("b/inner.rs", "fn f() { super::super::c::go(); }\n"),
        ("c.rs", "pub fn go() { crate::a::f(); }\n"),
    ];
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
    }
    let graph = graph(root);
    let names = |m: &str| -> Vec<String> { graph[m].iter().map(|u| u.to.clone()).collect() };
    assert_eq!(names("a"), ["b"], "{graph:?}");
    assert_eq!(names("b"), ["c"], "{graph:?}");
    assert_eq!(names("c"), ["a"], "{graph:?}");
    let cycles = cycles(&graph);
    assert_eq!(cycles, [vec!["a", "b", "c"]]);
    let shown = describe(&graph, &cycles);
    assert!(shown.contains("b/inner.rs:1: c"), "{shown}");
    assert!(shown.contains("a.rs:2: b"), "{shown}");
}

/// Every top-level module declared in `lib.rs`, with the imports of other top-level modules made
/// by its files.
fn graph(src: &Path) -> Graph {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = code_only(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect();
    let mut graph: Graph = modules.iter().map(|m| (m.clone(), Vec::new())).collect();
    for file in rust_files(src) {
        let rel = file
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // The module path of the file: `probe/redis/mod.rs` is probe::redis.
        let mut path: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_string)
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        let Some(top) = path.first().filter(|t| modules.contains(*t)).cloned() else {
            continue; // lib.rs, main.rs (the binary), files of no module
        };
        let text = without_test_modules(&code_only(&std::fs::read_to_string(&file).unwrap()));
        for (line, to) in imports(&text, &path) {
            if to != top && modules.contains(&to) {
                let uses = graph.get_mut(&top).unwrap();
                uses.push(Use {
                    file: rel.clone(),
                    line,
                    to,
                });
            }
        }
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The text with comments, string literals and character literals blanked (each character
/// replaced by a space, newlines kept, so line numbers stay true).
fn code_only(text: &str) -> String {
    let at = |c: &[char], k: usize| c.get(k).copied();
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && at(&c, i + 1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && at(&c, i + 1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(&c, i + 1) == Some('*') {
                    depth += 1;
                } else if c[i] == '*' && at(&c, i + 1) == Some('/') {
                    depth -= 1;
                    if depth == 0 {
                        out.push_str("  ");
                        i += 2;
                        break;
                    }
                }
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == 'r'
            && matches!(at(&c, i + 1), Some('"' | '#'))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // r"…" or r#"…"#: ends at a quote followed by as many hashes.
            let hashes = (1..).take_while(|&k| at(&c, i + k) == Some('#')).count();
            if at(&c, i + 1 + hashes) != Some('"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let body_start = i + 2 + hashes;
            let tail: String = c[body_start..].iter().collect();
            let len = tail.find(&close).map_or(tail.chars().count(), |b| {
                tail[..b].chars().count() + close.chars().count()
            });
            for &ch in &c[i..(body_start + len).min(c.len())] {
                blank(&mut out, ch);
            }
            i = body_start + len;
        } else if c[i] == '"'
            // A character literal ('{', '\n', '\u{7}'); a lifetime ('a) has no closing quote.
            || (c[i] == '\'' && (at(&c, i + 2) == Some('\'') || at(&c, i + 1) == Some('\\')))
        {
            let end = quoted_end(&c, i);
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Where the string or character literal opening at `start` ends: after the closing quote that no
/// backslash escapes (or at the end of the text).
fn quoted_end(c: &[char], start: usize) -> usize {
    let quote = c[start];
    let mut i = start + 1;
    while i < c.len() && c[i] != quote {
        i += if c[i] == '\\' { 2 } else { 1 };
    }
    (i + 1).min(c.len())
}

/// Blanks every `#[cfg(test)]` module (unit tests may use anything).
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find("#[cfg(test)]").map(|i| i + from) {
        let after = out[at + 12..].trim_start();
        if !after.starts_with("mod ") {
            from = at + 12;
            continue;
        }
        let Some(open) = out[at..].find('{').map(|i| i + at) else {
            break;
        };
        let mut depth = 0;
        let mut end = out.len();
        for (i, ch) in out[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let blanked: String = out[at..end]
            .chars()
            .map(|ch| if ch == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(at..end, &blanked);
        from = end;
    }
    out
}

/// (line, top-level module) for every path that starts at the crate root: `crate::x`, the
/// top-level names of `crate::{x, y::z}`, and `super::…` chains that climb out of the file's
/// module (`path`, e.g. ["probe", "redis"]).
fn imports(code: &str, path: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary = i == 0 || {
            let b = bytes[i - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        };
        if boundary && rest.starts_with("crate::") {
            let after = &rest[7..];
            match after.strip_prefix('{') {
                // Only the group's first level names modules of the root.
                Some(group) => out.extend(
                    top_names_of_group(group)
                        .into_iter()
                        .map(|m| (line_of(i), m)),
                ),
                None => out.push((line_of(i), ident(after))),
            }
            i += 7;
        } else if boundary && rest.starts_with("super::") {
            let mut k = 0;
            let mut s = rest;
            while let Some(r) = s.strip_prefix("super::") {
                k += 1;
                s = r;
            }
            if k == path.len() {
                out.push((line_of(i), ident(s)));
            }
            i += 7 * k;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// `x, y::{a, b}, self}` → ["x", "y"] (up to the group's closing brace).
fn top_names_of_group(s: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    let mut chars = s.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expecting = true,
            c if depth == 0 && expecting && (c.is_alphanumeric() || c == '_') => {
                names.push(ident(&s[i..]));
                expecting = false;
                while chars
                    .peek()
                    .is_some_and(|(_, c)| c.is_alphanumeric() || *c == '_')
                {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    names
}

/// Every strongly connected set of two or more modules (Tarjan), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        let graph = w.graph;
        for u in &graph[v] {
            let to = u.to.as_str();
            if !w.index.contains_key(to) {
                visit(w, to);
                let low = w.low[v].min(w.low[to]);
                w.low.insert(v, low);
            } else if w.stack.contains(&to) {
                let low = w.low[v].min(w.index[to]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut set = Vec::new();
            while let Some(top) = w.stack.pop() {
                set.push(top.to_string());
                if top == v {
                    break;
                }
            }
            if set.len() > 1 {
                set.sort();
                w.found.push(set);
            }
        }
    }
    let mut w = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.found.sort();
    w.found
}

/// Each cycle's members and the lines by which they import each other.
fn describe(graph: &Graph, cycles: &[Vec<String>]) -> String {
    let mut out = String::from("the modules of src/ import each other in a circle:\n");
    for set in cycles {
        out.push_str(&format!("\n{}\n", set.join(" ⇄ ")));
        for m in set {
            for u in graph[m].iter().filter(|u| set.contains(&u.to)) {
                out.push_str(&format!("  {m} → {}:{}: {}\n", u.file, u.line, u.to));
            }
        }
    }
    out.push_str(
        "\nmove the helper that makes an upward import to the floor where its users meet\n",
    );
    out
}

/// Floors: 0 uses no other module; each module sits one floor above the highest it uses.
fn floors(graph: &Graph) -> Vec<Vec<String>> {
    fn floor_of(graph: &Graph, m: &str, memo: &mut BTreeMap<String, usize>) -> usize {
        if let Some(&f) = memo.get(m) {
            return f;
        }
        let f = graph[m]
            .iter()
            .map(|u| floor_of(graph, &u.to, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(m.to_string(), f);
        f
    }
    let mut memo = BTreeMap::new();
    let mut out: Vec<Vec<String>> = Vec::new();
    for m in graph.keys() {
        let f = floor_of(graph, m, &mut memo);
        if out.len() <= f {
            out.resize(f + 1, Vec::new());
        }
        out[f].push(m.clone());
    }
    out
}
