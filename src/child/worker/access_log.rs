//! Access-log lines: each request's line rendered into its thread's buffer, and when a buffer
//! is written out.
//!
//! With `BufferedLogs On` (the default here) a thread's lines are written when a log's buffer
//! reaches [`LOG_FLUSH`] bytes, or once its oldest line is [`MAX_AGE`] old — checked when the
//! thread logs its next line and when it is about to wait. A thread that is about to wait with
//! younger lines waits at most until they come of age, then writes them
//! ([`ThreadLog::before_wait`]): every line reaches its file within about [`MAX_AGE`], and an
//! idle thread wakes at most once for it. With `BufferedLogs Off` a thread writes its lines
//! at the end of each batch of requests it answers in a row (httpd writes each at the end of
//! its request).
//!
//! Either way, lines are written when their thread exits, and whenever it waits while the
//! child is stopping; an immediate stop, which does not wait for the threads, has the child's
//! main thread write what they hold ([`LogBuffers::write_all`]). Each write is one `write(2)`
//! of whole lines per log, so lines of different threads and processes never interleave
//! mid-line.

use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant as StdInstant};

use eventmpm_core::http1::Request;

use super::Worker;
use super::plan::request_line;
use super::respond::RequestTime;
use crate::child::connio::ConnIo;
use crate::logformat::{Entry, LineCache};
use crate::site::{AccessLog, Site};

/// Bytes a thread buffers for one log before writing them out (a line that crosses it is
/// written with the rest).
const LOG_FLUSH: usize = 32 * 1024;
/// How long a buffered line may wait for its write (BufferedLogs On).
const MAX_AGE: Duration = Duration::from_secs(1);
/// Request header fields a log line can show (`%{Name}i` looks among these).
const LOGGED_FIELDS: usize = 32;

/// One thread's unwritten lines.
#[derive(Debug)]
struct Lines {
    /// One buffer per CustomLog, in the site's order.
    bufs: Vec<Vec<u8>>,
    /// When the oldest buffered line was added; `None` while nothing is buffered.
    oldest: Option<StdInstant>,
    /// The thread's rendering cache.
    cache: LineCache,
}

impl Lines {
    fn write(&mut self, logs: &[AccessLog]) {
        for (buf, log) in self.bufs.iter_mut().zip(logs) {
            log.append(buf);
            buf.clear();
        }
        self.oldest = None;
    }
}

/// The buffered lines of every logging thread of a child, one slot per thread, so that
/// whoever ends the child can write what the threads hold.
#[derive(Debug)]
pub struct LogBuffers {
    /// Each slot's lock is taken by its own thread (uncontended) and, at an immediate stop,
    /// tried once by the child's main thread.
    slots: Box<[Mutex<Lines>]>,
    /// BufferedLogs.
    buffered: bool,
}

impl LogBuffers {
    /// Slots for `threads` threads, with buffers for `site`'s logs (of [`LOG_FLUSH`] bytes
    /// each, allocated now).
    pub fn new(threads: usize, site: &Site) -> LogBuffers {
        let slots = (0..threads.max(1))
            .map(|_| {
                Mutex::new(Lines {
                    bufs: site
                        .access_logs
                        .iter()
                        .map(|_| Vec::with_capacity(LOG_FLUSH))
                        .collect(),
                    oldest: None,
                    cache: LineCache::default(),
                })
            })
            .collect();
        LogBuffers {
            slots,
            buffered: site.buffered_logs,
        }
    }

    /// Write every thread's lines now: the child is ending without waiting for its threads. A
    /// thread holding its slot at this moment is skipped rather than waited for (it is writing
    /// its lines, or stuck on a log write).
    pub fn write_all(&self, logs: &[AccessLog]) {
        for slot in &self.slots {
            let mut lines = match slot.try_lock() {
                Ok(l) => l,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            lines.write(logs);
        }
    }

    /// Thread `n`'s handle. A thread beyond the slots shares one (correct — it is a lock — only
    /// contended).
    pub(super) fn thread<'s>(&'s self, n: usize, logs: &'s [AccessLog]) -> ThreadLog<'s> {
        ThreadLog {
            lines: &self.slots[n % self.slots.len()],
            logs,
            buffered: self.buffered,
        }
    }
}

/// One thread's handle on its buffered lines.
pub(super) struct ThreadLog<'s> {
    lines: &'s Mutex<Lines>,
    logs: &'s [AccessLog],
    buffered: bool,
}

impl ThreadLog<'_> {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        // Lines are plain buffers, consistent whatever a panicking holder was doing.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add `entry`'s line to every log's buffer at `now`, and write the buffers if one is full
    /// or the oldest line has waited [`MAX_AGE`].
    fn add(&mut self, entry: &Entry<'_>, now: StdInstant) {
        let mut guard = self.lock();
        let lines = &mut *guard;
        for (buf, log) in lines.bufs.iter_mut().zip(self.logs) {
            log.format.render(entry, &mut lines.cache, buf);
        }
        let oldest = *lines.oldest.get_or_insert(now);
        if lines.bufs.iter().any(|b| b.len() >= LOG_FLUSH)
            || now.saturating_duration_since(oldest) >= MAX_AGE
        {
            lines.write(self.logs);
        }
    }

    /// The thread has answered a batch of requests in a row (one dispatch): with BufferedLogs
    /// Off their lines are written now.
    pub(super) fn end_of_batch(&mut self) {
        if !self.buffered {
            self.write();
        }
    }

    /// The thread is about to wait (for work, or on a client) at `now`: write the lines if
    /// they are due — BufferedLogs Off, the child `stopping`, or the oldest [`MAX_AGE`] old —
    /// and say how long the thread may wait before it must look again (`None`: as long as it
    /// likes, nothing is buffered).
    pub(super) fn before_wait(&mut self, now: StdInstant, stopping: bool) -> Option<Duration> {
        let mut lines = self.lock();
        let age = now.saturating_duration_since(lines.oldest?);
        if !self.buffered || stopping || age >= MAX_AGE {
            lines.write(self.logs);
            return None;
        }
        Some(MAX_AGE - age)
    }

    /// Write the buffered lines now (the thread exits).
    pub(super) fn write(&mut self) {
        let mut lines = self.lock();
        if lines.oldest.is_some() {
            lines.write(self.logs);
        }
    }
}

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
        self.log.add(&entry, now);
    }
}
