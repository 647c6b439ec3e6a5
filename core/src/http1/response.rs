//! Writing a response head: status line, Date, Server, the caller's fields, then the framing and
//! persistence fields the server owns.
//!
//! The writer decides the body framing from the status, the method and what the caller knows
//! about the length (`ap_http_header_filter`, `ap_set_keepalive`), and reports it back in
//! [`Written`] so the caller sends exactly the bytes the head promised.

use core::fmt;

use super::Status;
use super::Version;
use super::token::is_token;
use super::writer::{TooSmall, Writer};
use crate::byte_scan;
use crate::time::Duration;

/// The interim response to `Expect: 100-continue`, exactly as httpd sends it.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the caller knows about the body it will send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyLength {
    /// Exactly this many bytes (a file, a buffered page).
    Known(u64),
    /// Unknown in advance (streamed output): chunked to HTTP/1.1 clients, delimited by closing
    /// the connection for HTTP/1.0 clients.
    Unknown,
}

/// Whether the connection stays open after this response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Persistence {
    /// Close after this response: `Connection: close`.
    Close,
    /// Keep the connection for another request: `Keep-Alive: timeout=N, max=M`.
    KeepAlive {
        /// `KeepAliveTimeout`; advertised in whole seconds rounded down, as httpd does, so a
        /// client is never told the connection lives longer than it will.
        timeout: Duration,
        /// Requests still allowed on this connection (`MaxKeepAliveRequests` minus those served);
        /// `None` when unlimited, which omits `max=`.
        max: Option<u32>,
    },
}

/// Everything a response head says, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub struct ResponseHead<'a> {
    /// The status.
    pub status: Status,
    /// The request's version: decides chunked versus close-delimited bodies, that is
    /// whether the body can be chunked. The status line itself always says HTTP/1.1 (RFC 9110
    /// §6.2: a server sends its own version), as httpd does; an HTTP/0.9 request gets no head at
    /// all.
    pub request_version: Version,
    /// The request was HEAD: no body is sent, but Content-Length still tells what GET would send.
    pub head_only: bool,
    /// The body's length as the caller knows it (ignored for 1xx, 204 and 304).
    pub length: BodyLength,
    /// The `Date` value, formatted once per second by [`date::format`](super::date::format).
    pub date: &'a [u8; 29],
    /// The `Server` value (`ServerTokens`); empty omits the field.
    pub server: &'a [u8],
    /// Whether the server intends to keep the connection (it may still have to close: see
    /// [`Written::close`]).
    pub persistence: Persistence,
    /// The request's Connection field named `keep-alive`. Only then does a kept connection get
    /// `Keep-Alive: timeout=N, max=M` and `Connection: Keep-Alive`, as httpd sends them; an
    /// HTTP/1.1 connection persists without either.
    #[doc(alias = "ka_sent")]
    pub keep_alive_asked: bool,
    /// Further fields in order (Content-Type, Last-Modified, ETag, Allow, ...). The writer owns
    /// Date, Server, Content-Length, Transfer-Encoding, Connection and Keep-Alive; passing one of
    /// those is an error, except Connection on a 1xx response (`101 Switching Protocols` needs
    /// `Connection: Upgrade`).
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// How the body must be sent after a written head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyPlan {
    /// No body bytes at all (1xx, 204, 304, HEAD).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked: wrap the output with [`chunk_header`] and end it with [`LAST_CHUNK`].
    Chunked,
    /// Raw bytes until the connection closes (an HTTP/1.0 client, length unknown).
    UntilClose,
}

/// What [`ResponseHead::write`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Written {
    /// Bytes of head at the start of the output buffer.
    pub len: usize,
    /// How to send the body.
    pub body: BodyPlan,
    /// The head said `Connection: close` (asked for, or forced by a close-delimited body): close
    /// after the body. Always false for 1xx, which do not end the exchange.
    pub close: bool,
}

/// Why a head could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteError {
    /// The output buffer is too small.
    TooSmall,
    /// A caller field has a name that is not a token, a value with CR, LF or NUL (which would
    /// split the response), or a name the writer owns.
    InvalidHeader,
}

