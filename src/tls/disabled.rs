//! The TLS interface of a build without the `tls` feature: the types exist, no value of
//! [`Session`] or [`Server`] can, and `SSL*` directives are refused.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use crate::config::{ConfigError, ServerConfig};

/// No TLS configuration exists in this build.
#[derive(Debug, Clone)]
pub enum Server {}

/// No TLS connection exists in this build.
#[derive(Debug)]
pub enum Session {}

/// What a [`Session::read`] brought (never constructed in this build).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Decrypted bytes.
    Bytes {
        /// How many.
        n: usize,
        /// The socket is drained.
        drained: bool,
    },
    /// End of stream.
    End,
    /// Socket drained.
    Drained,
    /// Call again.
    Paused,
    /// Plain HTTP.
    PlainHttp,
}

#[allow(missing_docs, clippy::missing_errors_doc)]
impl Session {
    pub fn new(server: &Server) -> Option<Session> {
        match *server {}
    }
    pub fn is_handshaking(&self) -> bool {
        match *self {}
    }
    pub fn server_name(&self) -> Option<&str> {
        match *self {}
    }
    pub fn received(&self) -> u64 {
        match *self {}
    }
    pub fn version(&self) -> Option<&'static str> {
        match *self {}
    }
    pub fn read(&mut self, _: &TcpStream, _: &mut [u8]) -> io::Result<Received> {
        match *self {}
    }
    pub fn write(&mut self, _: &TcpStream, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }
    pub fn flush(&mut self, _: &TcpStream) -> io::Result<bool> {
        match *self {}
    }
    pub fn pending(&self) -> bool {
        match *self {}
    }
    pub fn room(&self) -> usize {
        match *self {}
    }
    pub fn close(&mut self, _: &TcpStream) {
        match *self {}
    }
}

/// mod_ssl's settings: none in this build.
#[derive(Debug, Clone, Default)]
pub struct Settings {}

/// Every `SSL*` directive is refused: this build has no TLS.
#[allow(clippy::too_many_arguments)]
pub fn directive(
    _: &mut Settings,
    _: &Path,
    _: u32,
    name: &str,
    _: &[&str],
    _: bool,
    _: &Path,
    _: &mut Vec<String>,
) -> Option<Result<(), String>> {
    name.to_ascii_lowercase().starts_with("ssl").then(|| {
        Err(format!(
            "{name}: this eventmpm was built without TLS (cargo feature 'tls')"
        ))
    })
}

/// Nothing to build.
pub fn finish(_: &mut ServerConfig) -> Result<(), ConfigError> {
    Ok(())
}

/// No listener serves TLS.
#[derive(Debug, Clone, Default)]
pub struct Listeners {}

impl Listeners {
    /// None.
    pub fn new(_: &ServerConfig) -> Listeners {
        Listeners {}
    }

    /// Never strict: no TLS.
    pub fn strict_sni(&self) -> bool {
        false
    }

    /// Never a configuration.
    pub fn for_socket(&self, _: SocketAddr) -> Option<Server> {
        None
    }
}
