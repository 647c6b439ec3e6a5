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
//! The listener thread, which answers cheap requests itself, never writes a log: a stalled log
//! disk (or a FIFO nobody reads) would stall every connection. It hands its due lines to the
//! child's log-writer thread ([`LogWriter`]) instead, double-buffered; while that thread is
//! still writing the previous batch the listener keeps buffering, and past [`LISTENER_CAP`]
//! bytes it answers nothing itself (a worker answers, and waits on the log as httpd's do).
//!
//! Either way, lines are written when their thread exits, and whenever it waits while the
//! child is stopping; an immediate stop, which does not wait for the threads, has the child's
//! main thread write what they hold ([`LogBuffers::write_all`]), after the log-writer thread
//! has finished the batch it took (within [`FINISH_BOUND`]). Each write is one `write(2)`
//! of whole lines per log, so lines of different threads and processes never interleave
//! mid-line.

use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
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
/// Bytes the listener buffers for one log while the log-writer thread is still writing its
/// previous batch; beyond them it stops answering requests itself.
const LISTENER_CAP: usize = 2 * LOG_FLUSH;
/// How soon the listener looks again when its due lines could not be handed over (the writer
/// is still busy with the previous batch).
const RETRY_HAND_OVER: Duration = Duration::from_millis(100);
/// How long an ending child waits for its log-writer thread to finish the batch it holds: a
/// local write takes microseconds, and a second is well inside the parent's first reminder
/// (AH00045, 3 s after its SIGTERM), so a log that blocks costs the stop one second at most.
const FINISH_BOUND: Duration = Duration::from_secs(1);

/// One thread's unwritten lines.
#[derive(Debug)]
struct Lines {
    /// One buffer per CustomLog, in the site's order.
    bufs: Vec<Vec<u8>>,
    /// When the oldest buffered line comes of age ([`MAX_AGE`] after it was added): a deadline
    /// rather than the line's time, so that each line costs a comparison, not a subtraction.
    /// `None` while nothing is buffered.
    due: Option<StdInstant>,
    /// The thread's rendering cache.
    cache: LineCache,
}

impl Lines {
    fn write(&mut self, logs: &[AccessLog]) {
        for (buf, log) in self.bufs.iter_mut().zip(logs) {
            log.append(buf);
            buf.clear();
        }
        self.due = None;
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
    /// Writes the listener's lines (the event MPM's children; `None` in the worker MPM's).
    writer: Option<LogWriter>,
}

/// The child's log-writer thread's mailbox: the listener's full set of buffers to write, and
/// the emptied set it takes in exchange. The lock is held only to swap buffers, never during a
/// write, so the listener never waits on a log.
#[derive(Debug)]
pub struct LogWriter {
    state: Mutex<WriterState>,
    /// The writer waits on it for a batch (or the stop).
    ready: Condvar,
    /// An ending child waits on it for the writer to finish its batch ([`LogWriter::finish`]).
    drained: Condvar,
}

#[derive(Debug)]
struct WriterState {
    /// Lines handed over and not yet taken by the writer.
    full: Option<Vec<Vec<u8>>>,
    /// Empty buffers for the listener's next swap; `None` while the writer is writing.
    spare: Option<Vec<Vec<u8>>>,
    /// The child is ending: write what is handed over, then return.
    stop: bool,
}

impl LogWriter {
    fn new(logs: usize) -> LogWriter {
        LogWriter {
            state: Mutex::new(WriterState {
                full: None,
                spare: Some((0..logs).map(|_| Vec::with_capacity(LOG_FLUSH)).collect()),
                stop: false,
            }),
            ready: Condvar::new(),
            drained: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Swap `bufs` (the listener's lines) for the empty spare set and wake the writer. `false`
    /// if the writer is still busy with the previous batch: the lines stay where they are.
    fn hand_over(&self, bufs: &mut Vec<Vec<u8>>) -> bool {
        let mut st = self.lock();
        if st.full.is_some() {
            return false;
        }
        let Some(mut spare) = st.spare.take() else {
            return false;
        };
        std::mem::swap(bufs, &mut spare);
        st.full = Some(spare);
        drop(st);
        self.ready.notify_one();
        true
    }

    /// The writer thread's body: write each batch handed over, until [`LogWriter::stop`].
    pub fn run(&self, logs: &[AccessLog]) {
        loop {
            let mut st = self.lock();
            // Bounded: each wake-up takes a batch, sees the stop, or was spurious.
            let mut bufs = loop {
                if let Some(full) = st.full.take() {
                    break full;
                }
                if st.stop {
                    return;
                }
                st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            };
            drop(st);
            for (buf, log) in bufs.iter_mut().zip(logs) {
                log.append(buf);
                buf.clear();
            }
            self.lock().spare = Some(bufs);
            self.drained.notify_all();
        }
    }

    /// Let the writer write what is handed over, then return.
    pub fn stop(&self) {
        self.lock().stop = true;
        self.ready.notify_all();
    }

    /// The child ends at once: let the writer write what it was handed — a batch it took may
    /// be in the middle of its write, and the process's exit would lose it — but wait at most
    /// `bound`, so that a log that blocks (a full disk over NFS, a FIFO nobody reads) cannot
    /// keep the child alive. `true` if the writer is done (and will take nothing more).
    pub fn finish(&self, bound: Duration) -> bool {
        let deadline = StdInstant::now() + bound;
        let mut st = self.lock();
        st.stop = true;
        self.ready.notify_all();
        // Bounded by the deadline: each wake-up is a batch written, or spurious.
        while st.full.is_some() || st.spare.is_none() {
            let left = deadline.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return false;
            }
            st = self
                .drained
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// The child ends without waiting for the writer: write a batch it has not taken yet.
    fn write_untaken(&self, logs: &[AccessLog]) {
        let full = match self.state.try_lock() {
            Ok(mut st) => st.full.take(),
            Err(TryLockError::Poisoned(p)) => p.into_inner().full.take(),
            Err(TryLockError::WouldBlock) => None,
        };
        for (buf, log) in full.iter().flatten().zip(logs) {
            log.append(buf);
        }
    }
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
                    due: None,
                    cache: LineCache::default(),
                })
            })
            .collect();
        LogBuffers {
            slots,
            buffered: site.buffered_logs,
            writer: None,
        }
    }

