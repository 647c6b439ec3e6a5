//! From a request target's path to a path that is safe to append to a document root.
//!
//! [`normalize`] percent-decodes, resolves `.` and `..`, merges repeated slashes and refuses
//! anything that could step outside the root or smuggle a separator past a later check. It does
//! what httpd's `ap_normalize_path` and `ap_unescape_url` do for a request (with `MergeSlashes On`
//! and `AllowEncodedSlashes Off`), in one pass into the caller's buffer.
//!
//! Decoding happens before dot-segments are resolved, so `%2e%2e` is a `..` like any other (the
//! confusion behind CVE-2021-41773 cannot arise), and since encoded slashes and NULs are refused
//! the decoded bytes cannot form a new separator.

use core::fmt;

use super::Status;

/// Why a path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathError {
    /// The path does not start with `/` (an asterisk-form or authority-form target): 400.
    NotAbsolute,
    /// `%` not followed by two hex digits: 400 (httpd's `ap_unescape_url`: `HTTP_BAD_REQUEST`).
    BadEscape,
    /// `%2F` in the path: 404, as httpd answers with `AllowEncodedSlashes Off` (AH00026: "found
    /// %2f (encoded '/') in URI path, returning 404").
    EncodedSlash,
    /// `%00`, or a raw NUL: 404, as httpd's `ap_unescape_url` answers (a file name cannot hold
    /// one, so there is nothing to find).
    Nul,
    /// `..` would climb above the root: 400 (httpd's `ap_normalize_path` fails the same way).
    AboveRoot,
    /// The decoded path does not fit the output buffer: 414.
    TooLong,
}

impl PathError {
    /// The response status for this error.
    pub const fn status(&self) -> Status {
        match self {
            PathError::NotAbsolute | PathError::BadEscape | PathError::AboveRoot => {
                Status::BAD_REQUEST
            }
            PathError::EncodedSlash | PathError::Nul => Status::NOT_FOUND,
            PathError::TooLong => Status::REQUEST_URI_TOO_LONG,
        }
    }

    /// A short explanation for the error log.
    pub const fn reason(&self) -> &'static str {
        match self {
            PathError::NotAbsolute => "request path does not start with /",
            PathError::BadEscape => "invalid percent-encoding in request path",
            PathError::EncodedSlash => "found %2f (encoded '/') in URI path, returning 404",
            PathError::Nul => "found %00 (encoded NUL) in URI path, returning 404",
            PathError::AboveRoot => "request path climbs above the root",
            PathError::TooLong => "decoded request path exceeds the path buffer",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().code())
    }
}

/// Writes the decoded, normalised form of `raw` into `out` and returns its length.
///
/// `raw` is a request target's path; anything from the first `?` on (the query) is ignored, so
/// a whole origin-form target may be passed. The result starts with `/`, has no empty, `.` or `..`
/// segments, keeps a trailing `/` (which names a directory; a final `.` or `..` also leaves one,
/// as RFC 3986 §5.2.4 does), and may hold any byte but NUL and `/` within a segment — file names
/// are bytes, not UTF-8. An output buffer as long as the path
/// always suffices: decoding only shrinks it.
///
/// ```
/// # use eventmpm_core::http1::path::normalize;
/// let mut out = [0u8; 64];
/// let n = normalize(b"/a//b/./c/../%64%2e%74xt?q=1", &mut out).unwrap();
/// assert_eq!(&out[..n], b"/a/b/d.txt");
/// ```
pub fn normalize(raw: &[u8], out: &mut [u8]) -> Result<usize, PathError> {
    let path = match raw.iter().position(|&b| b == b'?') {
        Some(q) => raw.get(..q).unwrap_or(&[]),
        None => raw,
    };
    let Some((b'/', mut rest)) = path.split_first() else {
        return Err(PathError::NotAbsolute);
    };
    let mut len = 0;
    put(out, &mut len, b'/')?;

    // One segment per round; each byte of `path` is decoded once, and each `..` removes at most
    // the bytes the previous segments wrote, so the whole call is linear in the path's length.
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        let (segment, tail) = rest.split_at(end);
        let has_slash = !tail.is_empty();
        rest = tail.get(1..).unwrap_or(&[]);

        let start = len;
        decode_segment(segment, out, &mut len)?;
        let decoded = out.get(start..len).unwrap_or(&[]);
        match decoded {
            // `//` merges into one slash.
            b"" => {}
            b"." => len = start,
            b".." => {
                // `out[..start]` ends with the slash before this segment; drop the segment before
                // it, keeping that segment's own leading slash.
                let before = out.get(..start.saturating_sub(1)).unwrap_or(&[]);
                match before.iter().rposition(|&b| b == b'/') {
                    Some(slash) => len = slash + 1,
                    None => return Err(PathError::AboveRoot),
                }
            }
            _ => {
                if has_slash {
                    put(out, &mut len, b'/')?;
                }
            }
        }
    }
    Ok(len)
}

