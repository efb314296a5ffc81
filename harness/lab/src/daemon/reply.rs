//! BIRD's control-socket line protocol, independent of any I/O.
//!
//! Each reply line is either
//!
//! - `DDDD-text`: reply code `DDDD`, more lines follow;
//! - `DDDD text`: reply code `DDDD`, the last line of the reply;
//! - ` text`: continues the previous line's code (BIRD uses this to avoid repeating it).
//!
//! `0000` ends a listing; codes `0xxx` report success, `1xxx` are table rows, `2xxx` table
//! headings, `8xxx` run-time errors and `9xxx` parse errors. BIRD 1.6 and 2 speak the same
//! protocol. The greeting BIRD sends on connect (`0001 BIRD 2.0.12 ready.`) is a reply of
//! its own.

/// One line of a reply, with its code resolved (continuation lines get the code of the line
/// they continue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    /// BIRD's four-digit reply code.
    pub code: u16,
    /// The text after the code and separator (or after the leading space of a continuation
    /// line), verbatim.
    pub text: String,
}

/// A whole reply to one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The lines, without the closing `0000` line.
    pub lines: Vec<ReplyLine>,
    /// Every line exactly as received (without the newline), closing line included.
    pub raw: Vec<String>,
}

impl Reply {
    /// The lines as received, for reports.
    pub fn raw_lines(&self) -> &[String] {
        &self.raw
    }

    /// The lines with code `code`.
    pub fn with_code(&self, code: u16) -> impl Iterator<Item = &ReplyLine> {
        self.lines.iter().filter(move |l| l.code == code)
    }

    /// The texts of all lines, joined with newlines: what `birdc` would print.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first error line (code 8000–9999), if any.
    pub fn error(&self) -> Option<&ReplyLine> {
        self.lines.iter().find(|l| is_error(l.code))
    }
}

/// Whether `code` reports an error.
pub fn is_error(code: u16) -> bool {
    (8000..10000).contains(&code)
}

/// Builds a [`Reply`] from lines fed one at a time.
#[derive(Debug, Default)]
pub struct ReplyAssembler {
    reply: Reply,
    last_code: Option<u16>,
    done: bool,
}

impl ReplyAssembler {
    /// A fresh assembler, waiting for the first line of a reply.
    pub fn new() -> ReplyAssembler {
        ReplyAssembler::default()
    }

    /// Feeds one line (with or without its trailing newline). Returns `Ok(true)` when it was
    /// the reply's last line, and an error describing the line if it is not protocol.
    pub fn push(&mut self, line: &str) -> Result<bool, NotProtocol> {
        if self.done {
            return Err(NotProtocol::AfterTheEnd(line.to_string()));
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let (code, text, last) = if bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_digit) {
            // Four ASCII digits are four one-byte characters: slicing at 4 and 5 is safe.
            let code: u16 = line[..4].parse().expect("four digits");
            match bytes.get(4) {
                None => (code, "", true),
                Some(b' ') => (code, &line[5..], true),
                Some(b'-') => (code, &line[5..], false),
                Some(_) => return Err(NotProtocol::BadSeparator(line.to_string())),
            }
        } else if let Some(rest) = line.strip_prefix(' ') {
            let Some(code) = self.last_code else {
                return Err(NotProtocol::EarlyContinuation(line.to_string()));
            };
            (code, rest, false)
        } else {
            return Err(NotProtocol::NotAReplyLine(line.to_string()));
        };
        self.reply.raw.push(line.to_string());
        if code != 0 {
            self.reply.lines.push(ReplyLine {
                code,
                text: text.to_string(),
            });
        }
        self.last_code = Some(code);
        self.done = last;
        Ok(last)
    }

    /// Whether the last line has been seen.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The reply so far.
    pub fn finish(self) -> Reply {
        self.reply
    }
}

/// A line that breaks BIRD's control protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotProtocol {
    #[error("line after the end of the reply: {0:?}")]
    AfterTheEnd(String),
    #[error("reply code not followed by ' ' or '-': {0:?}")]
    BadSeparator(String),
    #[error("continuation line before any reply code: {0:?}")]
    EarlyContinuation(String),
    #[error("not a BIRD reply line: {0:?}")]
    NotAReplyLine(String),
    #[error("reply ended without a final line")]
    Unfinished,
}

/// Parses a complete reply given as text (one line per line), as recorded for tests.
#[cfg(test)]
pub fn parse_reply(text: &str) -> Result<Reply, NotProtocol> {
    let mut asm = ReplyAssembler::new();
    for line in text.lines() {
        asm.push(line)?;
    }
    if !asm.is_done() {
        return Err(NotProtocol::Unfinished);
    }
    Ok(asm.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_continuations_and_end() {
        let reply = parse_reply(
            "2002-Name       Proto      Table      State  Since         Info\n\
             1002-device1    Device     ---        up     10:27:18.909  \n \
             kernel1    Kernel     master4    up     10:27:18.909  \n\
             0000 \n",
        )
        .unwrap();
        let codes: Vec<u16> = reply.lines.iter().map(|l| l.code).collect();
        assert_eq!(codes, [2002, 1002, 1002]);
        assert_eq!(
            reply.lines[2].text,
            "kernel1    Kernel     master4    up     10:27:18.909  "
        );
        assert_eq!(reply.raw.len(), 4);
        assert!(reply.error().is_none());
    }

    #[test]
    fn a_coded_line_with_a_space_ends_the_reply() {
        let mut asm = ReplyAssembler::new();
        assert!(
            !asm.push("0002-Reading configuration from b.conf\n")
                .unwrap()
        );
        assert!(asm.push("0004 Reconfiguration in progress\n").unwrap());
        assert!(asm.push("0000 \n").is_err());
        let reply = asm.finish();
        assert_eq!(
            reply.text(),
            "Reading configuration from b.conf\nReconfiguration in progress"
        );
    }

    #[test]
    fn errors_are_recognised() {
        let reply = parse_reply("9001 syntax error, unexpected CF_SYM_UNDEFINED\n").unwrap();
        let err = reply.error().unwrap();
        assert_eq!(err.code, 9001);
        assert_eq!(err.text, "syntax error, unexpected CF_SYM_UNDEFINED");
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(ReplyAssembler::new().push(" orphan continuation").is_err());
        assert!(ReplyAssembler::new().push("hello").is_err());
        assert!(ReplyAssembler::new().push("0001xready").is_err());
        assert!(parse_reply("1002-row\n").is_err());
    }
}
