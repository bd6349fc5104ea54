//! TLS for every protocol that has it (rustls, no OpenSSL): the client configuration, the
//! handshake, and the per-target options `#ca=FILE` and `#insecure`, parsed here once for all.
//!
//! Configurations are built once, when the plan is made: a CA file that is missing or holds no
//! certificate is a usage error at start, not a retry loop, and no attempt re-reads the disk.
//!
//! Trust: the built-in Mozilla roots (`webpki-roots`, compiled in, so a `FROM scratch` image needs
//! no CA bundle), or only the certificates of a CA file when one is given (as curl's `--cacert` and
//! libpq's `sslrootcert` do). Verification can be weakened only explicitly: `Verify::ChainOnly`
//! (PostgreSQL `verify-ca`) skips the host name; `Verify::None` (HTTP `#insecure`, PostgreSQL
//! `require`) accepts any certificate but still checks the handshake signature.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::params::Params;
use crate::verdict::Verdict;

/// The largest CA file read (the whole Mozilla bundle is about 220 KiB).
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Chain to a trusted root and the host name (the default everywhere).
    Full,
    /// Chain only (PostgreSQL `sslmode=verify-ca`).
    ChainOnly,
    /// Nothing but the handshake signature (explicitly insecure).
    None,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a client configuration. `alpn` is set for protocols that use it (HTTP/1.1).
pub fn client_config(
    ca_file: Option<&Path>,
    verify: Verify,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, String> {
    // One configuration per set of settings, shared by every target that has them: the trust
    // store alone is ~17 KiB, which 10,000 `postgres://` targets (TLS-capable by default) would
    // each have built.
    type Key = (Option<std::path::PathBuf>, Verify, Vec<Vec<u8>>);
    static SHARED: std::sync::Mutex<Vec<(Key, Arc<ClientConfig>)>> =
        std::sync::Mutex::new(Vec::new());
    let key: Key = (
        ca_file.map(Path::to_path_buf),
        verify,
        alpn.iter().map(|p| p.to_vec()).collect(),
    );
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, config)) = shared.iter().find(|(k, _)| *k == key) {
        return Ok(config.clone());
    }
    let config = build_config(ca_file, verify, alpn)?;
    shared.push((key, config.clone()));
    Ok(config)
}

fn build_config(
    ca_file: Option<&Path>,
    verify: Verify,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, String> {
    let (roots, anchors) = roots(ca_file)?;
    let roots = Arc::new(roots);
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut config = if verify == Verify::Full && anchors.is_empty() {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                inner,
                verify,
                anchors,
            }))
            .with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The trust store, and the certificates of the CA file (empty for the built-in roots).
fn roots(ca_file: Option<&Path>) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut store = RootCertStore::empty();
    let mut anchors = Vec::new();
    match ca_file {
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let shown = path.display();
            let data = crate::os::read_small_file(path, MAX_CA_FILE)
                .map_err(|e| format!("cannot read CA file '{shown}': {e}"))?;
            for cert in CertificateDer::pem_slice_iter(&data) {
                let cert = cert.map_err(|e| format!("CA file '{shown}' is not valid PEM: {e}"))?;
                store
                    .add(cert.clone())
                    .map_err(|e| format!("CA file '{shown}' holds a bad certificate: {e}"))?;
                anchors.push(cert);
            }
            if anchors.is_empty() {
                return Err(format!("CA file '{shown}' holds no PEM certificate"));
            }
        }
    }
    Ok((store, anchors))
}

/// The verifier for everything but "built-in roots, full check": it never checks less than it was
/// asked to, and accepts what libpq and curl accept.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    verify: Verify,
    /// The CA file's certificates.
    anchors: Vec<CertificateDer<'static>>,
}

