//! Finding the end of a request head as its bytes arrive.
//!
//! The listener calls [`ScanState::scan`] after every read into a connection's buffer. The state
//! remembers how far the previous call looked, so each byte is examined once however the head is
//! split across reads: a client trickling a head one byte per packet costs O(head) in total
//! instead of a full re-parse per byte (hyper#3764). Only when the head is complete does a worker
//! [`parse`](super::parse) it.
//!
//! The scan knows lines, not HTTP: it finds line ends (CRLF; a bare LF is refused, see
//! [`HeadError::BareLf`]), skips the empty lines a client may send before the request line, and
//! enforces the size limits early, while the head is still partial, so a client cannot make the
//! server buffer a head it will refuse anyway. An HTTP/0.9 simple request (`GET /path`) is a head
//! of one line.

use super::lines::{crlf_line, find_lf, strip_cr};
use super::request_line::is_simple_request;
use super::token::is_tchar;
use super::{HeadError, Limits};

/// How many empty lines may precede the request line: httpd's `DEFAULT_LIMIT_BLANK_LINES`.
/// RFC 9112 §2.2 asks servers to skip "at least one"; a bound keeps a stream of CRLFs from
/// holding a connection open forever.
pub const MAX_EMPTY_LINES: u32 = 10;

/// The outcome of one [`ScanState::scan`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// The head ends after `head_len` bytes of the buffer (including any empty lines before the
    /// request line and the final empty line). Bytes after it are a body or a pipelined request.
    Complete {
        /// Length of the head from the start of the buffer.
        head_len: usize,
    },
    /// No end yet: read more and call again with the longer buffer.
    Partial,
    /// The head can never be acceptable; answer with [`HeadError::status`] and close.
    Error(HeadError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the request line: lines so far were empty.
    Start { empty_lines: u32 },
    /// After the request line: field lines until an empty one.
    Fields { count: u32 },
    /// The head ended here; further calls repeat the answer.
    Done { head_len: usize },
}

/// Progress of the end-of-head scan over one connection's buffer.
///
/// The slice passed to [`ScanState::scan`] must start at the first byte of the head and only grow
/// between calls; offsets into it are remembered. After [`Scan::Complete`] the caller consumes the
/// head and calls [`ScanState::reset`]; a pipelined request already in the buffer is scanned by
/// passing the slice that starts after the previous head (no need to move the bytes first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanState {
    /// Bytes of the buffer already searched for LF.
    examined: usize,
    /// Where the current (unfinished) line starts.
    line_start: usize,
    phase: Phase,
}

impl Default for ScanState {
    fn default() -> ScanState {
        ScanState::new()
    }
}

impl ScanState {
    /// A scan that has seen nothing yet.
    pub const fn new() -> ScanState {
        ScanState {
            examined: 0,
            line_start: 0,
            phase: Phase::Start { empty_lines: 0 },
        }
    }

    /// Forget everything, for the next request on the connection.
    pub fn reset(&mut self) {
        *self = ScanState::new();
    }

