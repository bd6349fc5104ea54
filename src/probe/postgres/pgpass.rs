//! libpq's password file: `PGPASSFILE`, else `~/.pgpass` (the PostgreSQL manual, "The Password
//! File").
//!
//! Each line is `hostname:port:database:username:password`; `*` matches anything in the first
//! four fields, `\:` and `\\` escape, `#` starts a comment. The first matching line wins. As in
//! libpq, a file that others can read (any group or world bit) is ignored with a warning, and a
//! unix-socket connection matches its socket directory (`localhost` for the default directory).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::environ::Env;
use crate::redact::Secret;

/// What the password file gave: a password, or a warning to show once.
#[derive(Debug, Default)]
pub struct Lookup {
    pub password: Option<Secret>,
    pub warning: Option<String>,
}

/// The file libpq would read.
pub fn path(env: Env<'_>) -> Option<PathBuf> {
    env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))
}

/// Finds the password for a connection. A missing file is not an error (libpq is silent too).
pub fn lookup(file: &Path, host: &str, port: u16, database: &str, user: &str) -> Lookup {
    let Ok(meta) = std::fs::metadata(file) else {
        return Lookup::default();
    };
    // Not silently: the failure would otherwise say "no password was given" (libpq warns too).
    let ignored = |why: String| Lookup {
        password: None,
        warning: Some(format!(
            "password file '{}' is ignored: {why}",
            file.display()
        )),
    };
    if !meta.is_file() {
        return ignored("it is not a regular file".into());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file '{}' is ignored: others can read it (chmod 0600, as libpq requires)",
                file.display()
            )),
        };
    }
    let text = match crate::os::read_small_file(file, crate::environ::MAX_SECRET_FILE) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return ignored(e),
    };
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    let password = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split(line);
            let [h, p, d, u, pw] = fields.as_slice() else {
                return None;
            };
            let matches = [h, p, d, u]
                .iter()
                .zip(wanted)
                .all(|(field, want)| *field == "*" || field.as_str() == want);
            matches.then(|| Secret::new(pw.clone()))
        });
    Lookup {
        password,
        warning: None,
    }
}

/// Splits a line at unescaped colons, undoing `\:` and `\\`.
pub(crate) fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("never empty").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(content: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        let f = file(
            "# comment\nother:5432:*:app:nope\ndb:5432:appdb:app:p\\:w\\\\d\n*:*:*:app:fallback\n",
            0o600,
        );
        let get = |host, port, db, user| {
            lookup(f.path(), host, port, db, user)
                .password
                .map(|p| p.expose().to_string())
        };
        assert_eq!(get("db", 5432, "appdb", "app").as_deref(), Some("p:w\\d"));
        assert_eq!(get("db", 5433, "appdb", "app").as_deref(), Some("fallback"));
        assert_eq!(get("db", 5432, "appdb", "other"), None);
    }

    #[test]
    fn a_readable_file_is_ignored_with_a_warning() {
        let f = file("*:*:*:*:secret\n", 0o644);
        let l = lookup(f.path(), "db", 5432, "x", "y");
        assert!(l.password.is_none());
        assert!(l.warning.unwrap().contains("chmod 0600"));
        assert!(lookup(Path::new("/nonexistent/.pgpass"), "db", 1, "x", "y")
            .password
            .is_none());
    }

    #[test]
    fn pgpassfile_then_home() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/app".to_string()),
            _ => None,
        };
        assert_eq!(path(&env), Some(PathBuf::from("/home/app/.pgpass")));
        let env = |k: &str| (k == "PGPASSFILE").then(|| "/run/secrets/pgpass".to_string());
        assert_eq!(path(&env), Some(PathBuf::from("/run/secrets/pgpass")));
    }
}
