//! Parsing a complete request head into a [`Request`].
//!
//! The request line is parsed here (see `request_line`), the fields by `httparse`, and then the
//! fields the server itself acts on — Host, Connection, Content-Length, Transfer-Encoding and
//! Expect — are checked in one pass over the parsed fields, in httpd's order (`ap_read_request`,
//! `ap_check_request_header`).

use httparse::Header;

use super::connection::ConnectionOptions;
use super::framing::{BodyFraming, FramingFields};
use super::host::is_valid_host;
use super::lines::has_bare_lf;
use super::request_line::{Version, parse_request_line};
use super::scan::MAX_EMPTY_LINES;
use super::target::{Target, TargetForm, parse_target};
use super::token::list;
use super::{HeadError, Limits, Method, ProtocolOptions};
use crate::byte_scan;

/// A parsed request head, borrowing from the connection's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    method: Method<'a>,
    target: Target<'a>,
    version: Version,
    headers: &'a [Header<'a>],
    host: Option<&'a str>,
    connection: ConnectionOptions,
    body: BodyFraming,
    expect_continue: bool,
    head_len: usize,
}

/// Parses the complete request head at the start of `head`, with the caller's array for its
/// fields.
///
/// `head` normally is exactly the bytes [`ScanState::scan`](super::ScanState::scan) reported;
/// bytes after the head's empty line are ignored ([`Request::head_len`] says where it ended).
/// The limits are checked again here, so `parse` is safe on its own; a head with more fields than
/// `headers` holds, or than `limits.fields`, is refused with 431.
///
/// Refusals, by status:
/// - 400: a malformed request line, target, field or obs-fold; a line ending in a bare LF; the
///   HTTP/2 preface; an HTTP/0.9 request that is not a GET; HTTP/1.1 without Host or with an
///   empty one, several Host fields, an invalid Host; a malformed or conflicting Content-Length;
///   Transfer-Encoding with Content-Length, in HTTP/1.0, or not ending in `chunked` (see
///   [`HeadError`]);
/// - 414 / 431: the `LimitRequestLine`, `LimitRequestFieldSize` and `LimitRequestFields` limits;
/// - 413: a Content-Length above `LimitRequestBody`;
/// - 417: an expectation other than `100-continue`;
/// - 501: a transfer coding other than `chunked`.
///
/// An HTTP/0.9 simple request (`GET /path` on a line of its own) parses as a [`Request`] of
/// [`Version::Http09`] without fields. This is httpd's default `HttpProtocolOptions`; see
/// [`parse_with`] for the others.
#[doc(alias = "ap_read_request")]
pub fn parse<'a>(
    head: &'a [u8],
    limits: &Limits,
    headers: &'a mut [Header<'a>],
) -> Result<Request<'a>, HeadError> {
    parse_with(head, limits, &ProtocolOptions::DEFAULT, headers)
}

