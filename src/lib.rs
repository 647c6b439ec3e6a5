//! eventmpm: Apache httpd's event and worker MPMs, rebuilt in Rust.
//!
//! The decisions live in [`eventmpm_core`]; this crate is the Unix runtime around them.

pub use eventmpm_core as core;

pub mod accept_mutex;
pub mod accept_turns;
pub mod board;
pub mod buffers;
pub mod cgi;
pub mod child;
pub mod config;
pub mod cputime;
pub mod errorlog;
pub mod handoff;
pub mod logformat;
pub mod mime;
pub mod modules;
pub mod net;
pub mod open_files;
pub mod pages;
pub mod parent;
pub mod privileges;
pub mod server;
pub mod signals;
pub mod site;
pub mod sys;
pub mod tls;
pub mod vhosts;
pub mod wildcard;
