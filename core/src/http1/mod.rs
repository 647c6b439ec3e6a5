//! HTTP/1.1 framing: request heads, chunked bodies, response heads, and the static-file rules
//! (paths, validators, ranges) around them.
//!
//! Everything here is sans-IO and allocation-free. The runtime owns the buffers; these functions
//! look at bytes and answer with lengths, borrowed views and status codes.
//!
//! How a request flows through it, and which httpd code each step stands in for:
//!
//! 1. The listener reads whatever arrived into the connection's buffer and calls
//!    [`ScanState::scan`] ([`scan`]). Each call looks only at the new bytes, so a client sending one
//!    byte at a time costs O(head) in total, not O(head²) (hyper#3764). The scan enforces
//!    `LimitRequestLine`, `LimitRequestFieldSize` and `LimitRequestFields` while the head is still
//!    partial, so an oversized head is refused before it is complete (httpd's `read_request_line`
//!    and `ap_get_mime_headers_core` limits).
//! 2. A worker calls [`parse`] ([`request`]) on the complete head: the request line, the fields
//!    (through `httparse`), Host, Connection, Expect and the body framing, with httpd's checks and
//!    RFC 9110/9112's (`ap_parse_request_line`, `ap_check_request_header`, `ap_read_request`).
//! 3. A chunked body goes through [`chunked::Decoder`] (`ap_http_filter`'s chunk parser).
//! 4. A static-file handler maps the target to a file ([`path`]), checks validators
//!    ([`conditional`]) and ranges ([`range`]).
//! 5. The response head is written by [`response::ResponseHead::write`] (`ap_http_header_filter`),
//!    and error bodies by [`error_page`] (`ap_send_error_response`).
//!
//! Where eventmpm answers differently from httpd 2.4.67 with its default
//! `HttpProtocolOptions Strict LenientMethods Allow0.9` (each is documented at its item, and was
//! checked against a running httpd):
//!
//! - an oversized header field or too many fields is 431 rather than 400;
//! - obs-fold is refused with 400 (httpd joins the lines, even in `Content-Length`);
//! - `Transfer-Encoding` with `Content-Length`, or in an HTTP/1.0 request, is 400 (httpd drops
//!   the length, or serves the 1.0 request, and closes);
//! - `Transfer-Encoding: gzip, chunked` is 501 (httpd passes the gzip data to the handler);
//! - identical repeated `Content-Length` values are accepted (RFC 9110 §8.6; httpd refuses them);
//! - an unread body that has not all arrived when the answer is ready, or one sent with GET or
//!   HEAD, closes the connection after the answer ([`discard`]; httpd reads it and carries on);
//! - a request for several byte ranges is answered with the whole file (httpd sends
//!   multipart/byteranges), and `bytes=-0` is 416 (httpd ignores it).
//!
//! As httpd: a bare LF in the head is 400, HTTP/0.9 simple requests are served (body only),
//! `HTTP/2.0` and later versions in a request line are answered as 1.1, the HTTP/2 preface is
//! 400, an empty `Host` in HTTP/1.1 is 400, and methods httpd does not know are told apart from
//! known ones ([`Method::is_registered`]) so handlers can answer 501 or 405.

pub mod chunked;
pub mod conditional;
pub mod date;
pub mod discard;
pub mod error_page;
pub mod etag;
pub mod path;
pub mod range;
pub mod representation;
pub mod request;
pub mod response;
pub mod scan;

mod connection;
mod error;
mod framing;
mod host;
mod limits;
mod lines;
mod method;
mod protocol_options;
mod request_line;
mod status;
mod target;
mod token;
mod writer;

pub use connection::ConnectionOptions;
pub use error::HeadError;
pub use framing::BodyFraming;
pub use limits::Limits;
pub use method::Method;
pub use protocol_options::ProtocolOptions;
pub use request::{Request, parse, parse_with};
pub use request_line::Version;
pub use scan::{Scan, ScanState};
pub use status::Status;
pub use target::{Target, TargetForm};
pub use writer::TooSmall;

/// A request header field as `httparse` hands it over: the caller supplies an array of these to
/// [`parse`] (for example `[httparse::EMPTY_HEADER; 100]`).
pub use httparse::Header;
