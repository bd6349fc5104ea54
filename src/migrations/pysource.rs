//! Just enough of Python's lexical grammar to read the few literal assignments a migration file
//! holds (`replaces = [...]`, `revision = "..."`, `label = "..."`), without running Python.
//!
//! Why a tokenizer and not a search for `replaces =`: the words also appear inside docstrings,
//! comments and other strings, values span lines, and `down_revision: Union[str, None] = "x"` has
//! brackets before its `=`. The tokenizer knows strings (every quote and prefix, triple quotes,
//! escapes), comments, line continuations and bracket depth, and splits the text into logical
//! statements with their indentation. Anything it cannot read is an error with a line number,
//! never a guess.

/// One token. Operators other than the few the readers need collapse into `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Name(String),
    /// A string literal's value; `plain` is false for f-strings (not a constant).
    Str {
        value: String,
        plain: bool,
    },
    /// One of `( ) [ ] { } , : =`.
    Op(char),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// A logical line: what Python would execute as one simple statement or a compound header.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Columns of leading white space (a tab advances to the next multiple of 8, as in Python).
    pub indent: usize,
    pub line: usize,
    pub tokens: Vec<Token>,
}

/// A literal value as the readers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    None,
    Bool(bool),
    /// A list or a tuple.
    Seq(Vec<Value>),
}

/// Deeper bracket nesting than any migration file has: a bound, so that hostile input cannot
/// make the reader's work grow without limit.
const MAX_DEPTH: usize = 256;

/// Splits source text into statements. `Err((line, reason))` for text Python would not accept
/// either (an unterminated string, unbalanced brackets).
///
/// One function (past 100 lines) on purpose: it is one scanner over the characters, whose state
/// (inside which string, how deep in brackets, at a line's start) every branch reads and writes;
/// split, that state would travel between the pieces for no gain.
pub fn statements(src: &str) -> Result<Vec<Statement>, (usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut current: Option<Statement> = None;
    let mut depth: Vec<(char, usize)> = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let mut at_line_start = true;
    let mut indent = 0;
    while i < chars.len() {
        let c = chars[i];
        if at_line_start && depth.is_empty() && current.is_none() {
            // Measure indentation of a new logical line.
            indent = 0;
            while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\x0c') {
                indent = match chars[i] {
                    '\t' => (indent / 8 + 1) * 8,
                    '\x0c' => 0,
                    _ => indent + 1,
                };
                i += 1;
            }
            at_line_start = false;
            continue;
        }
        at_line_start = false;
        match c {
            '\n' => {
                line += 1;
                i += 1;
                at_line_start = true;
                if depth.is_empty() {
                    if let Some(s) = current.take() {
                        out.push(s);
                    }
                }
            }
            ' ' | '\t' | '\r' | '\x0c' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                // An explicit line continuation joins the next line to this statement.
                i += 2;
                line += 1;
            }
            '\\' if chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n') => {
                i += 3;
                line += 1;
            }
            '\'' | '"' => {
                let start = line;
                let (value, next, lines) = string(&chars, i, false).map_err(|e| (start, e))?;
                push(&mut current, indent, start, Tok::Str { value, plain: true });
                line += lines;
                i = next;
            }
            c if c.is_alphabetic() || c == '_' => {
                let begin = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[begin..i].iter().collect();
                let prefix = word.to_ascii_lowercase();
                let is_prefix = word.len() <= 2
                    && prefix.chars().all(|p| matches!(p, 'r' | 'b' | 'u' | 'f'))
                    && matches!(chars.get(i), Some('\'' | '"'));
                if is_prefix {
                    let start = line;
                    let raw = prefix.contains('r');
                    let (value, next, lines) = string(&chars, i, raw).map_err(|e| (start, e))?;
                    let plain = !prefix.contains('f');
                    push(&mut current, indent, start, Tok::Str { value, plain });
                    line += lines;
                    i = next;
                } else {
                    push(&mut current, indent, line, Tok::Name(word));
                }
            }
            c if c.is_ascii_digit() => {
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '.' | '_'))
                {
                    i += 1;
                }
                push(&mut current, indent, line, Tok::Other);
            }
            '(' | '[' | '{' => {
                if depth.len() >= MAX_DEPTH {
                    return Err((line, format!("brackets nested more than {MAX_DEPTH} deep")));
                }
                depth.push((c, line));
                push(&mut current, indent, line, Tok::Op(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match depth.pop() {
                    Some((o, _)) if o == open => {}
                    _ => return Err((line, format!("'{c}' closes nothing that is open"))),
                }
                push(&mut current, indent, line, Tok::Op(c));
                i += 1;
            }
            ',' => {
                push(&mut current, indent, line, Tok::Op(','));
                i += 1;
            }
            ';' => {
                // `a = 1; b = 2`: an `Other` the readers never take for part of a value, so that
                // neither assignment reads as a literal followed by more.
                push(&mut current, indent, line, Tok::Other);
                i += 1;
            }
            _ => {
                const OPERATOR: &str = "=!<>+-*/%&|^@~:.";
                let begin = i;
                while i < chars.len() && OPERATOR.contains(chars[i]) {
                    i += 1;
                    // `:` and `.` stand alone unless followed by `=` (the walrus).
                    if matches!(chars[i - 1], '.') {
                        break;
                    }
                    if chars[i - 1] == ':' && chars.get(i) != Some(&'=') {
                        break;
                    }
                }
                if i == begin {
                    i += 1; // `$`, `?`, a stray character: not ours to judge.
                }
                let op: String = chars[begin..i].iter().collect();
                let tok = match op.as_str() {
                    "=" => Tok::Op('='),
                    ":" => Tok::Op(':'),
                    _ => Tok::Other,
                };
                push(&mut current, indent, line, tok);
            }
        }
    }
    if let Some((c, opened)) = depth.last() {
        return Err((*opened, format!("'{c}' is never closed")));
    }
    if let Some(s) = current.take() {
        out.push(s);
    }
    Ok(out)
}

