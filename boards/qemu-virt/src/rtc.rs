//! The goldfish RTC at 0x0010_1000: nanoseconds since the Unix epoch, from the host's clock. Read
//! once at boot; the wall clock is then boot time plus the CLINT's monotonic time, so `Date:`
//! never steps backwards with the host.

const TIME_LOW: usize = 0x0010_1000;
const TIME_HIGH: usize = 0x0010_1004;

/// Seconds since the Unix epoch now.
pub fn unix_seconds() -> i64 {
    // SAFETY: the goldfish RTC is always mapped on this board. Reading TIME_LOW latches the
    // high half, which TIME_HIGH then returns (the device's documented order).
    let nanos = unsafe {
        let lo = core::ptr::read_volatile(TIME_LOW as *const u32);
        let hi = core::ptr::read_volatile(TIME_HIGH as *const u32);
        (u64::from(hi) << 32) | u64::from(lo)
    };
    (nanos / 1_000_000_000) as i64
}
