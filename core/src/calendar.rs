//! Wall-clock dates from Unix seconds, and back, without libc.
//!
//! HTTP dates (`Date`, `Last-Modified`, `If-Modified-Since`) and the `server-status` page need the
//! civil calendar; the core has no `gmtime`. The conversion is Howard Hinnant's days-from-civil
//! algorithm over the proleptic Gregorian calendar, exact for every `i64` day the formats can hold.
//! All times are UTC, as HTTP requires.

/// A UTC calendar time, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1 ..= 12.
    pub month: u8,
    /// Day of the month, 1 ..= 31.
    pub day: u8,
    /// Hour, 0 ..= 23.
    pub hour: u8,
    /// Minute, 0 ..= 59.
    pub minute: u8,
    /// Second, 0 ..= 59 (leap seconds are not representable in Unix time).
    pub second: u8,
    /// Day of the week, 0 = Sunday ..= 6 = Saturday.
    pub weekday: u8,
}

/// Three-letter English month names, as HTTP and httpd print them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Three-letter English weekday names, Sunday first.
pub const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Full English weekday names, Sunday first (httpd's status page uses them).
pub const WEEKDAYS_LONG: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

const SECS_PER_DAY: i64 = 86_400;

impl DateTime {
    /// The UTC calendar time of `secs` seconds since 1970-01-01T00:00:00Z.
    pub const fn from_unix(secs: i64) -> DateTime {
        let days = secs.div_euclid(SECS_PER_DAY);
        let rem = secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
            // 1970-01-01 was a Thursday (4).
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }

    /// Seconds since the Unix epoch, or `None` if a field is out of range (a parsed date such as
    /// "Feb 30" must be rejected, not silently normalised).
    pub const fn to_unix(&self) -> Option<i64> {
        if self.month < 1 || self.month > 12 || self.day < 1 {
            return None;
        }
        if self.day > days_in_month(self.year, self.month) {
            return None;
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(
            days * SECS_PER_DAY
                + self.hour as i64 * 3600
                + self.minute as i64 * 60
                + self.second as i64,
        )
    }

    /// The month's three-letter name.
    pub const fn month_name(&self) -> &'static str {
        MONTHS[(self.month as usize + 11) % 12]
    }

    /// The weekday's three-letter name.
    pub const fn weekday_name(&self) -> &'static str {
        WEEKDAYS[self.weekday as usize % 7]
    }
}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1 ..= 12) of `year`; 0 for an invalid month.
pub const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (Hinnant's `days_from_civil`).
const fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = year as i64 - if month <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
const fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        // RFC 9110's example date, a Sunday.
        let d = DateTime::from_unix(784_111_777);
        assert_eq!((d.year, d.month, d.day), (1994, 11, 6));
        assert_eq!((d.hour, d.minute, d.second), (8, 49, 37));
        assert_eq!((d.weekday_name(), d.month_name()), ("Sun", "Nov"));

        let epoch = DateTime::from_unix(0);
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.weekday),
            (1970, 1, 1, 4)
        );

        // A leap day and the last second before an epoch-relative boundary.
        let leap = DateTime::from_unix(951_782_400);
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
        let before = DateTime::from_unix(-1);
        assert_eq!(
            (before.year, before.month, before.day, before.hour),
            (1969, 12, 31, 23)
        );
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let mut d = DateTime::from_unix(0);
        d.month = 2;
        d.day = 30;
        assert_eq!(d.to_unix(), None);
        d.day = 29;
        d.year = 1900; // not a leap year
        assert_eq!(d.to_unix(), None);
        d.year = 2000;
        assert!(d.to_unix().is_some());
        d.hour = 24;
        assert_eq!(d.to_unix(), None);
    }

    proptest! {
        #[test]
        fn round_trips(secs in -62_135_596_800i64..253_402_300_799i64) {
            let d = DateTime::from_unix(secs);
            prop_assert_eq!(d.to_unix(), Some(secs));
            prop_assert!(d.day >= 1 && d.day <= days_in_month(d.year, d.month));
            // Consecutive days advance the weekday by one.
            let next = DateTime::from_unix(secs + SECS_PER_DAY);
            prop_assert_eq!(next.weekday, (d.weekday + 1) % 7);
        }
    }
}
