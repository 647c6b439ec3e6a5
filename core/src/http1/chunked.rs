//! Decoding a chunked request body (RFC 9112 §7.1) as it arrives.
//!
//! [`Decoder::decode`] takes whatever bytes the socket produced and writes the body's data into
//! the caller's buffer, stopping when either runs out; it can be resumed at any byte boundary.
//! Chunk data is copied in bulk; only the short framing lines go byte by byte.
//!
//! Framing is strict, like httpd's chunk parser with `HttpProtocolOptions Strict`: every line ends
//! in CRLF (a bare LF is refused here, unlike in the head, because chunk framing is where
//! smuggling attacks hide), chunk sizes are hex digits, extensions may not hold control bytes, and
//! up to the line limit of whitespace may follow the size (the RFC 7230 erratum httpd honours).
//! Extensions are skipped and trailer fields are checked and discarded.

use core::fmt;

use super::token::is_tchar;
use super::{Limits, Status};

/// What one [`Decoder::decode`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Progress {
    /// Input bytes used; the rest of the input was not looked at (or, once `done`, belongs to
    /// the next request on the connection).
    pub consumed: usize,
    /// Body bytes written to the front of the output.
    pub produced: usize,
    /// The last chunk and the trailer section have been read: the body is complete.
    pub done: bool,
}

/// Why a chunked body was refused. The connection cannot continue after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyError {
    /// A chunk-size line is not `hex [ws] [; extensions] CRLF`: 400.
    BadChunkSize,
    /// Chunk data is not followed by CRLF, or the body does not end with CRLF: 400.
    BadChunkEnd,
    /// A chunk-size line is longer than `LimitRequestFieldSize`: 413, as httpd answers
    /// (its line parser's `APR_ENOSPC`).
    ChunkLineTooLong,
    /// The chunk extensions of the whole body exceed `LimitRequestFieldSize` bytes: 413. A client
    /// could otherwise make the server parse unbounded extension bytes for a one-byte body (hyper
    /// and h11 cap them the same way).
    ExtensionsTooLong,
    /// A chunk size overflows 64 bits, or the body grows past `LimitRequestBody`: 413.
    TooLarge,
    /// A trailer field is malformed or folded: 400.
    BadTrailer,
    /// More trailer fields than `LimitRequestFields`: 431.
    TooManyTrailers,
    /// A trailer field line longer than `LimitRequestFieldSize`: 431.
    TrailerTooLong,
}

