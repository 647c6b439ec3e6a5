//! mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch`, `BrowserMatchNoCase`.
//!
//! The attribute is a request header (or a regex over header names), one of httpd's specials
//! (`Remote_Addr`, `Server_Addr`, `Remote_Host` — the address, as without HostnameLookups —,
//! `Request_Method`, `Request_Protocol`, `Request_URI`), or a variable set by an earlier line.
//! `SetEnvIfExpr` and `--early` are refused.

use regex::{Regex, RegexBuilder};

use eventmpm_core::http1::Header;

use super::env::Vars;

/// Where a line's value comes from.
#[derive(Debug, Clone)]
enum Attribute {
    RemoteAddr,
    ServerAddr,
    RemoteHost,
    RequestMethod,
    RequestProtocol,
    RequestUri,
    /// A header, else a variable of that name.
    Named(String),
    /// The last request header whose name matches.
    NameRegex(Regex),
}

/// What to do to one variable on a match.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Feature {
    /// `name=value` (`$n` substituted) or `name` (value "1").
    Set(String, String),
    /// `!name`.
    Unset(String),
}

/// One line.
#[derive(Debug, Clone)]
pub struct Rule {
    attribute: Attribute,
    regex: Regex,
    features: Vec<Feature>,
}

/// What a rule looks at in a request.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The client's address, as text.
    pub remote_addr: &'a str,
    /// The server's address on the connection, as text.
    pub server_addr: &'a str,
    /// The method.
    pub method: &'a str,
    /// The protocol (`HTTP/1.1`).
    pub protocol: &'a str,
    /// The decoded path.
    pub uri: &'a str,
    /// The request's header fields.
    pub headers: &'a [Header<'a>],
}

impl Rule {
    /// Parse a line. `attribute` is `None` for BrowserMatch (the User-Agent).
    pub fn parse(
        directive: &str,
        attribute: Option<&str>,
        args: &[&str],
        nocase: bool,
    ) -> Result<Rule, String> {
        let Some((pattern, features)) = args.split_first() else {
            return Err(format!("Missing regular expression for {directive}"));
        };
        if features.is_empty() {
            return Err(format!("Missing envariable expression for {directive}"));
        }
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(nocase)
            .build()
            .map_err(|e| format!("{directive} regex could not be compiled: {e}"))?;
        let name = attribute.unwrap_or("User-Agent");
        let attribute = match name.to_ascii_lowercase().as_str() {
            "remote_addr" => Attribute::RemoteAddr,
            "server_addr" => Attribute::ServerAddr,
            "remote_host" => Attribute::RemoteHost,
            "request_method" => Attribute::RequestMethod,
            "request_protocol" => Attribute::RequestProtocol,
            "request_uri" => Attribute::RequestUri,
            _ if name.contains([
                '^', '$', '.', '*', '+', '?', '[', ']', '(', ')', '{', '}', '|', '\\',
            ]) =>
            {
                Attribute::NameRegex(
                    RegexBuilder::new(name)
                        .case_insensitive(nocase)
                        .build()
                        .map_err(|e| {
                            format!("{directive} Header name regex could not be compiled: {e}")
                        })?,
                )
            }
            _ => Attribute::Named(name.to_string()),
        };
        let mut out = Vec::new();
        for f in features {
            if *f == "--early" {
                return Err(format!("{directive} --early is not supported by eventmpm"));
            }
            let feature = match f.split_once('=') {
                Some((k, v)) => Feature::Set(k.to_string(), v.to_string()),
                None => match f.strip_prefix('!') {
                    Some(k) => Feature::Unset(k.to_string()),
                    None => Feature::Set(f.to_string(), "1".to_string()),
                },
            };
            out.push(feature);
        }
        Ok(Rule {
            attribute,
            regex,
            features: out,
        })
    }

