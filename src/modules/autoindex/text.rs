//! httpd's and APR's string functions a listing is made with, reproduced for identical output:
//! wildcard matching, natural ordering, sizes, HTML and path escaping.

use std::fmt::Write as _;

/// C's `atoi`.
pub(super) fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// httpd's `ap_strcmp_match`: `*` and `?` wildcards, case-sensitive or not.
pub(super) fn strcmp_match(s: &[u8], pattern: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative wildcard matching with one backtrack point: O(len(s) x len(pattern)) at worst.
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < pattern.len() && pattern[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < pattern.len() && (pattern[pi] == b'?' || eq(pattern[pi], s[si])) {
            pi += 1;
            si += 1;
        } else if let Some((p, s0)) = star {
            pi = p + 1;
            si = s0 + 1;
            star = Some((p, s0 + 1));
        } else {
            return false;
        }
    }
    pattern[pi..].iter().all(|&c| c == b'*')
}

/// `fnmatch` with `*`, `?` and `[...]` classes; with `period`, a leading `.` must be matched by
/// a literal `.` (APR_FNM_PERIOD).
pub(super) fn fnmatch(pattern: &[u8], name: &[u8], period: bool) -> bool {
    fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
        // Returns (matched, length of the class including brackets).
        let mut i = 1;
        let negate = matches!(pattern.get(1), Some(b'!' | b'^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < pattern.len() {
            let p = pattern[i];
            if p == b']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
                let e = pattern[i + 2];
                if p <= c && c <= e {
                    matched = true;
                }
                i += 3;
            } else {
                if p == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None
    }
    // A leading `.` is matched only by a literal `.` (a wildcard or class there fails).
    if period && name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    // Every token but `*` takes exactly one byte, so the last `*` seen is the only point to go
    // back to: O(len(pattern) x len(name)) at worst. (A recursive match branching at every `*`
    // was exponential: a fuzzed `IndexIgnore`/`?P=` pattern of many stars held a worker.)
    let (p, n) = (pattern, name);
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if let Some(&t) = p.get(pi) {
            let step = match t {
                b'*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                b'?' => Some(1),
                b'[' => match class(&p[pi..], n[ni]) {
                    Some((true, len)) => Some(len),
                    Some((false, _)) => None,
                    // No closing bracket: a literal `[`.
                    None => (n[ni] == b'[').then_some(1),
                },
                c => (n[ni] == c).then_some(1),
            };
            if let Some(len) = step {
                pi += len;
                ni += 1;
                continue;
            }
        }
        match star {
            Some((after, from)) => {
                pi = after;
                ni = from + 1;
                star = Some((after, from + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
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

    /// The recursive definition the matcher must agree with (exponential: small inputs only).
    fn fnmatch_by_definition(p: &[u8], n: &[u8], at_start: bool, period: bool) -> bool {
        let leading_dot = period && at_start && n.first() == Some(&b'.');
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => {
                !leading_dot
                    && (0..=n.len()).any(|k| fnmatch_by_definition(&p[1..], &n[k..], false, period))
            }
            Some(_) if n.is_empty() || leading_dot && p[0] != b'.' => false,
            Some(b'?') => fnmatch_by_definition(&p[1..], &n[1..], false, period),
            Some(b'[') => {
                let close = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2);
                match close {
                    Some(end) => {
                        fnmatch(&p[..=end], &n[..1], false)
                            && fnmatch_by_definition(&p[end + 1..], &n[1..], false, period)
                    }
                    None => n[0] == b'[' && fnmatch_by_definition(&p[1..], &n[1..], false, period),
                }
            }
            Some(&c) => n[0] == c && fnmatch_by_definition(&p[1..], &n[1..], false, period),
        }
    }

    #[test]
    fn fnmatch_agrees_with_its_definition_and_many_stars_stay_linear() {
        let alphabet: &[u8] = b"ab.*?[";
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut word = move |len: u32, set: &[u8]| -> Vec<u8> {
            (0..next() % len)
                .map(|_| set[(next() % set.len() as u32) as usize])
                .collect()
        };
        for _ in 0..20_000 {
            let mut p = word(7, alphabet);
            if word(4, b"x").is_empty() {
                p.extend_from_slice(b"[ab]");
            }
            let n = word(7, b"ab.[");
            for period in [false, true] {
                assert_eq!(
                    fnmatch(&p, &n, period),
                    fnmatch_by_definition(&p, &n, true, period),
                    "{:?} against {:?}, period {period}",
                    String::from_utf8_lossy(&p),
                    String::from_utf8_lossy(&n)
                );
            }
        }
        // The fuzzer's hang: dozens of stars against a long name. Linear now; this returns.
        let stars = [b'*'; 80];
        let name = [b'*'; 400];
        assert!(!fnmatch(&[&stars[..], b"x"].concat(), &name, true));
        assert!(fnmatch(&stars, &name, false));
    }

    #[test]
    fn paths_escape_as_ap_os_escape_path() {
        assert_eq!(os_escape_path(b"we ird&<n>.txt"), "we%20ird&%3cn%3e.txt");
        assert_eq!(os_escape_path(b"a:b"), "./a:b");
        assert_eq!(os_escape_path(b"/a:b/"), "/a:b/");
        assert_eq!(os_escape_path("é".as_bytes()), "%c3%a9");
    }
}
