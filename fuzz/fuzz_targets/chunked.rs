//! The chunked body decoder (`http1::chunked::Decoder`).
//!
//! Input: 5 settings bytes (limits, read and buffer sizes), then the bytes after a request head.
//!
//! Properties:
//! - a call never produces more than it consumed, nor consumes more than it was given, and with
//!   input and room left it always makes progress (or has ended);
//! - the body never holds more bytes than were fed, nor more than `LimitRequestBody`;
//! - decoding in small reads into a small buffer gives the same body, outcome and end as one call;
//! - an error repeats on every later call;
//! - a body that decoded is re-encoded with other chunk sizes and decodes to the same bytes.
#![no_main]

use eventmpm_core::http1::Limits;
use eventmpm_core::http1::chunked::{BodyError, Decoder, Progress};
use eventmpm_fuzz::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let kind = s.u8();
    let limits = if kind & 1 == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            request_line: 8190,
            field_size: 1 + u32::from(s.u8() % 64),
            fields: u32::from(s.u8() % 4),
            body: u64::from(s.u8()) * 3,
        }
    };
    let read = 1 + usize::from(s.u8() % 32);
    let room = 1 + usize::from(s.u8() % 32);
    let wire = s.rest();

    let (whole, body) = decode_at_once(wire, &limits);
    let (pieces, body_in_pieces) = decode_in_pieces(wire, &limits, read, room);
    assert_eq!(
        whole, pieces,
        "the outcome depends on how the body was read"
    );
    assert_eq!(body, body_in_pieces);
    assert!(body.len() <= wire.len());
    if let Ok(p) = whole {
        assert!(limits.body_allows(body.len() as u64));
        if p.done {
            round_trip(&body, kind, read);
        }
    }
});

/// One call with room for everything: the outcome (the total progress when no error) and the body.
fn decode_at_once(wire: &[u8], limits: &Limits) -> (Result<Progress, BodyError>, Vec<u8>) {
    let mut d = Decoder::new(limits);
    let mut out = vec![0u8; wire.len()];
    let r = d.decode(wire, &mut out);
    match r {
        Ok(p) => {
            check_call(&p, wire.len(), out.len());
            assert_eq!(p.done, d.is_done());
            if p.done {
                assert_eq!(
                    d.body_len(),
                    p.produced as u64,
                    "every announced byte arrived"
                );
            } else {
                // All input was used up (the output had room for all of it).
                assert_eq!(p.consumed, wire.len());
            }
            out.truncate(p.produced);
        }
        Err(e) => {
            out.clear();
            check_error(&mut d, e);
        }
    }
    (r, out)
}

/// Many calls, each given at most `read` new bytes and `room` bytes of buffer.
fn decode_in_pieces(
    wire: &[u8],
    limits: &Limits,
    read: usize,
    room: usize,
) -> (Result<Progress, BodyError>, Vec<u8>) {
    let mut d = Decoder::new(limits);
    let mut body = Vec::new();
    let mut at = 0;
    let mut buf = vec![0u8; room];
    // Each round consumes or produces at least one byte, or ends.
    for _ in 0..=2 * wire.len() + 2 {
        let chunk = &wire[at..wire.len().min(at + read)];
        match d.decode(chunk, &mut buf) {
            Ok(p) => {
                check_call(&p, chunk.len(), room);
                body.extend_from_slice(&buf[..p.produced]);
                at += p.consumed;
                if p.done {
                    assert_eq!(d.body_len(), body.len() as u64);
                    return (
                        Ok(Progress {
                            consumed: at,
                            produced: body.len(),
                            done: true,
                        }),
                        body,
                    );
                }
                if at == wire.len() && p.produced < room {
                    return (
                        Ok(Progress {
                            consumed: at,
                            produced: body.len(),
                            done: false,
                        }),
                        body,
                    );
                }
                assert!(
                    p.consumed > 0 || p.produced > 0,
                    "no progress with input and room left"
                );
            }
            Err(e) => {
                check_error(&mut d, e);
                return (Err(e), Vec::new());
            }
        }
    }
    panic!("the decoder did not finish within its bound");
}

fn check_call(p: &Progress, given: usize, room: usize) {
    assert!(p.consumed <= given);
    assert!(p.produced <= room);
    assert!(p.produced <= p.consumed, "produced more than it was fed");
}

fn check_error(d: &mut Decoder, e: BodyError) {
    let code = e.status().code();
    assert!(matches!(code, 400 | 413 | 431), "{e:?} is {code}");
    assert_eq!(
        d.decode(b"0\r\n\r\n", &mut [0u8; 8]),
        Err(e),
        "errors repeat"
    );
    assert!(!d.is_done());
}

/// Encodes `body` in chunks sized from `seed`, with an extension and a trailer, and decodes it.
fn round_trip(body: &[u8], seed: u8, read: usize) {
    let mut wire = Vec::new();
    let mut rest = body;
    let mut size = 1 + usize::from(seed % 17);
    while !rest.is_empty() {
        let n = size.min(rest.len());
        wire.extend_from_slice(format!("{n:X}").as_bytes());
        if seed & 2 != 0 {
            wire.extend_from_slice(b" ;ext=\"v\"");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&rest[..n]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        size = size * 2 + 1;
    }
    wire.extend_from_slice(b"0\r\n");
    if seed & 4 != 0 {
        wire.extend_from_slice(b"X-Checksum: 1\r\n");
    }
    wire.extend_from_slice(b"\r\nGET / HTTP/1.1\r\n");
    let limits = Limits {
        body: 0,
        ..Limits::DEFAULT
    };
    let (whole, decoded) = decode_at_once(&wire, &limits);
    let p = whole.expect("a well-formed body decodes");
    assert!(p.done);
    assert_eq!(p.consumed, wire.len() - b"GET / HTTP/1.1\r\n".len());
    assert_eq!(decoded, body);
    let (pieces, decoded) = decode_in_pieces(&wire, &limits, read, 7);
    assert_eq!(pieces, Ok(p));
    assert_eq!(decoded, body);
}
