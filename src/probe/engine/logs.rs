//! A container's log as the engine streams it, cut into lines and matched, in bounded memory.
//!
//! Without a TTY the engine multiplexes stdout and stderr into frames: one byte for the stream, three
//! zero bytes, a 32-bit big-endian length, then that many bytes. With a TTY the stream is the raw
//! output. Lines are kept one at a time, per stream, and at most [`MAX_LINE`] bytes of each:
//! a line longer than that is matched on its first `MAX_LINE` bytes.
//!
//! The log is asked for with timestamps: each line begins with the time the engine took it, which
//! is cut off before matching and kept, so that the next attempt resumes from the last line read
//! instead of reading a long log from its start again.

/// The longest part of a line kept for matching.
pub const MAX_LINE: usize = 16 * 1024;

/// Cuts a log stream into lines and looks for a match.
#[derive(Debug)]
pub struct LogReader {
    tty: bool,
    /// The frame header read so far, and the bytes of the current frame still to come.
    header: Vec<u8>,
    left: usize,
    stream: u8,
    /// The line being read, per stream (stdout, stderr), and whether it was cut.
    lines: [(Vec<u8>, bool); 2],
    /// Whole lines seen, for the reason given while waiting.
    pub seen: u64,
    /// The engine's time of the last whole line (RFC 3339).
    pub last_stamp: Option<String>,
}

impl LogReader {
    pub fn new(tty: bool) -> Self {
        LogReader {
            tty,
            header: Vec::with_capacity(8),
            left: 0,
            stream: 1,
            lines: [(Vec::new(), false), (Vec::new(), false)],
            seen: 0,
            last_stamp: None,
        }
    }

    /// Reads the next bytes; true when a complete line matched.
    pub fn feed(&mut self, mut bytes: &[u8], re: &regex_lite::Regex) -> Result<bool, String> {
        if self.tty {
            return Ok(self.text(0, bytes, re));
        }
        while !bytes.is_empty() {
            if self.left == 0 {
                let take = (8 - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.header.len() < 8 {
                    break;
                }
                let h = std::mem::take(&mut self.header);
                if !matches!(h[0], 0..=2) || h[1..4] != [0, 0, 0] {
                    return Err("the engine's log stream is not multiplexed as the API says".into());
                }
                self.stream = h[0];
                self.left = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
                continue;
            }
            let take = self.left.min(bytes.len());
            let which = usize::from(self.stream == 2);
            let matched = self.text(which, &bytes[..take], re);
            self.left -= take;
            bytes = &bytes[take..];
            if matched {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Output of one stream: true when a line it completes matches.
    fn text(&mut self, which: usize, mut bytes: &[u8], re: &regex_lite::Regex) -> bool {
        while !bytes.is_empty() {
            let end = bytes.iter().position(|&b| b == b'\n');
            let (part, done) = match end {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            let (line, cut) = &mut self.lines[which];
            let room = MAX_LINE - line.len();
            line.extend_from_slice(&part[..part.len().min(room)]);
            *cut |= part.len() > room;
            if done {
                self.seen += 1;
                let whole = line.strip_suffix(b"\r").unwrap_or(line);
                let (stamp, text) = split_stamp(whole);
                if let Some(stamp) = stamp {
                    self.last_stamp = Some(stamp);
                }
                let matched = re.is_match(&String::from_utf8_lossy(text));
                line.clear();
                *cut = false;
                if matched {
                    return true;
                }
            }
            bytes = match end {
                Some(i) => &bytes[i + 1..],
                None => &[],
            };
        }
        false
    }

    /// At the end of the stream: the last line, if it had no newline, matched.
    pub fn finish(&mut self, re: &regex_lite::Regex) -> bool {
        self.lines.iter_mut().any(|(line, _)| {
            let matched =
                !line.is_empty() && re.is_match(&String::from_utf8_lossy(split_stamp(line).1));
            line.clear();
            matched
        })
    }
}

/// A line's leading timestamp (`2026-12-03T16:00:01.123456789Z `), and the rest.
fn split_stamp(line: &[u8]) -> (Option<String>, &[u8]) {
    let Some(space) = line.iter().take(40).position(|&b| b == b' ') else {
        return (None, line);
    };
    let stamp = String::from_utf8_lossy(&line[..space]);
    match stamp.ends_with('Z') && stamp.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        true => (Some(stamp.into_owned()), &line[space + 1..]),
        false => (None, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: u8, text: &[u8]) -> Vec<u8> {
        let mut f = vec![stream, 0, 0, 0];
        f.extend_from_slice(&(text.len() as u32).to_be_bytes());
        f.extend_from_slice(text);
        f
    }

    #[test]
    fn frames_are_cut_into_lines_whatever_the_chunks() {
        let re = regex_lite::Regex::new(r"^listening on port \d+$").unwrap();
        let mut all = frame(
            1,
            b"2026-12-03T16:00:01.1Z starting\n2026-12-03T16:00:01.2Z listening on",
        );
        all.extend(frame(2, b"2026-12-03T16:00:01.3Z a warning on stderr\n"));
        all.extend(frame(1, b" port 8000\nmore\n"));
        // Fed one byte at a time, the match is found where the line ends, not before.
        let mut r = LogReader::new(false);
        let mut at = None;
        for (i, b) in all.iter().enumerate() {
            if r.feed(std::slice::from_ref(b), &re).unwrap() {
                at = Some(i);
                break;
            }
        }
        let end = all.windows(6).position(|w| w == b" 8000\n").unwrap() + 5;
        assert_eq!(at, Some(end));
        // stdout's line was not broken by stderr's frame between its halves.
        assert_eq!(r.seen, 3);
        // Where the next attempt resumes: the engine's time of the line that matched.
        assert_eq!(r.last_stamp.as_deref(), Some("2026-12-03T16:00:01.2Z"));
    }

    #[test]
    fn a_tty_stream_is_raw_and_a_bad_frame_is_named() {
        let re = regex_lite::Regex::new("ready").unwrap();
        let mut r = LogReader::new(true);
        assert!(!r.feed(b"not yet\r\nrea", &re).unwrap());
        assert!(r.feed(b"dy\r\n", &re).unwrap());
        let mut r = LogReader::new(false);
        assert!(r.feed(b"ready\nready\n", &re).is_err());
        let mut r = LogReader::new(false);
        assert!(!r.feed(&frame(1, b"ready without newline"), &re).unwrap());
        assert!(r.finish(&re));
    }

    #[test]
    fn an_endless_line_is_held_to_the_bound_and_matched_on_its_start() {
        let re = regex_lite::Regex::new("^BEGIN").unwrap();
        let mut r = LogReader::new(true);
        assert!(!r.feed(b"BEGIN", &re).unwrap());
        for _ in 0..1000 {
            assert!(!r.feed(&[b'x'; 4096], &re).unwrap());
            assert!(r.lines[0].0.len() <= MAX_LINE);
        }
        assert!(r.feed(b"\n", &re).unwrap());
        let late = regex_lite::Regex::new("LATE").unwrap();
        let mut r = LogReader::new(true);
        r.feed(&vec![b'x'; MAX_LINE], &late).unwrap();
        assert!(!r.feed(b"LATE\n", &late).unwrap(), "past the bound");
        assert!(r.feed(b"LATE\n", &late).unwrap(), "the next line");
    }
}