/// [`parse`] under `HttpProtocolOptions`: `Require1.0` refuses HTTP/0.9 requests with 400 and
/// `RegisteredMethods` refuses methods httpd does not know with 501, both as soon as the request
/// line is read.
#[doc(alias = "ap_parse_request_line")]
pub fn parse_with<'a>(
    head: &'a [u8],
    limits: &Limits,
    options: &ProtocolOptions,
    headers: &'a mut [Header<'a>],
) -> Result<Request<'a>, HeadError> {
    let start = skip_empty_lines(head)?;
    let rest = head.get(start..).unwrap_or(&[]);
    let (line, fields_at) = parse_request_line(rest, limits, options)?;
    let method = line.method;
    let target = parse_target(line.target, &method)?;
    let version = line.version;
    if version == Version::Http09 {
        // A simple request has no fields: the head ends with its line.
        return Ok(Request {
            method,
            target,
            version,
            headers: &[],
            host: target.authority(),
            connection: ConnectionOptions::default(),
            body: BodyFraming::None,
            expect_continue: false,
            head_len: start + fields_at,
        });
    }

    let fields_src = rest.get(fields_at..).unwrap_or(&[]);
    let slots = match limits.fields {
        0 => headers.len(),
        n => headers.len().min(n as usize),
    };
    let headers = match headers.get_mut(..slots) {
        Some(h) => h,
        None => return Err(HeadError::TooManyFields),
    };
    let (fields_len, fields) = match httparse::parse_headers(fields_src, headers) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) => return Err(HeadError::Incomplete),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyFields),
        Err(_) if has_obs_fold(fields_src) => return Err(HeadError::ObsFold),
        Err(_) => return Err(HeadError::BadField),
    };
    // httparse accepts a bare LF between fields; httpd's Strict does not, and neither do we.
    if has_bare_lf(fields_src.get(..fields_len).unwrap_or(&[])) {
        return Err(HeadError::BareLf);
    }

    let mut host_field: Option<&'a [u8]> = None;
    let mut host_count = 0u32;
    let mut framing = FramingFields::default();
    let mut connection = ConnectionOptions::default();
    let mut expect_continue = false;
    let mut bad_expectation = false;
    let base = head.as_ptr() as usize;
    for field in fields {
        // httparse does not limit a field's length. The line spans from its name to the end of
        // its value (trailing whitespace aside): measure it from the slices' addresses in
        // `head` rather than searching the line again.
        let line_start = (field.name.as_ptr() as usize).wrapping_sub(base);
        let line_end = (field.value.as_ptr() as usize)
            .wrapping_sub(base)
            .saturating_add(field.value.len());
        if line_end.saturating_sub(line_start) > limits.field_size as usize {
            return Err(HeadError::FieldTooLong);
        }
        let name = field.name.as_bytes();
        // Dispatch on length first: one comparison rules out nearly every other field.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                host_count = host_count.saturating_add(1);
                host_field = Some(field.value);
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                for expectation in list(field.value) {
                    if expectation.eq_ignore_ascii_case(b"100-continue") {
                        expect_continue = true;
                    } else {
                        bad_expectation = true;
                    }
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => connection.add(field.value),
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                framing.content_length(field.value);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                framing.transfer_encoding(field.value);
            }
            _ => {}
        }
    }

    let body = framing.decide(version)?;

    if host_count > 1 {
        return Err(HeadError::MultipleHosts);
    }
    if version == Version::Http11 && host_count == 0 {
        // Required even with an absolute-form target (RFC 9112 §3.2; httpd AH00569).
        return Err(HeadError::MissingHost);
    }
    let host_field = match host_field {
        Some(v) if !is_valid_host(v) => return Err(HeadError::BadHost),
        // An empty Host names no host (httpd: no hostname, AH00569 for HTTP/1.1).
        Some([]) => None,
        Some(v) => byte_scan::utf8(v),
        None => None,
    };
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the host and the Host
    // field is ignored (beyond the checks above).
    let host = match target.form() {
        TargetForm::Absolute | TargetForm::Authority => target.authority(),
        TargetForm::Origin | TargetForm::Asterisk => host_field,
    };
    if version == Version::Http11 && host.is_none() {
        // An `http` URI may not have an empty host (RFC 9110 §4.2.1): `Host:` empty with an
        // origin-form target leaves an HTTP/1.1 request without one.
        return Err(HeadError::MissingHost);
    }

    if bad_expectation {
        return Err(HeadError::UnsupportedExpectation);
    }
    let body = body.check_limit(limits)?;

    Ok(Request {
        method,
        target,
        version,
        headers: fields,
        host,
        connection,
        body,
        // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
        expect_continue: expect_continue && version == Version::Http11,
        head_len: start + fields_at + fields_len,
    })
}

/// The offset of the request line, after at most [`MAX_EMPTY_LINES`] empty lines.
fn skip_empty_lines(head: &[u8]) -> Result<usize, HeadError> {
    let mut at = 0;
    for _ in 0..MAX_EMPTY_LINES {
        match empty_line_at(head, at) {
            Some(len) => at += len,
            None => return Ok(at),
        }
    }
    match empty_line_at(head, at) {
        Some(_) => Err(HeadError::TooManyEmptyLines),
        None => Ok(at),
    }
}

/// The length of an empty line (CRLF) at `at`, if there is one. A bare LF is not skipped: the
/// request line parser then refuses it.
fn empty_line_at(head: &[u8], at: usize) -> Option<usize> {
    match head.get(at..)? {
        [b'\r', b'\n', ..] => Some(2),
        _ => None,
    }
}

/// Whether a field line starts with whitespace: a continuation of the previous line (obs-fold),
/// or whitespace before the first field. Only consulted to name an error.
fn has_obs_fold(fields: &[u8]) -> bool {
    matches!(fields.first(), Some(b' ' | b'\t'))
        || fields
            .windows(2)
            .any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'))
}

