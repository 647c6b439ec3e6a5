//! Numbers the way httpd's directive handlers read them.
//!
//! httpd parses most MPM settings with C's `atoi` (garbage becomes 0 and is clamped later by
//! `check_config`), some with `strtol` and an `errno` check, `AsyncRequestWorkerFactor` with
//! `strtod`, and timeouts with `ap_timeout_parameter_parse`. Reproducing those rules, rather than
//! Rust's stricter `parse`, keeps every config that httpd accepts acceptable here with the same
//! meaning. The one deliberate difference: where C would silently wrap an out-of-range value,
//! these saturate.

/// The bytes C's `isspace` accepts in the "C" locale.
pub(crate) const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The outcome of C's `strtol(s, &end, 10)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Strtol<'a> {
    /// The value, saturated at the `i64` range (C's `LONG_MIN`/`LONG_MAX` on LP64).
    pub value: i64,
    /// Whether any digit was read; without one C leaves `end` at the start of the input.
    pub digits: bool,
    /// Whether the value did not fit (C sets `errno = ERANGE`).
    pub overflow: bool,
    /// What follows the number (`end`); the whole input when no digit was read.
    pub rest: &'a str,
}

/// C's `strtol(s, &end, 10)`: optional leading white space, an optional sign, decimal digits.
pub(crate) fn strtol(s: &str) -> Strtol<'_> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    // Bounded by the input length; once saturated the value stops changing.
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        let digit = u64::from(bytes[i] - b'0');
        match magnitude.checked_mul(10).and_then(|m| m.checked_add(digit)) {
            Some(m) => magnitude = m,
            None => {
                overflow = true;
                magnitude = u64::MAX;
            }
        }
        i += 1;
    }
    if i == digits_start {
        return Strtol {
            value: 0,
            digits: false,
            overflow: false,
            rest: s,
        };
    }
    let limit = if negative {
        i64::MAX as u64 + 1
    } else {
        i64::MAX as u64
    };
    if magnitude > limit {
        overflow = true;
        magnitude = limit;
    }
    let value = if negative {
        // `limit` for a negative number is 2^63, which is i64::MIN's magnitude.
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    };
    Strtol {
        value,
        digits: true,
        overflow,
        rest: s.get(i..).unwrap_or(""),
    }
}

/// C's `atoi`: `strtol` narrowed to `int`, saturating instead of wrapping.
pub(crate) fn atoi(s: &str) -> i32 {
    let v = strtol(s).value;
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// A decimal number read as C's `strtod` would read it, kept in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decimal {
    /// The whole argument was a number.
    Number {
        /// Whether a minus sign was given.
        negative: bool,
        /// Whether any digit was non-zero (the value is positive even if it rounds to 0).
        nonzero: bool,
        /// `floor(|value| × 1000)`, saturated at `u32::MAX`.
        thousandths: u32,
    },
    /// Not a number, or something followed it (httpd's "error parsing value").
    Garbage,
}

/// How many significant digits are kept; more cannot change a value capped at `u32::MAX / 1000`.
const MAX_KEPT_DIGITS: u32 = 30;

/// Reads `[space][sign]digits[.digits][e[sign]digits]` to the end of `s`, as `strtod` does for
/// ordinary decimals. `inf`, `nan` and hexadecimal floats, which `strtod` also takes, are
/// refused: httpd would convert them to an integer with undefined behaviour.
pub(crate) fn decimal(s: &str) -> Decimal {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let mut mantissa: u128 = 0;
    let mut kept: u32 = 0;
    let mut scale: i64 = 0; // value = mantissa × 10^scale
    let mut any_digit = false;
    let mut nonzero = false;
    let mut seen_point = false;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            any_digit = true;
            nonzero |= b != b'0';
            if kept < MAX_KEPT_DIGITS {
                mantissa = mantissa * 10 + u128::from(b - b'0');
                if mantissa != 0 {
                    kept += 1;
                }
                if seen_point {
                    scale -= 1;
                }
            } else if !seen_point {
                // A dropped integer digit still multiplies the value by ten.
                scale += 1;
            }
        } else if b == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return Decimal::Garbage;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let exponent = strtol(s.get(i + 1..).unwrap_or(""));
        // strtod only takes the exponent when digits follow it directly (no white space).
        let direct = bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_digit() || *b == b'+' || *b == b'-');
        if !exponent.digits || !direct {
            return Decimal::Garbage;
        }
        scale = scale.saturating_add(exponent.value.clamp(-10_000, 10_000));
        i = bytes.len() - exponent.rest.len();
    }
    if i != bytes.len() {
        return Decimal::Garbage;
    }
    Decimal::Number {
        negative,
        nonzero,
        thousandths: scale_to_thousandths(mantissa, scale + 3),
    }
}