fn push(current: &mut Option<Statement>, indent: usize, line: usize, tok: Tok) {
    let statement = current.get_or_insert_with(|| Statement {
        indent,
        line,
        tokens: Vec::new(),
    });
    statement.tokens.push(Token { tok, line });
}

/// Reads a string literal whose quote is at `i`: (value, index after it, newlines inside).
fn string(chars: &[char], i: usize, raw: bool) -> Result<(String, usize, usize), String> {
    let quote = chars[i];
    let triple = chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote);
    let mut j = if triple { i + 3 } else { i + 1 };
    let mut value = String::new();
    let mut lines = 0;
    loop {
        let Some(&c) = chars.get(j) else {
            return Err("a string is never closed".to_string());
        };
        if c == quote {
            if !triple {
                return Ok((value, j + 1, lines));
            }
            if chars.get(j + 1) == Some(&quote) && chars.get(j + 2) == Some(&quote) {
                return Ok((value, j + 3, lines));
            }
        }
        if c == '\n' {
            if !triple {
                return Err("a string is never closed on its line".to_string());
            }
            lines += 1;
        }
        if c == '\\' {
            let Some(&next) = chars.get(j + 1) else {
                return Err("a string is never closed".to_string());
            };
            if next == '\n' {
                lines += 1;
            }
            if raw {
                // A raw string keeps the backslash, but it still protects the quote after it.
                value.push('\\');
                if next != '\n' {
                    value.push(next);
                }
            } else {
                match next {
                    '\n' => {}
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '0' => value.push('\0'),
                    '\\' | '\'' | '"' => value.push(next),
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
            }
            j += 2;
            continue;
        }
        value.push(c);
        j += 1;
    }
}

