//! The request line: `method SP request-target SP HTTP-version` (RFC 9112 §3), or an HTTP/0.9
//! simple request, `GET SP request-target`.
//!
//! Parsed here rather than by `httparse`, which refuses every version but 1.0 and 1.1 with one
//! error: the server must accept `HTTP/1.2` or `HTTP/2.0` as 1.1 and tell a simple request from
//! garbage. The rules are httpd's `ap_parse_request_line` with its default
//! `HttpProtocolOptions Strict`: single spaces, a token method, a target of visible characters,
//! a case-sensitive version, and CRLF at the end.

use super::lines::{crlf_line, find_lf};
use super::token::is_tchar;
use super::{HeadError, Limits, Method, ProtocolOptions};
use crate::byte_scan;

/// The protocol version of a request, as the server will treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// HTTP/0.9: a simple request (`GET /path` and nothing else). The response is the body alone,
    /// without status line or fields, and the connection closes after it.
    Http09,
    /// HTTP/1.0: no persistent connection unless asked for, no chunked bodies.
    Http10,
    /// HTTP/1.1, and any later version: RFC 9110 §6.2 has a server answer with the highest version
    /// it implements whose major number is not above the request's, so `HTTP/1.2` and `HTTP/2.0`
    /// request lines are read and answered as 1.1 (httpd does the same).
    Http11,
}

