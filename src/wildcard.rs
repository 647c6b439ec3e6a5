//! Shell-style wildcards, as httpd and APR match them in their several places: `*` any run of
//! bytes, `?` one byte, and where the caller's rules say so `[...]` sets (with `!` or `^`
//! negation and `a-z` ranges), ASCII case folded, or a leading `.` that only a literal `.`
//! matches (APR_FNM_PERIOD).
//!
//! One function for all of them (`ap_strcmp_match`, `ap_strcasecmp_match`, `apr_fnmatch`): every
//! token but `*` takes exactly one byte, so going back to the last `*` seen is enough — at worst
//! O(len(pattern) × len(name)), never recursive (a recursive match branching at every `*` is
//! exponential in the stars, and patterns can come from a client: autoindex's `?P=`).

/// How a pattern is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Literal bytes compare without regard to ASCII case (`ap_strcasecmp_match`).
    pub fold_case: bool,
    /// `[...]` is a set; without, `[` is a literal byte (`ap_strcmp_match` has no sets).
    pub classes: bool,
    /// A leading `.` in the name is matched only by a literal `.` (APR_FNM_PERIOD).
    pub leading_period: bool,
}

/// Whether `name` matches `pattern` under `rules`.
#[doc(alias = "ap_strcmp_match")]
#[doc(alias = "apr_fnmatch")]
pub fn matches(pattern: &[u8], name: &[u8], rules: Rules) -> bool {
    if rules.leading_period && name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    let (mut pi, mut ni) = (0, 0);
    // Where to go back to: the pattern after the last `*`, and the name byte it took up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < name.len() {
        if let Some(&t) = pattern.get(pi) {
            let c = name[ni];
            let step = match t {
                b'*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                b'?' => Some(1),
                b'[' if rules.classes => match class(&pattern[pi..], c) {
                    Some((true, len)) => Some(len),
                    Some((false, _)) => None,
                    // Not closed: a literal `[`.
                    None => (c == b'[').then_some(1),
                },
                t if rules.fold_case => t.eq_ignore_ascii_case(&c).then_some(1),
                t => (t == c).then_some(1),
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
    pattern[pi..].iter().all(|&t| t == b'*')
}

/// Match `c` against the `[...]` set at the start of `p`: (matched, the set's length in bytes),
/// or `None` when the bracket is not closed. A `]` right after `[` (or `[!`) is a member.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
        first = false;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Rules = Rules {
        fold_case: false,
        classes: false,
        leading_period: false,
    };
    const FNMATCH: Rules = Rules {
        classes: true,
        ..PLAIN
    };

    #[test]
    fn stars_queries_and_literals() {
        assert!(matches(b"*.txt", b"/x/a.txt", PLAIN));
        assert!(!matches(b"*.txt", b"/x/a.txt.bak", PLAIN));
        assert!(matches(b".??*", b".htaccess", PLAIN));
        assert!(!matches(b".??*", b".a", PLAIN));
        assert!(matches(b"*", b"", PLAIN));
        assert!(matches(b"", b"", PLAIN));
        assert!(!matches(b"", b"a", PLAIN));
        assert!(!matches(b"a*b*c", b"aXbY", PLAIN));
        assert!(matches(b"a*b*c", b"aXbYc", PLAIN));
    }

    #[test]
    fn case_folding_sets_and_the_leading_period() {
        let fold = Rules {
            fold_case: true,
            ..PLAIN
        };
        assert!(matches(b"text/*", b"TEXT/plain", fold));
        assert!(!matches(b"text/*", b"TEXT/plain", PLAIN));
        assert!(matches(b"[a-c]*", b"beta", FNMATCH));
        assert!(!matches(b"[!a-c]*", b"beta", FNMATCH));
        assert!(matches(b"[]x]", b"]", FNMATCH));
        assert!(
            matches(b"[ab", b"[ab", FNMATCH),
            "an unclosed bracket is literal"
        );
        assert!(
            matches(b"[ab]", b"[ab]", PLAIN),
            "without sets, brackets are literal"
        );
        let period = Rules {
            leading_period: true,
            ..FNMATCH
        };
        assert!(matches(b"*.txt", b"a.txt", period));
        assert!(!matches(b"*.txt", b".a.txt", period));
        assert!(!matches(b"?a", b".a", period));
        assert!(matches(b".a*", b".abc", period));
        assert!(matches(b"*.txt", b".a.txt", FNMATCH));
    }

    /// The recursive definition `matches` must agree with (exponential: small inputs only).
    fn by_definition(p: &[u8], n: &[u8], at_start: bool, period: bool) -> bool {
        let leading_dot = period && at_start && n.first() == Some(&b'.');
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => {
                !leading_dot
                    && (0..=n.len()).any(|k| by_definition(&p[1..], &n[k..], false, period))
            }
            Some(_) if n.is_empty() || leading_dot && p[0] != b'.' => false,
            Some(b'?') => by_definition(&p[1..], &n[1..], false, period),
            Some(b'[') => match class(p, n[0]) {
                Some((hit, len)) => hit && by_definition(&p[len..], &n[1..], false, period),
                None => n[0] == b'[' && by_definition(&p[1..], &n[1..], false, period),
            },
            Some(&c) => n[0] == c && by_definition(&p[1..], &n[1..], false, period),
        }
    }

    #[test]
    fn agrees_with_the_definition_and_many_stars_stay_polynomial() {
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
            let mut p = word(7, b"ab.*?[");
            if word(4, b"x").is_empty() {
                p.extend_from_slice(b"[!b]");
            }
            let n = word(7, b"ab.[");
            for period in [false, true] {
                let rules = Rules {
                    leading_period: period,
                    ..FNMATCH
                };
                assert_eq!(
                    matches(&p, &n, rules),
                    by_definition(&p, &n, true, period),
                    "{:?} against {:?}, period {period}",
                    String::from_utf8_lossy(&p),
                    String::from_utf8_lossy(&n)
                );
            }
        }
        // The listing fuzzer's hang: dozens of stars against a long name.
        let stars = [b'*'; 80];
        let name = [b'*'; 400];
        assert!(!matches(&[&stars[..], b"x"].concat(), &name, FNMATCH));
        assert!(matches(&stars, &name, PLAIN));
    }
}
