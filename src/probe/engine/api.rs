//! The container engine's API as the engine targets use it: where it listens (`DOCKER_HOST`, else
//! its default socket), the API version (negotiated with `/_ping`, as the engine's own client
//! does), JSON documents and streams, every read bounded.
//!
//! Only GET requests, to the paths in [`PATHS`] (the README lists them, so that a read-only socket
//! proxy that allows just those works).

use std::path::PathBuf;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::net::http1::{next_data, AbortOnDrop, NoBody};
use crate::net::Endpoint;
use crate::verdict::Verdict;

/// Every path the engine targets ask for (`{v}` is the negotiated version prefix).
pub const PATHS: &[&str] = &[
    "/_ping",
    "{v}/events",
    "{v}/containers/json",
    "{v}/containers/{name}/json",
    "{v}/containers/{id}/logs",
    "{v}/services/{name}",
    "{v}/tasks",
];

/// The newest API version asked for: the engine answers in the older of this and its own. Every
/// field read here has been in the API since 1.24, the oldest accepted.
const NEWEST: (u32, u32) = (1, 47);
const OLDEST: (u32, u32) = (1, 24);

/// The longest answer head (status line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// The largest JSON document read (a container's inspection with a long environment is tens of
/// KiB; a service's task list a few hundred).
pub const MAX_DOCUMENT: usize = 4 * 1024 * 1024;
/// The largest error message body read.
const MAX_ERROR: usize = 64 * 1024;

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    endpoint: Endpoint,
    /// The `Host:` header: the engine ignores it on its socket, but HTTP/1.1 requires one.
    host_header: String,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.endpoint {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            other => write!(f, "tcp://{other}"),
        }
    }
}

/// The engine's default socket.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

impl Engine {
    /// From `DOCKER_HOST` (`unix:///PATH` or `tcp://HOST:PORT`), else the default socket.
    /// `tls_verify` is `DOCKER_TLS_VERIFY`: TLS to the engine is refused rather than dropped.
    pub fn from_host(host: Option<&str>, tls_verify: bool) -> Result<Engine, String> {
        let host = host.map(str::trim).filter(|h| !h.is_empty());
        let Some(host) = host else {
            return Ok(Engine {
                endpoint: Endpoint::unix(PathBuf::from(DEFAULT_SOCKET))?,
                host_header: "docker".into(),
            });
        };
        let shown = crate::text::quote_short(&crate::redact::redact_input(host));
        if let Some(path) = host.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "DOCKER_HOST {shown} names no absolute path: unix:///var/run/docker.sock"
                ));
            }
            return Ok(Engine {
                endpoint: Endpoint::unix(PathBuf::from(path))?,
                host_header: "docker".into(),
            });
        }
        if let Some(rest) = host.strip_prefix("tcp://") {
            if tls_verify {
                return Err(format!(
                    "DOCKER_HOST {shown} with DOCKER_TLS_VERIFY: TLS to the engine is not supported; use its unix socket (or a socket proxy on a private network) instead"
                ));
            }
            let uri = crate::uri::parse(&format!("tcp://{}", rest.trim_end_matches('/')))
                .map_err(|e| format!("DOCKER_HOST {shown}: {e}"))?;
            let (Some(h), Some(port)) = (uri.host, uri.port) else {
                return Err(format!(
                    "DOCKER_HOST {shown} names no host and port: tcp://docker-proxy:2375"
                ));
            };
            return Ok(Engine {
                host_header: format!("{}:{port}", h.to_url_form()),
                endpoint: Endpoint::Tcp(h, port),
            });
        }
        Err(format!(
            "DOCKER_HOST {shown} is not one readygate can use: unix:///var/run/docker.sock or tcp://HOST:PORT (ssh:// and npipe:// are not supported)"
        ))
    }

    /// Refuses at start an engine socket the gate could never use: missing, not a socket, or not
    /// open to this user. (A TCP engine is only known by trying.)
    pub fn preflight(&self) -> Result<(), String> {
        let Endpoint::Unix(path) = &self.endpoint else {
            return Ok(());
        };
        let shown = path.display();
        let advice = "mount it (docker run -v /var/run/docker.sock:/var/run/docker.sock:ro, or volumes: in compose) or set DOCKER_HOST";
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "the engine's socket {shown} does not exist: {advice}"
                ))
            }
            Err(e) => return Err(format!("the engine's socket {shown}: {e}")),
            Ok(m) => {
                use std::os::unix::fs::FileTypeExt;
                if !m.file_type().is_socket() {
                    return Err(format!("{shown} is not a socket: {advice}"));
                }
            }
        }
        if !crate::os::may_read_and_write(path) {
            return Err(format!(
                "the engine's socket {shown} is not open to this user (connecting needs write permission on it; the engine's group, often docker, has it)"
            ));
        }
        Ok(())
    }

    /// Opens a session: asks the engine its API version and settles on the one to speak.
    pub async fn session(&self) -> Result<Session<'_>, Verdict> {
        let (reply, _conn) = self.get("/_ping").await?;
        let version = reply
            .headers()
            .get("api-version")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let prefix = match version {
            // A proxy that hides the header (or /_ping): the engine's own version, unversioned.
            None => String::new(),
            Some(v) => match negotiate(&v) {
                Ok(prefix) => prefix,
                Err(problem) => return Err(Verdict::failed(format!("{self}: {problem}"))),
            },
        };
        Ok(Session {
            engine: self,
            prefix,
        })
    }

    /// One GET on a fresh connection; the answer's head, its body still to read, and the
    /// connection's driver, which reads the body and must live as long as it.
    async fn get(&self, path: &str) -> Result<(Response<Incoming>, AbortOnDrop), Verdict> {
        let io = self.endpoint.connect().await.map_err(|v| match v {
            Verdict::NotReady {
                reason, cost, gone, ..
            } => Verdict::NotReady {
                reason: format!("the engine at {self}: {reason}"),
                cost,
                retry_after: None,
                gone,
            },
            other => other,
        })?;
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD)
            .handshake::<_, NoBody>(TokioIo::new(io))
            .await
            .map_err(|e| Verdict::costly(format!("the engine at {self}: {e}")))?;
        let conn = AbortOnDrop(tokio::spawn(conn));
        let request = Request::get(path)
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(
                hyper::header::USER_AGENT,
                concat!("readygate/", env!("CARGO_PKG_VERSION")),
            )
            .body(NoBody)
            .map_err(|e| Verdict::failed(format!("cannot ask the engine for {path}: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Verdict::costly(format!("the engine at {self} (GET {path}): {e}")))?;
        Ok((response, conn))
    }
}

/// The version prefix for an engine that speaks `version` ("1.51"): the older of it and
/// [`NEWEST`]; an engine older than [`OLDEST`], or an answer that is no version, is refused.
fn negotiate(version: &str) -> Result<String, String> {
    let parsed = version
        .trim()
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some(theirs) = parsed else {
        return Err(format!(
            "its /_ping answered with API version {}, which is no version: is this a container engine?",
            crate::text::quote_short(&version.chars().take(40).collect::<String>())
        ));
    };
    if theirs < OLDEST {
        return Err(format!(
            "the engine speaks API {}.{}, older than {}.{} (Docker 1.12), the oldest readygate reads",
            theirs.0, theirs.1, OLDEST.0, OLDEST.1
        ));
    }
    let (major, minor) = theirs.min(NEWEST);
    Ok(format!("/v{major}.{minor}"))
}

/// What a GET of a document found.
#[derive(Debug)]
pub enum Answer {
    Found(Value),
    /// 404: no such container or service (yet).
    Missing,
}

/// A conversation with one engine at one API version.
#[derive(Debug)]
pub struct Session<'a> {
    engine: &'a Engine,
    prefix: String,
}