/// Percent-decodes one segment (no raw `/` in it) onto `out[*len..]`.
fn decode_segment(segment: &[u8], out: &mut [u8], len: &mut usize) -> Result<(), PathError> {
    let mut i = 0;
    while let Some(&b) = segment.get(i) {
        let byte = if b == b'%' {
            let hi = segment.get(i + 1).and_then(|&h| hex(h));
            let lo = segment.get(i + 2).and_then(|&l| hex(l));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadEscape);
            };
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            b
        };
        match byte {
            b'/' => return Err(PathError::EncodedSlash),
            0 => return Err(PathError::Nul),
            _ => put(out, len, byte)?,
        }
    }
    Ok(())
}

fn put(out: &mut [u8], len: &mut usize, b: u8) -> Result<(), PathError> {
    let slot = out.get_mut(*len).ok_or(PathError::TooLong)?;
    *slot = b;
    *len += 1;
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    fn norm(raw: &str) -> Result<std::string::String, PathError> {
        let mut out = [0u8; 256];
        let n = normalize(raw.as_bytes(), &mut out)?;
        Ok(std::string::String::from_utf8_lossy(&out[..n]).into_owned())
    }

    #[test]
    fn resolves_dots_and_slashes() {
        for (raw, want) in [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a/b/", "/a/b/"),
            ("//a///b//", "/a/b/"),
            ("/a/./b/.", "/a/b/"),
            ("/a/./b/./", "/a/b/"),
            ("/a/b/../c", "/a/c"),
            ("/a/b/..", "/a/"),
            ("/a/b/../", "/a/"),
            ("/a/..", "/"),
            ("/a/../", "/"),
            ("/..a/b..", "/..a/b.."),
            ("/.../x", "/.../x"),
            ("/a/b/../../c", "/c"),
            ("/a//..//b", "/b"),
            ("/a/b?x=/../..", "/a/b"),
            ("/%61%62c", "/abc"),
            ("/a%2e%2e/b", "/a../b"),
            ("/a/%2e%2E/b", "/b"),
            ("/a/%2e/b", "/a/b"),
            ("/caf%C3%A9", "/caf\u{e9}"),
            ("/a%20b", "/a b"),
        ] {
            assert_eq!(norm(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn refuses_what_httpd_refuses() {
        for (raw, e, code) in [
            ("/..", PathError::AboveRoot, 400),
            ("/../a", PathError::AboveRoot, 400),
            ("/a/../..", PathError::AboveRoot, 400),
            ("/a/../../b", PathError::AboveRoot, 400),
            ("/%2e%2e/etc/passwd", PathError::AboveRoot, 400),
            ("/a%2Fb", PathError::EncodedSlash, 404),
            ("/a%2f..%2f..", PathError::EncodedSlash, 404),
            ("/a%00b", PathError::Nul, 404),
            ("/a%", PathError::BadEscape, 400),
            ("/a%4", PathError::BadEscape, 400),
            ("/a%zz", PathError::BadEscape, 400),
            ("/a%%41", PathError::BadEscape, 400),
            ("a/b", PathError::NotAbsolute, 400),
            ("*", PathError::NotAbsolute, 400),
            ("", PathError::NotAbsolute, 400),
        ] {
            assert_eq!(norm(raw), Err(e), "{raw}");
            assert_eq!(e.status().code(), code);
        }
        let mut out = [0u8; 4];
        assert_eq!(normalize(b"/abcd", &mut out), Err(PathError::TooLong));
        assert_eq!(normalize(b"/abc", &mut out), Ok(4));
        assert_eq!(normalize(b"/a\0b", &mut out), Err(PathError::Nul));
    }

    proptest! {
        #[test]
        fn output_is_always_safe(raw in proptest::collection::vec(
            prop_oneof![Just(b'/'), Just(b'.'), Just(b'%'), Just(b'2'), Just(b'e'), Just(b'f'),
                        Just(b'a'), any::<u8>()], 0..60)) {
            let mut out = std::vec![0u8; raw.len() + 1];
            if let Ok(n) = normalize(&raw, &mut out) {
                let p = &out[..n];
                prop_assert_eq!(p.first(), Some(&b'/'));
                prop_assert!(!p.contains(&0));
                let segments: Vec<&[u8]> = p.split(|&b| b == b'/').skip(1).collect();
                for (i, s) in segments.iter().enumerate() {
                    prop_assert!(*s != b"." && *s != b"..");
                    // Only the last segment may be empty (a trailing slash).
                    prop_assert!(!s.is_empty() || i + 1 == segments.len());
                }
                prop_assert!(n <= raw.len().max(1));
                // Normalising again changes nothing, unless the decoded bytes hold a `%`.
                if !p.contains(&b'%') && !p.contains(&b'?') {
                    let mut again = std::vec![0u8; n];
                    prop_assert_eq!(normalize(p, &mut again), Ok(n));
                    prop_assert_eq!(&again[..], p);
                }
            }
        }
    }
}
