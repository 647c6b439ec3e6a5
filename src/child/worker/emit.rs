//! Emitting a planned reply: the response head written into a pool buffer (the keep-alive
//! decision made there), the body placed after it — a generated page, a small file read in
//! beside the head, or a file range for sendfile — in the connection's output, and sent.
//!
//! The head is written while the request is still borrowed (its log line needs the head's
//! length); placing the body and sending take the connection's output and socket apart from
//! its input ([`place`], [`send`]), after that borrow has ended.

use std::net::TcpStream;
use std::sync::atomic::Ordering;

use eventmpm_core::conn::{self, KeepAlive};
use eventmpm_core::http1::date;
use eventmpm_core::http1::response::{
    BodyLength, BodyPlan, LAST_CHUNK, Persistence, ResponseHead, chunk_header,
};

use super::Worker;
use super::plan::{Asked, Body, Reply};
use crate::buffers::Buf;
use crate::child::connio::{Mem, Output, Sent};

/// Files up to this size are read into the response buffer and sent with the head in one
/// write; larger ones go out with sendfile.
pub(super) const SMALL_FILE: u64 = 8 * 1024;
/// Response fields beyond the head writer's own (Allow, Location, Content-Type, the
/// representation's, Vary, Content-Encoding, Content-Language, Refresh, and what `Header`
/// lines add): more are dropped (logged).
const MAX_FIELDS: usize = 32;

/// The `Date` value, formatted once per second per thread.
pub(super) struct DateCache {
    secs: i64,
    value: [u8; 29],
}

impl DateCache {
    pub(super) fn new() -> DateCache {
        DateCache {
            secs: -1,
            value: [0; 29],
        }
    }

    /// The `Date` value for `now` (seconds since the epoch).
    pub(super) fn get(&mut self, now: i64) -> &[u8; 29] {
        if now != self.secs {
            self.secs = now;
            self.value = date::format(now);
        }
        &self.value
    }
}

/// The bytes chunked framing adds around one chunk: its size line (at most 16 hex digits and
/// CRLF), the CRLF after it and the last chunk.
const CHUNK_FRAMING: usize = 18 + 2 + LAST_CHUNK.len();

/// A response head written into a pool buffer.
pub(super) struct Head {
    buf: Buf,
    /// The head's length.
    pub(super) len: usize,
    /// Body bytes that follow it (none for HEAD or a 304), without chunked framing.
    pub(super) body_bytes: u64,
    /// The body goes out as one chunk and the last chunk ([`BodyPlan::Chunked`]).
    chunked: bool,
}

impl Worker<'_> {
    /// Write the head of `reply` for a request that `asked` so, `served_before` responses into
    /// its connection, and decide whether the connection stays open (`last_keep_alive`).
    /// `None` if no buffer is left or the head does not fit one (logged).
    pub(super) fn write_head(
        &mut self,
        reply: &Reply,
        asked: Asked,
        served_before: u32,
        now: i64,
    ) -> Option<Head> {
        let stopping = self.shared.stopping.load(Ordering::Relaxed);
        let ka = conn::keep_alive(
            &self.site.keep_alive,
            served_before,
            asked.keep_alive && !reply.close,
            true,
            reply.status.code(),
            stopping,
        );
        let persistence = match ka {
            KeepAlive::Close => Persistence::Close,
            KeepAlive::Open { timeout, remaining } => Persistence::KeepAlive {
                timeout,
                max: remaining,
            },
        };
        let length = reply.body.len();
        let mut buf = self.shared.pool.take()?;
        let mut spans = [("", &b""[..]); MAX_FIELDS];
        let n = self.fields.spans.len().min(spans.len());
        if n < self.fields.spans.len() {
            log::warn!(
                "a response has {} header fields; only {MAX_FIELDS} are sent",
                self.fields.spans.len()
            );
        }
        for (slot, (name, s, e)) in spans.iter_mut().zip(&self.fields.spans) {
            *slot = (self.fields.name(*name), &self.fields.bytes[*s..*e]);
        }
        let date = *self.date.get(now);
        let written = ResponseHead {
            status: reply.status,
            request_version: asked.version,
            head_only: asked.head_only,
            length: if reply.streamed || (reply.length_unknown && asked.head_only) {
                BodyLength::Unknown
            } else {
                BodyLength::Known(length)
            },
            date: &date,
            server: self.site.server_software.as_bytes(),
            persistence,
            keep_alive_asked: asked.keep_alive_asked,
            headers: &spans[..n],
        }
        .write(buf.as_mut_slice());
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                log::error!("cannot write a response head: {e}");
                return None;
            }
        };
        self.last_keep_alive = !written.close;
        // The client's own wish, not a body left unread or an error that forced the close;
        // whether anything is left unread is settled when the request is consumed.
        self.clean_close = written.close && !asked.keep_alive && !reply.close;
        let send_body = !matches!(written.body, BodyPlan::None);
        Some(Head {
            buf,
            len: written.len,
            body_bytes: if send_body { length } else { 0 },
            chunked: written.body == BodyPlan::Chunked,
        })
    }
}

