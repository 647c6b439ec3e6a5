//! mod_alias: `Alias`, `AliasMatch`, `Redirect` (with `RedirectPermanent`, `RedirectTemp`),
//! `RedirectMatch`. `ScriptAlias` stays with CGI (`crate::cgi`).
//!
//! Matching is httpd's: a prefix matches at a path-segment boundary, runs of `/` in the prefix
//! match runs of `/` in the path, and the rest of the path is appended (escaped, for a
//! redirect); a regex is searched in the decoded path, `$0`-`$9` and `&` substituted.

use regex::Regex;

/// How an entry matches a path.
#[derive(Debug, Clone)]
enum Matcher {
    Prefix(String),
    Regex(Regex),
    /// A section's `Redirect [status] [URL]` without a URL-path: every request in it.
    Whole,
}

/// One `Redirect`/`RedirectMatch` line.
#[derive(Debug, Clone)]
pub struct Redirect {
    matcher: Matcher,
    /// The target (absent for a non-3xx status such as `gone`).
    target: Option<String>,
    status: u16,
}

/// One `Alias`/`AliasMatch` line.
#[derive(Debug, Clone)]
pub struct Alias {
    matcher: Matcher,
    real: String,
}

/// What a redirect asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirected {
    /// The response status.
    pub status: u16,
    /// The target, as configured and substituted: a URL or an absolute path (made absolute
    /// by the caller, [`absolute_location`]); `None` for a status without one.
    pub target: Option<String>,
}

/// httpd's `alias_matches`: how many bytes of `uri` the prefix `fake` matches, 0 for none.
pub fn alias_matches(uri: &[u8], fake: &[u8]) -> usize {
    let (mut a, mut u) = (0, 0);
    while a < fake.len() {
        if fake[a] == b'/' {
            if uri.get(u) != Some(&b'/') {
                return 0;
            }
            while fake.get(a) == Some(&b'/') {
                a += 1;
            }
            while uri.get(u) == Some(&b'/') {
                u += 1;
            }
        } else {
            if uri.get(u) != Some(&fake[a]) {
                return 0;
            }
            a += 1;
            u += 1;
        }
    }
    if fake.last() != Some(&b'/') && u < uri.len() && uri[u] != b'/' {
        return 0;
    }
    u
}

/// `ap_pregsub`: `$0`-`$9` and `&` replaced by the groups of `caps`, `\x` by `x`.
pub fn substitute(template: &str, caps: &regex::Captures<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let group = match c {
            '&' => Some(0),
            '$' => match chars.peek().and_then(|d| d.to_digit(10)) {
                Some(d) => {
                    chars.next();
                    Some(d as usize)
                }
                None => None,
            },
            '\\' => {
                if let Some(&n) = chars.peek()
                    && (n == '$' || n == '&')
                {
                    chars.next();
                    out.push(n);
                    continue;
                }
                None
            }
            _ => None,
        };
        match group {
            Some(g) => out.push_str(caps.get(g).map(|m| m.as_str()).unwrap_or("")),
            None => out.push(c),
        }
    }
    out
}

/// `ap_os_escape_path`: `%`-escape what is not safe in a path.
pub fn escape_path(path: &str, out: &mut String) {
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:;@&=/~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
        }
    }
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("Regular expression could not be compiled: {e}"))
}

fn is_url(s: &str) -> bool {
    // ap_is_url: a scheme of letters, digits, '+', '-', '.' followed by ':'.
    match s.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }
        None => false,
    }
}

