//! mod_authz_core with the providers of mod_authz_host and mod_authz_user: `Require` lines,
//! `<RequireAll>`, `<RequireAny>`, `<RequireNone>`, `Require not`, and `AuthMerging`, built into
//! a tree per section and evaluated as httpd's `apply_authz_sections` does, with its four
//! outcomes (granted, denied, neutral, denied for want of a user).
//!
//! Providers: `all granted|denied`, `ip`, `local`, `env`, `method`, `user`, `valid-user`.
//! `group` is mod_authz_groupfile's (`AuthGroupFile`). `host` and `forward-dns` (DNS lookups on
//! the request path), `file-owner`/`file-group` and `expr` (ap_expr) are refused at their line
//! rather than silently ignored.

use std::net::IpAddr;

use super::authz_host::{Net, is_local, parse_nets};

/// A provider's verdict, httpd's `authz_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `AUTHZ_DENIED`.
    Denied,
    /// `AUTHZ_GRANTED`.
    Granted,
    /// `AUTHZ_NEUTRAL`: a negated denial, or an empty result.
    Neutral,
    /// `AUTHZ_DENIED_NO_USER`: a user might change the answer; authenticate first.
    DeniedNoUser,
}

/// What the providers look at.
pub struct Facts<'a> {
    /// The client's address.
    pub peer: IpAddr,
    /// The server's address on this connection.
    pub local: IpAddr,
    /// The request method.
    pub method: &'a str,
    /// The authenticated user, once there is one.
    pub user: Option<&'a str>,
    /// Whether a request environment variable is set.
    pub env: &'a dyn Fn(&str) -> bool,
    /// Whether the user is in a group (`AuthGroupFile`); `None` without a group file.
    pub in_group: Option<&'a dyn Fn(&str) -> bool>,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("peer", &self.peer)
            .field("method", &self.method)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One provider of a `Require` line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Provider {
    All(bool),
    Ip(Vec<Net>),
    Local,
    Env(Vec<String>),
    Method(Vec<String>),
    User(Vec<String>),
    ValidUser,
    Group(Vec<String>),
}

impl Provider {
    fn parse(name: &str, args: &[&str]) -> Result<Provider, String> {
        let lname = name.to_ascii_lowercase();
        let words = || args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        match lname.as_str() {
            "all" => match args {
                [g] if g.eq_ignore_ascii_case("granted") => Ok(Provider::All(true)),
                [d] if d.eq_ignore_ascii_case("denied") => Ok(Provider::All(false)),
                _ => Err("Argument for 'Require all' must be 'granted' or 'denied'".into()),
            },
            "ip" => Ok(Provider::Ip(parse_nets(args)?)),
            "local" if args.is_empty() => Ok(Provider::Local),
            "local" => Err("'Require local' does not take an argument".into()),
            "env" if !args.is_empty() => Ok(Provider::Env(words())),
            "method" => {
                if args.is_empty() {
                    return Err("'Require method' needs a list of HTTP methods".into());
                }
                Ok(Provider::Method(words()))
            }
            "user" => Ok(Provider::User(words())),
            "valid-user" => Ok(Provider::ValidUser),
            "host" | "forward-dns" => Err(format!(
                "'Require {name}' needs DNS lookups while answering, which eventmpm does not do; \
                 use 'Require ip'"
            )),
            "group" => Ok(Provider::Group(words())),
            "file-group" | "file-owner" => Err(format!(
                "'Require {name}' needs mod_authz_owner, which eventmpm does not implement"
            )),
            "expr" => {
                Err("'Require expr' (ap_expr expressions) is not supported by eventmpm".into())
            }
            _ => Err(format!("Unknown Authz provider: {name}")),
        }
    }

    fn check(&self, f: &Facts<'_>) -> Verdict {
        let yes = |b: bool| if b { Verdict::Granted } else { Verdict::Denied };
        match self {
            Provider::All(g) => yes(*g),
            Provider::Ip(nets) => yes(nets.iter().any(|n| n.contains(f.peer))),
            Provider::Local => yes(is_local(f.peer, f.local)),
            Provider::Env(vars) => yes(vars.iter().any(|v| (f.env)(v))),
            Provider::Method(ms) => yes(ms.iter().any(|m| m == f.method)),
            Provider::User(users) => match f.user {
                None => Verdict::DeniedNoUser,
                Some(u) => yes(users.iter().any(|w| w == u)),
            },
            Provider::ValidUser => match f.user {
                None => Verdict::DeniedNoUser,
                Some(_) => Verdict::Granted,
            },
            Provider::Group(groups) => match (f.user, f.in_group) {
                (None, _) => Verdict::DeniedNoUser,
                (Some(_), None) => {
                    log::error!("AH01664: No group file was specified in the configuration");
                    Verdict::Denied
                }
                (Some(_), Some(member)) => yes(groups.iter().any(|g| member(g))),
            },
        }
    }
}