/// `floor(mantissa × 10^shift)`, saturated at `u32::MAX`.
fn scale_to_thousandths(mut mantissa: u128, shift: i64) -> u32 {
    if shift >= 0 {
        // Bounded: after 40 multiplications any non-zero mantissa exceeds u32::MAX.
        for _ in 0..shift.min(40) {
            mantissa = mantissa.saturating_mul(10);
        }
    } else {
        for _ in 0..(-shift).min(40) {
            mantissa /= 10;
        }
    }
    u32::try_from(mantissa).unwrap_or(u32::MAX)
}

/// httpd's `ap_timeout_parameter_parse` with seconds as the default unit: a number (`strtoi64`)
/// followed by a unit of which only the first letters count: `s` seconds, `ms` milliseconds, `mi`
/// minutes, `h` hours. Returns milliseconds, or `None` where httpd fails.
pub(crate) fn timeout_millis(s: &str) -> Option<i64> {
    let number = strtol(s);
    if number.overflow {
        return None;
    }
    let unit = match number.rest.as_bytes() {
        [] => b"s".as_slice(),
        rest => rest,
    };
    let value = number.value;
    match unit {
        [b's', ..] => Some(value.saturating_mul(1000)),
        [b'h', ..] => Some(value.saturating_mul(3_600_000)),
        [b'm', b's', ..] => Some(value),
        [b'm', b'i', ..] => Some(value.saturating_mul(60_000)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_follows_c() {
        let r = strtol("  -42abc");
        assert_eq!(
            (r.value, r.digits, r.overflow, r.rest),
            (-42, true, false, "abc")
        );
        let r = strtol("abc");
        assert_eq!((r.value, r.digits, r.rest), (0, false, "abc"));
        let r = strtol("-");
        assert_eq!((r.digits, r.rest), (false, "-"));
        let r = strtol("99999999999999999999");
        assert_eq!((r.value, r.overflow), (i64::MAX, true));
        let r = strtol("-9223372036854775808");
        assert_eq!((r.value, r.overflow), (i64::MIN, false));
        let r = strtol("-9223372036854775809");
        assert_eq!((r.value, r.overflow), (i64::MIN, true));
    }

    #[test]
    fn atoi_takes_the_leading_number_and_saturates() {
        assert_eq!(atoi("25"), 25);
        assert_eq!(atoi("+7"), 7);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("\t-3"), -3);
        assert_eq!(atoi("99999999999"), i32::MAX);
        assert_eq!(atoi("-99999999999"), i32::MIN);
    }

    fn thousandths(s: &str) -> Option<u32> {
        match decimal(s) {
            Decimal::Number {
                negative: false,
                thousandths,
                ..
            } => Some(thousandths),
            _ => None,
        }
    }

    #[test]
    fn decimals_keep_three_places() {
        assert_eq!(thousandths("2"), Some(2000));
        assert_eq!(thousandths("1.5"), Some(1500));
        assert_eq!(thousandths("1.25"), Some(1250));
        assert_eq!(thousandths("1.2345"), Some(1234));
        assert_eq!(thousandths(".5"), Some(500));
        assert_eq!(thousandths("5."), Some(5000));
        assert_eq!(thousandths("15e-1"), Some(1500));
        assert_eq!(thousandths("0.002E3"), Some(2000));
        assert_eq!(thousandths("1e30"), Some(u32::MAX));
        assert_eq!(
            thousandths("123456789012345678901234567890123"),
            Some(u32::MAX)
        );
        assert_eq!(
            decimal("0.0001"),
            Decimal::Number {
                negative: false,
                nonzero: true,
                thousandths: 0
            }
        );
        assert_eq!(
            decimal("-0"),
            Decimal::Number {
                negative: true,
                nonzero: false,
                thousandths: 0
            }
        );
    }

    #[test]
    fn decimals_refuse_what_strtod_would_leave_behind() {
        for bad in [
            "", "x", "2x", "1.5.2", "2e", "2e+", "inf", "nan", "0x10", ".",
        ] {
            assert_eq!(decimal(bad), Decimal::Garbage, "{bad:?}");
        }
    }

    #[test]
    fn timeouts_take_httpd_units() {
        assert_eq!(timeout_millis("5"), Some(5000));
        assert_eq!(timeout_millis("5s"), Some(5000));
        assert_eq!(timeout_millis("5sec"), Some(5000));
        assert_eq!(timeout_millis("100ms"), Some(100));
        assert_eq!(timeout_millis("2min"), Some(120_000));
        assert_eq!(timeout_millis("1h"), Some(3_600_000));
        assert_eq!(timeout_millis("-1"), Some(-1000));
        // httpd reads no digits as 0 and then looks at the unit.
        assert_eq!(timeout_millis("ms"), Some(0));
        for bad in ["abc", "5m", "5x", "5 s", "99999999999999999999"] {
            assert_eq!(timeout_millis(bad), None, "{bad:?}");
        }
    }
}
