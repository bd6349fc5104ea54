//! Settings read from the environment, with the Docker secrets convention.
//!
//! A secret can come from `NAME` or from a file named by `NAME_FILE` (Docker and Kubernetes mount
//! secrets as files under `/run/secrets`, so the secret is in neither `docker inspect` nor
//! `/proc/PID/environ`). Setting both is an error, as in the official database images; a file that
//! is missing or unreadable is a usage error at start, not something to retry. One trailing newline
//! is dropped: `echo secret > file` is how most secret files are made.
//!
//! Probes read the environment through an [`Env`] so that tests can pass their own.

use crate::redact::Secret;

/// A way to look up environment variables.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The largest secret file read (a password is a few dozen bytes).
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads `name`, or the file named by `name_FILE`.
pub fn secret(env: Env<'_>, name: &str) -> Result<Option<Secret>, String> {
    let file_var = format!("{name}_FILE");
    match (env(name), env(&file_var)) {
        (Some(_), Some(_)) => Err(format!("both {name} and {file_var} are set: set only one")),
        (Some(v), None) => Ok(Some(Secret::new(v))),
        (None, Some(path)) => {
            let bytes = crate::os::read_small_file(std::path::Path::new(&path), MAX_SECRET_FILE)
                .map_err(|e| format!("cannot read {file_var} '{path}': {e}"))?;
            let mut text = String::from_utf8(bytes)
                .map_err(|_| format!("cannot read {file_var} '{path}': it is not UTF-8 text"))?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(Some(Secret::new(text)))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env<'a>(map: &'a HashMap<&'a str, String>) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secret_from_variable_file_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let mut m = HashMap::new();
        assert_eq!(secret(&env(&m), "PGPASSWORD").unwrap(), None);
        m.insert("PGPASSWORD_FILE", file.display().to_string());
        assert_eq!(
            secret(&env(&m), "PGPASSWORD").unwrap().unwrap().expose(),
            "s3cret"
        );
        m.insert("PGPASSWORD", "x".into());
        assert!(secret(&env(&m), "PGPASSWORD")
            .unwrap_err()
            .contains("both PGPASSWORD and PGPASSWORD_FILE"));
        m.remove("PGPASSWORD");
        m.insert("PGPASSWORD_FILE", "/nonexistent/pw".into());
        assert!(secret(&env(&m), "PGPASSWORD")
            .unwrap_err()
            .contains("cannot read PGPASSWORD_FILE '/nonexistent/pw'"));
    }
}
