//! The runtime's diagnostics go through the core's shim (`log`, `defmt` or nothing, chosen by
//! this crate's features), so there is one routing for both crates. Arguments: `{}` with integers
//! and `&str` only, which both backends format.

macro_rules! info { ($($arg:tt)*) => { eventmpm_core::__core_log!(info, $($arg)*) }; }
macro_rules! warning { ($($arg:tt)*) => { eventmpm_core::__core_log!(warn, $($arg)*) }; }
macro_rules! debug { ($($arg:tt)*) => { eventmpm_core::__core_log!(debug, $($arg)*) }; }

pub(crate) use {debug, info, warning};