impl BodyError {
    /// The response status for this error.
    pub const fn status(&self) -> Status {
        match self {
            BodyError::BadChunkSize | BodyError::BadChunkEnd | BodyError::BadTrailer => {
                Status::BAD_REQUEST
            }
            BodyError::ChunkLineTooLong | BodyError::ExtensionsTooLong | BodyError::TooLarge => {
                Status::REQUEST_ENTITY_TOO_LARGE
            }
            BodyError::TooManyTrailers | BodyError::TrailerTooLong => {
                Status::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
        }
    }

    /// A short explanation for the error log.
    pub const fn reason(&self) -> &'static str {
        match self {
            BodyError::BadChunkSize => "invalid chunk size line",
            BodyError::BadChunkEnd => "chunk data not followed by CRLF",
            BodyError::ChunkLineTooLong => "chunk size line exceeds LimitRequestFieldSize",
            BodyError::ExtensionsTooLong => "chunk extensions exceed LimitRequestFieldSize",
            BodyError::TooLarge => "chunked body exceeds LimitRequestBody",
            BodyError::BadTrailer => "malformed trailer field",
            BodyError::TooManyTrailers => "number of trailer fields exceeds LimitRequestFields",
            BodyError::TrailerTooLong => "trailer field exceeds LimitRequestFieldSize",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().code())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting the first hex digit of a chunk size.
    SizeStart,
    Size,
    /// Whitespace after the size, before `;` or CR.
    SizeSpace,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
    Failed(BodyError),
}

/// An incremental chunked-body decoder for one request.
#[derive(Clone, Copy, Debug)]
pub struct Decoder {
    state: State,
    /// The chunk size being read, then the bytes of it still to copy.
    remaining: u64,
    /// Data bytes announced so far, checked against `LimitRequestBody`.
    total: u64,
    /// Bytes of the current size or trailer line (without CRLF).
    line_len: u32,
    /// Extension bytes of all chunks so far.
    extension_bytes: u32,
    trailers: u32,
    limits: Limits,
}

impl Decoder {
    /// A decoder at the start of a body, enforcing `limits` (`field_size` for lines and
    /// extensions, `fields` for trailers, `body` for the data).
    pub fn new(limits: &Limits) -> Decoder {
        Decoder {
            state: State::SizeStart,
            remaining: 0,
            total: 0,
            line_len: 0,
            extension_bytes: 0,
            trailers: 0,
            limits: *limits,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes announced by the chunks read so far.
    pub fn body_len(&self) -> u64 {
        self.total
    }

    /// Decodes from `input` into `output` until the input is used up, the output is full, or the
    /// body ends. After an error every later call returns the same error.
    pub fn decode(&mut self, input: &[u8], output: &mut [u8]) -> Result<Progress, BodyError> {
        self.run(input, Some(output))
    }

    /// As [`decode`](Self::decode), dropping the data instead of copying it out: for a body no
    /// handler reads (`ap_discard_request_body`). `produced` counts the data bytes skipped.
    #[doc(alias = "ap_discard_request_body")]
    pub fn skip(&mut self, input: &[u8]) -> Result<Progress, BodyError> {
        self.run(input, None)
    }

    /// The decoding loop; `output` is `None` when the data is dropped.
    fn run(&mut self, input: &[u8], mut output: Option<&mut [u8]>) -> Result<Progress, BodyError> {
        let mut consumed = 0;
        let mut produced = 0;
        // Each round consumes at least one input byte or ends the call, so the loop runs at most
        // input.len() + 1 times.
        loop {
            match self.state {
                State::Done => break,
                State::Failed(e) => return Err(e),
                State::Data => {
                    let input_left = input.get(consumed..).unwrap_or(&[]);
                    let room = match &output {
                        Some(out) => out.len().saturating_sub(produced),
                        None => usize::MAX,
                    };
                    let n = input_left
                        .len()
                        .min(room)
                        .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                    if n == 0 {
                        break;
                    }
                    if let Some(out) = output.as_deref_mut()
                        && let (Some(src), Some(dst)) =
                            (input_left.get(..n), out.get_mut(produced..produced + n))
                    {
                        dst.copy_from_slice(src);
                    }
                    consumed += n;
                    produced += n;
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                }
                _ => {
                    let Some(&b) = input.get(consumed) else {
                        break;
                    };
                    consumed += 1;
                    if let Err(e) = self.step(b) {
                        self.state = State::Failed(e);
                        return Err(e);
                    }
                }
            }
        }
        Ok(Progress {
            consumed,
            produced,
            done: self.state == State::Done,
        })
    }

    /// Advances the framing state by one byte outside chunk data.
    fn step(&mut self, b: u8) -> Result<(), BodyError> {
        match self.state {
            State::SizeStart => {
                let d = hex_value(b).ok_or(BodyError::BadChunkSize)?;
                self.remaining = d;
                self.line_len = 1;
                self.state = State::Size;
            }
            State::Size => {
                self.count_line_byte(b, BodyError::ChunkLineTooLong)?;
                if let Some(d) = hex_value(b) {
                    self.remaining = self
                        .remaining
                        .checked_mul(16)
                        .and_then(|n| n.checked_add(d))
                        .ok_or(BodyError::TooLarge)?;
                } else {
                    self.state = self.after_size(b)?;
                }
            }
            State::SizeSpace => {
                self.count_line_byte(b, BodyError::ChunkLineTooLong)?;
                self.state = self.after_size(b)?;
            }
            State::Extension => {
                self.count_line_byte(b, BodyError::ChunkLineTooLong)?;
                match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\t' | 0x20..=0x7e | 0x80..=0xff => {
                        self.extension_bytes = self.extension_bytes.saturating_add(1);
                        if self.extension_bytes > self.limits.field_size {
                            return Err(BodyError::ExtensionsTooLong);
                        }
                    }
                    _ => return Err(BodyError::BadChunkSize),
                }
            }
            State::SizeLf => {
                if b != b'\n' {
                    return Err(BodyError::BadChunkSize);
                }
                if self.remaining == 0 {
                    self.state = State::TrailerStart;
                } else {
                    // Checked when the chunk is announced, before any of its data is accepted.
                    self.total = self
                        .total
                        .checked_add(self.remaining)
                        .ok_or(BodyError::TooLarge)?;
                    if !self.limits.body_allows(self.total) {
                        return Err(BodyError::TooLarge);
                    }
                    self.state = State::Data;
                }
            }
            State::DataCr => {
                self.state = if b == b'\r' {
                    State::DataLf
                } else {
                    return Err(BodyError::BadChunkEnd);
                };
            }
            State::DataLf => {
                self.state = if b == b'\n' {
                    State::SizeStart
                } else {
                    return Err(BodyError::BadChunkEnd);
                };
            }
            State::TrailerStart => {
                if b == b'\r' {
                    self.state = State::EndLf;
                } else if is_tchar(b) {
                    self.trailers = self.trailers.saturating_add(1);
                    if !self.limits.fields_allow(self.trailers) {
                        return Err(BodyError::TooManyTrailers);
                    }
                    self.line_len = 1;
                    self.state = State::TrailerName;
                } else {
                    // Includes a line starting with whitespace (obs-fold).
                    return Err(BodyError::BadTrailer);
                }
            }
            State::TrailerName => {
                self.count_line_byte(b, BodyError::TrailerTooLong)?;
                if b == b':' {
                    self.state = State::TrailerValue;
                } else if !is_tchar(b) {
                    return Err(BodyError::BadTrailer);
                }
            }
            State::TrailerValue => {
                self.count_line_byte(b, BodyError::TrailerTooLong)?;
                match b {
                    b'\r' => self.state = State::TrailerLf,
                    b'\t' | 0x20..=0x7e | 0x80..=0xff => {}
                    _ => return Err(BodyError::BadTrailer),
                }
            }
            State::TrailerLf => {
                self.state = if b == b'\n' {
                    State::TrailerStart
                } else {
                    return Err(BodyError::BadTrailer);
                };
            }
            State::EndLf => {
                self.state = if b == b'\n' {
                    State::Done
                } else {
                    return Err(BodyError::BadChunkEnd);
                };
            }
            // Handled by `decode` without a byte-by-byte step.
            State::Data | State::Done | State::Failed(_) => {}
        }
        Ok(())
    }

