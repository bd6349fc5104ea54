//! Small in-process servers for behaviour no real server shows on demand: silence, resets, a full
//! accept queue, slowloris, scripted HTTP answers, TLS with a self-signed certificate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Accepts connections and never says a word.
pub fn silent() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = vec![];
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// Accepts, then resets the connection at once (RST via SO_LINGER 0).
pub fn resetting() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket fd and a correctly sized linger struct.
            unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as u32,
                );
            }
            drop(s);
        }
    });
    port
}

/// A listener whose accept queue is full, so new SYNs are dropped and a connect hangs, as for an
/// address that never answers. Returns the port and what must be kept alive.
pub fn full_backlog() -> (u16, Vec<TcpStream>, TcpListener) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: re-listen on a valid socket with the smallest backlog.
    unsafe { libc::listen(l.as_raw_fd(), 0) };
    let addr = l.local_addr().unwrap();
    let mut fill = vec![];
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fill.push(s);
        }
    }
    (addr.port(), fill, l)
}

/// One scripted HTTP answer.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16, Vec<(&'static str, String)>, String),
    /// Status line, then one header byte a second, forever.
    Slowloris,
    /// A response head bigger than any sane limit.
    GiantHead,
    /// 200 with a chunked body that never ends.
    EndlessBody,
}

pub fn status(code: u16) -> Reply {
    Reply::Status(code, vec![], String::new())
}

/// An HTTP server answering with `script` in order (the last one repeats). Returns the port and the
/// request counter; requests' heads are kept for inspection.
pub struct Http {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
    pub heads: Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn http(script: Vec<Reply>) -> Http {
    http_on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
}

pub fn http_on(l: TcpListener, script: Vec<Reply>) -> Http {
    let port = l.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(std::sync::Mutex::new(vec![]));
    let (r, h) = (requests.clone(), heads.clone());
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            let n = r.fetch_add(1, Ordering::SeqCst);
            let reply = script[n.min(script.len() - 1)].clone();
            let h = h.clone();
            thread::spawn(move || serve_http(s, reply, &h));
        }
    });
    Http {
        port,
        requests,
        heads,
    }
}

pub fn read_head<S: Read>(s: S) -> String {
    let mut reader = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

fn serve_http(mut s: TcpStream, reply: Reply, heads: &std::sync::Mutex<Vec<String>>) {
    let head = read_head(s.try_clone().unwrap());
    heads.lock().unwrap().push(head);
    write_reply(&mut s, reply);
}

pub fn write_reply<W: Write>(s: &mut W, reply: Reply) {
    match reply {
        Reply::Status(code, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = s.write_all(out.as_bytes());
            let _ = s.flush();
        }
        Reply::Slowloris => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
            for _ in 0..600 {
                thread::sleep(Duration::from_secs(1));
                if s.write_all(b"a").is_err() {
                    return;
                }
                let _ = s.flush();
            }
        }
        Reply::EndlessBody => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "z".repeat(64 * 1024));
            for _ in 0..100_000 {
                if s.write_all(chunk.as_bytes()).is_err() {
                    return;
                }
            }
        }
        Reply::GiantHead => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            let line = format!("X-Big: {}\r\n", "b".repeat(8000));
            for _ in 0..200 {
                if s.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
            let _ = s.write_all(b"\r\n");
        }
    }
}

/// An HTTP server that answers `reply` as soon as any bytes arrive, without waiting for a complete
/// request head: what nginx does with a binary protocol's first bytes (a 400 at once).
pub fn http_eager(reply: Reply) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let reply = reply.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                if s.read(&mut buf).unwrap_or(0) > 0 {
                    write_reply(&mut s, reply);
                }
            });
        }
    });
    port
}

/// A self-signed certificate for `localhost` and 127.0.0.1; returns (cert PEM, key PEM).
pub fn self_signed() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// An HTTPS server with the given certificate, answering every request with `reply`.
pub fn https(cert_pem: &str, key_pem: &str, reply: Reply) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let config = Arc::new(config);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            let config = config.clone();
            let reply = reply.clone();
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut buf = [0u8; 4096];
                // Read the request head (a handshake failure ends here).
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                write_reply(&mut tls, reply);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

/// A server that runs `serve` on every connection, each on its own thread: for hostile replies of
/// any protocol (garbage, endless or huge answers).
pub fn raw(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            let serve = serve.clone();
            thread::spawn(move || serve(s));
        }
    });
    port
}

/// Reads whatever the client sent first (a request, a StartupMessage), so that a reply is not
/// written before the client is ready to read it.
pub fn read_some(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf);
}

/// A server that accepts and never answers, counting how many of its connections the client holds
/// open at once (a connection counts until the client closes it).
pub struct Holding {
    pub port: u16,
    pub open: Arc<AtomicUsize>,
    pub most: Arc<AtomicUsize>,
}

pub fn holding() -> Holding {
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (o, m) = (open.clone(), most.clone());
    let port = raw(move |mut s| {
        let now = o.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        let mut buf = [0u8; 4096];
        // Never answers; returns when the client closes (read 0) or resets.
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        o.fetch_sub(1, Ordering::SeqCst);
    });
    Holding { port, open, most }
}

/// A PostgreSQL backend message: type byte, length, body.
pub fn pg_message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}
