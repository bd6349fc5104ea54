//! `file:///PATH`: ready when the path exists (`#nonempty`: a file with at least one byte — read,
//! not taken from `stat`, which says 0 for `/proc` files — or a directory with an entry). With
//! `#absent` (or the shared `#down`), ready when nothing is there (a lock file removed, an old
//! instance's socket); a symbolic link to nothing is still there, and a path the gate may not
//! look at is never taken for gone.
//!
//! The `stat` runs on a thread of its own ([`crate::offload`]): on a dead network file system it
//! may never return, and it must not hold the gate past its deadline or SIGTERM.

use std::path::PathBuf;

use crate::offload::Jobs;
use crate::params::Params;
use crate::uri::{self, Uri};
use crate::verdict::Verdict;

const OPTIONS: &[&str] = &["nonempty", "absent"];

/// What the look found at the path, or the error's kind in words.
type Stat = Result<Found, (std::io::ErrorKind, String)>;

#[derive(Debug, Clone, Copy)]
enum Found {
    /// A symbolic link to nothing: something is there (a lock made as a link, as Emacs and
    /// Firefox make them), but no file.
    DanglingLink,
    /// A file or directory, and whether it has content (`#nonempty`; asked only then).
    Entry { content: bool },
}

/// Looks at `path` (on an offload thread: it may block).
fn look(path: &std::path::Path, want_content: bool) -> Stat {
    let err = |e: std::io::Error| (e.kind(), crate::os::io_reason(&e));
    std::fs::symlink_metadata(path).map_err(err)?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::DanglingLink),
        Err(e) => return Err(err(e)),
    };
    let content = want_content
        && if meta.is_dir() {
            std::fs::read_dir(path).map_err(err)?.next().is_some()
        } else if meta.is_file() && meta.len() == 0 {
            // /proc and /sys files say 0 bytes and have content: read one byte to know.
            use std::io::Read;
            let mut one = [0u8; 1];
            std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut one))
                .map_err(err)?
                == 1
        } else {
            meta.is_file()
        };
    Ok(Found::Entry { content })
}

static CHECKS: Jobs<Stat> = Jobs::new("file checks", 64);

#[derive(Debug)]
pub struct FileProbe {
    path: PathBuf,
    nonempty: bool,
    /// `#absent`: ready once the path does not exist (a lock file removed, a migration marker).
    absent: bool,
}

impl FileProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let mut opts = Params::fragment(&u.options);
        let nonempty = opts.flag("nonempty")?;
        let absent = opts.flag("absent")?;
        if nonempty && absent {
            return Err("#nonempty and #absent contradict each other: choose one".into());
        }
        opts.finish("file", OPTIONS)?;
        if u.user.is_some() || u.password.is_some() || u.port.is_some() {
            return Err("a file target is file:///ABSOLUTE/PATH".into());
        }
        if u.host.is_some() || u.raw_query.is_some() {
            return Err(
                "a file target is file:///ABSOLUTE/PATH (three slashes, no host, no query)".into(),
            );
        }
        let path = uri::decode_text(&u.path).map_err(|e| e.to_string())?;
        if !path.starts_with('/') || path == "/" {
            return Err("a file target names an absolute path: file:///run/app/ready".into());
        }
        Ok(FileProbe {
            path: PathBuf::from(path),
            nonempty,
            absent,
        })
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        if self.absent {
            return vec![format!("{} does not exist (#absent)", self.path.display())];
        }
        vec![format!(
            "{} exists{}",
            self.path.display(),
            if self.nonempty {
                " and is a file of at least one byte"
            } else {
                ""
            }
        )]
    }

    pub async fn attempt(&self) -> Verdict {
        use std::io::ErrorKind::NotFound;
        let path = self.path.clone();
        let key = self.path.to_string_lossy().into_owned();
        let nonempty = self.nonempty;
        let stat = CHECKS.run(&key, move || look(&path, nonempty)).await;
        let shown = self.path.display();
        let stat = match stat {
            Err(reason) => return Verdict::costly(reason),
            Ok(stat) => stat,
        };
        if self.absent {
            return match stat {
                Err((NotFound, _)) => Verdict::ready("it does not exist".to_string()),
                // Cannot look (permission denied): not "absent", whatever is there.
                Err((_, reason)) => Verdict::costly(format!("{shown}: {reason}")),
                Ok(Found::DanglingLink) => Verdict::cheap(format!(
                    "{shown} still exists (a symbolic link to nothing) (#absent)"
                )),
                Ok(_) => Verdict::cheap(format!("{shown} still exists (#absent)")),
            };
        }
        match stat {
            // Missing is the normal "not yet": as cheap to look again as a refused connection,
            // and for `#down` the one answer that means gone.
            Err((NotFound, _)) => Verdict::gone(
                format!("{shown} does not exist"),
                crate::verdict::Cost::Cheap,
            ),
            Err((_, reason)) => Verdict::costly(format!("{shown}: {reason}")),
            Ok(Found::DanglingLink) => {
                Verdict::cheap(format!("{shown} is a symbolic link to nothing"))
            }
            Ok(Found::Entry { content: false }) if self.nonempty => {
                Verdict::cheap(format!("{shown} exists but is empty (#nonempty)"))
            }
            Ok(_) => Verdict::ready("it exists".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FileProbe, String> {
        FileProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[tokio::test]
    async fn exists_empty_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ready");
        let target = format!("file://{}#nonempty", file.display());
        let probe = parse(&target).unwrap();
        assert!(
            matches!(probe.attempt().await, Verdict::NotReady { reason, .. } if reason.contains("does not exist"))
        );
        std::fs::write(&file, "").unwrap();
        assert!(
            matches!(probe.attempt().await, Verdict::NotReady { reason, .. } if reason.contains("empty"))
        );
        std::fs::write(&file, "1").unwrap();
        assert!(matches!(probe.attempt().await, Verdict::Ready { .. }));
        let gone = parse(&format!("file://{}#absent", file.display())).unwrap();
        assert!(
            matches!(gone.attempt().await, Verdict::NotReady { reason, .. } if reason.contains("still exists"))
        );
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(gone.attempt().await, Verdict::Ready { .. }));
        for bad in [
            "file:///x#absent&nonempty",
            "file://host/x",
            "file://relative",
            "file:///",
            "file:///x?y=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
