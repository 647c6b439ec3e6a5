//! Finding line ends fast: the head scan and the request-line parser look for LF on every request.

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

/// `line` without one trailing CR: lines may end in CRLF or, as RFC 9112 §2.2 permits, a bare LF.
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
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

    proptest! {
        #[test]
        fn agrees_with_a_plain_search(hay in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(0x0bu8), Just(0x8a), any::<u8>()], 0..80)) {
            prop_assert_eq!(find_lf(&hay), hay.iter().position(|&b| b == b'\n'));
        }
    }
}
