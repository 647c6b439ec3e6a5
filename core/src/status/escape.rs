//! Escaping for the status page: HTML, httpd's log-item escaping, and JSON strings.
//!
//! The request line, client and virtual host come from clients (and from shared memory a child may
//! have corrupted), so everything from the scoreboard goes through one of these. The HTML output
//! is ASCII only (other characters become numeric references), so it is correct whatever charset
//! the response declares.

use core::fmt::{self, Write};

/// Writes `c` HTML-escaped: `& < > "` as entities (httpd's `ap_escape_html`), other non-ASCII
/// characters as numeric references.
fn html_char(out: &mut dyn Write, c: char) -> fmt::Result {
    match c {
        '&' => out.write_str("&amp;"),
        '<' => out.write_str("&lt;"),
        '>' => out.write_str("&gt;"),
        '"' => out.write_str("&quot;"),
        c if c.is_ascii() => out.write_char(c),
        c => write!(out, "&#x{:x};", u32::from(c)),
    }
}

/// A trusted string (server name, version) for HTML.
pub(crate) fn html(out: &mut dyn Write, text: &str) -> fmt::Result {
    text.chars().try_for_each(|c| html_char(out, c))
}

/// Untrusted bytes (client, protocol, virtual host) for HTML: valid UTF-8 is kept, control
/// characters and bytes that are not UTF-8 become `\xhh`.
pub(crate) fn html_bytes(out: &mut dyn Write, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                hex_escape_char(out, c)?;
            } else {
                html_char(out, c)?;
            }
        }
        for &b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

fn hex_escape_char(out: &mut dyn Write, c: char) -> fmt::Result {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        write!(out, "\\x{b:02x}")?;
    }
    Ok(())
}

/// The request line for HTML, as httpd shows it: `ap_escape_logitem` (`\"`, `\\`, `\n`, … and
/// `\xhh` for every byte that is not printable ASCII), then `ap_escape_html`.
pub(crate) fn html_logitem(out: &mut dyn Write, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        match b {
            b'\\' => out.write_str("\\\\")?,
            b'"' => out.write_str("\\&quot;")?,
            0x08 => out.write_str("\\b")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b'\t' => out.write_str("\\t")?,
            0x0b => out.write_str("\\v")?,
            0x20..=0x7e => html_char(out, char::from(b))?,
            _ => write!(out, "\\x{b:02x}")?,
        }
    }
    Ok(())
}

/// A JSON string literal of `text`.
pub(crate) fn json_str(out: &mut dyn Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    json_chars(out, text)?;
    out.write_char('"')
}

/// A JSON string literal of untrusted bytes: valid UTF-8 is kept, invalid bytes become U+FFFD.
pub(crate) fn json_bytes(out: &mut dyn Write, bytes: &[u8]) -> fmt::Result {
    out.write_char('"')?;
    for chunk in bytes.utf8_chunks() {
        json_chars(out, chunk.valid())?;
        for _ in chunk.invalid() {
            out.write_str("\\ufffd")?;
        }
    }
    out.write_char('"')
}

fn json_chars(out: &mut dyn Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            // `<` too, so the JSON can be embedded in a <script> block without ending it.
            c if u32::from(c) < 0x20 || c == '\u{7f}' || c == '<' => {
                write!(out, "\\u{:04x}", u32::from(c))?
            }
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn text(f: impl FnOnce(&mut String) -> fmt::Result) -> String {
        let mut s = String::new();
        f(&mut s).unwrap();
        s
    }

    #[test]
    fn html_escapes_markup_and_non_ascii() {
        assert_eq!(
            text(|s| html(s, "<b>\"x\" & é</b>")),
            "&lt;b&gt;&quot;x&quot; &amp; &#xe9;&lt;/b&gt;"
        );
        assert_eq!(
            text(|s| html_bytes(s, b"<script>\x01\xff\xc3\xa9")),
            "&lt;script&gt;\\x01\\xff&#xe9;"
        );
    }

    #[test]
    fn request_lines_are_log_escaped_then_html_escaped() {
        assert_eq!(
            text(|s| html_logitem(s, b"GET /<x>\"\\\n\t\xe9 HTTP/1.1")),
            "GET /&lt;x&gt;\\&quot;\\\\\\n\\t\\xe9 HTTP/1.1"
        );
    }

    #[test]
    fn json_strings_are_valid_json() {
        assert_eq!(
            text(|s| json_str(s, "a\"b\\c\n\u{1}<")),
            "\"a\\\"b\\\\c\\n\\u0001\\u003c\""
        );
        assert_eq!(
            text(|s| json_bytes(s, b"ok\xff\xc3\xa9")),
            "\"ok\\ufffd\u{e9}\""
        );
    }
}
