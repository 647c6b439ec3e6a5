//! Access-log lines: each request's line rendered into its thread's buffer, written out when
//! the buffer is full or the thread goes idle.

use std::time::Instant as StdInstant;

use eventmpm_core::http1::Request;

use super::Worker;
use super::plan::request_line;
use super::respond::RequestTime;
use crate::child::connio::ConnIo;
use crate::logformat::Entry;

/// Access-log bytes a worker buffers before writing them out (it also writes whenever it goes
/// idle, so a quiet server's log is current).
pub(super) const LOG_FLUSH: usize = 32 * 1024;
/// Request header fields a log line can show (`%{Name}i` looks among these).
const LOGGED_FIELDS: usize = 32;

/// What was sent for a request, as its log line reports it.
pub(super) struct Delivered<'a> {
    pub(super) status: u16,
    /// The response head's length.
    pub(super) head_len: u64,
    pub(super) body_bytes: u64,
    /// The file served, if any (`%f`).
    pub(super) filename: Option<&'a str>,
}

impl Worker<'_> {
    /// Log `req` (its head is `head`), answered as `sent` on `io`, the connection's
    /// `served_before + 1`th request.
    pub(super) fn log(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        head: &[u8],
        sent: &Delivered<'_>,
        time: &RequestTime,
        served_before: u32,
    ) {
        if self.site.access_logs.is_empty() {
            return;
        }
        let now = StdInstant::now();
        let mut headers = [("", &b""[..]); LOGGED_FIELDS];
        let mut k = 0;
        for h in req.headers().iter().take(headers.len()) {
            headers[k] = (h.name, h.value);
            k += 1;
        }
        let entry = Entry {
            peer: io.peer,
            local: io.local,
            request_line: request_line(head),
            method: req.method().as_str(),
            path: req.target().path().as_bytes(),
            query: req.target().query().map(str::as_bytes),
            protocol: req.version().as_str(),
            request_headers: &headers[..k],
            response_headers: &[],
            status: sent.status,
            body_bytes: sent.body_bytes,
            bytes_in: head.len() as u64,
            bytes_out: sent.head_len + sent.body_bytes,
            start: time.wall,
            duration: now.saturating_duration_since(time.started),
            keep_alives: served_before,
            keep_alive: self.last_keep_alive,
            filename: sent.filename,
            server_name: &self.site.server_name,
            host: req.host().map(str::as_bytes),
        };
        for (buf, log) in self.logs.iter_mut().zip(&self.site.access_logs) {
            log.format.render(&entry, &mut self.line_cache, buf);
        }
    }

    /// Write the buffered lines out, one write per log.
    pub(in crate::child) fn flush_logs(&mut self) {
        for (buf, log) in self.logs.iter_mut().zip(&self.site.access_logs) {
            log.append(buf);
            buf.clear();
        }
    }
}