/// How a group combines its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<RequireAll>`.
    And,
    /// `<RequireAny>` (and a section's implicit group).
    Or,
}

/// A `Require` line or a group of them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Leaf {
        provider: Provider,
        negate: bool,
    },
    Group {
        op: Op,
        negate: bool,
        children: Vec<Node>,
    },
}

impl Node {
    fn name(&self) -> &'static str {
        match self {
            Node::Group {
                op: Op::And,
                negate: false,
                ..
            } => "<RequireAll>",
            Node::Group {
                op: Op::And,
                negate: true,
                ..
            } => "<RequireNotAll>",
            Node::Group {
                op: Op::Or,
                negate: false,
                ..
            } => "<RequireAny>",
            Node::Group {
                op: Op::Or,
                negate: true,
                ..
            } => "<RequireNone>",
            Node::Leaf { .. } => "Require",
        }
    }

    fn evaluate(&self, f: &Facts<'_>) -> Verdict {
        let (v, negate) = match self {
            Node::Leaf { provider, negate } => (provider.check(f), *negate),
            Node::Group {
                op,
                negate,
                children,
            } => (
                combine(*op, children.iter().map(|c| c.evaluate(f))),
                *negate,
            ),
        };
        if !negate {
            return v;
        }
        match v {
            Verdict::Granted => Verdict::Denied,
            // Not being refused is no reason to grant.
            Verdict::Denied | Verdict::DeniedNoUser => Verdict::Neutral,
            Verdict::Neutral => Verdict::Neutral,
        }
    }
}

/// httpd's combination of a group's results: neutral children do not count; in an AND group a
/// denial decides, in an OR group a grant does; a denial for want of a user outranks a plain
/// one in OR groups and is outranked by it in AND groups.
fn combine(op: Op, results: impl Iterator<Item = Verdict>) -> Verdict {
    let mut r = Verdict::Neutral;
    for c in results {
        if c == Verdict::Neutral {
            continue;
        }
        match op {
            Op::And => {
                if c == Verdict::Denied {
                    return Verdict::Denied;
                }
                if (c == Verdict::DeniedNoUser && r != Verdict::Denied) || r == Verdict::Neutral {
                    r = c;
                }
            }
            Op::Or => {
                if c == Verdict::Granted {
                    return Verdict::Granted;
                }
                if (c == Verdict::DeniedNoUser && r == Verdict::Denied) || r == Verdict::Neutral {
                    r = c;
                }
            }
        }
    }
    r
}

/// `AuthMerging`: how a section's rules combine with those of the sections before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Merging {
    /// Not set: as `Off`.
    #[default]
    Unset,
    /// The section's rules replace what came before.
    Off,
    /// Both must grant.
    And,
    /// Either may grant.
    Or,
}

/// One section's authorization configuration (httpd's `authz_core_dir_conf`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authz {
    /// The section's implicit `<RequireAny>` group, once a `Require` is seen.
    section: Option<Node>,
    merging: Merging,
    /// Groups opened and not yet closed, while reading.
    open: Vec<Node>,
    /// Whether any directive of the module appeared (httpd creates the module's section
    /// configuration only then, and only such sections merge).
    present: bool,
}

/// The groups `<RequireAll>`, `<RequireAny>`, `<RequireNone>` (and httpd's undocumented
/// `<RequireNotAll>`), by lowercase name.
pub fn is_group(lname: &str) -> bool {
    matches!(
        lname,
        "requireall" | "requireany" | "requirenone" | "requirenotall"
    )
}

impl Authz {
    /// Whether the section configured anything here.
    pub fn is_present(&self) -> bool {
        self.present
    }

    /// Whether the section has rules.
    pub fn has_rules(&self) -> bool {
        self.section.is_some()
    }

    fn current(&mut self) -> &mut Node {
        if let Some(top) = self.open.last_mut() {
            return top;
        }
        self.section.get_or_insert(Node::Group {
            op: Op::Or,
            negate: false,
            children: Vec::new(),
        })
    }

    /// A `Require` line's arguments.
    pub fn require(&mut self, args: &[&str]) -> Result<(), String> {
        let (negate, rest) = match args {
            [not, rest @ ..] if not.eq_ignore_ascii_case("not") => (true, rest),
            _ => (false, args),
        };
        let Some((name, pargs)) = rest.split_first() else {
            return Err("Unknown Authz provider: ".into());
        };
        let provider = Provider::parse(name, pargs)?;
        let parent = self.current();
        if negate && matches!(parent, Node::Group { op: Op::Or, .. }) {
            return Err(format!(
                "negative Require directive has no effect in {} directive",
                parent.name()
            ));
        }
        if let Node::Group { children, .. } = parent {
            children.push(Node::Leaf { provider, negate });
        }
        self.present = true;
        Ok(())
    }

