//! One request, start to end: plan it ([`super::plan`]), note it on the scoreboard, let a CGI
//! script answer or write the head ([`super::emit`]), log it ([`super::access_log`]); then,
//! once the parsed request no longer borrows the connection's input, place the body in the
//! connection's output, consume the request's bytes and send.
//!
//! [`Worker::answer`] takes the connection shared (`&ConnIo`): the request borrows its input
//! there, and nothing in it can change the input or the output. [`Worker::respond`] changes
//! them after that call has returned — the compiler keeps the order.

use std::time::{Instant as StdInstant, SystemTime, UNIX_EPOCH};

use eventmpm_core::http1::BodyFraming;

use super::Worker;
use super::access_log::Delivered;
use super::cgi::CgiDone;
use super::emit::{self, Head};
use super::plan::{Blocking, Body, Decision, FieldRoom};
use crate::board::monotonic_at;
use crate::child::connio::{ConnIo, Sent};

/// When a request began, read once from each clock (the scoreboard's time derived from the
/// monotonic reading, [`monotonic_at`]).
pub(super) struct RequestTime {
    /// For its duration.
    pub(super) started: StdInstant,
    /// For its log line's time.
    pub(super) wall: SystemTime,
    /// Seconds since the epoch (Date, Last-Modified, conditionals).
    pub(super) secs: i64,
    /// Microseconds since the epoch (an ETag's weakness check).
    pub(super) micros: u64,
    /// The scoreboard's clock.
    pub(super) monotonic: eventmpm_core::time::Instant,
}

impl RequestTime {
    pub(super) fn now() -> RequestTime {
        let wall = SystemTime::now();
        let since_epoch = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let started = StdInstant::now();
        RequestTime {
            started,
            wall,
            secs: since_epoch.as_secs() as i64,
            micros: since_epoch.as_micros() as u64,
            monotonic: monotonic_at(started),
        }
    }
}

/// How an attempt to answer a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Responded {
    /// The response went out, or part of it (the rest is in the connection's output), or the
    /// connection failed.
    Sent(Sent),
    /// Under [`Blocking::Never`], answering would block: nothing was done, the request is
    /// still buffered whole.
    Deferred,
    /// The response is complete in the connection's output but held back: the next request
    /// is already buffered, and its response goes out in the same write (lighttpd and h2o
    /// answer a pipelined batch with one `writev` too).
    Held,
}

/// Hold a response back for the next one only while the pending pool buffer has at least
/// this much room left (a small file's response and its head), so a batch never outgrows
/// one buffer by more than one response.
const HOLD_ROOM: usize = 1536;

/// What answering did while the request borrowed the connection.
enum Answered {
    /// Nothing: see [`Responded::Deferred`].
    Deferred,
    /// A CGI script answered; the connection's first `consumed` input bytes were the request.
    Streamed { sent: Sent, consumed: usize },
    /// The head is written and the request logged; the body goes after the head.
    Ready {
        head: Head,
        body: Body,
        consumed: usize,
        filename: Option<std::sync::Arc<str>>,
        /// When it was logged: the request's end, as its log line and the scoreboard count it.
        ended: StdInstant,
    },
    /// No response could be written (out of buffers, or a head too large for one).
    Failed,
}