    /// The state after a byte that ends the hex digits of a chunk size.
    fn after_size(&self, b: u8) -> Result<State, BodyError> {
        match b {
            b' ' | b'\t' => Ok(State::SizeSpace),
            b';' => Ok(State::Extension),
            b'\r' => Ok(State::SizeLf),
            _ => Err(BodyError::BadChunkSize),
        }
    }

    /// Counts a byte of the current line against `LimitRequestFieldSize` (the CR of CRLF is not
    /// part of the line).
    fn count_line_byte(&mut self, b: u8, too_long: BodyError) -> Result<(), BodyError> {
        if b != b'\r' {
            self.line_len = self.line_len.saturating_add(1);
            if self.line_len > self.limits.field_size {
                return Err(too_long);
            }
        }
        Ok(())
    }
}

fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate std;
    use std::format;
    use std::vec::Vec;

    /// Decodes `input` in one call with a large output buffer.
    fn decode_all(input: &[u8], limits: &Limits) -> Result<(Vec<u8>, Progress), BodyError> {
        let mut d = Decoder::new(limits);
        let mut out = std::vec![0u8; input.len()];
        let p = d.decode(input, &mut out)?;
        out.truncate(p.produced);
        Ok((out, p))
    }

    fn err(input: &[u8]) -> BodyError {
        decode_all(input, &Limits::default()).unwrap_err()
    }

    #[test]
    fn decodes_a_body_and_stops_at_its_end() {
        let input =
            b"4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nGET /";
        let (body, p) = decode_all(input, &Limits::default()).unwrap();
        assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
        assert!(p.done);
        assert_eq!(p.consumed, input.len() - 5);
    }

