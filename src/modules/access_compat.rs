//! mod_access_compat: httpd 2.2's `Order`, `Allow from`, `Deny from` and `Satisfy`, as httpd
//! 2.4 still runs them beside `Require`.
//!
//! As in httpd the module has no merge: the most specific section holding any of these
//! directives decides alone. `Allow from host.name` (a DNS lookup per request) is refused.

use std::net::IpAddr;

use super::authz_host::Net;

/// `Order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// `Order Deny,Allow` (the default): allowed unless denied and not allowed.
    #[default]
    DenyAllow,
    /// `Order Allow,Deny`: denied unless allowed and not denied.
    AllowDeny,
    /// `Order Mutual-failure`: allowed only if allowed and not denied.
    MutualFailure,
}

/// One `Allow from` / `Deny from` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum From {
    All,
    Net(Net),
    Env(String),
    NotEnv(String),
}

/// `Satisfy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Satisfy {
    /// Not set in any section: as `All`.
    #[default]
    Unset,
    /// Both the host rules and the `Require` rules must pass.
    All,
    /// Either passing is enough.
    Any,
}

/// A section's access_compat configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compat {
    order: Order,
    allow: Vec<From>,
    deny: Vec<From>,
    /// `Satisfy` (kept with the host rules: httpd's module holds both, unmerged).
    pub satisfy: Satisfy,
    present: bool,
}

impl Compat {
    /// Whether the section holds any of the module's directives.
    pub fn is_present(&self) -> bool {
        self.present
    }

    /// `Order …`.
    pub fn set_order(&mut self, arg: &str) -> Result<(), String> {
        self.order = match arg.to_ascii_lowercase().as_str() {
            "allow,deny" => Order::AllowDeny,
            "deny,allow" => Order::DenyAllow,
            "mutual-failure" => Order::MutualFailure,
            _ => return Err("unknown order".into()),
        };
        self.present = true;
        Ok(())
    }

    /// `Allow from …` (`allow`) or `Deny from …`.
    pub fn add(&mut self, allow: bool, args: &[&str]) -> Result<(), String> {
        let Some((from, hosts)) = args.split_first() else {
            return Err("allow and deny must be followed by 'from'".into());
        };
        if !from.eq_ignore_ascii_case("from") {
            return Err("allow and deny must be followed by 'from'".into());
        }
        if hosts.is_empty() {
            return Err(format!(
                "{} requires at least 2 arguments, 'from' followed by hostnames or IP-address wildcards",
                if allow { "Allow" } else { "Deny" }
            ));
        }
        for h in hosts {
            let lh = h.to_ascii_lowercase();
            let item = if let Some(v) = lh.strip_prefix("env=!") {
                From::NotEnv(h[h.len() - v.len()..].to_string())
            } else if let Some(v) = lh.strip_prefix("env=") {
                From::Env(h[h.len() - v.len()..].to_string())
            } else if lh == "all" {
                From::All
            } else {
                match Net::parse(h) {
                    Ok(n) => From::Net(n),
                    Err(_) if h.contains('/') => return Err("An IP address was expected".into()),
                    Err(_) if h.contains('#') => return Err("No comments are allowed here".into()),
                    Err(_) => {
                        return Err(format!(
                            "Allow/Deny from {h}: host names need DNS lookups while answering, \
                             which eventmpm does not do; give addresses"
                        ));
                    }
                }
            };
            if allow {
                self.allow.push(item);
            } else {
                self.deny.push(item);
            }
        }
        self.present = true;
        Ok(())
    }

    /// `Satisfy All|Any`.
    pub fn set_satisfy(&mut self, arg: &str) -> Result<(), String> {
        self.satisfy = parse_satisfy(arg)?;
        self.present = true;
        Ok(())
    }

    /// httpd's `check_dir_access`: whether the client passes the host rules.
    pub fn allows(&self, peer: IpAddr, env: &dyn Fn(&str) -> bool) -> bool {
        let hit = |list: &[From]| {
            list.iter().any(|f| match f {
                From::All => true,
                From::Net(n) => n.contains(peer),
                From::Env(v) => env(v),
                From::NotEnv(v) => !env(v),
            })
        };
        match self.order {
            Order::AllowDeny => hit(&self.allow) && !hit(&self.deny),
            Order::DenyAllow => !hit(&self.deny) || hit(&self.allow),
            Order::MutualFailure => hit(&self.allow) && !hit(&self.deny),
        }
    }
}

/// Parse `Satisfy All|Any`.
pub fn parse_satisfy(arg: &str) -> Result<Satisfy, String> {
    match arg.to_ascii_lowercase().as_str() {
        "all" => Ok(Satisfy::All),
        "any" => Ok(Satisfy::Any),
        _ => Err("Satisfy either 'any' or 'all'.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compat(lines: &[(&str, &str)]) -> Compat {
        let mut c = Compat::default();
        for (d, a) in lines {
            let args: Vec<&str> = a.split_whitespace().collect();
            match *d {
                "Order" => c.set_order(a).unwrap(),
                "Allow" => c.add(true, &args).unwrap(),
                "Deny" => c.add(false, &args).unwrap(),
                _ => unreachable!(),
            }
        }
        c
    }

    #[test]
    fn the_three_orders() {
        let none = &|_: &str| false;
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        // Deny,Allow: allowed by default; an Allow overrides a Deny.
        let c = compat(&[
            ("Order", "Deny,Allow"),
            ("Deny", "from all"),
            ("Allow", "from 10.0.0.0/8"),
        ]);
        assert!(c.allows(ip("10.1.1.1"), none));
        assert!(!c.allows(ip("192.0.2.1"), none));
        // Allow,Deny: denied by default; a Deny overrides an Allow.
        let c = compat(&[
            ("Order", "Allow,Deny"),
            ("Allow", "from all"),
            ("Deny", "from 10.0.0.0/8"),
        ]);
        assert!(!c.allows(ip("10.1.1.1"), none));
        assert!(c.allows(ip("192.0.2.1"), none));
        assert!(!compat(&[("Order", "Allow,Deny")]).allows(ip("127.0.0.1"), none));
        assert!(Compat::default().allows(ip("127.0.0.1"), none));
        let c = compat(&[
            ("Order", "mutual-failure"),
            ("Allow", "from 10.0.0.0/8"),
            ("Deny", "from 10.9.0.0/16"),
        ]);
        assert!(c.allows(ip("10.1.1.1"), none));
        assert!(!c.allows(ip("10.9.1.1"), none));
        assert!(!c.allows(ip("192.0.2.1"), none));
        // env= and env=!.
        let c = compat(&[("Order", "Allow,Deny"), ("Allow", "from env=good")]);
        assert!(c.allows(ip("192.0.2.1"), &|v| v == "good"));
        assert!(!c.allows(ip("192.0.2.1"), none));
        let c = compat(&[("Order", "Deny,Allow"), ("Deny", "from env=!good")]);
        assert!(!c.allows(ip("192.0.2.1"), none));
    }

    #[test]
    fn httpd_messages() {
        let mut c = Compat::default();
        assert_eq!(c.set_order("sideways").unwrap_err(), "unknown order");
        assert!(c.add(true, &["to", "all"]).unwrap_err().contains("'from'"));
        assert!(
            c.add(true, &["from", "10.0.0.0/99"])
                .unwrap_err()
                .contains("IP address")
        );
        assert!(
            c.add(true, &["from", "example.org"])
                .unwrap_err()
                .contains("DNS")
        );
        assert_eq!(parse_satisfy("any"), Ok(Satisfy::Any));
        assert!(parse_satisfy("some").is_err());
    }
}
