//! How a wait timeout becomes what `kevent` takes.

use std::time::Duration;

/// The longest single wait, in milliseconds (about 24.8 days), as on Linux.
///
/// A 32-bit `time_t` (FreeBSD on i386) cannot hold `Duration::MAX`, and the
/// kernels turn a timeout into ticks in an `int` or a 64-bit count of
/// nanoseconds; this bound stays clear of every such limit. A longer timeout
/// returns `Ok(0)` early; the caller compares deadlines against its own
/// clock anyway.
pub(crate) const MAX_WAIT_MS: u64 = i32::MAX as u64;

/// `timeout` in whole milliseconds, rounded up, clamped to [`MAX_WAIT_MS`].
///
/// `kevent` takes nanoseconds, so nothing here would truncate; rounding up
/// keeps the waits of every backend alike (httpd 2.4.49's fix for a listener
/// that spun on a timeout truncated to 0 ms), and the kernels sleep in ticks
/// of a millisecond or more anyway.
pub(crate) fn whole_millis(timeout: Duration) -> u64 {
    let millis = timeout.as_millis();
    let partial = !timeout.subsec_nanos().is_multiple_of(1_000_000);
    let millis = millis.saturating_add(u128::from(partial));
    u64::try_from(millis).unwrap_or(u64::MAX).min(MAX_WAIT_MS)
}

/// The timeout to hand to the kernel: [`whole_millis`] of it.
pub(crate) fn round(timeout: Duration) -> Duration {
    Duration::from_millis(whole_millis(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_stays_zero() {
        assert_eq!(round(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn any_fraction_of_a_millisecond_rounds_up() {
        assert_eq!(whole_millis(Duration::from_nanos(1)), 1);
        assert_eq!(whole_millis(Duration::from_micros(999)), 1);
        assert_eq!(whole_millis(Duration::from_micros(1001)), 2);
        assert_eq!(whole_millis(Duration::new(2, 1)), 2001);
    }

    #[test]
    fn whole_milliseconds_are_kept() {
        assert_eq!(round(Duration::from_millis(1)), Duration::from_millis(1));
        assert_eq!(
            round(Duration::from_millis(1500)),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn never_shorter_than_asked_below_the_clamp() {
        for nanos in [
            1u64,
            999_999,
            1_000_000,
            1_000_001,
            123_456_789,
            5_000_000_000,
        ] {
            let asked = Duration::from_nanos(nanos);
            let got = round(asked);
            assert!(got >= asked, "{asked:?} became {got:?}");
            assert!(got - asked < Duration::from_millis(1));
        }
    }

    #[test]
    fn huge_timeouts_are_clamped() {
        assert_eq!(whole_millis(Duration::MAX), MAX_WAIT_MS);
        assert_eq!(
            whole_millis(Duration::from_millis(MAX_WAIT_MS + 1)),
            MAX_WAIT_MS
        );
        // Fits a 32-bit time_t, and nanoseconds in an i64.
        assert!(round(Duration::MAX).as_secs() < i32::MAX as u64);
        assert!(round(Duration::MAX).as_nanos() < i64::MAX as u128);
    }
}