impl Verifier {
    /// A server certificate that IS one of the trusted certificates (a self-signed development
    /// certificate, often made with `CA:TRUE` as `openssl req -x509` does) is trusted as itself,
    /// as OpenSSL does for curl `--cacert` and libpq `sslrootcert`; path building refuses it
    /// (a CA used as an end entity). Its validity period and, for a full check, its names are
    /// still checked.
    fn trusted_as_itself(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Option<Result<ServerCertVerified, rustls::Error>> {
        if !self
            .anchors
            .iter()
            .any(|a| a.as_ref() == end_entity.as_ref())
        {
            return None;
        }
        let invalid = |e| Some(Err(rustls::Error::InvalidCertificate(e)));
        let Some((not_before, not_after)) = validity(end_entity) else {
            return invalid(rustls::CertificateError::BadEncoding);
        };
        let now = now.as_secs() as i64;
        if now < not_before {
            return invalid(rustls::CertificateError::NotValidYet);
        }
        if now > not_after {
            return invalid(rustls::CertificateError::Expired);
        }
        if self.verify == Verify::Full {
            let named = webpki::EndEntityCert::try_from(end_entity)
                .is_ok_and(|c| c.verify_is_valid_for_subject_name(server_name).is_ok());
            if !named {
                return invalid(rustls::CertificateError::NotValidForName);
            }
        }
        Some(Ok(ServerCertVerified::assertion()))
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.verify == Verify::None {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(e) => match self.trusted_as_itself(end_entity, server_name, now) {
                Some(verdict) => verdict,
                None if self.verify == Verify::ChainOnly
                    && matches!(
                        e,
                        rustls::Error::InvalidCertificate(
                            rustls::CertificateError::NotValidForName
                                | rustls::CertificateError::NotValidForNameContext { .. }
                        )
                    ) =>
                {
                    Ok(ServerCertVerified::assertion())
                }
                None => Err(e),
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's validity period (`notBefore`, `notAfter`) in Unix seconds, read from its DER
/// (RFC 5280 §4.1: Certificate → TBSCertificate → \[version\], serial, signature, issuer, validity).
pub(crate) fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (_, tbs, _) = der(cert)?; // Certificate
    let (_, mut rest, _) = der(tbs)?; // TBSCertificate
    let (tag, _, after) = der(rest)?;
    if tag == 0xA0 {
        rest = after; // [0] version
    }
    for _ in 0..3 {
        rest = der(rest)?.2; // serial, signature algorithm, issuer
    }
    let (_, validity, _) = der(rest)?;
    let (t1, before, after) = der(validity)?;
    let (t2, not_after, _) = der(after)?;
    Some((time(t1, before)?, time(t2, not_after)?))
}

/// One DER element: (tag, content, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, 0x18) → Unix seconds.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    // ASCII only: the slicing below is by byte, and a multi-byte character would cut inside it.
    let text = std::str::from_utf8(text)
        .ok()
        .filter(|t| t.is_ascii())?
        .strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day) = (field(0)?, field(2)?);
    let (h, m, s) = (field(4)?, field(6)?, field(8)?);
    Some(crate::duration::utc_seconds(year, month, day, h, m, s))
}

/// TLS as a target uses it: the configuration, built once when the plan is made, and whether
/// verification was switched off (for the warning at start).
#[derive(Debug, Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
    insecure: bool,
    /// What is verified, in words, for `--explain` (a fixed sentence for most targets: not a copy
    /// per target).
    trust: std::borrow::Cow<'static, str>,
}

impl Tls {
    /// TLS with this configuration (a protocol with its own TLS settings, such as PostgreSQL's
    /// `sslmode`, builds its own with [`client_config`]).
    pub fn new(
        config: Arc<ClientConfig>,
        trust: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        Tls {
            config,
            insecure: false,
            trust: trust.into(),
        }
    }

    /// What a target's TLS verifies, in words (for `--explain`), or that it has none.
    pub fn describe(tls: Option<&Tls>) -> String {
        tls.map_or("no TLS".to_string(), |t| t.trust.to_string())
    }

