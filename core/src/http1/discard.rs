//! What becomes of a request body that no handler reads: a POST to a static file, a PUT answered
//! with 405 (httpd's `ap_discard_request_body`).
//!
//! httpd reads and drops such a body before it answers, waiting for it as long as it takes (up to
//! `LimitRequestBody`), and keeps the connection. A worker here never waits for a client, so the
//! body is skipped when it has already arrived whole — the usual case for a small form or API
//! call, which comes in the same packets as its head — and otherwise the answer says
//! `Connection: close` and lingering close drains what follows.

use super::chunked::{BodyError, Decoder};
use super::{BodyFraming, Limits, Method};

/// What to do with the body of a request whose handler did not read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discard {
    /// No body, or an empty one: nothing to skip.
    Nothing,
    /// The whole body is buffered right after the head: skip `len` bytes, and the connection may
    /// carry another request.
    Skip {
        /// The body's length on the wire (chunk framing included).
        len: usize,
    },
    /// Answer, then close: the body has not all arrived yet, or it was sent with a GET or HEAD.
    ///
    /// A body on GET or HEAD has no meaning (RFC 9110 §9.3.1) and some proxies and caches ignore
    /// it: one that forwards `GET` with a `Content-Length` body but frames the bytes after the
    /// head as the next request ("0.CL" desync) would read our next answer as the answer to a
    /// request we never saw. httpd skips the body and keeps the connection; closing leaves
    /// nothing to desynchronise.
    Close,
    /// The buffered start of a chunked body is malformed: answer with its status instead, and
    /// close (httpd reads the body before answering, so it finds the error first).
    Invalid(BodyError),
}

/// Decides what to do with the unread body of `method`, framed as `framing`, given the bytes
/// already received after the head.
#[doc(alias = "ap_discard_request_body")]
pub fn discard(
    method: &Method<'_>,
    framing: BodyFraming,
    after_head: &[u8],
    limits: &Limits,
) -> Discard {
    match framing {
        BodyFraming::None | BodyFraming::Length(0) => Discard::Nothing,
        _ if method.is_get_or_head() => Discard::Close,
        BodyFraming::Length(n) => match usize::try_from(n) {
            Ok(len) if len <= after_head.len() => Discard::Skip { len },
            _ => Discard::Close,
        },
        BodyFraming::Chunked => match Decoder::new(limits).skip(after_head) {
            Ok(p) if p.done => Discard::Skip { len: p.consumed },
            Ok(_) => Discard::Close,
            Err(e) => Discard::Invalid(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(method: Method<'_>, framing: BodyFraming, after: &[u8]) -> Discard {
        discard(&method, framing, after, &Limits::DEFAULT)
    }

    #[test]
    fn skips_a_whole_buffered_body() {
        use BodyFraming::{Chunked, Length};
        assert_eq!(d(Method::Post, BodyFraming::None, b"GET"), Discard::Nothing);
        assert_eq!(d(Method::Post, Length(0), b""), Discard::Nothing);
        assert_eq!(d(Method::Get, Length(0), b""), Discard::Nothing);
        assert_eq!(
            d(Method::Post, Length(5), b"hello"),
            Discard::Skip { len: 5 }
        );
        assert_eq!(
            d(Method::Put, Length(5), b"helloGET / HTTP/1.1\r\n"),
            Discard::Skip { len: 5 }
        );
        assert_eq!(d(Method::Post, Length(5), b"hell"), Discard::Close);
        assert_eq!(d(Method::Post, Length(u64::MAX), b"x"), Discard::Close);
        let chunked = b"5\r\nhello\r\n0\r\n\r\nGET /";
        assert_eq!(
            d(Method::Post, Chunked, chunked),
            Discard::Skip {
                len: chunked.len() - 5
            }
        );
        assert_eq!(
            d(Method::Other("FOO"), Chunked, b"5\r\nhel"),
            Discard::Close
        );
        assert_eq!(
            d(Method::Post, Chunked, b"5\nhello\n0\n\n"),
            Discard::Invalid(BodyError::BadChunkSize)
        );
    }

    #[test]
    fn a_body_on_get_or_head_closes() {
        use BodyFraming::{Chunked, Length};
        assert_eq!(d(Method::Get, Length(5), b"hello"), Discard::Close);
        assert_eq!(d(Method::Head, Length(5), b"hello"), Discard::Close);
        assert_eq!(d(Method::Get, Chunked, b"0\r\n\r\n"), Discard::Close);
    }

    #[test]
    fn a_chunked_body_over_the_limit_is_refused() {
        let limits = Limits {
            body: 4,
            ..Limits::DEFAULT
        };
        assert_eq!(
            discard(&Method::Post, BodyFraming::Chunked, b"5\r\nhello", &limits),
            Discard::Invalid(BodyError::TooLarge)
        );
    }
}
