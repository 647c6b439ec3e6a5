//! How a wait timeout becomes what `epoll_pwait` takes.

use std::time::Duration;

use rustix::event::Timespec;

/// The longest single wait, in milliseconds: `epoll_pwait` takes an `int`.
///
/// A longer timeout is cut to this (about 24.8 days) and the wait returns
/// `Ok(0)` early; the caller compares deadlines against its own clock anyway.
/// rustix would switch to `epoll_pwait2` (Linux 5.11) for longer values,
/// which older kernels and some seccomp filters reject.
pub(crate) const MAX_WAIT_MS: u64 = i32::MAX as u64;

/// `timeout` in whole milliseconds, rounded up, clamped to [`MAX_WAIT_MS`].
///
/// Rounding up is httpd 2.4.49's fix: a timeout truncated to 0 ms made the
/// listener spin on an expiring keep-alive instead of sleeping until it.
pub(crate) fn whole_millis(timeout: Duration) -> u64 {
    let millis = timeout.as_millis();
    let partial = !timeout.subsec_nanos().is_multiple_of(1_000_000);
    let millis = millis.saturating_add(u128::from(partial));
    u64::try_from(millis).unwrap_or(u64::MAX).min(MAX_WAIT_MS)
}

/// The timespec to hand to `epoll::wait`: a whole number of milliseconds, so
/// rustix's own conversion to an `int` is exact and stays on `epoll_pwait`.
pub(crate) fn timespec(timeout: Duration) -> Timespec {
    let millis = whole_millis(timeout);
    // Both parts fit: millis <= i32::MAX, so secs < 2^22 and nanos < 10^9.
    Timespec {
        tv_sec: (millis / 1000) as _,
        tv_nsec: ((millis % 1000) * 1_000_000) as _,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_stays_zero() {
        assert_eq!(whole_millis(Duration::ZERO), 0);
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
        assert_eq!(whole_millis(Duration::from_millis(1)), 1);
        assert_eq!(whole_millis(Duration::from_millis(1500)), 1500);
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
            let got = Duration::from_millis(whole_millis(asked));
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
    }

    #[test]
    fn timespec_carries_the_rounded_value() {
        let ts = timespec(Duration::from_micros(2_500_100));
        assert_eq!(ts.tv_sec, 2);
        assert_eq!(ts.tv_nsec, 501_000_000);
    }
}
