//! `unix:///PATH`: ready when a unix stream socket at PATH accepts a connection (a server's
//! control socket, `/var/run/docker.sock`, PHP-FPM, a database's socket when its protocol is not
//! one readygate speaks).

use std::path::PathBuf;

use crate::net::Endpoint;
use crate::params::Params;
use crate::uri::{self, Uri};
use crate::verdict::Verdict;

#[derive(Debug)]
pub struct UnixProbe {
    endpoint: Endpoint,
}

impl UnixProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        Params::fragment(&u.options).finish("unix", &[])?;
        if u.host.is_some() || u.user.is_some() || u.port.is_some() || u.raw_query.is_some() {
            return Err(
                "a unix target is unix:///ABSOLUTE/PATH (three slashes, no host, no query)".into(),
            );
        }
        let path = uri::decode_text(&u.path).map_err(|e| e.to_string())?;
        if !path.starts_with('/') || path == "/" {
            return Err("a unix target names an absolute path: unix:///run/app.sock".into());
        }
        Ok(UnixProbe {
            endpoint: Endpoint::unix(PathBuf::from(path))?,
        })
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        vec![format!("{} accepts a connection", self.endpoint)]
    }

    pub async fn attempt(&self) -> Verdict {
        match self.endpoint.connect().await {
            Ok(_) => Verdict::ready(None),
            Err(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<UnixProbe, String> {
        UnixProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[tokio::test]
    async fn accepts_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let probe = parse(&format!("unix://{}", path.display())).unwrap();
        assert!(
            matches!(probe.attempt().await, Verdict::NotReady { reason, .. } if reason.contains("no socket"))
        );
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        assert!(matches!(probe.attempt().await, Verdict::Ready { .. }));
        drop(listener);
        // The file stays, nobody listens: refused, not ready.
        assert!(matches!(probe.attempt().await, Verdict::NotReady { .. }));
        for bad in [
            "unix://host/x",
            "unix:///",
            "unix:///x?y=1",
            "unix:///x#nonempty",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
