//! Splitting a command line into words as a POSIX shell splits a simple command, without
//! expanding anything: `'…'` literal, `"…"` with `\"`, `\\`, `\$`, `` \` `` escapes, `\x`
//! outside quotes, words separated by white space. No variables, globs, pipes or operators: the
//! words are run as they are. Used for `--exec-check` and docker-compose-wait's `WAIT_COMMAND`.

use std::fmt;

/// What makes a line unsplittable; the caller says which line it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    UnclosedSingle,
    UnclosedDouble,
    TrailingBackslash,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitError::UnclosedSingle => "an unclosed single quote (')",
            SplitError::UnclosedDouble => "an unclosed double quote (\")",
            SplitError::TrailingBackslash => "a backslash at its end",
        })
    }
}

/// The words of `line`.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnclosedSingle),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError::UnclosedDouble),
                        },
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnclosedDouble),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or(SplitError::TrailingBackslash)?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(
            split(r#"pg_isready -h "db host" -U 'a b' x\ y "q\"q" $HOME"#).unwrap(),
            [
                "pg_isready",
                "-h",
                "db host",
                "-U",
                "a b",
                "x y",
                "q\"q",
                "$HOME"
            ]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split("''").unwrap(), [""]);
        assert_eq!(split("'x"), Err(SplitError::UnclosedSingle));
        assert_eq!(split("\"x"), Err(SplitError::UnclosedDouble));
        assert_eq!(split("x\\"), Err(SplitError::TrailingBackslash));
    }
}