impl Redirect {
    /// Parse `Redirect`-family arguments as httpd's `add_redirect_internal` does. `status` is
    /// the directive's own (302 for `Redirect`/`RedirectMatch`, 301 for
    /// `RedirectPermanent`, 302 for `RedirectTemp`).
    /// `in_section`: inside `<Location>`/`<Directory>`, where `Redirect [status] URL` (no
    /// URL-path) redirects every request of the section.
    pub fn parse(
        args: &[&str],
        mut status: u16,
        regex: bool,
        in_section: bool,
    ) -> Result<Redirect, String> {
        let (arg1, arg2, arg3) = match args {
            [a] => (*a, None, None),
            [a, b] => (*a, Some(*b), None),
            [a, b, c] => (*a, Some(*b), Some(*c)),
            _ => {
                return Err(
                    "Redirect takes one, two or three arguments, an optional status, then document to be redirected and destination URL"
                        .into(),
                );
            }
        };
        // 1: a redirect status; -1: another status (no URL); 0: not a status.
        let grok: i8 = match arg1.to_ascii_lowercase().as_str() {
            "permanent" => {
                status = 301;
                1
            }
            "temp" => {
                status = 302;
                1
            }
            "seeother" => {
                status = 303;
                1
            }
            "gone" => {
                status = 410;
                -1
            }
            s if s.starts_with(|c: char| c.is_ascii_digit()) => {
                let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
                status = digits.parse().unwrap_or(0);
                if (300..400).contains(&status) { 1 } else { -1 }
            }
            _ => 0,
        };
        if arg3.is_some() && grok == 0 {
            return Err("Redirect: invalid first argument (of three)".into());
        }
        if in_section && !regex {
            let whole = match (grok, arg2, arg3) {
                (1, Some(url), None) => Some(Some(url)),
                (0, None, None) => Some(Some(arg1)),
                (-1, None, None) => Some(None),
                _ => None,
            };
            if let Some(url) = whole {
                if url.is_some_and(|u| u.contains("%{")) {
                    return Err(
                        "Redirect: expressions (%{...}) in the URL are not supported by eventmpm"
                            .into(),
                    );
                }
                return Ok(Redirect {
                    matcher: Matcher::Whole,
                    target: url.map(str::to_string),
                    status,
                });
            }
        }
        let (fake, url) = if arg3.is_none() && grok == 0 {
            (arg1, arg2)
        } else {
            match arg2 {
                Some(f) => (f, arg3),
                None => return Err("Redirect: the URL-path to redirect is missing".into()),
            }
        };
        if !(100..=599).contains(&status) {
            return Err(format!("Redirect: invalid status {status}"));
        }
        let matcher = if regex {
            Matcher::Regex(compile(fake)?)
        } else {
            Matcher::Prefix(fake.to_string())
        };
        if (300..400).contains(&status) {
            let Some(u) = url else {
                return Err("URL to redirect to is missing".into());
            };
            if !regex && !is_url(u) && !u.starts_with('/') {
                return Err("Redirect to non-URL".into());
            }
        } else if url.is_some() {
            return Err("Redirect URL not valid for this status".into());
        }
        Ok(Redirect {
            matcher,
            target: url.map(str::to_string),
            status,
        })
    }

    /// Whether this redirect applies to the decoded path `uri`, and what it asks.
    pub fn apply(&self, uri: &str) -> Option<Redirected> {
        let target = match &self.matcher {
            Matcher::Regex(re) => {
                let caps = re.captures(uri)?;
                self.target.as_ref().map(|t| {
                    let found = substitute(t, &caps);
                    // The query and fragment are kept as they are; the rest is escaped.
                    let (main, frag) = match found.split_once('#') {
                        Some((m, f)) => (m, Some(f)),
                        None => (found.as_str(), None),
                    };
                    let (main, query) = match main.split_once('?') {
                        Some((m, q)) => (m, Some(q)),
                        None => (main, None),
                    };
                    let mut out = String::with_capacity(found.len() + 16);
                    escape_path(main, &mut out);
                    if let Some(q) = query {
                        out.push('?');
                        out.push_str(q);
                    }
                    if let Some(f) = frag {
                        out.push('#');
                        out.push_str(f);
                    }
                    out
                })
            }
            Matcher::Prefix(fake) => {
                let l = alias_matches(uri.as_bytes(), fake.as_bytes());
                if l == 0 {
                    return None;
                }
                self.target.as_ref().map(|t| {
                    let mut out = t.clone();
                    escape_path(&uri[l..], &mut out);
                    out
                })
            }
            Matcher::Whole => self.target.clone(),
        };
        Some(Redirected {
            status: self.status,
            target,
        })
    }
}

