//! The header block a CGI script writes before its body (RFC 3875 §6.3), read as httpd's
//! `ap_scan_script_header_err` reads it: lines end in LF (a CR before it is dropped), an empty
//! line ends the block, every other line is `Name: value`.
//!
//! `Status`, `Location`, `Content-Type` and `Content-Length` are taken out; the fields the server
//! owns (`Date`, `Server`, the framing and hop-by-hop fields) are dropped; everything else passes
//! through in order, repeated fields (`Set-Cookie`) included. A line without a colon, a name that
//! is not a token, a value with control bytes (which would split the response) or a block larger
//! than the bounds below is malformed: the caller answers 500.

use eventmpm_core::http1::Status;

/// Longest header line (httpd's `MAX_STRING_LEN` less its terminator).
pub const MAX_LINE: usize = 8190;
/// Largest header block.
pub const MAX_BLOCK: usize = 64 * 1024;
/// Most header lines.
pub const MAX_LINES: usize = 256;

/// What a script said in its header block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptHead {
    /// `Status: NNN reason`: the code, and the reason text when one was given.
    pub status: Option<(Status, Option<String>)>,
    /// `Location:`.
    pub location: Option<Vec<u8>>,
    /// `Content-Type:`.
    pub content_type: Option<Vec<u8>>,
    /// `Content-Length:`.
    pub content_length: Option<u64>,
    /// Other fields, in the script's order.
    pub fields: Vec<(String, Vec<u8>)>,
}

impl ScriptHead {
    /// The status the response gets: the script's, else 200.
    pub fn status(&self) -> Status {
        self.status.as_ref().map_or(Status::OK, |(s, _)| *s)
    }

    /// A redirect the server carries out instead of sending the script's output: `Location`
    /// on a 200 (mod_cgi's rule), the status being the script's `Status`, else `unsaid` (200,
    /// or an error document's error, which httpd's redirected request inherits: such a script's
    /// `Location` is sent as it is, with the error's status). `Some(true)` for a local
    /// URL-path, served internally; `Some(false)` for anything else, answered with 302.
    pub fn redirect(&self, unsaid: Status) -> Option<bool> {
        let loc = self.location.as_ref()?;
        if self.status.as_ref().map_or(unsaid, |(s, _)| *s) != Status::OK {
            return None;
        }
        Some(loc.first() == Some(&b'/'))
    }
}

/// Why a header block was refused; the `Display` text is httpd's log message without the
/// script name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// A line that is not `Name: value`.
    BadHeader(String),
    /// A `Status` that is not a final code (200 to 599).
    BadStatus(String),
    /// A `Content-Length` that is not a decimal number.
    BadLength(String),
    /// A line or the whole block beyond the bounds.
    TooLong,
    /// The output ended before the empty line; `first` when no line came at all.
    Ended {
        /// No header line was read.
        first: bool,
    },
}

impl HeadError {
    /// httpd's wording, with the script's file name.
    pub fn message(&self, name: &str) -> String {
        match self {
            HeadError::BadHeader(l) => {
                format!("malformed header from script '{name}': Bad header: {l}")
            }
            HeadError::BadStatus(l) => format!("Invalid status line from script '{name}': {l}"),
            HeadError::BadLength(l) => {
                format!("malformed header from script '{name}': Bad Content-Length: {l}")
            }
            HeadError::TooLong => {
                format!("malformed header from script '{name}': header block too long")
            }
            HeadError::Ended { first: true } => {
                format!("End of script output before headers: {name}")
            }
            HeadError::Ended { first: false } => {
                format!("Premature end of script headers: {name}")
            }
        }
    }
}

/// The result of scanning the script's output so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// No empty line yet; read more.
    Partial,
    /// The block, and how many bytes it took (the body starts there).
    Complete(ScriptHead, usize),
    /// Malformed.
    Error(HeadError),
}

