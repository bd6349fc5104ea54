//! Splitting a list of targets (white space in `READYGATE_TARGETS`) and an any-of group (`|`)
//! without ever cutting a secret in two.
//!
//! Why not a plain `split`: a password, a `?password=` value or a credential header may hold a raw
//! `|` or space, and a piece of a secret that fails to parse would be quoted in the error, or a
//! piece that happens to parse would be printed as a target's name. So a separator splits only
//! where the URL structure says a new target may begin:
//! - what follows it starts like a target (`scheme://…` or `host:port`, with no `@` in the host);
//! - and what precedes it does not end inside a secret (a userinfo still waiting for its `@`, or
//!   the value of a sensitive `?key=` / `#key=` / credential header).
//!
//! A separator that fails the first test is not a separator: it stays in the word, and the parser
//! later refuses the word (a space is never valid in a target; a `|` inside a password or value
//! parses as that character). One that passes the first test but not the second is ambiguous, and
//! is refused with a message that quotes nothing of the input past the scheme.

use crate::redact;

/// A list of targets separated by `sep` characters, or the message for an ambiguous separator.
pub fn split(text: &str, is_sep: fn(char) -> bool) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut start = None::<usize>;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_sep(c) {
            start.get_or_insert(i);
            continue;
        }
        // The run of separators [i, end).
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if !is_sep(d) {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let Some(s) = start else { continue };
        let before = &text[s..i];
        let after = &text[end..];
        if after.is_empty() || starts_like_a_target(after) {
            if !after.is_empty() && ends_inside_a_secret(before, after) {
                return Err(ambiguous(before));
            }
            out.push(before);
            start = None;
        }
        // Otherwise the separator belongs to the word (see the module's comment).
    }
    if let Some(s) = start {
        out.push(text[s..].trim_end_matches(is_sep));
    }
    Ok(out)
}

/// The message for a separator that may be inside a secret: nothing past the scheme is quoted.
fn ambiguous(before: &str) -> String {
    let scheme = before.find("://").map_or("", |i| &before[..i + 3]);
    format!(
        "a '|' or a space in '{}{}' follows a password or a secret value, so it cannot be told from \
         part of it: percent-encode it inside the secret (| as %7C, a space as %20, & as %26, # as %23)",
        crate::text::quote_short(scheme),
        redact::MASK
    )
}

/// Whether `s` begins like a target: `scheme://`, or a bare `host:port` (`[v6]:port` too).
pub fn starts_like_a_target(s: &str) -> bool {
    if starts_with_scheme(s) {
        return true;
    }
    let (host_end, rest) = if let Some(inner) = s.strip_prefix('[') {
        match inner.find(']') {
            Some(close) => (close + 2, &s[close + 2..]),
            None => return false,
        }
    } else {
        let n = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._".contains(c)))
            .unwrap_or(s.len());
        (n, &s[n..])
    };
    if host_end == 0 {
        return false;
    }
    let Some(port) = rest.strip_prefix(':') else {
        return false;
    };
    let digits = port.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && port[digits..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, '#' | '|' | '/') || c.is_whitespace())
}

/// Whether `word` (a target so far) ends where a secret may still be being written, given what
/// follows the separator: a userinfo with a password and no `@` yet (only if an `@` comes later:
/// without one, no host could follow), or the value of a sensitive query key, option or credential
/// header (unless a whole new `scheme://` target follows, which no secret value holds).
fn ends_inside_a_secret(word: &str, after: &str) -> bool {
    if let Some(i) = word.find("://") {
        let authority = &word[i + 3..];
        let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
        // `scheme://user:pass` with the host still to come after an `@`, which a later piece
        // holds; `scheme://host:port` is a whole target.
        if !authority.contains('@') && after.contains('@') {
            if let Some((_, after_colon)) = authority.split_once(':') {
                if !after_colon.bytes().all(|b| b.is_ascii_digit()) {
                    return true;
                }
            }
        }
    }
    if starts_with_scheme(after) {
        return false;
    }
    match word.rfind(['?', '&', '#']) {
        Some(i) => match word[i + 1..].split_once('=') {
            Some((k, v)) => {
                let key = crate::uri::decode(k).unwrap_or_else(|_| k.to_string());
                let value = crate::uri::decode(v).unwrap_or_else(|_| v.to_string());
                redact::is_sensitive_pair(&key, &value)
            }
            None => false,
        },
        None => false,
    }
}

