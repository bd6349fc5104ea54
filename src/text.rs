//! Text for output and input, with no knowledge of anything else in the crate: JSON string
//! escaping, quoting untrusted input short and without control characters, percent-decoding.
//!
//! A leaf on purpose: redaction, the URL grammar, the reports and the probes all need these, and
//! each sits on a different floor; a helper living in one of them made every other one import it.

use std::fmt::Write as _;

/// `s` escaped as the inside of a JSON string (RFC 8259 §7): for the JSON lines, NATS' CONNECT,
/// and for [`crate::redact`] to know a secret as a JSON line holds it.
pub fn json_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// JSON string escaping (RFC 8259 §7).
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
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

/// Percent-decodes `s` (RFC 3986 §2.1); `None` when a `%` is not followed by two hex digits or
/// the bytes are not UTF-8. `+` stays a plus.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // Two hex digits, nothing else: `from_str_radix` alone would take "%+1" as 0x01.
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_two_hex_digits_and_nothing_else() {
        assert_eq!(percent_decode("p%40ss%2Fw").as_deref(), Some("p@ss/w"));
        assert_eq!(percent_decode("a+b").as_deref(), Some("a+b"));
        for bad in ["%", "%4", "%G0", "%+1", "%-1", "% 1", "%ff"] {
            assert_eq!(percent_decode(bad), None, "{bad:?}");
        }
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
    fn quoting_cuts_on_a_character_boundary() {
        let q = quote_short(&"é".repeat(150));
        assert!(q.ends_with("… (300 bytes)"), "{q}");
    }

    #[test]
    fn json_escaping_follows_rfc_8259() {
        assert_eq!(json_escaped("a\"b\\c\n\u{1}"), "a\\\"b\\\\c\\n\\u0001");
    }
}