impl<'a> Request<'a> {
    /// The method.
    pub fn method(&self) -> Method<'a> {
        self.method
    }

    /// The request target, split by form.
    pub fn target(&self) -> &Target<'a> {
        &self.target
    }

    /// The protocol version (any version above 1.1 counts as 1.1).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The host the request is for: the target's authority for an absolute-form target, else the
    /// Host field (`None` only for an HTTP/1.0 or 0.9 request without one, or with an empty one).
    /// Validated, not normalised: case and a trailing dot are left as sent.
    pub fn host(&self) -> Option<&'a str> {
        self.host
    }

    /// The Connection options.
    pub fn connection(&self) -> ConnectionOptions {
        self.connection
    }

    /// How the body is framed.
    pub fn body(&self) -> BodyFraming {
        self.body
    }

    /// Whether the client sent `Expect: 100-continue` in an HTTP/1.1 request and waits for a
    /// `100 Continue` before sending its body.
    pub fn expects_continue(&self) -> bool {
        self.expect_continue
    }

    /// Whether the client allows another request on this connection after this one (RFC 9112
    /// §9.3): HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        self.connection.persistent(self.version)
    }

    /// All fields, in order.
    pub fn headers(&self) -> &'a [Header<'a>] {
        self.headers
    }

    /// The value of the first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }

    /// The values of every field named `name` (case-insensitive), in order.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The head's length from the start of the parsed bytes, empty lines included: the body or
    /// the next pipelined request starts here.
    pub fn head_len(&self) -> usize {
        self.head_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::scan::{Scan, ScanState};
    use httparse::EMPTY_HEADER;
    use proptest::prelude::*;
    extern crate std;
    use std::format;
    use std::vec::Vec;

    fn with<R>(
        head: &[u8],
        limits: &Limits,
        f: impl FnOnce(Result<Request<'_>, HeadError>) -> R,
    ) -> R {
        let mut headers = [EMPTY_HEADER; 100];
        f(parse(head, limits, &mut headers))
    }

    fn err(head: &[u8]) -> Option<HeadError> {
        with(head, &Limits::default(), |r| r.err())
    }

    fn status(head: &[u8]) -> u16 {
        with(head, &Limits::default(), |r| match r {
            Ok(_) => 200,
            Err(e) => e.status().code(),
        })
    }

    #[test]
    fn parses_a_typical_request() {
        let head = b"GET /a/b?c=d HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: t\r\n\
                     Accept: */*\r\nAccept: text/html\r\n\r\nnext";
        with(head, &Limits::default(), |r| {
            let r = r.unwrap();
            assert_eq!(r.method(), Method::Get);
            assert_eq!(r.target().path(), "/a/b");
            assert_eq!(r.target().query(), Some("c=d"));
            assert_eq!(r.version(), Version::Http11);
            assert_eq!(r.host(), Some("Example.com"));
            assert_eq!(r.body(), BodyFraming::None);
            assert!(r.keep_alive());
            assert!(!r.expects_continue());
            assert_eq!(r.header("user-agent"), Some(&b"t"[..]));
            assert_eq!(r.header("X-Missing"), None);
            let accepts: Vec<&[u8]> = r.header_values("ACCEPT").collect();
            assert_eq!(accepts, [&b"*/*"[..], b"text/html"]);
            assert_eq!(r.headers().len(), 4);
            assert_eq!(r.head_len(), head.len() - 4);
        });
    }

    #[test]
    fn leading_empty_lines_and_bare_lf() {
        let head = b"\r\n\r\nPOST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
        with(head, &Limits::default(), |r| {
            let r = r.unwrap();
            assert_eq!(r.method(), Method::Post);
            assert_eq!(r.version(), Version::Http10);
            assert_eq!(r.host(), None);
            assert_eq!(r.body(), BodyFraming::Length(3));
            assert!(!r.keep_alive());
            assert_eq!(r.head_len(), head.len() - 3);
        });
        let mut many = b"\r\n".repeat(11);
        many.extend_from_slice(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(err(&many), Some(HeadError::TooManyEmptyLines));
        assert_eq!(status(&many[2..]), 200);
        // Every line ends in CRLF: a bare LF anywhere in the head is refused.
        for bare in [
            &b"\nGET / HTTP/1.0\r\n\r\n"[..],
            b"\r\n\nGET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
            b"GET / HTTP/1.1\nHost: a\n\n",
        ] {
            assert_eq!(err(bare), Some(HeadError::BareLf), "{bare:?}");
        }
    }

    #[test]
    fn versions_and_request_lines() {
        // Later versions are read as 1.1 (RFC 9110 §6.2), Host rules included.
        with(
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            &Limits::default(),
            |r| {
                let r = r.unwrap();
                assert_eq!(r.version(), Version::Http11);
                assert!(r.keep_alive());
            },
        );
        assert_eq!(err(b"GET / HTTP/2.0\r\n\r\n"), Some(HeadError::MissingHost));
        assert_eq!(status(b"GET / HTTP/3.0\r\nHost: a\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/0.9\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 200);
        assert_eq!(status(b"GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"\x16\x03\x01\r\n\r\n"), 400);
        assert_eq!(status(b"GET x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
        assert_eq!(status(b"OPTIONS * HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n"), 400);
        assert_eq!(
            err(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Some(HeadError::Http2Preface)
        );
        with(
            b"PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n",
            &Limits::default(),
            |r| {
                assert_eq!(r.unwrap().method(), Method::Other("PROPFIND"));
            },
        );
    }

    #[test]
    fn simple_requests() {
        let head = b"GET /a?b\r\nHost: x\r\n\r\n";
        with(head, &Limits::default(), |r| {
            let r = r.unwrap();
            assert_eq!(r.version(), Version::Http09);
            assert_eq!(r.target().path(), "/a");
            assert_eq!(r.target().query(), Some("b"));
            assert_eq!(r.headers().len(), 0);
            assert_eq!(r.host(), None);
            assert_eq!(r.body(), BodyFraming::None);
            assert!(!r.keep_alive());
            assert_eq!(r.head_len(), 10);
        });
        assert_eq!(err(b"POST /a\r\n"), Some(HeadError::Http09Method));
        assert_eq!(err(b"GET *\r\n"), Some(HeadError::BadTarget));
        let require10 = ProtocolOptions {
            allow_http09: false,
            ..ProtocolOptions::DEFAULT
        };
        let mut headers = [EMPTY_HEADER; 4];
        assert_eq!(
            parse_with(b"GET /a\r\n", &Limits::DEFAULT, &require10, &mut headers).err(),
            Some(HeadError::Http09Refused)
        );
    }

    #[test]
    fn registered_methods() {
        let registered = ProtocolOptions {
            registered_methods: true,
            ..ProtocolOptions::DEFAULT
        };
        let with_options = |head: &[u8], options: &ProtocolOptions| {
            let mut headers = [EMPTY_HEADER; 4];
            parse_with(head, &Limits::DEFAULT, options, &mut headers)
                .map(|r| r.method().is_registered())
        };
        // Refused while the request line is read, before the missing Host is noticed.
        assert_eq!(
            with_options(b"FOO / HTTP/1.1\r\n\r\n", &registered),
            Err(HeadError::UnregisteredMethod)
        );
        assert_eq!(
            with_options(
                b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
                &ProtocolOptions::DEFAULT
            ),
            Ok(false)
        );
        assert_eq!(
            with_options(b"MKCOL / HTTP/1.1\r\nHost: a\r\n\r\n", &registered),
            Ok(true)
        );
    }

    #[test]
    fn fields_and_obs_fold() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  2\r\n\r\n"),
            Some(HeadError::ObsFold)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
            Some(HeadError::ObsFold)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n"),
            Some(HeadError::BadField)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
            Some(HeadError::BadField)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
            Some(HeadError::BadField)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
            Some(HeadError::BadField)
        );
    }

    #[test]
    fn field_limits() {
        let mut l = Limits::DEFAULT;
        l.field_size = 10;
        let ok = b"GET / HTTP/1.1\r\nHost: a\r\nX: 1234567\r\n\r\n";
        assert!(with(ok, &l, |r| r.is_ok()));
        let long = b"GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n";
        assert_eq!(with(long, &l, |r| r.err()), Some(HeadError::FieldTooLong));
        l.field_size = 8190;
        l.fields = 2;
        let three = b"GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(with(three, &l, |r| r.err()), Some(HeadError::TooManyFields));
        l.fields = 0;
        assert!(with(three, &l, |r| r.is_ok()));
        // The caller's array bounds the fields too.
        let mut small = [EMPTY_HEADER; 2];
        assert_eq!(
            parse(three, &l, &mut small).err(),
            Some(HeadError::TooManyFields)
        );
        let mut l = Limits::DEFAULT;
        l.request_line = 10;
        assert_eq!(
            with(three, &l, |r| r.err()),
            Some(HeadError::RequestLineTooLong)
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), Some(HeadError::MissingHost));
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
            Some(HeadError::MultipleHosts)
        );
        assert_eq!(
            err(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            Some(HeadError::MultipleHosts)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            Some(HeadError::BadHost)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
            Some(HeadError::BadHost)
        );
        assert_eq!(
            err(b"GET / HTTP/1.0\r\nHost: a@b\r\n\r\n"),
            Some(HeadError::BadHost)
        );
        // An empty Host names no host: HTTP/1.1 then has none (httpd AH00569), HTTP/1.0 may.
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost:\r\n\r\n"),
            Some(HeadError::MissingHost)
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: \r\n\r\n"),
            Some(HeadError::MissingHost)
        );
        with(
            b"GET / HTTP/1.0\r\nHost:\r\n\r\n",
            &Limits::default(),
            |r| {
                assert_eq!(r.unwrap().host(), None);
            },
        );
        // With an absolute-form target the host is the target's.
        with(
            b"GET http://u.example/ HTTP/1.1\r\nHost:\r\n\r\n",
            &Limits::default(),
            |r| {
                assert_eq!(r.unwrap().host(), Some("u.example"));
            },
        );
        // Absolute form: the URI's authority wins, but HTTP/1.1 still needs a Host field.
        with(
            b"GET http://u.example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
            &Limits::default(),
            |r| {
                let r = r.unwrap();
                assert_eq!(r.host(), Some("u.example:8080"));
                assert_eq!(r.target().path(), "/p");
                assert_eq!(r.target().form(), TargetForm::Absolute);
            },
        );
        assert_eq!(
            err(b"GET http://u.example/ HTTP/1.1\r\n\r\n"),
            Some(HeadError::MissingHost)
        );
        with(
            b"GET http://u.example/ HTTP/1.0\r\n\r\n",
            &Limits::default(),
            |r| {
                assert_eq!(r.unwrap().host(), Some("u.example"));
            },
        );
    }

    #[test]
    fn body_framing_rules() {
        let h = |extra: &str| format!("POST / HTTP/1.1\r\nHost: a\r\n{extra}\r\n");
        let framing = |extra: &str| {
            with(h(extra).as_bytes(), &Limits::default(), |r| {
                r.map(|r| r.body())
            })
        };
        assert_eq!(
            framing("Content-Length: 10\r\n"),
            Ok(BodyFraming::Length(10))
        );
        assert_eq!(
            framing("content-length: 10\r\nContent-Length: 10\r\n"),
            Ok(BodyFraming::Length(10))
        );
        assert_eq!(
            framing("Content-Length: 10\r\nContent-Length: 11\r\n"),
            Err(HeadError::BadContentLength)
        );
        assert_eq!(
            framing("Content-Length: 1e3\r\n"),
            Err(HeadError::BadContentLength)
        );
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n"),
            Ok(BodyFraming::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
            Err(HeadError::LengthAndChunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip\r\n"),
            Err(HeadError::ChunkedNotFinal)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, chunked\r\n"),
            Err(HeadError::UnsupportedTransferCoding)
        );
        assert_eq!(
            framing("Content-Length: 1073741825\r\n"),
            Err(HeadError::BodyTooLarge)
        );
        let http10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(err(http10), Some(HeadError::TransferEncodingInHttp10));
        let mut l = Limits::DEFAULT;
        l.body = 0;
        let huge = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n";
        assert_eq!(
            with(huge, &l, |r| r.map(|r| r.body())),
            Ok(BodyFraming::Length(u64::MAX))
        );
        l.body = 5;
        assert_eq!(with(huge, &l, |r| r.err()), Some(HeadError::BodyTooLarge));
    }

    #[test]
    fn connection_and_expect() {
        let get = |v: &str, extra: &str| format!("GET / {v}\r\nHost: a\r\n{extra}\r\n");
        let ka = |v: &str, extra: &str| {
            with(get(v, extra).as_bytes(), &Limits::default(), |r| {
                r.map(|r| r.keep_alive())
            })
        };
        assert_eq!(ka("HTTP/1.1", ""), Ok(true));
        assert_eq!(ka("HTTP/1.1", "Connection: Close\r\n"), Ok(false));
        assert_eq!(
            ka(
                "HTTP/1.1",
                "Connection: foo\r\nConnection: keep-alive, close\r\n"
            ),
            Ok(false)
        );
        assert_eq!(ka("HTTP/1.0", ""), Ok(false));
        assert_eq!(ka("HTTP/1.0", "Connection: Keep-Alive\r\n"), Ok(true));
        with(
            get("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: h2c\r\n").as_bytes(),
            &Limits::default(),
            |r| {
                assert!(r.unwrap().connection().upgrade());
            },
        );

        let ex = |v: &str, extra: &str| {
            with(get(v, extra).as_bytes(), &Limits::default(), |r| {
                r.map(|r| r.expects_continue())
            })
        };
        assert_eq!(ex("HTTP/1.1", "Expect: 100-Continue\r\n"), Ok(true));
        assert_eq!(ex("HTTP/1.0", "Expect: 100-continue\r\n"), Ok(false));
        assert_eq!(ex("HTTP/1.1", "Expect:\r\n"), Ok(false));
        assert_eq!(
            ex("HTTP/1.1", "Expect: foo\r\n"),
            Err(HeadError::UnsupportedExpectation)
        );
        assert_eq!(
            ex("HTTP/1.1", "Expect: 100-continue, foo\r\n"),
            Err(HeadError::UnsupportedExpectation)
        );
        assert_eq!(
            ex("HTTP/1.0", "Expect: foo\r\n"),
            Err(HeadError::UnsupportedExpectation)
        );
    }

    /// A valid head (and its expected parse) from parts.
    fn valid_request() -> impl Strategy<Value = (Vec<u8>, usize, std::string::String, usize)> {
        (
            0..4usize,
            prop_oneof![Just("GET"), Just("HEAD"), Just("POST"), Just("PUT")],
            "/[a-z0-9/._=&%-]{0,30}(\\?[a-z=&]{0,10})?",
            proptest::collection::vec(("X-[A-Za-z]{1,10}", "[!-~]([ -~]{0,20}[!-~])?"), 0..10),
            proptest::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(|(empty, method, target, fields, tail)| {
                let eol: &[u8] = b"\r\n";
                let mut head = Vec::new();
                for _ in 0..empty {
                    head.extend_from_slice(eol);
                }
                head.extend_from_slice(format!("{method} {target} HTTP/1.1").as_bytes());
                head.extend_from_slice(eol);
                head.extend_from_slice(b"Host: example.com");
                head.extend_from_slice(eol);
                let count = fields.len() + 1;
                for (n, v) in fields {
                    head.extend_from_slice(format!("{n}: {v}").as_bytes());
                    head.extend_from_slice(eol);
                }
                head.extend_from_slice(eol);
                let len = head.len();
                head.extend_from_slice(&tail);
                (head, len, target, count)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), any::<u8>()], 0..160)) {
            let _ = with(&bytes, &Limits::default(), |r| r.map(|r| r.head_len()));
            let mut tiny = [EMPTY_HEADER; 1];
            let _ = parse(&bytes, &Limits { request_line: 5, field_size: 5, fields: 1, body: 1 }, &mut tiny);
        }

        #[test]
        fn mutated_heads_never_panic(
            (head, _, _, _) in valid_request(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut head = head;
            for (i, b) in edits {
                let i = i.index(head.len());
                head[i] = b;
            }
            let _ = with(&head, &Limits::default(), |r| r.map(|r| r.head_len()));
        }

        #[test]
        fn scan_and_parse_agree_across_splits(
            (bytes, len, target, count) in valid_request(),
            cuts in proptest::collection::vec(0usize..300, 0..10),
        ) {
            let l = Limits::default();
            let mut state = ScanState::new();
            let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
            ends.push(bytes.len());
            ends.sort_unstable();
            let mut found = None;
            for end in ends {
                match state.scan(&bytes[..end], 4096, &l) {
                    Scan::Partial => continue,
                    other => { found = Some(other); break; }
                }
            }
            prop_assert_eq!(found, Some(Scan::Complete { head_len: len }));
            let parsed = with(&bytes[..len], &l, |r| {
                r.map(|r| (r.head_len(), r.target().raw().to_owned(), r.headers().len(), r.host().map(str::to_owned)))
            });
            prop_assert_eq!(parsed, Ok((len, target, count, Some("example.com".to_owned()))));
        }
    }
    use std::borrow::ToOwned;
}
