//! One worker thread's record (`worker_score`).

use super::seqlock::{Byte, Inconsistent, Text, Version, Word, Word64};
use super::{CpuTimes, WorkerStatus};
use crate::time::{Duration, Instant};

/// Bytes kept of the request line (`request[64]`, NUL included).
pub const REQUEST_LEN: usize = 64;
/// Bytes kept of the client address or host name (`client64[64]`, NUL included).
pub const CLIENT_LEN: usize = 64;
/// Bytes kept of `host:port` of the virtual host (`vhost[32]`, NUL included).
pub const VHOST_LEN: usize = 32;
/// Bytes kept of the protocol name (`protocol[16]`, NUL included).
pub const PROTOCOL_LEN: usize = 16;

/// One worker thread's slot in shared memory.
///
/// **Writer:** the thread that owns the slot (set up by [`start`](Self::start), called by the
/// thread itself or by its creator before spawning it), and after the owning child has died and
/// been reaped, the parent ([`take_over`](Self::take_over), [`clear`](Self::clear)). Every writer
/// method is one seqlock section, so a reader's [`read`](Self::read) sees all of an update or none
/// of it. Two writers at once cannot cause undefined behaviour (everything is atomic), only torn
/// records that readers then report as [`Inconsistent`].
///
/// **Readers** (the parent's maintenance, `server-status` in any child) must treat the contents
/// as untrusted: [`status`](Self::status) rejects values no writer produces, strings may be
/// unterminated or not UTF-8, counters may be absurd.
///
/// All-zero bytes are a valid record: a dead slot with no history.
#[doc(alias = "worker_score")]
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct WorkerScore {
    version: Version,
    pid: Word,
    tid: Word,
    generation: Word,
    conn_count: Word,
    access_count: Word64,
    my_access_count: Word64,
    bytes_served: Word64,
    my_bytes_served: Word64,
    conn_bytes: Word64,
    start_time: Word64,
    stop_time: Word64,
    last_used: Word64,
    duration: Word64,
    cpu: [Word; 4],
    request: Text<{ REQUEST_LEN / 4 }>,
    client: Text<{ CLIENT_LEN / 4 }>,
    vhost: Text<{ VHOST_LEN / 4 }>,
    protocol: Text<{ PROTOCOL_LEN / 4 }>,
    status: Byte,
}

/// A consistent copy of a [`WorkerScore`], as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    /// The status, or `None` for a byte no writer produces (treat as [`WorkerStatus::Dead`]).
    pub status: Option<WorkerStatus>,
    /// The owning process (0 if never set).
    pub pid: i32,
    /// The owning OS thread (0 if never set).
    pub tid: u32,
    /// The MPM generation of the owning process.
    pub generation: u32,
    /// Requests served on the current connection.
    pub conn_count: u32,
    /// Requests served by this slot, ever (across children).
    pub access_count: u64,
    /// Requests served by this slot in the current child.
    pub my_access_count: u64,
    /// Bytes sent by this slot, ever.
    pub bytes_served: u64,
    /// Bytes sent by this slot in the current child.
    pub my_bytes_served: u64,
    /// Bytes sent on the current connection.
    pub conn_bytes: u64,
    /// When the last request started (the caller's monotonic clock).
    pub start_time: Instant,
    /// When the last request ended.
    pub stop_time: Instant,
    /// When the slot last changed to ready or dead, or last started or ended a request.
    pub last_used: Instant,
    /// The sum of all requests' durations.
    pub duration: Duration,
    /// The thread's CPU time so far, as last recorded (the runtime records it when a request
    /// ends; `children_*` stay zero: a script's CPU time is its process's, see
    /// [`ProcessScore::raise_children_cpu`](super::ProcessScore::raise_children_cpu)).
    pub cpu: CpuTimes,
    /// The request line (first or last 63 bytes, password removed); untrusted bytes.
    pub request: heapless::Vec<u8, REQUEST_LEN>,
    /// The client's address or host name; untrusted bytes.
    pub client: heapless::Vec<u8, CLIENT_LEN>,
    /// `host:port` of the virtual host; untrusted bytes.
    pub vhost: heapless::Vec<u8, VHOST_LEN>,
    /// The protocol, e.g. `http/1.1`; untrusted bytes.
    pub protocol: heapless::Vec<u8, PROTOCOL_LEN>,
}

