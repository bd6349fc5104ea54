//! `file:///PATH`: ready when the path exists (`#nonempty`: a regular file with at least one
//! byte). With `#absent` (or the shared `#down`), ready when it is gone (a lock file removed, an
//! old instance's socket).
//!
//! The `stat` runs on a thread of its own ([`crate::offload`]): on a dead network file system it
//! may never return, and it must not hold the gate past its deadline or SIGTERM.

use std::path::PathBuf;

use crate::offload::Jobs;
use crate::params::Params;
use crate::uri::{self, Uri};
use crate::verdict::Verdict;

const OPTIONS: &[&str] = &["nonempty", "absent"];

/// What a `stat` found: (is a regular file, its length), or the error's kind in words.
type Stat = Result<(bool, u64), (std::io::ErrorKind, String)>;

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
        let path = self.path.clone();
        let key = self.path.to_string_lossy().into_owned();
        let stat = CHECKS
            .run(&key, move || {
                std::fs::metadata(&path)
                    .map(|m| (m.is_file(), m.len()))
                    .map_err(|e| (e.kind(), crate::net::connect::io_reason(&e)))
            })
            .await;
        let shown = self.path.display();
        if self.absent {
            return match stat {
                Err(reason) => Verdict::costly(reason),
                Ok(Err((std::io::ErrorKind::NotFound, _))) => {
                    Verdict::ready("it does not exist".to_string())
                }
                Ok(Err((_, reason))) => Verdict::costly(format!("{shown}: {reason}")),
                Ok(Ok(_)) => Verdict::cheap(format!("{shown} still exists (#absent)")),
            };
        }
        match stat {
            Err(reason) => Verdict::costly(reason),
            // Missing is the normal "not yet": as cheap to look again as a refused connection.
            Ok(Err((std::io::ErrorKind::NotFound, _))) => {
                Verdict::cheap(format!("{shown} does not exist"))
            }
            Ok(Err((_, reason))) => Verdict::costly(format!("{shown}: {reason}")),
            Ok(Ok((is_file, len))) if self.nonempty && !(is_file && len > 0) => {
                Verdict::cheap(format!("{shown} exists but is empty (#nonempty)"))
            }
            Ok(Ok(_)) => Verdict::ready("it exists".to_string()),
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
