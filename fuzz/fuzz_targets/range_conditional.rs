//! Range, If-Range and the conditional fields (`http1::range`, `http1::conditional`,
//! `http1::etag`, `http1::date`).
//!
//! Input: settings (method, which fields are sent, the file's length, mtime, the request time),
//! then the field values separated by LF: Range, If-Range, If-Match, If-None-Match,
//! If-Modified-Since, If-Unmodified-Since, and the file's entity tag when it is given rather than
//! made.
//!
//! Properties:
//! - a 206 range lies within the file, its length is `end - start + 1`, and `Content-Range`
//!   says so; only GET gets ranges; one Range field without If-Range is answered as an
//!   independent reading of RFC 9110 §14.1.2 answers it;
//! - without conditional fields a request proceeds; 304 only for GET and HEAD; `If-None-Match`
//!   with the file's own tag is 304 (GET), and `If-Match` with it passes exactly when the tag is
//!   strong;
//! - a date that parses re-parses from its IMF-fixdate to the same second.
#![no_main]

use eventmpm_core::http1::conditional::{self, Precondition, Validators};
use eventmpm_core::http1::etag::Etag;
use eventmpm_core::http1::range::{self, RangeOutcome};
use eventmpm_core::http1::{Limits, Method, Request, date, parse};
use eventmpm_fuzz::Settings;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "Range",
    "If-Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
];
const METHODS: [&str; 4] = ["GET", "HEAD", "POST", "PUT"];

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let method = METHODS[usize::from(s.u8() % 4)];
    let present = s.u8();
    let flags = s.u8();
    let len = match flags & 3 {
        0 => u64::from(s.u16()),
        1 => 0,
        _ => s.u64(),
    };
    let (mtime, now) = if flags & 4 == 0 {
        let m = i64::from(s.u32());
        (m, m + i64::from(s.u16()) - 1000)
    } else {
        (s.u64() as i64, s.u64() as i64)
    };
    let inode = (flags & 8 != 0).then(|| u64::from(s.u32()));
    let values: Vec<&[u8]> = s.rest().split(|&b| b == b'\n').collect();
    let value = |i: usize| values.get(i).copied().unwrap_or(b"");

    for v in &values {
        if let Some(t) = date::parse(v) {
            let again = date::format(t);
            assert_eq!(
                date::parse(&again),
                Some(t),
                "{}",
                String::from_utf8_lossy(&again)
            );
        }
    }
    let formatted = date::format(mtime);
    if (-62_167_219_200..=253_402_300_799).contains(&mtime) {
        assert_eq!(date::parse(&formatted), Some(mtime));
    }

    let mtime_us = (mtime.max(0) as u64).saturating_mul(1_000_000);
    let now_us = (now.max(0) as u64).saturating_mul(1_000_000);
    let made = Etag::for_file(inode, len, mtime_us, now_us);
    let etag: Option<&[u8]> = match (flags >> 4) & 3 {
        0 | 1 => Some(made.as_bytes()),
        2 => Some(value(6)),
        _ => None,
    };
    let validators = Validators {
        etag,
        last_modified: (flags & 0x40 == 0).then_some(mtime),
    };

    let mut head = format!("{method} / HTTP/1.1\r\nHost: a\r\n").into_bytes();
    for (i, name) in NAMES.iter().enumerate() {
        if present & (1 << i) != 0 {
            field(&mut head, name, value(i));
        }
    }
    // Bit 6 adds another Range field with the same value (after any others).
    let ranges = (present & 1) + (present >> 6 & 1);
    if present & 0x40 != 0 {
        field(&mut head, "Range", value(0));
    }
    head.extend_from_slice(b"\r\n");
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let Ok(req) = parse(&head, &Limits::DEFAULT, &mut headers) else {
        // A value the head cannot carry (a CR, a control byte): not this target's business.
        return;
    };

    // Ranges.
    let outcome = range::evaluate(&req, len, &validators);
    // The runtime's buffer: `bytes ` and three 20-digit numbers need 68.
    let mut cr = [0u8; 80];
    let n = outcome
        .content_range(len, &mut cr)
        .expect("a Content-Range fits the runtime's 80 bytes");
    let cr = std::str::from_utf8(&cr[..n]).unwrap();
    match outcome {
        RangeOutcome::Partial { start, end } => {
            assert!(start <= end && end < len, "{start}-{end} of {len}");
            assert_eq!(outcome.len(), end - start + 1);
            assert_eq!(cr, format!("bytes {start}-{end}/{len}"));
            assert_eq!(req.method(), Method::Get);
            assert_eq!(ranges, 1, "only a single Range field is honoured");
        }
        RangeOutcome::NotSatisfiable => {
            assert_eq!(cr, format!("bytes */{len}"));
            assert_eq!(ranges, 1, "only a single Range field is honoured");
        }
        RangeOutcome::Full => assert_eq!(cr, ""),
    }
    if req.method() == Method::Get && ranges == 1 && present & 2 == 0 {
        assert_eq!(
            outcome,
            model_range(value(0), len),
            "Range: {}",
            String::from_utf8_lossy(value(0))
        );
    }

    // Preconditions.
    let pre = conditional::evaluate(&req, &validators, now);
    if pre == Precondition::NotModified {
        assert!(req.method().is_get_or_head());
    }
    if present & 0b11_1100 == 0 {
        assert_eq!(pre, Precondition::Proceed);
    }
    own_tag(&made, &validators, now);
    let _ = req_fields(&req);
});