impl WorkerSnapshot {
    /// A snapshot that knows only the status (for a record that stayed [`Inconsistent`]).
    pub fn status_only(status: Option<WorkerStatus>) -> WorkerSnapshot {
        WorkerSnapshot {
            status,
            ..WorkerSnapshot::default()
        }
    }

    /// The status, with garbage read as [`WorkerStatus::Dead`] (what the parent assumes).
    pub fn status_or_dead(&self) -> WorkerStatus {
        self.status.unwrap_or(WorkerStatus::Dead)
    }

    /// How long the last request took (`Req`): zero if none started or the times are disordered.
    pub fn last_request_time(&self) -> Duration {
        if self.start_time == Instant::ZERO {
            Duration::ZERO
        } else {
            self.stop_time.saturating_since(self.start_time)
        }
    }
}

impl WorkerScore {
    /// A zeroed record: a dead slot with no history.
    #[cfg(not(loom))]
    pub const fn new() -> WorkerScore {
        WorkerScore {
            version: Version::new(),
            pid: Word::new(),
            tid: Word::new(),
            generation: Word::new(),
            conn_count: Word::new(),
            access_count: Word64::new(),
            my_access_count: Word64::new(),
            bytes_served: Word64::new(),
            my_bytes_served: Word64::new(),
            conn_bytes: Word64::new(),
            start_time: Word64::new(),
            stop_time: Word64::new(),
            last_used: Word64::new(),
            duration: Word64::new(),
            cpu: [const { Word::new() }; 4],
            request: Text::new(),
            client: Text::new(),
            vhost: Text::new(),
            protocol: Text::new(),
            status: Byte::new(),
        }
    }

    /// Claims the slot for a new thread of process `pid` in `generation`: status
    /// [`Starting`](WorkerStatus::Starting). Lifetime counters (`access_count`, `bytes_served`,
    /// `duration`) carry over from earlier threads in the slot, as in httpd.
    pub fn start(&self, pid: i32, tid: u32, generation: u32) {
        self.version.write(|| {
            self.pid.set(pid as u32);
            self.tid.set(tid);
            self.generation.set(generation);
            self.status.set(WorkerStatus::Starting as u8);
        });
    }

    /// Changes the status and returns the previous one (`None` if it was garbage).
    ///
    /// As httpd's `update_child_status` with ExtendedStatus: [`Ready`](WorkerStatus::Ready) and
    /// [`Dead`](WorkerStatus::Dead) end the connection's counters and stamp `last_used`; `Dead`
    /// also ends the child's counters and CPU times.
    #[doc(alias = "ap_update_child_status")]
    pub fn set_status(&self, status: WorkerStatus, now: Instant) -> Option<WorkerStatus> {
        self.version
            .write(|| self.set_status_in_section(status, now))
    }

    fn set_status_in_section(&self, status: WorkerStatus, now: Instant) -> Option<WorkerStatus> {
        let old = WorkerStatus::from_u8(self.status.get());
        self.status.set(status as u8);
        if matches!(status, WorkerStatus::Ready | WorkerStatus::Dead) {
            if status == WorkerStatus::Dead {
                self.my_access_count.set(0);
                self.my_bytes_served.set(0);
                for word in &self.cpu {
                    word.set(0);
                }
            }
            self.conn_count.set(0);
            self.conn_bytes.set(0);
            self.last_used.set(now.as_millis());
        }
        old
    }

    /// A request starts now (`ap_time_process_request(START_PREQUEST)`).
    pub fn begin_request(&self, now: Instant) {
        self.version.write(|| {
            self.start_time.set(now.as_millis());
            self.last_used.set(now.as_millis());
        });
    }

    /// A request ended now after sending `bytes`: bumps the access and byte counters of the slot,
    /// the child and the connection, and adds the time since [`begin_request`](Self::begin_request)
    /// to `duration` (`ap_increment_counts` plus `ap_time_process_request(STOP_PREQUEST)`).
    #[doc(alias = "ap_increment_counts")]
    pub fn count_request(&self, bytes: u64, now: Instant) {
        self.version.write(|| {
            self.access_count.add(1);
            self.my_access_count.add(1);
            self.conn_count.set(self.conn_count.get().saturating_add(1));
            self.bytes_served.add(bytes);
            self.my_bytes_served.add(bytes);
            self.conn_bytes.add(bytes);
            let started = Instant::from_millis(self.start_time.get());
            self.stop_time.set(now.as_millis());
            self.last_used.set(now.as_millis());
            self.duration.add(now.saturating_since(started).as_millis());
        });
    }

