//! How a GET or HEAD for a stored representation (a static file) is answered, and which fields
//! the answer carries: preconditions first ([`conditional`]), then ranges ([`range`]), as httpd's
//! default handler does. One decision for every runtime: the Unix server's files and the embedded
//! runtime's flash tree answer alike.
//!
//! | answer | status | fields, in order |
//! |---|---|---|
//! | [`Answer::NotModified`] | 304 | Last-Modified, ETag, Accept-Ranges |
//! | [`Answer::PreconditionFailed`] | 412 | (an error page) |
//! | [`Answer::Full`] | 200 | Content-Type (if known), Last-Modified, ETag, Accept-Ranges |
//! | [`Answer::Partial`] | 206 | the same, then Content-Range |
//! | [`Answer::NotSatisfiable`] | 416 | Content-Range (with an error page) |
//!
//! `Last-Modified` never lies in the future: a file stamped after the request's time is sent as
//! modified now (httpd's `ap_update_mtime` clamp).

use super::conditional::{self, Precondition, Validators};
use super::range::{self, RangeOutcome};
use super::{Request, Status, date};

/// What to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 304: the client's copy is current.
    NotModified,
    /// 412: a precondition failed.
    PreconditionFailed,
    /// 200 with the whole representation.
    Full,
    /// 206 with one range.
    Partial {
        /// First byte.
        start: u64,
        /// Bytes to send.
        len: u64,
    },
    /// 416.
    NotSatisfiable,
}

/// Decide the answer for a representation of `size` bytes with `validators`, at `now` (Unix
/// seconds).
pub fn answer(request: &Request<'_>, size: u64, validators: &Validators<'_>, now: i64) -> Answer {
    match conditional::evaluate(request, validators, now) {
        Precondition::Proceed => {}
        Precondition::NotModified => return Answer::NotModified,
        Precondition::Failed => return Answer::PreconditionFailed,
    }
    match range::evaluate(request, size, validators) {
        RangeOutcome::Full => Answer::Full,
        r @ RangeOutcome::Partial { start, .. } => Answer::Partial {
            start,
            len: r.len(),
        },
        RangeOutcome::NotSatisfiable => Answer::NotSatisfiable,
    }
}

/// The most fields [`Answer::fields`] gives.
pub const MAX_FIELDS: usize = 5;

/// Bytes the `Content-Range` scratch must hold.
pub const CONTENT_RANGE_LEN: usize = 64;

/// What an answer's fields are made from.
#[derive(Clone, Copy, Debug)]
pub struct Stored<'a> {
    /// The representation's length.
    pub size: u64,
    /// `Content-Type`, if known.
    pub content_type: Option<&'a [u8]>,
    /// The `ETag`, quotes included.
    pub etag: &'a [u8],
    /// Modification time, Unix seconds.
    pub modified: i64,
    /// `modified` as an HTTP-date, if the caller keeps it formatted (a cached file's is
    /// formatted once, not per request); `None` formats it here.
    pub modified_text: Option<&'a [u8; 29]>,
}

/// Scratch space for the formatted fields, owned by the caller.
#[derive(Clone, Copy, Debug)]
pub struct FieldText {
    last_modified: [u8; 29],
    content_range: [u8; CONTENT_RANGE_LEN],
    content_range_len: usize,
}

impl FieldText {
    /// Empty scratch.
    pub const fn new() -> FieldText {
        FieldText {
            last_modified: [0; 29],
            content_range: [0; CONTENT_RANGE_LEN],
            content_range_len: 0,
        }
    }
}

impl Default for FieldText {
    fn default() -> FieldText {
        FieldText::new()
    }
}

impl Answer {
    /// The status.
    pub const fn status(&self) -> Status {
        match self {
            Answer::NotModified => Status::NOT_MODIFIED,
            Answer::PreconditionFailed => Status::PRECONDITION_FAILED,
            Answer::Full => Status::OK,
            Answer::Partial { .. } => Status::PARTIAL_CONTENT,
            Answer::NotSatisfiable => Status::RANGE_NOT_SATISFIABLE,
        }
    }

    /// Whether the answer is an error page (412, 416) rather than the representation.
    pub const fn is_error(&self) -> bool {
        matches!(self, Answer::PreconditionFailed | Answer::NotSatisfiable)
    }

    /// The representation's bytes to send: `(start, len)`, or `None` for no body from it.
    pub const fn body(&self, size: u64) -> Option<(u64, u64)> {
        match *self {
            Answer::Full => Some((0, size)),
            Answer::Partial { start, len } => Some((start, len)),
            _ => None,
        }
    }

