//! Keeping secrets out of every line the gate prints.
//!
//! Two tools, both structural (they follow the URL grammar; no pattern is run over free text):
//! - [`is_sensitive_key`] decides which query/option keys (and header names) carry credentials; the
//!   parsed [`crate::target::Target`] renders itself without them.
//! - [`redact_input`] is for input that failed to parse and must still be quoted in an error: it
//!   cuts out the userinfo password and sensitive parameter values by position, erring on the side of
//!   hiding too much.
//!
//! And one net under both: every secret the gate holds is [`register`]ed when it is read (each
//! [`crate::uri::Secret`] on creation, the HTTP Basic credentials once encoded), and [`scrub`]
//! masks any of them, raw or percent-encoded, in every line before it is written — so a server
//! that echoes the password back in its error message cannot make the gate print it.

use std::sync::Mutex;

/// Secrets shorter than this are not scrubbed from free text: masking every "pw" would garble
/// the output, and so short a secret is no secret. They are still never printed by the renderers.
const MIN_SCRUBBED: usize = 4;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret so that [`scrub`] masks it (and its percent-encoded forms) in all output.
pub fn register(secret: &str) {
    if secret.len() < MIN_SCRUBBED {
        return;
    }
    let mut all = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for form in [
        secret.to_string(),
        percent_encode(secret, false),
        percent_encode(secret, true),
        // As a JSON string holds it (NATS' CONNECT, echoed back in an error).
        crate::report::subscriber::json_escaped(secret),
    ] {
        if !all.contains(&form) {
            all.push(form);
        }
    }
    // Longest first: a secret that contains another is masked whole.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret masked.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    let all = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    if !all.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Percent-encodes every byte outside the unreserved set (`all`: every non-alphanumeric byte),
/// upper-case hex, as a user might have written the secret in a URL.
fn percent_encode(s: &str, all: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || (!all && b"-._~".contains(&b));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The mask printed in place of a secret.
pub const MASK: &str = "***";

/// Whether a query/option key or a header name names a credential.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "pass", "pwd", "pw", "secret", "token", "key", "auth", "sig", "cred", "session", "cookie",
        "jwt", "bearer", "code", "access", "private", "otp", "nonce",
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

/// Renders `key=value` with the value masked when the key (or the header it names) is sensitive.
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
/// - Userinfo: everything from the start of the authority to the LAST `@` of the whole input is
///   suspect (an unencoded `/`, `?`, `#` or `@` in a password cuts it anywhere). The user name is
///   kept only when it is a plain name followed by `:`; the rest up to that `@` is masked. This may
///   hide a host or path when an `@` appears later in the input; for an error message that is the
///   right trade.
/// - Parameters after `?`, `&` or `#`: values of sensitive keys are masked.
pub fn redact_input(input: &str) -> String {
    let start = input.find("://").map_or(0, |i| i + 3);
    let (head, rest) = input.split_at(start);
    let rest = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo
                .find(':')
                .map(|colon| &userinfo[..colon])
                .filter(|u| !u.contains(['/', '?', '#', '%']));
            match user {
                Some(u) => format!("{u}:{MASK}{}", &rest[at..]),
                None => format!("{MASK}{}", &rest[at..]),
            }
        }
        None => rest.to_string(),
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

/// Redacts free text that may quote a target, such as a command-line parser's error about a URL
/// given where a duration was expected: every word that looks like a URL or carries an `@` is
/// passed through [`redact_input`]. Words are split at white space and quotes.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains("://") || word.contains('@') {
            out.push_str(&redact_input(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\'' | '"' | '`') {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Input quoted in a message is cut to a length that keeps every line short (a healthcheck's
/// output must stay far below Docker's 4 KiB, and nobody reads a 100 KB target).
/// Control characters are shown escaped (`\u{7}`), never raw.
pub fn quote_short(text: &str) -> String {
    const MAX: usize = 200;
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 16);
    for c in text[..end].chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if end < text.len() {
        out.push_str(&format!("… ({} bytes)", text.len()));
    }
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
    fn registered_secrets_are_scrubbed_in_every_form() {
        register("s3cr#t/pw-xyz");
        register("ab");
        let line = "echo s3cr#t/pw-xyz and s3cr%23t%2Fpw-xyz and s3cr%23t%2Fpw%2Dxyz; ab stays";
        assert_eq!(scrub(line), "echo *** and *** and ***; ab stays");
        assert!(matches!(
            scrub("nothing here"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn redact_input_table() {
        let cases = [
            (
                "postgres://u:secret@db:99999/x",
                "postgres://u:***@db:99999/x",
            ),
            ("postgres://u:se@c:r/et@db:1/x", "postgres://u:***@db:1/x"),
            ("redis://SECRET@cache", "redis://***@cache"),
            ("redis://:Cx9zz/x@cache:6379/0", "redis://:***@cache:6379/0"),
            ("http://a%3ACx9:zz@api/", "http://***@api/"),
            (
                "postgres://app:p@ss/Cx9tail@db/app",
                "postgres://app:***@db/app",
            ),
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
    fn redact_text_masks_urls_inside_messages() {
        let msg = "error: invalid value 'postgres://app:Cx9zz@db/app' for '--timeout <DURATION>'";
        let out = redact_text(msg);
        assert!(!out.contains("Cx9zz"), "{out}");
        assert!(out.contains("'postgres://app:***@db/app'"), "{out}");
        assert_eq!(redact_text("plain words stay"), "plain words stay");
    }

    #[test]
    fn quote_short_caps_length() {
        let long = "x".repeat(100_000);
        let q = quote_short(&long);
        assert!(q.len() < 300, "{}", q.len());
        assert!(q.ends_with("(100000 bytes)"));
        assert_eq!(quote_short("db:1"), "db:1");
        assert_eq!(quote_short("a\u{7}\0b"), "a\\u{7}\\u{0}b");
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
        for k in [
            "pw",
            "jwt",
            "bearer",
            "code",
            "auth",
            "X-Access-Token",
            "x-api-key",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["sslmode", "status", "contains", "host", "db"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }
}