impl Worker<'_> {
    /// Answer one request whose head is buffered at the start of `io.input`, the
    /// `served_before + 1`th on its connection. Sets `last_keep_alive`.
    pub(super) fn respond(
        &mut self,
        io: &mut ConnIo,
        served_before: u32,
        blocking: Blocking,
    ) -> Responded {
        // The listener's log lines are backed up behind a stalled log write: it answers
        // nothing more itself until they move (a worker answers, and waits on the log).
        if blocking == Blocking::Never && self.log.congested() {
            return Responded::Deferred;
        }
        let time = RequestTime::now();
        let answered = self.answer(io, served_before, blocking, &time);
        match answered {
            Answered::Deferred => Responded::Deferred,
            Answered::Failed => {
                self.last_keep_alive = false;
                Responded::Sent(Sent::Failed)
            }
            Answered::Streamed { sent, consumed } => {
                if self.last_keep_alive {
                    io.input.consume(consumed);
                }
                // A script's last bytes may still be encrypted in the TLS session: write
                // completion sends them.
                let sent = match (sent, crate::child::connio::session(&mut io.tls)) {
                    (Sent::All, Some(tls)) => match tls.flush(&io.sock) {
                        Ok(false) => Sent::All,
                        Ok(true) => Sent::Partial { progress: true },
                        Err(_) => Sent::Failed,
                    },
                    (sent, _) => sent,
                };
                Responded::Sent(sent)
            }
            Answered::Ready {
                head,
                body,
                consumed,
                filename,
                ended,
            } => {
                let bytes = head.len as u64 + head.body_bytes;
                if let Err(e) = emit::place(&mut io.output, head, body, &self.prefetch) {
                    log::error!("cannot read {}: {e}", filename.as_deref().unwrap_or("?"));
                    self.last_keep_alive = false;
                    return Responded::Sent(Sent::Failed);
                }
                // The request's bytes are done with; pipelined bytes after them stay buffered.
                // A connection that closes keeps its input (lingering close discards it), and
                // closes without lingering only if nothing followed the request and the last
                // read drained the socket.
                if self.last_keep_alive {
                    io.input.consume(consumed);
                } else {
                    self.clean_close &= io.input.buffered().len() <= consumed && !io.ready.read;
                }
                let hold = self.last_keep_alive
                    && io.output.file.is_none()
                    && io.output.room() >= HOLD_ROOM
                    && matches!(
                        io.input.scan(&self.shared.limits),
                        eventmpm_core::http1::Scan::Complete { .. }
                    );
                if hold {
                    self.request_done(bytes, time.started, ended);
                    return Responded::Held;
                }
                let sent = emit::send(
                    &mut io.output,
                    &io.sock,
                    crate::child::connio::session(&mut io.tls),
                );
                self.request_done(bytes, time.started, ended);
                Responded::Sent(sent)
            }
        }
    }

    /// Plan, and — unless the plan is deferred — run the script or write the head, and log.
    fn answer(
        &mut self,
        io: &ConnIo,
        served_before: u32,
        blocking: Blocking,
        time: &RequestTime,
    ) -> Answered {
        let limits = self.shared.limits;
        let head_len = io.input.head_len.unwrap_or(0);
        let head = io.input.head().unwrap_or(&[]);
        let mut room = FieldRoom::new();
        let parsed = room.parse(head, &limits, &self.site.protocol);
        let Ok(Decision {
            mut reply,
            asked,
            body_len,
        }) = self.plan(&parsed, io, head, time, blocking)
        else {
            return Answered::Deferred;
        };
        self.record_request(time, parsed.as_ref().ok(), head, io.peer);
        if let Ok(req) = &parsed {
            // A script, then (if it failed and an ErrorDocument for its error is a script) that
            // document, and so on: each document is an internal redirect, and a script's own
            // redirects count too, so `LimitInternalRecursion` bounds the runs.
            let mut redirects = 0;
            let mut run = 0;
            while let Body::Cgi(script) = &reply.body {
                let has_body = req.body() != BodyFraming::None;
                let document = reply.cgi_document.as_deref();
                if let Some(d) = document {
                    redirects += 1;
                    if redirects > self.host().cgi.redirect_limit {
                        // ap_die's redirect to the document refused: a 500 that names the
                        // error it was for.
                        let (status, close) = (d.status, reply.close);
                        self.fields.clear();
                        reply = self.redirect_limit_reply(io, req.method().as_str(), Some(status));
                        self.request_error_page_headers(req, time);
                        reply.close |= has_body || close;
                        break;
                    }
                }
                let may_keep = !((document.is_some() || run > 0) && reply.close);
                run += 1;
                match self.cgi_respond(
                    io,
                    req,
                    head,
                    script,
                    served_before,
                    time,
                    document,
                    redirects,
                    body_len,
                    may_keep,
                ) {
                    CgiDone::Sent(sent, consumed) => return Answered::Streamed { sent, consumed },
                    // A fresh error of a request the script redirected to: its ErrorDocument.
                    CgiDone::Redirected(o) => {
                        redirects = o.redirects;
                        let close = reply.close;
                        reply = self.redirected_error_document(
                            o.reply,
                            req,
                            o.path.as_deref(),
                            io,
                            time,
                            redirects,
                        );
                        reply.close |= has_body || close;
                    }
                    CgiDone::Reply(r) => {
                        let close = reply.close;
                        reply = match document {
                            // The error document failed: httpd's page for the original error.
                            Some(d) => {
                                let status = d.status;
                                self.fields.clear();
                                let mut r = self.error_reply_after(
                                    status,
                                    req.method().as_str(),
                                    b"",
                                    Some(status),
                                );
                                self.request_error_page_headers(req, time);
                                r.close = close;
                                r
                            }
                            // The script's error, answered by its ErrorDocument if one is set
                            // (httpd's ap_die for the status mod_cgi returned).
                            None => self.script_error_document(r, req, io, time),
                        };
                        // What is left of the body must not be read as the next request.
                        reply.close |= has_body || close;
                    }
                }
            }
        }
        let Some(written) = self.write_head(&reply, asked, served_before, time.secs) else {
            return Answered::Failed;
        };
        // The one clock read at the request's end, for its log line and its scoreboard count
        // (sending the body, a non-blocking write, is not waited for in either).
        let ended = StdInstant::now();
        if let Ok(req) = &parsed {
            let sent = Delivered {
                status: reply.status.code(),
                head_len: written.len as u64,
                body_bytes: written.body_bytes,
                filename: reply.filename.as_deref(),
                ended,
            };
            self.log(io, req, head, &sent, time, served_before);
        }
        Answered::Ready {
            head: written,
            body: reply.body,
            consumed: head_len + body_len,
            filename: reply.filename,
            ended,
        }
    }
}