    /// `<RequireAll>` and the other groups open.
    pub fn open(&mut self, lname: &str, args: &[&str]) -> Result<(), String> {
        if !args.is_empty() {
            return Err(format!(
                "<{lname}> directive doesn't take additional arguments"
            ));
        }
        let (op, negate) = match lname {
            "requireall" => (Op::And, false),
            "requireany" => (Op::Or, false),
            "requirenotall" => (Op::And, true),
            _ => (Op::Or, true),
        };
        self.open.push(Node::Group {
            op,
            negate,
            children: Vec::new(),
        });
        self.present = true;
        Ok(())
    }

    /// A group closes: it joins its parent as httpd's `add_authz_section` adds it.
    pub fn close(&mut self) -> Result<(), String> {
        let Some(group) = self.open.pop() else {
            return Ok(());
        };
        let Node::Group {
            op,
            negate,
            children,
        } = group
        else {
            return Ok(());
        };
        let group = Node::Group {
            op,
            negate,
            children,
        };
        if let Node::Group { children, .. } = &group
            && children.is_empty()
        {
            return Err(format!(
                "{} directive contains no authorization directives",
                group.name()
            ));
        }
        let parent = self.current();
        let parent_name = parent.name();
        let Node::Group {
            op: pop, children, ..
        } = parent
        else {
            return Ok(());
        };
        if negate && *pop == Op::Or {
            return Err(format!(
                "{} directive has no effect in {parent_name} directive",
                group.name()
            ));
        }
        match group {
            // Associative: a group of the parent's kind adds its children.
            Node::Group {
                op,
                negate: false,
                children: inner,
            } if op == *pop => children.extend(inner),
            g => children.push(g),
        }
        Ok(())
    }

    /// `AuthMerging Off|And|Or`.
    pub fn set_merging(&mut self, arg: &str) -> Result<(), String> {
        self.merging = match arg.to_ascii_lowercase().as_str() {
            "off" => Merging::Off,
            "and" => Merging::And,
            "or" => Merging::Or,
            _ => return Err("AuthMerging must be one of: off | and | or".into()),
        };
        self.present = true;
        Ok(())
    }
}

