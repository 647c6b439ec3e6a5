//! The httpd.conf tokenizer: logical lines, words and section nesting, without allocation.
//!
//! It follows httpd's `ap_cfg_getline` and `ap_getword_conf`:
//!
//! * a physical line ending in a backslash (before `\n` or `\r\n`) continues on the next one; the
//!   backslash and the line break are removed and nothing is inserted, so the next line's leading
//!   white space is what separates the words;
//! * leading and trailing white space (C's `isspace`, which includes `\r`) is removed; an empty
//!   line or one whose first character is `#` is skipped (a comment ends at the line's end only:
//!   `Listen 80 # web` passes `#` and `web` as arguments, as in httpd);
//! * a word starting with `"` or `'` runs to the matching quote, and inside it `\"` (or `\'`) and
//!   `\\` stand for the quote and a backslash; other words end at white space, and in them `\\`
//!   stands for one backslash;
//! * `<Name args>` opens a section (everything after the last `>` is ignored, as httpd does), and
//!   `</Name>` closes the innermost one, compared without regard to ASCII case.
//!
//! `${VAR}` references are left as written: httpd expands them from `Define` and the environment,
//! which is the runtime's business.
//!
//! Errors carry httpd's texts where httpd has them; see [`ConfErrorKind`].

use super::error::{ConfError, ConfErrorKind, SectionName, section_name};
use super::number::is_space;

/// The size of the line buffer: httpd's `MAX_STRING_LEN`. A logical line may hold at most
/// `MAX_LINE_LEN - 2` bytes (httpd keeps room for the newline and a NUL).
pub const MAX_LINE_LEN: usize = 8192;

/// The most arguments one line may carry (httpd's `AP_MAX_ARGC`), not counting the directive.
pub const MAX_ARGS: usize = 64;

/// The deepest sections may nest.
pub const MAX_SECTION_DEPTH: usize = 16;

/// The longest section name the nesting stack keeps; httpd's longest is `AuthzProviderAlias`
/// (18 bytes).
pub const MAX_SECTION_NAME_LEN: usize = 32;

/// The most bytes a logical line may hold.
const MAX_CONTENT_LEN: usize = MAX_LINE_LEN - 2;

/// What [`Tokenizer::skip_section`] keeps of each line: enough for any section tag it accepts.
const SKIP_SCRATCH_LEN: usize = MAX_SECTION_NAME_LEN + 64;

/// What a logical line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `Name args…`.
    Directive,
    /// `<Name args…>`.
    SectionOpen,
    /// `</Name>`.
    SectionClose,
}

/// One logical line, split into words, borrowing the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'b> {
    /// The first physical line it came from, 1-based.
    pub number: u32,
    /// Directive or section tag.
    pub kind: LineKind,
    /// The directive or section name, without `<`, `</` or `>`.
    pub name: &'b str,
    /// The arguments, quotes removed and escapes resolved. Always empty for a closing tag.
    pub args: heapless::Vec<&'b str, MAX_ARGS>,
}

/// An open section on the nesting stack.
#[derive(Clone, Debug)]
struct Open {
    name: SectionName,
    line: u32,
}