    /// As [`LogBuffers::new`], plus a slot for the listener (the last), whose lines a
    /// log-writer thread writes ([`LogBuffers::writer`]).
    pub fn with_listener(threads: usize, site: &Site) -> LogBuffers {
        let mut b = LogBuffers::new(threads + 1, site);
        b.writer = Some(LogWriter::new(site.access_logs.len()));
        b
    }

    /// The log-writer the child must run a thread for, if any.
    pub fn writer(&self) -> Option<&LogWriter> {
        self.writer.as_ref()
    }

    /// The listener's handle (the last slot), its lines handed to the log-writer thread.
    pub(super) fn listener<'s>(&'s self, logs: &'s [AccessLog]) -> ThreadLog<'s> {
        ThreadLog {
            lines: &self.slots[self.slots.len() - 1],
            logs,
            buffered: true,
            writer: self.writer.as_ref(),
        }
    }

    /// Write every thread's lines now: the child is ending without waiting for its threads. The
    /// log-writer thread alone is waited for, up to `FINISH_BOUND` (1 s), so the batch it took is
    /// not lost; a worker holding its slot at this moment is skipped rather than waited for (it
    /// is writing its lines, or stuck on a log write).
    pub fn write_all(&self, logs: &[AccessLog]) {
        if let Some(w) = &self.writer {
            w.finish(FINISH_BOUND);
            w.write_untaken(logs);
        }
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
            writer: None,
        }
    }
}

/// When a line added at `now` must be written: [`MAX_AGE`] later (at once, should that be
/// past what an `Instant` holds).
fn come_of_age(now: StdInstant) -> StdInstant {
    now.checked_add(MAX_AGE).unwrap_or(now)
}

/// One thread's handle on its buffered lines.
pub(super) struct ThreadLog<'s> {
    lines: &'s Mutex<Lines>,
    logs: &'s [AccessLog],
    buffered: bool,
    /// The listener's: lines go to the log-writer thread, never written here.
    writer: Option<&'s LogWriter>,
}

