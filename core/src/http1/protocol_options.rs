//! httpd's `HttpProtocolOptions`: which request lines the server reads.

/// What httpd's `HttpProtocolOptions` decides about a request line, with httpd's defaults
/// (`Strict LenientMethods Allow0.9`).
///
/// `Strict` is the only conformance level: `Unsafe` (bare LF, looser whitespace, lower-case
/// versions) is refused by the configuration, because each of its relaxations is a way for a proxy
/// in front and this server to split a stream into different requests.
#[doc(alias = "HttpProtocolOptions")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolOptions {
    /// `RegisteredMethods`: refuse a method httpd does not know by name
    /// ([`Method::is_registered`](super::Method::is_registered)) with 501 while reading the
    /// request line. With `LenientMethods` (the default) the handler decides: a static file
    /// answers an unknown method with 501, a CGI script runs.
    pub registered_methods: bool,
    /// `Allow0.9` (the default): serve HTTP/0.9 simple requests (`GET /path`), with the body alone.
    /// `Require1.0` refuses them with 400.
    pub allow_http09: bool,
}

impl ProtocolOptions {
    /// httpd's defaults: `Strict LenientMethods Allow0.9`.
    pub const DEFAULT: ProtocolOptions = ProtocolOptions {
        registered_methods: false,
        allow_http09: true,
    };
}

impl Default for ProtocolOptions {
    fn default() -> ProtocolOptions {
        ProtocolOptions::DEFAULT
    }
}
