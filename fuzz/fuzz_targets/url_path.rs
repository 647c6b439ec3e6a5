//! URL-path normalisation (`http1::path::normalize`) and the runtime's mapping of its output to a
//! file beneath the DocumentRoot (`eventmpm::site::relative_path`, and the segment walk CGI
//! does).
//!
//! Input: one settings byte (the output buffer's size), then a request target, used both as a
//! path directly and as the target of a request line (so absolute-form targets, whose path the
//! parser extracts, are covered too).
//!
//! Properties — no path escapes the document root:
//! - an accepted path starts with `/`, has no `.`, `..` or empty segment (but a final empty one,
//!   a trailing slash), and no NUL; it is never longer than the raw path;
//! - it equals what an independent reading of the rules gives (decode each segment, refuse
//!   `%2F`, `%00` and bad escapes, resolve dot-segments on a stack, refuse climbing above `/`),
//!   so `%2e%2e` and friends are `..` like any other and are resolved or refused;
//! - an output buffer as long as the raw path always suffices, and a shorter one either gives
//!   the same answer or `TooLong`;
//! - the runtime's file path is relative, made only of plain names (no `..`, no root), so it
//!   stays beneath any root it is joined to; each segment CGI pushes is one plain name.
#![no_main]

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use eventmpm::site::relative_path;
use eventmpm_core::http1::path::{PathError, normalize};
use eventmpm_core::http1::{Limits, parse};
use eventmpm_fuzz::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let small = usize::from(s.u8() % 64);
    let raw = s.rest();
    check(raw, small);

    // The same bytes as a request target: the parser's idea of the path goes to the normaliser.
    let mut head = b"GET ".to_vec();
    head.extend_from_slice(raw);
    head.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut headers = [httparse::EMPTY_HEADER; 4];
    if let Ok(req) = parse(&head, &Limits::DEFAULT, &mut headers) {
        check(req.target().path().as_bytes(), small);
    }
});

fn check(raw: &[u8], small: usize) {
    let path_len = raw.iter().position(|&b| b == b'?').unwrap_or(raw.len());
    let mut out = vec![0u8; raw.len().max(1)];
    let result = normalize(raw, &mut out).map(|n| out[..n].to_vec());
    assert_eq!(result, model(raw), "{:?}", String::from_utf8_lossy(raw));

    let mut short = vec![0u8; small];
    match normalize(raw, &mut short) {
        Ok(n) => assert_eq!(Ok(short[..n].to_vec()), result),
        // Running out of room is only allowed where the path is longer than the buffer (the
        // output may grow before a `..` shrinks it).
        Err(PathError::TooLong) => assert!(small < path_len.max(1)),
        Err(e) => assert_eq!(result, Err(e)),
    }

    let Ok(path) = result else {
        return;
    };
    assert!(path.len() <= path_len.max(1));
    assert_eq!(path.first(), Some(&b'/'));
    assert!(!path.contains(&0));
    let segments: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
    for (i, seg) in segments.iter().enumerate() {
        assert!(*seg != b"." && *seg != b"..", "a dot-segment survived");
        assert!(
            !seg.is_empty() || i + 1 == segments.len(),
            "an empty segment"
        );
    }

    // The runtime's side: the file it opens, and the segments the CGI lookup walks.
    let rel = relative_path(&path);
    assert!(rel.is_relative());
    assert!(
        rel.components().all(|c| matches!(c, Component::Normal(_))),
        "{rel:?} has a component that is not a plain name"
    );
    let root = Path::new("/srv/www");
    let joined = root.join(rel);
    assert!(joined.starts_with(root));
    assert_eq!(
        joined.components().count(),
        root.components().count() + rel.components().count()
    );
    for seg in segments.iter().filter(|s| !s.is_empty()) {
        let seg = Path::new(std::ffi::OsStr::from_bytes(seg));
        let mut c = seg.components();
        assert!(matches!(c.next(), Some(Component::Normal(_))));
        assert!(c.next().is_none());
    }
}

/// The rules, read independently: percent-decode each raw segment (bad escape, `%2F`, NUL are
/// refused where met, left to right), then `.` is dropped, `..` pops (refused at the root), empty
/// segments merge; every kept segment but a final one is followed by `/`.
fn model(raw: &[u8]) -> Result<Vec<u8>, PathError> {
    let path = raw.split(|&b| b == b'?').next().unwrap_or(b"");
    let Some(rest) = path.strip_prefix(b"/") else {
        return Err(PathError::NotAbsolute);
    };
    let raw_segments: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
    let last = raw_segments.len() - 1;
    let mut stack: Vec<(Vec<u8>, bool)> = Vec::new();
    for (i, seg) in raw_segments.iter().enumerate() {
        let mut decoded = Vec::new();
        let mut j = 0;
        while j < seg.len() {
            let b = if seg[j] == b'%' {
                let hex = seg
                    .get(j + 1..j + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err(PathError::BadEscape);
                };
                j += 3;
                b
            } else {
                j += 1;
                seg[j - 1]
            };
            match b {
                b'/' => return Err(PathError::EncodedSlash),
                0 => return Err(PathError::Nul),
                _ => decoded.push(b),
            }
        }
        match &decoded[..] {
            b"" | b"." => {}
            b".." => {
                if stack.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
            }
            _ => stack.push((decoded, i != last)),
        }
    }
    let mut out = vec![b'/'];
    for (seg, slash) in stack {
        out.extend_from_slice(&seg);
        if slash {
            out.push(b'/');
        }
    }
    Ok(out)
}
