//! SNI: the certificate for the name a client asks for, among the hosts the configuration
//! built (each a list of names and its certificate). The first host is the default, as httpd's
//! first virtual host for an address is, also for a client that names no host: as in httpd,
//! `SSLStrictSNIVHostCheck On` refuses such a client's requests (403, in the worker's plan),
//! not its handshake.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// One host's names (`ServerName`, `ServerAlias`; `*.example.com` matches one label) and
/// certificate.
#[derive(Debug, Clone)]
pub struct Host {
    /// Lower-case names.
    pub names: Vec<String>,
    /// Its certificate chain and key.
    pub key: Arc<CertifiedKey>,
}

/// Chooses a host's certificate by SNI.
#[derive(Debug)]
pub struct Hosts {
    hosts: Vec<Host>,
}

impl Hosts {
    /// `hosts` must not be empty: the first is the default.
    pub fn new(hosts: Vec<Host>) -> Hosts {
        debug_assert!(!hosts.is_empty());
        Hosts { hosts }
    }

    /// The host serving `name` (the client's SNI, if any).
    pub fn choose(&self, name: Option<&str>) -> Option<&Host> {
        let Some(name) = name else {
            return self.hosts.first();
        };
        let name = name.to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|h| h.names.iter().any(|n| matches(n, &name)))
            .or_else(|| self.hosts.first())
    }
}

/// Whether configured `pattern` names `name` (both lower case).
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == name,
    }
}

impl ResolvesServerCert for Hosts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(hello.server_name()).map(|h| h.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::SignatureScheme;
    use rustls::sign::{Signer, SigningKey};

    /// A key that never signs: choosing a host needs only its identity.
    #[derive(Debug)]
    struct NoKey;

    impl SigningKey for NoKey {
        fn choose_scheme(&self, _: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
            None
        }
        fn algorithm(&self) -> rustls::SignatureAlgorithm {
            rustls::SignatureAlgorithm::ECDSA
        }
    }

    fn host(names: &[&str]) -> Host {
        Host {
            names: names.iter().map(|n| n.to_string()).collect(),
            key: Arc::new(CertifiedKey::new(Vec::new(), Arc::new(NoKey))),
        }
    }

    #[test]
    fn sni_chooses_by_name_and_falls_back_to_the_first() {
        let hosts = Hosts::new(vec![host(&["a.test"]), host(&["b.test", "*.c.test"])]);
        let pick = |n: Option<&str>| {
            let h = hosts.choose(n).unwrap();
            hosts.hosts.iter().position(|x| std::ptr::eq(x, h)).unwrap()
        };
        assert_eq!(pick(Some("a.test")), 0);
        assert_eq!(pick(Some("B.Test")), 1);
        assert_eq!(pick(Some("www.c.test")), 1);
        assert_eq!(pick(Some("other.test")), 0);
        assert_eq!(pick(None), 0);
    }

    #[test]
    fn wildcards_match_one_label() {
        assert!(matches("*.example.com", "www.example.com"));
        assert!(!matches("*.example.com", "a.b.example.com"));
        assert!(!matches("*.example.com", "example.com"));
        assert!(matches("example.com", "example.com"));
    }
}
