//! The runtime's state and the operations the driving loop calls: the per-connection I/O for each
//! of the core's [`Action`]s, the accept side (which sockets listen, by the admission formula),
//! readiness, and worker steps that answer dispatched requests.
//!
//! Everything is single-threaded and bounded: one call touches at most one connection's socket a
//! fixed number of times, and a scan over the slots is O(slots).

use eventmpm_core::admission::{self, Load, Verdict};
use eventmpm_core::conn::{Action, Handback, HeadRead, Wrote};
use eventmpm_core::driver::Interest;
use eventmpm_core::table::{ConnId, ConnTable, Counts, Slot};
use eventmpm_core::time::Instant;

use crate::config::Settings;
use crate::handler::Handler;
use crate::io::{self, ConnIo, Sources};
use crate::socket::{SocketState, Sockets};
use crate::status::Scores;
use crate::tree::Tree;

/// The most connection slots (sockets) a runtime drives.
pub const MAX_SLOTS: usize = 64;

/// Bytes of client input read and thrown away per drain read.
const DRAIN_SCRATCH: usize = 128;

/// What the firmware serves and how.
pub struct Site<'a> {
    /// The flash file tree.
    pub tree: Tree,
    /// Dynamic pages.
    pub handlers: &'a mut [&'a mut dyn Handler],
    /// Whether `/server-status` is served.
    pub status: bool,
    /// `ExtendedStatus`: traffic totals on the status page.
    pub extended_status: bool,
    /// The `Server` field and `ServerVersion:`.
    pub server_software: &'static str,
    /// `Server Built:` on the status page.
    pub built: &'static str,
    /// The address the board serves on, for the status page.
    pub local_ip: &'static str,
}

impl core::fmt::Debug for Site<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Site")
            .field("files", &self.tree.files().len())
            .field("handlers", &self.handlers.len())
            .field("status", &self.status)
            .finish()
    }
}

/// What answering a request needs besides the connection (kept apart from the connections so a
/// request can borrow its connection's buffers while the answer is made).
pub(crate) struct Serving<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) site: Site<'a>,
    pub(crate) page: &'a mut [u8],
    pub(crate) scores: Scores,
    /// A connection is still sending the page buffer's contents.
    pub(crate) page_leased: bool,
    pub(crate) date: (i64, [u8; 29]),
    /// The wall clock (Unix seconds) and the monotonic time of the current poll.
    pub(crate) unix_now: i64,
    pub(crate) mono_now: Instant,
}

/// The runtime.
pub struct Runtime<'a> {
    pub(crate) serving: Serving<'a>,
    pub(crate) table: ConnTable<'a>,
    pub(crate) conns: &'a mut [ConnIo<'a>],
    /// Per slot: the connection waits for this readiness.
    waiting: [Option<Interest>; MAX_SLOTS],
    /// Per slot: dispatched, with the responses already served on it.
    dispatched: [Option<u32>; MAX_SLOTS],
    /// Where the next worker step looks for a dispatched connection (round robin).
    next_dispatch: usize,
    /// Sockets held by a connection (bit per socket).
    held: u64,
    /// What the scoreboard was last told: the counters and whether sockets listen.
    published: Option<(Counts, bool)>,
    accepting: bool,
}

impl core::fmt::Debug for Runtime<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime")
            .field("counts", &self.table.counts())
            .field("site", &self.serving.site)
            .finish()
    }
}

