//! The Connection field's options and the persistence rules of HTTP/1.0 and 1.1.

use super::Version;
use super::token::list;

/// The options of a request's Connection fields that the server acts on.
///
/// All Connection fields of a request are read as one comma-separated list; option names are
/// case-insensitive (RFC 9110 §7.6.1). Other options are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectionOptions {
    close: bool,
    keep_alive: bool,
    upgrade: bool,
}

impl ConnectionOptions {
    /// Adds the options of one Connection field value.
    pub(crate) fn add(&mut self, value: &[u8]) {
        // Nearly every client sends a single option; skip the list machinery for it.
        if value.eq_ignore_ascii_case(b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        if value.eq_ignore_ascii_case(b"close") {
            self.close = true;
            return;
        }
        for option in list(value) {
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if option.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            }
        }
    }

    /// `close`: the client will close after this response.
    pub fn close(&self) -> bool {
        self.close
    }

    /// `keep-alive`: an HTTP/1.0 client asks for a persistent connection.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// `upgrade`: the client offers to switch protocols (the Upgrade field says to what).
    pub fn upgrade(&self) -> bool {
        self.upgrade
    }

    /// Whether a request with these options may be followed by another on the same connection
    /// (RFC 9112 §9.3): HTTP/1.1 persists unless `close` is sent; HTTP/1.0 only with
    /// `keep-alive` (and no `close`); HTTP/0.9 never. The server may still close for its own reasons
    /// (`MaxKeepAliveRequests`, a graceful stop, an error).
    #[doc(alias = "ap_set_keepalive")]
    pub fn persistent(&self, version: Version) -> bool {
        if self.close {
            return false;
        }
        match version {
            Version::Http11 => true,
            Version::Http10 => self.keep_alive,
            Version::Http09 => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(values: &[&[u8]]) -> ConnectionOptions {
        let mut o = ConnectionOptions::default();
        for v in values {
            o.add(v);
        }
        o
    }

    #[test]
    fn tokens_are_case_insensitive_and_listed() {
        let o = opts(&[b"Keep-Alive, Upgrade"]);
        assert!(o.keep_alive() && o.upgrade() && !o.close());
        let o = opts(&[b"foo", b" CLOSE "]);
        assert!(o.close() && !o.keep_alive());
        let o = opts(&[b"closed, keep-alive-ish"]);
        assert_eq!(o, ConnectionOptions::default());
    }

    #[test]
    fn persistence_rules() {
        assert!(opts(&[]).persistent(Version::Http11));
        assert!(!opts(&[]).persistent(Version::Http10));
        assert!(opts(&[b"keep-alive"]).persistent(Version::Http10));
        assert!(!opts(&[b"close"]).persistent(Version::Http11));
        assert!(!opts(&[b"keep-alive, close"]).persistent(Version::Http10));
        assert!(!opts(&[b"keep-alive", b"close"]).persistent(Version::Http11));
        assert!(!opts(&[b"keep-alive"]).persistent(Version::Http09));
    }
}
