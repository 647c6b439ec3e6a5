//! mod_authz_host's address tests: `Require ip` networks (full addresses, partial IPv4
//! addresses like `10.1`, `addr/bits`, `addr/netmask`) and `Require local`. The same networks
//! serve mod_access_compat's `Allow from` / `Deny from`.

use std::net::{IpAddr, Ipv4Addr};

/// One network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    bits: u8,
}

impl Net {
    /// Whether `ip` is inside this network. IPv4-mapped IPv6 peers match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }

    /// Parse one `Require ip` argument.
    pub fn parse(s: &str) -> Result<Net, String> {
        let bad = || format!("ip address '{s}' appears to be invalid");
        if let Some((a, m)) = s.split_once('/') {
            let addr: IpAddr = a.parse().map_err(|_| bad())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = if let Ok(bits) = m.parse::<u8>() {
                bits
            } else if let (IpAddr::V4(_), Ok(mask)) = (addr, m.parse::<Ipv4Addr>()) {
                let m = u32::from(mask);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return Err(format!("netmask in '{s}' is not contiguous"));
                }
                m.leading_ones() as u8
            } else {
                return Err(bad());
            };
            if bits > max {
                return Err(bad());
            }
            return Ok(Net { addr, bits });
        }
        if let Ok(addr) = s.parse::<IpAddr>() {
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(Net { addr, bits });
        }
        // A partial IPv4 address: "10", "10.1", "10.1.2" (a trailing dot is allowed).
        let parts: Vec<&str> = s.trim_end_matches('.').split('.').collect();
        if parts.len() < 4 && !parts.is_empty() {
            let mut octets = [0u8; 4];
            for (i, p) in parts.iter().enumerate() {
                octets[i] = p.parse().map_err(|_| bad())?;
            }
            return Ok(Net {
                addr: IpAddr::V4(Ipv4Addr::from(octets)),
                bits: 8 * parts.len() as u8,
            });
        }
        Err(bad())
    }
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// Whether `peer` is local to a server whose own address is `local` (`Require local`): a
/// loopback address, or the server's own address.
pub fn is_local(peer: IpAddr, local: IpAddr) -> bool {
    let p = unmap(peer);
    p.is_loopback() || p == unmap(local)
}

/// Parse `Require ip`'s arguments (and `Allow from`'s addresses).
pub fn parse_nets(args: &[&str]) -> Result<Vec<Net>, String> {
    if args.is_empty() {
        return Err("'Require ip' needs an address".into());
    }
    args.iter().map(|n| Net::parse(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_forms() {
        let nets = parse_nets(&[
            "10.1",
            "192.168.0.0/16",
            "172.16.0.0/255.240.0.0",
            "::1",
            "2001:db8::/32",
        ])
        .unwrap();
        let any = |a: &str| nets.iter().any(|n| n.contains(ip(a)));
        for yes in [
            "10.1.2.3",
            "192.168.99.1",
            "172.31.0.1",
            "::1",
            "2001:db8::5",
            "::ffff:10.1.0.1",
        ] {
            assert!(any(yes), "{yes}");
        }
        for no in [
            "10.2.0.1",
            "192.169.0.1",
            "172.32.0.1",
            "::2",
            "2001:db9::1",
        ] {
            assert!(!any(no), "{no}");
        }
        assert!(parse_nets(&["10.0.0.0/33"]).is_err());
        assert!(parse_nets(&["10.0.0.0/255.0.255.0"]).is_err());
        assert!(parse_nets(&["banana"]).is_err());
        assert!(parse_nets(&[]).is_err());
    }

    #[test]
    fn local_is_loopback_or_the_servers_own_address() {
        let server = ip("192.0.2.10");
        assert!(is_local(ip("127.0.0.1"), server));
        assert!(is_local(ip("::1"), server));
        assert!(is_local(server, server));
        assert!(is_local(ip("::ffff:192.0.2.10"), server));
        assert!(!is_local(ip("192.0.2.11"), server));
    }
}