    #[test]
    fn skip_drops_the_data_and_finds_the_same_end() {
        let input =
            b"4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nGET /";
        let mut d = Decoder::new(&Limits::default());
        let p = d.skip(input).unwrap();
        assert_eq!(
            (p.consumed, p.produced, p.done),
            (input.len() - 5, 23, true)
        );
        // Byte by byte, the same.
        let mut d = Decoder::new(&Limits::default());
        let mut consumed = 0;
        for b in input.chunks(1) {
            let p = d.skip(b).unwrap();
            consumed += p.consumed;
            if p.done {
                break;
            }
        }
        assert_eq!(consumed, input.len() - 5);
        let mut d = Decoder::new(&Limits::default());
        assert_eq!(d.skip(b"5\nhello\n0\n\n"), Err(BodyError::BadChunkSize));
    }

    #[test]
    fn trailers_extensions_and_whitespace() {
        let input = b"3 ;a=\"b c\"\t;d\r\nabc\r\n000\r\nX-Sum: 1\r\nY:\r\n\r\n";
        let (body, p) = decode_all(input, &Limits::default()).unwrap();
        assert_eq!((body.as_slice(), p.done), (&b"abc"[..], true));
        let (body, _) = decode_all(b"A\r\n0123456789\r\n0\r\n\r\n", &Limits::default()).unwrap();
        assert_eq!(body, b"0123456789");
    }

    #[test]
    fn bad_framing_is_400() {
        for (input, e) in [
            (&b"\r\n"[..], BodyError::BadChunkSize),
            (b"x\r\n", BodyError::BadChunkSize),
            (b"-1\r\n", BodyError::BadChunkSize),
            (b"1\n", BodyError::BadChunkSize),
            (b"1 2\r\n", BodyError::BadChunkSize),
            (b"1\rx", BodyError::BadChunkSize),
            (b"1;a\x01\r\n", BodyError::BadChunkSize),
            (b"1;a\n", BodyError::BadChunkSize),
            (b"1\r\nab", BodyError::BadChunkEnd),
            (b"1\r\na\n", BodyError::BadChunkEnd),
            (b"1\r\na\rx", BodyError::BadChunkEnd),
            (b"0\r\n\rx", BodyError::BadChunkEnd),
            (b"0\r\n\n", BodyError::BadTrailer),
            (b"0\r\n X: 1\r\n\r\n", BodyError::BadTrailer),
            (b"0\r\nX 1\r\n\r\n", BodyError::BadTrailer),
            (b"0\r\nX: a\x00\r\n\r\n", BodyError::BadTrailer),
            (b"0\r\nX: a\n\r\n", BodyError::BadTrailer),
        ] {
            assert_eq!(
                err(input),
                e,
                "{:?}",
                std::string::String::from_utf8_lossy(input)
            );
            assert_eq!(e.status().code(), 400);
        }
    }

    #[test]
    fn limits() {
        let limits = Limits {
            body: 10,
            ..Limits::default()
        };
        // 10 bytes in two chunks fit; an eleventh is refused when its chunk is announced.
        let ok = b"5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n";
        assert_eq!(decode_all(ok, &limits).unwrap().0, b"1234567890");
        let over = b"5\r\n12345\r\n6\r\n";
        assert_eq!(decode_all(over, &limits).unwrap_err(), BodyError::TooLarge);
        assert_eq!(BodyError::TooLarge.status().code(), 413);
        let unlimited = Limits {
            body: 0,
            ..Limits::default()
        };
        let mut d = Decoder::new(&unlimited);
        let p = d.decode(b"fffffffffffffff0\r\n", &mut []).unwrap();
        assert_eq!((p.consumed, d.body_len()), (18, 0xffff_ffff_ffff_fff0));
        assert_eq!(
            decode_all(b"10000000000000000\r\n", &unlimited).unwrap_err(),
            BodyError::TooLarge
        );

        let limits = Limits {
            field_size: 8,
            fields: 1,
            ..Limits::default()
        };
        assert!(decode_all(b"00000001\r\nx\r\n0\r\n\r\n", &limits).is_ok());
        assert_eq!(
            decode_all(b"000000001\r\n", &limits).unwrap_err(),
            BodyError::ChunkLineTooLong
        );
        assert_eq!(
            decode_all(b"1;aaaaaaa\r\n", &limits).unwrap_err(),
            BodyError::ChunkLineTooLong
        );
        // Short extensions on every chunk add up.
        let many = b"1;aaaa\r\nx\r\n1;bbbb\r\nx\r\n1;c\r\nx\r\n0\r\n\r\n";
        assert_eq!(
            decode_all(many, &limits).unwrap_err(),
            BodyError::ExtensionsTooLong
        );
        assert!(decode_all(b"0\r\nA: 12345\r\n\r\n", &limits).is_ok());
        assert_eq!(
            decode_all(b"0\r\nA: 123456\r\n\r\n", &limits).unwrap_err(),
            BodyError::TrailerTooLong
        );
        assert_eq!(
            decode_all(b"0\r\nA: 1\r\nB: 2\r\n\r\n", &limits).unwrap_err(),
            BodyError::TooManyTrailers
        );
        assert_eq!(BodyError::TooManyTrailers.status().code(), 431);
    }