impl Alias {
    /// `Alias URL-path file-path` (`regex`: `AliasMatch regex file-path`).
    pub fn parse(args: &[&str], regex: bool) -> Result<Alias, String> {
        let [fake, real] = args else {
            return Err(if regex {
                "AliasMatch takes two arguments, a regular expression and a filename".into()
            } else {
                "Alias takes two arguments, a fakename and a realname".into()
            });
        };
        let matcher = if regex {
            Matcher::Regex(compile(fake)?)
        } else {
            Matcher::Prefix(fake.to_string())
        };
        Ok(Alias {
            matcher,
            real: real.to_string(),
        })
    }

    /// The file-system path `uri` maps to, if this alias applies.
    pub fn apply(&self, uri: &str) -> Option<String> {
        match &self.matcher {
            Matcher::Regex(re) => re.captures(uri).map(|c| substitute(&self.real, &c)),
            Matcher::Whole => None,
            Matcher::Prefix(fake) => {
                let l = alias_matches(uri.as_bytes(), fake.as_bytes());
                (l > 0).then(|| {
                    let rest = uri[l..].trim_start_matches('/');
                    if rest.is_empty() {
                        self.real.clone()
                    } else {
                        let mut p = self.real.trim_end_matches('/').to_string();
                        p.push('/');
                        p.push_str(rest);
                        p
                    }
                })
            }
        }
    }

    /// The directory beneath which every path this alias makes lies: the target's fixed
    /// part (before any `$`/`&` substitution), cut back to a whole directory.
    pub fn root(&self) -> &str {
        let fixed = match &self.matcher {
            Matcher::Prefix(_) => return self.real.trim_end_matches('/'),
            Matcher::Regex(_) | Matcher::Whole => {
                let end = self.real.find(['$', '&']).unwrap_or(self.real.len());
                &self.real[..end]
            }
        };
        match fixed.rfind('/') {
            Some(0) | None => "/",
            Some(i) => &fixed[..i],
        }
    }
}

