//! Conditional requests (RFC 9110 §13): If-Match, If-Unmodified-Since, If-None-Match and
//! If-Modified-Since, evaluated in the RFC's order (§13.2.2) against a file's validators.
//!
//! httpd does the same in `ap_meets_conditions`. `If-Range` belongs with ranges, in
//! [`range`](super::range).

use super::etag::{Comparison, Tag, TagList};
use super::{Request, date};

/// The validators of the selected representation (for a static file: its ETag and mtime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validators<'a> {
    /// The `ETag` the response would carry, quotes included
    /// ([`Etag::as_bytes`](super::etag::Etag::as_bytes)).
    pub etag: Option<&'a [u8]>,
    /// The `Last-Modified` time, in Unix seconds.
    pub last_modified: Option<i64>,
}

/// What the preconditions decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precondition {
    /// No condition stops the request: answer it normally (Range may still apply).
    Proceed,
    /// 304 Not Modified: the client's cached copy is current (GET and HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the request's preconditions for a representation that exists, with `now` the
/// request's time in Unix seconds. Steps, as RFC 9110 §13.2.2 orders them:
///
/// 1. `If-Match`: unless `*` or a strongly matching tag is listed, 412.
/// 2. otherwise `If-Unmodified-Since` (a valid date, and a known mtime): modified since, 412.
/// 3. `If-None-Match`: `*` or a weakly matching tag is listed: 304 for GET and HEAD, else 412.
/// 4. otherwise, for GET and HEAD only, `If-Modified-Since`: not modified since, 304. A date
///    that is invalid or later than `now` is ignored (httpd ignores future dates too).
///
/// Dates compare to the second, as HTTP dates carry no more. Several fields of the same list
/// type (`If-None-Match` twice) are one list.
#[doc(alias = "ap_meets_conditions")]
pub fn evaluate(request: &Request<'_>, validators: &Validators<'_>, now: i64) -> Precondition {
    // Every field this looks at is named `If-…`: one pass settles most requests, which have
    // none, before four lookups and the current tag's parse.
    let conditional = request.headers().iter().any(|h| {
        h.name
            .as_bytes()
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"if-"))
    });
    if !conditional {
        return Precondition::Proceed;
    }
    let current = validators.etag.and_then(Tag::parse);
    let get_or_head = request.method().is_get_or_head();

    let mut if_match = request.header_values("if-match").peekable();
    if if_match.peek().is_some() {
        let matched = if_match.any(|v| list_matches(v, current.as_ref(), Comparison::Strong));
        if !matched {
            return Precondition::Failed;
        }
    } else if let Some(since) = request.header("if-unmodified-since").and_then(date::parse)
        && let Some(modified) = validators.last_modified
        && modified > since
    {
        return Precondition::Failed;
    }

    let mut if_none_match = request.header_values("if-none-match").peekable();
    if if_none_match.peek().is_some() {
        if if_none_match.any(|v| list_matches(v, current.as_ref(), Comparison::Weak)) {
            return if get_or_head {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if get_or_head
        && let Some(since) = request.header("if-modified-since").and_then(date::parse)
        && let Some(modified) = validators.last_modified
        && since <= now
        && modified <= since
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether one If-Match / If-None-Match value matches: `*` always (the representation exists),
/// a tag list only if there is a current tag and it is listed.
fn list_matches(value: &[u8], current: Option<&Tag<'_>>, cmp: Comparison) -> bool {
    match TagList::parse(value) {
        TagList::Any => true,
        list => current.is_some_and(|c| list.contains(c, cmp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{Limits, parse};
    use httparse::EMPTY_HEADER;
    extern crate std;
    use std::format;

    const MTIME: i64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
    const NOW: i64 = MTIME + 3600;
    const TAG: &[u8] = b"\"3c-660f315800ef0\"";

    fn check(method: &str, fields: &str) -> Precondition {
        let head = format!("{method} / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        let mut headers = [EMPTY_HEADER; 16];
        let req = parse(head.as_bytes(), &Limits::default(), &mut headers).unwrap();
        let v = Validators {
            etag: Some(TAG),
            last_modified: Some(MTIME),
        };
        evaluate(&req, &v, NOW)
    }
    use Precondition::{Failed, NotModified, Proceed};

    #[test]
    fn if_none_match() {
        assert_eq!(check("GET", ""), Proceed);
        assert_eq!(
            check("GET", "If-None-Match: \"3c-660f315800ef0\"\r\n"),
            NotModified
        );
        assert_eq!(
            check("HEAD", "If-None-Match: W/\"3c-660f315800ef0\"\r\n"),
            NotModified
        );
        assert_eq!(
            check("GET", "If-None-Match: \"x\", W/\"3c-660f315800ef0\"\r\n"),
            NotModified
        );
        assert_eq!(
            check(
                "GET",
                "If-None-Match: \"x\"\r\nIf-None-Match: \"3c-660f315800ef0\"\r\n"
            ),
            NotModified
        );
        assert_eq!(check("GET", "If-None-Match: *\r\n"), NotModified);
        assert_eq!(check("GET", "If-None-Match: \"other\"\r\n"), Proceed);
        assert_eq!(check("POST", "If-None-Match: *\r\n"), Failed);
        assert_eq!(
            check("PUT", "If-None-Match: \"3c-660f315800ef0\"\r\n"),
            Failed
        );
    }

    #[test]
    fn if_modified_since() {
        let at = |t: i64| {
            format!(
                "If-Modified-Since: {}\r\n",
                std::str::from_utf8(&date::format(t)).unwrap()
            )
        };
        assert_eq!(check("GET", &at(MTIME)), NotModified);
        assert_eq!(check("GET", &at(MTIME + 1)), NotModified);
        assert_eq!(check("GET", &at(MTIME - 1)), Proceed);
        // A date in the future is ignored.
        assert_eq!(check("GET", &at(NOW + 1)), Proceed);
        assert_eq!(
            check(
                "GET",
                "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"
            ),
            NotModified
        );
        assert_eq!(check("GET", "If-Modified-Since: yesterday\r\n"), Proceed);
        // Only for GET and HEAD.
        assert_eq!(check("POST", &at(MTIME)), Proceed);
        assert_eq!(check("HEAD", &at(MTIME)), NotModified);
        // If-None-Match takes precedence, even when it does not match.
        let both = format!("If-None-Match: \"other\"\r\n{}", at(MTIME));
        assert_eq!(check("GET", &both), Proceed);
    }

    #[test]
    fn if_match_and_if_unmodified_since() {
        assert_eq!(check("PUT", "If-Match: \"3c-660f315800ef0\"\r\n"), Proceed);
        assert_eq!(check("PUT", "If-Match: *\r\n"), Proceed);
        assert_eq!(
            check("PUT", "If-Match: \"a\", \"3c-660f315800ef0\"\r\n"),
            Proceed
        );
        // Weak tags never match strongly.
        assert_eq!(check("PUT", "If-Match: W/\"3c-660f315800ef0\"\r\n"), Failed);
        assert_eq!(check("GET", "If-Match: \"other\"\r\n"), Failed);
        assert_eq!(check("GET", "If-Match: garbage\r\n"), Failed);

        let at = |t: i64| {
            format!(
                "If-Unmodified-Since: {}\r\n",
                std::str::from_utf8(&date::format(t)).unwrap()
            )
        };
        assert_eq!(check("PUT", &at(MTIME)), Proceed);
        assert_eq!(check("PUT", &at(MTIME - 1)), Failed);
        assert_eq!(check("PUT", "If-Unmodified-Since: never\r\n"), Proceed);
        // If-Match decides; If-Unmodified-Since is then not consulted.
        let both = format!("If-Match: *\r\n{}", at(MTIME - 1));
        assert_eq!(check("PUT", &both), Proceed);
        // If-Match passes, If-None-Match then still applies.
        let both = "If-Match: *\r\nIf-None-Match: *\r\n";
        assert_eq!(check("GET", both), NotModified);
    }

    #[test]
    fn without_validators() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\nIf-Match: \"x\"\r\n\r\n";
        let mut headers = [EMPTY_HEADER; 8];
        let req = parse(head, &Limits::default(), &mut headers).unwrap();
        assert_eq!(evaluate(&req, &Validators::default(), NOW), Failed);
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n";
        let mut headers = [EMPTY_HEADER; 8];
        let req = parse(head, &Limits::default(), &mut headers).unwrap();
        assert_eq!(evaluate(&req, &Validators::default(), NOW), Proceed);
    }
}
