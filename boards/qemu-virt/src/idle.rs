//! Sleeping until there is something to do: `wfi` with the CLINT's timer compare set to the next
//! deadline and the PLIC passing the virtio devices' interrupts. Interrupts stay disabled in
//! `mstatus` (no handlers): a pending enabled interrupt wakes `wfi` all the same, and the loop
//! looks at everything after waking. An idle firmware makes no wake-ups but its deadlines.

use riscv::register::mie;

use crate::clint;

const MTIMECMP: usize = 0x0200_4000;
const PLIC: usize = 0x0c00_0000;
/// virtio-mmio slot i raises PLIC source i + 1.
const VIRTIO_IRQS: core::ops::RangeInclusive<usize> = 1..=8;
/// Hart 0's machine-mode context.
const ENABLE: usize = PLIC + 0x2000;
const THRESHOLD: usize = PLIC + 0x20_0000;
const CLAIM: usize = PLIC + 0x20_0004;

fn write(addr: usize, v: u32) {
    // SAFETY: CLINT and PLIC registers are always mapped on this board.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

fn read(addr: usize) -> u32 {
    // SAFETY: as above; reading the claim register claims a pending source.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Route the virtio interrupts to hart 0 and let the timer and external interrupts wake `wfi`.
pub fn init() {
    let mut bits = 0u32;
    for irq in VIRTIO_IRQS {
        write(PLIC + 4 * irq, 1);
        bits |= 1 << irq;
    }
    write(ENABLE, bits);
    write(THRESHOLD, 0);
    // SAFETY: enabling sources in `mie` only changes what wakes `wfi`; `mstatus.MIE` stays off,
    // so no trap is taken.
    unsafe {
        mie::set_mtimer();
        mie::set_mext();
    }
}

/// Sleep until `deadline_ticks` (CLINT ticks) or an interrupt from a device.
pub fn wait_until(deadline_ticks: u64) {
    if deadline_ticks <= clint::ticks() {
        return;
    }
    // The high word first, so the comparator never holds a value that is due too early.
    write(MTIMECMP + 4, u32::MAX);
    write(MTIMECMP, deadline_ticks as u32);
    write(MTIMECMP + 4, (deadline_ticks >> 32) as u32);
    riscv::asm::wfi();
    // Complete whatever the PLIC raised; the loop polls the device anyway.
    for _ in VIRTIO_IRQS {
        match read(CLAIM) {
            0 => break,
            irq => write(CLAIM, irq),
        }
    }
}
