//! `http://` and `https://`: ready when a GET answers with an accepted status (2xx by default) and,
//! if asked, a body containing a given text.
//!
//! Options (URL fragment, never sent to the server):
//! - `#status=200-399,418` or `#status=2xx,3xx`: accepted statuses (default `2xx`). Redirects are not
//!   followed: a 3xx names its `Location` and is "not ready" unless accepted here; a 301 or 308
//!   (moved for good) ends the wait at once.
//! - `#contains=TEXT`: the body must contain TEXT (searched in the first 1 MiB).
//! - `#header=Name:%20value`: an extra request header (repeatable). Values of credential headers
//!   (`Authorization`, `Cookie`, …) are never printed.
//! - `#ca=/path/ca.pem`: trust only these certificates (HTTPS).
//! - `#insecure`: do not verify the server certificate (HTTPS); a warning is printed.
//!
//! Bounds: the response head may be at most 64 KiB and the body is read at most 1 MiB, so a huge or
//! endless response cannot grow memory. The whole exchange (connect, TLS, request, headers, body) is
//! bounded by the scheduler's attempt timeout, so a slowloris server cannot hold an attempt open.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::net::http1::{next_data, AbortOnDrop, NoBody};
use crate::net::tls::Tls;
use crate::net::{Endpoint, Io};
use crate::params::Params;
use crate::uri::Uri;
use crate::verdict::{Cost, Verdict};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// The buffer for the first bytes of an answer, read before hyper takes over.
const FIRST_READ: usize = 512;
const OPTIONS: &[&str] = &["status", "contains", "header", "ca", "insecure"];

