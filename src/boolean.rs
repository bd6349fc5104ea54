//! The one grammar for yes/no values, shared by flags given a value (`--check=true`), their
//! `READYGATE_*` variables and per-target switches (`#insecure=no`), so that `1`, `yes` and `on`
//! mean the same thing everywhere.

/// The accepted words, for error messages.
pub const WORDS: &str = "true/false, 1/0, yes/no, on/off";

/// `Some(true)` / `Some(false)` for an accepted word (any case, surrounding spaces ignored).
pub fn parse(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The same, as a clap value parser: the error quotes the value (redacted) and the words.
pub fn parse_arg(value: &str) -> Result<bool, String> {
    parse(value).ok_or_else(|| {
        format!(
            "{} is not a yes/no value ({WORDS})",
            crate::text::quote_short(&crate::redact::redact_text(value))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_table() {
        for yes in ["true", "TRUE", "1", "yes", "on", " On "] {
            assert_eq!(parse(yes), Some(true), "{yes:?}");
        }
        for no in ["false", "0", "no", "off", "False"] {
            assert_eq!(parse(no), Some(false), "{no:?}");
        }
        for bad in ["", "2", "y", "enable", "tru"] {
            assert_eq!(parse(bad), None, "{bad:?}");
            assert!(parse_arg(bad).unwrap_err().contains("yes/no"));
        }
    }
}
