//! TLS client configuration (rustls, no OpenSSL) shared by the HTTPS, PostgreSQL and Redis probes.
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
    let roots = Arc::new(roots(ca_file)?);
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut config = match verify {
        Verify::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verify::ChainOnly | Verify::None => {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| format!("TLS setup failed: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Lenient { inner, verify }))
                .with_no_client_auth()
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match ca_file {
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let shown = path.display();
            let data =
                std::fs::read(path).map_err(|e| format!("cannot read CA file '{shown}': {e}"))?;
            let mut count = 0;
            for cert in CertificateDer::pem_slice_iter(&data) {
                let cert = cert.map_err(|e| format!("CA file '{shown}' is not valid PEM: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("CA file '{shown}' holds a bad certificate: {e}"))?;
                count += 1;
            }
            if count == 0 {
                return Err(format!("CA file '{shown}' holds no PEM certificate"));
            }
        }
    }
    Ok(store)
}

/// A verifier that checks less than the default, but never less than it was asked to.
#[derive(Debug)]
struct Lenient {
    inner: Arc<WebPkiServerVerifier>,
    verify: Verify,
}

impl ServerCertVerifier for Lenient {
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
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
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

/// Runs a TLS handshake over `stream`, turning failures into verdicts: a rejected certificate is
/// permanent (waiting will not fix it), anything else (a reset, a peer that does not speak TLS)
/// is "not yet".
pub async fn handshake<S>(
    config: &Arc<ClientConfig>,
    host: &crate::uri::Host,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, crate::verdict::Verdict>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use crate::verdict::Verdict;
    let name = server_name(&host.tls_name()).map_err(Verdict::failed)?;
    match tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
    {
        Ok(s) => Ok(s),
        Err(e) if is_certificate_error(&e) => Err(Verdict::failed(describe(&e))),
        Err(e) => Err(Verdict::costly(describe(&e))),
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
        None => format!("TLS handshake failed: {}", crate::connect::io_reason(e)),
    }
}

fn cert_reason(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError::*;
    match c {
        UnknownIssuer => {
            "unknown issuer (not signed by a trusted CA; give the CA with #ca=FILE)".into()
        }
        NotValidForName | NotValidForNameContext { .. } => "not valid for this host name".into(),
        Expired | ExpiredContext { .. } => "expired".into(),
        other => format!("{other:?}"),
    }
}
