//! `Require` (mod_authz_core / mod_authz_host): who may fetch a location.
//!
//! Supported providers: `all granted`, `all denied`, `local` (a loopback peer, or a peer whose
//! address is the server's own), and `ip` with full addresses, partial IPv4 addresses (`10.1`),
//! `addr/bits` and `addr/netmask`. Several `Require` lines in one section grant access if any of
//! them does (httpd's implicit `<RequireAny>`). Providers that need more than the peer's address
//! (`host`, `user`, `expr`, …) are refused at configuration time rather than silently ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// One `Require` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `Require all granted`.
    AllGranted,
    /// `Require all denied`.
    AllDenied,
    /// `Require local`.
    Local,
    /// `Require ip …`.
    Ip(Vec<Net>),
}

impl Rule {
    /// Parse a `Require` line's arguments.
    pub fn parse(args: &[&str]) -> Result<Rule, String> {
        match args {
            [] => Err(
                "Require takes at least one argument, authorization provider and arguments".into(),
            ),
            [p, rest @ ..] if p.eq_ignore_ascii_case("all") => match rest {
                [g] if g.eq_ignore_ascii_case("granted") => Ok(Rule::AllGranted),
                [d] if d.eq_ignore_ascii_case("denied") => Ok(Rule::AllDenied),
                _ => Err("'Require all' accepts 'granted' or 'denied'".into()),
            },
            [p] if p.eq_ignore_ascii_case("local") => Ok(Rule::Local),
            [p, _, ..] if p.eq_ignore_ascii_case("local") => {
                Err("'Require local' does not take an argument".into())
            }
            [p] if p.eq_ignore_ascii_case("ip") => Err("'Require ip' needs an address".into()),
            [p, nets @ ..] if p.eq_ignore_ascii_case("ip") => Ok(Rule::Ip(
                nets.iter()
                    .map(|n| Net::parse(n))
                    .collect::<Result<_, _>>()?,
            )),
            [p, ..] if p.eq_ignore_ascii_case("not") => {
                Err("negative Require directive has no effect in <RequireAny> directive".into())
            }
            [p, ..] => Err(format!(
                "Unknown Authz provider: {p} (eventmpm supports all, local and ip)"
            )),
        }
    }

    fn grants(&self, peer: IpAddr, local: IpAddr) -> bool {
        match self {
            Rule::AllGranted => true,
            Rule::AllDenied => false,
            Rule::Local => {
                let p = unmap(peer);
                p.is_loopback() || p == unmap(local)
            }
            Rule::Ip(nets) => nets.iter().any(|n| n.contains(peer)),
        }
    }
}

/// The `Require` lines of one section: access is granted if any line grants it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    rules: Vec<Rule>,
}

impl Access {
    /// Access with a single rule.
    pub fn only(rule: Rule) -> Access {
        Access { rules: vec![rule] }
    }

    /// Add a `Require` line.
    pub fn push(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// Whether the section has any `Require` line (an empty section inherits its parent's).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `peer` (connected to the server's `local` address) may fetch.
    pub fn allows(&self, peer: IpAddr, local: IpAddr) -> bool {
        self.rules.iter().any(|r| r.grants(peer, local))
    }
}

/// The loopback addresses, for tests and defaults.
pub const LOCALHOST_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rule(line: &str) -> Result<Rule, String> {
        Rule::parse(&line.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn ip_forms() {
        let r = rule("ip 10.1 192.168.0.0/16 172.16.0.0/255.240.0.0 ::1 2001:db8::/32").unwrap();
        let a = Access::only(r);
        let local = ip("127.0.0.1");
        for yes in [
            "10.1.2.3",
            "192.168.99.1",
            "172.31.0.1",
            "::1",
            "2001:db8::5",
            "::ffff:10.1.0.1",
        ] {
            assert!(a.allows(ip(yes), local), "{yes}");
        }
        for no in [
            "10.2.0.1",
            "192.169.0.1",
            "172.32.0.1",
            "::2",
            "2001:db9::1",
        ] {
            assert!(!a.allows(ip(no), local), "{no}");
        }
        assert!(rule("ip 10.0.0.0/33").is_err());
        assert!(rule("ip 10.0.0.0/255.0.255.0").is_err());
        assert!(rule("ip banana").is_err());
        assert!(rule("ip").is_err());
    }

    #[test]
    fn local_all_and_any_of_several_lines() {
        let mut a = Access::default();
        a.push(rule("local").unwrap());
        let server = ip("192.0.2.10");
        assert!(a.allows(ip("127.0.0.1"), server));
        assert!(a.allows(ip("::1"), server));
        assert!(
            a.allows(server, server),
            "the server's own address is local"
        );
        assert!(!a.allows(ip("192.0.2.11"), server));
        a.push(rule("ip 192.0.2.0/24").unwrap());
        assert!(a.allows(ip("192.0.2.11"), server), "any line may grant");
        assert!(Access::only(rule("all granted").unwrap()).allows(ip("8.8.8.8"), server));
        assert!(!Access::only(rule("all denied").unwrap()).allows(ip("127.0.0.1"), server));
    }

    #[test]
    fn unsupported_providers_are_errors() {
        assert!(
            rule("host example.org")
                .unwrap_err()
                .contains("Unknown Authz provider")
        );
        assert!(rule("valid-user").is_err());
        assert!(rule("not ip 10.0.0.1").is_err());
        assert!(rule("all maybe").is_err());
        assert!(Rule::parse(&[]).is_err());
    }
}
