//! The `sifive_test` device at 0x0010_0000: a write ends QEMU with a status, so a test run (or a
//! fatal error at boot) finishes with an exit code instead of hanging.

const TEST: usize = 0x0010_0000;
const PASS: u32 = 0x5555;
const FAIL: u32 = 0x3333;

/// End the emulation: status 0, or `code` (1..=0xffff) as QEMU's exit status.
pub fn exit(code: u16) -> ! {
    let value = if code == 0 {
        PASS
    } else {
        FAIL | (u32::from(code) << 16)
    };
    // SAFETY: the test device is always mapped on this board; the write stops the machine.
    unsafe { core::ptr::write_volatile(TEST as *mut u32, value) };
    // On real hardware without the device: stop here.
    loop {
        riscv::asm::wfi();
    }
}
