//! TLS in a build without it (feature `tls` off): the names of `tls.rs`, so that every probe
//! compiles unchanged, and no way to make a [`Tls`]. Asking for TLS — a TLS scheme, `#ca`,
//! `#insecure`, PostgreSQL's `sslmode=require`, MySQL's `ssl-mode=REQUIRED` — is refused when the
//! plan is made, naming the feature; PostgreSQL's `prefer` and MySQL's `PREFERRED` (their defaults)
//! go in plaintext, as libpq built without SSL does.

use std::path::Path;
use std::sync::Arc;

use crate::features::not_built;
use crate::params::Params;
use crate::verdict::Verdict;

/// How much of the server's certificate would be checked (as in `tls.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Full,
    ChainOnly,
    None,
}

/// A client configuration, which this build cannot make.
#[derive(Debug)]
pub enum ClientConfig {}

/// Always the refusal: this build has no TLS.
pub fn client_config(
    _ca_file: Option<&Path>,
    _verify: Verify,
    _alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, String> {
    Err(not_built("TLS", "tls"))
}

/// TLS as a target uses it: no value of this type exists in this build.
#[derive(Debug, Clone)]
pub enum Tls {}

impl Tls {
    pub fn new(
        config: Arc<ClientConfig>,
        _trust: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        match *config {}
    }

    pub fn describe(_tls: Option<&Tls>) -> String {
        "no TLS".to_string()
    }

    /// `#ca` and `#insecure` are read so that they are never taken for unknown options; any TLS
    /// asked for is refused.
    pub fn from_options(
        opts: &mut Params,
        enabled: bool,
        tls_scheme: &str,
        _alpn: &[&[u8]],
    ) -> Result<Option<Tls>, String> {
        let ca = opts.take("ca");
        let insecure = opts.flag("insecure")?;
        if enabled {
            return Err(not_built(&format!("TLS ({tls_scheme}://)"), "tls"));
        }
        if ca.is_some() || insecure {
            return Err(not_built("TLS (#ca, #insecure)", "tls"));
        }
        Ok(None)
    }

    pub fn warning(&self) -> Option<String> {
        match *self {}
    }

    pub async fn handshake<S>(&self, _host: &crate::uri::Host, _stream: S) -> Result<S, Verdict> {
        match *self {}
    }
}
