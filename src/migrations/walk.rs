//! Finding migration files on disk, with every bound explicit: how deep, how many directory
//! entries, how large a file. Symbolic links are not followed (a link back up the tree would loop),
//! and the directories where installed packages and build tools live are not entered unless a path
//! names them itself: a virtual environment inside the project would otherwise bring in every
//! contrib app Django ships, installed or not.

use std::path::{Path, PathBuf};

/// Directory levels below a given path.
const MAX_DEPTH: usize = 24;
/// Directory entries looked at under one given path.
const MAX_ENTRIES: usize = 200_000;
/// One source file (a large squashed migration is a few hundred KiB).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// "#migrated: PATH: reason" for a path that cannot be read.
pub fn unreadable(path: &Path, e: &std::io::Error) -> String {
    format!("#migrated: {}: {}", path.display(), crate::os::io_reason(e))
}

/// Directories a walk does not enter.
fn skipped(name: &str) -> bool {
    name.starts_with('.')
        || matches!(
            name,
            "__pycache__" | "site-packages" | "dist-packages" | "node_modules" | "migrations"
        )
}

/// The app directories at or under `root`: those with a `migrations` package.
pub fn apps(root: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(root).map_err(|e| unreadable(root, &e))?;
    if !meta.is_dir() {
        return Err(format!("#migrated: {} is not a directory", root.display()));
    }
    // A path that is itself a `migrations` package stands for its app.
    if root.file_name().is_some_and(|n| n == "migrations") && is_package(root) {
        return Ok(root.parent().map(Path::to_path_buf).into_iter().collect());
    }
    let mut found = Vec::new();
    let mut seen = 0usize;
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if is_package(&dir.join("migrations")) {
            found.push(dir.clone());
        }
        if depth == MAX_DEPTH {
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // The given path must be readable; below it, an unreadable directory (a data volume
            // owned by another user) holds no app of ours.
            Err(e) if depth == 0 => return Err(unreadable(&dir, &e)),
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(format!(
                    "#migrated: more than {MAX_ENTRIES} entries under {}: point it at the directory that holds the apps",
                    root.display()
                ));
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() && !skipped(&name.to_string_lossy()) {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_package(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join("__init__.py")).is_ok_and(|m| m.is_file())
}

/// The migration modules in a `migrations` package: (name, file), sorted by name.
pub fn modules(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, &e))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".py") else {
            continue;
        };
        if stem.is_empty() || stem.starts_with(['_', '~']) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        out.push((stem.to_string(), entry.path()));
        if out.len() > MAX_ENTRIES {
            return Err(format!(
                "#migrated: more than {MAX_ENTRIES} files in {}",
                dir.display()
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// A source file's text; `None` when there is no such file. Larger than [`MAX_FILE`], or
/// unreadable: an error naming it.
pub fn read_source(file: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let shown = file.display();
    let f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{shown}: {}", crate::os::io_reason(&e))),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: {}", crate::os::io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{shown}: larger than {} MiB, more than a migration file holds",
            MAX_FILE / 1024 / 1024
        ));
    }
    // Python source is UTF-8; a stray byte in a comment must not make the file unreadable.
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_apps_and_skips_packages_namespaces_and_links() {
        let dir = std::env::temp_dir().join(format!("readygate-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        touch(&dir.join("blog/migrations/__init__.py"), "");
        touch(&dir.join("blog/migrations/0001_initial.py"), "");
        touch(&dir.join("blog/migrations/_helper.py"), "");
        touch(&dir.join("blog/migrations/~0002.py"), "");
        touch(&dir.join("blog/migrations/README.txt"), "");
        touch(&dir.join("deep/er/shop/migrations/__init__.py"), "");
        // A namespace package (no __init__.py): Django treats the app as unmigrated.
        touch(&dir.join("loose/migrations/0001_initial.py"), "");
        touch(
            &dir.join("venv/lib/site-packages/django/contrib/flatpages/migrations/__init__.py"),
            "",
        );
        touch(&dir.join(".git/x/migrations/__init__.py"), "");
        std::os::unix::fs::symlink(&dir, dir.join("blog/loop")).unwrap();
        let found = apps(&dir).unwrap();
        assert_eq!(found, vec![dir.join("blog"), dir.join("deep/er/shop")]);
        let names: Vec<String> = modules(&dir.join("blog/migrations"))
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec!["0001_initial"]);
        // A path that names a package directory itself is taken as given.
        let given = dir.join("venv/lib/site-packages/django/contrib");
        assert_eq!(apps(&given).unwrap(), vec![given.join("flatpages")]);
        assert!(apps(&dir.join("nothing")).unwrap_err().contains("nothing"));
        let big = dir.join("big.py");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_FILE + 1)
            .unwrap();
        assert!(read_source(&big).unwrap_err().contains("larger than"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
