//! core's `ErrorDocument`: what answers an error in place of httpd's built-in page.
//!
//! Read as httpd's `set_error_document` (`server/core.c`) reads it: the code must be one httpd
//! has a status line for; the second argument is a message if it contains a space, a local
//! URL-path if it starts with `/`, a full URL if it looks like one, else a message; `default`
//! (any case) undoes an inherited document; a full URL for 401 is ignored with httpd's notice.
//! Sections merge per code, the last in merge order winning, as httpd overlays
//! `response_code_exprs`. What each form does at request time is in the worker
//! (`child/worker/error_document.rs`).

use super::Sections;
use super::atoi::atoi;

/// What an `ErrorDocument` line says to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// `default`: httpd's own page, whatever an enclosing section said.
    Default,
    /// A message sent as the body (`text/html`, as httpd labels its error pages), its escapes
    /// already read.
    Text(Vec<u8>),
    /// A local URL-path, served by an internal redirect with the error's status.
    Local(String),
    /// A full URL the client is redirected to (302).
    Remote(String),
}

/// One section's `ErrorDocument` lines: at most one per status code (a later line for the
/// same code replaces the earlier), so at most [`STATUS_LINES`]'s length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDocuments(Vec<(u16, Document)>);

impl ErrorDocuments {
    /// Whether no line was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The document this section sets for `code`, if it sets one.
    pub fn get(&self, code: u16) -> Option<&Document> {
        self.0.iter().find(|(c, _)| *c == code).map(|(_, d)| d)
    }

    /// Whether this section sets a local document for any code.
    pub fn has_local(&self) -> bool {
        self.0.iter().any(|(_, d)| matches!(d, Document::Local(_)))
    }

    /// Read one `ErrorDocument code document` line. `Ok(Some(note))` when httpd accepts the
    /// line and ignores it with a notice (a full URL for 401); `position` is its `file:line`.
    pub fn add(&mut self, args: &[&str], position: &str) -> Result<Option<String>, String> {
        let [code_text, msg] = args else {
            return Err(
                "ErrorDocument takes two arguments, Change responses for HTTP errors".into(),
            );
        };
        let code = atoi(code_text);
        if code != 500 && !has_status_line(code) {
            return Err(format!("Unsupported HTTP response code {code_text}"));
        }
        let doc = if msg.eq_ignore_ascii_case("default") {
            Document::Default
        } else if msg.contains(' ') {
            Document::Text(expr_string(msg)?)
        } else if msg.starts_with('/') {
            Document::Local(text_of(expr_string(msg)?)?)
        } else if is_url(msg) {
            if code == 401 {
                return Ok(Some(format!(
                    "AH00113: {position} cannot use a full URL in a 401 ErrorDocument directive \
                     --- ignoring!"
                )));
            }
            Document::Remote(text_of(expr_string(msg)?)?)
        } else {
            Document::Text(expr_string(msg)?)
        };
        match self.0.iter_mut().find(|(c, _)| *c == code as u16) {
            Some(slot) => slot.1 = doc,
            None => self.0.push((code as u16, doc)),
        }
        Ok(None)
    }
}

/// The document in force for `code` among `sections` (in merge order: the last that sets one
/// wins), `None` for httpd's own page.
pub fn find<'s>(mut sections: impl Sections<'s>, code: u16) -> Option<&'s Document> {
    let mut found = None;
    for s in sections.by_ref() {
        if let Some(d) = s.error_documents.get(code) {
            found = Some(d);
        }
    }
    match found {
        Some(Document::Default) | None => None,
        d => d,
    }
}

/// The value of `msg` read as httpd reads an ErrorDocument, as an ap_expr string
/// (`util_expr_scan.l`): `\n`, `\r`, `\t`, `\b`, `\f` and octal `\ooo` escapes, `\` before
/// any other character is that character (`\x41` too: Debian's httpd 2.4.67 sends `x41`),
/// a regex backreference `$0`…`$9` is empty (there is no regex), and the value ends at a NUL
/// (`\0`), as a C string does. A variable (`%{…}`) is refused: eventmpm has no ap_expr.
fn expr_string(msg: &str) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("Cannot parse expression in ErrorDocument: {what}");
    let b = msg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if b.get(i + 1) == Some(&b'{') => {
                return Err(
                    "ErrorDocument: expressions (%{...}) in the document are not supported by \
                     eventmpm"
                        .into(),
                );
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i += 2,
            b'\\' if i + 1 < b.len() => {
                let rest = &b[i + 1..];
                match rest[0] {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    // Octal past 377, or a digit octal has not: the scanner's error.
                    b'8' | b'9' => return Err(bad("Bad character escape sequence")),
                    b'4'..=b'7'
                        if rest.iter().take(3).all(u8::is_ascii_digit) && rest.len() >= 3 =>
                    {
                        return Err(bad("Bad character escape sequence"));
                    }
                    b'0'..=b'7' => {
                        let n = rest
                            .iter()
                            .take(3)
                            .take_while(|c| (b'0'..=b'7').contains(*c))
                            .count();
                        let v = rest[..n]
                            .iter()
                            .fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                        out.push(v as u8);
                        i += 1 + n;
                        continue;
                    }
                    other => out.push(other),
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if let Some(nul) = out.iter().position(|&c| c == 0) {
        out.truncate(nul);
    }
    Ok(out)
}

/// A path or URL read by [`expr_string`], which must stay text.
fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| {
        "ErrorDocument: the path or URL is not valid UTF-8 once its escapes are read".into()
    })
}

/// The codes httpd 2.4 has a status line for (`status_lines` in `http_protocol.c`); any
/// other is "Unsupported" for ErrorDocument.
#[doc(alias = "status_lines")]
pub const STATUS_LINES: &[u16] = &[
    100, 101, 102, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305,
    307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
    417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506,
    507, 508, 510, 511,
];

