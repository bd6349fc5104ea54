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
//! [`Secret`] on creation, the HTTP Basic credentials once encoded), and [`scrub`]
//! masks any of them, raw or percent-encoded, in every line before it is written — so a server
//! that echoes the password back in its error message cannot make the gate print it.

use std::sync::Mutex;

/// Secrets shorter than this are not scrubbed from free text: masking every "pw" would garble
/// the output, and so short a secret is no secret. They are still never printed by the renderers.
const MIN_SCRUBBED: usize = 4;

/// Secrets at least this long are "strong": masked wherever they appear, in any line. A shorter
/// one (a weak password such as `ready` or `guest`) could be one of readygate's own words or part
/// of one, so it is masked only where it stands as a token of its own in text that came from
/// outside (a server's message, a command's output): see [`scrub_outside`].
const STRONG: usize = 8;

/// One form of a registered secret, and whether it may be masked anywhere.
struct Form {
    text: String,
    strong: bool,
}

static SECRETS: Mutex<Vec<Form>> = Mutex::new(Vec::new());

/// Words the gate prints as names (schemes, users, hosts, databases): a secret equal to one of them
/// is never masked by value, since the mask would hide the name and reveal the secret at once. The
/// gate warns about such a password instead (see `target::weak_password`).
static PUBLIC: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A secret value (password). `Debug` prints `***`; there is deliberately no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        register(&value);
        Secret(value)
    }
    /// A well-known default credential (AMQP's `guest`), kept out of [`scrub`]'s
    /// list: it is no secret, and masking the word would garble the output.
    pub fn well_known(value: &str) -> Self {
        Secret(value.to_string())
    }
    /// The raw value, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Remembers a secret so that [`scrub`] masks it (and its encoded forms) in all output.
pub fn register(secret: &str) {
    if secret.len() < MIN_SCRUBBED {
        return;
    }
    let strong = secret.chars().count() >= STRONG;
    let mut forms = vec![
        secret.to_string(),
        percent_encode(secret, false),
        percent_encode(secret, true),
        // As a JSON string holds it (NATS' CONNECT, echoed back in an error).
        crate::text::json_escaped(secret),
    ];
    if strong {
        // A hostile server may echo what it was sent encoded: in hex, reversed, or in base64 as
        // part of a longer message (SASL PLAIN's "\0user\0password"), at any of three alignments.
        forms.push(hex(secret, false));
        forms.push(hex(secret, true));
        forms.push(secret.chars().rev().collect());
        forms.extend(base64_cores(secret.as_bytes()));
    }
    let mut all = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for text in forms {
        if text.len() >= MIN_SCRUBBED && !all.iter().any(|f| f.text == text) {
            all.push(Form { text, strong });
        }
    }
    // Longest first: a secret that contains another is masked whole.
    all.sort_by_key(|f| std::cmp::Reverse(f.text.len()));
}

/// Remembers words that are printed as names (see [`PUBLIC`]).
pub fn register_public<'a>(words: impl IntoIterator<Item = &'a str>) {
    let mut public = PUBLIC.lock().unwrap_or_else(|p| p.into_inner());
    for w in words {
        if !w.is_empty() && !public.iter().any(|p| p == w) {
            public.push(w.to_string());
        }
    }
}

/// `text` (any line the gate writes) with every strong secret masked wherever it appears.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    mask(text, false)
}

/// `text` that came from outside (a server, a command) with every secret masked: strong ones
/// anywhere, weak ones where they stand as a token of their own.
pub fn scrub_outside(text: &str) -> std::borrow::Cow<'_, str> {
    mask(text, true)
}

