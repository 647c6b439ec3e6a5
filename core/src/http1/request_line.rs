//! The request line: `method SP request-target SP HTTP-version` (RFC 9112 §3).
//!
//! Parsed here rather than by `httparse`, which refuses every version but 1.0 and 1.1 with one
//! error: the server must tell `HTTP/2.0` (505) from garbage (400) and accept `HTTP/1.2` as 1.1.
//! The rules are httpd's `ap_parse_request_line` with its default `HttpProtocolOptions Strict`:
//! single spaces, a token method, a target of visible characters, and a case-sensitive version.

use super::lines::{find_lf, strip_cr};
use super::token::is_tchar;
use super::{HeadError, Limits, Method};

/// The protocol version of a request, as the server will treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// HTTP/1.0: no persistent connection unless asked for, no chunked bodies.
    Http10,
    /// HTTP/1.1, and any later 1.x: RFC 9110 §6.2 has a server treat an unknown minor version as
    /// the highest it implements.
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The three parts of a request line, borrowed from the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub(crate) method: Method<'a>,
    pub(crate) target: &'a str,
    pub(crate) version: Version,
}

/// Parses the request line at the start of `head`; returns it and the offset of the next line.
pub(crate) fn parse_request_line<'a>(
    head: &'a [u8],
    limits: &Limits,
) -> Result<(RequestLine<'a>, usize), HeadError> {
    let lf = find_lf(head).ok_or(HeadError::Incomplete)?;
    let line = strip_cr(head.get(..lf).unwrap_or(&[]));
    if line.first().is_some_and(|&b| !is_tchar(b)) {
        return Err(HeadError::BadRequestLine);
    }
    if line.len() > limits.request_line as usize {
        return Err(HeadError::RequestLineTooLong);
    }

    let method_len = line
        .iter()
        .position(|&b| !is_tchar(b))
        .ok_or(HeadError::BadRequestLine)?;
    if method_len == 0 {
        return Err(HeadError::BadRequestLine);
    }
    let (method, rest) = line.split_at(method_len);
    let rest = match rest.split_first() {
        Some((b' ', rest)) => rest,
        // A method with a non-token byte in it, or a method followed by a tab.
        Some(_) => return Err(HeadError::BadMethod),
        None => return Err(HeadError::BadRequestLine),
    };

    let target_len = rest.iter().position(|&b| !is_target_byte(b));
    let Some(target_len) = target_len else {
        // No version at all: an HTTP/0.9 simple request, which is not served.
        return Err(HeadError::BadRequestLine);
    };
    if target_len == 0 {
        // Two spaces, or a control byte where the target should start.
        return Err(HeadError::BadRequestLine);
    }
    let (target, rest) = rest.split_at(target_len);
    let version = match rest.split_first() {
        Some((b' ', v)) => v,
        _ => return Err(HeadError::BadTarget),
    };
    let version = parse_version(version)?;

    let method = Method::from_bytes(method).ok_or(HeadError::BadMethod)?;
    // Raw bytes above 0x7F are allowed as httparse allows them, when they spell UTF-8; clients
    // normally percent-encode them.
    let target = core::str::from_utf8(target).map_err(|_| HeadError::BadTarget)?;
    Ok((
        RequestLine {
            method,
            target,
            version,
        },
        lf + 1,
    ))
}

/// Bytes allowed in a request target: visible ASCII and obs-text (httpd's
/// `ap_scan_vchar_obstext`); spaces and controls end it.
const fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

fn parse_version(v: &[u8]) -> Result<Version, HeadError> {
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = *v else {
        return Err(HeadError::BadVersion);
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(HeadError::BadVersion);
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Version::Http10),
        (b'1', _) => Ok(Version::Http11),
        _ => Err(HeadError::UnsupportedVersion),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &[u8]) -> Result<RequestLine<'_>, HeadError> {
        parse_request_line(s, &Limits::default()).map(|(l, _)| l)
    }

    #[test]
    fn splits_a_request_line() {
        let (l, next) =
            parse_request_line(b"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n", &Limits::default())
                .unwrap();
        assert_eq!(
            (l.method, l.target, l.version),
            (Method::Get, "/a?b", Version::Http11)
        );
        assert_eq!(next, 19);
        assert_eq!(
            line(b"OPTIONS * HTTP/1.0\n").unwrap().version,
            Version::Http10
        );
        assert_eq!(line(b"GET /\xc3\xa9 HTTP/1.1\n").unwrap().target, "/\u{e9}");
    }

    #[test]
    fn versions() {
        assert_eq!(
            line(b"GET / HTTP/1.2\r\n").unwrap().version,
            Version::Http11
        );
        assert_eq!(
            line(b"GET / HTTP/1.9\r\n").unwrap().version,
            Version::Http11
        );
        for v in [&b"HTTP/2.0"[..], b"HTTP/3.0", b"HTTP/0.9", b"HTTP/9.9"] {
            let mut l = b"GET / ".to_vec();
            l.extend_from_slice(v);
            l.extend_from_slice(b"\r\n");
            assert_eq!(line(&l), Err(HeadError::UnsupportedVersion));
        }
        for v in [
            &b"http/1.1"[..],
            b"HTTP/1.1 ",
            b"HTTP/11",
            b"HTTP/1.x",
            b"HTTP/1.10",
            b"",
        ] {
            let mut l = b"GET / ".to_vec();
            l.extend_from_slice(v);
            l.extend_from_slice(b"\r\n");
            assert_eq!(line(&l), Err(HeadError::BadVersion), "{v:?}");
        }
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(line(b"GET /\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(line(b"GET  / HTTP/1.1\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(line(b"GET /  HTTP/1.1\r\n"), Err(HeadError::BadVersion));
        assert_eq!(line(b"GET\t/ HTTP/1.1\r\n"), Err(HeadError::BadMethod));
        assert_eq!(line(b"G(T / HTTP/1.1\r\n"), Err(HeadError::BadMethod));
        assert_eq!(line(b" GET / HTTP/1.1\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(line(b"GET /a\x01b HTTP/1.1\r\n"), Err(HeadError::BadTarget));
        assert_eq!(line(b"GET /a\rb HTTP/1.1\r\n"), Err(HeadError::BadTarget));
        assert_eq!(line(b"GET /\xff HTTP/1.1\r\n"), Err(HeadError::BadTarget));
        assert_eq!(line(b"GET / HTTP/1.1"), Err(HeadError::Incomplete));
        assert_eq!(line(b"GET\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(line(b"\r\n"), Err(HeadError::BadRequestLine));
    }

    #[test]
    fn request_line_limit() {
        let mut limits = Limits::DEFAULT;
        limits.request_line = 14;
        assert!(parse_request_line(b"GET / HTTP/1.1\r\n", &limits).is_ok());
        limits.request_line = 13;
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.1\r\n", &limits).map(|(l, _)| l),
            Err(HeadError::RequestLineTooLong)
        );
    }
    extern crate std;
}
