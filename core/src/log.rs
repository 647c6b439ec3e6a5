//! A logging shim: the core's diagnostics go to `log`, to `defmt`, or nowhere.
//!
//! smoltcp's pattern: one macro per level that forwards to whichever backend the `log` or `defmt`
//! feature selects, and otherwise still type-checks (and discards) its arguments so a build
//! without logging does not warn about unused values. The routing macro is exported (hidden) so
//! the runtimes built on the core (`eventmpm-os-embedded`) log through this one shim too; call
//! sites must therefore use only `{}` with integers and `&str`, which both backends format.

/// Re-exports the routing macro's expansion needs, so callers need no direct dependency.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "defmt")]
    pub use defmt;
    #[cfg(feature = "log")]
    pub use log;
}

#[cfg(feature = "log")]
#[doc(hidden)]
#[macro_export]
macro_rules! __core_log {
    ($level:ident, $($arg:tt)*) => { $crate::log::__private::log::$level!(target: "eventmpm", $($arg)*) };
}

#[cfg(all(feature = "defmt", not(feature = "log")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __core_log {
    ($level:ident, $($arg:tt)*) => { $crate::log::__private::defmt::$level!($($arg)*) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __core_log {
    ($level:ident, $($arg:tt)*) => {{
        let _ = core::format_args!($($arg)*);
    }};
}

/// Start-up and other events an operator always wants.
#[allow(unused_macros)]
macro_rules! info { ($($arg:tt)*) => { $crate::__core_log!(info, $($arg)*) }; }
/// Something worth an operator's attention that the core handled itself.
#[allow(unused_macros)]
macro_rules! warn { ($($arg:tt)*) => { $crate::__core_log!(warn, $($arg)*) }; }
/// A state change an operator may want when debugging.
#[allow(unused_macros)]
macro_rules! debug { ($($arg:tt)*) => { $crate::__core_log!(debug, $($arg)*) }; }
/// Per-event detail.
#[allow(unused_macros)]
macro_rules! trace { ($($arg:tt)*) => { $crate::__core_log!(trace, $($arg)*) }; }