fn mask(text: &str, outside: bool) -> std::borrow::Cow<'_, str> {
    let all = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let public = PUBLIC.lock().unwrap_or_else(|p| p.into_inner());
    let applies = |f: &Form| {
        (f.strong || outside) && text.contains(f.text.as_str()) && !public.contains(&f.text)
    };
    if !all.iter().any(applies) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for f in all.iter() {
        if (f.strong || outside) && !public.contains(&f.text) && out.contains(f.text.as_str()) {
            out = if f.strong {
                out.replace(f.text.as_str(), MASK)
            } else {
                replace_tokens(&out, &f.text)
            };
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Replaces the occurrences of `word` that no letter or digit touches on either side.
fn replace_tokens(text: &str, word: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        let token =
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        out.push_str(&rest[..i]);
        out.push_str(if token { MASK } else { word });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// `s` in hex, two digits a byte.
fn hex(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// The parts of `secret`'s base64 that stay the same whatever surrounds it, for each of the three
/// positions it can take modulo 3 in a longer encoded message.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let encode = |data: &[u8]| -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]);
            }
        }
        out
    };
    (0..3)
        .filter_map(|offset| {
            let mut data = vec![0u8; offset];
            data.extend_from_slice(secret);
            let encoded = encode(&data);
            // Characters that mix in a neighbour's bits: one per byte of offset at the start, and
            // the last one when the secret does not end on a 3-byte boundary.
            let start = (offset * 4).div_ceil(3);
            let end = if data.len() % 3 == 0 {
                encoded.len()
            } else {
                encoded.len() - 1
            };
            (end > start + 4).then(|| String::from_utf8_lossy(&encoded[start..end]).into_owned())
        })
        .collect()
}

/// Percent-encodes every byte outside the unreserved set (`all`: every non-alphanumeric byte),
/// upper-case hex, as a user might have written the secret in a URL.
pub fn percent_encode(s: &str, all: bool) -> String {
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
pub fn is_sensitive_pair(key: &str, value: &str) -> bool {
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
    // A bare word right after a masked value may be its tail, cut by a raw '&' or '#'.
    let mut after_masked = false;
    for c in rest.chars() {
        if matches!(c, '?' | '&' | '#') {
            after_masked = push_segment(&mut out, &segment, after_separator, after_masked);
            out.push(c);
            segment.clear();
            after_separator = true;
        } else {
            segment.push(c);
        }
    }
    push_segment(&mut out, &segment, after_separator, after_masked);
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

/// Writes one segment, masked when it is a sensitive `key=value` or a bare word after one;
/// returns whether it was masked.
fn push_segment(out: &mut String, segment: &str, is_param: bool, after_masked: bool) -> bool {
    match segment.split_once('=') {
        Some((k, v)) if is_param => {
            let key = crate::text::percent_decode(k).unwrap_or_else(|| k.to_string());
            let value = crate::text::percent_decode(v).unwrap_or_else(|| v.to_string());
            if is_sensitive_pair(&key, &value) {
                out.push_str(k);
                out.push('=');
                out.push_str(MASK);
                return true;
            }
            out.push_str(segment);
            false
        }
        None if is_param && after_masked && !crate::flags::FLAGS.contains(&segment) => {
            out.push_str(MASK);
            true
        }
        _ => {
            out.push_str(segment);
            false
        }
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
        // Encoded echoes of a strong secret: hex, reversed, base64 inside a longer message.
        register("AmqpSecretPw77");
        let echo = "b64=AGFtcXB1c2VyAEFtcXBTZWNyZXRQdzc3 hex=416d717053656372657450773737 rev=77wPterceSpqmA";
        let out = scrub(echo);
        for leak in ["XBTZWNyZXRQdzc3", "416d7170536563", "77wPterceSpqmA"] {
            assert!(!out.contains(leak), "{out}");
        }
        assert!(matches!(
            scrub("nothing here"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_weak_secret_is_masked_only_as_a_token_of_outside_text() {
        register("rdyx");
        register("pgpgpg");
        register_public(["pgpgpg"]);
        // The gate's own words: untouched.
        assert_eq!(scrub("rdyxgate: rdyx"), "rdyxgate: rdyx");
        // A server's message: the token is masked, the word that contains it is not.
        assert_eq!(scrub_outside("rdyxgate said rdyx."), "rdyxgate said ***.");
        // Equal to a name the gate prints: never masked by value.
        assert_eq!(scrub_outside("user \"pgpgpg\""), "user \"pgpgpg\"");
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
            // The tail of a secret cut by a raw '&' or '#' is masked with it.
            (
                "postgres://h/db?password=PgPart1&PgPart2xyz",
                "postgres://h/db?password=***&***",
            ),
            (
                "http://h/?token=TokPart1#TokPart2xyz",
                "http://h/?token=***#***",
            ),
            ("http://h/?token=T1#down", "http://h/?token=***#down"),
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
