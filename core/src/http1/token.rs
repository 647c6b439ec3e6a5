//! RFC 9110 §5.6 building blocks: tokens, optional whitespace and comma-separated lists.

/// A 256-entry membership table, built at compile time from a predicate on a byte `b`.
macro_rules! byte_table {
    (|$b:ident| $member:expr) => {{
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            table[i] = $member;
            i += 1;
        }
        table
    }};
}
pub(crate) use byte_table;

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2): the bytes of methods, field names and list tokens.
pub(crate) fn is_tchar(b: u8) -> bool {
    // One load instead of a chain of range comparisons: methods are checked byte by byte on
    // every request.
    TCHAR[usize::from(b)]
}

static TCHAR: [bool; 256] = byte_table!(|b| matches!(b,
    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
    | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
    | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'));

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    // No early exit: names are short and almost always tokens (every response field's name
    // is checked), and a branch per byte costs more than looking at the rest.
    !s.is_empty() && s.iter().fold(true, |acc, &b| acc & is_tchar(b))
}

/// `s` without leading and trailing SP / HTAB (OWS).
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(start) = start else {
        return &[];
    };
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(&[])
}

/// The non-empty elements of a `#element` list, trimmed (RFC 9110 §5.6.1: recipients accept and
/// skip empty elements). Not for lists whose elements may quote commas; see
/// [`conditional`](super::conditional) for entity tags.
pub(crate) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn tchar_table_matches_the_grammar() {
        let specials = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || specials.contains(&b);
            assert_eq!(is_tchar(b), want, "{b:#x}");
        }
    }

    #[test]
    fn tokens_and_lists() {
        assert!(is_token(b"keep-alive"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert_eq!(trim_ows(b" \t x y \t"), b"x y");
        assert_eq!(trim_ows(b"  "), b"");
        let items: Vec<&[u8]> = list(b" close ,, Keep-Alive,\tupgrade ,").collect();
        assert_eq!(items, [&b"close"[..], b"Keep-Alive", b"upgrade"]);
        assert_eq!(list(b" , ,").count(), 0);
    }
}
