//! The CLINT's `mtime`: a 64-bit counter at 10 MHz on QEMU's `virt` board, read as the
//! monotonic clock the core's timeouts run on.

use eventmpm_core::time::Instant;

/// `mtime` in the CLINT at 0x0200_0000 (offset 0xBFF8).
const MTIME: usize = 0x0200_BFF8;
/// `mtime` ticks per millisecond (10 MHz).
pub const TICKS_PER_MS: u64 = 10_000;

/// The counter, read as two 32-bit halves (riscv32 has no 64-bit load): high, low, high again,
/// retried if the low half wrapped in between.
pub fn ticks() -> u64 {
    let lo = MTIME as *const u32;
    let hi = (MTIME + 4) as *const u32;
    // Bounded: the high half changes once every 7 minutes, so a second pass always succeeds.
    for _ in 0..3 {
        // SAFETY: the CLINT's mtime registers are always mapped on this board; volatile reads
        // of them have no side effect.
        let (h1, l, h2) = unsafe {
            (
                core::ptr::read_volatile(hi),
                core::ptr::read_volatile(lo),
                core::ptr::read_volatile(hi),
            )
        };
        if h1 == h2 {
            return (u64::from(h1) << 32) | u64::from(l);
        }
    }
    0
}

/// Milliseconds since reset.
pub fn now() -> Instant {
    Instant::from_millis(ticks() / TICKS_PER_MS)
}