/// Reads a configuration text one logical line at a time.
///
/// Every call consumes at least one physical line, so a loop over [`next_line`](Self::next_line)
/// ends after at most as many calls as the text has lines, errors included.
///
/// ```
/// use eventmpm_core::config::{Applied, Config, Context, LineKind, Tokenizer, tokenizer};
///
/// let text = "<IfModule mod_missing.c>\n  Listen 81\n</IfModule>\nListen 80\nLoadModule x y\n";
/// let mut tokens = Tokenizer::new(text);
/// let mut buf = [0u8; tokenizer::MAX_LINE_LEN];
/// let mut config = Config::new();
/// while let Some(line) = tokens.next_line(&mut buf) {
///     let line = line.map_err(|e| format!("httpd.conf:{}: {e}", e.line))?;
///     match line.kind {
///         LineKind::SectionOpen if line.name.eq_ignore_ascii_case("IfModule") => {
///             // The runtime decides; this module is not loaded.
///             tokens.skip_section().map_err(|e| e.to_string())?;
///         }
///         LineKind::Directive => match config.set(line.name, &line.args, Context::Server) {
///             Ok(Applied::NotMine) => { /* LoadModule: the runtime's */ }
///             Ok(_) => {}
///             Err(e) => return Err(format!("httpd.conf:{}: {e}", line.number)),
///         },
///         _ => {}
///     }
/// }
/// tokens.finish().map_err(|e| e.to_string())?;
/// config.check(true, &mut |w| eprintln!("{}", w.console()));
/// assert_eq!(config.listeners.len(), 1);
/// assert_eq!(config.listeners[0].port, 80);
/// # Ok::<(), String>(())
/// ```
#[doc(alias = "ap_cfg_getline")]
#[doc(alias = "ap_getword_conf")]
#[derive(Clone, Debug)]
pub struct Tokenizer<'t> {
    rest: &'t str,
    line: u32,
    open: heapless::Vec<Open, MAX_SECTION_DEPTH>,
}

/// The span of a logical line copied into a buffer.
struct Logical {
    /// Its first physical line.
    first: u32,
    /// Bytes copied.
    len: usize,
    /// Whether the buffer was too small for all of it.
    truncated: bool,
    /// Whether it exceeds httpd's line length.
    too_long: bool,
}

/// Read and write positions for in-place word splitting: unescaping only ever shrinks text, so
/// `write <= read` always holds and no unread byte is overwritten.
struct Cursor {
    read: usize,
    write: usize,
    end: usize,
}

