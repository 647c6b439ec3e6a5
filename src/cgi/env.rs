//! A script's environment: RFC 3875's meta-variables with httpd's additions
//! (`ap_add_common_vars` and `ap_add_cgi_vars`).
//!
//! Request header fields become `HTTP_*` variables (upper case, `-` as `_`); a field whose name
//! holds any other character is not exported (httpd: a name with `_` could otherwise pose as a
//! different header). `Content-Type` and `Content-Length` become `CONTENT_TYPE` and
//! `CONTENT_LENGTH`; `Authorization` and `Proxy-Authorization` are withheld (a script must not
//! see passwords), and so is `Proxy` (httpoxy: `HTTP_PROXY` would be taken for a proxy setting).
//! Repeated fields are joined with `, `, as httpd's request table merges them.
//!
//! A chunked request body reaches the script de-chunked and without `CONTENT_LENGTH` — the
//! length is not known until the body has ended, and httpd's mod_cgi/mod_cgid stream it the same
//! way rather than buffer it (RFC 3875 asks for `CONTENT_LENGTH` whenever there is a body;
//! scripts that need it must read to end of file instead). `HTTP_TRANSFER_ENCODING` says so.

use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::ffi::OsStrExt;

use eventmpm_core::http1::{BodyFraming, Request};

use super::Script;

/// The server-side facts a script's environment needs.
#[derive(Debug, Clone, Copy)]
pub struct ServerFacts<'a> {
    /// `SERVER_SOFTWARE`.
    pub software: &'a str,
    /// ServerName, for `SERVER_NAME` when the request names no host.
    pub name: &'a str,
    /// `SERVER_ADMIN`.
    pub admin: &'a str,
    /// `DOCUMENT_ROOT`.
    pub document_root: &'a std::path::Path,
    /// `PATH`.
    pub path: &'a OsStr,
}

/// The request that redirected internally to this one (`REDIRECT_URL`, `REDIRECT_QUERY_STRING`,
/// `REDIRECT_STATUS`, and `REQUEST_URI`, which httpd takes from the first request line).
#[derive(Debug, Clone, Copy)]
pub struct Redirected<'a> {
    /// The previous request's URL-path.
    pub url: &'a [u8],
    /// Its query string.
    pub query: Option<&'a [u8]>,
    /// Its status: 200 after a script's `Location`, the error's for an `ErrorDocument`.
    pub status: u16,
    /// The original request-target, as the client sent it.
    pub request_uri: &'a [u8],
}

fn var(env: &mut Vec<(OsString, OsString)>, name: &str, value: &[u8]) {
    // A NUL cannot cross exec; such a value is dropped rather than truncated.
    if !value.contains(&0) {
        env.push((name.into(), OsStr::from_bytes(value).to_os_string()));
    }
}

/// `HTTP_` + the field name, or `None` for a name with bytes other than letters, digits and `-`.
fn http_name(field: &str) -> Option<String> {
    let mut n = String::with_capacity(5 + field.len());
    n.push_str("HTTP_");
    for c in field.bytes() {
        match c {
            b'-' => n.push('_'),
            c if c.is_ascii_alphanumeric() => n.push(c.to_ascii_uppercase() as char),
            _ => return None,
        }
    }
    Some(n)
}

/// The address as httpd prints it (an IPv4-mapped IPv6 address as plain IPv4).
fn ip(a: IpAddr) -> String {
    a.to_canonical().to_string()
}

/// The Host field split into (name, port), lower-cased as httpd's `r->hostname`; IPv6 literals
/// keep their brackets (`ap_get_server_name_for_url`).
fn host_and_port(host: &str) -> (String, Option<&str>) {
    let (name, port) = if host.starts_with('[') {
        match host.rfind(']') {
            Some(end) => (&host[..=end], host[end + 1..].strip_prefix(':')),
            None => (host, None),
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (name, port.filter(|p| !p.is_empty()))
}

/// The variables for a request's header fields: `HTTP_*` and `CONTENT_TYPE`, fields of one name
/// merged with `, ` in order of first appearance; `Content-Length` (taken from the framing) and
/// credentials left out.
pub fn field_vars<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, Vec<u8>)> {
    let mut merged: Vec<(String, Vec<u8>)> = Vec::new();
    for (field, value) in fields {
        let lower = field.to_ascii_lowercase();
        let name = match lower.as_str() {
            "content-type" => "CONTENT_TYPE".to_string(),
            // Taken from the framing (a chunked body has none).
            "content-length" => continue,
            "authorization" | "proxy-authorization" | "proxy" => continue,
            _ => match http_name(field) {
                Some(n) => n,
                None => continue,
            },
        };
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(value);
            }
            None => merged.push((name, value.to_vec())),
        }
    }
    merged
}

