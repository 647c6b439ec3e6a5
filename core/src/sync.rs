//! The atomics the core uses, from one place.
//!
//! Normal builds take them from `portable-atomic`, which uses the CPU's native instructions where
//! they exist and supplies compare-and-swap where the CPU has none (thumbv6m, riscv32imc, SPARC V8;
//! the final binary picks the provider, e.g. `portable-atomic/critical-section`). Under
//! `--cfg loom` the same names come from `loom`, so model checks see every access.
//!
//! Only widths that are lock-free on every target we support are used in shared memory; see
//! [`crate::scoreboard`] for the compile-time assertions.

#[cfg(not(loom))]
pub use portable_atomic::{
    AtomicBool, AtomicI32, AtomicU8, AtomicU16, AtomicU32, AtomicUsize, Ordering,
};

#[cfg(loom)]
pub use loom::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU8, AtomicU16, AtomicU32, AtomicUsize, Ordering,
};
