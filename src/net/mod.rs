//! The transport under every protocol: where a target is ([`Endpoint`]), how to reach it (resolve
//! on every attempt and connect to every address, [`connect`], [`resolve`]), and TLS on top
//! ([`tls`]). A probe asks for a stream and speaks its protocol over it; it never opens a socket
//! itself.

pub mod arp;
pub mod connect;
pub mod http1;
pub mod limit;
pub mod resolve;
pub mod sniff;
#[cfg(feature = "tls")]
pub mod tls;
/// A build without TLS has the same names, and refuses every TLS setting at start.
#[cfg(not(feature = "tls"))]
#[path = "no_tls.rs"]
pub mod tls;

use std::path::PathBuf;

use crate::uri::Host;
use crate::verdict::Verdict;

/// A byte stream of any kind (TCP, TLS over TCP, a unix socket).
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Where a target listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A host (resolved on every attempt) and port.
    Tcp(Host, u16),
    /// A unix stream socket.
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(host, port) => write!(f, "{}:{port}", host.to_url_form()),
            Endpoint::Unix(path) => write!(f, "the unix socket {}", path.display()),
        }
    }
}

impl Endpoint {
    /// A unix socket's endpoint, refused at start when the kernel could never connect to it: a
    /// `sockaddr_un` holds at most 107 bytes of path (and its NUL).
    pub fn unix(path: PathBuf) -> Result<Endpoint, String> {
        const MAX: usize = 107;
        let len = path.as_os_str().len();
        if len > MAX {
            return Err(format!(
                "the socket path is {len} bytes long, and a unix socket's path is at most {MAX}: \
                 use a shorter path (a symbolic link to its directory works)"
            ));
        }
        Ok(Endpoint::Unix(path))
    }

    /// Connects, without TLS.
    pub async fn connect(&self) -> Result<Box<dyn Io>, Verdict> {
        match self {
            Endpoint::Tcp(host, port) => Ok(Box::new(connect::connect(host, *port).await?)),
            Endpoint::Unix(path) => Ok(Box::new(connect::connect_unix(path).await?)),
        }
    }

    /// Connects and, when `tls` is given, runs the TLS handshake at once (TLS on a unix socket is
    /// not a thing any of our protocols does).
    pub async fn open(&self, tls: Option<&tls::Tls>) -> Result<Box<dyn Io>, Verdict> {
        match (self, tls) {
            (Endpoint::Tcp(host, port), Some(tls)) => {
                let tcp = connect::connect(host, *port).await?;
                Ok(Box::new(tls.handshake(host, tcp).await?))
            }
            _ => self.connect().await,
        }
    }
}
