//! mod_status's human-readable quantities: byte sizes, uptimes and dates.

use core::fmt::{self, Write};

use super::printf::write_f32;
use crate::calendar::{DateTime, WEEKDAYS_LONG};

const KBYTE: u64 = 1024;
const MBYTE: u64 = 1_048_576;
const GBYTE: u64 = 1_073_741_824;

/// `format_byte_out`: `123 B`, `12.3 kB`, `1.2 MB`, `1.2 GB` (sizes in single precision, as
/// httpd computes them).
pub(crate) fn write_bytes(out: &mut dyn Write, bytes: u64) -> fmt::Result {
    if bytes < 5 * KBYTE {
        write!(out, "{bytes} B")
    } else if bytes < MBYTE / 2 {
        write_f32(out, bytes as f32 / KBYTE as f32, 1)?;
        out.write_str(" kB")
    } else if bytes < GBYTE / 2 {
        write_f32(out, bytes as f32 / MBYTE as f32, 1)?;
        out.write_str(" MB")
    } else {
        write_f32(out, bytes as f32 / GBYTE as f32, 1)?;
        out.write_str(" GB")
    }
}

/// `format_kbyte_out`: `123 kB`, `1.2 MB`, `1.2 GB`.
pub(crate) fn write_kbytes(out: &mut dyn Write, kbytes: u64) -> fmt::Result {
    if kbytes < KBYTE {
        write!(out, "{kbytes} kB")
    } else if kbytes < MBYTE {
        write_f32(out, kbytes as f32 / KBYTE as f32, 1)?;
        out.write_str(" MB")
    } else {
        write_f32(out, kbytes as f32 / MBYTE as f32, 1)?;
        out.write_str(" GB")
    }
}

/// `show_time`: ` 1 day 2 hours 3 minutes 4 seconds`, leaving out zero parts (nothing at all for
/// zero seconds). Each part starts with a space.
pub(crate) fn write_uptime(out: &mut dyn Write, seconds: u32) -> fmt::Result {
    let secs = seconds % 60;
    let mins = seconds / 60 % 60;
    let hours = seconds / 3600 % 24;
    let days = seconds / 86_400;
    for (n, unit) in [
        (days, "day"),
        (hours, "hour"),
        (mins, "minute"),
        (secs, "second"),
    ] {
        if n != 0 {
            let plural = if n == 1 { "" } else { "s" };
            write!(out, " {n} {unit}{plural}")?;
        }
    }
    Ok(())
}

/// `ap_ht_time(t, "%A, %d-%b-%Y %H:%M:%S %Z")`: `Monday, 23-Nov-2026 15:16:43 UTC`, shifted by
/// `utc_offset` seconds and labelled `zone`.
pub(crate) fn write_time(
    out: &mut dyn Write,
    unix: i64,
    utc_offset: i32,
    zone: &str,
) -> fmt::Result {
    let t = DateTime::from_unix(unix.saturating_add(i64::from(utc_offset)));
    let weekday = WEEKDAYS_LONG
        .get(usize::from(t.weekday))
        .copied()
        .unwrap_or_default();
    write!(
        out,
        "{weekday}, {:02}-{}-{} {:02}:{:02}:{:02} {zone}",
        t.day,
        t.month_name(),
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn text(f: impl FnOnce(&mut String) -> fmt::Result) -> String {
        let mut s = String::new();
        f(&mut s).unwrap();
        s
    }

    #[test]
    fn byte_sizes_switch_units_where_httpd_does() {
        assert_eq!(text(|s| write_bytes(s, 1340)), "1340 B");
        assert_eq!(text(|s| write_bytes(s, 5119)), "5119 B");
        assert_eq!(text(|s| write_bytes(s, 5120)), "5.0 kB");
        assert_eq!(text(|s| write_bytes(s, 524_288)), "0.5 MB");
        assert_eq!(text(|s| write_bytes(s, 3 * GBYTE)), "3.0 GB");
        assert_eq!(text(|s| write_kbytes(s, 27)), "27 kB");
        assert_eq!(text(|s| write_kbytes(s, 58_880)), "57.5 MB");
        assert_eq!(text(|s| write_kbytes(s, 60_293_120)), "57.5 GB");
    }

    #[test]
    fn uptime_reads_like_show_time() {
        assert_eq!(text(|s| write_uptime(s, 0)), "");
        assert_eq!(text(|s| write_uptime(s, 1)), " 1 second");
        assert_eq!(text(|s| write_uptime(s, 35)), " 35 seconds");
        assert_eq!(
            text(|s| write_uptime(s, 6 * 86_400 + 8 * 3600 + 27 * 60 + 13)),
            " 6 days 8 hours 27 minutes 13 seconds"
        );
        assert_eq!(text(|s| write_uptime(s, 86_400 + 60)), " 1 day 1 minute");
    }

    #[test]
    fn dates_read_like_ap_ht_time() {
        // The capture in auto.rs's fixture: Monday, 23-Nov-2026 15:16:43 UTC.
        let t = DateTime {
            year: 2026,
            month: 11,
            day: 23,
            hour: 15,
            minute: 16,
            second: 43,
            weekday: 0,
        }
        .to_unix()
        .unwrap();
        assert_eq!(
            text(|s| write_time(s, t, 0, "UTC")),
            "Monday, 23-Nov-2026 15:16:43 UTC"
        );
        assert_eq!(
            text(|s| write_time(s, t, 3600, "CET")),
            "Monday, 23-Nov-2026 16:16:43 CET"
        );
        assert_eq!(
            text(|s| write_time(s, 0, 0, "UTC")),
            "Thursday, 01-Jan-1970 00:00:00 UTC"
        );
    }
}
