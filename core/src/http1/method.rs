//! Request methods.

use core::fmt;

use super::Status;

/// A request method: the RFC 9110 methods and PATCH by name, anything else as its raw token.
///
/// Methods are case-sensitive (RFC 9110 §9.1): `get` is an unknown method, not GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH` (RFC 5789)
    Patch,
    /// Any other token, as sent (httpd's `M_INVALID` or a module-registered method).
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// The method named by `token` (which the caller has checked is a token).
    pub fn from_token(token: &'a str) -> Method<'a> {
        Method::from_bytes(token.as_bytes()).unwrap_or(Method::Other(token))
    }

    /// The method a request line names, without a UTF-8 check for the known ones; `None` if an
    /// unknown method is not UTF-8 (it cannot be: the caller has checked it is a token).
    pub(crate) fn from_bytes(token: &'a [u8]) -> Option<Method<'a>> {
        Some(match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other(core::str::from_utf8(token).ok()?),
        })
    }

    /// The method's name as sent on the wire.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(s) => s,
        }
    }

    /// Whether httpd knows the method by name (its method registry, `ap_method_registry_init`):
    /// RFC 9110's methods, PATCH, and the WebDAV and DeltaV methods. A handler that does not
    /// implement a known method answers 405; an unknown one is 501 (`default_handler`), or is
    /// refused while the request line is read with `HttpProtocolOptions RegisteredMethods`.
    ///
    /// Case-sensitive, as httpd's registry: `get` is unknown.
    #[doc(alias = "ap_method_number_of")]
    pub fn is_registered(&self) -> bool {
        match self {
            Method::Other(name) => REGISTERED.contains(name),
            _ => true,
        }
    }

    /// How a handler that does not implement this method answers it, as httpd's
    /// `default_handler`: 405 for a method httpd knows, 501 for one it does not (after which the
    /// connection closes: [`drops_connection`](crate::conn::drops_connection)). Either answer
    /// carries an `Allow` field.
    pub fn refusal(&self) -> Status {
        if self.is_registered() {
            Status::METHOD_NOT_ALLOWED
        } else {
            Status::NOT_IMPLEMENTED
        }
    }

    /// GET or HEAD: the methods conditional GETs (304) and ranges apply to.
    pub fn is_get_or_head(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// The methods httpd registers besides those [`Method`] names (WebDAV, RFC 4918; DeltaV,
/// RFC 3253): checked against Debian's httpd 2.4.67, which answers each with 405 on a static file
/// and any other name with 501.
const REGISTERED: [&str; 18] = [
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "VERSION-CONTROL",
    "CHECKOUT",
    "UNCHECKOUT",
    "CHECKIN",
    "UPDATE",
    "LABEL",
    "REPORT",
    "MKWORKSPACE",
    "MKACTIVITY",
    "BASELINE-CONTROL",
    "MERGE",
];

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_case_sensitive() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ] {
            let m = Method::from_token(name);
            assert!(!matches!(m, Method::Other(_)), "{name}");
            assert_eq!(m.as_str(), name);
        }
        assert_eq!(Method::from_token("get"), Method::Other("get"));
        assert_eq!(Method::from_token("PROPFIND").as_str(), "PROPFIND");
        assert!(Method::Head.is_get_or_head());
    }

    #[test]
    fn registered_methods_are_httpds() {
        for name in [
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "DELETE",
            "CONNECT",
            "OPTIONS",
            "TRACE",
            "PATCH",
            "PROPFIND",
            "MKCOL",
            "BASELINE-CONTROL",
            "MERGE",
        ] {
            assert!(Method::from_token(name).is_registered(), "{name}");
        }
        for name in [
            "get", "Get", "FOO", "SEARCH", "QUERY", "PRI", "BIND", "propfind",
        ] {
            assert!(!Method::from_token(name).is_registered(), "{name}");
        }
        assert!(!Method::Post.is_get_or_head());
    }
}