impl ThreadLog<'_> {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        // Lines are plain buffers, consistent whatever a panicking holder was doing.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add `entry`'s line to the buffers of the logs `which` (indices into the site's access
    /// logs: the answering host's) at `now`, and write the buffers if one is full or the
    /// oldest line has waited [`MAX_AGE`].
    fn add(&mut self, entry: &Entry<'_>, which: &[usize], now: StdInstant) {
        let mut guard = self.lock();
        let lines = &mut *guard;
        for &i in which {
            if let (Some(buf), Some(log)) = (lines.bufs.get_mut(i), self.logs.get(i))
                && log.format.wants(entry)
            {
                log.format.render(entry, &mut lines.cache, buf);
            }
        }
        let due = *lines.due.get_or_insert_with(|| come_of_age(now));
        if lines.bufs.iter().any(|b| b.len() >= LOG_FLUSH) || now >= due {
            Self::flush(self.writer, self.logs, lines);
        }
    }

    /// Write `lines` out — or, for the listener, hand them to the log-writer thread (`false`
    /// if it is still busy: they stay buffered).
    fn flush(writer: Option<&LogWriter>, logs: &[AccessLog], lines: &mut Lines) -> bool {
        match writer {
            None => {
                lines.write(logs);
                true
            }
            Some(w) => {
                let handed = w.hand_over(&mut lines.bufs);
                if handed {
                    lines.due = None;
                }
                handed
            }
        }
    }

    /// The listener's lines have outgrown [`LISTENER_CAP`] because the log-writer thread is
    /// stuck on a write: it should answer nothing more itself until they are handed over.
    pub(super) fn congested(&self) -> bool {
        self.writer.is_some() && self.lock().bufs.iter().any(|b| b.len() >= LISTENER_CAP)
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
        let mut guard = self.lock();
        let lines = &mut *guard;
        let due = lines.due?;
        if !self.buffered || stopping || now >= due {
            if Self::flush(self.writer, self.logs, lines) {
                return None;
            }
            return Some(RETRY_HAND_OVER);
        }
        Some(due.saturating_duration_since(now))
    }

    /// Write the buffered lines now (the thread exits; the listener hands them over, or leaves
    /// them to the child's last [`LogBuffers::write_all`] if the writer is busy).
    pub(super) fn write(&mut self) {
        let mut guard = self.lock();
        if guard.due.is_some() {
            Self::flush(self.writer, self.logs, &mut guard);
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
    /// When the last byte was handed to the socket: the one clock read that both the log line's
    /// duration and the scoreboard's request time use.
    pub(super) ended: StdInstant,
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
        let now = sent.ended;
        let host = self.host();
        if host.logs.is_empty() {
            return;
        }
        let entry = Entry {
            peer: io.peer,
            local: io.local,
            request_line: request_line(head),
            method: req.method().as_str(),
            path: req.target().path().as_bytes(),
            query: req.target().query().map(str::as_bytes),
            protocol: req.version().as_str(),
            request_headers: req.headers(),
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
            server_name: &host.server_name,
            host: req.host().map(str::as_bytes),
            user: self.modules.user.as_deref(),
            vars: self.modules.vars.pairs(),
        };
        self.log.add(&entry, &host.logs, now);
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::mpsc;

    use super::*;
    use crate::logformat::LogFormat;

    fn log_to(path: &std::path::Path) -> AccessLog {
        AccessLog {
            file: Mutex::new(File::create(path).unwrap()),
            format: LogFormat::parse("%r").unwrap(),
        }
    }

    /// Wait (bounded) until the writer thread has taken the batch handed over.
    fn until_taken(w: &LogWriter) {
        for _ in 0..500 {
            if w.lock().full.is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the writer never took its batch");
    }

    #[test]
    fn an_ending_child_waits_for_the_batch_its_writer_is_writing() {
        let path = std::env::temp_dir().join(format!("eventmpm-writer-{}", std::process::id()));
        let logs = [log_to(&path)];
        // Only the writer: no thread slots.
        let buffers = LogBuffers {
            slots: Box::new([]),
            buffered: true,
            writer: Some(LogWriter::new(1)),
        };
        let w = buffers.writer().unwrap();
        let written = std::thread::scope(|s| {
            s.spawn(|| w.run(&logs));
            // The log's lock, held elsewhere, keeps the writer inside its write of the batch.
            let (held, holding) = mpsc::channel();
            let (release, released) = mpsc::channel::<()>();
            let log = &logs[0];
            s.spawn(move || {
                let _f = log.file.lock().unwrap();
                held.send(()).unwrap();
                let _ = released.recv_timeout(Duration::from_secs(5));
            });
            holding.recv().unwrap();
            let mut bufs = vec![b"GET /last HTTP/1.1\n".to_vec()];
            assert!(w.hand_over(&mut bufs));
            until_taken(w);
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                release.send(()).unwrap();
            });
            buffers.write_all(&logs);
            let written = std::fs::read_to_string(&path).unwrap();
            // Whatever was read, the writer must return for the scope to end.
            w.stop();
            written
        });
        let _ = std::fs::remove_file(&path);
        assert_eq!(written, "GET /last HTTP/1.1\n");
    }

    #[test]
    fn a_writer_stuck_on_its_log_holds_the_end_no_longer_than_the_bound() {
        let path = std::env::temp_dir().join(format!("eventmpm-stuck-{}", std::process::id()));
        let logs = [log_to(&path)];
        let w = LogWriter::new(1);
        std::thread::scope(|s| {
            s.spawn(|| w.run(&logs));
            let guard = logs[0].file.lock().unwrap();
            let mut bufs = vec![b"GET / HTTP/1.1\n".to_vec()];
            assert!(w.hand_over(&mut bufs));
            until_taken(&w);
            assert!(!w.finish(Duration::from_millis(20)), "finished while stuck");
            drop(guard);
            // Unstuck, it writes its batch and returns on the stop finish set.
            assert!(w.finish(Duration::from_secs(5)));
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "GET / HTTP/1.1\n");
        let _ = std::fs::remove_file(&path);
    }
}