impl From<TooSmall> for WriteError {
    fn from(_: TooSmall) -> WriteError {
        WriteError::TooSmall
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteError::TooSmall => "response head does not fit the buffer",
            WriteError::InvalidHeader => "invalid response header field",
        })
    }
}

/// The end of a chunked body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The size line that precedes `len` bytes of chunk data (`1a2b\r\n`); the data must be followed
/// by CRLF. `len` must not be 0, which would end the body. Returns the bytes written.
pub fn chunk_header(len: u64, out: &mut [u8]) -> Result<usize, TooSmall> {
    let mut w = Writer::new(out);
    w.hex(len)?;
    w.bytes(b"\r\n")?;
    Ok(w.len())
}

/// Fields the writer owns, lowercase.
const OWNED: [&str; 6] = [
    "date",
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// The field of [`OWNED`] `name` is (any case), if any.
fn owned(name: &str) -> Option<&'static str> {
    // The length picks the one or two candidates: every caller field of every response is
    // looked up here, and most match no length at all.
    OWNED
        .iter()
        .find(|o| o.len() == name.len() && name.eq_ignore_ascii_case(o))
        .copied()
}

impl ResponseHead<'_> {
    /// Writes the head into `out`. Never panics; on error the buffer's content is unspecified.
    #[doc(alias = "ap_http_header_filter")]
    pub fn write(&self, out: &mut [u8]) -> Result<Written, WriteError> {
        let interim = self.status.is_informational();
        for (name, value) in self.headers {
            let allowed = match owned(name) {
                None => true,
                Some(o) => interim && o == "connection",
            };
            if !allowed || !is_token(name.as_bytes()) || !is_field_value(value) {
                return Err(WriteError::InvalidHeader);
            }
        }
        if !is_field_value(self.server) {
            return Err(WriteError::InvalidHeader);
        }

        let (length_field, body, must_close) = self.framing();
        if self.request_version == Version::Http09 {
            // HTTP/0.9 has no response head: the body alone, ended by closing the connection.
            return Ok(Written {
                len: 0,
                body,
                close: true,
            });
        }
        let close = !interim && (must_close || self.persistence == Persistence::Close);

        let mut w = Writer::new(out);
        w.bytes(b"HTTP/1.1 ")?;
        w.bytes(&self.status.digits())?;
        w.byte(b' ')?;
        w.str(self.status.reason())?;
        w.bytes(b"\r\n")?;
        if !interim {
            // RFC 9110 §6.6.1: Date is optional on 1xx; httpd sends none there.
            w.bytes(b"Date: ")?;
            w.bytes(self.date)?;
            w.bytes(b"\r\n")?;
            if !self.server.is_empty() {
                w.field(b"Server", self.server)?;
            }
        }
        for (name, value) in self.headers {
            w.field(name.as_bytes(), value)?;
        }
        match length_field {
            LengthField::None => {}
            LengthField::ContentLength(n) => {
                w.bytes(b"Content-Length: ")?;
                w.decimal(n)?;
                w.bytes(b"\r\n")?;
            }
            LengthField::Chunked => w.bytes(b"Transfer-Encoding: chunked\r\n")?,
        }
        if close {
            w.bytes(b"Connection: close\r\n")?;
        } else if let (false, true, Persistence::KeepAlive { timeout, max }) =
            (interim, self.keep_alive_asked, self.persistence)
        {
            w.bytes(b"Keep-Alive: timeout=")?;
            w.decimal(timeout.as_secs())?;
            if let Some(max) = max {
                w.bytes(b", max=")?;
                w.decimal(u64::from(max))?;
            }
            w.bytes(b"\r\n")?;
            w.bytes(b"Connection: Keep-Alive\r\n")?;
        }
        w.bytes(b"\r\n")?;
        Ok(Written {
            len: w.len(),
            body,
            close,
        })
    }

    /// The framing field, the body plan, and whether the framing forces a close.
    fn framing(&self) -> (LengthField, BodyPlan, bool) {
        let s = self.status.code();
        if self.status.is_informational() || s == 204 {
            // RFC 9110 §8.6: no Content-Length in 1xx or 204 responses.
            return (LengthField::None, BodyPlan::None, false);
        }
        if s == 304 {
            // A 304 may repeat the 200's length, but httpd omits it; nothing is gained by it.
            return (LengthField::None, BodyPlan::None, false);
        }
        match (self.length, self.head_only) {
            (BodyLength::Known(n), false) => {
                (LengthField::ContentLength(n), BodyPlan::Length(n), false)
            }
            (BodyLength::Known(n), true) => (LengthField::ContentLength(n), BodyPlan::None, false),
            (BodyLength::Unknown, true) => (LengthField::None, BodyPlan::None, false),
            (BodyLength::Unknown, false) => match self.request_version {
                Version::Http11 => (LengthField::Chunked, BodyPlan::Chunked, false),
                Version::Http10 | Version::Http09 => {
                    (LengthField::None, BodyPlan::UntilClose, true)
                }
            },
        }
    }
}