/// The value of `NAME = …` or `NAME: annotation = …` if `statement` is that assignment.
/// `Ok(None)`: the statement is something else; `Err`: it assigns NAME but not a literal.
pub fn assignment(statement: &Statement, name: &str) -> Result<Option<Value>, (usize, String)> {
    let tokens = &statement.tokens;
    match tokens.first() {
        Some(Token {
            tok: Tok::Name(n), ..
        }) if n == name => {}
        _ => return Ok(None),
    }
    // The first `=` at depth 0 (an annotation may hold brackets and commas).
    let mut depth = 0usize;
    let mut eq = None;
    for (k, t) in tokens.iter().enumerate().skip(1) {
        match t.tok {
            Tok::Op('(' | '[' | '{') => depth += 1,
            Tok::Op(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Op('=') if depth == 0 => {
                eq = Some(k);
                break;
            }
            _ => {}
        }
    }
    let Some(eq) = eq else {
        return Ok(None);
    };
    // Between the name and `=`: nothing, or `:` and an annotation. Anything else (`name.x = …`,
    // `name[0] = …`, `name, other = …`) is not an assignment of the literal.
    if eq > 1 && tokens[1].tok != Tok::Op(':') {
        return Ok(None);
    }
    let rest = &tokens[eq + 1..];
    let (value, used) = value(rest).map_err(|e| (statement.line, format!("`{name}`: {e}")))?;
    if used != rest.len() {
        let line = rest.get(used).map_or(statement.line, |t| t.line);
        return Err((
            line,
            format!("`{name}` is not a literal (a string, None, or a list or tuple of them)"),
        ));
    }
    Ok(Some(value))
}

/// Reads one literal value from the start of `tokens`: (value, tokens used).
pub fn value(tokens: &[Token]) -> Result<(Value, usize), String> {
    let not_literal = || "not a literal (a string, None, or a list or tuple of them)".to_string();
    let Some(first) = tokens.first() else {
        return Err("no value after `=`".to_string());
    };
    match &first.tok {
        Tok::Str { .. } => {
            // Adjacent literals concatenate, as in Python.
            let mut s = String::new();
            let mut n = 0;
            while let Some(Token {
                tok: Tok::Str { value, plain },
                ..
            }) = tokens.get(n)
            {
                if !plain {
                    return Err("an f-string is not a constant".to_string());
                }
                s.push_str(value);
                n += 1;
            }
            Ok((Value::Str(s), n))
        }
        Tok::Name(n) if n == "None" => Ok((Value::None, 1)),
        Tok::Name(n) if n == "True" => Ok((Value::Bool(true), 1)),
        Tok::Name(n) if n == "False" => Ok((Value::Bool(false), 1)),
        Tok::Op(open @ ('(' | '[')) => {
            let close = if *open == '(' { ')' } else { ']' };
            let mut items = Vec::new();
            let mut n = 1;
            let mut trailing_comma = false;
            loop {
                match tokens.get(n).map(|t| &t.tok) {
                    Some(Tok::Op(c)) if *c == close => {
                        n += 1;
                        break;
                    }
                    None => return Err(format!("'{open}' is never closed")),
                    _ => {}
                }
                let (item, used) = value(&tokens[n..])?;
                items.push(item);
                n += used;
                trailing_comma = false;
                match tokens.get(n).map(|t| &t.tok) {
                    Some(Tok::Op(',')) => {
                        n += 1;
                        trailing_comma = true;
                    }
                    Some(Tok::Op(c)) if *c == close => {}
                    _ => return Err(not_literal()),
                }
            }
            // `("a")` is the string, `("a",)` the tuple: Python's rule.
            if *open == '(' && items.len() == 1 && !trailing_comma {
                return Ok((items.pop().unwrap_or(Value::None), n));
            }
            Ok((Value::Seq(items), n))
        }
        _ => Err(not_literal()),
    }
}

/// Statements of a top-level class body: (the class's header index, its body's statements at the
/// body's own indentation). Nested blocks are left out.
pub fn class_body(statements: &[Statement], header: usize) -> Vec<&Statement> {
    let base = statements[header].indent;
    let body: Vec<&Statement> = statements[header + 1..]
        .iter()
        .take_while(|s| s.indent > base)
        .collect();
    let Some(inner) = body.first().map(|s| s.indent) else {
        return Vec::new();
    };
    body.into_iter().filter(|s| s.indent == inner).collect()
}

/// The name of the class a statement declares (`class NAME…:`), if it does.
pub fn class_name(statement: &Statement) -> Option<&str> {
    match statement.tokens.as_slice() {
        [Token {
            tok: Tok::Name(k), ..
        }, Token {
            tok: Tok::Name(n), ..
        }, ..]
            if k == "class" =>
        {
            Some(n)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(src: &str, name: &str) -> Option<Value> {
        let statements = statements(src).unwrap();
        statements
            .iter()
            .rev()
            .find_map(|s| assignment(s, name).unwrap())
    }

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    #[test]
    fn literal_forms() {
        assert_eq!(assigned("revision = 'ab12'\n", "revision"), Some(s("ab12")));
        assert_eq!(
            assigned("revision: str = \"ab12\"", "revision"),
            Some(s("ab12"))
        );
        assert_eq!(
            assigned(
                "down_revision: Union[str, Sequence[str], None] = None\n",
                "down_revision"
            ),
            Some(Value::None)
        );
        assert_eq!(
            assigned("down_revision = ('a', \"b\",)\n", "down_revision"),
            Some(Value::Seq(vec![s("a"), s("b")]))
        );
        assert_eq!(assigned("x = ('a')\n", "x"), Some(s("a")));
        assert_eq!(
            assigned("x = ('a',)\n", "x"),
            Some(Value::Seq(vec![s("a")]))
        );
        assert_eq!(assigned("x = 'a' \"b\"\n", "x"), Some(s("ab")));
        assert_eq!(assigned("x = r'a\\'b'\n", "x"), Some(s("a\\'b")));
        assert_eq!(assigned("x = 'a\\'b'\n", "x"), Some(s("a'b")));
        assert_eq!(assigned("x = True\n", "x"), Some(Value::Bool(true)));
    }

    #[test]
    fn values_span_lines_and_survive_comments() {
        let src =
            "replaces = [\n    ('blog', '0001_initial'),  # first\n    ('blog', '0002_x'),\n]\n";
        assert_eq!(
            assigned(src, "replaces"),
            Some(Value::Seq(vec![
                Value::Seq(vec![s("blog"), s("0001_initial")]),
                Value::Seq(vec![s("blog"), s("0002_x")]),
            ]))
        );
        let continued = "revision = \\\n  'abc'\n";
        assert_eq!(assigned(continued, "revision"), Some(s("abc")));
    }

    #[test]
    fn words_inside_strings_and_comments_are_not_statements() {
        let src = "\"\"\"\nreplaces = ['x']\n\"\"\"\n# revision = 'no'\nx = 'revision = \"no\"'\n";
        assert_eq!(assigned(src, "replaces"), None);
        assert_eq!(assigned(src, "revision"), None);
    }

    #[test]
    fn what_is_not_a_literal_is_an_error_with_its_line() {
        let st = statements("\n\nrevision = make_id()\n").unwrap();
        let e = assignment(&st[0], "revision").unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("not a literal"), "{}", e.1);
        let st = statements("label = f'{x}'\n").unwrap();
        assert!(assignment(&st[0], "label")
            .unwrap_err()
            .1
            .contains("f-string"));
        // Not an assignment of the name itself.
        for src in [
            "revision == 'a'\n",
            "revision.x = 'a'\n",
            "revision += 'a'\n",
        ] {
            let st = statements(src).unwrap();
            assert_eq!(assignment(&st[0], "revision").unwrap(), None, "{src}");
        }
    }

    #[test]
    fn unreadable_text_names_its_line() {
        assert_eq!(statements("x = 'abc\n").unwrap_err().0, 1);
        assert_eq!(statements("\nx = [\n1,\n").unwrap_err().0, 2);
        assert_eq!(statements("x = '''\n\n").unwrap_err().0, 1);
        assert!(statements("x = )\n").is_err());
        let deep = format!("x = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(statements(&deep).unwrap_err().1.contains("nested"));
    }

    #[test]
    fn class_bodies_and_indentation() {
        let src = "class Migration(migrations.Migration):\n    replaces = [('a', 'b')]\n    def f(self):\n        replaces = 'inner'\n\nreplaces = 'outer'\n";
        let st = statements(src).unwrap();
        assert_eq!(class_name(&st[0]), Some("Migration"));
        let body = class_body(&st, 0);
        let found: Vec<_> = body
            .iter()
            .filter_map(|s| assignment(s, "replaces").unwrap())
            .collect();
        assert_eq!(
            found,
            vec![Value::Seq(vec![Value::Seq(vec![s("a"), s("b")])])]
        );
    }
}