#[derive(Debug)]
pub struct HttpProbe {
    endpoint: Endpoint,
    /// Present for https.
    tls: Option<Tls>,
    path_and_query: String,
    host_header: String,
    statuses: Vec<(u16, u16)>,
    contains: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl HttpProbe {
    pub fn from_uri(uri: &Uri) -> Result<Self, String> {
        let https = uri.scheme == "https";
        let mut opts = Params::fragment(&uri.options);
        let statuses = match opts.take("status") {
            Some(s) => parse_statuses(&s)?,
            None => vec![(200, 299)],
        };
        let contains = opts.take("contains").filter(|c| !c.is_empty());
        let mut headers = Vec::new();
        for h in opts.take_all("header") {
            headers.push(parse_header(&h)?);
        }
        let tls = Tls::from_options(&mut opts, https, "https", &[b"http/1.1"])?;
        opts.finish(&uri.scheme, OPTIONS)?;
        let host = uri.host.clone().ok_or("the host is missing")?;
        // Headers readygate sets itself cannot also come from #header: a server would see two.
        for (name, _) in &headers {
            if name == hyper::header::HOST
                || name == hyper::header::CONTENT_LENGTH
                || name == hyper::header::TRANSFER_ENCODING
                || name == hyper::header::CONNECTION
            {
                return Err(format!(
                    "#header={name} cannot be set: readygate sends its own {name} header"
                ));
            }
            if name == hyper::header::AUTHORIZATION && uri.user.is_some() {
                return Err("#header=Authorization and a user in the URL both set Authorization: choose one".into());
            }
        }
        let default_port = super::kind(&uri.scheme)
            .and_then(|k| k.default_port)
            .unwrap_or(80);
        let port = uri.port.unwrap_or(default_port);
        if let (Some(user), pass) = (&uri.user, &uri.password) {
            let pass = pass.as_ref().map(|p| p.expose()).unwrap_or("");
            let mut value = HeaderValue::from_str(&format!("Basic {}", {
                let encoded = base64(&format!("{user}:{pass}"));
                crate::redact::register(&encoded);
                encoded
            }))
            .map_err(|_| "the user or password cannot go in an HTTP header")?;
            value.set_sensitive(true);
            headers.push((hyper::header::AUTHORIZATION, value));
        }
        let mut path_and_query = if uri.path.is_empty() {
            "/".to_string()
        } else {
            uri.path.clone()
        };
        if let Some(q) = &uri.raw_query {
            path_and_query.push('?');
            path_and_query.push_str(q);
        }
        // Validate now, so an attempt can never fail on the request line. The path is not quoted:
        // its query may carry a token.
        hyper::Uri::try_from(path_and_query.as_str()).map_err(|_| {
            "the path or query cannot go in an HTTP request: percent-encode spaces, quotes, '<', '>' and other special characters".to_string()
        })?;
        let host_header = if port == default_port {
            host.to_url_form()
        } else {
            format!("{}:{port}", host.to_url_form())
        };
        Ok(HttpProbe {
            endpoint: Endpoint::Tcp(host, port),
            tls,
            path_and_query,
            host_header,
            statuses,
            contains,
            headers,
        })
    }

    /// What the probe will do, for `--explain` (header values are never shown).
    pub fn explain(&self) -> Vec<String> {
        let mut out = vec![format!(
            "GET on {} answers {}",
            self.endpoint,
            self.expected()
        )];
        if let Some(c) = &self.contains {
            out.push(format!("the body contains '{c}'"));
        }
        for (name, _) in &self.headers {
            out.push(format!("header {name} sent (value not shown)"));
        }
        out.push(Tls::describe(self.tls.as_ref()));
        out
    }

    /// The warning to show at start, if TLS verification is off.
    pub fn warning(&self) -> Option<String> {
        self.tls.as_ref().and_then(Tls::warning)
    }

    pub async fn attempt(&self) -> Verdict {
        match self.endpoint.open(self.tls.as_ref()).await {
            Ok(stream) => self.exchange(stream).await,
            Err(v) => v,
        }
    }

    /// The request the server gets (lower-case names, as hyper would write them).
    fn request_head(&self) -> Vec<u8> {
        let mut head = format!(
            "GET {} HTTP/1.1\r\nhost: {}\r\nuser-agent: readygate/{}\r\naccept: */*\r\nconnection: close\r\n",
            self.path_and_query,
            self.host_header,
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    async fn exchange(&self, mut io: Box<dyn Io>) -> Verdict {
        // The request is written here and the first bytes of the answer read into a small buffer
        // before hyper takes the connection: hyper gives every connection two 8 KiB buffers from
        // the start, so 10,000 attempts waiting on silent servers held 18 KiB each. Waiting now
        // costs the socket and FIRST_READ bytes; hyper parses the answer (its own copy of the
        // request goes nowhere, see `Replayed`).
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Err(e) = io.write_all(&self.request_head()).await {
            return Verdict::costly(crate::os::io_reason(&e));
        }
        let mut first = vec![0u8; FIRST_READ];
        let n = match io.read(&mut first).await {
            Ok(0) => return Verdict::costly("connection closed before a complete response"),
            Ok(n) => n,
            Err(e) => return Verdict::costly(crate::os::io_reason(&e)),
        };
        first.truncate(n);
        let io = Replayed::new(first, io);
        let handshake = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD)
            .handshake::<_, NoBody>(TokioIo::new(io))
            .await;
        let (mut sender, conn) = match handshake {
            Ok(pair) => pair,
            Err(e) => return Verdict::costly(format!("HTTP error: {e}")),
        };
        let _conn = AbortOnDrop(tokio::spawn(conn));
        // Only what hyper's reading of the answer depends on (a GET, and a connection that ends
        // with it): the request the server got is `request_head`'s.
        let req =
            Request::get(self.path_and_query.as_str()).header(hyper::header::CONNECTION, "close");
        let req = match req.body(NoBody) {
            Ok(r) => r,
            Err(e) => return Verdict::failed(format!("cannot build the request: {e}")),
        };
        let response = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => return Verdict::costly(describe_hyper(&e)),
        };
        let status = response.status();
        if status.is_redirection() && !self.accepts(status) {
            return redirect(status, response.headers().get(hyper::header::LOCATION));
        }
        if !self.accepts(status) {
            let retry_after = response
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let asked = retry_after.map_or(String::new(), |d| {
                format!(
                    "; Retry-After {} (waits at most --max-interval)",
                    crate::duration::show(d)
                )
            });
            return Verdict::NotReady {
                reason: format!(
                    "HTTP {} (expected {}){asked}",
                    status_text(status),
                    self.expected()
                ),
                cost: Cost::Costly,
                retry_after,
                gone: false,
            };
        }
        let Some(needle) = &self.contains else {
            return Verdict::ready(format!("HTTP {}", status.as_u16()));
        };
        let mut body = response.into_body();
        let mut search = Search::new(needle.as_bytes());
        let mut read = 0usize;
        loop {
            if read >= MAX_BODY {
                return Verdict::costly(format!(
                    "body does not contain '{needle}' (first 1 MiB read)"
                ));
            }
            match next_data(&mut body).await {
                Some(Ok(chunk)) => {
                    let chunk = &chunk[..chunk.len().min(MAX_BODY - read)];
                    read += chunk.len();
                    if search.feed(chunk) {
                        return Verdict::ready(format!("HTTP {}, body matched", status.as_u16()));
                    }
                }
                Some(Err(e)) => return Verdict::costly(describe_hyper(&e)),
                None => return Verdict::costly(format!("body does not contain '{needle}'")),
            }
        }
    }

    fn accepts(&self, status: StatusCode) -> bool {
        let s = status.as_u16();
        self.statuses
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&s))
    }

    fn expected(&self) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|&(lo, hi)| match (lo, hi) {
                (lo, hi) if lo == hi => lo.to_string(),
                (lo, hi) if lo % 100 == 0 && hi == lo + 99 => format!("{}xx", lo / 100),
                (lo, hi) => format!("{lo}-{hi}"),
            })
            .collect();
        parts.join(",")
    }
}