/// Put `head` and `body` into `output`, after what it holds already (responses to pipelined
/// requests held back to go out in one write, [`Output::push_mem`]); a [`Body::Prefetched`]
/// body is the first bytes of `prefetched`. Fails only if a small file cannot be read (the head is dropped and `output`
/// left as it was).
pub(super) fn place(
    output: &mut Output,
    head: Head,
    body: Body,
    prefetched: &[u8],
) -> std::io::Result<()> {
    let Head {
        mut buf,
        len: mut end,
        body_bytes,
        chunked,
    } = head;
    if body_bytes == 0 {
        output.push_mem(Mem::Pooled(buf), end);
        return Ok(());
    }
    match body {
        Body::Page(mut page) => {
            let mut v = Vec::with_capacity(end + page.len() + CHUNK_FRAMING);
            v.extend_from_slice(&buf.as_slice()[..end]);
            if chunked {
                // The whole page in one chunk, then the last chunk: a streamed answer as
                // the client sees it, rendered whole.
                let mut size = [0u8; 18];
                let n = chunk_header(page.len() as u64, &mut size).unwrap_or(0);
                v.extend_from_slice(&size[..n]);
                v.append(&mut page);
                v.extend_from_slice(b"\r\n");
                v.extend_from_slice(LAST_CHUNK);
            } else {
                v.append(&mut page);
            }
            drop(buf);
            let end = v.len();
            output.push_mem(Mem::Heap(v), end);
        }
        Body::File { file, start, len } => {
            if len <= SMALL_FILE && len as usize <= buf.len() - end {
                // One write for head and body.
                let dst = &mut buf.as_mut_slice()[end..end + len as usize];
                std::os::unix::fs::FileExt::read_exact_at(&file.file, dst, start)?;
                end += len as usize;
                output.push_mem(Mem::Pooled(buf), end);
            } else {
                output.push_mem(Mem::Pooled(buf), end);
                output.push_file(file, start, start + len);
            }
        }
        Body::Contents { file, start, len } => {
            let all = file.contents.as_deref().unwrap_or(&[]);
            let body = all
                .get(start as usize..(start + len) as usize)
                .ok_or(std::io::ErrorKind::UnexpectedEof)?;
            copy_body(output, buf, end, body);
        }
        Body::Prefetched { len } => copy_body(output, buf, end, &prefetched[..len as usize]),
        Body::None | Body::Cgi(_) => output.mem = Some((Mem::Pooled(buf), 0, end)),
    }
    Ok(())
}

/// Put a head (`buf[..end]`) and a body held in memory into `output`, in the head's pool
/// buffer when it has room.
fn copy_body(output: &mut Output, mut buf: Buf, end: usize, body: &[u8]) {
    if body.len() <= buf.len() - end {
        buf.as_mut_slice()[end..end + body.len()].copy_from_slice(body);
        output.push_mem(Mem::Pooled(buf), end + body.len());
    } else {
        // A head too long to leave the body room in the pool buffer: rare enough to allocate
        // for.
        let mut v = Vec::with_capacity(end + body.len());
        v.extend_from_slice(&buf.as_slice()[..end]);
        v.extend_from_slice(body);
        drop(buf);
        let end = v.len();
        output.push_mem(Mem::Heap(v), end);
    }
}

/// Send what `output` holds on `sock` (through `tls` on a TLS connection); once all of it is
/// out, its buffers go back.
pub(super) fn send(
    output: &mut Output,
    sock: &TcpStream,
    tls: Option<&mut crate::tls::Session>,
) -> Sent {
    let sent = output.send(sock, tls);
    if sent == Sent::All {
        output.release();
    }
    sent
}
