//! The `tracing` subscriber that renders the gate's events on stderr, as text or as JSON lines.
//!
//! Why a subscriber of our own rather than `tracing-subscriber`'s formatter: the gate needs exactly
//! two line formats, a status line that log lines must not tear, and no span machinery; a few dozen
//! lines do that with no dependency and no size cost.
//!
//! Events carry structured fields (`event`, `target`, `reason`, `elapsed_ms`, …); text mode prints
//! the message, JSON mode prints every field. Nothing secret can reach here: fields are built from
//! redacted target names and probe reasons, never from raw input.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use super::stderr;
use super::LogFormat;

#[derive(Debug)]
pub struct LineSubscriber {
    pub format: LogFormat,
    pub max_level: Level,
    next_span: AtomicU64,
}

impl LineSubscriber {
    pub fn new(format: LogFormat, max_level: Level) -> Self {
        LineSubscriber {
            format,
            max_level,
            next_span: AtomicU64::new(1),
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

enum Value {
    Str(String),
    Num(String),
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.pairs.push((field.name(), Value::Str(text)));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.pairs
                .push((field.name(), Value::Str(value.to_string())));
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pairs
            .push((field.name(), Value::Num(value.to_string())));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pairs
            .push((field.name(), Value::Num(value.to_string())));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pairs
            .push((field.name(), Value::Num(value.to_string())));
    }
}

impl Subscriber for LineSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Only readygate's own events: the libraries under it (h2, tokio-postgres) log their
        // internals with tracing too, which is noise at -v and not theirs to print.
        *metadata.level() <= self.max_level && metadata.target().starts_with("readygate")
    }
    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if self.enabled(metadata) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let line = match self.format {
            LogFormat::Text => render_text(level, &fields),
            LogFormat::Json => render_json(level, &fields),
        };
        stderr::print_line(&line);
    }
}

fn render_text(level: Level, fields: &Fields) -> String {
    let tag = match level {
        Level::ERROR => "error: ",
        Level::WARN => "warning: ",
        Level::DEBUG | Level::TRACE => "debug: ",
        Level::INFO => "",
    };
    let mut line = format!("readygate: {tag}");
    escape_controls_into(&mut line, &fields.message);
    line
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

/// One JSON log line outside of `tracing` (for errors before the subscriber exists).
pub fn json_line(level: Level, event: &'static str, message: &str) -> String {
    let fields = Fields {
        message: message.to_string(),
        pairs: vec![("event", Value::Str(event.to_string()))],
    };
    render_json(level, &fields)
}

/// One JSON object, always whole: each string is scrubbed and then cut (on a character, never
/// inside an escape) so that the line stays under [`stderr::MAX_LINE`] and still parses.
fn render_json(level: Level, fields: &Fields) -> String {
    let mut s = String::with_capacity(160);
    let time = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    let _ = write!(
        s,
        "{{\"time\":\"{time}\",\"level\":\"{}\"",
        level.as_str().to_ascii_lowercase()
    );
    let strings = 1 + fields
        .pairs
        .iter()
        .filter(|(_, v)| matches!(v, Value::Str(_)))
        .count();
    // Room for the names, numbers and punctuation; the rest shared among the strings.
    let cap = (stderr::MAX_LINE - 600) / strings;
    for (name, value) in &fields.pairs {
        s.push_str(",\"");
        crate::text::escape_into(&mut s, name);
        s.push_str("\":");
        match value {
            Value::Num(n) => s.push_str(n),
            Value::Str(v) => {
                s.push('"');
                escape_capped(&mut s, &crate::redact::scrub(v), cap);
                s.push('"');
            }
        }
    }
    s.push_str(",\"message\":\"");
    escape_capped(&mut s, &crate::redact::scrub(&fields.message), cap);
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

    #[test]
    fn json_escapes_and_keeps_numbers_bare() {
        let fields = Fields {
            message: "a \"quoted\"\nline".into(),
            pairs: vec![
                ("target", Value::Str("tcp://db:1".into())),
                ("elapsed_ms", Value::Num("12".into())),
            ],
        };
        let line = render_json(Level::INFO, &fields);
        assert!(line.starts_with("{\"time\":\""));
        assert!(line.ends_with(",\"level\":\"info\",\"target\":\"tcp://db:1\",\"elapsed_ms\":12,\"message\":\"a \\\"quoted\\\"\\nline\"}"), "{line}");
        let mut s = String::new();
        crate::text::escape_into(&mut s, "\u{1}");
        assert_eq!(s, "\\u0001");
    }

    #[test]
    fn text_tags_levels() {
        let f = Fields {
            message: "m".into(),
            pairs: vec![],
        };
        assert_eq!(render_text(Level::WARN, &f), "readygate: warning: m");
        assert_eq!(render_text(Level::INFO, &f), "readygate: m");
    }

    #[test]
    fn text_escapes_control_characters_from_servers() {
        let f = Fields {
            message: "db failed: bad\nreadygate: all 3 targets are ready\x1b[31m\r".into(),
            pairs: vec![],
        };
        let line = render_text(Level::ERROR, &f);
        assert!(!line.contains('\n') && !line.contains('\x1b') && !line.contains('\r'));
        assert!(line.contains("bad\\nreadygate: all"), "{line}");
        assert!(line.contains("\\u{1b}[31m\\r"), "{line}");
    }
}