/// The result of the sections in force for a request (applied in merge order, as httpd's
/// `merge_authz_core_dir_config` merges them): `None` when no section has rules.
pub fn evaluate<'a>(sections: impl Iterator<Item = &'a Authz>, f: &Facts<'_>) -> Option<Verdict> {
    let mut acc: Option<Verdict> = None;
    for a in sections.filter(|a| a.present) {
        let new = a.section.as_ref();
        match a.merging {
            Merging::Unset if new.is_none() && acc.is_some() => {}
            Merging::Off | Merging::Unset => acc = new.map(|n| n.evaluate(f)),
            Merging::And | Merging::Or => {
                let op = if a.merging == Merging::And {
                    Op::And
                } else {
                    Op::Or
                };
                acc = match (acc, new) {
                    (Some(base), Some(n)) => Some(combine(op, [base, n.evaluate(f)].into_iter())),
                    (Some(base), None) => Some(base),
                    (None, n) => n.map(|n| n.evaluate(f)),
                };
            }
        }
    }
    // The top of the tree is applied as the child of an AND (httpd's `AUTHZ_LOGIC_AND`).
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(lines: &str) -> Result<Authz, String> {
        let mut a = Authz::default();
        for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[0] {
                w if w.starts_with("</") => a.close()?,
                w if w.starts_with('<') => {
                    a.open(&w[1..].trim_end_matches('>').to_ascii_lowercase(), &[])?
                }
                "Require" => a.require(&words[1..])?,
                "AuthMerging" => a.set_merging(words[1])?,
                other => panic!("{other}"),
            }
        }
        Ok(a)
    }

    fn facts<'a>(peer: &str, user: Option<&'a str>, env: &'a dyn Fn(&str) -> bool) -> Facts<'a> {
        Facts {
            peer: peer.parse().unwrap(),
            local: "127.0.0.1".parse().unwrap(),
            method: "GET",
            user,
            env,
            in_group: Some(&|g: &str| g == "staff"),
        }
    }

    const NO_ENV: &dyn Fn(&str) -> bool = &|_| false;

    #[test]
    fn providers_and_implicit_any() {
        use Verdict::*;
        for (lines, peer, user, want) in [
            ("Require all granted", "10.0.0.1", None, Granted),
            ("Require all denied", "127.0.0.1", None, Denied),
            ("Require local", "127.0.0.1", None, Granted),
            ("Require local", "10.0.0.1", None, Denied),
            ("Require ip 10.0.0.0/8", "10.9.9.9", None, Granted),
            (
                "Require ip 10.0.0.0/8\nRequire local",
                "127.0.0.1",
                None,
                Granted,
            ),
            ("Require valid-user", "10.0.0.1", None, DeniedNoUser),
            ("Require valid-user", "10.0.0.1", Some("ann"), Granted),
            ("Require user ann bob", "10.0.0.1", Some("bob"), Granted),
            ("Require user ann bob", "10.0.0.1", Some("cy"), Denied),
            // OR: a missing user outranks a denial, so authentication is asked for.
            (
                "Require ip 192.0.2.1\nRequire valid-user",
                "10.0.0.1",
                None,
                DeniedNoUser,
            ),
            ("Require method POST", "10.0.0.1", None, Denied),
            ("Require method GET HEAD", "10.0.0.1", None, Granted),
            ("Require group staff", "10.0.0.1", None, DeniedNoUser),
            (
                "Require group admins staff",
                "10.0.0.1",
                Some("ann"),
                Granted,
            ),
            ("Require group admins", "10.0.0.1", Some("ann"), Denied),
        ] {
            let a = section(lines).unwrap();
            let got = evaluate([&a].into_iter(), &facts(peer, user, NO_ENV));
            assert_eq!(got, Some(want), "{lines} / {peer} / {user:?}");
        }
    }

    #[test]
    fn groups_and_negation() {
        use Verdict::*;
        let all = "<RequireAll>\nRequire all granted\nRequire not ip 10.0.0.0/8\n</RequireAll>";
        let a = section(all).unwrap();
        let ev =
            |peer: &str, user: Option<&str>| evaluate([&a].into_iter(), &facts(peer, user, NO_ENV));
        assert_eq!(ev("10.1.1.1", None), Some(Denied));
        assert_eq!(ev("192.0.2.1", None), Some(Granted));
        let a = section(
            "<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire user bad\n</RequireNone>\n</RequireAll>",
        )
        .unwrap();
        let ev = |user: Option<&str>| evaluate([&a].into_iter(), &facts("10.0.0.1", user, NO_ENV));
        assert_eq!(ev(None), Some(DeniedNoUser));
        assert_eq!(ev(Some("good")), Some(Granted));
        assert_eq!(ev(Some("bad")), Some(Denied));
        // A lone negation grants nothing: neutral.
        let a = section("<RequireAll>\nRequire not ip 10.0.0.0/8\n</RequireAll>").unwrap();
        assert_eq!(
            evaluate([&a].into_iter(), &facts("192.0.2.1", None, NO_ENV)),
            Some(Neutral)
        );
        // env.
        let a = section("Require env let_me_in").unwrap();
        let env = |v: &str| v == "let_me_in";
        assert_eq!(
            evaluate([&a].into_iter(), &facts("192.0.2.1", None, &env)),
            Some(Granted)
        );
    }

    #[test]
    fn merging_replaces_unless_told_otherwise() {
        use Verdict::*;
        let parent = section("Require ip 10.0.0.0/8").unwrap();
        let child = section("Require all granted").unwrap();
        let f = facts("192.0.2.1", None, NO_ENV);
        assert_eq!(evaluate([&parent, &child].into_iter(), &f), Some(Granted));
        let and = section("AuthMerging And\nRequire all granted").unwrap();
        assert_eq!(evaluate([&parent, &and].into_iter(), &f), Some(Denied));
        let or = section("AuthMerging Or\nRequire all denied").unwrap();
        let inside = facts("10.1.1.1", None, NO_ENV);
        assert_eq!(evaluate([&parent, &or].into_iter(), &inside), Some(Granted));
        // A section without authz directives inherits.
        let none = Authz::default();
        assert_eq!(evaluate([&parent, &none].into_iter(), &f), Some(Denied));
        assert_eq!(evaluate([&none].into_iter(), &f), None);
    }

    #[test]
    fn httpd_refuses_these() {
        for (lines, msg) in [
            (
                "Require not ip 10.0.0.1",
                "negative Require directive has no effect in <RequireAny> directive",
            ),
            (
                "<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>",
                "<RequireNone> directive has no effect in <RequireAny> directive",
            ),
            (
                "<RequireAll>\n</RequireAll>",
                "<RequireAll> directive contains no authorization directives",
            ),
            ("Require bogus", "Unknown Authz provider: bogus"),
            ("Require all maybe", "must be 'granted' or 'denied'"),
            ("Require expr true", "not supported"),
            ("Require file-owner", "mod_authz_owner"),
            ("Require host example.org", "DNS"),
            ("AuthMerging sometimes", "AuthMerging must be"),
        ] {
            let e = section(lines).unwrap_err();
            assert!(e.contains(msg), "{lines}: {e}");
        }
    }
}
