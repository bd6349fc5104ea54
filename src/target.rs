//! A target: one dependency to wait for, parsed from a URL and validated up front.
//!
//! The scheme picks the probe; each probe module owns its own options and turns a [`Uri`] into its
//! typed target (`probe::tcp::TcpTarget`, …). This module owns what is common: the error type that
//! quotes the (redacted) input with an example, the per-target option reader, and the redacted
//! display name that every output path uses.

use std::fmt;

use crate::probe::{self, Spec};
use crate::redact;
use crate::uri::{self, Uri};

/// One dependency, ready to probe.
#[derive(Debug)]
pub struct Target {
    /// How the target appears in every output: parsed, then rendered without secrets.
    pub name: String,
    pub spec: Spec,
}

/// A target that cannot be used, with everything needed for a useful message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// The input with any secret masked.
    pub input: String,
    pub problem: String,
    pub example: &'static str,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid target '{}': {}\n  example: {}",
            self.input, self.problem, self.example
        )
    }
}

impl std::error::Error for TargetError {}

/// The example shown for a scheme (or the general one).
pub fn example_for(scheme: &str) -> &'static str {
    match scheme {
        "http" => "http://api:8080/healthz",
        "https" => "https://api.example.com/healthz#ca=/run/secrets/ca.pem",
        "postgres" | "postgresql" => "postgres://app@db:5432/app",
        "redis" | "rediss" => "redis://cache:6379/0",
        _ => "tcp://db:5432 (or db:5432)",
    }
}

impl Target {
    /// Parses and validates one target.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let fail = |scheme: &str, problem: String| TargetError {
            input: redact::redact_input(input),
            problem,
            example: example_for(scheme),
        };
        let scheme_hint = input.split("://").next().filter(|_| input.contains("://"));
        let parsed = uri::parse(input).map_err(|e| {
            let mut problem = e.to_string();
            if e == uri::UriError::MissingPort && !input.contains("://") {
                problem = "expected host:port or a URL".to_string();
            }
            fail(scheme_hint.unwrap_or("tcp"), problem)
        })?;
        if !input.contains("://") && parsed.port.is_none() {
            return Err(fail(
                "tcp",
                "expected host:port or a URL (is it the command? put `--` before the command)"
                    .to_string(),
            ));
        }
        let spec = probe::parse_spec(&parsed).map_err(|p| fail(&parsed.scheme, p))?;
        Ok(Target {
            name: display_name(&parsed, spec.default_port()),
            spec,
        })
    }
}

/// Renders a parsed URL for people: `scheme://user:***@host:port/path?query`, with the default
/// port left out, sensitive query values masked and readygate's own options (the fragment) omitted.
fn display_name(u: &Uri, default_port: Option<u16>) -> String {
    let mut s = format!("{}://", u.scheme);
    if u.user.is_some() || u.password.is_some() {
        s.push_str(u.user.as_deref().unwrap_or(""));
        if u.password.is_some() {
            s.push(':');
            s.push_str(redact::MASK);
        }
        s.push('@');
    }
    if let Some(h) = &u.host {
        s.push_str(&h.to_url_form());
    }
    if let Some(p) = u.port.filter(|p| Some(*p) != default_port) {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(&u.path);
    if !u.query.is_empty() {
        let rendered: Vec<String> = u
            .query
            .iter()
            .map(|(k, v)| redact::render_pair(k, v))
            .collect();
        s.push('?');
        s.push_str(&rendered.join("&"));
    }
    s
}

/// Reads readygate's per-target options (the URL fragment), so that each probe takes the keys it
/// knows and an unknown key is an error that lists the valid ones, never silently ignored.
#[derive(Debug)]
pub struct Options {
    pairs: Vec<(String, String, bool)>,
}

impl Options {
    pub fn new(pairs: &[(String, String)]) -> Self {
        Options {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), false))
                .collect(),
        }
    }

    /// All values of `key`, in order (for repeatable options).
    pub fn take_all(&mut self, key: &str) -> Vec<String> {
        self.pairs
            .iter_mut()
            .filter(|(k, _, _)| k == key)
            .map(|(_, v, used)| {
                *used = true;
                v.clone()
            })
            .collect()
    }

    /// The last value of `key`.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.take_all(key).pop()
    }

    /// A switch: present without value, or `=true|false|1|0|yes|no`.
    pub fn flag(&mut self, key: &str) -> Result<bool, String> {
        match self.take(key).as_deref() {
            None => Ok(false),
            Some("" | "1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(format!("option '{key}' takes true or false, not '{other}'")),
        }
    }

    /// Fails on any key no probe took.
    pub fn finish(self, scheme: &str, valid: &[&str]) -> Result<(), String> {
        match self.pairs.iter().find(|(_, _, used)| !used) {
            None => Ok(()),
            Some((k, _, _)) if valid.is_empty() => Err(format!(
                "unknown option '#{k}': {scheme} targets take no options"
            )),
            Some((k, _, _)) => Err(format!(
                "unknown option '#{k}' for {scheme} targets (valid: {})",
                valid.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_masks_password_and_sensitive_query() {
        let t = Target::parse("http://u:hunter2@api:8080/h?token=abc&full=1#status=200").unwrap();
        assert_eq!(t.name, "http://u:***@api:8080/h?token=***&full=1");
    }

    #[test]
    fn display_omits_default_port() {
        let t = Target::parse("http://api:80/healthz").unwrap();
        assert_eq!(t.name, "http://api/healthz");
        let t = Target::parse("db:5432").unwrap();
        assert_eq!(t.name, "tcp://db:5432");
    }

    #[test]
    fn errors_quote_redacted_input_and_example() {
        let cases = [
            (
                "ftp://x:1",
                "invalid target 'ftp://x:1': unknown scheme 'ftp'",
            ),
            (
                "gunicorn",
                "invalid target 'gunicorn': expected host:port or a URL",
            ),
            ("tcp://db", "invalid target 'tcp://db': the port is missing"),
            (
                "tcp://u:s3cret@db:0",
                "invalid target 'tcp://u:***@db:0': port 0",
            ),
            (
                "db:5432#bogus",
                "unknown option '#bogus': tcp targets take no options",
            ),
            ("tcp://", "invalid target 'tcp://': the host is missing"),
            ("http://:80/", "the host is missing"),
        ];
        for (input, want) in cases {
            let err = Target::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "input {input:?}: got {err:?}");
            assert!(err.contains("example: "), "input {input:?}: got {err:?}");
            assert!(!err.contains("s3cret"));
        }
    }
}
