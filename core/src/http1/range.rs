//! Byte ranges (RFC 9110 §14): `Range: bytes=...` with `If-Range`, for a representation of known
//! length.
//!
//! Only a single range is served as 206. A request for several ranges gets the whole
//! representation with 200, which RFC 9110 §14.2 permits (a server may ignore Range): it spares
//! the server multipart/byteranges bodies, and the overlapping-range amplification that made httpd
//! cap them (CVE-2011-3192). Browsers and download managers ask for one range at a time.

use super::conditional::Validators;
use super::etag::{Comparison, Tag};
use super::token::trim_ows;
use super::writer::{TooSmall, Writer};
use super::{Method, Request, date};

/// What to send for a Range request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeOutcome {
    /// 200 with the whole representation: no Range, an invalid or ignored one, several ranges,
    /// or an If-Range that does not match.
    Full,
    /// 206 with bytes `start ..= end` (both inclusive, `end < len`).
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416, with `Content-Range: bytes */len`.
    NotSatisfiable,
}

impl RangeOutcome {
    /// The number of body bytes to send for a 206 (0 otherwise).
    pub fn len(&self) -> u64 {
        match *self {
            RangeOutcome::Partial { start, end } => end - start + 1,
            _ => 0,
        }
    }

    /// Whether [`RangeOutcome::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `Content-Range` value for a 206 (`bytes 0-99/1000`) or 416 (`bytes */1000`) answer,
    /// where `len` is the full length; nothing for [`RangeOutcome::Full`]. Returns the bytes
    /// written.
    pub fn content_range(&self, len: u64, out: &mut [u8]) -> Result<usize, TooSmall> {
        let mut w = Writer::new(out);
        match *self {
            RangeOutcome::Full => return Ok(0),
            RangeOutcome::Partial { start, end } => {
                w.bytes(b"bytes ")?;
                w.decimal(start)?;
                w.byte(b'-')?;
                w.decimal(end)?;
            }
            RangeOutcome::NotSatisfiable => w.bytes(b"bytes *")?,
        }
        w.byte(b'/')?;
        w.decimal(len)?;
        Ok(w.len())
    }
}

/// Decides how to answer a GET for a representation of `len` bytes with `validators`, after the
/// preconditions of [`conditional`](super::conditional) said to proceed.
///
/// - Only GET has ranges (RFC 9110 §14.2); other methods, and requests with several Range
///   fields, get [`RangeOutcome::Full`].
/// - An `If-Range` that does not match the current representation gives `Full`: an entity tag
///   must match strongly, a date must equal `Last-Modified` exactly.
/// - A syntactically invalid Range (unknown unit, `bytes=5-1`, a missing `=`) is ignored: `Full`.
/// - Several ranges: `Full` (see the module's documentation).
/// - One range: `first-last`, `first-` or `-suffix`; clamped to the representation, or
///   [`RangeOutcome::NotSatisfiable`] when it starts at or after its end, or is an empty suffix
///   (`bytes=-0`: unsatisfiable per RFC 9110 §14.1.1; httpd ignores it and sends 200).
pub fn evaluate(request: &Request<'_>, len: u64, validators: &Validators<'_>) -> RangeOutcome {
    if request.method() != Method::Get {
        return RangeOutcome::Full;
    }
    let mut fields = request.header_values("range");
    let (Some(range), None) = (fields.next(), fields.next()) else {
        return RangeOutcome::Full;
    };
    if let Some(if_range) = request.header("if-range")
        && !if_range_matches(if_range, validators)
    {
        return RangeOutcome::Full;
    }
    match parse_single(range) {
        Some(spec) => spec.resolve(len),
        None => RangeOutcome::Full,
    }
}

fn if_range_matches(value: &[u8], validators: &Validators<'_>) -> bool {
    let value = trim_ows(value);
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        let current = validators.etag.and_then(Tag::parse);
        return match (Tag::parse(value), current) {
            (Some(sent), Some(current)) => sent.matches(&current, Comparison::Strong),
            _ => false,
        };
    }
    matches!(
        (date::parse(value), validators.last_modified),
        (Some(sent), Some(modified)) if sent == modified
    )
}

/// One `range-spec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `first-` or `first-last`.
    From { first: u64, last: Option<u64> },
    /// `-suffix`.
    Suffix(u64),
}

impl Spec {
    fn resolve(self, len: u64) -> RangeOutcome {
        match self {
            Spec::From { first, last } => {
                if first >= len {
                    return RangeOutcome::NotSatisfiable;
                }
                let end = last.map_or(len - 1, |l| l.min(len - 1));
                RangeOutcome::Partial { start: first, end }
            }
            Spec::Suffix(n) => {
                if n == 0 || len == 0 {
                    return RangeOutcome::NotSatisfiable;
                }
                RangeOutcome::Partial {
                    start: len - n.min(len),
                    end: len - 1,
                }
            }
        }
    }
}

/// The one range of a `bytes=` Range value; `None` if the value is invalid or has several.
fn parse_single(value: &[u8]) -> Option<Spec> {
    let value = trim_ows(value);
    let eq = value.iter().position(|&b| b == b'=')?;
    let (unit, set) = value.split_at(eq);
    if !trim_ows(unit).eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut specs = set
        .get(1..)?
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|s| !s.is_empty());
    let first = parse_spec(specs.next()?)?;
    // Every further element must still be valid for the header to count; any second one means
    // several ranges.
    let mut several = false;
    for spec in specs {
        parse_spec(spec)?;
        several = true;
    }
    if several { None } else { Some(first) }
}