/// Replace the header-field variables of `env` by those of `fields` (the request's fields as
/// `RequestHeader` lines edited them).
pub fn replace_field_vars<'a>(
    env: &mut Vec<(OsString, OsString)>,
    fields: impl Iterator<Item = (&'a str, &'a [u8])>,
) {
    env.retain(|(n, _)| {
        let n = n.as_bytes();
        !n.starts_with(b"HTTP_") && n != b"CONTENT_TYPE"
    });
    for (n, v) in field_vars(fields) {
        var(env, &n, &v);
    }
}

/// The environment for `script` answering `req` on a connection from `peer` to `local`.
pub fn build(
    req: &Request<'_>,
    script: &Script,
    peer: SocketAddr,
    local: SocketAddr,
    server: &ServerFacts<'_>,
    redirected: Option<Redirected<'_>>,
) -> Vec<(OsString, OsString)> {
    let mut env = Vec::with_capacity(32 + req.headers().len());
    // Header fields first, merged by name in order of first appearance.
    let merged = field_vars(req.headers().iter().map(|h| (h.name, h.value)));
    for (n, v) in &merged {
        var(&mut env, n, v);
    }
    if let BodyFraming::Length(n) = req.body() {
        var(&mut env, "CONTENT_LENGTH", n.to_string().as_bytes());
    }
    var(&mut env, "PATH", server.path.as_bytes());
    for inherited in ["TZ", "LD_LIBRARY_PATH"] {
        if let Some(v) = std::env::var_os(inherited) {
            var(&mut env, inherited, v.as_bytes());
        }
    }
    var(&mut env, "SERVER_SIGNATURE", b"");
    var(&mut env, "SERVER_SOFTWARE", server.software.as_bytes());
    // UseCanonicalName Off (httpd's default): the name and port the client asked for.
    let (host_name, host_port) = match req.host() {
        Some(h) if !h.is_empty() => {
            let (n, p) = host_and_port(h);
            (n, p.map(str::to_string))
        }
        _ => (server.name.to_string(), None),
    };
    var(&mut env, "SERVER_NAME", host_name.as_bytes());
    var(&mut env, "SERVER_ADDR", ip(local.ip()).as_bytes());
    let port = host_port.unwrap_or_else(|| local.port().to_string());
    var(&mut env, "SERVER_PORT", port.as_bytes());
    var(&mut env, "REMOTE_ADDR", ip(peer.ip()).as_bytes());
    var(
        &mut env,
        "DOCUMENT_ROOT",
        server.document_root.as_os_str().as_bytes(),
    );
    var(&mut env, "REQUEST_SCHEME", b"http");
    var(&mut env, "CONTEXT_PREFIX", &script.context_prefix);
    var(
        &mut env,
        "CONTEXT_DOCUMENT_ROOT",
        script.context_root.as_os_str().as_bytes(),
    );
    var(&mut env, "SERVER_ADMIN", server.admin.as_bytes());
    var(
        &mut env,
        "SCRIPT_FILENAME",
        script.filename.as_os_str().as_bytes(),
    );
    var(&mut env, "REMOTE_PORT", peer.port().to_string().as_bytes());
    if let Some(r) = redirected {
        if let Some(q) = r.query {
            var(&mut env, "REDIRECT_QUERY_STRING", q);
        }
        var(&mut env, "REDIRECT_URL", r.url);
        var(&mut env, "REDIRECT_STATUS", r.status.to_string().as_bytes());
    }
    var(&mut env, "GATEWAY_INTERFACE", b"CGI/1.1");
    var(
        &mut env,
        "SERVER_PROTOCOL",
        req.version().as_str().as_bytes(),
    );
    var(&mut env, "REQUEST_METHOD", req.method().as_str().as_bytes());
    var(
        &mut env,
        "QUERY_STRING",
        req.target().query().unwrap_or("").as_bytes(),
    );
    // httpd's original_uri: the request line's target, whatever redirected since.
    let request_uri = match redirected {
        Some(r) => r.request_uri,
        None => req.target().raw().as_bytes(),
    };
    var(&mut env, "REQUEST_URI", request_uri);
    var(&mut env, "SCRIPT_NAME", &script.script_name);
    if !script.path_info.is_empty() {
        var(&mut env, "PATH_INFO", &script.path_info);
    }
    if let Some(t) = &script.path_translated {
        var(&mut env, "PATH_TRANSLATED", t.as_os_str().as_bytes());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventmpm_core::http1::{self, Limits};
    use std::path::PathBuf;

    fn env_of(head: &[u8]) -> Vec<(String, String)> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let req = http1::parse(head, &Limits::default(), &mut headers).unwrap();
        let script = Script {
            filename: PathBuf::from("/srv/cgi-bin/env.cgi"),
            dir: PathBuf::from("/srv/cgi-bin"),
            script_name: b"/cgi-bin/env.cgi".to_vec(),
            path_info: b"/extra/path".to_vec(),
            path_translated: Some(PathBuf::from("/srv/htdocs/extra/path")),
            context_prefix: b"/cgi-bin/".to_vec(),
            context_root: PathBuf::from("/srv/cgi-bin/"),
        };
        let facts = ServerFacts {
            software: "eventmpm/0.1.0 (Unix)",
            name: "localhost",
            admin: "admin@example.org",
            document_root: std::path::Path::new("/srv/htdocs"),
            path: OsStr::new("/usr/bin:/bin"),
        };
        build(
            &req,
            &script,
            "[::ffff:192.0.2.7]:40000".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
            &facts,
            None,
        )
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn rfc3875_variables_and_header_mapping() {
        let env = env_of(
            b"POST /cgi-bin/env.cgi/extra/path?a=1&b=%20 HTTP/1.1\r\nHost: Example.ORG:8443\r\n\
              Content-Type: text/plain\r\nContent-Length: 5\r\nX-Custom-Thing: v1\r\n\
              X-Custom-Thing: v2\r\nAuthorization: Basic c2VjcmV0\r\nProxy: http://evil/\r\n\
              Proxy-Authorization: x\r\nX_Under: no\r\n\r\n",
        );
        let want = [
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("REQUEST_METHOD", "POST"),
            ("QUERY_STRING", "a=1&b=%20"),
            ("REQUEST_URI", "/cgi-bin/env.cgi/extra/path?a=1&b=%20"),
            ("SCRIPT_NAME", "/cgi-bin/env.cgi"),
            ("PATH_INFO", "/extra/path"),
            ("PATH_TRANSLATED", "/srv/htdocs/extra/path"),
            ("SCRIPT_FILENAME", "/srv/cgi-bin/env.cgi"),
            ("SERVER_NAME", "example.org"),
            ("SERVER_PORT", "8443"),
            ("SERVER_ADDR", "127.0.0.1"),
            ("REMOTE_ADDR", "192.0.2.7"),
            ("REMOTE_PORT", "40000"),
            ("CONTENT_TYPE", "text/plain"),
            ("CONTENT_LENGTH", "5"),
            ("HTTP_HOST", "Example.ORG:8443"),
            ("HTTP_X_CUSTOM_THING", "v1, v2"),
            ("DOCUMENT_ROOT", "/srv/htdocs"),
            ("CONTEXT_PREFIX", "/cgi-bin/"),
            ("CONTEXT_DOCUMENT_ROOT", "/srv/cgi-bin/"),
            ("REQUEST_SCHEME", "http"),
            ("SERVER_SOFTWARE", "eventmpm/0.1.0 (Unix)"),
            ("SERVER_ADMIN", "admin@example.org"),
            ("PATH", "/usr/bin:/bin"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
        for absent in [
            "HTTP_AUTHORIZATION",
            "HTTP_PROXY",
            "HTTP_PROXY_AUTHORIZATION",
            "HTTP_CONTENT_LENGTH",
            "HTTP_CONTENT_TYPE",
            "HTTP_X_UNDER",
        ] {
            assert_eq!(get(&env, absent), None, "{absent}");
        }
    }

    #[test]
    fn no_host_no_query_and_chunked() {
        let env = env_of(b"GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n");
        assert_eq!(get(&env, "SERVER_NAME"), Some("localhost"));
        assert_eq!(get(&env, "SERVER_PORT"), Some("8080"));
        assert_eq!(get(&env, "QUERY_STRING"), Some(""));
        assert_eq!(get(&env, "SERVER_PROTOCOL"), Some("HTTP/1.0"));
        let env =
            env_of(b"POST /x HTTP/1.1\r\nHost: [::1]:81\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(get(&env, "CONTENT_LENGTH"), None);
        assert_eq!(get(&env, "HTTP_TRANSFER_ENCODING"), Some("chunked"));
        assert_eq!(get(&env, "SERVER_NAME"), Some("[::1]"));
        assert_eq!(get(&env, "SERVER_PORT"), Some("81"));
    }
}