impl Session<'_> {
    /// A JSON document (`path` without the version prefix).
    pub async fn document(&self, path: &str) -> Result<Answer, Verdict> {
        let full = format!("{}{path}", self.prefix);
        let (response, _conn) = self.engine.get(&full).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Answer::Missing);
        }
        if !status.is_success() {
            return Err(self.refusal(status, response, path).await);
        }
        let body = read_all(response.into_body(), MAX_DOCUMENT)
            .await
            .map_err(|e| Verdict::costly(format!("the engine's answer to GET {path}: {e}")))?;
        serde_json::from_slice(&body)
            .map(Answer::Found)
            .map_err(|e| {
                Verdict::costly(format!(
                    "the engine's answer to GET {path} is not JSON ({e})"
                ))
            })
    }

    /// A stream (events, logs), once the engine has answered 200.
    pub async fn stream(&self, path: &str) -> Result<Stream, Verdict> {
        let full = format!("{}{path}", self.prefix);
        let (response, conn) = self.engine.get(&full).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.refusal(status, response, path).await);
        }
        Ok(Stream {
            body: response.into_body(),
            _conn: conn,
        })
    }

    /// What an answer other than 2xx means: the engine's own message, and whether waiting can
    /// change it. 5xx is the engine's trouble (retried), 4xx a question it will never answer
    /// (a proxy that forbids the path, an API version it refuses).
    async fn refusal(
        &self,
        status: StatusCode,
        response: Response<Incoming>,
        path: &str,
    ) -> Verdict {
        let body = read_all(response.into_body(), MAX_ERROR)
            .await
            .unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        let message = crate::text::quote_short(&crate::redact::redact_text(
            message.trim().lines().next().unwrap_or(""),
        ));
        let said = format!(
            "the engine at {} answered GET {path} with {status}{}",
            self.engine,
            if message.is_empty() || message == "''" {
                String::new()
            } else {
                format!(": {message}")
            }
        );
        if status.is_server_error() && !message.contains("not a swarm manager") {
            Verdict::costly(said)
        } else if message.contains("not a swarm manager") {
            Verdict::failed(format!(
                "{said} (swarm:// asks a manager: run the gate on one, or point DOCKER_HOST at one)"
            ))
        } else if status == StatusCode::FORBIDDEN || status == StatusCode::METHOD_NOT_ALLOWED {
            Verdict::failed(format!(
                "{said} (a socket proxy must allow GET on the paths the README lists)"
            ))
        } else {
            Verdict::failed(said)
        }
    }
}