fn field(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

fn req_fields(req: &Request<'_>) -> usize {
    req.headers().len()
}

/// A GET with only the file's own tag in If-None-Match is 304; in If-Match it passes exactly when
/// the tag is strong.
fn own_tag(tag: &Etag, validators: &Validators<'_>, now: i64) {
    let v = Validators {
        etag: Some(tag.as_bytes()),
        ..*validators
    };
    let with = |field: &str| {
        let head = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{field}: {}\r\n\r\n",
            String::from_utf8_lossy(tag.as_bytes())
        );
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let req = parse(head.as_bytes(), &Limits::DEFAULT, &mut headers).unwrap();
        conditional::evaluate(&req, &v, now)
    };
    assert_eq!(with("If-None-Match"), Precondition::NotModified);
    let expected = if tag.is_weak() {
        Precondition::Failed
    } else {
        Precondition::Proceed
    };
    assert_eq!(with("If-Match"), expected);
}

/// RFC 9110 §14.1.2 for one Range field, read independently of the implementation: a `bytes`
/// unit, one valid range-spec (empty list elements allowed), clamped to the file.
fn model_range(value: &[u8], len: u64) -> RangeOutcome {
    let text = match std::str::from_utf8(value) {
        Ok(t) => t.trim_matches([' ', '\t']),
        Err(_) => return RangeOutcome::Full,
    };
    let Some((unit, set)) = text.split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim_matches([' ', '\t']).eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    let specs: Vec<&str> = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty())
        .collect();
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A position past u64 is past any end.
        Some(s.parse::<u64>().unwrap_or(u64::MAX))
    };
    // (first, last) or a suffix length.
    let mut parsed = Vec::new();
    for spec in &specs {
        let Some((a, b)) = spec.split_once('-') else {
            return RangeOutcome::Full;
        };
        let p = if a.is_empty() {
            match number(b) {
                Some(n) => Err(n),
                None => return RangeOutcome::Full,
            }
        } else {
            let (Some(first), last) = (number(a), number(b)) else {
                return RangeOutcome::Full;
            };
            if !b.is_empty() && last.is_none() {
                return RangeOutcome::Full;
            }
            if last.is_some_and(|l| l < first) {
                return RangeOutcome::Full;
            }
            Ok((first, last))
        };
        parsed.push(p);
    }
    match parsed[..] {
        [Ok((first, last))] if first < len => RangeOutcome::Partial {
            start: first,
            end: last.unwrap_or(u64::MAX).min(len - 1),
        },
        [Ok(_)] => RangeOutcome::NotSatisfiable,
        [Err(n)] if n == 0 || len == 0 => RangeOutcome::NotSatisfiable,
        [Err(n)] => RangeOutcome::Partial {
            start: len - n.min(len),
            end: len - 1,
        },
        _ => RangeOutcome::Full,
    }
}
