//! The request-head scanner and parser (`http1::scan`, `http1::parse`).
//!
//! Input: 8 settings bytes (limits, buffer capacity, header slots), up to 8 split points, then the
//! bytes a client sent.
//!
//! Properties:
//! - the scan's answer depends only on the bytes, not on how reads split them: scanning piece by
//!   piece answers, after every piece, what a fresh scan of the same prefix answers;
//! - a complete head ends in LF within the bytes, and the answer repeats until a reset;
//! - a head the scan calls complete is never `Incomplete` to the parser, and a parsed head ends
//!   exactly where the scan said;
//! - every part of a parsed request is a slice of the input, within the configured limits;
//! - `parse` on the raw bytes (without a scan first) is safe too, with the same guarantees;
//! - a request it accepts as HTTP/1.0 or 1.1, httparse's own request parser reads the same way
//!   (method, target, fields): the request line is parsed here, not by httparse, and a proxy in
//!   front built on httparse must not see another request in the same bytes.
#![no_main]

use eventmpm_core::http1::{
    BodyFraming, HeadError, Header, Limits, Request, Scan, ScanState, TargetForm, parse,
};
use eventmpm_fuzz::{Settings, place};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let kind = s.u8();
    let limits = if kind & 1 == 0 {
        Limits::DEFAULT
    } else {
        // Small limits, so the fuzzer reaches every limit with short inputs.
        Limits {
            request_line: 4 + u32::from(s.u8()),
            field_size: 2 + u32::from(s.u8()),
            fields: u32::from(s.u8() % 12),
            body: u64::from(s.u8()) * 7,
        }
    };
    let slack = usize::from(s.u8() % 16);
    let slots = usize::from(s.u8() % 24);
    let cuts = s.cuts(8);
    let bytes = s.rest();
    let cuts = place(&cuts, bytes.len());
    let capacity = bytes.len() + slack;

    let answer = scan_in_pieces(bytes, &cuts, capacity, &limits);
    match answer {
        Scan::Complete { head_len } => {
            assert!(head_len >= 1 && head_len <= bytes.len());
            assert_eq!(
                bytes[head_len - 1],
                b'\n',
                "a head ends with its empty line"
            );
            let mut headers = vec![httparse::EMPTY_HEADER; slots];
            let parsed = parse(&bytes[..head_len], &limits, &mut headers);
            match &parsed {
                Ok(req) => {
                    assert_eq!(
                        req.head_len(),
                        head_len,
                        "scan and parse disagree on the end"
                    );
                    check_request(req, &bytes[..head_len], &limits, slots);
                }
                Err(e) => {
                    assert_ne!(*e, HeadError::Incomplete, "the scan said complete");
                    check_error(*e);
                }
            }
        }
        Scan::Error(e) => check_error(e),
        Scan::Partial => {}
    }

    // The parser alone, on everything (it must not rely on the scan having run).
    let mut headers = vec![httparse::EMPTY_HEADER; slots];
    match parse(bytes, &limits, &mut headers) {
        Ok(req) => {
            check_request(&req, bytes, &limits, slots);
            same_as_httparse(&req, bytes);
        }
        Err(e) => check_error(e),
    }
});

/// httparse reads an accepted HTTP/1.0 or 1.1 head as we do.
fn same_as_httparse(req: &Request<'_>, bytes: &[u8]) {
    let head = &bytes[..req.head_len()];
    let line_start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line = head
        .get(line_start..)
        .and_then(|l| l.split(|&b| b == b'\n').next());
    let literal_version = line.is_some_and(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        l.ends_with(b" HTTP/1.0") || l.ends_with(b" HTTP/1.1")
    });
    if !literal_version {
        return;
    }
    let mut fields = vec![httparse::EMPTY_HEADER; req.headers().len()];
    let mut theirs = httparse::Request::new(&mut fields);
    match theirs.parse(head) {
        Ok(httparse::Status::Complete(n)) => assert_eq!(n, head.len(), "httparse ends elsewhere"),
        other => panic!("httparse refuses what we accept: {other:?}"),
    }
    assert_eq!(theirs.method, Some(req.method().as_str()));
    assert_eq!(theirs.path, Some(req.target().raw()));
    assert_eq!(theirs.headers.len(), req.headers().len());
    for (a, b) in theirs.headers.iter().zip(req.headers()) {
        assert_eq!((a.name, a.value), (b.name, b.value));
    }
}