fn has_status_line(code: i64) -> bool {
    u16::try_from(code).is_ok_and(|c| STATUS_LINES.contains(&c))
}

/// httpd's `ap_is_url`: a scheme (letters, digits, `+`, `-`, `.`) of at least one character
/// before a `:`.
#[doc(alias = "ap_is_url")]
fn is_url(s: &str) -> bool {
    let Some(colon) = s.find(':') else {
        return false;
    };
    colon > 0
        && s[..colon]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::SectionSettings;

    fn read(lines: &[[&str; 2]]) -> Result<ErrorDocuments, String> {
        let mut d = ErrorDocuments::default();
        for l in lines {
            d.add(l, "x.conf:1")?;
        }
        Ok(d)
    }

    #[test]
    fn the_second_argument_is_read_by_httpds_heuristic() {
        let d = read(&[
            ["404", "/missing.html"],
            ["403", "some text"],
            ["500", "http://example.com/x"],
            ["410", "gone"],
            ["412", "mailto:x@y"],
            ["413", "/with space"],
            ["414", "DEFAULT"],
        ])
        .unwrap();
        assert_eq!(d.get(404), Some(&Document::Local("/missing.html".into())));
        assert_eq!(d.get(403), Some(&Document::Text("some text".into())));
        assert_eq!(
            d.get(500),
            Some(&Document::Remote("http://example.com/x".into()))
        );
        assert_eq!(d.get(410), Some(&Document::Text("gone".into())));
        assert_eq!(d.get(412), Some(&Document::Remote("mailto:x@y".into())));
        assert_eq!(d.get(413), Some(&Document::Text("/with space".into())));
        assert_eq!(d.get(414), Some(&Document::Default));
        assert_eq!(d.get(400), None);
        assert!(d.has_local());
    }

    #[test]
    fn messages_are_read_as_ap_expr_strings() {
        let d = read(&[
            ["400", r"line\nbreak \t tab"],
            ["401", r"hex \x41 octal \101\7 \q \\ nul\0 cut"],
            ["402", "cost $1 or $0 nothing"],
            ["403", r"trailing \"],
            ["404", r"/doc\056html"],
        ])
        .unwrap();
        assert_eq!(
            d.get(400),
            Some(&Document::Text(b"line\nbreak \t tab".to_vec()))
        );
        assert_eq!(
            d.get(401),
            Some(&Document::Text(b"hex x41 octal A\x07 q \\ nul".to_vec()))
        );
        assert_eq!(
            d.get(402),
            Some(&Document::Text(b"cost  or  nothing".to_vec()))
        );
        assert_eq!(d.get(403), Some(&Document::Text(b"trailing \\".to_vec())));
        assert_eq!(d.get(404), Some(&Document::Local("/doc.html".into())));
    }

    #[test]
    fn a_later_line_for_the_same_code_replaces_the_earlier() {
        let d = read(&[["404", "/a.html"], ["404", "b text"]]).unwrap();
        assert_eq!(d.get(404), Some(&Document::Text("b text".into())));
        assert_eq!(d.0.len(), 1);
    }

    #[test]
    fn bad_lines_get_httpds_messages() {
        assert_eq!(
            read(&[["999", "/x"]]),
            Err("Unsupported HTTP response code 999".into())
        );
        assert_eq!(
            read(&[["abc", "/x"]]),
            Err("Unsupported HTTP response code abc".into())
        );
        assert_eq!(
            read(&[["419", "/x"]]),
            Err("Unsupported HTTP response code 419".into())
        );
        let mut d = ErrorDocuments::default();
        assert_eq!(
            d.add(&["404"], "x:1"),
            Err("ErrorDocument takes two arguments, Change responses for HTTP errors".into())
        );
        assert!(d.add(&["404", "%{REQUEST_URI} gone"], "x:1").is_err());
        assert_eq!(
            d.add(&["404", r"bad \8 escape"], "x:1"),
            Err("Cannot parse expression in ErrorDocument: Bad character escape sequence".into())
        );
        assert!(d.add(&["404", r"bad \477 escape"], "x:1").is_err());
        // atoi: trailing garbage after the digits is ignored, as httpd's atoi ignores it.
        assert!(d.add(&["404x", "/x"], "x:1").is_ok());
        assert_eq!(d.get(404), Some(&Document::Local("/x".into())));
    }

    #[test]
    fn a_full_url_for_401_is_ignored_with_httpds_notice() {
        let mut d = ErrorDocuments::default();
        let note = d
            .add(&["401", "https://login.example/"], "a.conf:7")
            .unwrap();
        assert_eq!(
            note.as_deref(),
            Some(
                "AH00113: a.conf:7 cannot use a full URL in a 401 ErrorDocument directive --- \
                 ignoring!"
            )
        );
        assert!(d.is_empty());
        // A local path for 401 is fine.
        assert_eq!(d.add(&["401", "/login.html"], "a.conf:8"), Ok(None));
    }

    #[test]
    fn sections_merge_per_code_and_default_undoes() {
        let server = SectionSettings {
            error_documents: read(&[["404", "/nf.html"], ["403", "no"]]).unwrap(),
            ..SectionSettings::default()
        };
        let loc = SectionSettings {
            error_documents: read(&[["404", "default"]]).unwrap(),
            ..SectionSettings::default()
        };
        let both = [&server, &loc];
        assert_eq!(find(both.iter().copied(), 404), None);
        assert_eq!(
            find(both.iter().copied(), 403),
            Some(&Document::Text("no".into()))
        );
        assert_eq!(
            find([&server].iter().copied(), 404),
            Some(&Document::Local("/nf.html".into()))
        );
        assert_eq!(find(both.iter().copied(), 500), None);
    }
}
