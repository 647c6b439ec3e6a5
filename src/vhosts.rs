//! Choosing the host that answers a request, by httpd's rules (`server/vhost.c`), and the host
//! table `-S` prints.
//!
//! Hosts are numbered as the [`Site`](crate::site::Site) holds them: 0 is the main server,
//! `k + 1` the configuration's `k`th `<VirtualHost>`. Each distinct address:port written on
//! `<VirtualHost>` lines is a *chain*: its hosts in configuration order, the first being its
//! default. A connection's local address picks a chain — an exact address first, then `*`
//! (`_default_`) for its port, then `*:*` — or, with none, the main server. On a chain of two
//! or more hosts (name-based), the request's host name picks among them: ServerName, then
//! ServerAlias (wildcards `*` and `?`), compared without regard to ASCII case, after the
//! name's `:port` and a trailing dot are taken off; failing those, a host whose `<VirtualHost>`
//! address is written as that name; failing that, the chain's default. The port of the `Host`
//! field is never used: the connection's port is (as httpd does).
//!
//! The table is built once at start-up; choosing scans it linearly (at most
//! [`MAX_HOSTS`](crate::config::MAX_HOSTS) hosts and their names) and allocates nothing.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::config::ServerConfig;

/// One address:port from `<VirtualHost>` lines and the hosts that listen on it.
#[derive(Debug, Clone)]
struct Chain {
    /// `None`: any local address (`*`, `_default_`, `0.0.0.0`).
    ip: Option<IpAddr>,
    /// 0: any port.
    port: u16,
    /// The hosts on it, in configuration order (the first is the default), each with the port
    /// and address text its own line gave.
    members: Vec<Member>,
}

#[derive(Debug, Clone)]
struct Member {
    host: usize,
    port: u16,
    text: String,
}

/// The names one host answers to, lowercase.
#[derive(Debug, Clone, Default)]
struct Names {
    server_name: String,
    aliases: Vec<String>,
    wild: Vec<String>,
}

/// The host table: built from the configuration, consulted per request.
#[derive(Debug, Clone, Default)]
pub struct HostTable {
    /// Exact-address chains, then wildcard ones, each group in configuration order.
    exact: Vec<Chain>,
    wildcard: Vec<Chain>,
    /// Per host (0 = main server).
    names: Vec<Names>,
    /// Per host: ServerName as configured (or httpd's fallback) and where it was defined, for
    /// `-S`.
    shown: Vec<(String, String, u32)>,
}

impl HostTable {
    /// Build the table for `cfg`'s `<VirtualHost>` sections.
    pub fn new(cfg: &ServerConfig) -> HostTable {
        let mut t = HostTable::default();
        t.names.push(Names {
            server_name: cfg.server_name.to_ascii_lowercase(),
            ..Names::default()
        });
        t.shown.push((cfg.server_name.clone(), String::new(), 0));
        for (k, v) in cfg.vhosts.iter().enumerate() {
            let host = k + 1;
            let mut prev: Option<(Option<IpAddr>, u16)> = None;
            for a in &v.addrs {
                let member = Member {
                    host,
                    port: a.port,
                    text: a.text.to_ascii_lowercase(),
                };
                match a.ip {
                    None => match t.find_wildcard(a.port) {
                        Some(i) if t.wildcard[i].port == a.port => {
                            // `<VirtualHost *:80 *:80>` names the host once on the chain.
                            if prev != Some((None, a.port)) {
                                t.wildcard[i].members.push(member);
                            }
                        }
                        _ => t.wildcard.push(Chain {
                            ip: None,
                            port: a.port,
                            members: vec![member],
                        }),
                    },
                    Some(ip) => match t.find_exact(ip, a.port) {
                        Some(i) if t.exact[i].port == a.port => t.exact[i].members.push(member),
                        _ => t.exact.push(Chain {
                            ip: Some(ip),
                            port: a.port,
                            members: vec![member],
                        }),
                    },
                }
                prev = Some((a.ip, a.port));
            }
            // httpd: a host without ServerName takes the main server's when it has a wildcard
            // address, else the name of its address (reverse DNS there; the address here).
            let name = match &v.server_name {
                Some(n) => n.clone(),
                None if v.addrs.iter().any(|a| a.ip.is_none()) => cfg.server_name.clone(),
                None => v.addrs.first().map(|a| a.text.clone()).unwrap_or_default(),
            };
            t.names.push(Names {
                server_name: name.to_ascii_lowercase(),
                aliases: v.aliases.iter().map(|a| a.to_ascii_lowercase()).collect(),
                wild: v
                    .wild_aliases
                    .iter()
                    .map(|a| a.to_ascii_lowercase())
                    .collect(),
            });
            t.shown.push((name, v.file.display().to_string(), v.line));
        }
        t
    }

    /// How many hosts there are, the main server included.
    pub fn hosts(&self) -> usize {
        self.names.len()
    }

    /// httpd's `find_ipaddr`: the chain for exactly `ip:port`, else one for `ip` where either
    /// port is "any".
    fn find_exact(&self, ip: IpAddr, port: u16) -> Option<usize> {
        let mut wild = None;
        for (i, c) in self.exact.iter().enumerate() {
            if c.ip != Some(ip) {
                continue;
            }
            if c.port == port {
                return Some(i);
            }
            if wild.is_none() && (c.port == 0 || port == 0) {
                wild = Some(i);
            }
        }
        wild
    }

