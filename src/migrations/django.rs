//! Django: the migrations a project's code ships, read from its files, and the verdict on the rows
//! of `django_migrations`, decided as `manage.py migrate --check` decides it.
//!
//! What Django does (`MigrationLoader.build_graph`, `MigrationExecutor.migration_plan`): every
//! migration module on disk is a node; for each squashed migration (one with `replaces`), if every
//! migration it replaces is recorded, the squashed one counts as applied and stands for them; if
//! none is, it stands for them unapplied; if some are, it is dropped and they stay. `migrate
//! --check` fails when any node left is not applied. Rows for migrations the code does not have (a
//! newer release migrated the database already) play no part.
//!
//! Where migrations are: a directory `migrations` holding `__init__.py` (Django ignores namespace
//! packages) inside an app directory; every `*.py` in it whose name does not start with `_` or
//! `~` is one (Django's own filter), and must define `class Migration`. The app's label is
//! `label` in its `apps.py`, else the last part of `name` there, else the directory's name.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::pysource::{self, Value};
use super::{walk, Problem};

/// (app label, migration name), as `django_migrations` holds them.
pub type Key = (String, String);

/// The migrations a project's code ships.
#[derive(Debug, Clone)]
pub struct Project {
    /// Every migration on disk.
    migrations: BTreeSet<Key>,
    /// Squashed migrations and what each replaces.
    replacements: BTreeMap<Key, Vec<Key>>,
    /// Each app's label and directory, for `--explain`.
    apps: BTreeMap<String, PathBuf>,
}

/// Where a project stands against its database.
#[derive(Debug, PartialEq, Eq)]
pub struct Standing {
    /// Migrations the code has and the database has not applied, in order.
    pub missing: Vec<Key>,
    /// How many migrations had to be applied (after squashes are resolved).
    pub total: usize,
}

impl Project {
    /// Reads every app under `paths`. `Err` names the file (and line) that cannot be read.
    pub fn scan(paths: &[PathBuf]) -> Result<Project, String> {
        let mut project = Project {
            migrations: BTreeSet::new(),
            replacements: BTreeMap::new(),
            apps: BTreeMap::new(),
        };
        for root in paths {
            for app in walk::apps(root)? {
                project.add_app(&app)?;
            }
        }
        Ok(project)
    }