impl<'a> Runtime<'a> {
    /// A runtime over `slots` and `conns` (as many as the stack has sockets, at most
    /// [`MAX_SLOTS`]), with `page` for generated pages (server-status).
    pub fn new(
        settings: &'a Settings,
        slots: &'a mut [Slot],
        conns: &'a mut [ConnIo<'a>],
        page: &'a mut [u8],
        site: Site<'a>,
        scores: Scores,
    ) -> Runtime<'a> {
        let n = slots.len().min(conns.len()).min(MAX_SLOTS);
        let table = ConnTable::new(&mut slots[..n], &settings.table);
        crate::log::info!(
            "eventmpm starting: port {}, {} slots, {} worker steps",
            settings.port,
            n as u32,
            settings.worker_steps
        );
        Runtime {
            serving: Serving {
                settings,
                site,
                page,
                scores,
                page_leased: false,
                date: (i64::MIN, [0; 29]),
                unix_now: 0,
                mono_now: Instant::ZERO,
            },
            table,
            conns: &mut conns[..n],
            waiting: [None; MAX_SLOTS],
            dispatched: [None; MAX_SLOTS],
            next_dispatch: 0,
            held: 0,
            published: None,
            accepting: true,
        }
    }

    /// The connection table (counters, deadlines).
    pub fn table(&mut self) -> &mut ConnTable<'a> {
        &mut self.table
    }

    /// Set the clocks for this poll: monotonic (timeouts) and wall (`Date:`, validators).
    pub fn set_time(&mut self, mono: Instant, unix: i64) {
        self.serving.mono_now = mono;
        self.serving.unix_now = unix;
    }

    fn socket_of(&self, id: ConnId) -> Option<usize> {
        self.conns.get(id.index())?.socket.map(usize::from)
    }

    // --- the accept side -----------------------------------------------------------------

    /// Workers free for a request now: the worker steps less the requests queued for them.
    pub fn idle_workers(&self) -> u32 {
        let queued = self.dispatched.iter().filter(|d| d.is_some()).count() as u32;
        self.serving.settings.worker_steps.saturating_sub(queued)
    }

    /// How many sockets should listen: as many as connections admission would still accept,
    /// within the sockets that are free (see the README's formula).
    pub fn listen_target(&self, free_sockets: u32) -> u32 {
        let counts = self.table.counts();
        let idle = self.idle_workers();
        let mut n = 0;
        while n < free_sockets {
            let load = Load {
                connections: counts.connections + n,
                lingering: counts.lingering,
                idle_workers: idle,
            };
            if admission::verdict(
                load,
                self.serving.settings.worker_steps,
                self.serving.settings.factor,
            ) != Verdict::Accept
            {
                break;
            }
            n += 1;
        }
        n
    }

    /// Take a connection that has arrived on a listening socket, if any: the table opens it and
    /// says what to do first. Called until `None`.
    pub fn accept<S: Sockets>(&mut self, sockets: &mut S) -> Option<(ConnId, Action)> {
        for i in 0..sockets.len().min(MAX_SLOTS) {
            if self.held & (1 << i) != 0 || sockets.state(i) != SocketState::Arrived {
                continue;
            }
            let Some((id, action)) = self.table.open(self.serving.mono_now) else {
                // No slot: reset it (admission keeps this from happening).
                sockets.release(i);
                return None;
            };
            self.held |= 1 << i;
            self.conns[id.index()].open(i as u8);
            return Some((id, action));
        }
        None
    }

    /// The admission switch, once per iteration: make free sockets listen, or stop listening
    /// ones, so that exactly [`Runtime::listen_target`] listen. Returns whether any listens
    /// (the scoreboard's "accepting"). When none can listen because every socket is held and
    /// connections idle in keep-alive, the table is told to close them (no slot is free).
    pub fn admit<S: Sockets>(&mut self, sockets: &mut S) -> bool {
        let n = sockets.len().min(MAX_SLOTS);
        let (mut listening, mut free) = (0u32, 0u32);
        for i in 0..n {
            if self.held & (1 << i) != 0 {
                continue;
            }
            match sockets.state(i) {
                SocketState::Listening => listening += 1,
                SocketState::Free => free += 1,
                SocketState::Arrived | SocketState::Closing => {}
            }
        }
        let target = self.listen_target(listening + free);
        if target < listening {
            let mut extra = listening - target;
            for i in 0..n {
                if extra == 0 {
                    break;
                }
                if self.held & (1 << i) == 0 && sockets.state(i) == SocketState::Listening {
                    sockets.unlisten(i);
                    extra -= 1;
                }
            }
            crate::log::debug!(
                "admission: {} sockets listen, {} connections",
                target,
                self.table.counts().connections
            );
        } else if target > listening {
            let mut more = target - listening;
            for i in 0..n {
                if more == 0 {
                    break;
                }
                if self.held & (1 << i) == 0
                    && sockets.state(i) == SocketState::Free
                    && sockets.listen(i, self.serving.settings.port)
                {
                    more -= 1;
                }
            }
        }
        let accepting = target > 0;
        if !accepting && listening + free == 0 && self.table.counts().keep_alive > 0 {
            crate::log::debug!("no connection slot free: closing idle keep-alive connections");
            self.table.kill_keep_alive();
        }
        self.accepting = accepting;
        self.publish();
        accepting
    }

    /// Connections whose awaited readiness has come: call `f` with each (it feeds the table an
    /// `Event::Ready`). The wait is consumed, as a one-shot poller registration is.
    pub fn ready<S: Sockets>(
        &mut self,
        sockets: &mut S,
        mut f: impl FnMut(&mut Self, &mut S, ConnId),
    ) {
        for i in 0..self.conns.len() {
            let Some(interest) = self.waiting[i] else {
                continue;
            };
            let Some(s) = self.conns[i].socket else {
                self.waiting[i] = None;
                continue;
            };
            let ready = {
                let mut sock = sockets.socket(usize::from(s));
                match interest {
                    Interest::Readable => embedded_io::ReadReady::read_ready(&mut sock),
                    Interest::Writable => embedded_io::WriteReady::write_ready(&mut sock),
                }
            };
            // An error is "ready": the operation that follows reports it.
            if ready.unwrap_or(true) {
                self.waiting[i] = None;
                if let Some(id) = self.table.id_of(i) {
                    f(self, sockets, id);
                }
            }
        }
    }

    /// Write the counters to the scoreboard if they changed.
    pub(crate) fn publish(&mut self) {
        let now = (self.table.counts(), self.accepting);
        if self.published != Some(now) {
            self.serving.scores.publish(&now.0, now.1);
            self.published = Some(now);
        }
    }

    // --- the per-connection operations (the core's Actions) -------------------------------

    /// [`Action::ReadHead`].
    pub fn read_head<S: Sockets>(&mut self, sockets: &mut S, id: ConnId) -> HeadRead {
        let Some(s) = self.socket_of(id) else {
            return HeadRead::Closed;
        };
        let limits = self.serving.settings.limits;
        self.conns[id.index()].read_head(&mut sockets.socket(s), &limits)
    }

    /// [`Action::WaitReadable`] / [`Action::WaitWritable`]: note what to look for.
    pub fn wait(&mut self, id: ConnId, interest: Interest) {
        if let Some(w) = self.waiting.get_mut(id.index()) {
            *w = Some(interest);
        }
    }

    /// [`Action::Dispatch`]: queue the connection for a worker step.
    pub fn dispatch(&mut self, id: ConnId, served: u32) {
        if let Some(d) = self.dispatched.get_mut(id.index()) {
            *d = Some(served);
        }
    }

    /// [`Action::Write`].
    pub fn write<S: Sockets>(&mut self, sockets: &mut S, id: ConnId) -> Wrote {
        let Some(s) = self.socket_of(id) else {
            return Wrote::Failed;
        };
        let mut src = Sources {
            page: &*self.serving.page,
            handlers: &mut *self.serving.site.handlers,
        };
        self.conns[id.index()].write_pending(&mut sockets.socket(s), &mut src)
    }

    /// [`Action::Reject`]: a short error response, then lingering close's first steps. Returns
    /// whether the client has finished sending.
    pub fn reject<S: Sockets>(&mut self, sockets: &mut S, id: ConnId, status: u16) -> bool {
        crate::log::debug!("rejecting a request with {}", status);
        let Some(s) = self.socket_of(id) else {
            return true;
        };
        let conn = &mut self.conns[id.index()];
        let len = self.serving.error_response(conn.output_mut(), status);
        let mut sock = sockets.socket(s);
        ConnIo::write_now(&mut sock, &conn.output_mut()[..len]);
        conn.release_output();
        crate::socket::Socket::shutdown(&mut sock);
        io::drain(&mut sock, &mut [0u8; DRAIN_SCRATCH])
    }

    /// [`Action::Linger`]: shut down our side, drain. Returns whether the client has finished.
    pub fn linger<S: Sockets>(&mut self, sockets: &mut S, id: ConnId) -> bool {
        let Some(s) = self.socket_of(id) else {
            return true;
        };
        self.conns[id.index()].release_output();
        let mut sock = sockets.socket(s);
        crate::socket::Socket::shutdown(&mut sock);
        io::drain(&mut sock, &mut [0u8; DRAIN_SCRATCH])
    }

    /// [`Action::Drain`]. Returns whether the client has finished.
    pub fn drain<S: Sockets>(&mut self, sockets: &mut S, id: ConnId) -> bool {
        let Some(s) = self.socket_of(id) else {
            return true;
        };
        io::drain(&mut sockets.socket(s), &mut [0u8; DRAIN_SCRATCH])
    }

    /// [`Action::Close`]: let go of the socket; the slot is free.
    pub fn close<S: Sockets>(&mut self, sockets: &mut S, id: ConnId) {
        let i = id.index();
        if let Some(s) = self.conns.get(i).and_then(|c| c.socket) {
            sockets.release(usize::from(s));
            self.held &= !(1 << s);
        }
        if let Some(c) = self.conns.get_mut(i) {
            c.reset();
        }
        self.waiting[i] = None;
        self.dispatched[i] = None;
    }

    // --- worker steps ----------------------------------------------------------------------

    /// Whether requests wait for a worker step.
    pub fn has_dispatched(&self) -> bool {
        self.dispatched.iter().any(Option::is_some)
    }

    /// One worker step: answer the next dispatched connection's requests (round robin) and say
    /// how it is handed back; `None` when nothing is dispatched. `step` (below the configured
    /// worker steps) names the scoreboard record the step shows on.
    pub fn worker_step<S: Sockets>(
        &mut self,
        sockets: &mut S,
        step: usize,
    ) -> Option<(ConnId, Handback)> {
        let n = self.conns.len();
        for k in 0..n {
            let i = (self.next_dispatch + k) % n;
            let Some(served) = self.dispatched[i].take() else {
                continue;
            };
            self.next_dispatch = (i + 1) % n;
            // A dispatched connection stays open until its hand-back; skip a slot that is not.
            let Some(id) = self.table.id_of(i) else {
                continue;
            };
            let handback = self.serve(sockets, id, served, step);
            return Some((id, handback));
        }
        None
    }
}
