//! HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out, and the three historic forms in.

use crate::calendar::{DateTime, MONTHS, WEEKDAYS, WEEKDAYS_LONG};

/// Length of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;

/// The earliest and latest instants a four-digit year can show: 0000-01-01 and 9999-12-31.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// `secs` (Unix time) as an IMF-fixdate, the only form a server may send (`Date`,
/// `Last-Modified`). Times outside years 0000 ..= 9999 are clamped to them.
///
/// The runtime formats this once per second and hands the same bytes to every response head.
#[doc(alias = "apr_rfc822_date")]
pub fn format(secs: i64) -> [u8; IMF_FIXDATE_LEN] {
    let t = DateTime::from_unix(secs.clamp(MIN_SECS, MAX_SECS));
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let year = t.year.clamp(0, 9999) as u32;
    let parts: [(usize, &[u8]); 2] = [
        (0, t.weekday_name().as_bytes()),
        (8, t.month_name().as_bytes()),
    ];
    for (at, name) in parts {
        if let Some(dst) = out.get_mut(at..at + 3) {
            dst.copy_from_slice(name.get(..3).unwrap_or(b"???"));
        }
    }
    let numbers = [
        (5, 2, u32::from(t.day)),
        (12, 4, year),
        (17, 2, u32::from(t.hour)),
        (20, 2, u32::from(t.minute)),
        (23, 2, u32::from(t.second)),
    ];
    for (at, width, mut n) in numbers {
        for i in (at..at + width).rev() {
            if let Some(d) = out.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    }
    out
}

/// Parses an HTTP date in any of the forms RFC 9110 §5.6.7 obliges a recipient to accept, and
/// returns Unix seconds; `None` for anything else, including impossible dates (Feb 30, hour 24,
/// second 60).
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years below 70 are 20xx, as APR's
///   `apr_date_parse_http` reads them)
/// - asctime: `Sun Nov  6 08:49:37 1994`
///
/// Names are case-sensitive, as the grammar says; the weekday must be a weekday name but is not
/// checked against the date (APR ignores it too).
#[doc(alias = "apr_date_parse_http")]
pub fn parse(value: &[u8]) -> Option<i64> {
    let v = super::token::trim_ows(value);
    parse_imf_fixdate(v)
        .or_else(|| parse_rfc850(v))
        .or_else(|| parse_asctime(v))
}

fn parse_imf_fixdate(v: &[u8]) -> Option<i64> {
    let mut c = Cursor(v);
    c.name(&WEEKDAYS)?;
    c.literal(b", ")?;
    let day = c.digits(2)?;
    c.literal(b" ")?;
    let month = c.name(&MONTHS)? + 1;
    c.literal(b" ")?;
    let year = c.digits(4)?;
    c.literal(b" ")?;
    let (hour, minute, second) = c.time()?;
    c.literal(b" GMT")?;
    c.end()?;
    to_unix(year, month, day, hour, minute, second)
}

fn parse_rfc850(v: &[u8]) -> Option<i64> {
    let mut c = Cursor(v);
    c.name(&WEEKDAYS_LONG)?;
    c.literal(b", ")?;
    let day = c.digits(2)?;
    c.literal(b"-")?;
    let month = c.name(&MONTHS)? + 1;
    c.literal(b"-")?;
    let yy = c.digits(2)?;
    let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
    c.literal(b" ")?;
    let (hour, minute, second) = c.time()?;
    c.literal(b" GMT")?;
    c.end()?;
    to_unix(year, month, day, hour, minute, second)
}

fn parse_asctime(v: &[u8]) -> Option<i64> {
    let mut c = Cursor(v);
    c.name(&WEEKDAYS)?;
    c.literal(b" ")?;
    let month = c.name(&MONTHS)? + 1;
    c.literal(b" ")?;
    // The day is two digits or a space and one digit.
    let day = if c.literal(b" ").is_some() {
        c.digits(1)?
    } else {
        c.digits(2)?
    };
    c.literal(b" ")?;
    let (hour, minute, second) = c.time()?;
    c.literal(b" ")?;
    let year = c.digits(4)?;
    c.end()?;
    to_unix(year, month, day, hour, minute, second)
}

fn to_unix(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let narrow = |n: u32| u8::try_from(n).ok();
    DateTime {
        year: i32::try_from(year).ok()?,
        month: narrow(month)?,
        day: narrow(day)?,
        hour: narrow(hour)?,
        minute: narrow(minute)?,
        second: narrow(second)?,
        weekday: 0,
    }
    .to_unix()
}

/// A forward-only reader over the date's bytes.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(lit)?;
        Some(())
    }

    /// The index of the name in `names` that the input starts with.
    fn name(&mut self, names: &[&str]) -> Option<u32> {
        let (i, name) = names
            .iter()
            .enumerate()
            .find(|(_, n)| self.0.starts_with(n.as_bytes()))?;
        self.0 = self.0.get(name.len()..)?;
        u32::try_from(i).ok()
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let (digits, rest) = self.0.split_at_checked(n)?;
        let value = digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })?;
        self.0 = rest;
        Some(value)
    }

    fn time(&mut self) -> Option<(u32, u32, u32)> {
        let h = self.digits(2)?;
        self.literal(b":")?;
        let m = self.digits(2)?;
        self.literal(b":")?;
        let s = self.digits(2)?;
        Some((h, m, s))
    }

    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUNDAY: i64 = 784_111_777; // 1994-11-06T08:49:37Z, RFC 9110's example

    #[test]
    fn formats_imf_fixdate() {
        assert_eq!(&format(SUNDAY), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format(-1), b"Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(&format(i64::MAX), b"Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(&format(i64::MIN), b"Sat, 01 Jan 0000 00:00:00 GMT");
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(parse(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(SUNDAY));
        assert_eq!(parse(b"Sunday, 06-Nov-94 08:49:37 GMT"), Some(SUNDAY));
        assert_eq!(parse(b"Sun Nov  6 08:49:37 1994"), Some(SUNDAY));
        assert_eq!(parse(b"Sun Nov 06 08:49:37 1994"), Some(SUNDAY));
        assert_eq!(parse(b"  Sun, 06 Nov 1994 08:49:37 GMT\t"), Some(SUNDAY));
        assert_eq!(parse(b"Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse(b"Monday, 01-Jan-69 00:00:00 GMT"),
            parse(b"Tue, 01 Jan 2069 00:00:00 GMT")
        );
    }

    #[test]
    fn rejects_invalid_dates_and_forms() {
        for bad in [
            &b""[..],
            b"Sun, 30 Feb 1994 08:49:37 GMT",
            b"Sun, 29 Feb 1900 00:00:00 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:00 GMT",
            b"Sun, 06 Nov 1994 08:49:60 GMT",
            b"Sun, 00 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Nov 1994 08:49:37 GMT x",
            b"sun, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 nov 1994 08:49:37 GMT",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Xyz, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 94 08:49:37 GMT",
            b"Sun, 06-Nov-94 08:49:37 GMT",
            b"Sunday, 06-Nov-1994 08:49:37 GMT",
            b"Sun Nov 6 08:49:37 1994",
            b"Sun Nov  6 08:49:37 1994 GMT",
            b"1994-11-06T08:49:37Z",
            b"784111777",
        ] {
            assert_eq!(parse(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(secs in MIN_SECS..=MAX_SECS) {
            prop_assert_eq!(parse(&format(secs)), Some(secs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse(&bytes);
        }
    }
}
