//! `tcp://host:port` (or bare `host:port`): ready when a TCP connection is accepted.
//!
//! This only proves that something listens. For servers the gate knows (PostgreSQL, Redis, HTTP)
//! use their scheme: a port can be open long before the server answers queries.

use crate::net::Endpoint;
use crate::params::Params;
use crate::uri::Uri;
use crate::verdict::Verdict;

#[derive(Debug)]
pub struct TcpProbe {
    endpoint: Endpoint,
    /// With a stability asked for: how long an accepted connection must stay open to count.
    watch: Option<std::time::Duration>,
}

impl TcpProbe {
    pub fn from_uri(uri: &Uri) -> Result<Self, String> {
        Params::fragment(&uri.options).finish("tcp", &[])?;
        if uri.user.is_some() || uri.password.is_some() {
            return Err("tcp targets take no user or password".into());
        }
        if !uri.path.is_empty() && uri.path != "/" || uri.raw_query.is_some() {
            return Err("tcp targets take no path or query".into());
        }
        let host = uri.host.clone().ok_or("the host is missing")?;
        let port = uri.port.ok_or("the port is missing")?;
        Ok(TcpProbe {
            endpoint: Endpoint::Tcp(host, port),
            watch: None,
        })
    }

    /// Makes each attempt keep the connection for `window` and see it stay open: Docker's userland
    /// proxy (and any proxy whose backend is down) accepts, then closes at once, which a bare
    /// connect counts as up. Only with a stability asked for (`#stable`/`--stable`), where an
    /// attempt may take a little longer.
    pub fn watch_for_close(&mut self, window: std::time::Duration) {
        self.watch = Some(window);
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        vec![format!("a TCP connection to {} is accepted", self.endpoint)]
    }

    pub async fn attempt(&self) -> Verdict {
        use tokio::io::AsyncReadExt;
        let mut stream = match self.endpoint.connect().await {
            Ok(s) => s,
            Err(v) => return v,
        };
        let Some(window) = self.watch else {
            return Verdict::ready(None);
        };
        let mut byte = [0u8; 1];
        match tokio::time::timeout(window, stream.read(&mut byte)).await {
            // Still open (or the server spoke first, as SSH and MySQL do): up.
            Err(_) | Ok(Ok(1..)) => Verdict::ready(None),
            Ok(Ok(0)) | Ok(Err(_)) => Verdict::cheap(
                "the connection was closed right after it was accepted (a proxy whose backend is not up?)",
            ),
        }
    }
}