    /// Look at the bytes added to `filled` since the last call.
    ///
    /// `filled` is the buffer's content from the start of the head; `capacity` is the buffer's
    /// full size: when `filled` reaches it without an end, the head is too large for this
    /// connection ([`HeadError::HeadTooLarge`], or [`HeadError::RequestLineTooLong`] while the
    /// request line is unfinished).
    ///
    /// Errors, all decided as soon as the offending bytes arrive:
    /// - a request line longer than `limits.request_line`: 414;
    /// - a field line longer than `limits.field_size`: 431 (httpd: 400);
    /// - more than `limits.fields` field lines: 431 (httpd: 400);
    /// - a request line that does not start with a method character (a TLS handshake on the
    ///   plain port, stray whitespace): 400;
    /// - more than [`MAX_EMPTY_LINES`] empty lines before the request line: 400;
    /// - a line that ends in a bare LF: 400.
    ///
    /// The answer depends only on the bytes, not on how they were split across calls.
    #[doc(alias = "read_request_line")]
    #[doc(alias = "ap_rgetline")]
    pub fn scan(&mut self, filled: &[u8], capacity: usize, limits: &Limits) -> Scan {
        if filled.len() < self.examined {
            // The caller replaced the buffer without a reset; start over rather than trust
            // offsets into bytes that are gone (or report a head longer than the buffer).
            self.reset();
        }
        if let Phase::Done { head_len } = self.phase {
            return Scan::Complete { head_len };
        }

        // Each round consumes one complete line; the number of rounds is bounded by the LFs in
        // the new bytes, and each byte is searched once.
        while let Some(rest) = filled.get(self.examined..) {
            let Some(i) = find_lf(rest) else {
                self.examined = filled.len();
                break;
            };
            let lf = self.examined + i;
            let next = lf + 1;
            self.examined = next;
            let raw = filled.get(self.line_start..lf).unwrap_or(&[]);
            self.line_start = next;
            match self.phase {
                Phase::Start { empty_lines } => {
                    let line = strip_cr(raw);
                    if !line.is_empty()
                        && let Err(e) = check_request_line(line, limits)
                    {
                        return Scan::Error(e);
                    }
                    if crlf_line(raw).is_none() {
                        return Scan::Error(HeadError::BareLf);
                    }
                    if !line.is_empty() {
                        if is_simple_request(line) {
                            self.phase = Phase::Done { head_len: next };
                            return Scan::Complete { head_len: next };
                        }
                        self.phase = Phase::Fields { count: 0 };
                    } else if empty_lines >= MAX_EMPTY_LINES {
                        return Scan::Error(HeadError::TooManyEmptyLines);
                    } else {
                        self.phase = Phase::Start {
                            empty_lines: empty_lines + 1,
                        };
                    }
                }
                Phase::Fields { count } => {
                    // Length before line ending, as for the request line and for a field line
                    // still arriving: the answer must not depend on where the bytes were split.
                    if strip_cr(raw).len() > limits.field_size as usize {
                        return Scan::Error(HeadError::FieldTooLong);
                    }
                    let Some(line) = crlf_line(raw) else {
                        return Scan::Error(HeadError::BareLf);
                    };
                    if line.is_empty() {
                        self.phase = Phase::Done { head_len: next };
                        return Scan::Complete { head_len: next };
                    }
                    let count = count.saturating_add(1);
                    if !limits.fields_allow(count) {
                        return Scan::Error(HeadError::TooManyFields);
                    }
                    self.phase = Phase::Fields { count };
                }
                Phase::Done { head_len } => return Scan::Complete { head_len },
            }
        }

        // The unfinished last line: refuse it now if it is already too long. A trailing CR may
        // yet be the first half of CRLF, so it does not count.
        let partial = strip_cr(filled.get(self.line_start..).unwrap_or(&[]));
        let full = filled.len() >= capacity;
        match self.phase {
            Phase::Start { .. } => {
                if !partial.is_empty() {
                    if let Err(e) = check_request_line(partial, limits) {
                        return Scan::Error(e);
                    }
                    if full {
                        return Scan::Error(HeadError::RequestLineTooLong);
                    }
                }
                if full {
                    return Scan::Error(HeadError::TooManyEmptyLines);
                }
            }
            Phase::Fields { .. } => {
                if partial.len() > limits.field_size as usize {
                    return Scan::Error(HeadError::FieldTooLong);
                }
                if full {
                    return Scan::Error(HeadError::HeadTooLarge);
                }
            }
            Phase::Done { head_len } => return Scan::Complete { head_len },
        }
        Scan::Partial
    }

    #[cfg(test)]
    fn examined(&self) -> usize {
        self.examined
    }
}

