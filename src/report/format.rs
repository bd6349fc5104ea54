//! The one place that turns an [`Event`] into a line: text (`readygate: warning: …`) or a JSON
//! object (`--log-format json`), for every mode — waiting, `--check`, `--watch`, usage errors —
//! and draws the live status line.
//! In a drop-in mode the same events go to that tool's voice instead ([`super::voice::Voice::speak`]),
//! which says them as the tool would.
//!
//! Why no logging framework: the gate needs exactly two line formats, a status line that log
//! lines must not tear, and nothing else; these few dozen lines do it with no dependency.

use std::fmt::Write as _;

use super::event::{Event, Line, Severity, Value};
use super::stderr;

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub json: bool,
    /// The least important lines shown.
    pub shown: Severity,
}

impl Format {
    /// The event as one line, or `None` when it is below what is shown.
    pub fn render(&self, event: &Event<'_>) -> Option<String> {
        if event.severity() > self.shown {
            return None;
        }
        let line = event.line();
        Some(if self.json { json(&line) } else { text(&line) })
    }
}

/// The live status line on a terminal: the time, then each target — `…` not tried yet, `✗` and
/// why not ready, `✓` ready. Redrawn in place, never logged.
pub fn status_line<'a>(
    elapsed: std::time::Duration,
    targets: impl Iterator<Item = (&'a str, Option<Result<(), &'a str>>)>,
) -> String {
    let parts: Vec<String> = targets
        .map(|(name, state)| match state {
            None => format!("{name} …"),
            Some(Err(reason)) => format!("{name} ✗ {reason}"),
            Some(Ok(())) => format!("{name} ✓"),
        })
        .collect();
    format!(
        "readygate {:>6}  {}",
        crate::duration::show(elapsed),
        parts.join("  │  ")
    )
}

fn text(line: &Line<'_>) -> String {
    let tag = match line.severity {
        Severity::Error => "error: ",
        Severity::Warn => "warning: ",
        Severity::Debug => "debug: ",
        Severity::Info => "",
    };
    let mut out = format!("readygate: {tag}");
    escape_controls_into(&mut out, &line.message);
    out
}

/// Copies text that may come from a server (an error message, a reply) into a log line with every
/// control character escaped, so that no server can forge a line (`\n…`), move the cursor or
/// recolour the terminal (ESC, `\r`).
fn escape_controls_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// One JSON object, always whole: each string is scrubbed and then cut (on a character, never
/// inside an escape) so that the line stays under [`stderr::MAX_LINE`] and still parses.
fn json(line: &Line<'_>) -> String {
    let mut s = String::with_capacity(160);
    let time = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    let _ = write!(
        s,
        "{{\"time\":\"{time}\",\"level\":\"{}\",\"event\":\"{}\"",
        line.severity.name(),
        line.name
    );
    let strings = 1 + line
        .fields
        .iter()
        .filter(|(_, v)| matches!(v, Value::Str(_)))
        .count();
    // Room for the names, numbers and punctuation; the rest shared among the strings.
    let cap = (stderr::MAX_LINE - 600) / strings;
    for (name, value) in &line.fields {
        let _ = write!(s, ",\"{name}\":");
        match value {
            Value::Num(n) => {
                let _ = write!(s, "{n}");
            }
            Value::Str(v) => {
                s.push('"');
                escape_capped(&mut s, &crate::redact::scrub(v), cap);
                s.push('"');
            }
        }
    }
    s.push_str(",\"message\":\"");
    escape_capped(&mut s, &crate::redact::scrub(&line.message), cap);
    s.push_str("\"}");
    s
}

/// [`crate::text::escape_into`], at most `cap` bytes of output, ending in `…` when cut.
fn escape_capped(out: &mut String, s: &str, cap: usize) {
    let mut escaped = String::with_capacity(s.len().min(cap) + 8);
    let mut one = String::new();
    for c in s.chars() {
        one.clear();
        crate::text::escape_into(&mut one, c.encode_utf8(&mut [0; 4]));
        if escaped.len() + one.len() > cap {
            escaped.push('…');
            break;
        }
        escaped.push_str(&one);
    }
    out.push_str(&escaped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const JSON: Format = Format {
        json: true,
        shown: Severity::Info,
    };
    const TEXT: Format = Format {
        json: false,
        shown: Severity::Info,
    };

    #[test]
    fn json_escapes_and_keeps_numbers_bare() {
        let e = Event::NotReady {
            target: "tcp://db:1",
            reason: "a \"quoted\"\nline",
            elapsed: Duration::from_millis(12),
        };
        let line = JSON.render(&e).unwrap();
        assert!(line.starts_with("{\"time\":\""));
        assert!(
            line.ends_with(",\"level\":\"info\",\"event\":\"not_ready\",\"target\":\"tcp://db:1\",\"reason\":\"a \\\"quoted\\\"\\nline\",\"elapsed_ms\":12,\"message\":\"tcp://db:1 is not ready: a \\\"quoted\\\"\\nline\"}"),
            "{line}"
        );
    }

    #[test]
    fn text_tags_levels_and_hides_what_is_below_the_level() {
        assert_eq!(
            TEXT.render(&Event::Warning("m")).unwrap(),
            "readygate: warning: m"
        );
        assert_eq!(
            TEXT.render(&Event::Back { target: "db" }).unwrap(),
            "readygate: db is ready again"
        );
        assert_eq!(TEXT.render(&Event::Diagnostic("d")), None);
        let quiet = Format {
            json: false,
            shown: Severity::Warn,
        };
        assert_eq!(quiet.render(&Event::Back { target: "db" }), None);
        assert!(quiet.render(&Event::Internal("x")).is_some());
    }

    #[test]
    fn text_escapes_control_characters_from_servers() {
        let line = TEXT
            .render(&Event::Failed {
                target: "db",
                reason: "bad\nreadygate: all 3 targets are ready\x1b[31m\r",
            })
            .unwrap();
        assert!(!line.contains('\n') && !line.contains('\x1b') && !line.contains('\r'));
        assert!(line.contains("bad\\nreadygate: all"), "{line}");
        assert!(line.contains("\\u{1b}[31m\\r"), "{line}");
    }

    #[test]
    fn a_json_line_stays_whole_however_long_its_strings() {
        let long = "x".repeat(10_000);
        let line = JSON
            .render(&Event::Failed {
                target: &long,
                reason: &long,
            })
            .unwrap();
        assert!(line.len() < stderr::MAX_LINE, "{}", line.len());
        assert!(line.ends_with("…\"}"), "{line}");
    }
}