    /// Reads `#ca` and `#insecure` for a scheme. `enabled`: the scheme uses TLS (`https`,
    /// `rediss`); the options are then turned into a configuration. On a plain scheme they are an
    /// error that names `tls_scheme`, the scheme where they belong.
    pub fn from_options(
        opts: &mut Params,
        enabled: bool,
        tls_scheme: &str,
        alpn: &[&[u8]],
    ) -> Result<Option<Tls>, String> {
        let ca = opts.take("ca");
        let insecure = opts.flag("insecure")?;
        if !enabled {
            if ca.is_some() || insecure {
                return Err(format!(
                    "#ca and #insecure apply to {tls_scheme}:// targets only"
                ));
            }
            return Ok(None);
        }
        if ca.is_some() && insecure {
            return Err("#ca and #insecure contradict each other: choose one".into());
        }
        let verify = if insecure { Verify::None } else { Verify::Full };
        let config = client_config(ca.as_deref().map(Path::new), verify, alpn)?;
        let trust = match (&ca, insecure) {
            (_, true) => "TLS, certificate NOT verified (#insecure)".into(),
            (Some(ca), _) => format!("TLS, verified against {ca} (#ca)").into(),
            (None, _) => "TLS, verified against the built-in roots".into(),
        };
        Ok(Some(Tls {
            config,
            insecure,
            trust,
        }))
    }

    /// The warning to show once at start, if verification is off.
    pub fn warning(&self) -> Option<String> {
        self.insecure
            .then(|| "TLS certificate verification is OFF (#insecure)".to_string())
    }

    /// Runs the handshake over `stream`, turning failures into verdicts: a rejected certificate
    /// is permanent (waiting will not fix it), anything else (a reset, a peer that does not speak
    /// TLS) is "not yet".
    pub async fn handshake<S>(
        &self,
        host: &crate::uri::Host,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, Verdict>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = server_name(&host.tls_name()).map_err(Verdict::failed)?;
        match tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
        {
            Ok(s) => Ok(s),
            Err(e) if is_certificate_error(&e) => Err(Verdict::failed(describe(&e))),
            Err(e) => Err(Verdict::costly(describe(&e))),
        }
    }
}

/// The server name to verify, from a host as written in the URL.
fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("'{host}' is not a valid TLS server name"))
}

/// Whether a handshake error means "waiting will not help": the certificate was rejected.
/// Resets and timeouts during a handshake stay transient.
fn is_certificate_error(e: &io::Error) -> bool {
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
            | Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::BadCertificate
            ))
            | Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::UnknownCA
            ))
    )
}

/// A short description of a handshake error.
fn describe(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(c)) => {
            format!("TLS certificate rejected: {}", cert_reason(c))
        }
        Some(rustls::Error::InvalidMessage(_)) => {
            "TLS handshake failed: the server does not speak TLS on this port".into()
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {}", crate::os::io_reason(e)),
    }
}

/// Why a certificate was rejected, in words (never a debug dump).
fn cert_reason(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError::*;
    match c {
        UnknownIssuer => {
            "unknown issuer (not signed by a trusted CA; give the CA with #ca=FILE)".into()
        }
        NotValidForName | NotValidForNameContext { .. } => "not valid for this host name".into(),
        Expired | ExpiredContext { .. } => "expired".into(),
        NotValidYet | NotValidYetContext { .. } => "not valid yet (check the clocks)".into(),
        Revoked => "revoked".into(),
        BadEncoding => "badly encoded".into(),
        BadSignature | UnsupportedSignatureAlgorithmContext { .. } => {
            "bad or unsupported signature".into()
        }
        InvalidPurpose | InvalidPurposeContext { .. } => {
            "not issued for TLS servers (extended key usage)".into()
        }
        other => {
            let text = other.to_string();
            if text.contains("CaUsedAsEndEntity") {
                "unknown issuer (self-signed: the server presents a CA certificate of its own; give it with #ca=FILE, or the CA that signed it)".into()
            } else {
                format!("not acceptable ({text})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_times_are_read_and_odd_ones_refused() {
        assert_eq!(time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(time(0x18, b"20000301000000Z"), Some(951_868_800));
        // 12 bytes, but not 12 ASCII digits: refused, never sliced inside a character.
        assert_eq!(time(0x17, "7\u{e9}0101000000Z".as_bytes()), None);
        assert_eq!(time(0x17, b"7001010000Z"), None);
        assert_eq!(time(0x05, b"700101000000Z"), None);
        for bad in [&b""[..], b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80"] {
            assert_eq!(validity(bad), None, "{bad:?}");
        }
    }
}