impl<'t> Tokenizer<'t> {
    /// A tokenizer at the start of `text`.
    pub const fn new(text: &'t str) -> Tokenizer<'t> {
        Tokenizer {
            rest: text,
            line: 0,
            open: heapless::Vec::new(),
        }
    }

    /// How many sections are open.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The number of physical lines consumed so far.
    pub fn lines_read(&self) -> u32 {
        self.line
    }

    /// The next directive or section tag, or `None` at the end of the text.
    ///
    /// The line is copied into `buf` and split there. After an error the offending logical line
    /// has been consumed, so reading may continue (the nesting stack is left as it was).
    pub fn next_line<'b>(
        &mut self,
        buf: &'b mut [u8; MAX_LINE_LEN],
    ) -> Option<Result<Line<'b>, ConfError>> {
        // Bounded: each read consumes at least one physical line.
        loop {
            let logical = self.read_logical(&mut buf[..])?;
            let error = |kind: ConfErrorKind| {
                Some(Err(ConfError {
                    line: logical.first,
                    kind,
                }))
            };
            if logical.too_long {
                return error(ConfErrorKind::LineTooLong);
            }
            let Some((start, end)) = trimmed(buf, logical.len) else {
                continue;
            };
            if buf[start] == b'#' {
                continue;
            }
            return Some(self.split(buf, start, end, logical.first));
        }
    }

    /// Skips the rest of the innermost open section, up to and including its closing tag, as
    /// httpd does for an `<IfModule>` or `<IfDefine>` whose condition is false. Sections nested
    /// inside are tracked (and must close in order) but their contents are not examined.
    ///
    /// It needs no line buffer (only the first word of each line matters), so it can be called
    /// while the [`Line`] that opened the section is still in scope. Does nothing when no section
    /// is open.
    #[doc(alias = "ap_soak_end_container")]
    pub fn skip_section(&mut self) -> Result<(), ConfError> {
        let target = self.open.len();
        let Some(skipped) = self.open.last().cloned() else {
            return Ok(());
        };
        let mut scratch = [0u8; SKIP_SCRATCH_LEN];
        // Bounded: each read consumes at least one physical line.
        loop {
            let Some(logical) = self.read_logical(&mut scratch) else {
                self.open.truncate(target - 1);
                return Err(ConfError {
                    line: skipped.line,
                    kind: ConfErrorKind::EndInsideSkipped { name: skipped.name },
                });
            };
            let error = |kind: ConfErrorKind| ConfError {
                line: logical.first,
                kind,
            };
            if logical.too_long {
                return Err(error(ConfErrorKind::LineTooLong));
            }
            let mut cursor = Cursor {
                read: 0,
                write: 0,
                end: logical.len,
            };
            let Some((ws, we)) = next_word(&mut scratch, &mut cursor) else {
                continue;
            };
            // A word reaching the end of a cut-off prefix may be longer than what was kept.
            let cut = logical.truncated && cursor.read == logical.len;
            let word = &scratch[ws..we];
            if let Some(close) = word.strip_prefix(b"</") {
                let name = text(close.strip_suffix(b">").unwrap_or(close));
                let Some(top) = self.open.last() else {
                    // Unreachable while skipping (target >= 1), kept total for safety.
                    return Ok(());
                };
                if cut || !top.name.eq_ignore_ascii_case(name) {
                    return Err(error(ConfErrorKind::MismatchedClose {
                        expected: top.name.clone(),
                        saw: section_name(name),
                    }));
                }
                self.open.pop();
                if self.open.len() < target {
                    return Ok(());
                }
            } else if let Some(open) = word.strip_prefix(b"<") {
                let name = text(open.strip_suffix(b">").unwrap_or(open));
                let name = SectionName::try_from(name)
                    .ok()
                    .filter(|_| !cut)
                    .ok_or(error(ConfErrorKind::SectionNameTooLong))?;
                self.open
                    .push(Open {
                        name,
                        line: logical.first,
                    })
                    .map_err(|_| error(ConfErrorKind::NestedTooDeep))?;
            }
        }
    }

    /// Checks that every section was closed; call it after the last line.
    pub fn finish(&self) -> Result<(), ConfError> {
        match self.open.last() {
            // httpd lists every unclosed section, innermost first; the innermost is the one to fix.
            Some(open) => Err(ConfError {
                line: open.line,
                kind: ConfErrorKind::NotClosed {
                    name: open.name.clone(),
                },
            }),
            None => Ok(()),
        }
    }

    /// Copies the next logical line (continuations joined, leading white space dropped) into
    /// `out`, as much of it as fits.
    fn read_logical(&mut self, out: &mut [u8]) -> Option<Logical> {
        if self.rest.is_empty() {
            return None;
        }
        let first = self.line.saturating_add(1);
        let mut len = 0;
        let mut total = 0;
        let mut truncated = false;
        // Bounded: each pass consumes one physical line of the remaining text.
        loop {
            let (physical, has_newline, rest) = match self.rest.find('\n') {
                Some(i) => (&self.rest[..i], true, &self.rest[i + 1..]),
                None => (self.rest, false, ""),
            };
            self.rest = rest;
            self.line = self.line.saturating_add(1);
            let body = physical.strip_suffix('\r').unwrap_or(physical);
            let (part, continued) = match body.strip_suffix('\\') {
                Some(joined) if has_newline => (joined, true),
                // Without a continuation the `\r` stays; trimming removes it as white space.
                _ => (physical, false),
            };
            // httpd's limit counts the whole line, leading white space included.
            total += part.len();
            let mut bytes = part.as_bytes();
            if len == 0 {
                let start = bytes
                    .iter()
                    .position(|&b| !is_space(b))
                    .unwrap_or(bytes.len());
                bytes = &bytes[start..];
            }
            let room = out.len() - len;
            let n = room.min(bytes.len());
            out[len..len + n].copy_from_slice(&bytes[..n]);
            len += n;
            truncated |= n < bytes.len();
            if !continued || self.rest.is_empty() {
                return Some(Logical {
                    first,
                    len,
                    truncated,
                    too_long: total > MAX_CONTENT_LEN,
                });
            }
        }
    }

    /// Splits the trimmed line `buf[start..end]` into words and applies section nesting.
    fn split<'b>(
        &mut self,
        buf: &'b mut [u8; MAX_LINE_LEN],
        start: usize,
        end: usize,
        number: u32,
    ) -> Result<Line<'b>, ConfError> {
        let error = |kind: ConfErrorKind| ConfError { line: number, kind };
        let mut cursor = Cursor {
            read: start,
            write: start,
            end,
        };
        let Some((ws, we)) = next_word(buf, &mut cursor) else {
            // Unreachable: the trimmed line is not empty. An empty directive is harmless.
            return Ok(Line {
                number,
                kind: LineKind::Directive,
                name: "",
                args: heapless::Vec::new(),
            });
        };
        skip_space(buf, &mut cursor);
        let word = &buf[ws..we];
        let (kind, name_span) = if word.starts_with(b"</") {
            let bracket = word.len() > 2 && word.ends_with(b">");
            let span = (ws + 2, we - usize::from(bracket));
            let name = text(&buf[span.0..span.1]);
            let Some(top) = self.open.last() else {
                return Err(error(ConfErrorKind::CloseWithoutOpen {
                    name: section_name(name),
                    bracket,
                }));
            };
            if !bracket {
                return Err(error(ConfErrorKind::MissingBracket {
                    name: section_name(name),
                    closing: true,
                }));
            }
            if !top.name.eq_ignore_ascii_case(name) {
                return Err(error(ConfErrorKind::MismatchedClose {
                    expected: top.name.clone(),
                    saw: section_name(name),
                }));
            }
            self.open.pop();
            // httpd ignores whatever follows a closing tag.
            cursor.end = cursor.read;
            (LineKind::SectionClose, span)
        } else if word.starts_with(b"<") {
            let bracket = word.len() > 1 && word.ends_with(b">");
            let span = (ws + 1, we - usize::from(bracket));
            let name = text(&buf[span.0..span.1]);
            if !(bracket && cursor.read == cursor.end) {
                // The arguments end at the last `>` of the line; httpd drops what follows it.
                match buf[cursor.read..cursor.end]
                    .iter()
                    .rposition(|&b| b == b'>')
                {
                    Some(i) => cursor.end = cursor.read + i,
                    None => {
                        return Err(error(ConfErrorKind::MissingBracket {
                            name: section_name(name),
                            closing: false,
                        }));
                    }
                }
            }
            if name.len() > MAX_SECTION_NAME_LEN {
                return Err(error(ConfErrorKind::SectionNameTooLong));
            }
            if self.open.is_full() {
                return Err(error(ConfErrorKind::NestedTooDeep));
            }
            (LineKind::SectionOpen, span)
        } else {
            (LineKind::Directive, (ws, we))
        };
        let mut spans: heapless::Vec<(usize, usize), MAX_ARGS> = heapless::Vec::new();
        // Bounded by the line length: each word consumes at least one byte.
        while let Some(span) = next_word(buf, &mut cursor) {
            spans
                .push(span)
                .map_err(|_| error(ConfErrorKind::TooManyArguments))?;
        }
        if kind == LineKind::SectionOpen {
            let name = SectionName::try_from(text(&buf[name_span.0..name_span.1]))
                .map_err(|_| error(ConfErrorKind::SectionNameTooLong))?;
            self.open
                .push(Open { name, line: number })
                .map_err(|_| error(ConfErrorKind::NestedTooDeep))?;
        }
        let buf: &'b [u8; MAX_LINE_LEN] = buf;
        let mut args = heapless::Vec::new();
        for (a, b) in spans {
            // Cannot fail: `spans` has the same capacity.
            let _ = args.push(text(&buf[a..b]));
        }
        Ok(Line {
            number,
            kind,
            name: text(&buf[name_span.0..name_span.1]),
            args,
        })
    }
}