    fn add_app(&mut self, dir: &Path) -> Result<(), String> {
        let label = label(dir)?;
        if let Some(other) = self.apps.get(&label) {
            if other != dir {
                return Err(format!(
                    "two apps are labelled '{label}': {} and {}; point #migrated at the one the project installs",
                    other.display(),
                    dir.display()
                ));
            }
            return Ok(());
        }
        self.apps.insert(label.clone(), dir.to_path_buf());
        let migrations = dir.join("migrations");
        for (name, file) in walk::modules(&migrations)? {
            let replaces = migration(&file)?;
            let key = (label.clone(), name);
            if !replaces.is_empty() {
                self.replacements.insert(key.clone(), replaces);
            }
            self.migrations.insert(key);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// How many migration files, in how many apps (for `--explain`).
    pub fn describe(&self) -> String {
        let apps: Vec<String> = self
            .apps
            .keys()
            .map(|label| {
                let names: Vec<&String> = self
                    .migrations
                    .iter()
                    .filter(|(a, _)| a == label)
                    .map(|(_, n)| n)
                    .collect();
                match names.last() {
                    Some(last) => format!("{label} ({}, last {last})", names.len()),
                    None => format!("{label} (none)"),
                }
            })
            .collect();
        format!(
            "{} Django migration(s) in {} app(s): {}{}",
            self.migrations.len(),
            self.apps.len(),
            super::list_capped(&apps, 10),
            match self.replacements.len() {
                0 => String::new(),
                n => format!("; {n} squashed"),
            }
        )
    }

    /// Judges the rows of `django_migrations` (`app`, `name`).
    pub fn standing(&self, applied_rows: &[Key]) -> Standing {
        let mut applied: HashSet<&Key> = applied_rows.iter().collect();
        let mut nodes: BTreeSet<&Key> = self.migrations.iter().collect();
        for (squashed, replaces) in &self.replacements {
            let done = replaces.iter().filter(|r| applied.contains(r)).count();
            if done == replaces.len() {
                applied.insert(squashed);
            } else {
                applied.remove(squashed);
            }
            if done == replaces.len() || done == 0 {
                for r in replaces {
                    nodes.remove(r);
                }
            } else {
                nodes.remove(squashed);
            }
        }
        let missing: Vec<Key> = nodes
            .iter()
            .filter(|k| !applied.contains(*k))
            .map(|k| (*k).clone())
            .collect();
        Standing {
            missing,
            total: nodes.len(),
        }
    }
}

/// The app's label: `label` in `apps.py`, else the last part of `name` there, else the directory's
/// name (Django's `AppConfig` rules).
fn label(dir: &Path) -> Result<String, String> {
    let apps_py = dir.join("apps.py");
    let from_file = match walk::read_source(&apps_py)? {
        Some(text) => read_label(&text).map_err(|p| super::in_file(&apps_py, p))?,
        None => None,
    };
    match from_file {
        Some(label) => Ok(label),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: not an app directory", dir.display())),
    }
}

/// The label an `apps.py` sets, if any. Several configurations that disagree are an error: which
/// one the project installs is in its settings, which readygate does not read.
pub(crate) fn read_label(text: &str) -> Result<Option<String>, Problem> {
    let statements = pysource::statements(text).map_err(|(line, e)| (Some(line), e))?;
    // (label, is default, line) per configuration class: a top-level class that sets `name` or
    // `label`.
    let mut configs: Vec<(Option<String>, Option<bool>, usize)> = Vec::new();
    for (i, header) in statements.iter().enumerate() {
        if header.indent != 0 || pysource::class_name(header).is_none() {
            continue;
        }
        let (mut label, mut name, mut default) = (None, None, None);
        for s in pysource::class_body(&statements, i) {
            let read = |key: &str| pysource::assignment(s, key).map_err(|(l, e)| (Some(l), e));
            match read("label")? {
                Some(Value::Str(v)) => label = Some(v),
                Some(_) => return Err((Some(s.line), "`label` is not a string".to_string())),
                None => {}
            }
            if let Some(Value::Str(v)) = read("name")? {
                name = Some(v);
            }
            if let Some(Value::Bool(b)) = read("default")? {
                default = Some(b);
            }
        }
        if label.is_some() || name.is_some() {
            let label = label.or_else(|| name.map(|n| n.rsplit('.').next().unwrap_or("").into()));
            configs.push((label, default, header.line));
        }
    }
    let chosen: Vec<_> = match configs.iter().find(|c| c.1 == Some(true)) {
        Some(c) => vec![c],
        None => configs.iter().filter(|c| c.1 != Some(false)).collect(),
    };
    let labels: BTreeSet<&String> = chosen.iter().filter_map(|c| c.0.as_ref()).collect();
    match labels.len() {
        0 => Ok(None),
        1 => Ok(labels.into_iter().next().cloned()),
        _ => Err((
            None,
            format!(
                "several app configurations with different labels (lines {}); mark the installed one `default = True`",
                chosen
                    .iter()
                    .map(|c| c.2.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Reads one migration file: what it replaces (empty for an ordinary migration).
fn migration(file: &Path) -> Result<Vec<Key>, String> {
    let text =
        walk::read_source(file)?.ok_or_else(|| format!("{}: cannot be read", file.display()))?;
    read_migration(&text).map_err(|p| super::in_file(file, p))
}

/// What a migration's text replaces; an error for a file Django would not load either.
pub(crate) fn read_migration(text: &str) -> Result<Vec<Key>, Problem> {
    let statements = pysource::statements(text).map_err(|(line, e)| (Some(line), e))?;
    let header = statements
        .iter()
        .position(|s| s.indent == 0 && pysource::class_name(s) == Some("Migration"))
        .ok_or_else(|| {
            (
                None,
                "no `class Migration` (Django refuses such a file in a migrations package too)"
                    .to_string(),
            )
        })?;
    let mut replaces = Vec::new();
    for s in pysource::class_body(&statements, header) {
        let value = pysource::assignment(s, "replaces").map_err(|(l, e)| (Some(l), e))?;
        let Some(value) = value else { continue };
        let bad = || {
            (
                Some(s.line),
                "`replaces` is not a list of (\"app\", \"migration\") pairs".to_string(),
            )
        };
        let Value::Seq(items) = value else {
            return Err(bad());
        };
        replaces = items
            .into_iter()
            .map(|item| match item {
                Value::Seq(pair) => match pair.as_slice() {
                    [Value::Str(app), Value::Str(name)] => Ok((app.clone(), name.clone())),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(replaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(app: &str, name: &str) -> Key {
        (app.to_string(), name.to_string())
    }

    fn project(migrations: &[Key], replacements: &[(Key, Vec<Key>)]) -> Project {
        Project {
            migrations: migrations.iter().cloned().collect(),
            replacements: replacements.iter().cloned().collect(),
            apps: BTreeMap::new(),
        }
    }

    #[test]
    fn every_migration_must_be_recorded_and_extra_rows_do_not_matter() {
        let p = project(&[k("blog", "0001"), k("blog", "0002")], &[]);
        assert_eq!(
            p.standing(&[k("blog", "0001")]).missing,
            vec![k("blog", "0002")]
        );
        let all = [
            k("blog", "0001"),
            k("blog", "0002"),
            k("blog", "0003_newer"),
        ];
        assert_eq!(
            p.standing(&all),
            Standing {
                missing: vec![],
                total: 2
            }
        );
    }

    #[test]
    fn a_squash_stands_for_what_it_replaces_only_when_all_or_none_is_applied() {
        let s = k("a", "0001_squashed_0003");
        let replaced = vec![k("a", "0001"), k("a", "0002"), k("a", "0003")];
        let mut on_disk = replaced.clone();
        on_disk.push(s.clone());
        on_disk.push(k("a", "0004"));
        let p = project(&on_disk, &[(s.clone(), replaced.clone())]);
        // None applied: the squash is the one to apply, with 0004.
        assert_eq!(p.standing(&[]).missing, vec![s.clone(), k("a", "0004")]);
        // All replaced applied: the squash counts as applied even without its own row.
        let mut rows = replaced.clone();
        assert_eq!(p.standing(&rows).missing, vec![k("a", "0004")]);
        rows.push(k("a", "0004"));
        assert!(p.standing(&rows).missing.is_empty());
        // Partly applied: the squash is dropped, the rest of the old ones are missing.
        let partial = [k("a", "0001"), k("a", "0004")];
        assert_eq!(
            p.standing(&partial).missing,
            vec![k("a", "0002"), k("a", "0003")]
        );
        // A row for the squash alone, with none of what it replaces: Django does not count it.
        assert_eq!(
            p.standing(&[s.clone(), k("a", "0004")]).missing,
            vec![s.clone()]
        );
        // After the old files are deleted (replaces kept), the rows of the old names still count.
        let p = project(&[s.clone(), k("a", "0004")], &[(s, replaced.clone())]);
        let mut rows = replaced;
        rows.push(k("a", "0004"));
        assert!(p.standing(&rows).missing.is_empty());
    }
}