    #[test]
    fn output_space_and_errors_are_sticky() {
        let mut d = Decoder::new(&Limits::default());
        let input = b"6\r\nabcdef\r\n0\r\n\r\n";
        let mut out = [0u8; 4];
        let p = d.decode(input, &mut out).unwrap();
        assert_eq!((p.consumed, p.produced, p.done), (7, 4, false));
        let p2 = d.decode(&input[7..], &mut out).unwrap();
        assert_eq!((p2.produced, p2.done), (2, true));
        assert_eq!(&out[..2], b"ef");
        assert!(d.is_done());
        assert_eq!(
            d.decode(b"more", &mut out).unwrap(),
            Progress {
                consumed: 0,
                produced: 0,
                done: true
            }
        );

        let mut d = Decoder::new(&Limits::default());
        assert_eq!(d.decode(b"z", &mut out), Err(BodyError::BadChunkSize));
        assert_eq!(
            d.decode(b"0\r\n\r\n", &mut out),
            Err(BodyError::BadChunkSize)
        );
    }

    /// A valid chunked encoding of `body`, cut into chunks of the given sizes, with optional
    /// extensions and trailers.
    fn encode(body: &[u8], sizes: &[usize], ext: bool, trailers: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
            let (chunk, tail) = rest.split_at(n);
            out.extend_from_slice(format!("{n:X}").as_bytes());
            if ext {
                out.extend_from_slice(b" ; e=1");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            rest = tail;
        }
        out.extend_from_slice(b"0\r\n");
        for i in 0..trailers {
            out.extend_from_slice(format!("T-{i}: v\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_split_decodes_to_the_same_bytes(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            sizes in proptest::collection::vec(1usize..70, 1..6),
            ext in any::<bool>(),
            trailers in 0usize..3,
            cuts in proptest::collection::vec(0usize..400, 0..10),
            out_size in 1usize..64,
        ) {
            let encoded = encode(&body, &sizes, ext, trailers);
            let mut stream = encoded.clone();
            stream.extend_from_slice(b"NEXT");
            let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(stream.len())).collect();
            ends.push(stream.len());
            ends.sort_unstable();

            let mut d = Decoder::new(&Limits::default());
            let mut decoded = Vec::new();
            let mut at = 0;
            let mut out = std::vec![0u8; out_size];
            let mut done = false;
            for end in ends {
                // Drain each piece: the output may fill before the piece is used up.
                for _ in 0..=stream.len() {
                    let p = d.decode(&stream[at..end], &mut out).unwrap();
                    decoded.extend_from_slice(&out[..p.produced]);
                    at += p.consumed;
                    done = p.done;
                    if done || (p.consumed == 0 && p.produced == 0) {
                        break;
                    }
                }
                if done {
                    break;
                }
            }
            prop_assert!(done);
            prop_assert_eq!(decoded, body);
            prop_assert_eq!(at, encoded.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(160))]

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'0'), Just(b'1'), Just(b';'), any::<u8>()],
                0..200),
            out_size in 0usize..32,
        ) {
            let limits = Limits { request_line: 8190, field_size: 12, fields: 2, body: 64 };
            let mut d = Decoder::new(&limits);
            let mut out = std::vec![0u8; out_size];
            let mut at = 0;
            for _ in 0..=bytes.len() {
                match d.decode(&bytes[at..], &mut out) {
                    Ok(p) => {
                        prop_assert!(p.produced <= out_size);
                        at += p.consumed;
                        if p.done || (p.consumed == 0 && p.produced == 0) { break; }
                    }
                    Err(_) => break,
                }
            }
        }
    }
}