/// A redirect, named as one: the probe does not follow it (a health check that redirects is a
/// URL that is not the final one, as Django's `APPEND_SLASH` turns `/health` into `/health/`).
/// 301 and 308 say the move is permanent, so the wait ends at once; the others may be a server
/// still starting, and are waited on.
fn redirect(status: StatusCode, location: Option<&hyper::header::HeaderValue>) -> Verdict {
    let to = location
        .and_then(|v| v.to_str().ok())
        .map(|l| format!(" to {}", shown_location(l)))
        .unwrap_or_default();
    let reason = format!(
        "HTTP {}{to}: redirects are not followed; use the final URL (or accept it with #status={})",
        status_text(status),
        status.as_u16()
    );
    if matches!(status.as_u16(), 301 | 308) {
        Verdict::failed(reason)
    } else {
        Verdict::costly(reason)
    }
}

/// A `Location` as it may be printed: without its query or fragment (a login redirect carries
/// tokens there) or user information, and bounded.
fn shown_location(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    let mut shown = location[..end].to_string();
    if let Some(scheme_end) = shown.find("://") {
        let rest = &shown[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            shown = format!("{}{}", &shown[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    if end < location.len() {
        shown.push_str("?…");
    }
    format!("'{}'", crate::text::quote_short(&shown))
}

fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

fn describe_hyper(e: &hyper::Error) -> String {
    if e.is_parse() && e.to_string().contains("too large") {
        "response head too large (over 64 KiB, or over 100 header lines)".into()
    } else if e.is_parse() || e.is_parse_status() {
        "the server did not answer with HTTP (is this the right port, or does it need https?)"
            .into()
    } else if e.is_incomplete_message() || e.is_closed() {
        "connection closed before a complete response".into()
    } else if let Some(io) = io_source(e) {
        // A reset while writing the request shows as hyper's bare "connection error": say what
        // the socket said.
        crate::os::io_reason(io)
    } else {
        format!("HTTP error: {e}")
    }
}

/// The I/O error under a hyper error, if that is what it is.
fn io_source(e: &hyper::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// Looks for a needle in a body that arrives in chunks, scanning each byte a bounded number of
/// times: only the last `needle.len() - 1` bytes are kept between chunks, so a slow stream of tiny
/// chunks costs as little as one large one (rescanning everything read so far on every chunk made
/// a trickling server cost 100 % CPU).
struct Search<'a> {
    needle: &'a [u8],
    /// The tail of what was seen, where a match may have started.
    carry: Vec<u8>,
}

impl<'a> Search<'a> {
    fn new(needle: &'a [u8]) -> Self {
        Search {
            needle,
            carry: Vec::with_capacity(needle.len()),
        }
    }

    /// Whether the needle has now been seen.
    fn feed(&mut self, chunk: &[u8]) -> bool {
        let n = self.needle.len();
        if n == 0 {
            return true;
        }
        // Matches that straddle the previous chunk: carry + the start of this one.
        let head = &chunk[..chunk.len().min(n - 1)];
        let mut joint = Vec::with_capacity(self.carry.len() + head.len());
        joint.extend_from_slice(&self.carry);
        joint.extend_from_slice(head);
        if joint.windows(n).any(|w| w == self.needle) || chunk.windows(n).any(|w| w == self.needle)
        {
            return true;
        }
        // Keep the last n - 1 bytes of carry + chunk.
        joint.extend_from_slice(&chunk[head.len()..]);
        let keep = joint.len().min(n - 1);
        self.carry.clear();
        self.carry.extend_from_slice(&joint[joint.len() - keep..]);
        false
    }
}

/// Parses `200`, `200-399`, `2xx`, and comma-separated lists of them.
fn parse_statuses(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let bad = || {
        format!("'#status={s}' is not a status list (example: #status=200-399,418 or #status=2xx)")
    };
    let code = |t: &str| -> Result<u16, String> {
        t.parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(bad)
    };
    s.split(',')
        .map(|part| {
            let part = part.trim();
            if let Some(class) = part.strip_suffix("xx").or_else(|| part.strip_suffix("XX")) {
                let c = code(&format!("{class}00"))?;
                Ok((c, c + 99))
            } else if let Some((lo, hi)) = part.split_once('-') {
                let (lo, hi) = (code(lo)?, code(hi)?);
                if lo > hi {
                    return Err(bad());
                }
                Ok((lo, hi))
            } else {
                let c = code(part)?;
                Ok((c, c))
            }
        })
        .collect()
}

fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), String> {
    let bad = || "a #header option must look like #header=Name:%20value".to_string();
    let (name, value) = h.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let mut value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    if crate::redact::is_sensitive_key(name.as_str()) {
        value.set_sensitive(true);
        // The value as a whole (`Bearer abc…`) and its credential part alone.
        let text = value.to_str().unwrap_or_default();
        crate::redact::register(text);
        if let Some((_, token)) = text.split_once(' ') {
            crate::redact::register(token.trim());
        }
    }
    Ok((name, value))
}

fn base64(input: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The connection as hyper sees it once the request is written and the first bytes of the answer
/// are read: reads give those bytes first, then the connection's; writes (hyper's copy of the
/// request, already sent) are dropped. Nothing is read before hyper has written its request: an
/// answer before the request is, to hyper's client, a broken connection.
struct Replayed {
    first: Vec<u8>,
    at: usize,
    inner: Box<dyn Io>,
    written: bool,
    reader: Option<std::task::Waker>,
}

impl Replayed {
    fn new(first: Vec<u8>, inner: Box<dyn Io>) -> Self {
        Replayed {
            first,
            at: 0,
            inner,
            written: false,
            reader: None,
        }
    }
}

impl tokio::io::AsyncRead for Replayed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.written {
            self.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if self.at < self.first.len() {
            let n = buf.remaining().min(self.first.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.first[at..at + n]);
            self.at += n;
            if self.at == self.first.len() {
                self.first = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Replayed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written = true;
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_statuses("2xx").unwrap(), vec![(200, 299)]);
        assert_eq!(
            parse_statuses("200-399,418").unwrap(),
            vec![(200, 399), (418, 418)]
        );
        for bad in ["", "abc", "600", "300-200", "99", "2x"] {
            assert!(parse_statuses(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_location_is_shown_without_what_may_be_secret() {
        let cases = [
            ("/health/", "'/health/'"),
            (
                "https://app.example/health/",
                "'https://app.example/health/'",
            ),
            ("/login?next=/health&token=s3cret", "'/login?…'"),
            (
                "https://u:s3cret@sso.example/x#t=1",
                "'https://sso.example/x?…'",
            ),
            ("/a\r\nb", "'/a\\u{d}\\u{a}b'"),
        ];
        for (location, want) in cases {
            assert_eq!(shown_location(location), want, "{location:?}");
        }
        let long = format!("/{}", "x".repeat(5000));
        assert!(shown_location(&long).len() < 300);
    }

    #[test]
    fn redirects_are_named_and_permanent_ones_end_the_wait() {
        let location = hyper::header::HeaderValue::from_static("/health/");
        for (code, permanent) in [(301, true), (308, true), (302, false), (307, false)] {
            let v = redirect(StatusCode::from_u16(code).unwrap(), Some(&location));
            let words = format!("{v:?}");
            assert!(
                words.contains(&format!("to '/health/': redirects are not followed; use the final URL (or accept it with #status={code})")),
                "{words}"
            );
            assert_eq!(
                matches!(v, Verdict::Failed { .. }),
                permanent,
                "{code}: {words}"
            );
        }
    }

    #[test]
    fn search_finds_needles_across_chunk_boundaries() {
        let body = b"xxUPyyREADYzz";
        for split in 1..body.len() {
            let mut s = Search::new(b"READY");
            let found = body.chunks(split).any(|c| s.feed(c));
            assert!(found, "chunks of {split}");
            assert!(s.carry.len() < 5);
        }
        let mut s = Search::new(b"READY");
        assert!(!b"REA DY".chunks(1).any(|c| s.feed(c)));
        let mut s = Search::new(b"aab");
        assert!(b"aaab".chunks(1).any(|c| s.feed(c)));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i), o);
        }
    }

    #[test]
    fn options_are_validated() {
        let parse = |s: &str| HttpProbe::from_uri(&crate::uri::parse(s).unwrap());
        assert!(parse("http://h/#status=2xx&contains=UP").is_ok());
        assert!(parse("http://h/#insecure")
            .unwrap_err()
            .contains("https:// targets only"));
        assert!(parse("http://h/#colour=red")
            .unwrap_err()
            .contains("valid: ca, contains, down, header, insecure, optional, stable, status"));
        assert!(parse("https://h/#ca=/nonexistent/ca.pem")
            .unwrap_err()
            .contains("cannot read CA file"));
        assert!(parse("http://h/#header=NoColon").is_err());
        assert!(parse("http://h/#header=Host:%20x")
            .unwrap_err()
            .contains("sends its own host"));
        assert!(parse("http://u:p@h/#header=Authorization:%20Bearer%20x")
            .unwrap_err()
            .contains("choose one"));
        let err = parse("http://h/h?token=Cx9zz<").unwrap_err();
        assert!(!err.contains("Cx9zz"), "{err}");
    }
}
