//! How a wait timeout becomes what `port_getn` takes.

use std::time::Duration;

/// The longest single wait, in milliseconds (about 24.8 days), as on Linux.
///
/// `port_getn` adds a relative timeout to the current time, so an unbounded
/// one could overflow `time_t`. A longer timeout is cut to this and the wait
/// returns `Ok(0)` early; the caller compares deadlines against its own
/// clock anyway.
pub(crate) const MAX_WAIT_MS: u64 = i32::MAX as u64;

/// `timeout` in whole milliseconds, rounded up, clamped to [`MAX_WAIT_MS`].
///
/// `port_getn` takes nanoseconds, but the core's clock counts milliseconds:
/// rounding up keeps every backend's wait the same and never shorter than
/// asked. Rounding down was httpd's bug before 2.4.49: a timeout truncated to
/// 0 ms made the listener spin on an expiring keep-alive instead of sleeping
/// until it.
pub(crate) fn whole_millis(timeout: Duration) -> u64 {
    let millis = timeout.as_millis();
    let partial = !timeout.subsec_nanos().is_multiple_of(1_000_000);
    let millis = millis.saturating_add(u128::from(partial));
    u64::try_from(millis).unwrap_or(u64::MAX).min(MAX_WAIT_MS)
}

/// The timeout to hand to `port_getn`: `timeout` rounded up to whole
/// milliseconds and clamped. Zero stays zero, which makes `port_getn` only
/// poll.
pub(crate) fn rounded(timeout: Duration) -> Duration {
    Duration::from_millis(whole_millis(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_stays_zero() {
        assert_eq!(rounded(Duration::ZERO), Duration::ZERO);
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
            let got = rounded(asked);
            assert!(got >= asked, "{asked:?} became {got:?}");
            assert!(got - asked < Duration::from_millis(1));
            assert_eq!(got.subsec_nanos() % 1_000_000, 0);
        }
    }

    #[test]
    fn huge_timeouts_are_clamped() {
        assert_eq!(whole_millis(Duration::MAX), MAX_WAIT_MS);
        assert_eq!(
            rounded(Duration::from_millis(MAX_WAIT_MS + 1)),
            Duration::from_millis(MAX_WAIT_MS)
        );
    }
}
