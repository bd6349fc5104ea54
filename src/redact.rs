//! Keeping secrets out of every line the gate prints.
//!
//! Two tools, both structural (they follow the URL grammar; no pattern is run over free text):
//! - [`is_sensitive_key`] decides which query/option keys (and header names) carry credentials; the
//!   parsed [`crate::target::Target`] renders itself without them.
//! - [`redact_input`] is for input that failed to parse and must still be quoted in an error: it
//!   cuts out the userinfo password and sensitive parameter values by position, erring on the side of
//!   hiding too much.

/// The mask printed in place of a secret.
pub const MASK: &str = "***";

/// Whether a query/option key or a header name names a credential.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "pass", "pwd", "secret", "token", "key", "auth", "sig", "cred", "session", "cookie",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Whether the value of `key=value` must be masked: the key is sensitive, or it is a `header`
/// option naming a sensitive header.
fn is_sensitive_pair(key: &str, value: &str) -> bool {
    is_sensitive_key(key)
        || (key.eq_ignore_ascii_case("header")
            && is_sensitive_key(value.split(':').next().unwrap_or("")))
}

/// Renders `key=value` with the value masked when [`is_sensitive_pair`].
pub fn render_pair(key: &str, value: &str) -> String {
    if is_sensitive_pair(key, value) {
        format!("{key}={MASK}")
    } else if value.is_empty() {
        key.to_string()
    } else {
        format!("{key}={value}")
    }
}

/// Redacts a raw, possibly malformed target so that it can be quoted in an error message.
///
/// - Userinfo: everything between the first `:` after the scheme and the LAST `@` is masked (an
///   unencoded `@` or `/` in a password must not leak its tail). This may hide a port or path when
///   an `@` appears later in the input; for an error message that is the right trade.
/// - Parameters after `?`, `&` or `#`: values of sensitive keys are masked.
pub fn redact_input(input: &str) -> String {
    let start = input.find("://").map_or(0, |i| i + 3);
    let (head, rest) = input.split_at(start);
    let rest = match (rest.find(':'), rest.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}:{MASK}{}", &rest[..colon], &rest[at..])
        }
        _ => rest.to_string(),
    };
    let mut out = String::from(head);
    // Split while keeping the separators, then mask sensitive `k=v` segments.
    let mut segment = String::new();
    let mut after_separator = false;
    for c in rest.chars() {
        if matches!(c, '?' | '&' | '#') {
            push_segment(&mut out, &segment, after_separator);
            out.push(c);
            segment.clear();
            after_separator = true;
        } else {
            segment.push(c);
        }
    }
    push_segment(&mut out, &segment, after_separator);
    out
}

fn push_segment(out: &mut String, segment: &str, is_param: bool) {
    match segment.split_once('=') {
        Some((k, v)) if is_param => {
            let key = crate::uri::decode(k).unwrap_or_else(|_| k.to_string());
            let value = crate::uri::decode(v).unwrap_or_else(|_| v.to_string());
            if is_sensitive_pair(&key, &value) {
                out.push_str(k);
                out.push('=');
                out.push_str(MASK);
            } else {
                out.push_str(segment);
            }
        }
        _ => out.push_str(segment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_input_table() {
        let cases = [
            (
                "postgres://u:secret@db:99999/x",
                "postgres://u:***@db:99999/x",
            ),
            ("postgres://u:se@c:r/et@db:1/x", "postgres://u:***@db:1/x"),
            ("redis://:pw@cache:6379", "redis://:***@cache:6379"),
            ("tcp://db:5432", "tcp://db:5432"),
            ("http://h/x?password=abc&x=1", "http://h/x?password=***&x=1"),
            (
                "http://h/x#header=Authorization:%20Bearer%20t",
                "http://h/x#header=***",
            ),
            (
                "http://h/x#header=Accept:%20*/*",
                "http://h/x#header=Accept:%20*/*",
            ),
            ("u:pw@db:5432", "u:***@db:5432"),
            ("http://h/?access_token=zz", "http://h/?access_token=***"),
            // A harmless value that happens to end like the mask stays as it is.
            ("http://h/?note=a***", "http://h/?note=a***"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_input(input), want, "input {input:?}");
        }
    }

    #[test]
    fn sensitive_keys() {
        for k in [
            "password",
            "PGPASSWORD",
            "api_key",
            "token",
            "Authorization",
            "sslpassword",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["sslmode", "status", "contains", "host", "db"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }
}