    /// Records the owning thread's CPU time so far. httpd stores the process's `times()` at each
    /// request in every worker's record; each of ours holds its own thread's, so a process's
    /// time is the sum over its threads.
    pub fn set_cpu_times(&self, cpu: CpuTimes) {
        self.version.write(|| {
            for (word, ticks) in self.cpu.iter().zip(cpu.to_array()) {
                word.set(ticks);
            }
        });
    }

    /// Records the first 63 bytes of the request line, without the password of an
    /// `http://user:password@host/` request target (httpd shows `user@host`).
    pub fn set_request_line(&self, line: &[u8]) {
        let (before, after) = split_password(line);
        self.version
            .write(|| self.request.store_joined(before, after, false));
    }

    /// Records the last 63 bytes of the request line (`SeeRequestTail On`), password removed.
    #[doc(alias = "SeeRequestTail")]
    pub fn set_request_line_tail(&self, line: &[u8]) {
        let (before, after) = split_password(line);
        self.version
            .write(|| self.request.store_joined(before, after, true));
    }

    /// Records the client's address or host name (first 63 bytes).
    pub fn set_client(&self, client: &[u8]) {
        self.version.write(|| self.client.store(client));
    }

    /// Records the virtual host as `host:port` (first 31 bytes).
    pub fn set_vhost(&self, vhost: &[u8]) {
        self.version.write(|| self.vhost.store(vhost));
    }

    /// Records the protocol, e.g. `http/1.1` (first 15 bytes).
    pub fn set_protocol(&self, protocol: &[u8]) {
        self.version.write(|| self.protocol.store(protocol));
    }

    /// The parent, after reaping the child that owned this slot: marks it dead (ending the
    /// child's counters) and completes a write section the child may have died in.
    pub fn take_over(&self, now: Instant) {
        self.version.write(|| {
            self.set_status_in_section(WorkerStatus::Dead, now);
        });
    }

    /// Another thread of the same child, when the child starts stopping: an idle
    /// ([`Ready`](WorkerStatus::Ready)) worker now shows [`Graceful`](WorkerStatus::Graceful),
    /// as httpd's `close_listeners` marks its slots. One compare-and-swap of the status byte
    /// (read on its own, outside the seqlock), so a worker that took a request meanwhile keeps
    /// the status it set. Returns whether the status changed.
    pub fn mark_graceful_if_ready(&self) -> bool {
        self.status
            .swap_if(WorkerStatus::Ready as u8, WorkerStatus::Graceful as u8)
    }

    /// Zeroes the whole record (an ungraceful restart), leaving the version even.
    pub fn clear(&self) {
        self.version.write(|| {
            for word in [&self.pid, &self.tid, &self.generation, &self.conn_count] {
                word.set(0);
            }
            for pair in [
                &self.access_count,
                &self.my_access_count,
                &self.bytes_served,
                &self.my_bytes_served,
                &self.conn_bytes,
                &self.start_time,
                &self.stop_time,
                &self.last_used,
                &self.duration,
            ] {
                pair.set(0);
            }
            for word in &self.cpu {
                word.set(0);
            }
            self.request.store(b"");
            self.client.store(b"");
            self.vhost.store(b"");
            self.protocol.store(b"");
            self.status.set(WorkerStatus::Dead as u8);
        });
    }

    /// The status from one atomic read (no seqlock): `None` for a byte no writer produces.
    pub fn status(&self) -> Option<WorkerStatus> {
        WorkerStatus::from_u8(self.status.get())
    }

    /// The raw status byte, for diagnostics.
    pub fn raw_status(&self) -> u8 {
        self.status.get()
    }

    /// A consistent copy of the whole record, or [`Inconsistent`] if the writer kept it
    /// mid-update for every attempt.
    pub fn read(&self) -> Result<WorkerSnapshot, Inconsistent> {
        self.version.read(|| WorkerSnapshot {
            status: WorkerStatus::from_u8(self.status.get()),
            pid: self.pid.get() as i32,
            tid: self.tid.get(),
            generation: self.generation.get(),
            conn_count: self.conn_count.get(),
            access_count: self.access_count.get(),
            my_access_count: self.my_access_count.get(),
            bytes_served: self.bytes_served.get(),
            my_bytes_served: self.my_bytes_served.get(),
            conn_bytes: self.conn_bytes.get(),
            start_time: Instant::from_millis(self.start_time.get()),
            stop_time: Instant::from_millis(self.stop_time.get()),
            last_used: Instant::from_millis(self.last_used.get()),
            duration: Duration::from_millis(self.duration.get()),
            cpu: CpuTimes::from_array([
                self.cpu[0].get(),
                self.cpu[1].get(),
                self.cpu[2].get(),
                self.cpu[3].get(),
            ]),
            request: self.request.load(),
            client: self.client.load(),
            vhost: self.vhost.load(),
            protocol: self.protocol.load(),
        })
    }