/// Scans `bytes` in pieces ending at `cuts` (then the rest), checking each answer against a fresh
/// scan of the same prefix; returns the first answer that is not `Partial`.
fn scan_in_pieces(bytes: &[u8], cuts: &[usize], capacity: usize, limits: &Limits) -> Scan {
    let mut state = ScanState::new();
    for &end in cuts.iter().chain(Some(&bytes.len())) {
        let prefix = &bytes[..end];
        let answer = state.scan(prefix, capacity, limits);
        let fresh = ScanState::new().scan(prefix, capacity, limits);
        assert_eq!(answer, fresh, "the split changed the answer at {end}");
        match answer {
            Scan::Partial => continue,
            Scan::Complete { .. } => {
                // Repeats until reset, even with more bytes.
                assert_eq!(state.scan(bytes, capacity, limits), answer);
                return answer;
            }
            Scan::Error(_) => return answer,
        }
    }
    Scan::Partial
}

fn check_error(e: HeadError) {
    if e == HeadError::Incomplete {
        return;
    }
    let code = e.status().code();
    assert!(
        (400..=505).contains(&code) && code != 500,
        "{e:?} is {code}"
    );
    assert!(!e.reason().is_empty());
}

/// Whether `part` lies within `whole` (by address: the request borrows from the input).
fn within(part: &[u8], whole: &[u8]) -> bool {
    let (start, end) = (
        whole.as_ptr() as usize,
        whole.as_ptr() as usize + whole.len(),
    );
    let p = part.as_ptr() as usize;
    part.is_empty() || (p >= start && p + part.len() <= end)
}

fn check_request(req: &Request<'_>, head: &[u8], limits: &Limits, slots: usize) {
    assert!(req.head_len() <= head.len());
    let head = &head[..req.head_len()];
    assert_eq!(head.last(), Some(&b'\n'));

    let target = req.target();
    assert!(within(target.raw().as_bytes(), head));
    assert!(!target.raw().is_empty());
    assert!(!target.raw().contains('#'), "fragments are refused");
    assert!(target.raw().len() <= limits.request_line as usize);
    if let Some(q) = target.query() {
        assert!(within(q.as_bytes(), target.raw().as_bytes()));
    }
    match target.form() {
        TargetForm::Origin => {
            assert!(target.path().starts_with('/'));
            assert!(within(target.path().as_bytes(), target.raw().as_bytes()));
        }
        TargetForm::Absolute => {
            assert!(target.path().starts_with('/'));
            assert!(
                within(target.path().as_bytes(), target.raw().as_bytes()) || target.path() == "/"
            );
            let authority = target
                .authority()
                .expect("an absolute target has an authority");
            assert!(!authority.is_empty());
            assert_eq!(req.host(), Some(authority));
        }
        TargetForm::Authority => assert!(target.authority().is_some()),
        TargetForm::Asterisk => assert_eq!(target.raw(), "*"),
    }
    assert!(within(req.method().as_str().as_bytes(), head) || is_known(req));

    let fields: &[Header<'_>] = req.headers();
    assert!(fields.len() <= slots);
    if limits.fields != 0 {
        assert!(fields.len() <= limits.fields as usize);
    }
    for h in fields {
        assert!(within(h.name.as_bytes(), head));
        assert!(within(h.value, head));
        assert!(!h.name.is_empty());
        // The line holds the name, the colon and the value at least.
        assert!(h.name.len() + 1 + h.value.len() <= limits.field_size as usize);
        assert!(!h.value.contains(&b'\n'));
    }
    if let Some(host) = req.host() {
        assert!(within(host.as_bytes(), head));
    }
    if let BodyFraming::Length(n) = req.body() {
        assert!(limits.body_allows(n));
    }
    // The queries the runtime makes.
    let _ = (req.keep_alive(), req.expects_continue(), req.connection());
    let _ = req.header("content-type");
    assert!(
        req.header_values("host").count() <= 1,
        "several Host fields are refused"
    );
}

/// Known methods are returned as static names, not slices of the input.
fn is_known(req: &Request<'_>) -> bool {
    !matches!(req.method(), eventmpm_core::http1::Method::Other(_))
}
