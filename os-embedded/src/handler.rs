//! Dynamic pages: a [`Handler`] claims a path and produces its body piece by piece as the socket
//! takes it, so a page is not capped by any buffer (a router's JSON status, a log tail). A body
//! whose length the handler cannot tell in advance goes out chunked to HTTP/1.1 clients and
//! delimited by closing the connection for HTTP/1.0 ones, as the Unix server streams CGI output.

use eventmpm_core::http1::Request;

/// What a handler answers a request with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dynamic {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body's length, if the handler knows it.
    pub length: Option<u64>,
    /// Where [`Handler::fill`] starts (the handler's own cursor, e.g. 0).
    pub cursor: u64,
}

/// A dynamic page. Handlers are called from the runtime's single loop; `fill` must not block.
pub trait Handler {
    /// Whether the handler serves the decoded path (`/api/status.json`).
    fn claims(&self, path: &[u8]) -> bool;

    /// Begin answering a GET or HEAD for a claimed path.
    fn start(&mut self, request: &Request<'_>) -> Dynamic;

    /// Write the next body bytes after `cursor` into `out` (never more than `out.len()`),
    /// advance `cursor`, and return how many were written; 0 ends the body. With a known
    /// length, exactly that many bytes must be produced in all.
    fn fill(&mut self, cursor: &mut u64, out: &mut [u8]) -> usize;
}
