//! A target's `key=value` pairs — readygate's own options (the URL fragment, `#key`) and the server's
//! parameters (the query, `?key`) — read so that each probe takes the keys it knows, and an
//! unknown or repeated key is an error naming the valid ones. The pairs know where they came from,
//! so errors say `#status` or `?db` as the user wrote them.

use crate::redact::Secret;
use crate::uri::Uri;

/// The options every kind of target takes (read by `target::Rules` before the probe sees its
/// own), so every kind's "valid options" list names them too.
pub const SHARED_OPTIONS: &[&str] = &["stable", "optional", "down"];

/// Reads a target's key=value pairs — readygate's options (the URL fragment, `#key`) or the server's
/// parameters (the query, `?key`) — so that each probe takes the keys it knows, and an unknown or
/// repeated key is an error that lists the valid ones, never silently ignored or "last wins".
#[derive(Debug)]
pub struct Params {
    /// `'#'` for options, `'?'` for query parameters: how keys are shown in errors.
    sigil: char,
    pairs: Vec<(String, String, bool)>,
    /// Keys taken with [`Params::take_all`]: the only ones that may repeat.
    repeatable: Vec<String>,
}

impl Params {
    /// readygate's own options, from the URL fragment.
    pub fn fragment(pairs: &[(String, String)]) -> Self {
        Self::with_sigil('#', pairs)
    }

    /// The server's parameters, from the URL query.
    pub fn query(pairs: &[(String, String)]) -> Self {
        Self::with_sigil('?', pairs)
    }

    fn with_sigil(sigil: char, pairs: &[(String, String)]) -> Self {
        Params {
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

    /// The value of `key` (given twice, it is an error in [`Params::finish`]).
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
                    crate::text::quote_short(&v),
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
        // Every kind also takes the shared options.
        let mut all: Vec<&str> = valid.to_vec();
        if sigil == '#' {
            all.extend(SHARED_OPTIONS);
            all.sort_unstable();
            all.dedup();
        }
        if all.is_empty() {
            Err(format!(
                "unknown {what} {shown}: {scheme} targets take no {what}s"
            ))
        } else {
            Err(format!(
                "unknown {what} {shown} for {scheme} targets (valid: {})",
                all.join(", ")
            ))
        }
    }
}

/// The password, from the URL's user part or from `?password=`, but not both.
pub fn password(uri: &Uri, from_query: Option<String>) -> Result<Option<Secret>, String> {
    match (&uri.password, from_query) {
        (Some(_), Some(_)) => Err("the password is given both in the URL and as ?password=".into()),
        (Some(p), None) => Ok(Some(p.clone())),
        (None, q) => Ok(q.map(Secret::new)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_unknown_and_odd_keys() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut p = Params::fragment(&pairs(&[("status", "200"), ("status", "201")]));
        p.take("status");
        assert!(p
            .finish("http", &["status"])
            .unwrap_err()
            .contains("'#status' is given twice"));
        let mut p = Params::fragment(&pairs(&[("header", "a:b"), ("header", "c:d")]));
        assert_eq!(p.take_all("header").len(), 2);
        assert!(p.finish("http", &["header"]).is_ok());
        let p = Params::query(&pairs(&[("x@db/app", "")]));
        let err = p.finish("postgres", &["host"]).unwrap_err();
        assert!(!err.contains("x@db"), "{err}");
        assert!(err.contains("%3F"), "{err}");
        let mut p = Params::fragment(&pairs(&[("insecure", "maybe")]));
        assert!(p.flag("insecure").unwrap_err().contains("yes/no"));
    }
}
