//! `Listen [addr:]port [protocol]`, read as httpd's `ap_set_listener` and APR's
//! `apr_parse_addr_port` read it.
//!
//! Accepted forms: `80`, `*:80`, `192.0.2.1:80`, `[2001:db8::1]:80`, each optionally followed by
//! a protocol (lower-cased; `https` by default on port 443, `http` otherwise). httpd also takes
//! host names and resolves them; the core has no resolver, and httpd's own description asks for
//! "a numeric IP address", so a host name is refused with a message saying so.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::DirectiveError;

/// The most `Listen` directives a configuration may hold.
pub const MAX_LISTENERS: usize = 16;

/// The longest protocol name kept (`http`, `https`, …).
pub const MAX_PROTOCOL_LEN: usize = 16;

/// A protocol name, lower case.
pub type Protocol = heapless::String<MAX_PROTOCOL_LEN>;

/// One `Listen` directive.
#[doc(alias = "Listen")]
#[doc(alias = "ap_listen_rec")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The address to bind, or `None` for every address (`Listen 80`, `Listen *:80`).
    pub address: Option<IpAddr>,
    /// The port, 1 to 65535.
    pub port: u16,
    /// The protocol served on it, lower case.
    pub protocol: Protocol,
}

impl Listener {
    /// Whether `other` binds the same address and port (httpd: "Cannot define multiple Listeners
    /// on the same IP:port").
    pub fn same_socket(&self, other: &Listener) -> bool {
        self.address == other.address && self.port == other.port
    }
}

/// Reads the arguments of one `Listen` directive.
pub(crate) fn parse<'a>(args: &[&'a str]) -> Result<Listener, DirectiveError<'a>> {
    let (spec, protocol) = match args {
        [spec] => (*spec, None),
        [spec, protocol] => (*spec, Some(*protocol)),
        _ => return Err(DirectiveError::Fixed("Listen requires 1 or 2 arguments.")),
    };
    let invalid = DirectiveError::Fixed("Invalid address or port");
    let (host, port) = split_port(spec).ok_or(invalid)?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => {
            let inner = bracketed.strip_suffix(']').ok_or(invalid)?;
            let (address, scope) = match inner.split_once('%') {
                Some((address, _)) => (address, true),
                None => (inner, false),
            };
            let address: Ipv6Addr = address.parse().map_err(|_| invalid)?;
            if scope {
                return Err(DirectiveError::Fixed("Scope id is not supported"));
            }
            Host::Numeric(IpAddr::V6(address))
        }
        None if host.is_empty() || host == "*" => Host::Any,
        None => match host.parse::<Ipv4Addr>() {
            Ok(address) => Host::Numeric(IpAddr::V4(address)),
            // An unbracketed IPv6 address: APR would take its last group for the port.
            Err(_) if host.contains([':', '[', ']']) => return Err(invalid),
            Err(_) => Host::Name(host),
        },
    };
    if port == 0 {
        return Err(DirectiveError::Fixed("Port must be specified"));
    }
    let address = match host {
        Host::Any => None,
        Host::Numeric(address) => Some(address),
        Host::Name(host) => return Err(DirectiveError::ListenHostName { host }),
    };
    let protocol = match protocol {
        Some(name) => lower(name)?,
        None if port == 443 => lower("https")?,
        None => lower("http")?,
    };
    Ok(Listener {
        address,
        port,
        protocol,
    })
}

enum Host<'a> {
    Any,
    Numeric(IpAddr),
    Name(&'a str),
}

/// APR's split of `host:port`: the port is the trailing digits when they are the whole string
/// or follow a `:`; otherwise there is no port (0). `None` for a port outside 1..=65535.
fn split_port(spec: &str) -> Option<(&str, u16)> {
    let digits = spec.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Some((spec, 0));
    }
    let at = spec.len() - digits;
    let (host, port) = match spec[..at].strip_suffix(':') {
        Some(host) => (host, &spec[at..]),
        None if at == 0 => ("", spec),
        // Digits not after a colon belong to the host (`host80`, `192.0.2.1`).
        None => return Some((spec, 0)),
    };
    let port = port
        .bytes()
        .try_fold(0u32, |n, d| Some(n.checked_mul(10)? + u32::from(d - b'0')))
        .and_then(|n| u16::try_from(n).ok())
        .filter(|&n| n != 0)?;
    Some((host, port))
}

/// httpd lower-cases the protocol (ASCII only).
fn lower(name: &str) -> Result<Protocol, DirectiveError<'_>> {
    let mut out = Protocol::new();
    for c in name.chars() {
        out.push(c.to_ascii_lowercase())
            .map_err(|_| DirectiveError::TooLong {
                directive: "Listen",
                limit: MAX_PROTOCOL_LEN,
            })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn listen(args: &[&str]) -> Listener {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn fails(args: &[&str]) -> std::string::String {
        parse(args).unwrap_err().to_string()
    }

    #[test]
    fn forms_httpd_accepts() {
        let l = listen(&["80"]);
        assert_eq!((l.address, l.port, l.protocol.as_str()), (None, 80, "http"));
        let l = listen(&["*:443"]);
        assert_eq!(
            (l.address, l.port, l.protocol.as_str()),
            (None, 443, "https")
        );
        let l = listen(&["192.0.2.1:8080", "HTTPS"]);
        assert_eq!(l.address, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!((l.port, l.protocol.as_str()), (8080, "https"));
        let l = listen(&["[2001:db8::1]:80"]);
        assert_eq!(l.address, Some("2001:db8::1".parse().unwrap()));
        let l = listen(&["[::]:8443", "http"]);
        assert_eq!(
            (l.address, l.protocol.as_str()),
            (Some("::".parse().unwrap()), "http")
        );
    }

    #[test]
    fn errors_use_httpd_texts() {
        assert_eq!(fails(&[]), "Listen requires 1 or 2 arguments.");
        assert_eq!(
            fails(&["80", "http", "x"]),
            "Listen requires 1 or 2 arguments."
        );
        for bad in [
            "0",
            "65536",
            "99999999999",
            "[::1",
            "[]:80",
            "[zz]:80",
            "::1",
            ":x:80",
        ] {
            assert_eq!(fails(&[bad]), "Invalid address or port", "{bad}");
        }
        for no_port in ["192.0.2.1", "[::1]", "*", "host80"] {
            assert_eq!(fails(&[no_port]), "Port must be specified", "{no_port}");
        }
        assert_eq!(fails(&["[fe80::1%eth0]:80"]), "Scope id is not supported");
        assert_eq!(
            fails(&["localhost:80"]),
            "Listen needs a numeric IP address, not the host name localhost"
        );
        assert_eq!(
            fails(&["80", "a-very-long-protocol-name"]),
            "Listen argument is longer than 16 bytes"
        );
    }

    #[test]
    fn same_socket_compares_address_and_port() {
        let a = listen(&["80"]);
        assert!(a.same_socket(&listen(&["*:80", "https"])));
        assert!(!a.same_socket(&listen(&["0.0.0.0:80"])));
        assert!(!a.same_socket(&listen(&["81"])));
    }
}