/// A whole body, failing past `max` bytes.
async fn read_all(mut body: Incoming, max: usize) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    while let Some(chunk) = next_data(&mut body).await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if all.len() + chunk.len() > max {
            return Err(format!("longer than {} KiB", max / 1024));
        }
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

/// A streamed answer's body, with the connection that reads it.
#[derive(Debug)]
pub struct Stream {
    body: Incoming,
    _conn: AbortOnDrop,
}

impl Stream {
    /// The next bytes; `None` when the stream ends.
    pub async fn next_chunk(&mut self) -> Result<Option<hyper::body::Bytes>, String> {
        match next_data(&mut self.body).await {
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(e)) => Err(format!("the engine's stream broke: {e}")),
            None => Ok(None),
        }
    }
}

/// Lines of a stream of JSON lines (the event stream), each at most `max` bytes.
#[derive(Debug)]
pub struct Lines {
    stream: Stream,
    pending: Vec<u8>,
    max: usize,
}

impl Lines {
    pub fn new(stream: Stream, max: usize) -> Self {
        Lines {
            stream,
            pending: Vec::new(),
            max,
        }
    }

    /// The next line; `None` when the stream ends.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let rest = self.pending.split_off(i + 1);
                let mut line = std::mem::replace(&mut self.pending, rest);
                line.pop();
                return Ok(Some(line));
            }
            if self.pending.len() > self.max {
                return Err(format!(
                    "the engine sent a line longer than {} KiB",
                    self.max / 1024
                ));
            }
            match self.stream.next_chunk().await? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// A query's `filters=` value: a JSON object of lists, percent-encoded.
pub fn filters(pairs: &[(&str, &[&str])]) -> String {
    let object: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, vs)| {
            (
                (*k).to_string(),
                Value::Array(vs.iter().map(|v| Value::String((*v).to_string())).collect()),
            )
        })
        .collect();
    crate::redact::percent_encode(&Value::Object(object).to_string(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_older_of_the_two() {
        assert_eq!(negotiate("1.51").unwrap(), "/v1.47");
        assert_eq!(negotiate("1.43").unwrap(), "/v1.43");
        assert_eq!(negotiate(" 1.24 ").unwrap(), "/v1.24");
        assert_eq!(negotiate("2.1").unwrap(), "/v1.47");
        assert!(negotiate("1.23").unwrap_err().contains("older than 1.24"));
        for bad in ["banana", "", "1", "1.x", "-1.2"] {
            assert!(negotiate(bad).unwrap_err().contains("no version"), "{bad}");
        }
    }

    #[test]
    fn docker_host_forms() {
        let default = Engine::from_host(None, false).unwrap();
        assert_eq!(default.to_string(), "unix:///var/run/docker.sock");
        assert_eq!(Engine::from_host(Some(" "), false).unwrap(), default);
        assert_eq!(
            Engine::from_host(Some("unix:///run/user/1000/docker.sock"), false)
                .unwrap()
                .to_string(),
            "unix:///run/user/1000/docker.sock"
        );
        let tcp = Engine::from_host(Some("tcp://proxy:2375"), false).unwrap();
        assert_eq!(tcp.to_string(), "tcp://proxy:2375");
        assert_eq!(tcp.host_header, "proxy:2375");
        assert!(Engine::from_host(Some("tcp://proxy:2376"), true)
            .unwrap_err()
            .contains("TLS to the engine is not supported"));
        for bad in [
            "ssh://me@host",
            "npipe:////./pipe/docker_engine",
            "unix://rel",
            "tcp://proxy",
        ] {
            assert!(Engine::from_host(Some(bad), false).is_err(), "{bad}");
        }
        // A password in DOCKER_HOST is never shown.
        let said = Engine::from_host(Some("ssh://me:s3cret@host"), false).unwrap_err();
        assert!(!said.contains("s3cret"), "{said}");
    }

    #[test]
    fn a_missing_socket_is_refused_at_start_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let engine = Engine::from_host(Some(&format!("unix://{}", path.display())), false).unwrap();
        let said = engine.preflight().unwrap_err();
        assert!(said.contains("does not exist") && said.contains(&path.display().to_string()));
        std::fs::write(&path, "").unwrap();
        assert!(engine.preflight().unwrap_err().contains("is not a socket"));
        std::fs::remove_file(&path).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(engine.preflight(), Ok(()));
    }

    #[test]
    fn filters_are_json_percent_encoded() {
        assert_eq!(
            filters(&[("container", &["db"])]),
            "%7B%22container%22%3A%5B%22db%22%5D%7D"
        );
    }
}