    /// The answer's fields (see the [module documentation](self)) into `out`, formatted in
    /// `text`; returns how many. `now` is the request's time, Unix seconds.
    pub fn fields<'t>(
        &self,
        stored: &Stored<'t>,
        now: i64,
        text: &'t mut FieldText,
        out: &mut [(&'static str, &'t [u8]); MAX_FIELDS],
    ) -> usize {
        // A modification time in the future is shown as now (httpd's ap_update_mtime).
        let kept = stored.modified_text.filter(|_| stored.modified <= now);
        if kept.is_none() {
            text.last_modified = date::format(stored.modified.min(now));
        }
        let range = match *self {
            Answer::Partial { start, len } => RangeOutcome::Partial {
                start,
                end: start + len - 1,
            },
            Answer::NotSatisfiable => RangeOutcome::NotSatisfiable,
            _ => RangeOutcome::Full,
        };
        // 64 bytes hold "bytes " and three 20-digit numbers.
        text.content_range_len = range
            .content_range(stored.size, &mut text.content_range)
            .unwrap_or(0);
        let text: &'t FieldText = text;
        let content_range = &text.content_range[..text.content_range_len];
        let last_modified: &'t [u8] = match kept {
            Some(t) => t,
            None => &text.last_modified,
        };
        let mut n = 0;
        let mut push = |name: &'static str, value: &'t [u8]| {
            out[n] = (name, value);
            n += 1;
        };
        match self {
            Answer::NotModified => {
                // httpd's default handler sets these three before it checks the conditions,
                // and a 304 keeps them (its Content-Length goes).
                push("Last-Modified", last_modified);
                push("ETag", stored.etag);
                push("Accept-Ranges", b"bytes");
            }
            Answer::PreconditionFailed => {}
            Answer::NotSatisfiable => push("Content-Range", content_range),
            Answer::Full | Answer::Partial { .. } => {
                if let Some(t) = stored.content_type {
                    push("Content-Type", t);
                }
                push("Last-Modified", last_modified);
                push("ETag", stored.etag);
                push("Accept-Ranges", b"bytes");
                if matches!(self, Answer::Partial { .. }) {
                    push("Content-Range", content_range);
                }
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{Limits, parse};

    const ETAG: &[u8] = b"\"400-5f0\"";
    const MODIFIED: i64 = 1_700_000_000;
    const NOW: i64 = 1_800_000_000;

    fn run(head: &str) -> (Answer, std::vec::Vec<(&'static str, std::string::String)>) {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let req = parse(head.as_bytes(), &Limits::DEFAULT, &mut headers).unwrap();
        let v = Validators {
            etag: Some(ETAG),
            last_modified: Some(MODIFIED),
        };
        let a = answer(&req, 1024, &v, NOW);
        let stored = Stored {
            size: 1024,
            content_type: Some(b"text/plain"),
            etag: ETAG,
            modified: MODIFIED,
            modified_text: None,
        };
        let mut text = FieldText::new();
        let mut out = [("", &b""[..]); MAX_FIELDS];
        let n = a.fields(&stored, NOW, &mut text, &mut out);
        let fields = out[..n]
            .iter()
            .map(|(k, v)| (*k, std::string::String::from_utf8_lossy(v).into_owned()))
            .collect();
        (a, fields)
    }

    #[test]
    fn each_answer_with_its_status_and_fields() {
        let lm = "Tue, 14 Nov 2023 22:13:20 GMT";
        let (a, f) = run("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            (a, a.status().code(), a.body(1024)),
            (Answer::Full, 200, Some((0, 1024)))
        );
        let names: std::vec::Vec<_> = f.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            ["Content-Type", "Last-Modified", "ETag", "Accept-Ranges"]
        );
        assert_eq!(f[1].1, lm);

        let (a, f) = run("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n");
        assert_eq!(a, Answer::Partial { start: 10, len: 10 });
        assert_eq!(a.status().code(), 206);
        assert_eq!(f[4], ("Content-Range", "bytes 10-19/1024".into()));

        let (a, f) = run("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"400-5f0\"\r\n\r\n");
        assert_eq!((a.status().code(), a.body(1024)), (304, None));
        assert_eq!(
            f,
            [
                ("Last-Modified", lm.into()),
                ("ETag", "\"400-5f0\"".into()),
                ("Accept-Ranges", "bytes".into())
            ]
        );

        let (a, _) = run(
            "GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n",
        );
        assert_eq!(a, Answer::NotModified);

        let (a, f) = run("GET / HTTP/1.1\r\nHost: x\r\nIf-Match: \"other\"\r\n\r\n");
        assert_eq!((a.status().code(), a.is_error(), f.len()), (412, true, 0));

        let (a, f) = run("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=2000-\r\n\r\n");
        assert_eq!((a.status().code(), a.is_error()), (416, true));
        assert_eq!(f, [("Content-Range", "bytes */1024".into())]);

        // HEAD has no ranges: the whole representation's fields.
        let (a, _) = run("HEAD / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n");
        assert_eq!(a, Answer::Full);
    }

    #[test]
    fn last_modified_is_never_in_the_future() {
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let req = parse(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            &Limits::DEFAULT,
            &mut headers,
        )
        .unwrap();
        let stored = Stored {
            size: 1,
            content_type: None,
            etag: ETAG,
            modified: NOW + 100,
            // A text kept for a future time is not shown either.
            modified_text: Some(&date::format(NOW + 100)),
        };
        let a = answer(&req, 1, &Validators::default(), NOW);
        let mut text = FieldText::new();
        let mut out = [("", &b""[..]); MAX_FIELDS];
        let n = a.fields(&stored, NOW, &mut text, &mut out);
        assert_eq!(out[..n][0], ("Last-Modified", &date::format(NOW)[..]));
    }

    #[test]
    fn a_kept_last_modified_text_is_used_as_it_is() {
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let req = parse(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            &Limits::DEFAULT,
            &mut headers,
        )
        .unwrap();
        // Not the HTTP-date of `modified`: shows the text is taken, not formatted anew.
        let kept = *b"Sat, 01 Jan 2000 00:00:00 GMT";
        let stored = Stored {
            size: 1,
            content_type: None,
            etag: ETAG,
            modified: MODIFIED,
            modified_text: Some(&kept),
        };
        let a = answer(&req, 1, &Validators::default(), NOW);
        let mut text = FieldText::new();
        let mut out = [("", &b""[..]); MAX_FIELDS];
        let n = a.fields(&stored, NOW, &mut text, &mut out);
        assert_eq!(out[..n][0], ("Last-Modified", &kept[..]));
    }
}
