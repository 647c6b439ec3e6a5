//! # eventmpm-os-embedded
//!
//! The event MPM as a single-process, thread-free, heap-free runtime for devices without an
//! operating system: the core's connection table, timeouts, admission and HTTP/1.1 framing,
//! driven by one cooperative loop over a TCP stack's sockets.
//!
//! | module | what |
//! |---|---|
//! | [`runtime`] | the runtime: [`Runtime::poll`](runtime::Runtime::poll) (the listener's work and up to `ThreadsPerChild` worker steps, each connection through the core's driver), admission by listening sockets |
//! | [`io`] | a connection's buffers and its bounded, non-blocking socket operations |
//! | [`socket`] | what a TCP stack must offer: embedded-io sockets plus shutdown and abort, and a fixed set of them that listen |
//! | [`smoltcp`] | the smoltcp adapter (feature `smoltcp`) |
//! | [`handler`] | dynamic pages, streamed |
//! | [`status`] | the single-process scoreboard behind server-status |
//! | [`config`] | httpd.conf directives, read with the core's tokenizer |
//! | [`tree`] | a read-only file tree compiled into flash |
//! | [`build`] | for build scripts (feature `build`): the file tree generator, the configuration check, the settings as Rust source |
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