/// The checks a request line (complete, or the start of one) must pass: the same for both, so
/// the verdict does not depend on where a read split the line.
fn check_request_line(line: &[u8], limits: &Limits) -> Result<(), HeadError> {
    // A method starts with a token character. Anything else — whitespace (httpd refuses it too),
    // or the 0x16 of a TLS ClientHello sent to the plain-text port — is refused at once instead
    // of being buffered up to the line limit.
    if line.first().is_some_and(|&b| !is_tchar(b)) {
        return Err(HeadError::BadRequestLine);
    }
    if line.len() > limits.request_line as usize {
        return Err(HeadError::RequestLineTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    const HEAD: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

    fn scan_all(bytes: &[u8], limits: &Limits) -> Scan {
        ScanState::new().scan(bytes, 1 << 20, limits)
    }

    /// Feeds `bytes` in pieces ending at `cuts`, returning the first non-partial answer.
    fn scan_split(bytes: &[u8], cuts: &[usize], capacity: usize, limits: &Limits) -> Scan {
        let mut state = ScanState::new();
        let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
        ends.push(bytes.len());
        ends.sort_unstable();
        for end in ends {
            match state.scan(&bytes[..end], capacity, limits) {
                Scan::Partial => {
                    assert_eq!(state.examined(), end, "every new byte searched once");
                }
                other => return other,
            }
        }
        Scan::Partial
    }

    #[test]
    fn finds_crlf_ends_and_refuses_bare_lf() {
        let l = Limits::default();
        assert_eq!(
            scan_all(HEAD, &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
        let lf = b"GET / HTTP/1.1\nHost: a\n\nBODY";
        assert_eq!(scan_all(lf, &l), Scan::Error(HeadError::BareLf));
        let mixed = b"GET / HTTP/1.1\r\nHost: a\n\r\nnext";
        assert_eq!(scan_all(mixed, &l), Scan::Error(HeadError::BareLf));
        let end = b"GET / HTTP/1.1\r\nHost: a\r\n\n";
        assert_eq!(scan_all(end, &l), Scan::Error(HeadError::BareLf));
        assert_eq!(
            scan_all(b"\nGET / HTTP/1.1\r\n", &l),
            Scan::Error(HeadError::BareLf)
        );
        // Refused as soon as the LF arrives, before the head could end.
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nHost: a\nX", &l),
            Scan::Error(HeadError::BareLf)
        );
        // A request line alone is not a head.
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\n", &l), Scan::Partial);
        assert_eq!(scan_all(b"", &l), Scan::Partial);
    }

    #[test]
    fn a_simple_request_is_a_one_line_head() {
        let l = Limits::default();
        assert_eq!(
            scan_all(b"GET /a\r\nHost: x\r\n\r\n", &l),
            Scan::Complete { head_len: 8 }
        );
        assert_eq!(
            scan_all(b"\r\nGET /a\r\n", &l),
            Scan::Complete { head_len: 10 }
        );
        assert_eq!(scan_all(b"GET /a", &l), Scan::Partial);
        assert_eq!(scan_all(b"GET /a\n", &l), Scan::Error(HeadError::BareLf));
        // Whatever the method: the parser says which simple requests are acceptable.
        assert_eq!(scan_all(b"POST /a\r\n", &l), Scan::Complete { head_len: 9 });
    }

    #[test]
    fn repeats_complete_until_reset() {
        let l = Limits::default();
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(HEAD, 4096, &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
        assert_eq!(
            s.scan(HEAD, 4096, &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
        s.reset();
        assert_eq!(s.scan(b"GET", 4096, &l), Scan::Partial);
        // Without a reset, a shorter buffer is scanned afresh, never answered with the old end.
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(HEAD, 4096, &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
        assert_eq!(
            s.scan(b"GET / HTTP/1.0\r\n\r\n", 4096, &l),
            Scan::Complete { head_len: 18 }
        );
    }

    #[test]
    fn skips_a_bounded_number_of_empty_lines() {
        let l = Limits::default();
        let mut head = Vec::new();
        for _ in 0..MAX_EMPTY_LINES {
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        // Eleven empty lines: one too many, whatever follows.
        assert_eq!(
            scan_all(&head, &l),
            Scan::Error(HeadError::TooManyEmptyLines)
        );
        head.truncate(head.len() - 2);
        head.extend_from_slice(HEAD);
        assert_eq!(
            scan_all(&head, &l),
            Scan::Complete {
                head_len: head.len()
            }
        );
    }

    #[test]
    fn request_line_limit_is_exact_and_early() {
        let mut l = Limits::DEFAULT;
        l.request_line = 20;
        let ok = b"GET /0123456 HTTP/1.1\r\n\r\n"; // 21 bytes of line
        assert_eq!(scan_all(ok, &l), Scan::Error(HeadError::RequestLineTooLong));
        l.request_line = 21;
        assert!(matches!(scan_all(ok, &l), Scan::Complete { .. }));
        // Still partial, already too long: refused before the line ends.
        l.request_line = 8;
        assert_eq!(
            scan_all(b"GET /abcdef", &l),
            Scan::Error(HeadError::RequestLineTooLong)
        );
        // Exactly at the limit plus a CR that may become CRLF: keep waiting.
        assert_eq!(scan_all(b"GET /abc\r", &l), Scan::Partial);
    }

    #[test]
    fn field_limits_are_early() {
        let mut l = Limits::DEFAULT;
        l.field_size = 10;
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nX: 1234567\r\n\r\n", &l),
            Scan::Complete { head_len: 30 }
        );
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nX: 12345678\r\n\r\n", &l),
            Scan::Error(HeadError::FieldTooLong)
        );
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nX: 12345678", &l),
            Scan::Error(HeadError::FieldTooLong)
        );
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nX: 1234567\r", &l),
            Scan::Partial
        );

        let mut l = Limits::DEFAULT;
        l.fields = 2;
        assert!(matches!(
            scan_all(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", &l),
            Scan::Complete { .. }
        ));
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n", &l),
            Scan::Error(HeadError::TooManyFields)
        );
        l.fields = 0;
        assert!(matches!(
            scan_all(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &l),
            Scan::Complete { .. }
        ));
    }

    #[test]
    fn a_full_buffer_is_refused() {
        let l = Limits::default();
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\nHost: a\r\nX: y", 29, &l),
            Scan::Error(HeadError::HeadTooLarge)
        );
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(b"GET /aaaaaaa", 12, &l),
            Scan::Error(HeadError::RequestLineTooLong)
        );
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(b"\r\n\r\n", 4, &l),
            Scan::Error(HeadError::TooManyEmptyLines)
        );
        // A head that ends exactly at the buffer's end is complete, not too large.
        let mut s = ScanState::new();
        assert_eq!(
            s.scan(HEAD, HEAD.len(), &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
    }

    #[test]
    fn garbage_before_the_method_is_refused_at_once() {
        let l = Limits::default();
        // The first bytes of a TLS ClientHello.
        assert_eq!(
            scan_all(b"\x16\x03\x01\x02\x00", &l),
            Scan::Error(HeadError::BadRequestLine)
        );
        assert_eq!(
            scan_all(b" GET / HTTP/1.1\r\n", &l),
            Scan::Error(HeadError::BadRequestLine)
        );
        assert_eq!(
            scan_all(b"\r\n\r\n\tGET", &l),
            Scan::Error(HeadError::BadRequestLine)
        );
    }

    #[test]
    fn a_shrunk_buffer_restarts_the_scan() {
        let l = Limits::default();
        let mut s = ScanState::new();
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nHost:", 4096, &l), Scan::Partial);
        assert_eq!(
            s.scan(HEAD, 4096, &l),
            Scan::Complete {
                head_len: HEAD.len()
            }
        );
        let mut s = ScanState::new();
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nHost:", 4096, &l), Scan::Partial);
        assert_eq!(s.scan(b"GET", 4096, &l), Scan::Partial);
        assert_eq!(s.examined(), 3);
    }

    /// A valid head built from parts, and where it ends.
    fn valid_head() -> impl Strategy<Value = (Vec<u8>, usize)> {
        (
            0..=MAX_EMPTY_LINES as usize,
            "[A-Z]{1,7}",
            "/[a-z0-9/._?=&%-]{0,40}",
            proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,30}"), 0..12),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(empty, method, target, fields, body)| {
                let mut head = Vec::new();
                for _ in 0..empty {
                    head.extend_from_slice(b"\r\n");
                }
                head.extend_from_slice(format!("{method} {target} HTTP/1.1\r\n").as_bytes());
                for (name, value) in fields {
                    head.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
                }
                head.extend_from_slice(b"\r\n");
                let len = head.len();
                head.extend_from_slice(&body);
                (head, len)
            })
    }
    use std::format;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        #[test]
        fn any_split_finds_the_same_end(
            (bytes, len) in valid_head(),
            cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            let l = Limits::default();
            prop_assert_eq!(scan_split(&bytes, &cuts, 1 << 16, &l), Scan::Complete { head_len: len });
        }
    }

    /// Found by the property below on a qemu-user run: a field line too long for
    /// LimitRequestFieldSize that ends in a bare LF was refused as a bare LF when it arrived
    /// whole, and as too long when its start arrived first. Length now comes first either way.
    #[test]
    fn a_long_field_with_a_bare_lf_is_too_long_however_it_arrives() {
        let l = Limits {
            request_line: 3,
            field_size: 0,
            fields: 0,
            body: 0,
        };
        let bytes = b"A\r\r\r\nAAAA\n";
        let whole = ScanState::new().scan(bytes, 10, &l);
        assert_eq!(whole, Scan::Error(HeadError::FieldTooLong));
        assert_eq!(scan_split(bytes, &[6], 10, &l), whole);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(160))]

        #[test]
        fn arbitrary_bytes_never_panic_and_split_does_not_matter(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'A'), Just(b' '), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            capacity in 1usize..256,
            request_line in 0u32..40,
            field_size in 0u32..40,
            fields in 0u32..6,
        ) {
            let l = Limits { request_line, field_size, fields, body: 0 };
            let bytes = &bytes[..bytes.len().min(capacity)];
            let whole = ScanState::new().scan(bytes, capacity, &l);
            prop_assert_eq!(scan_split(bytes, &cuts, capacity, &l), whole);
        }
    }
}
