//! `#migrated`: ready means the database schema has every migration the code ships.
//!
//! The code's side is read once, at start, from the migration files as text (no Python runs):
//! [`django`] for `django_migrations`, [`alembic`] for `alembic_version`. The database's side is
//! one query per attempt, run by the PostgreSQL or MySQL probe after it logs in; this module turns
//! its rows into a verdict and knows no protocol.
//!
//! `#migrated=PATH[:PATH…]` reads Django apps under the paths; `#migrated=alembic:PATH` reads an
//! Alembic project.

pub(crate) mod alembic;
pub(crate) mod django;
mod pysource;
mod walk;

use std::path::PathBuf;

use crate::verdict::Verdict;

/// Rows read from the version table, at most: a bound on what one attempt may hold (a project has
/// hundreds of migrations, a large one a few thousand).
pub const MAX_ROWS: usize = 100_000;
/// Bytes of row values read from the version table, at most (a row of `django_migrations` is
/// tens of bytes; the MySQL probe's byte budget for `#migrated` is the same).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Why a file cannot be read: the line, when there is one, and the reason.
type Problem = (Option<usize>, String);

/// "FILE line N: reason" or "FILE: reason".
fn in_file(file: &std::path::Path, (line, reason): Problem) -> String {
    match line {
        Some(line) => format!("{} line {line}: {reason}", file.display()),
        None => format!("{}: {reason}", file.display()),
    }
}

/// What the code expects of the database.
#[derive(Debug, Clone)]
pub enum Expected {
    Django(django::Project),
    Alembic(alembic::History),
}

/// The migrations still missing, listed for the operator, at most this many by name.
const LISTED: usize = 10;

impl Expected {
    /// Reads the code's migrations as `#migrated=…` names them. `Err` names the file and line.
    pub fn from_spec(spec: &str) -> Result<Expected, String> {
        let spec = spec.trim();
        if let Some(path) = spec.strip_prefix("alembic:") {
            if path.is_empty() {
                return Err(
                    "#migrated=alembic: needs a path: #migrated=alembic:/app/alembic/versions"
                        .into(),
                );
            }
            let history = alembic::History::scan(&PathBuf::from(path))?;
            if history.is_empty() {
                return Err(format!(
                    "#migrated=alembic:{path}: no revision files there; give the versions directory or the one holding alembic.ini"
                ));
            }
            return Ok(Expected::Alembic(history));
        }
        if spec.is_empty() {
            return Err(
                "#migrated needs the path of the Django project's apps: #migrated=/app (or alembic:PATH)"
                    .into(),
            );
        }
        let paths: Vec<PathBuf> = spec.split(':').map(PathBuf::from).collect();
        if paths.iter().any(|p| p.as_os_str().is_empty()) {
            return Err(format!(
                "#migrated={spec}: an empty path between ':'; separate paths with one ':'"
            ));
        }
        let project = django::Project::scan(&paths)?;
        if project.is_empty() {
            return Err(format!(
                "#migrated={spec}: no Django migrations there (an app directory holds a migrations package with __init__.py)"
            ));
        }
        Ok(Expected::Django(project))
    }

    /// The table the database keeps its history in.
    pub fn table(&self) -> &'static str {
        match self {
            Expected::Django(_) => "django_migrations",
            Expected::Alembic(_) => "alembic_version",
        }
    }

    /// The query whose rows [`Expected::judge`] reads.
    pub fn sql(&self) -> &'static str {
        match self {
            Expected::Django(_) => "SELECT app, name FROM django_migrations",
            Expected::Alembic(_) => "SELECT version_num FROM alembic_version",
        }
    }

    /// For `--explain`: what must be recorded.
    pub fn describe(&self) -> String {
        match self {
            Expected::Django(p) => format!("django_migrations must record {}", p.describe()),
            Expected::Alembic(h) => h.describe(),
        }
    }

    /// The verdict while the table does not exist yet: nothing has been migrated.
    pub fn no_table(&self) -> Verdict {
        Verdict::costly(format!(
            "no {} table yet: nothing is migrated",
            self.table()
        ))
    }

    /// The verdict on the table's rows (each row's values in the query's column order).
    pub fn judge(&self, rows: &[Vec<String>]) -> Verdict {
        match self {
            Expected::Django(project) => {
                let applied: Vec<django::Key> = rows
                    .iter()
                    .filter_map(|r| match r.as_slice() {
                        [app, name, ..] => Some((app.clone(), name.clone())),
                        _ => None,
                    })
                    .collect();
                let standing = project.standing(&applied);
                if standing.missing.is_empty() {
                    return Verdict::ready(format!(
                        "migrated: all {} migration(s) applied",
                        standing.total
                    ));
                }
                let names: Vec<String> = standing
                    .missing
                    .iter()
                    .map(|(app, name)| format!("{app}.{name}"))
                    .collect();
                Verdict::costly(format!(
                    "{} of {} migration(s) not applied: {}",
                    names.len(),
                    standing.total,
                    list_capped(&names, LISTED)
                ))
            }
            Expected::Alembic(history) => {
                let at: Vec<String> = rows.iter().filter_map(|r| r.first().cloned()).collect();
                match history.standing(&at) {
                    alembic::Standing::AtHeads => {
                        Verdict::ready(format!("migrated: at head {}", at.join(", ")))
                    }
                    alembic::Standing::Behind(why) => Verdict::costly(why),
                }
            }
        }
    }
}

/// "a, b, c and 7 more": at most `n` items by name.
fn list_capped(items: &[String], n: usize) -> String {
    let shown = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    match items.len().saturating_sub(n) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_capped() {
        let items: Vec<String> = (0..13).map(|i| i.to_string()).collect();
        assert_eq!(list_capped(&items[..2], 10), "0, 1");
        assert_eq!(
            list_capped(&items, 10),
            "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 3 more"
        );
    }

    #[test]
    fn specs_that_cannot_work_are_refused_at_once() {
        for (spec, says) in [
            ("", "needs the path"),
            ("alembic:", "needs a path"),
            ("/a::/b", "empty path"),
            ("/nonexistent-readygate-dir", "nonexistent-readygate-dir"),
            ("alembic:/nonexistent-readygate-dir", "not a directory"),
        ] {
            let e = Expected::from_spec(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }
}
