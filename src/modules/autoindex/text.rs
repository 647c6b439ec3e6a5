//! httpd's and APR's string functions a listing is made with, reproduced for identical output:
//! wildcard matching, natural ordering, sizes, HTML and path escaping.

use std::fmt::Write as _;

/// httpd's `ap_strcmp_match` (or, folding case, `ap_strcasecmp_match`): `*` and `?`.
pub(super) fn strcmp_match(s: &[u8], pattern: &[u8], fold: bool) -> bool {
    let rules = crate::wildcard::Rules {
        fold_case: fold,
        ..Default::default()
    };
    crate::wildcard::matches(pattern, s, rules)
}

/// `apr_fnmatch` with `*`, `?` and `[...]` sets; with `period`, a leading `.` must be matched
/// by a literal `.` (APR_FNM_PERIOD).
pub(super) fn fnmatch(pattern: &[u8], name: &[u8], period: bool) -> bool {
    let rules = crate::wildcard::Rules {
        classes: true,
        leading_period: period,
        ..Default::default()
    };
    crate::wildcard::matches(pattern, name, rules)
}

/// APR's `apr_strnatcmp` (Martin Pool's natural order), chars compared as C's signed `char`.
pub fn strnatcmp(a: &[u8], b: &[u8], fold: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let digit = |c: u8| c.is_ascii_digit();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let cmp_chars = |x: u8, y: u8| (x as i8).cmp(&(y as i8));
    let compare_right = |a: &[u8], b: &[u8]| -> Ordering {
        let mut bias = Ordering::Equal;
        let mut i = 0;
        loop {
            let (ca, cb) = (at(a, i), at(b, i));
            if !digit(ca) && !digit(cb) {
                return bias;
            } else if !digit(ca) {
                return Ordering::Less;
            } else if !digit(cb) {
                return Ordering::Greater;
            } else if ca < cb {
                if bias == Ordering::Equal {
                    bias = Ordering::Less;
                }
            } else if ca > cb && bias == Ordering::Equal {
                bias = Ordering::Greater;
            }
            i += 1;
        }
    };
    let compare_left = |a: &[u8], b: &[u8]| -> Ordering {
        let mut i = 0;
        loop {
            let (ca, cb) = (at(a, i), at(b, i));
            if !digit(ca) && !digit(cb) {
                return Ordering::Equal;
            } else if !digit(ca) {
                return Ordering::Less;
            } else if !digit(cb) {
                return Ordering::Greater;
            } else if ca != cb {
                return ca.cmp(&cb);
            }
            i += 1;
        }
    };
    let (mut ai, mut bi) = (0, 0);
    loop {
        let (mut ca, mut cb) = (at(a, ai), at(b, bi));
        while space(ca) {
            ai += 1;
            ca = at(a, ai);
        }
        while space(cb) {
            bi += 1;
            cb = at(b, bi);
        }
        if digit(ca) && digit(cb) {
            let r = if ca == b'0' || cb == b'0' {
                compare_left(&a[ai..], &b[bi..])
            } else {
                compare_right(&a[ai..], &b[bi..])
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        if ca == 0 && cb == 0 {
            return Ordering::Equal;
        }
        if fold {
            ca = ca.to_ascii_uppercase();
            cb = cb.to_ascii_uppercase();
        }
        match cmp_chars(ca, cb) {
            Ordering::Equal => {}
            o => return o,
        }
        ai += 1;
        bi += 1;
    }
}

/// APR's `apr_strfsize`: a size in at most four characters (`  - ` for none).
pub fn strfsize(size: i64) -> String {
    if size < 0 {
        return "  - ".into();
    }
    if size < 973 {
        return format!("{size:3} ");
    }
    let ord = b"KMGTPE";
    let mut o = 0;
    let mut size = size;
    loop {
        let mut remain = size & 1023;
        size >>= 10;
        if size >= 973 {
            o += 1;
            continue;
        }
        let unit = ord[o.min(ord.len() - 1)] as char;
        if size < 9 || (size == 9 && remain < 973) {
            remain = (remain * 5 + 256) / 512;
            if remain >= 10 {
                size += 1;
                remain = 0;
            }
            return format!("{size}.{remain}{unit}");
        }
        if remain >= 512 {
            size += 1;
        }
        return format!("{size:3}{unit}");
    }
}

/// httpd's `ap_escape_html`.
pub(super) fn escape_html(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

pub(super) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_html(&mut out, s);
    out
}

/// httpd's `ap_os_escape_path(p, 0)`: `%xx` (lower-case hex) for what may not stand in a path,
/// and `./` before a first segment holding a colon.
pub(super) fn os_escape_path(s: &[u8]) -> String {
    escape_path(s, false)
}

/// httpd's `ap_os_escape_path(p, partial)` (`ap_escape_uri` is the partial form).
pub fn escape_path(s: &[u8], partial: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let colon = s.iter().position(|&b| b == b':');
    let slash = s.iter().position(|&b| b == b'/');
    if let Some(c) = colon
        && !partial
        && slash.is_none_or(|sl| c < sl)
    {
        out.push_str("./");
    }
    for &b in s {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:;@&=/~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

/// httpd's `ap_escape_uri` (the `P=` pattern echoed in the column links).
pub(super) fn escape_uri(s: &[u8]) -> String {
    let mut out = String::new();
    for &b in s {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:@&=~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;
    #[test]
    fn sizes_print_as_apr_strfsize() {
        for (n, s) in [
            (-1, "  - "),
            (0, "  0 "),
            (12, " 12 "),
            (972, "972 "),
            (973, "1.0K"),
            (5000, "4.9K"),
            (9 * 1024 + 972, "9.9K"),
            (108_894, "106K"),
            (1_048_576, "1.0M"),
            (10_485_760, " 10M"),
            (999 * 1024, "1.0M"),
        ] {
            assert_eq!(strfsize(n), s, "{n}");
        }
    }

    #[test]
    fn natural_order_as_apr() {
        assert_eq!(
            strnatcmp(b"file9.txt", b"file10.txt", false),
            Ordering::Less
        );
        assert_eq!(strnatcmp(b"a2", b"a02", false), Ordering::Greater);
        assert_eq!(strnatcmp(b"x1.01", b"x1.1", false), Ordering::Less);
        assert_eq!(strnatcmp(b"abc", b"ABD", true), Ordering::Less);
        assert_eq!(strnatcmp(b"abc", b"abc", false), Ordering::Equal);
        assert_eq!(strnatcmp(b"B", b"a", false), Ordering::Less);
    }

    #[test]
    fn wildcards_match_as_httpd() {
        assert!(strcmp_match(b"/x/a.txt", b"*.txt", false));
        assert!(!strcmp_match(b"/x/a.txt.bak", b"*.txt", false));
        assert!(strcmp_match(b"TEXT/plain", b"text/*", true));
        assert!(strcmp_match(b".htaccess", b".??*", false));
        assert!(!strcmp_match(b".a", b".??*", false));
        assert!(fnmatch(b"*.txt", b"a.txt", true));
        assert!(!fnmatch(b"*.txt", b".a.txt", true));
        assert!(fnmatch(b"[ab]*", b"banana", true));
        assert!(!fnmatch(b"[!ab]*", b"banana", true));
    }

    #[test]
    fn paths_escape_as_ap_os_escape_path() {
        assert_eq!(os_escape_path(b"we ird&<n>.txt"), "we%20ird&%3cn%3e.txt");
        assert_eq!(os_escape_path(b"a:b"), "./a:b");
        assert_eq!(os_escape_path(b"/a:b/"), "/a:b/");
        assert_eq!(os_escape_path("é".as_bytes()), "%c3%a9");
    }
}
