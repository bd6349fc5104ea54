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
            input: redact::quote_short(&redact::redact_input(input)),
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
        match u.user.as_deref() {
            // A user name holding URL delimiters was most likely meant as part of the password
            // (`a%3ACx9:zz`): show none of it.
            Some(user) if user.contains([':', '@', '/', '?', '#']) => s.push_str(redact::MASK),
            user => {
                s.push_str(user.unwrap_or(""));
                if u.password.is_some() {
                    s.push(':');
                    s.push_str(redact::MASK);
                }
            }
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

/// Reads a target's key=value pairs — readygate's options (the URL fragment, `#key`) or the server's
/// parameters (the query, `?key`) — so that each probe takes the keys it knows, and an unknown or
/// repeated key is an error that lists the valid ones, never silently ignored or "last wins".
#[derive(Debug)]
pub struct Options {
    /// `'#'` for options, `'?'` for query parameters: how keys are shown in errors.
    sigil: char,
    pairs: Vec<(String, String, bool)>,
    /// Keys taken with [`Options::take_all`]: the only ones that may repeat.
    repeatable: Vec<String>,
}

impl Options {
    /// readygate's own options, from the URL fragment.
    pub fn fragment(pairs: &[(String, String)]) -> Self {
        Self::with_sigil('#', pairs)
    }

    /// The server's parameters, from the URL query.
    pub fn query(pairs: &[(String, String)]) -> Self {
        Self::with_sigil('?', pairs)
    }

    fn with_sigil(sigil: char, pairs: &[(String, String)]) -> Self {
        Options {
            sigil,
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), false))
                .collect(),
            repeatable: Vec::new(),
        }
    }

    /// All values of `key`, in order (for repeatable options).
    pub fn take_all(&mut self, key: &str) -> Vec<String> {
        self.repeatable.push(key.to_string());
        self.take_values(key)
    }

    fn take_values(&mut self, key: &str) -> Vec<String> {
        self.pairs
            .iter_mut()
            .filter(|(k, _, _)| k == key)
            .map(|(_, v, used)| {
                *used = true;
                v.clone()
            })
            .collect()
    }

    /// The value of `key` (given twice, it is an error in [`Options::finish`]).
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.take_values(key).pop()
    }

    /// A switch: present without value, or with one of the words of [`crate::boolean`].
    pub fn flag(&mut self, key: &str) -> Result<bool, String> {
        let sigil = self.sigil;
        match self.take(key) {
            None => Ok(false),
            Some(v) if v.is_empty() => Ok(true),
            Some(v) => crate::boolean::parse(&v).ok_or_else(|| {
                format!(
                    "{sigil}{key}={} is not a yes/no value ({})",
                    crate::redact::quote_short(&v),
                    crate::boolean::WORDS
                )
            }),
        }
    }

    /// Fails on any key no probe took, and on a key given twice that cannot repeat.
    pub fn finish(self, scheme: &str, valid: &[&str]) -> Result<(), String> {
        let sigil = self.sigil;
        let what = if sigil == '#' { "option" } else { "parameter" };
        for (i, (k, _, used)) in self.pairs.iter().enumerate() {
            if *used
                && !self.repeatable.contains(k)
                && self.pairs[..i].iter().any(|(o, _, _)| o == k)
            {
                return Err(format!("{what} '{sigil}{k}' is given twice: give it once"));
            }
        }
        let Some((k, _, _)) = self.pairs.iter().find(|(_, _, used)| !used) else {
            return Ok(());
        };
        // A key that is not a plain word is most likely the tail of a password with an unencoded
        // '#' or '?': never quote it.
        let shown = if k.len() <= 40
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            format!("'{sigil}{k}'")
        } else {
            format!(
                "after '{sigil}' (not shown; if a password contains '{sigil}', write it as {})",
                if sigil == '#' { "%23" } else { "%3F" }
            )
        };
        if valid.is_empty() {
            Err(format!(
                "unknown {what} {shown}: {scheme} targets take no {what}s"
            ))
        } else {
            Err(format!(
                "unknown {what} {shown} for {scheme} targets (valid: {})",
                valid.join(", ")
            ))
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
