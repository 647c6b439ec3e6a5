//! HTTPS: mod_ssl's directives on rustls (cargo feature `tls`, on by default).
//!
//! The handshake and the decryption of request heads run where plain heads are read — in the
//! listener, without a worker — through the connection's [`Session`]; a response is encrypted
//! by the thread that sends it into the session's bounded send buffer
//! ([`session::SEND_BUFFER`]), and what the socket cannot take yet is drained by the listener's
//! write completion like any other pending output. Built without the feature, the same names
//! exist with nothing behind them: every `SSL*` directive is refused, and no connection ever
//! has a session.

#[cfg(feature = "tls")]
mod ciphers;
#[cfg(feature = "tls")]
pub mod config;
#[cfg(feature = "tls")]
mod crypto;
pub mod plain_http;
#[cfg(feature = "tls")]
mod protocol;
#[cfg(feature = "tls")]
pub mod session;
#[cfg(feature = "tls")]
mod sni;

#[cfg(feature = "tls")]
pub use config::{Listeners, Settings, directive, finish};
#[cfg(feature = "tls")]
pub use session::{Received, Session};
/// The cryptography under rustls in this build (`-V`): see `crypto.rs` for the per-target
/// choice.
#[cfg(feature = "tls")]
pub const CRYPTO: &str = crypto::NAME;

/// A listening socket's TLS configuration.
#[cfg(feature = "tls")]
pub type Server = std::sync::Arc<rustls::ServerConfig>;

#[cfg(not(feature = "tls"))]
mod disabled;
#[cfg(not(feature = "tls"))]
pub use disabled::*;
