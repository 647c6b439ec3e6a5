//! # eventmpm-os-embedded
//!
//! The event MPM as a single-process, thread-free, heap-free runtime for devices without an
//! operating system: the core's connection table, timeouts, admission and HTTP/1.1 framing,
//! driven by one cooperative loop over a TCP stack's sockets.
//!
//! | module | what |
//! |---|---|
//! | [`socket`] | what a TCP stack must offer: embedded-io sockets plus shutdown and abort, and a fixed set of them that listen |
//! | [`smoltcp`] | the smoltcp adapter (feature `smoltcp`) |
//! | [`config`] | httpd.conf directives from a text compiled into the firmware |
//! | [`tree`] | a read-only file tree compiled into flash |
//! | [`build`] | for build scripts (feature `build`): the file tree generator and the configuration check |
#![no_std]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

#[macro_use]
mod log;

pub mod config;
pub mod handler;
pub mod io;
mod poll;
mod respond;
pub mod runtime;
pub mod socket;
pub mod status;
pub mod tree;

#[cfg(feature = "smoltcp")]
pub mod smoltcp;

#[cfg(feature = "build")]
pub mod build;