/// The line `buf[..len]` without leading and trailing white space, or `None` if nothing is left.
fn trimmed(buf: &[u8], len: usize) -> Option<(usize, usize)> {
    let line = buf.get(..len)?;
    let start = line.iter().position(|&b| !is_space(b))?;
    let end = line.iter().rposition(|&b| !is_space(b))? + 1;
    Some((start, end))
}

/// Text of a word. Words are cut from UTF-8 text at ASCII bytes and only ASCII bytes are ever
/// removed from them, so they are always valid UTF-8; the fallback is never taken.
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("")
}

fn skip_space(buf: &[u8], cursor: &mut Cursor) {
    while cursor.read < cursor.end && is_space(buf[cursor.read]) {
        cursor.read += 1;
    }
}

/// httpd's `ap_getword_conf`, in place: the next word's span after unescaping, or `None` at the
/// end of the line.
fn next_word(buf: &mut [u8], cursor: &mut Cursor) -> Option<(usize, usize)> {
    skip_space(buf, cursor);
    if cursor.read >= cursor.end {
        return None;
    }
    let start = cursor.write;
    let quote = buf[cursor.read];
    if quote == b'"' || quote == b'\'' {
        cursor.read += 1;
        while cursor.read < cursor.end && buf[cursor.read] != quote {
            let b = buf[cursor.read];
            let next = if cursor.read + 1 < cursor.end {
                Some(buf[cursor.read + 1])
            } else {
                None
            };
            if b == b'\\' && (next == Some(quote) || next == Some(b'\\')) {
                buf[cursor.write] = buf[cursor.read + 1];
                cursor.read += 2;
            } else {
                buf[cursor.write] = b;
                cursor.read += 1;
            }
            cursor.write += 1;
        }
        if cursor.read < cursor.end {
            cursor.read += 1; // the closing quote
        }
    } else {
        while cursor.read < cursor.end && !is_space(buf[cursor.read]) {
            let b = buf[cursor.read];
            if b == b'\\' && cursor.read + 1 < cursor.end && buf[cursor.read + 1] == b'\\' {
                cursor.read += 2;
            } else {
                cursor.read += 1;
            }
            buf[cursor.write] = b;
            cursor.write += 1;
        }
    }
    Some((start, cursor.write))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec::Vec;
    use std::{format, vec};

    /// A line reduced to owned strings: (number, kind, name, args).
    type Owned = (u32, LineKind, String, Vec<String>);

    fn owned(line: &Line<'_>) -> Owned {
        (
            line.number,
            line.kind,
            line.name.to_string(),
            line.args.iter().map(|a| a.to_string()).collect(),
        )
    }

    /// Every line of `text`, stopping at the first error (returned with the lines before it).
    fn lines(text: &str) -> (Vec<Owned>, Option<ConfError>) {
        let mut t = Tokenizer::new(text);
        let mut buf = [0u8; MAX_LINE_LEN];
        let mut out = Vec::new();
        while let Some(r) = t.next_line(&mut buf) {
            match r {
                Ok(line) => out.push(owned(&line)),
                Err(e) => return (out, Some(e)),
            }
        }
        let end = t.finish().err();
        (out, end)
    }

    fn ok(text: &str) -> Vec<Owned> {
        let (out, err) = lines(text);
        assert_eq!(err, None, "{text:?}");
        out
    }

    fn words(text: &str) -> Vec<String> {
        let out = ok(text);
        assert_eq!(out.len(), 1, "{text:?}");
        let (_, _, name, args) = out.into_iter().next().unwrap();
        let mut all = vec![name];
        all.extend(args);
        all
    }

    fn error(text: &str) -> (u32, String) {
        let (_, err) = lines(text);
        let err = err.unwrap_or_else(|| panic!("no error for {text:?}"));
        (err.line, err.to_string())
    }

    fn d(n: u32, name: &str, args: &[&str]) -> Owned {
        (
            n,
            LineKind::Directive,
            name.into(),
            args.iter().map(|a| a.to_string()).collect(),
        )
    }

    #[test]
    fn directives_comments_and_blank_lines() {
        let text = "# comment\n\n  Listen   80 http  \n\t# indented comment\nKeepAlive On";
        assert_eq!(
            ok(text),
            vec![d(3, "Listen", &["80", "http"]), d(5, "KeepAlive", &["On"])]
        );
    }

    #[test]
    fn a_hash_after_a_word_is_an_argument() {
        assert_eq!(words("Listen 80 # web"), ["Listen", "80", "#", "web"]);
    }

    #[test]
    fn continuations_join_physical_lines() {
        let text = "Listen \\\n  80\\\n http\nTimeout 5\n";
        assert_eq!(
            ok(text),
            vec![d(1, "Listen", &["80", "http"]), d(4, "Timeout", &["5"])]
        );
        // No space is inserted: the words run together.
        assert_eq!(words("Time\\\nout 5"), ["Timeout", "5"]);
        // httpd 2.4 does not treat `\\` before the newline as an escaped backslash.
        assert_eq!(words("A b\\\\\nc"), ["A", "b\\c"]);
    }

    #[test]
    fn continuation_needs_a_newline() {
        assert_eq!(words("Listen 80\\"), ["Listen", "80\\"]);
        // A continuation on the last line ends the line at the end of the text.
        assert_eq!(words("Listen 80 \\\n"), ["Listen", "80"]);
    }

    #[test]
    fn a_continued_comment_swallows_the_next_line() {
        assert_eq!(
            ok("# note \\\nListen 80\nTimeout 1"),
            vec![d(3, "Timeout", &["1"])]
        );
    }

    #[test]
    fn crlf_files_read_like_lf_files() {
        let text = "Listen 80\r\n\r\nKeepAlive \\\r\n On\r\n# x\r\nTimeout 5\r\n";
        assert_eq!(
            ok(text),
            vec![
                d(1, "Listen", &["80"]),
                d(3, "KeepAlive", &["On"]),
                d(6, "Timeout", &["5"])
            ]
        );
    }

    #[test]
    fn quotes_group_words_and_escape_themselves() {
        assert_eq!(words(r#"A "b c" 'd e'"#), ["A", "b c", "d e"]);
        assert_eq!(words(r#"A "say \"hi\"""#), ["A", r#"say "hi""#]);
        assert_eq!(
            words(r#"A 'it\'s' "x\\y" "x\y""#),
            ["A", "it's", r"x\y", r"x\y"]
        );
        // Inside double quotes a single quote needs no escape and `\'` stays as written.
        assert_eq!(words(r#"A "it's" "a\'b""#), ["A", "it's", r"a\'b"]);
        // Outside quotes only `\\` is an escape.
        assert_eq!(words(r#"A a\\b a\"b"#), ["A", r"a\b", r#"a\"b"#]);
        // A quoted word ends at its closing quote even when text follows directly.
        assert_eq!(words(r#"A "b"c"#), ["A", "b", "c"]);
        // A quote inside a word is an ordinary character.
        assert_eq!(words(r#"A b"c d""#), ["A", "b\"c", "d\""]);
        // An unterminated quote runs to the end of the line.
        assert_eq!(words(r#"A "b c"#), ["A", "b c"]);
        assert_eq!(words(r#"A """#), ["A", ""]);
    }

    #[test]
    fn arguments_may_be_any_utf8() {
        assert_eq!(
            words("ServerAdmin \"José Ñoño\" ✓"),
            ["ServerAdmin", "José Ñoño", "✓"]
        );
    }

    #[test]
    fn sections_open_and_close() {
        let text = "<IfModule !mod_x.c>\n  Listen 80\n</IfModule>\n<Location /server-status>\n\
                    SetHandler server-status\n</location>";
        assert_eq!(
            ok(text),
            vec![
                (
                    1,
                    LineKind::SectionOpen,
                    "IfModule".into(),
                    vec!["!mod_x.c".into()]
                ),
                d(2, "Listen", &["80"]),
                (3, LineKind::SectionClose, "IfModule".into(), vec![]),
                (
                    4,
                    LineKind::SectionOpen,
                    "Location".into(),
                    vec!["/server-status".into()]
                ),
                d(5, "SetHandler", &["server-status"]),
                (6, LineKind::SectionClose, "location".into(), vec![]),
            ]
        );
    }

    #[test]
    fn section_arguments_end_at_the_last_bracket() {
        let (_, kind, name, args) = ok("<VirtualHost *:80 [::1]:80> ignored\n</VirtualHost>")
            .into_iter()
            .next()
            .unwrap();
        assert_eq!(
            (kind, name.as_str()),
            (LineKind::SectionOpen, "VirtualHost")
        );
        assert_eq!(args, ["*:80", "[::1]:80"]);
        let (_, _, _, args) = ok("<Directory \"/a b>c\">\n</Directory>").remove(0);
        assert_eq!(args, ["/a b>c"]);
        let (_, _, name, args) = ok("<Else>\n</Else>").remove(0);
        assert_eq!((name.as_str(), args.len()), ("Else", 0));
        let (_, _, name, args) = ok("<IfModule mod_x.c >\n</IfModule>").remove(0);
        assert_eq!((name.as_str(), args), ("IfModule", vec!["mod_x.c".into()]));
    }

    #[test]
    fn nesting_errors_use_httpd_texts() {
        assert_eq!(
            error("<IfModule x>\n</IfDefine>"),
            (2, "Expected </IfModule> but saw </IfDefine>".into())
        );
        assert_eq!(
            error("Listen 80\n</IfModule>"),
            (2, "</IfModule> without matching <IfModule> section".into())
        );
        assert_eq!(
            error("</IfModule"),
            (1, "</IfModule without matching <IfModule section".into())
        );
        assert_eq!(
            error("<IfModule x>\n</IfModule"),
            (2, "</IfModule> directive missing closing '>'".into())
        );
        assert_eq!(
            error("<IfModule mod_x.c\n"),
            (1, "<IfModule> directive missing closing '>'".into())
        );
        assert_eq!(
            error("<IfModule> x\n"),
            (1, "<IfModule> directive missing closing '>'".into())
        );
        assert_eq!(
            error("Listen 80\n<IfModule x>\n<IfDefine y>\n</IfDefine>\n"),
            (2, "<IfModule> was not closed.".into())
        );
    }

    #[test]
    fn close_tags_ignore_what_follows_them() {
        let out = ok("<A>\n</A> trailing words");
        assert_eq!(out[1], (2, LineKind::SectionClose, "A".into(), vec![]));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut text = String::new();
        for _ in 0..MAX_SECTION_DEPTH {
            text.push_str("<A>\n");
        }
        for _ in 0..MAX_SECTION_DEPTH {
            text.push_str("</A>\n");
        }
        assert_eq!(ok(&text).len(), 2 * MAX_SECTION_DEPTH);
        let deeper = format!("{}<A>\n", "<A>\n".repeat(MAX_SECTION_DEPTH));
        assert_eq!(
            error(&deeper),
            (
                MAX_SECTION_DEPTH as u32 + 1,
                "Sections nested too deeply (at most 16)".into()
            )
        );
        let long = format!("<{}>", "N".repeat(MAX_SECTION_NAME_LEN + 1));
        assert_eq!(
            error(&long),
            (1, "Section name longer than 32 bytes".into())
        );
    }

    #[test]
    fn line_length_is_httpds() {
        let fits = format!("A {}", "x".repeat(MAX_LINE_LEN - 4));
        assert_eq!(fits.len(), MAX_LINE_LEN - 2);
        assert_eq!(words(&fits).len(), 2);
        let over = format!("{fits}y\nTimeout 5");
        let mut t = Tokenizer::new(&over);
        let mut buf = [0u8; MAX_LINE_LEN];
        let e = t.next_line(&mut buf).unwrap().unwrap_err();
        assert_eq!((e.line, e.to_string()), (1, "Line too long".into()));
        // The long line was consumed; reading goes on after it.
        let next = t.next_line(&mut buf).unwrap().unwrap();
        assert_eq!(owned(&next), d(2, "Timeout", &["5"]));
        // Continuations count towards the limit.
        let half = "x".repeat(MAX_LINE_LEN / 2);
        assert_eq!(
            error(&format!("A {half}\\\n{half}")),
            (1, "Line too long".into())
        );
    }

    #[test]
    fn arguments_are_bounded() {
        let max = format!("A{}", " x".repeat(MAX_ARGS));
        assert_eq!(words(&max).len(), MAX_ARGS + 1);
        let over = format!("A{}", " x".repeat(MAX_ARGS + 1));
        assert_eq!(
            error(&over),
            (1, "Too many arguments on one line (at most 64)".into())
        );
    }

    fn skip_after_open(text: &str) -> (Result<(), ConfError>, Vec<Owned>) {
        let mut t = Tokenizer::new(text);
        let mut buf = [0u8; MAX_LINE_LEN];
        // Read up to the first section tag.
        while t.next_line(&mut buf).unwrap().unwrap().kind != LineKind::SectionOpen {}
        let skipped = t.skip_section();
        let mut rest = Vec::new();
        while let Some(Ok(line)) = t.next_line(&mut buf) {
            rest.push(owned(&line));
        }
        (skipped, rest)
    }

    #[test]
    fn skipping_a_false_section_honours_nesting() {
        let text = "<IfModule x>\n<IfModule y>\nbad \"line\n</IfModule>\n< weird\n</ >\n\
                    </IFMODULE>\nListen 80\n";
        let (skipped, rest) = skip_after_open(text);
        assert_eq!(skipped, Ok(()));
        assert_eq!(rest, vec![d(8, "Listen", &["80"])]);
    }

    #[test]
    fn skipping_reports_mismatch_and_end_of_file() {
        let (skipped, _) = skip_after_open("<IfModule x>\n<A>\n</B>\n");
        let e = skipped.unwrap_err();
        assert_eq!(
            (e.line, e.to_string()),
            (3, "Expected </A> but saw </B>".into())
        );
        let (skipped, _) = skip_after_open("Listen 1\n\n<IfModule x>\nListen 80\n");
        let e = skipped.unwrap_err();
        assert_eq!(
            (e.line, e.to_string()),
            (3, "Expected </IfModule> before end of configuration".into())
        );
    }

    #[test]
    fn skip_without_open_section_does_nothing() {
        let mut t = Tokenizer::new("Listen 80");
        let mut buf = [0u8; MAX_LINE_LEN];
        assert_eq!(t.skip_section(), Ok(()));
        assert!(t.next_line(&mut buf).is_some());
    }

    #[test]
    fn missing_section_argument_text_is_httpds() {
        let kind = ConfErrorKind::MissingSectionArgument {
            name: section_name("IfModule"),
        };
        assert_eq!(
            kind.to_string(),
            "<IfModule> directive requires additional arguments"
        );
    }

    /// Drains a tokenizer, skipping every other section; never more calls than lines + 1.
    fn drain(text: &str) -> usize {
        let mut t = Tokenizer::new(text);
        let mut buf = [0u8; MAX_LINE_LEN];
        let limit = text.split('\n').count() + 1;
        let mut calls = 0;
        while let Some(r) = t.next_line(&mut buf) {
            calls += 1;
            assert!(calls <= limit, "no progress");
            if let Ok(line) = r
                && line.kind == LineKind::SectionOpen
                && calls % 2 == 0
            {
                let _ = t.skip_section();
            }
        }
        let _ = t.finish();
        calls
    }

    /// Words rendered so the tokenizer reads them back unchanged.
    fn quote(word: &str) -> String {
        let mut out = String::from("\"");
        for c in word.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in "[ -~\t\r\n\\\\<>\"'#é]{0,300}") {
            drain(&text);
        }

        #[test]
        fn arbitrary_unicode_never_panics(text in any::<String>()) {
            drain(&text);
        }

        #[test]
        fn continuations_do_not_change_tokens(
            name in "[A-Za-z]{1,12}",
            args in proptest::collection::vec("[^\n\r]{0,12}", 0..6),
            splits in proptest::collection::vec(any::<bool>(), 6),
            crlf in any::<bool>(),
        ) {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut flat = name.clone();
            let mut split = name.clone();
            for (i, arg) in args.iter().enumerate() {
                let word = quote(arg);
                flat.push(' ');
                flat.push_str(&word);
                if splits[i] {
                    split.push('\\');
                    split.push_str(newline);
                }
                split.push(' ');
                split.push_str(&word);
            }
            let expected: Vec<String> =
                core::iter::once(name.clone()).chain(args.iter().cloned()).collect();
            prop_assert_eq!(words(&flat), expected.clone());
            prop_assert_eq!(words(&split), expected);
        }
    }
}
