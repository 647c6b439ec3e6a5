//! A logging shim: the core's diagnostics go to `log`, to `defmt`, or nowhere.
//!
//! smoltcp's pattern: one macro per level that forwards to whichever backend the `log` or `defmt`
//! feature selects, and otherwise still type-checks (and discards) its arguments so a build
//! without logging does not warn about unused values.

#[cfg(feature = "log")]
#[allow(unused_macros)]
macro_rules! core_log {
    ($level:ident, $($arg:tt)*) => { log::$level!(target: "eventmpm", $($arg)*) };
}

#[cfg(all(feature = "defmt", not(feature = "log")))]
#[allow(unused_macros)]
macro_rules! core_log {
    ($level:ident, $($arg:tt)*) => { defmt::$level!($($arg)*) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! core_log {
    ($level:ident, $($arg:tt)*) => {{
        let _ = core::format_args!($($arg)*);
    }};
}

/// Something worth an operator's attention that the core handled itself.
#[allow(unused_macros)]
macro_rules! warn { ($($arg:tt)*) => { core_log!(warn, $($arg)*) }; }
/// A state change an operator may want when debugging.
#[allow(unused_macros)]
macro_rules! debug { ($($arg:tt)*) => { core_log!(debug, $($arg)*) }; }
/// Per-event detail.
#[allow(unused_macros)]
macro_rules! trace { ($($arg:tt)*) => { core_log!(trace, $($arg)*) }; }
