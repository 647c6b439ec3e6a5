//! The console on the UART: `log` lines as text, or (feature `defmt`) defmt frames for
//! `defmt-print -e FIRMWARE` to decode. Exactly one of the two owns the UART, so the two kinds
//! of output never interleave.

#[cfg(all(feature = "log", not(feature = "defmt")))]
mod text {
    use core::fmt::Write as _;

    struct Uart;

    impl log::Log for Uart {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            let _ = writeln!(
                crate::uart::Console,
                "[{} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }

        fn flush(&self) {}
    }

    static LOGGER: Uart = Uart;

    pub fn init() {
        // riscv32imc has no atomic compare-and-swap for `set_logger`.
        // SAFETY: called once, first thing at boot, on the only hart, with no interrupt
        // handlers: nothing can log concurrently.
        unsafe {
            let _ = log::set_logger_racy(&LOGGER);
            log::set_max_level_racy(log::LevelFilter::Info);
        }
    }
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
pub use text::init;

#[cfg(feature = "defmt")]
mod frames {
    use core::cell::UnsafeCell;

    #[defmt::global_logger]
    struct Logger;

    struct Encoder(UnsafeCell<defmt::Encoder>);
    // SAFETY: one hart and no interrupt handlers: the encoder is only used from the main loop,
    // one frame at a time (defmt's acquire/release bracket each frame).
    unsafe impl Sync for Encoder {}

    static ENCODER: Encoder = Encoder(UnsafeCell::new(defmt::Encoder::new()));

    fn emit(bytes: &[u8]) {
        crate::uart::write(bytes);
    }

    // SAFETY: frames are never nested (no interrupts, one hart), which is what defmt requires of
    // acquire/release.
    unsafe impl defmt::Logger for Logger {
        fn acquire() {
            // SAFETY: see the impl's comment.
            unsafe { (*ENCODER.0.get()).start_frame(emit) }
        }

        unsafe fn flush() {}

        unsafe fn release() {
            // SAFETY: see the impl's comment.
            unsafe { (*ENCODER.0.get()).end_frame(emit) }
        }

        unsafe fn write(bytes: &[u8]) {
            // SAFETY: see the impl's comment.
            unsafe { (*ENCODER.0.get()).write(bytes, emit) }
        }
    }

    defmt::timestamp!("{=u64:ms}", crate::clint::now().as_millis());

    pub fn init() {}
}

#[cfg(feature = "defmt")]
pub use frames::init;

/// Neither console: the firmware is silent.
#[cfg(not(any(feature = "log", feature = "defmt")))]
pub fn init() {}
