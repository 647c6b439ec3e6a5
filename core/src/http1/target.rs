//! The request target's four forms (RFC 9112 §3.2) and their parts.

use super::host::is_valid_host;
use super::{HeadError, Method};

/// Which of RFC 9112 §3.2's forms the target was sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`, the usual form.
    Origin,
    /// `http://host/path?query`, as sent to proxies; servers must accept it too (§3.2.2).
    Absolute,
    /// `host:port`, only with CONNECT.
    Authority,
    /// `*`, only with OPTIONS.
    Asterisk,
}

/// A request target split into its parts, still percent-encoded (see [`path`](super::path) for
/// decoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    raw: &'a str,
    form: TargetForm,
    path: &'a str,
    query: Option<&'a str>,
    authority: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// The target exactly as sent.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Which form it was sent in.
    pub fn form(&self) -> TargetForm {
        self.form
    }

    /// The path, without the query: `/` for an absolute-form target without one, `*` for the
    /// asterisk form, empty for the authority form.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// What follows the first `?`, if there is one (possibly empty).
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// `host[:port]` from an absolute-form or authority-form target.
    pub fn authority(&self) -> Option<&'a str> {
        self.authority
    }
}

/// Splits `raw` by its form, refusing what httpd refuses (`ap_parse_request_line` with
/// `HttpProtocolOptions Strict`, `ap_post_read_request`): fragments, user information, schemes
/// other than http and https, `*` outside OPTIONS, and paths not starting with `/`.
pub(crate) fn parse_target<'a>(raw: &'a str, method: &Method<'_>) -> Result<Target<'a>, HeadError> {
    let bytes = raw.as_bytes();
    // A fragment is the client's business and never sent (RFC 9110 §7.1).
    if bytes.contains(&b'#') {
        return Err(HeadError::BadTarget);
    }
    if *method == Method::Connect {
        // authority-form: host and a port, nothing else (RFC 9112 §3.2.3).
        let has_port = raw
            .rsplit_once(':')
            .is_some_and(|(h, p)| !p.is_empty() && !h.is_empty() && !h.ends_with(':'));
        if !has_port || bytes.first() == Some(&b'/') {
            return Err(HeadError::BadTarget);
        }
        if !is_valid_host(bytes) {
            return Err(HeadError::BadHost);
        }
        return Ok(Target {
            raw,
            form: TargetForm::Authority,
            path: "",
            query: None,
            authority: Some(raw),
        });
    }
    if bytes.first() == Some(&b'/') {
        let (path, query) = split_query(raw);
        return Ok(Target {
            raw,
            form: TargetForm::Origin,
            path,
            query,
            authority: None,
        });
    }
    if raw == "*" {
        if *method != Method::Options {
            return Err(HeadError::BadTarget);
        }
        return Ok(Target {
            raw,
            form: TargetForm::Asterisk,
            path: "*",
            query: None,
            authority: None,
        });
    }

    let (scheme, rest) = raw.split_once("://").ok_or(HeadError::BadTarget)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(HeadError::BadTarget);
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    if authority.contains('@') {
        // httpd AH02422: "URI must not contain a username/password".
        return Err(HeadError::BadTarget);
    }
    // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid.
    if authority.is_empty() || authority.starts_with(':') {
        return Err(HeadError::BadHost);
    }
    if !is_valid_host(authority.as_bytes()) {
        return Err(HeadError::BadHost);
    }
    let (path, query) = split_query(path_and_query);
    Ok(Target {
        raw,
        form: TargetForm::Absolute,
        path: if path.is_empty() { "/" } else { path },
        query,
        authority: Some(authority),
    })
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(raw: &str) -> Result<Target<'_>, HeadError> {
        parse_target(raw, &Method::Get)
    }

    #[test]
    fn origin_form() {
        let t = get("/a/b?x=1&y").unwrap();
        assert_eq!(t.form(), TargetForm::Origin);
        assert_eq!(
            (t.path(), t.query(), t.authority()),
            ("/a/b", Some("x=1&y"), None)
        );
        assert_eq!(get("/?").unwrap().query(), Some(""));
        assert_eq!(get("/a?b?c").unwrap().query(), Some("b?c"));
        assert_eq!(get("/a").unwrap().raw(), "/a");
        assert_eq!(get("/a#frag"), Err(HeadError::BadTarget));
    }

    #[test]
    fn absolute_form() {
        let t = get("http://Example.com:8080/p?q").unwrap();
        assert_eq!(t.form(), TargetForm::Absolute);
        assert_eq!(
            (t.path(), t.query(), t.authority()),
            ("/p", Some("q"), Some("Example.com:8080"))
        );
        let t = get("HTTPS://example.com").unwrap();
        assert_eq!((t.path(), t.authority()), ("/", Some("example.com")));
        let t = get("http://example.com?q").unwrap();
        assert_eq!((t.path(), t.query()), ("/", Some("q")));
        assert_eq!(get("ftp://example.com/"), Err(HeadError::BadTarget));
        assert_eq!(
            get("http://user:pw@example.com/"),
            Err(HeadError::BadTarget)
        );
        assert_eq!(get("http:///path"), Err(HeadError::BadHost));
        assert_eq!(get("http://:80/"), Err(HeadError::BadHost));
        assert_eq!(get("http://a b/"), Err(HeadError::BadHost));
        assert_eq!(get("example.com/path"), Err(HeadError::BadTarget));
        assert_eq!(get("index.html"), Err(HeadError::BadTarget));
    }

    #[test]
    fn asterisk_and_authority_forms() {
        let t = parse_target("*", &Method::Options).unwrap();
        assert_eq!((t.form(), t.path()), (TargetForm::Asterisk, "*"));
        assert_eq!(get("*"), Err(HeadError::BadTarget));

        let t = parse_target("example.com:443", &Method::Connect).unwrap();
        assert_eq!(t.form(), TargetForm::Authority);
        assert_eq!((t.path(), t.authority()), ("", Some("example.com:443")));
        assert_eq!(
            parse_target("[::1]:443", &Method::Connect).map(|t| t.authority()),
            Ok(Some("[::1]:443"))
        );
        for bad in ["/path", "example.com", "example.com:", ":443", "[::1]"] {
            assert_eq!(
                parse_target(bad, &Method::Connect),
                Err(HeadError::BadTarget),
                "{bad}"
            );
        }
        assert_eq!(
            parse_target("a b:443", &Method::Connect),
            Err(HeadError::BadHost)
        );
    }
}