fn parse_spec(s: &[u8]) -> Option<Spec> {
    let dash = s.iter().position(|&b| b == b'-')?;
    let (first, last) = (s.get(..dash)?, s.get(dash + 1..)?);
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(digits(last)?)
    };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(Spec::From { first, last })
}

/// `1*DIGIT`, saturating: a position past u64 is past any representation's end.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{Limits, parse};
    use httparse::EMPTY_HEADER;
    use proptest::prelude::*;
    extern crate std;
    use RangeOutcome::{Full, NotSatisfiable, Partial};
    use std::format;

    const MTIME: i64 = 784_111_777;
    const TAG: &[u8] = b"\"400-660f315801623\"";

    fn outcome(method: &str, fields: &str, len: u64) -> RangeOutcome {
        let head = format!("{method} / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        let mut headers = [EMPTY_HEADER; 16];
        let req = parse(head.as_bytes(), &Limits::default(), &mut headers).unwrap();
        let v = Validators {
            etag: Some(TAG),
            last_modified: Some(MTIME),
        };
        evaluate(&req, len, &v)
    }

    fn range(spec: &str, len: u64) -> RangeOutcome {
        outcome("GET", &format!("Range: {spec}\r\n"), len)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(range("bytes=1-5", 1024), Partial { start: 1, end: 5 });
        assert_eq!(range("bytes=0-0", 1024), Partial { start: 0, end: 0 });
        assert_eq!(
            range("bytes=1000-", 1024),
            Partial {
                start: 1000,
                end: 1023
            }
        );
        assert_eq!(
            range("bytes=1000-5000", 1024),
            Partial {
                start: 1000,
                end: 1023
            }
        );
        assert_eq!(
            range("bytes=-24", 1024),
            Partial {
                start: 1000,
                end: 1023
            }
        );
        assert_eq!(
            range("bytes=-5000", 1024),
            Partial {
                start: 0,
                end: 1023
            }
        );
        assert_eq!(range("Bytes = 2-3 ", 10), Partial { start: 2, end: 3 });
        assert_eq!(range("bytes=2-3,", 10), Partial { start: 2, end: 3 });
        assert_eq!(
            range("bytes=0-99999999999999999999999", 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(range("bytes=1-5", 1024).len(), 5);
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(range("bytes=1024-", 1024), NotSatisfiable);
        assert_eq!(range("bytes=2000-3000", 1024), NotSatisfiable);
        assert_eq!(range("bytes=-0", 1024), NotSatisfiable);
        assert_eq!(range("bytes=0-", 0), NotSatisfiable);
        assert_eq!(range("bytes=-5", 0), NotSatisfiable);
        assert_eq!(range("bytes=99999999999999999999999-", 10), NotSatisfiable);
    }

    #[test]
    fn ignored_ranges() {
        for spec in [
            "bytes=5-1",
            "bytes=",
            "bytes",
            "items=0-1",
            "bytes=a-b",
            "bytes=1",
            "bytes=--1",
            "bytes=1-2-3",
            "bytes=0-1,x",
            "bytes=+1-2",
            "bytes= - ",
        ] {
            assert_eq!(range(spec, 1024), Full, "{spec}");
        }
        // Several ranges: the whole file (a documented choice).
        assert_eq!(range("bytes=0-1,5-6", 1024), Full);
        assert_eq!(range("bytes=2000-3000,4000-", 1024), Full);
        // Only GET.
        assert_eq!(outcome("HEAD", "Range: bytes=0-1\r\n", 1024), Full);
        assert_eq!(outcome("POST", "Range: bytes=0-1\r\n", 1024), Full);
        assert_eq!(
            outcome("GET", "Range: bytes=0-1\r\nRange: bytes=0-1\r\n", 1024),
            Full
        );
        assert_eq!(outcome("GET", "", 1024), Full);
    }

    #[test]
    fn if_range() {
        let at = |t: i64| date::format(t);
        let with = |if_range: &[u8]| {
            let mut fields = b"Range: bytes=0-1\r\nIf-Range: ".to_vec();
            fields.extend_from_slice(if_range);
            fields.extend_from_slice(b"\r\n");
            outcome("GET", std::str::from_utf8(&fields).unwrap(), 10)
        };
        assert_eq!(with(b"\"400-660f315801623\""), Partial { start: 0, end: 1 });
        assert_eq!(with(b"W/\"400-660f315801623\""), Full);
        assert_eq!(with(b"\"other\""), Full);
        assert_eq!(with(&at(MTIME)), Partial { start: 0, end: 1 });
        assert_eq!(with(&at(MTIME + 1)), Full);
        assert_eq!(with(b"garbage"), Full);
    }

    #[test]
    fn content_range_values() {
        let mut buf = [0u8; 64];
        let n = Partial { start: 1, end: 5 }
            .content_range(1024, &mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b"bytes 1-5/1024");
        let n = NotSatisfiable.content_range(1024, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"bytes */1024");
        assert_eq!(Full.content_range(1024, &mut buf), Ok(0));
        assert_eq!(
            Partial { start: 1, end: 5 }.content_range(1024, &mut buf[..5]),
            Err(TooSmall)
        );
        assert!(Full.is_empty() && NotSatisfiable.is_empty());
    }

    proptest! {
        #[test]
        fn partial_ranges_lie_within_the_representation(
            spec in "[ -~]{0,24}",
            len in 0u64..2000,
        ) {
            let head = format!("GET / HTTP/1.1\r\nHost: a\r\nRange: {}\r\n\r\n", spec.trim());
            let mut headers = [EMPTY_HEADER; 4];
            if let Ok(req) = parse(head.as_bytes(), &Limits::default(), &mut headers)
                && let Partial { start, end } = evaluate(&req, len, &Validators::default())
            {
                prop_assert!(start <= end && end < len);
            }
        }
    }
}
