//! The 16550 UART at 0x1000_0000, transmit only: the console (`log` lines, or defmt frames with
//! the `defmt` feature). QEMU's UART takes every byte at once, so the wait for the transmit
//! holding register is bounded by a spin count and never taken there.

const BASE: usize = 0x1000_0000;
const THR: usize = BASE;
const LSR: usize = BASE + 5;
const LSR_THRE: u8 = 1 << 5;
/// Spins per byte before giving up on a stuck UART (a dropped byte beats a hung server).
const SPINS: u32 = 100_000;

/// Send bytes.
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        for _ in 0..SPINS {
            // SAFETY: the UART is always mapped on this board.
            if unsafe { core::ptr::read_volatile(LSR as *const u8) } & LSR_THRE != 0 {
                break;
            }
        }
        // SAFETY: as above; a write to THR queues one byte.
        unsafe { core::ptr::write_volatile(THR as *mut u8, b) };
    }
}

/// `core::fmt::Write` over the UART.
#[cfg(all(feature = "log", not(feature = "defmt")))]
#[derive(Debug)]
pub struct Console;

#[cfg(all(feature = "log", not(feature = "defmt")))]
impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}