    /// Test access to the seqlock, to simulate a writer that died mid-update.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn version_for_test(&self) -> &Version {
        &self.version
    }

    /// Test access to the raw status byte, to simulate corruption.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn force_status(&self, raw: u8) {
        self.status.set(raw);
    }

    /// Test access to the text cells, to simulate corruption.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn force_request_words(&self, word: u32) {
        self.version.write(|| self.request.fill_for_test(word));
    }
}

/// Splits a request line around the `:password` of an absolute-form target's userinfo, so the two
/// halves joined read `GET http://user@host/ HTTP/1.1`. Without a password the whole line is the
/// first half.
fn split_password(line: &[u8]) -> (&[u8], &[u8]) {
    let whole = (line, &line[..0]);
    let Some(target_start) = line.iter().position(|&b| b == b' ').map(|i| i + 1) else {
        return whole;
    };
    let rest = line.get(target_start..).unwrap_or_default();
    let target_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let target = rest.get(..target_len).unwrap_or_default();
    let Some(scheme_end) = target.windows(3).position(|w| w == b"://") else {
        return whole;
    };
    let authority_start = scheme_end + 3;
    let after_scheme = target.get(authority_start..).unwrap_or_default();
    let authority_len = after_scheme
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..authority_len).unwrap_or_default();
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return whole;
    };
    let Some(colon) = authority
        .get(..at)
        .and_then(|u| u.iter().position(|&b| b == b':'))
    else {
        return whole;
    };
    let base = target_start + authority_start;
    match (line.get(..base + colon), line.get(base + at..)) {
        (Some(before), Some(after)) => (before, after),
        _ => whole,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn zeroed_record_is_a_dead_slot_with_no_history() {
        let w = WorkerScore::new();
        let s = w.read().unwrap();
        assert_eq!(s, WorkerSnapshot::status_only(Some(WorkerStatus::Dead)));
    }

    #[test]
    fn request_cycle_round_trips() {
        let w = WorkerScore::new();
        w.start(4242, 17, 3);
        assert_eq!(
            w.set_status(WorkerStatus::Ready, at(1_000)),
            Some(WorkerStatus::Starting)
        );
        w.set_status(WorkerStatus::Read, at(1_100));
        w.set_client(b"192.0.2.7");
        w.set_vhost(b"example.org:80");
        w.set_protocol(b"http/1.1");
        w.begin_request(at(1_200));
        w.set_request_line(b"GET /index.html HTTP/1.1");
        w.set_status(WorkerStatus::Write, at(1_200));
        w.count_request(5 << 32, at(1_450));
        w.set_cpu_times(CpuTimes {
            user: 3,
            system: 1,
            children_user: 0,
            children_system: 2,
        });
        let s = w.read().unwrap();
        assert_eq!(s.status, Some(WorkerStatus::Write));
        assert_eq!((s.pid, s.tid, s.generation), (4242, 17, 3));
        assert_eq!((s.access_count, s.my_access_count, s.conn_count), (1, 1, 1));
        assert_eq!(
            (s.bytes_served, s.my_bytes_served, s.conn_bytes),
            (5 << 32, 5 << 32, 5 << 32)
        );
        assert_eq!(s.last_request_time(), Duration::from_millis(250));
        assert_eq!(s.duration, Duration::from_millis(250));
        assert_eq!(s.last_used, at(1_450));
        assert_eq!(s.cpu.to_array(), [3, 1, 0, 2]);
        assert_eq!(s.request.as_slice(), b"GET /index.html HTTP/1.1");
        assert_eq!(s.client.as_slice(), b"192.0.2.7");
        assert_eq!(s.vhost.as_slice(), b"example.org:80");
        assert_eq!(s.protocol.as_slice(), b"http/1.1");

        // Back to ready: the connection's counters end, the child's and the slot's stay.
        w.set_status(WorkerStatus::Ready, at(2_000));
        let s = w.read().unwrap();
        assert_eq!((s.conn_count, s.conn_bytes), (0, 0));
        assert_eq!((s.access_count, s.my_access_count), (1, 1));
        assert_eq!(s.last_used, at(2_000));

        // The parent reaps the child: the child's counters end, the slot's lifetime ones stay.
        w.take_over(at(3_000));
        let s = w.read().unwrap();
        assert_eq!(s.status, Some(WorkerStatus::Dead));
        assert_eq!((s.my_access_count, s.my_bytes_served), (0, 0));
        assert_eq!(s.cpu, CpuTimes::default());
        assert_eq!((s.access_count, s.bytes_served), (1, 5 << 32));

        w.clear();
        assert_eq!(
            w.read().unwrap(),
            WorkerSnapshot::status_only(Some(WorkerStatus::Dead))
        );
    }

    #[test]
    fn only_an_idle_worker_is_marked_graceful() {
        let w = WorkerScore::new();
        assert!(!w.mark_graceful_if_ready(), "a dead slot stays dead");
        w.start(4242, 17, 3);
        w.set_status(WorkerStatus::Write, at(1_000));
        assert!(
            !w.mark_graceful_if_ready(),
            "a busy worker keeps its status"
        );
        assert_eq!(w.status(), Some(WorkerStatus::Write));
        w.set_status(WorkerStatus::Ready, at(1_100));
        assert!(w.mark_graceful_if_ready());
        assert_eq!(w.status(), Some(WorkerStatus::Graceful));
        assert!(w.read().is_ok(), "the seqlock is untouched");
    }

    #[test]
    fn request_line_is_truncated_and_keeps_the_tail_on_request() {
        let w = WorkerScore::new();
        let long = [b'a'; 100];
        w.set_request_line(&long);
        assert_eq!(w.read().unwrap().request.len(), REQUEST_LEN - 1);
        let mut line = [b'x'; 100];
        line[99] = b'Z';
        w.set_request_line_tail(&line);
        let s = w.read().unwrap();
        assert_eq!(s.request.len(), REQUEST_LEN - 1);
        assert_eq!(s.request.last(), Some(&b'Z'));
    }

    #[test]
    fn passwords_are_removed_from_absolute_targets() {
        let cases: [(&[u8], &[u8]); 6] = [
            (
                b"GET http://bob:hunter2@example.org/x HTTP/1.1",
                b"GET http://bob@example.org/x HTTP/1.1",
            ),
            (
                b"GET http://bob@example.org/x HTTP/1.1",
                b"GET http://bob@example.org/x HTTP/1.1",
            ),
            (b"GET /a:b@c HTTP/1.1", b"GET /a:b@c HTTP/1.1"),
            (
                b"GET http://h/p?u=a:b@c HTTP/1.1",
                b"GET http://h/p?u=a:b@c HTTP/1.1",
            ),
            (b"GET http://:pw@h HTTP/1.0", b"GET http://@h HTTP/1.0"),
            (b"GARBAGE", b"GARBAGE"),
        ];
        let w = WorkerScore::new();
        for (line, shown) in cases {
            w.set_request_line(line);
            assert_eq!(w.read().unwrap().request.as_slice(), shown);
        }
    }

    #[test]
    fn garbage_status_is_rejected_and_a_dead_writer_reads_inconsistent() {
        let w = WorkerScore::new();
        w.force_status(200);
        assert_eq!(w.status(), None);
        assert_eq!(w.raw_status(), 200);
        assert_eq!(w.read().unwrap().status_or_dead(), WorkerStatus::Dead);

        w.version_for_test().force(9);
        assert_eq!(w.read(), Err(Inconsistent));
        w.take_over(at(5));
        assert_eq!(w.status(), Some(WorkerStatus::Dead));
        assert!(w.read().is_ok());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// The real record: a status-page reader racing a worker's request accounting gets either
    /// the state before or the state after, never a mix.
    #[test]
    fn read_is_all_or_nothing_of_a_request() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(2);
        model.check(|| {
            let worker = Arc::new(WorkerScore::default());
            let writer = {
                let worker = Arc::clone(&worker);
                loom::thread::spawn(move || {
                    worker.count_request(0x1_0000_0001, Instant::from_millis(7));
                })
            };
            if let Ok(s) = worker.read() {
                assert_eq!(s.bytes_served, s.access_count * 0x1_0000_0001);
                assert_eq!(s.my_bytes_served, s.bytes_served);
                assert_eq!(s.last_used.as_millis(), s.access_count * 7);
            }
            writer.join().unwrap();
        });
    }
}
