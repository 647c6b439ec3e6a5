//! The stack's high-water mark: the stack region is painted with a pattern at boot, and the
//! deepest word no longer holding it is how far the stack has grown (`ci/embedded size`).

const PAINT: u32 = 0x5afe_57ac;
/// Bytes below the current stack pointer left unpainted at boot (the painting itself runs there).
const MARGIN: usize = 256;

unsafe extern "C" {
    static __estack: u32;
    static __sstack: u32;
}

fn bounds() -> (usize, usize) {
    // Linker-defined symbols: only their addresses are used.
    (
        core::ptr::addr_of!(__estack) as usize,
        core::ptr::addr_of!(__sstack) as usize,
    )
}

fn sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register, nothing else.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp) };
    sp
}

/// Paint the unused part of the stack. Call first thing in `main`.
pub fn paint() {
    let (bottom, _) = bounds();
    let end = sp() - MARGIN;
    let mut p = bottom;
    while p < end {
        // SAFETY: [bottom, sp - MARGIN) is stack memory no frame uses yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used at most so far.
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: reads within the stack region.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}