/// The `Location` value for a redirect `target`: a path is made an absolute URL from the
/// request's host (httpd's `ap_construct_url` with `UseCanonicalName Off`), and the request's
/// query is appended unless the target has its own.
pub fn absolute_location(target: &str, host: &str, local_port: u16, query: Option<&str>) -> String {
    let mut out = String::with_capacity(target.len() + host.len() + 32);
    if target.starts_with('/') {
        out.push_str("http://");
        let (name, port) = split_host(host);
        // httpd's `r->hostname`: lower case, without a trailing dot.
        out.push_str(&name.trim_end_matches('.').to_ascii_lowercase());
        let port = port.unwrap_or(local_port);
        if port != 80 {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    out.push_str(target);
    if let Some(q) = query
        && !target.contains('?')
    {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A `Host` value's name (lowercased by the caller if need be) and port.
fn split_host(host: &str) -> (&str, Option<u16>) {
    if host.starts_with('[')
        && let Some(end) = host.find(']')
    {
        let port = host[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        return (&host[..=end], port);
    }
    match host.rsplit_once(':') {
        Some((n, p)) if !n.contains(':') => (n, p.parse().ok()),
        _ => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(line: &str, status: u16, regex: bool) -> Result<Redirect, String> {
        Redirect::parse(
            &line.split_whitespace().collect::<Vec<_>>(),
            status,
            regex,
            false,
        )
    }

    #[test]
    fn prefix_matching_is_httpds() {
        for (uri, fake, n) in [
            ("/old/x", "/old", 4),
            ("/old", "/old", 4),
            ("/older", "/old", 0),
            ("/old/x", "/old/", 5),
            ("//old//x", "/old/", 7),
            ("/ol", "/old", 0),
            ("/", "/", 1),
        ] {
            assert_eq!(
                alias_matches(uri.as_bytes(), fake.as_bytes()),
                n,
                "{uri} {fake}"
            );
        }
    }

    #[test]
    fn redirect_forms() {
        let r = redirect("/old http://example.org/new", 302, false).unwrap();
        assert_eq!(
            r.apply("/old/a b.html"),
            Some(Redirected {
                status: 302,
                target: Some("http://example.org/new/a%20b.html".into())
            })
        );
        assert_eq!(r.apply("/other"), None);
        let r = redirect("permanent /p /q", 302, false).unwrap();
        assert_eq!(r.apply("/p/1").unwrap().status, 301);
        let r = redirect("seeother /p /q", 302, false).unwrap();
        assert_eq!(
            r.apply("/p").unwrap(),
            Redirected {
                status: 303,
                target: Some("/q".into())
            }
        );
        let r = redirect("gone /dead", 302, false).unwrap();
        assert_eq!(
            r.apply("/dead/x").unwrap(),
            Redirected {
                status: 410,
                target: None
            }
        );
        let r = redirect("307 /t /u", 302, false).unwrap();
        assert_eq!(r.apply("/t").unwrap().status, 307);
        let r = redirect("^/img/(.*)\\.gif$ http://cdn.example/$1.png?x=1", 302, true).unwrap();
        assert_eq!(
            r.apply("/img/a b.gif").unwrap().target.as_deref(),
            Some("http://cdn.example/a%20b.png?x=1")
        );
        assert_eq!(r.apply("/img/a.jpg"), None);
        for (bad, msg) in [
            ("bogus /a /b", "invalid first argument"),
            ("/a relative", "non-URL"),
            ("gone /a /b", "not valid for this status"),
            ("301 /a", "missing"),
        ] {
            let e = redirect(bad, 302, false).unwrap_err();
            assert!(e.contains(msg), "{bad}: {e}");
        }
        assert!(redirect("^/(unclosed http://x/", 302, true).is_err());
    }

    #[test]
    fn a_sections_whole_redirect() {
        let parse =
            |l: &str| Redirect::parse(&l.split_whitespace().collect::<Vec<_>>(), 302, false, true);
        let r = parse("permanent http://example.org/").unwrap();
        assert_eq!(
            r.apply("/anything/x"),
            Some(Redirected {
                status: 301,
                target: Some("http://example.org/".into())
            })
        );
        assert_eq!(
            parse("/new")
                .unwrap()
                .apply("/x")
                .unwrap()
                .target
                .as_deref(),
            Some("/new")
        );
        assert_eq!(
            parse("gone").unwrap().apply("/x").unwrap(),
            Redirected {
                status: 410,
                target: None
            }
        );
        // With a URL-path it is the ordinary form.
        assert_eq!(parse("/a /b").unwrap().apply("/x"), None);
        assert!(parse("http://x/%{REQUEST_URI}").is_err());
    }

    #[test]
    fn aliases() {
        let a = Alias::parse(&["/icons/", "/usr/share/apache2/icons/"], false).unwrap();
        assert_eq!(
            a.apply("/icons/a.png").as_deref(),
            Some("/usr/share/apache2/icons/a.png")
        );
        assert_eq!(a.apply("/icons").as_deref(), None);
        assert_eq!(a.root(), "/usr/share/apache2/icons");
        let a = Alias::parse(&["^/docs/(.*)$", "/srv/docs/$1"], true).unwrap();
        assert_eq!(a.apply("/docs/x/y").as_deref(), Some("/srv/docs/x/y"));
        assert_eq!(a.root(), "/srv/docs");
        assert!(Alias::parse(&["/x"], false).is_err());
    }

    #[test]
    fn locations_are_absolute_urls() {
        // Without a port in Host, the connection's port (left out when it is 80).
        assert_eq!(
            absolute_location("/new", "example.org", 80, None),
            "http://example.org/new"
        );
        assert_eq!(
            absolute_location("/new", "example.org", 8080, None),
            "http://example.org:8080/new"
        );
        assert_eq!(
            absolute_location("/new", "example.org:8080", 80, Some("a=1")),
            "http://example.org:8080/new?a=1"
        );
        assert_eq!(
            absolute_location("/n?b", "h", 81, Some("a")),
            "http://h:81/n?b"
        );
        assert_eq!(absolute_location("http://x/y", "h", 81, None), "http://x/y");
        assert_eq!(
            absolute_location("/n", "Example.ORG.:8080", 80, None),
            "http://example.org:8080/n"
        );
    }
}
