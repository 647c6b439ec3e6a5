//! Finding line ends fast: the head scan and the request-line parser look for LF on every request.
//! Every line of a request head must end in CRLF.

/// The index of the first `\n` in `hay`.
///
/// Eight bytes per step with the classic SWAR zero-byte test, so a head is searched at several
/// bytes per cycle without `unsafe` or a `memchr` dependency. The lowest flagged byte is always a
/// real match (false positives only appear above a true zero byte), which is the one we want.
pub(crate) fn find_lf(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = ONES * b'\n' as u64;

    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word) ^ LFS;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

/// The content of a line found before an LF: `line` without its CR, or `None` if the line ended
/// in a bare LF.
///
/// RFC 9112 §2.2 lets a recipient accept a bare LF; httpd's default `HttpProtocolOptions Strict`
/// refuses it with 400, and so does eventmpm. A proxy in front that does not split lines at a bare
/// LF would see `X: a\nTransfer-Encoding: chunked` as one field where we would see two: the two
/// would frame the body differently (request smuggling).
pub(crate) fn crlf_line(line: &[u8]) -> Option<&[u8]> {
    match line.split_last() {
        Some((b'\r', rest)) => Some(rest),
        _ => None,
    }
}

/// `line` without one trailing CR, for a line whose LF has not arrived yet: the CR may be the
/// first half of CRLF.
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

/// Whether `bytes` hold an LF that is not preceded by a CR (searched with [`find_lf`]).
pub(crate) fn has_bare_lf(bytes: &[u8]) -> bool {
    let mut at = 0;
    // Each round moves past one LF, so the loop runs at most once per LF in `bytes`.
    while let Some(i) = bytes.get(at..).and_then(find_lf) {
        let lf = at + i;
        if lf == 0 || bytes.get(lf - 1) != Some(&b'\r') {
            return true;
        }
        at = lf + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_first_lf() {
        assert_eq!(find_lf(b""), None);
        assert_eq!(find_lf(b"\n"), Some(0));
        assert_eq!(find_lf(b"abcdefg\n"), Some(7));
        assert_eq!(find_lf(b"abcdefgh\n\n"), Some(8));
        assert_eq!(find_lf(b"abcdefghijklmnopq"), None);
        // A byte just above LF in the same word must not hide or fake a match.
        assert_eq!(find_lf(b"\x0b\x0b\x0b\x0a\x0b\x0b\x0b\x0b"), Some(3));
        assert_eq!(find_lf(b"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"), None);
        assert_eq!(strip_cr(b"GET\r"), b"GET");
        assert_eq!(strip_cr(b"GET"), b"GET");
        assert_eq!(strip_cr(b""), b"");
    }

    #[test]
    fn lines_must_end_in_crlf() {
        assert_eq!(crlf_line(b"GET\r"), Some(&b"GET"[..]));
        assert_eq!(crlf_line(b"\r"), Some(&b""[..]));
        assert_eq!(crlf_line(b"GET"), None);
        assert_eq!(crlf_line(b""), None);
        assert!(!has_bare_lf(b""));
        assert!(!has_bare_lf(b"a: b\r\nc: d\r\n\r\n"));
        assert!(has_bare_lf(b"\n"));
        assert!(has_bare_lf(b"a: b\r\nc: d\n\r\n"));
        assert!(has_bare_lf(b"a: b\r\n\n"));
        assert!(has_bare_lf(b"a: b\r\r\n\r\nx\n"));
    }

    proptest! {
        #[test]
        fn agrees_with_a_plain_search(hay in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(0x0bu8), Just(0x8a), any::<u8>()], 0..80)) {
            prop_assert_eq!(find_lf(&hay), hay.iter().position(|&b| b == b'\n'));
        }

        #[test]
        fn bare_lf_agrees_with_a_plain_search(hay in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..40)) {
            let plain = hay.iter().enumerate().any(|(i, &b)| b == b'\n' && (i == 0 || hay[i - 1] != b'\r'));
            prop_assert_eq!(has_bare_lf(&hay), plain);
        }
    }
}