    /// Apply the line to a request's variables.
    pub fn apply(&self, s: &Subject<'_>, vars: &mut Vars) {
        let header = |name: &str| {
            s.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let value: String = match &self.attribute {
            Attribute::RemoteAddr | Attribute::RemoteHost => s.remote_addr.to_string(),
            Attribute::ServerAddr => s.server_addr.to_string(),
            Attribute::RequestMethod => s.method.to_string(),
            Attribute::RequestProtocol => s.protocol.to_string(),
            Attribute::RequestUri => s.uri.to_string(),
            Attribute::Named(n) => header(n)
                .or_else(|| vars.get(n).map(str::to_string))
                .unwrap_or_default(),
            Attribute::NameRegex(re) => s
                .headers
                .iter()
                .rev()
                .find(|h| re.is_match(h.name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
                .unwrap_or_default(),
        };
        let Some(caps) = self.regex.captures(&value) else {
            return;
        };
        for f in &self.features {
            match f {
                Feature::Unset(k) => vars.unset(k),
                Feature::Set(k, v) => vars.set(k, &super::alias::substitute(v, &caps)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(headers: &'a [Header<'a>]) -> Subject<'a> {
        Subject {
            remote_addr: "10.1.2.3",
            server_addr: "127.0.0.1",
            method: "GET",
            protocol: "HTTP/1.1",
            uri: "/private/x.html",
            headers,
        }
    }

    fn rule(directive: &str, attr: Option<&str>, line: &str, nocase: bool) -> Rule {
        Rule::parse(
            directive,
            attr,
            &line.split_whitespace().collect::<Vec<_>>(),
            nocase,
        )
        .unwrap()
    }

    #[test]
    fn attributes_and_features() {
        let headers = &[
            Header {
                name: "User-Agent",
                value: b"Mozilla/4.0 (compatible; MSIE 6.0)",
            },
            Header {
                name: "X-Token",
                value: b"abc123",
            },
        ];
        let s = subject(headers);
        let mut vars = Vars::default();
        rule("BrowserMatch", None, "MSIE\\s(\\d) ie=$1 old", false).apply(&s, &mut vars);
        assert_eq!((vars.get("ie"), vars.get("old")), (Some("6"), Some("1")));
        rule("BrowserMatch", None, "msie nocase_miss", false).apply(&s, &mut vars);
        assert!(!vars.is_set("nocase_miss"));
        rule("BrowserMatchNoCase", None, "msie nocase_hit", true).apply(&s, &mut vars);
        assert!(vars.is_set("nocase_hit"));
        rule("SetEnvIf", Some("Remote_Addr"), "^10\\. internal", false).apply(&s, &mut vars);
        rule(
            "SetEnvIf",
            Some("Request_URI"),
            "^/private/ private=yes",
            false,
        )
        .apply(&s, &mut vars);
        rule("SetEnvIf", Some("x-token"), "^abc(\\d+)$ token=$1", false).apply(&s, &mut vars);
        rule("SetEnvIf", Some("^X-T.*"), ". by_name_regex", false).apply(&s, &mut vars);
        assert_eq!(vars.get("internal"), Some("1"));
        assert_eq!(vars.get("private"), Some("yes"));
        assert_eq!(vars.get("token"), Some("123"));
        assert!(vars.is_set("by_name_regex"));
        // A variable set before is an attribute too; `!` unsets.
        rule("SetEnvIf", Some("private"), "yes !internal", false).apply(&s, &mut vars);
        assert!(!vars.is_set("internal"));
        // A missing header is the empty string: `^$` matches it.
        rule("SetEnvIf", Some("Referer"), "^$ no_referer", false).apply(&s, &mut vars);
        assert!(vars.is_set("no_referer"));
    }

    #[test]
    fn httpd_messages() {
        let e = Rule::parse("SetEnvIf", Some("Host"), &[], false).unwrap_err();
        assert_eq!(e, "Missing regular expression for SetEnvIf");
        let e = Rule::parse("SetEnvIf", Some("Host"), &["x"], false).unwrap_err();
        assert_eq!(e, "Missing envariable expression for SetEnvIf");
        assert!(Rule::parse("SetEnvIf", Some("Host"), &["(", "a"], false).is_err());
    }
}
