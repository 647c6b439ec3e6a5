//! The CGI header-block parser (`eventmpm::cgi::headers::scan`): what a script writes before its
//! body.
//!
//! Input: two settings bytes (a run of filler inserted into the first line, so lines and blocks
//! reach the 8 KiB and 64 KiB bounds from short inputs), up to 8 split points, then the script's
//! output.
//!
//! Properties:
//! - the answer depends only on the bytes, not on how the pipe split them: every prefix of the
//!   output is `Partial` or has the whole output's answer (the exchange scans after every read);
//! - a complete block ends with its empty line within the output and scans the same on its own;
//!   end of file changes nothing about a complete or malformed block, and turns `Partial` into
//!   "ended";
//! - the fields kept are tokens with values free of control bytes (no response splitting), none
//!   of them one the server writes itself; a status is a final code;
//! - every error message is one line.
#![no_main]

use eventmpm::cgi::headers::{HeadError, Scan, ScriptHead, scan};
use eventmpm_core::http1::Status;
use eventmpm_fuzz::{Settings, place};
use libfuzzer_sys::fuzz_target;

const OWNED: [&str; 9] = [
    "date",
    "server",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let filler = usize::from(s.u16());
    let cuts = s.cuts(8);
    let raw = s.rest();
    // The filler goes after the first colon (inside a value), else at the start.
    let at = raw.iter().position(|&b| b == b':').map_or(0, |i| i + 1);
    let mut out = Vec::with_capacity(raw.len() + filler);
    out.extend_from_slice(&raw[..at]);
    out.resize(at + filler, b'x');
    out.extend_from_slice(&raw[at..]);

    let cuts = place(&cuts, out.len());
    let whole = scan(&out, false);
    let at_eof = scan(&out, true);
    match &whole {
        Scan::Complete(head, n) => {
            assert!(*n >= 1 && *n <= out.len());
            let block = &out[..*n];
            assert!(block.ends_with(b"\n\n") || block.ends_with(b"\n\r\n") || *n <= 2);
            assert_eq!(scan(block, false), whole);
            assert_eq!(at_eof, whole);
            check_head(head);
        }
        Scan::Error(e) => {
            assert_eq!(at_eof, whole);
            check_error(e);
        }
        Scan::Partial => match &at_eof {
            Scan::Error(e @ HeadError::Ended { .. }) => check_error(e),
            other => panic!("Partial became {other:?} at end of file"),
        },
    }
    for &cut in &cuts {
        let early = scan(&out[..cut], false);
        assert!(
            early == Scan::Partial || early == whole,
            "the first {cut} bytes scan as {}, all {} as {}",
            brief(&early),
            out.len(),
            brief(&whole)
        );
    }
});

fn check_head(head: &ScriptHead) {
    if let Some((status, reason)) = &head.status {
        assert!((200..=599).contains(&status.code()), "{status:?}");
        if let Some(r) = reason {
            assert!(!r.is_empty());
            assert!(!r.bytes().any(|b| b == b'\r' || b == b'\n'));
        }
    }
    let clean = |v: &[u8]| !v.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
    for v in [&head.location, &head.content_type].into_iter().flatten() {
        assert!(clean(v));
    }
    for (name, value) in &head.fields {
        assert!(!name.is_empty());
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b))
        );
        assert!(
            !OWNED.contains(&name.to_ascii_lowercase().as_str()),
            "{name} passed through"
        );
        assert!(clean(value), "{name}: {value:?}");
    }
    // A redirect needs a Location and a 200: the script's Status, else the status the request
    // already has (200, or an error document's error, which a Location alone does not undo).
    if head.redirect(Status::OK).is_some() {
        assert!(head.location.is_some());
    }
    if head.redirect(Status::NOT_FOUND).is_some() {
        assert!(head.location.is_some() && head.status() == Status::OK);
    }
}

fn check_error(e: &HeadError) {
    let m = e.message("x.cgi");
    assert!(
        !m.is_empty() && !m.contains('\n') && !m.contains('\r'),
        "{m:?}"
    );
}

/// An answer without the fields (which may be 64 KiB long), for assertion messages.
fn brief(scan: &Scan) -> String {
    match scan {
        Scan::Complete(head, n) => format!("Complete({} fields, {n} bytes)", head.fields.len()),
        other => format!("{other:?}"),
    }
}