#[derive(Clone, Copy)]
enum LengthField {
    None,
    ContentLength(u64),
    Chunked,
}

/// A field value a response may carry: no CR, LF, NUL or other control byte but HTAB.
#[inline]
fn is_field_value(v: &[u8]) -> bool {
    !byte_scan::any(v, |b| ((b < 0x20) & (b != b'\t')) | (b == 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;

    const DATE: &[u8; 29] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn head() -> ResponseHead<'static> {
        ResponseHead {
            status: Status::OK,
            request_version: Version::Http11,
            head_only: false,
            length: BodyLength::Known(60),
            date: DATE,
            server: b"Apache",
            persistence: Persistence::KeepAlive {
                timeout: Duration::from_secs(5),
                max: Some(100),
            },
            keep_alive_asked: true,
            headers: &[("Content-Type", b"text/html")],
        }
    }

    fn write(h: &ResponseHead<'_>) -> (String, Written) {
        let mut buf = [0u8; 512];
        let w = h.write(&mut buf).unwrap();
        (String::from_utf8(buf[..w.len].to_vec()).unwrap(), w)
    }

    #[test]
    fn an_http09_response_is_the_body_alone() {
        let mut h = head();
        h.request_version = Version::Http09;
        let (text, w) = write(&h);
        assert_eq!(text, "");
        assert_eq!(w.body, BodyPlan::Length(60));
        assert!(w.close);
        h.length = BodyLength::Unknown;
        assert_eq!(write(&h).1.body, BodyPlan::UntilClose);
        h.status = Status::NOT_MODIFIED;
        assert_eq!(write(&h).1.body, BodyPlan::None);
    }

    #[test]
    fn a_keep_alive_response() {
        let (text, w) = write(&head());
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: Apache\r\n\
             Content-Type: text/html\r\nContent-Length: 60\r\nKeep-Alive: timeout=5, max=100\r\n\
             Connection: Keep-Alive\r\n\r\n"
        );
        assert_eq!((w.body, w.close), (BodyPlan::Length(60), false));

        // Not asked for: an HTTP/1.1 connection persists without a word (httpd's ka_sent).
        let mut h = head();
        h.keep_alive_asked = false;
        let (text, w) = write(&h);
        assert!(text.ends_with("Content-Length: 60\r\n\r\n"), "{text}");
        assert_eq!((w.body, w.close), (BodyPlan::Length(60), false));

        let mut h = head();
        h.request_version = Version::Http10;
        h.server = b"";
        h.persistence = Persistence::KeepAlive {
            timeout: Duration::from_millis(1999),
            max: None,
        };
        let (text, _) = write(&h);
        assert!(!text.contains("Server:"));
        assert!(
            text.ends_with("Keep-Alive: timeout=1\r\nConnection: Keep-Alive\r\n\r\n"),
            "{text}"
        );
    }

    #[test]
    fn closing_and_unknown_lengths() {
        let mut h = head();
        h.persistence = Persistence::Close;
        h.length = BodyLength::Unknown;
        let (text, w) = write(&h);
        assert!(text.ends_with("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
        assert_eq!((w.body, w.close), (BodyPlan::Chunked, true));

        // HTTP/1.0 cannot take chunks: the body ends when the connection does.
        let mut h = head();
        h.request_version = Version::Http10;
        h.length = BodyLength::Unknown;
        let (text, w) = write(&h);
        assert!(!text.contains("Keep-Alive") && !text.contains("Transfer-Encoding"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
        assert_eq!((w.body, w.close), (BodyPlan::UntilClose, true));
    }

    #[test]
    fn responses_without_bodies() {
        let mut h = head();
        h.head_only = true;
        let (text, w) = write(&h);
        assert!(text.contains("Content-Length: 60\r\n"));
        assert_eq!((w.body, w.close), (BodyPlan::None, false));
        h.length = BodyLength::Unknown;
        let (text, w) = write(&h);
        assert!(!text.contains("Content-Length") && !text.contains("chunked"));
        assert_eq!((w.body, w.close), (BodyPlan::None, false));

        for status in [Status::NO_CONTENT, Status::NOT_MODIFIED] {
            let mut h = head();
            h.status = status;
            let (text, w) = write(&h);
            assert!(!text.contains("Content-Length"), "{text}");
            assert!(text.contains("Keep-Alive"));
            assert_eq!(w.body, BodyPlan::None);
        }

        let mut h = head();
        h.status = Status::SWITCHING_PROTOCOLS;
        h.headers = &[("Connection", b"Upgrade"), ("Upgrade", b"websocket")];
        let (text, w) = write(&h);
        assert_eq!(
            text,
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        );
        assert_eq!((w.body, w.close), (BodyPlan::None, false));
        assert_eq!(CONTINUE, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn refuses_bad_fields_and_small_buffers() {
        for headers in [
            &[("X-A", &b"a\r\nSet-Cookie: x"[..])][..],
            &[("X-A", &b"a\nb"[..])],
            &[("X-A", &b"a\0"[..])],
            &[("X A", &b"a"[..])],
            &[("", &b"a"[..])],
            &[("content-length", &b"5"[..])],
            &[("Connection", &b"close"[..])],
            &[("Transfer-Encoding", &b"chunked"[..])],
        ] {
            let mut h = head();
            h.headers = headers;
            assert_eq!(h.write(&mut [0u8; 512]), Err(WriteError::InvalidHeader));
        }
        let mut h = head();
        h.server = b"evil\r\nX: y";
        assert_eq!(h.write(&mut [0u8; 512]), Err(WriteError::InvalidHeader));

        let h = head();
        let full = write(&h).1.len;
        for size in 0..full {
            assert_eq!(
                h.write(&mut std::vec![0u8; size]),
                Err(WriteError::TooSmall)
            );
        }
        assert!(h.write(&mut std::vec![0u8; full]).is_ok());
    }

    #[test]
    fn field_values_are_checked_at_every_position_and_length() {
        let naive = |v: &[u8]| {
            v.iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
        };
        for len in 0..70 {
            let mut v = std::vec![b'a'; len];
            assert!(is_field_value(&v));
            for at in 0..len {
                for b in [0u8, b'\r', b'\n', 0x1f, 0x7f, b'\t', b' ', 0x80, 0xff] {
                    let keep = v[at];
                    v[at] = b;
                    assert_eq!(is_field_value(&v), naive(&v), "{len} {at} {b:#x}");
                    v[at] = keep;
                }
            }
        }
    }

    #[test]
    fn owned_fields_in_any_case() {
        for name in [
            "DATE",
            "Server",
            "content-LENGTH",
            "Transfer-Encoding",
            "Keep-Alive",
        ] {
            let mut h = head();
            let headers = [(name, &b"x"[..])];
            h.headers = &headers;
            assert_eq!(
                h.write(&mut [0u8; 512]),
                Err(WriteError::InvalidHeader),
                "{name}"
            );
        }
        // Same lengths as owned names, but not theirs.
        let mut h = head();
        h.headers = &[("Dat3", b"x"), ("Connectiom", b"y"), ("Keep-Alivf", b"z")];
        let (text, _) = write(&h);
        assert!(
            text.contains("Dat3: x\r\nConnectiom: y\r\nKeep-Alivf: z\r\n"),
            "{text}"
        );
    }

    #[test]
    fn chunk_headers() {
        let mut buf = [0u8; 20];
        let n = chunk_header(0x1a2b, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"1a2b\r\n");
        assert_eq!(chunk_header(0x1a2b, &mut buf[..5]), Err(TooSmall));
        assert_eq!(LAST_CHUNK, b"0\r\n\r\n");
    }
}
