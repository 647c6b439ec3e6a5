//! C's `atoi`, with which httpd's directive handlers read their numbers: `DeflateMemLevel 9x`
//! is 9 to httpd, `ErrorDocument 404abc` is 404, and a word with no leading digits is 0 (which
//! each handler then refuses with its own message).

/// C's `atoi`: optional blanks (C's `isspace`) and sign, then the leading digits; 0 if there
/// are none. Saturates where C's would overflow.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn reads_as_c_does() {
        for (s, n) in [
            ("9", 9),
            (" \t+12x", 12),
            ("-3", -3),
            ("x1", 0),
            ("", 0),
            ("- 1", 0),
            ("99999999999999999999999", i64::MAX),
        ] {
            assert_eq!(atoi(s), n, "{s:?}");
        }
    }
}
