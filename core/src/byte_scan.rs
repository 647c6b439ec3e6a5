//! Whether any byte of a short slice is of a kind, without a branch per byte.
//!
//! Request and response fields, request targets and log items are checked on every request;
//! they are short (most under 32 bytes) and almost always clean. A search that stops at the
//! first hit spends a compare-and-branch per byte; looking at every byte in fixed-size blocks
//! lets the compiler check a block in a few vector instructions.

/// Whether `hit` holds for some byte of `s`. `hit` must be a pure, branch-free test (the
/// compiler vectorises it only then; a branchy one is merely correct).
#[inline(always)]
pub fn any(s: &[u8], hit: impl Fn(u8) -> bool + Copy) -> bool {
    // Bytes, not bools: LLVM turns an `|` over bools back into a search with an early exit.
    let block = |b: &[u8]| b.iter().fold(0u8, |acc, &c| acc | u8::from(hit(c)));
    let found = if s.len() >= 16 {
        // The tail that does not fill a block is looked at again as the last full block
        // (looking at a byte twice is harmless).
        let (blocks, _) = s.as_chunks::<16>();
        let last = s.last_chunk::<16>().map_or(0, |b| block(b));
        blocks.iter().fold(last, |acc, b| acc | block(b))
    } else if s.len() >= 8 {
        let (head, _) = s.split_at(8);
        let tail = s.last_chunk::<8>().map_or(&[][..], |b| &b[..]);
        block(head) | block(tail)
    } else {
        block(s)
    };
    found != 0
}

/// `s` as text, if it is UTF-8. Targets and Host values are checked on every request and are
/// almost always ASCII: that is checked first, in blocks; anything else goes to
/// `core::str::from_utf8`.
#[inline]
pub fn utf8(s: &[u8]) -> Option<&str> {
    if any(s, |b| b >= 0x80) {
        return core::str::from_utf8(s).ok();
    }
    // SAFETY: every byte of `s` is below 0x80 (checked just above), and ASCII is UTF-8.
    Some(unsafe { core::str::from_utf8_unchecked(s) })
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn finds_a_hit_at_every_position_of_every_length() {
        for len in 0..70 {
            let mut s = std::vec![b'a'; len];
            assert!(!any(&s, |b| b == b'x'));
            for at in 0..len {
                s[at] = b'x';
                assert!(any(&s, |b| b == b'x'), "{len} {at}");
                s[at] = b'a';
            }
        }
    }

    #[test]
    fn utf8_takes_ascii_and_valid_utf8_and_refuses_the_rest() {
        assert_eq!(utf8(b""), Some(""));
        assert_eq!(utf8(b"/1k.txt"), Some("/1k.txt"));
        let long = "/a/long/path/that/fills/more/than/one/block.html";
        assert_eq!(utf8(long.as_bytes()), Some(long));
        assert_eq!(utf8("/caf\u{e9}".as_bytes()), Some("/caf\u{e9}"));
        assert_eq!(
            utf8("/a-longer-name-caf\u{e9}".as_bytes()),
            Some("/a-longer-name-caf\u{e9}")
        );
        assert_eq!(utf8(b"/bad\xff"), None);
        assert_eq!(utf8(b"/a-longer-bad-name\xc3"), None);
    }
}
