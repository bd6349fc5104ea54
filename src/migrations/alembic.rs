//! Alembic: the head revision(s) of a project's revision files, and the verdict on the rows of
//! `alembic_version`.
//!
//! A revision file is any `*.py` in a versions directory but `__init__.py` (Alembic's own filter),
//! and sets `revision` and `down_revision` (`None`, one id, or a tuple of ids for a merge). The
//! heads are the revisions no other revision names as its `down_revision` — what `alembic heads`
//! prints; `depends_on` orders, it does not make a branch. After `alembic upgrade heads`,
//! `alembic_version` holds exactly the heads, one row each: that, and nothing else, is ready.
//!
//! PATH is the versions directory, or the directory holding `alembic.ini`, whose
//! `script_location` (and `version_locations`, if set) say where the versions are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::pysource::{self, Value};
use super::{walk, Problem};

#[derive(Debug, Clone)]
pub struct History {
    /// Every revision and its down revisions.
    revisions: BTreeMap<String, Vec<String>>,
    heads: BTreeSet<String>,
    /// Where the files were read, for `--explain`.
    dirs: Vec<PathBuf>,
}

/// Where a database stands against the history.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    AtHeads,
    /// Not at the heads: why, in words.
    Behind(String),
}

impl History {
    pub fn scan(path: &Path) -> Result<History, String> {
        let dirs = versions_dirs(path)?;
        let mut revisions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in &dirs {
            let entries = std::fs::read_dir(dir).map_err(|e| walk::unreadable(dir, &e))?;
            let mut names: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| {
                    let n = p
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default();
                    n.ends_with(".py") && !n.starts_with("__init__") && !n.starts_with(".#")
                })
                .collect();
            names.sort();
            for file in names {
                let (id, down) = revision(&file)?;
                if let Some(first) = files.get(&id) {
                    return Err(format!(
                        "revision {id} is in two files: {} and {}",
                        first.display(),
                        file.display()
                    ));
                }
                files.insert(id.clone(), file);
                revisions.insert(id, down);
            }
        }
        let mut heads: BTreeSet<String> = revisions.keys().cloned().collect();
        for (id, downs) in &revisions {
            for d in downs {
                if !revisions.contains_key(d) {
                    return Err(format!(
                        "{}: down_revision {d} is in no file under {}",
                        files[id].display(),
                        path.display()
                    ));
                }
                heads.remove(d);
            }
        }
        if !revisions.is_empty() && heads.is_empty() {
            return Err(format!(
                "the revisions under {} form a cycle: no head",
                path.display()
            ));
        }
        Ok(History {
            revisions,
            heads,
            dirs,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    pub fn describe(&self) -> String {
        let heads: Vec<String> = self.heads.iter().cloned().collect();
        format!(
            "alembic_version must hold the head(s) {} ({} revision(s) in {})",
            heads.join(", "),
            self.revisions.len(),
            self.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// Judges the rows of `alembic_version`.
    pub fn standing(&self, rows: &[String]) -> Standing {
        let at: BTreeSet<&String> = rows.iter().collect();
        let heads: BTreeSet<&String> = self.heads.iter().collect();
        if at == heads {
            return Standing::AtHeads;
        }
        let show = |set: &BTreeSet<&String>| {
            set.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if at.is_empty() {
            return Standing::Behind(format!(
                "alembic_version is empty: nothing is migrated (head {})",
                show(&heads)
            ));
        }
        let unknown: BTreeSet<&String> = at
            .iter()
            .filter(|r| !self.revisions.contains_key(r.as_str()))
            .copied()
            .collect();
        if !unknown.is_empty() {
            return Standing::Behind(format!(
                "the database is at revision {}, which this code does not have (a newer release, or another project's database?); head {}",
                show(&unknown),
                show(&heads)
            ));
        }
        Standing::Behind(format!(
            "the database is at {}; the code's head is {}",
            show(&at),
            show(&heads)
        ))
    }
}

/// The versions directories: PATH itself, or those an `alembic.ini` in PATH names.
fn versions_dirs(path: &Path) -> Result<Vec<PathBuf>, String> {
    let ini = path.join("alembic.ini");
    let Some(text) = walk::read_source(&ini)? else {
        if !path.is_dir() {
            return Err(format!("#migrated: {} is not a directory", path.display()));
        }
        return Ok(vec![path.to_path_buf()]);
    };
    let here = path.display().to_string();
    let setting = |key: &str| -> Option<String> {
        let mut in_alembic = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_alembic = line == "[alembic]";
                continue;
            }
            if !in_alembic || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some((k, v)) = line.split_once(['=', ':']) {
                if k.trim() == key {
                    return Some(v.trim().replace("%(here)s", &here));
                }
            }
        }
        None
    };
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            path.join(p)
        }
    };
    if let Some(locations) = setting("version_locations") {
        let dirs: Vec<PathBuf> = locations
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(resolve)
            .collect();
        if !dirs.is_empty() {
            return Ok(dirs);
        }
    }
    let script = setting("script_location").ok_or_else(|| {
        format!(
            "{}: no script_location in its [alembic] section",
            ini.display()
        )
    })?;
    if script.contains(':') && !script.starts_with('/') {
        return Err(format!(
            "{}: script_location {script} names a package; point #migrated=alembic: at its versions directory instead",
            ini.display()
        ));
    }
    Ok(vec![resolve(&script).join("versions")])
}

/// One revision file: (revision, down revisions).
fn revision(file: &Path) -> Result<(String, Vec<String>), String> {
    let text =
        walk::read_source(file)?.ok_or_else(|| format!("{}: cannot be read", file.display()))?;
    read_revision(&text).map_err(|p| super::in_file(file, p))
}

/// A revision file's `revision` and `down_revision` (top-level assignments of literals).
pub(crate) fn read_revision(text: &str) -> Result<(String, Vec<String>), Problem> {
    let statements = pysource::statements(text).map_err(|(line, e)| (Some(line), e))?;
    let (mut id, mut down) = (None, None);
    for s in statements.iter().filter(|s| s.indent == 0) {
        let read = |key: &str| pysource::assignment(s, key).map_err(|(l, e)| (Some(l), e));
        if let Some(v) = read("revision")? {
            match v {
                Value::Str(r) if !r.is_empty() => id = Some(r),
                _ => return Err((Some(s.line), "`revision` is not a string".to_string())),
            }
        }
        if let Some(v) = read("down_revision")? {
            let bad = || {
                (
                    Some(s.line),
                    "`down_revision` is not None, a string or a tuple of strings".to_string(),
                )
            };
            down = Some(match v {
                Value::None => Vec::new(),
                Value::Str(r) => vec![r],
                Value::Seq(items) => items
                    .into_iter()
                    .map(|i| match i {
                        Value::Str(r) => Ok(r),
                        _ => Err(bad()),
                    })
                    .collect::<Result<_, _>>()?,
                Value::Bool(_) => return Err(bad()),
            });
        }
    }
    let id = id.ok_or_else(|| (None, "no `revision = \"…\"`".to_string()))?;
    let down = down.ok_or_else(|| (None, "no `down_revision = …`".to_string()))?;
    Ok((id, down))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(edges: &[(&str, &[&str])]) -> History {
        let revisions: BTreeMap<String, Vec<String>> = edges
            .iter()
            .map(|(r, d)| (r.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect();
        let mut heads: BTreeSet<String> = revisions.keys().cloned().collect();
        for d in revisions.values().flatten() {
            heads.remove(d);
        }
        History {
            revisions,
            heads,
            dirs: vec![],
        }
    }

    fn rows(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exactly_the_heads_is_ready() {
        // a ← b ← c (linear), b ← d (a branch), then m merges c and d.
        let branched = history(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &["b"])]);
        assert_eq!(branched.standing(&rows(&["c", "d"])), Standing::AtHeads);
        assert!(matches!(
            branched.standing(&rows(&["c"])),
            Standing::Behind(_)
        ));
        assert!(matches!(
            branched.standing(&rows(&["b"])),
            Standing::Behind(_)
        ));
        let merged = history(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("d", &["b"]),
            ("m", &["c", "d"]),
        ]);
        assert_eq!(merged.standing(&rows(&["m"])), Standing::AtHeads);
        assert!(matches!(
            merged.standing(&rows(&["c", "d"])),
            Standing::Behind(_)
        ));
        match merged.standing(&rows(&[])) {
            Standing::Behind(why) => assert!(why.contains("empty"), "{why}"),
            other => panic!("{other:?}"),
        }
        match merged.standing(&rows(&["zz9"])) {
            Standing::Behind(why) => assert!(why.contains("does not have"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