impl Version {
    /// `"HTTP/0.9"`, `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http09 => "HTTP/0.9",
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

/// The HTTP/2 connection preface's request line (RFC 9113 §3.4): a client that assumed HTTP/2
/// "prior knowledge" on a port that speaks HTTP/1.1.
const H2_PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0";

/// Parses the request line at the start of `head`; returns it and the offset of the next line.
pub(crate) fn parse_request_line<'a>(
    head: &'a [u8],
    limits: &Limits,
    options: &ProtocolOptions,
) -> Result<(RequestLine<'a>, usize), HeadError> {
    let lf = find_lf(head).ok_or(HeadError::Incomplete)?;
    let raw = head.get(..lf).unwrap_or(&[]);
    if raw.first().is_some_and(|&b| !is_tchar(b)) {
        return Err(HeadError::BadRequestLine);
    }
    if raw.len() > limits.request_line as usize + 1 {
        return Err(HeadError::RequestLineTooLong);
    }
    let line = crlf_line(raw).ok_or(HeadError::BareLf)?;
    if line.len() > limits.request_line as usize {
        return Err(HeadError::RequestLineTooLong);
    }
    if line == H2_PREFACE_LINE {
        return Err(HeadError::Http2Preface);
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

    let target_len = rest
        .iter()
        .position(|&b| !is_target_byte(b))
        .unwrap_or(rest.len());
    if target_len == 0 {
        // Two spaces, or a control byte where the target should start.
        return Err(HeadError::BadRequestLine);
    }
    let (target, rest) = rest.split_at(target_len);
    let version = match rest.split_first() {
        // No version: an HTTP/0.9 simple request, which can only be a GET (httpd's
        // `ap_parse_request_line`).
        None if method != b"GET" => return Err(HeadError::Http09Method),
        None if !options.allow_http09 => return Err(HeadError::Http09Refused),
        None => Version::Http09,
        Some((b' ', v)) => parse_version(v)?,
        Some(_) => return Err(HeadError::BadTarget),
    };

    let method = Method::from_bytes(method).ok_or(HeadError::BadMethod)?;
    if options.registered_methods && !method.is_registered() {
        return Err(HeadError::UnregisteredMethod);
    }
    // Raw bytes above 0x7F are allowed as httparse allows them, when they spell UTF-8; clients
    // normally percent-encode them.
    let target = byte_scan::utf8(target).ok_or(HeadError::BadTarget)?;
    Ok((
        RequestLine {
            method,
            target,
            version,
        },
        lf + 1,
    ))
}

/// Whether a request line (without its line ending) is a simple request's: a method and a target
/// with no version after them. Such a head is complete at the end of its request line.
pub(crate) fn is_simple_request(line: &[u8]) -> bool {
    line.iter().filter(|&&b| b == b' ').count() == 1 && !line.ends_with(b" ")
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
        // `HTTP/0.9` is never written in a request line (a 0.9 request has no version); httpd
        // refuses it and any other 0.x as an unrecognized protocol.
        (b'0', _) => Err(HeadError::BadVersion),
        (b'1', b'0') => Ok(Version::Http10),
        _ => Ok(Version::Http11),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &[u8]) -> Result<RequestLine<'_>, HeadError> {
        parse_request_line(s, &Limits::default(), &ProtocolOptions::DEFAULT).map(|(l, _)| l)
    }

    #[test]
    fn splits_a_request_line() {
        let (l, next) = parse_request_line(
            b"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n",
            &Limits::default(),
            &ProtocolOptions::DEFAULT,
        )
        .unwrap();
        assert_eq!(
            (l.method, l.target, l.version),
            (Method::Get, "/a?b", Version::Http11)
        );
        assert_eq!(next, 19);
        assert_eq!(
            line(b"OPTIONS * HTTP/1.0\r\n").unwrap().version,
            Version::Http10
        );
        assert_eq!(
            line(b"GET /\xc3\xa9 HTTP/1.1\r\n").unwrap().target,
            "/\u{e9}"
        );
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
        // Later majors are answered as 1.1, as RFC 9110 §6.2 and httpd have it.
        for v in [&b"HTTP/2.0"[..], b"HTTP/2.1", b"HTTP/3.0", b"HTTP/9.9"] {
            let mut l = b"GET / ".to_vec();
            l.extend_from_slice(v);
            l.extend_from_slice(b"\r\n");
            assert_eq!(line(&l).unwrap().version, Version::Http11);
        }
        for v in [
            &b"http/1.1"[..],
            b"HTTP/0.9",
            b"HTTP/0.8",
            b"HTTP/10.0",
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
    fn simple_requests() {
        let l = line(b"GET /a\r\n").unwrap();
        assert_eq!(
            (l.method, l.target, l.version),
            (Method::Get, "/a", Version::Http09)
        );
        assert_eq!(line(b"POST /a\r\n"), Err(HeadError::Http09Method));
        assert_eq!(line(b"get /a\r\n"), Err(HeadError::Http09Method));
        assert_eq!(line(b"GET /a\n"), Err(HeadError::BareLf));
        let require10 = ProtocolOptions {
            allow_http09: false,
            ..ProtocolOptions::DEFAULT
        };
        assert_eq!(
            parse_request_line(b"GET /a\r\n", &Limits::DEFAULT, &require10).map(|(l, _)| l),
            Err(HeadError::Http09Refused)
        );
        assert!(is_simple_request(b"GET /a"));
        assert!(!is_simple_request(b"GET /a HTTP/1.1"));
        assert!(!is_simple_request(b"GET /a "));
        assert!(!is_simple_request(b"GET"));
        assert!(!is_simple_request(b"GET  /"));
    }

    #[test]
    fn methods_and_the_h2_preface() {
        assert_eq!(line(b"PRI * HTTP/2.0\r\n"), Err(HeadError::Http2Preface));
        assert_eq!(
            line(b"FOO / HTTP/1.1\r\n").unwrap().method,
            Method::Other("FOO")
        );
        let registered = ProtocolOptions {
            registered_methods: true,
            ..ProtocolOptions::DEFAULT
        };
        let with = |s: &'static [u8]| {
            parse_request_line(s, &Limits::DEFAULT, &registered).map(|(l, _)| l.method)
        };
        assert_eq!(
            with(b"FOO / HTTP/1.1\r\n"),
            Err(HeadError::UnregisteredMethod)
        );
        assert_eq!(
            with(b"get / HTTP/1.1\r\n"),
            Err(HeadError::UnregisteredMethod)
        );
        assert_eq!(
            with(b"PROPFIND / HTTP/1.1\r\n"),
            Ok(Method::Other("PROPFIND"))
        );
        assert_eq!(with(b"GET / HTTP/1.1\r\n"), Ok(Method::Get));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(line(b"GET / HTTP/1.1\n"), Err(HeadError::BareLf));
        assert_eq!(line(b"GET /\n"), Err(HeadError::BareLf));
        assert_eq!(line(b"GET  / HTTP/1.1\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(line(b"GET /  HTTP/1.1\r\n"), Err(HeadError::BadVersion));
        assert_eq!(line(b"GET / \r\n"), Err(HeadError::BadVersion));
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
        let o = ProtocolOptions::DEFAULT;
        assert!(parse_request_line(b"GET / HTTP/1.1\r\n", &limits, &o).is_ok());
        limits.request_line = 13;
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.1\r\n", &limits, &o).map(|(l, _)| l),
            Err(HeadError::RequestLineTooLong)
        );
    }
    extern crate std;
}
