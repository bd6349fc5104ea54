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
        })
    }

    pub async fn attempt(&self) -> Verdict {
        match self.endpoint.connect().await {
            Ok(_stream) => Verdict::ready(None),
            Err(v) => v,
        }
    }
}