/// Whether `s` begins with `scheme://`.
fn starts_with_scheme(s: &str) -> bool {
    let n = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphanumeric() || (*i > 0 && "+-.".contains(*c)))
        .count();
    n > 0 && s.as_bytes()[0].is_ascii_alphabetic() && s[n..].starts_with("://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(c: char) -> bool {
        c.is_whitespace()
    }

    fn bar(c: char) -> bool {
        c == '|'
    }

    #[test]
    fn lists_split_between_targets() {
        assert_eq!(
            split(" db:5432\n cache:6379 http://api/h ", ws).unwrap(),
            ["db:5432", "cache:6379", "http://api/h"]
        );
        assert_eq!(
            split("kafka1:9092|kafka2:9092|tcp://k3:1#down", bar).unwrap(),
            ["kafka1:9092", "kafka2:9092", "tcp://k3:1#down"]
        );
        assert_eq!(
            split("http://a/h?x=1|http://b/h", bar).unwrap(),
            ["http://a/h?x=1", "http://b/h"]
        );
        assert_eq!(split("   ", ws).unwrap(), Vec::<&str>::new());
        assert_eq!(
            split("[::1]:5432 db:1", ws).unwrap(),
            ["[::1]:5432", "db:1"]
        );
    }

    #[test]
    fn a_separator_inside_a_secret_stays_in_the_word() {
        for (text, is_sep) in [
            (
                "redis://:SecretPa|ssw0rd@127.0.0.1:6379",
                bar as fn(char) -> bool,
            ),
            ("postgres://h/db?password=PgSe|cret123", bar),
            ("http://h/#header=X-Api-Token:%20Tok|enValue99", bar),
            ("amqp://u:AmQp|Passw0rd@h/vh", bar),
            ("redis://u:1234|5678@h:1", bar),
            ("redis://:Secret Passw0rd@h:6379", ws),
            ("postgres://u:Pass\tWordXyz@h/db", ws),
            ("http://h/#header=X-Api-Key: SecretKeyVal99", ws),
        ] {
            assert_eq!(split(text, is_sep).unwrap(), [text], "{text:?}");
        }
    }

    #[test]
    fn an_ambiguous_separator_is_refused_without_quoting_the_secret() {
        for text in [
            "http://h/?token=abc|def:80",
            "redis://u:pw|tcp://x:1@h:1",
            "http://h/#header=Authorization:%20Bearer%20abc|x:80",
        ] {
            let err = split(text, bar).unwrap_err();
            for piece in ["abc", "pw|", "def"] {
                assert!(!err.contains(piece), "{text}: {err}");
            }
        }
    }

    #[test]
    fn a_secret_value_followed_by_a_whole_target_is_a_list() {
        assert_eq!(
            split("http://api/h?access_token=XYZ postgres://db/app", ws).unwrap(),
            ["http://api/h?access_token=XYZ", "postgres://db/app"]
        );
        assert_eq!(
            split("http://a/?token=x|http://b/", bar).unwrap(),
            ["http://a/?token=x", "http://b/"]
        );
        // No '@' later: `redis://u:pw` can only be a host and a port (refused by the parser).
        assert_eq!(
            split("redis://u:pw|tcp://x:1", bar).unwrap(),
            ["redis://u:pw", "tcp://x:1"]
        );
    }

    #[test]
    fn target_starts() {
        for yes in [
            "db:5432",
            "tcp://x",
            "postgres+x://",
            "[::1]:1",
            "a.b-c_d:80/x",
        ] {
            assert!(starts_like_a_target(yes), "{yes}");
        }
        for no in [
            "ssw0rd@h:1",
            "word",
            "5678@h:1",
            ":80",
            "h:",
            "h:x",
            "1x://",
        ] {
            assert!(!starts_like_a_target(no), "{no}");
        }
    }
}
