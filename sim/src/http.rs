//! Request heads as bytes: what a simulated client writes, and the simulated server's reading of
//! them.
//!
//! The core's `http1` module is not written yet, so the simulator carries its own small reader:
//! enough to find the end of a head, reject a malformed or oversized one, and learn the keep-alive
//! wish, the response size and the handler time that the client encoded in the target
//! (`GET /r/<response bytes>/<handler ms>`). The checker never trusts this reader: it compares
//! against what the client recorded when it wrote the bytes.

use std::fmt::Write as _;

/// The server's input buffer per connection: a head must end within this many bytes
/// (LimitRequestFieldSize-like; larger gets 431).
pub const BUFFER: usize = 8192;
/// Bytes of status line and headers counted in every simulated response.
pub const RESPONSE_HEAD: u64 = 64;
/// Bytes of a simulated error response (400, 408, 431 …).
pub const ERROR_RESPONSE: u64 = 128;

/// The kind of head a client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadSpec {
    /// A well-formed GET.
    Valid {
        /// HTTP/1.1 (else HTTP/1.0).
        http11: bool,
        /// The client's keep-alive wish: HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
        /// `Connection: keep-alive`.
        keep_alive: bool,
        /// Bytes of padding in an extra header (long heads for tricklers).
        pad: u32,
    },
    /// A complete head whose request line is malformed: 400.
    Malformed,
    /// A head that never ends within [`BUFFER`]: 431.
    Oversized,
}

impl Default for HeadSpec {
    fn default() -> HeadSpec {
        HeadSpec::Valid {
            http11: true,
            keep_alive: true,
            pad: 0,
        }
    }
}

/// The bytes of a head, and the offset just past its end (`None` for a head that never ends).
pub fn encode(head: HeadSpec, response_bytes: u32, handler_ms: u32) -> (Vec<u8>, Option<usize>) {
    let mut s = String::new();
    match head {
        HeadSpec::Valid {
            http11,
            keep_alive,
            pad,
        } => {
            let _ = write!(
                s,
                "GET /r/{response_bytes}/{handler_ms} HTTP/1.{}\r\nHost: sim\r\n",
                u8::from(http11)
            );
            match (http11, keep_alive) {
                (true, false) => s.push_str("Connection: close\r\n"),
                (false, true) => s.push_str("Connection: keep-alive\r\n"),
                _ => {}
            }
            if pad > 0 {
                s.push_str("X-Pad: ");
                s.extend(std::iter::repeat_n('a', pad as usize));
                s.push_str("\r\n");
            }
            s.push_str("\r\n");
            let len = s.len();
            (s.into_bytes(), Some(len))
        }
        HeadSpec::Malformed => {
            s.push_str("GET / BAD HTTP/1.1\r\nHost: sim\r\n\r\n");
            let len = s.len();
            (s.into_bytes(), Some(len))
        }
        HeadSpec::Oversized => {
            s.push_str("GET /r/0/0 HTTP/1.1\r\nX-Big: ");
            s.extend(std::iter::repeat_n('b', BUFFER + 64));
            (s.into_bytes(), None)
        }
    }
}

/// A parsed, complete, valid head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the head, including the blank line.
    pub len: usize,
    /// The status the handler answers with (200, or 404 for an unknown target).
    pub status: u16,
    /// The client's keep-alive wish.
    pub keep_alive: bool,
    /// Body bytes the handler produces.
    pub response_bytes: u32,
    /// How long the handler runs.
    pub handler_ms: u32,
}

/// What a scan of buffered input found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// A complete, valid head.
    Complete(Head),
    /// A complete but invalid head, or one over [`BUFFER`]: answer `status` and close.
    Invalid {
        /// The error status.
        status: u16,
        /// Bytes the bad head occupies.
        len: usize,
    },
    /// No complete head yet.
    Partial,
}

/// Look for a complete head at the start of `buf`.
pub fn scan(buf: &[u8]) -> Scan {
    let window = &buf[..buf.len().min(BUFFER)];
    let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() >= BUFFER {
            return Scan::Invalid {
                status: 431,
                len: buf.len(),
            };
        }
        return Scan::Partial;
    };
    let len = end + 4;
    match parse(&buf[..end]) {
        Ok(mut head) => {
            head.len = len;
            Scan::Complete(head)
        }
        Err(status) => Scan::Invalid { status, len },
    }
}

fn parse(head: &[u8]) -> Result<Head, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if method.is_empty() || method.len() > 16 || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(400);
    }
    if !target.starts_with('/') || !target.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(400);
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => return Err(505),
        _ => return Err(400),
    };
    let (mut close, mut keep) = (false, false);
    for l in lines {
        let (name, value) = l.split_once(':').ok_or(400u16)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(400);
        }
        if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',') {
                let token = token.trim();
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let keep_alive = if http11 { !close } else { keep && !close };
    let mut segs = target.split('/').skip(1);
    let sizes = match (segs.next(), segs.next(), segs.next(), segs.next()) {
        (Some("r"), Some(bytes), Some(ms), None) => bytes.parse::<u32>().ok().zip(ms.parse().ok()),
        _ => None,
    };
    let (status, response_bytes, handler_ms) = match sizes {
        Some((b, ms)) => (200, b, ms),
        None => (404, 16, 0),
    };
    Ok(Head {
        len: 0,
        status,
        keep_alive,
        response_bytes,
        handler_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_heads_round_trip() {
        for (http11, keep_alive) in [(true, true), (true, false), (false, true), (false, false)] {
            let spec = HeadSpec::Valid {
                http11,
                keep_alive,
                pad: 10,
            };
            let (bytes, end) = encode(spec, 1234, 56);
            assert_eq!(end, Some(bytes.len()));
            let Scan::Complete(h) = scan(&bytes) else {
                panic!("not complete: {:?}", scan(&bytes));
            };
            assert_eq!(
                (
                    h.len,
                    h.status,
                    h.keep_alive,
                    h.response_bytes,
                    h.handler_ms
                ),
                (bytes.len(), 200, keep_alive, 1234, 56)
            );
            // Any strict prefix is partial; pipelined bytes after the head are left alone.
            assert_eq!(scan(&bytes[..bytes.len() - 1]), Scan::Partial);
            let mut two = bytes.clone();
            two.extend_from_slice(&bytes);
            assert_eq!(scan(&two), Scan::Complete(h));
        }
    }

    #[test]
    fn malformed_and_oversized_heads_are_invalid() {
        let (bad, end) = encode(HeadSpec::Malformed, 0, 0);
        assert_eq!(
            scan(&bad),
            Scan::Invalid {
                status: 400,
                len: end.unwrap()
            }
        );
        let (big, end) = encode(HeadSpec::Oversized, 0, 0);
        assert_eq!(end, None);
        assert_eq!(scan(&big[..BUFFER - 1]), Scan::Partial);
        assert!(matches!(
            scan(&big[..BUFFER]),
            Scan::Invalid { status: 431, .. }
        ));
        assert!(matches!(
            scan(b"GET / HTTP/2.0\r\n\r\n"),
            Scan::Invalid { status: 505, .. }
        ));
        assert!(matches!(
            scan(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Scan::Invalid { status: 400, .. }
        ));
        assert!(matches!(
            scan(b"GET /other HTTP/1.1\r\n\r\n"),
            Scan::Complete(Head { status: 404, .. })
        ));
    }
}