    /// httpd's `find_default_server`: the wildcard chain for `port`, else for any port.
    fn find_wildcard(&self, port: u16) -> Option<usize> {
        let mut wild = None;
        for (i, c) in self.wildcard.iter().enumerate() {
            if c.port == port {
                return Some(i);
            }
            if wild.is_none() && c.port == 0 {
                wild = Some(i);
            }
        }
        wild
    }

    /// The host (0 = main server) that answers a request that came to `local` naming `host`
    /// (the `Host` field, or the authority of an absolute-form target).
    pub fn choose(&self, local: SocketAddr, host: Option<&str>) -> usize {
        let port = local.port();
        let Some(chain) = self.chain(local) else {
            return 0;
        };
        let default = chain.members[0].host;
        // One host on the address: IP-based, the name is not looked at.
        if chain.members.len() < 2 {
            return default;
        }
        let Some(name) = host.map(bare_name).filter(|n| !n.is_empty()) else {
            return default;
        };
        let mut by_address = None;
        let mut last = usize::MAX;
        for m in &chain.members {
            if m.port != 0 && m.port != port {
                continue;
            }
            if m.host != last && self.names[m.host].matches(name) {
                return m.host;
            }
            if by_address.is_none() && m.text.eq_ignore_ascii_case(name) {
                by_address = Some(m.host);
            }
            last = m.host;
        }
        by_address.unwrap_or(default)
    }

    /// Whether requests that came to `local` choose among name-based virtual hosts: two or
    /// more on its address (httpd's `conn->vhost_lookup_data`).
    pub fn name_based(&self, local: SocketAddr) -> bool {
        self.chain(local).is_some_and(|c| c.members.len() >= 2)
    }

    /// httpd's `ap_update_vhost_given_ip`: the chain of hosts for `local`'s address, exact
    /// first, then the wildcard for its port; `None` for the main server alone.
    fn chain(&self, local: SocketAddr) -> Option<&Chain> {
        let ip = match local.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        let port = local.port();
        match self.find_exact(ip, port) {
            Some(i) => Some(&self.exact[i]),
            None => self.find_wildcard(port).map(|i| &self.wildcard[i]),
        }
    }

    /// The ServerName a host answers as (for the status page's VHost column and `%v`).
    pub fn server_name(&self, host: usize) -> &str {
        self.shown.get(host).map(|s| s.0.as_str()).unwrap_or("")
    }

    /// httpd's `-S` host table (`dump_vhost_config`), from "VirtualHost configuration:" on.
    pub fn dump(&self) -> String {
        let mut out = String::from("VirtualHost configuration:\n");
        // httpd walks its address hash table bucket by bucket.
        let mut exact: Vec<&Chain> = self.exact.iter().collect();
        exact.sort_by_key(|c| c.ip.map(hash_bucket).unwrap_or(0));
        for c in exact.into_iter().chain(&self.wildcard) {
            let mut addr = match c.ip {
                None => format!("*:{}", c.port),
                Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", c.port),
                Some(ip) => format!("{ip}:{}", c.port),
            };
            if c.port == 0 {
                addr.pop();
                addr.push('*');
            }
            let (name, file, line) = &self.shown[c.members[0].host];
            if c.members.len() < 2 {
                let _ = writeln!(out, "{addr:<22} {name} ({file}:{line})");
                continue;
            }
            let _ = writeln!(
                out,
                "{addr:<22} is a NameVirtualHost\n{:8} default server {name} ({file}:{line})",
                ""
            );
            for m in &c.members {
                let (name, file, line) = &self.shown[m.host];
                if m.port != 0 {
                    let _ = write!(out, "{:8} port {} ", "", m.port);
                } else {
                    let _ = write!(out, "{:8} port * ", "");
                }
                let _ = writeln!(out, "namevhost {name} ({file}:{line})");
                let names = &self.names[m.host];
                for a in &names.aliases {
                    let _ = writeln!(out, "{:16} alias {a}", "");
                }
                for a in &names.wild {
                    let _ = writeln!(out, "{:16} wild alias {a}", "");
                }
            }
        }
        out
    }
}

impl Names {
    /// httpd's `matches_aliases`: `name` (lowercase-insensitive) is the ServerName, an alias,
    /// or matches a wildcard alias.
    fn matches(&self, name: &str) -> bool {
        self.server_name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            || self
                .wild
                .iter()
                .any(|w| wild_match(w.as_bytes(), name.as_bytes()))
    }
}

/// httpd's `hash_addr`: the bucket of its 256-entry address table, from the address's last
/// four bytes read in the machine's byte order (so `-S` lists addresses in httpd's order).
fn hash_bucket(ip: IpAddr) -> u32 {
    let last4 = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    let mut key = u32::from_ne_bytes(last4);
    key ^= key >> 16;
    ((key >> 8) ^ key) % 256
}

/// A request's host name as httpd compares it (`fix_hostname`): without `:port`, without the
/// brackets of an IPv6 literal, without one trailing dot.
fn bare_name(host: &str) -> &str {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map(|(h, _)| h).unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    h.strip_suffix('.').unwrap_or(h)
}

/// `ap_strcasecmp_match`: `*` matches any run, `?` one byte, anything else itself without
/// regard to ASCII case.
fn wild_match(p: &[u8], s: &[u8]) -> bool {
    let rules = crate::wildcard::Rules {
        fold_case: true,
        ..Default::default()
    };
    crate::wildcard::matches(p, s, rules)
}

#[cfg(test)]
mod tests;