/// Scan `out` (the script's output from its first byte). `eof`: nothing more will come.
pub fn scan(out: &[u8], eof: bool) -> Scan {
    let mut head = ScriptHead::default();
    let mut at = 0;
    let mut lines = 0;
    loop {
        let rest = &out[at..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            // A trailing CR may be the first half of CRLF, so it does not count yet: the verdict
            // must not depend on where a read split the line (found by the `cgi_headers` fuzz
            // target).
            let pending = rest.strip_suffix(b"\r").unwrap_or(rest);
            if pending.len() > MAX_LINE || out.len() > MAX_BLOCK {
                return Scan::Error(HeadError::TooLong);
            }
            return if eof {
                Scan::Error(HeadError::Ended { first: lines == 0 })
            } else {
                Scan::Partial
            };
        };
        let mut line = &rest[..nl];
        at += nl + 1;
        if let [l @ .., b'\r'] = line {
            line = l;
        }
        if line.len() > MAX_LINE || at > MAX_BLOCK || lines >= MAX_LINES {
            return Scan::Error(HeadError::TooLong);
        }
        if line.is_empty() {
            return Scan::Complete(head, at);
        }
        lines += 1;
        if let Err(e) = field(&mut head, line) {
            return Scan::Error(e);
        }
    }
}

/// At most 30 bytes of a line, printable, for a log message (httpd's `%.30s`).
fn excerpt(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(30)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn field(head: &mut ScriptHead, line: &[u8]) -> Result<(), HeadError> {
    let bad = || HeadError::BadHeader(excerpt(line));
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let name = &line[..colon];
    let value = trim(&line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(bad());
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(bad());
    }
    let name = std::str::from_utf8(name).map_err(|_| bad())?;
    match name.to_ascii_lowercase().as_str() {
        "status" => {
            let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
            let code = std::str::from_utf8(&value[..digits])
                .ok()
                .and_then(|d| d.parse::<u16>().ok())
                .and_then(Status::new)
                // An interim status cannot end a CGI response.
                .filter(|s| digits == 3 && !s.is_informational())
                .ok_or_else(|| HeadError::BadStatus(excerpt(value)))?;
            let reason = trim(&value[digits..]);
            let reason = (!reason.is_empty())
                .then(|| String::from_utf8(reason.to_vec()).ok())
                .flatten();
            head.status = Some((code, reason));
        }
        "location" => head.location = Some(value.to_vec()),
        "content-type" => head.content_type = Some(value.to_vec()),
        "content-length" => {
            let n = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| HeadError::BadLength(excerpt(value)))?;
            head.content_length = Some(n);
        }
        // The server writes these itself; a script's copy would contradict its framing.
        "date" | "server" | "transfer-encoding" | "connection" | "keep-alive" | "te"
        | "trailer" | "upgrade" | "proxy-connection" => {}
        _ => head.fields.push((name.to_string(), value.to_vec())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(out: &[u8]) -> (ScriptHead, usize) {
        match scan(out, false) {
            Scan::Complete(h, n) => (h, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_status_and_the_body_offset() {
        let out = b"Content-Type: text/plain\r\nStatus: 404 Gone Fishing\nX-A: 1\nSet-Cookie: a=1\nSet-Cookie: b=2\r\n\r\nbody";
        let (h, n) = complete(out);
        assert_eq!(&out[n..], b"body");
        assert_eq!(h.content_type.as_deref(), Some(&b"text/plain"[..]));
        assert_eq!(
            h.status,
            Some((Status::NOT_FOUND, Some("Gone Fishing".into())))
        );
        assert_eq!(h.fields.len(), 3);
        assert_eq!(h.fields[1], ("Set-Cookie".into(), b"a=1".to_vec()));
        assert_eq!(h.redirect(Status::OK), None);
    }

    #[test]
    fn incomplete_and_ended_blocks() {
        assert_eq!(scan(b"Content-Type: text/plain\n", false), Scan::Partial);
        assert_eq!(
            scan(b"Content-Type: text/plain\n", true),
            Scan::Error(HeadError::Ended { first: false })
        );
        assert_eq!(
            scan(b"", true),
            Scan::Error(HeadError::Ended { first: true })
        );
        assert!(
            HeadError::Ended { first: true }
                .message("x.cgi")
                .starts_with("End of script output before headers: x.cgi")
        );
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            &b"no colon here\n\n"[..],
            b"Bad Name: x\n\n",
            b": empty\n\n",
            b"X: a\x01b\n\n",
            b"X: a\rb\n\n",
        ] {
            assert!(
                matches!(scan(bad, false), Scan::Error(HeadError::BadHeader(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            scan(b"Status: abc\n\n", false),
            Scan::Error(HeadError::BadStatus(_))
        ));
        assert!(matches!(
            scan(b"Status: 99\n\n", false),
            Scan::Error(HeadError::BadStatus(_))
        ));
        assert!(matches!(
            scan(b"Status: 600\n\n", false),
            Scan::Error(HeadError::BadStatus(_))
        ));
        assert!(matches!(
            scan(b"Content-Length: -1\n\n", false),
            Scan::Error(HeadError::BadLength(_))
        ));
        let long = vec![b'a'; MAX_LINE + 10];
        assert_eq!(scan(&long, false), Scan::Error(HeadError::TooLong));
        let mut many = Vec::new();
        for _ in 0..MAX_LINES + 1 {
            many.extend_from_slice(b"X: y\n");
        }
        many.push(b'\n');
        assert_eq!(scan(&many, false), Scan::Error(HeadError::TooLong));
        assert!(
            HeadError::BadHeader("no colon here".into())
                .message("x.cgi")
                .contains("malformed header from script 'x.cgi': Bad header: no colon here")
        );
    }

    #[test]
    fn a_longest_line_split_before_its_lf_is_not_too_long() {
        // A line of exactly MAX_LINE bytes whose CRLF was split by a read: the CR alone must not
        // make it too long, since the whole block is accepted.
        let mut out = b"X: ".to_vec();
        out.resize(MAX_LINE, b'x');
        out.extend_from_slice(b"\r\n\n");
        assert!(matches!(scan(&out, false), Scan::Complete(_, n) if n == out.len()));
        assert_eq!(scan(&out[..MAX_LINE + 1], false), Scan::Partial);
        assert_eq!(scan(&out[..MAX_LINE], false), Scan::Partial);
        // One byte more is too long however it is split.
        let mut long = out[..MAX_LINE].to_vec();
        long.extend_from_slice(b"x\r");
        assert_eq!(scan(&long, false), Scan::Error(HeadError::TooLong));
        long.extend_from_slice(b"\n\n");
        assert_eq!(scan(&long, false), Scan::Error(HeadError::TooLong));
    }

    #[test]
    fn redirects_and_owned_fields() {
        let (h, _) = complete(b"Location: /other\n\n");
        assert_eq!(h.redirect(Status::OK), Some(true));
        let (h, _) = complete(b"Location: http://example.org/\nStatus: 200\n\n");
        assert_eq!(h.redirect(Status::OK), Some(false));
        let (h, _) = complete(b"Location: /x\nStatus: 301 Moved\n\n");
        assert_eq!(h.redirect(Status::OK), None);
        // An error document's script: its Location is sent with the error, unless it says 200.
        let (h, _) = complete(b"Location: /other\n\n");
        assert_eq!(h.redirect(Status::NOT_FOUND), None);
        let (h, _) = complete(b"Location: /other\nStatus: 200\n\n");
        assert_eq!(h.redirect(Status::NOT_FOUND), Some(true));
        let (h, _) = complete(
            b"Date: x\nServer: y\nTransfer-Encoding: chunked\nConnection: close\nContent-Length: 12\nX: 1\n\n",
        );
        assert_eq!(h.fields, vec![("X".into(), b"1".to_vec())]);
        assert_eq!(h.content_length, Some(12));
    }
}
