//! The epoll poller: oneshot connections, level-triggered listeners, and the
//! eventfd waker.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::io::Errno;

use crate::event::Events;
use crate::interest::Interest;
use crate::timeout;
use crate::waker::{WAKE_TOKEN, WakeState, Waker};

/// Whether this backend offers [`Poller::add_edge`]: epoll does.
pub const EDGE_TRIGGERED: bool = true;

/// An epoll instance with oneshot registrations and a built-in waker.
///
/// Close-on-exec, so CGI-like children never inherit it. See the crate docs
/// for the caller contract and how kqueue and event ports provide the same
/// methods.
#[derive(Debug)]
#[doc(alias = "apr_pollset_t")]
pub struct Poller {
    epoll: OwnedFd,
    wake: Arc<WakeState>,
}

impl Poller {
    /// A new poller with its eventfd waker registered under [`WAKE_TOKEN`].
    #[doc(alias = "epoll_create1")]
    pub fn new() -> io::Result<Self> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        let wake = Arc::new(WakeState::new()?);
        // Level-triggered, not oneshot: `wait` drains the eventfd before it
        // returns, so it cannot fire twice for one write, and no re-arm
        // syscall is needed per wake-up.
        epoll::add(
            &epoll,
            wake.fd(),
            EventData::new_u64(WAKE_TOKEN),
            EventFlags::IN,
        )?;
        Ok(Poller { epoll, wake })
    }

    /// Registers `fd` for one event of `interest`, reported with `token`.
    ///
    /// After that event the registration stays but is disarmed until
    /// [`rearm`](Poller::rearm). Adding an fd twice is a caller bug: epoll
    /// answers `EEXIST` (other backends may accept it silently). `token` may
    /// not be [`WAKE_TOKEN`].
    #[doc(alias = "EPOLL_CTL_ADD")]
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        epoll::add(&self.epoll, fd, data(token)?, interest.oneshot_flags())?;
        Ok(())
    }

    /// Arms a registered `fd` for one more event, of `interest`, reported
    /// with `token` (which may differ from the previous one).
    ///
    /// Also replaces an armed registration that has not fired yet. Fails with
    /// `ENOENT` if `fd` was never added (or was deleted).
    #[doc(alias = "EPOLL_CTL_MOD")]
    pub fn rearm(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        epoll::modify(&self.epoll, fd, data(token)?, interest.oneshot_flags())?;
        Ok(())
    }

    /// Registers `fd` once, for both directions, edge-triggered
    /// (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`): reported with `token`
    /// each time it *becomes* readable (new data, end of stream) or writable
    /// (room freed after a write that would have blocked), for as long as it
    /// stays registered, with no re-arm.
    ///
    /// This is how nginx registers connections: a connection then costs one
    /// `epoll_ctl` in its life instead of one per wait. The price is the
    /// caller's bookkeeping: an edge is reported once, so the caller must
    /// remember a socket is ready until a read or write answers `WouldBlock`
    /// (or a read returns less than it asked for, unless the peer has closed
    /// its side: see [`Event::closed`](crate::Event::closed)), and must
    /// remember edges that arrive while it is not waiting for them. If `fd`
    /// is ready when added, the first wait reports it.
    ///
    /// Only this backend offers it ([`EDGE_TRIGGERED`](crate::EDGE_TRIGGERED)):
    /// kqueue's `EV_CLEAR` could, event ports cannot.
    #[doc(alias = "EPOLLET")]
    pub fn add_edge(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET;
        epoll::add(&self.epoll, fd, data(token)?, flags)?;
        Ok(())
    }

    /// Registers a listening socket: reported with `token` whenever a
    /// connection is pending, without re-arming.
    ///
    /// Level-triggered and not `EPOLLEXCLUSIVE`: every child polling the
    /// socket wakes for a connection and the losers' accepts answer
    /// [`Accepted::WouldBlock`](crate::Accepted::WouldBlock), as with kqueue
    /// and event ports. An exclusive wake-up is given once per arriving
    /// connection, not while one is pending, so a child woken that declines
    /// it (at its admission bound, its table full, stopping) would leave the
    /// connection in the backlog unseen by every other child until the next
    /// one arrived; httpd 2.4 polls its listeners the same way. To stop
    /// accepting, [`delete`](Poller::delete) the listener; to resume, add it
    /// again.
    #[doc(alias = "apr_pollset_add")]
    pub fn add_listener(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        epoll::add(&self.epoll, fd, data(token)?, EventFlags::IN)?;
        Ok(())
    }

    /// Removes `fd`'s registration, armed or not, connection or listener.
    ///
    /// Call it before closing `fd`. An fd that is not registered is not an
    /// error: the poller ends in the state the caller asked for.
    #[doc(alias = "EPOLL_CTL_DEL")]
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        match epoll::delete(&self.epoll, fd) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Waits for events and fills `events` with up to its capacity of them.
    ///
    /// `timeout`: `None` waits until an event or a wake-up; `Some(ZERO)`
    /// only polls; any other value is rounded up to whole milliseconds so
    /// the wait never returns before it has elapsed (it may return later,
    /// and waits beyond about 24.8 days return `Ok(0)` early). A signal
    /// returns `Ok(0)`. A wake-up is reported as an event with
    /// [`WAKE_TOKEN`], after the eventfd has been drained.
    ///
    /// Returns how many events `events` now holds. One thread waits at a
    /// time.
    #[doc(alias = "epoll_wait")]
    #[doc(alias = "apr_pollset_poll")]
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let timespec = timeout.map(timeout::timespec);
        match epoll::wait(&self.epoll, events.buffer(), timespec.as_ref()) {
            Ok(len) => events.set_len(len),
            Err(Errno::INTR) => return Ok(0),
            Err(error) => return Err(error.into()),
        }
        if events.contains_token(WAKE_TOKEN) {
            self.wake.drain();
        }
        Ok(events.len())
    }

    /// A handle that wakes this poller from any thread.
    pub fn waker(&self) -> Waker {
        Waker::new(self.wake.clone())
    }
}

/// The epoll user data for `token`, refusing the reserved wake token.
fn data(token: u64) -> io::Result<EventData> {
    if token == WAKE_TOKEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "token u64::MAX is reserved for wake-ups",
        ));
    }
    Ok(EventData::new_u64(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, mpsc};
    use std::thread;

    use crate::accept::{Accepted, accept};
    use crate::event::Event;
    use eventmpm_os_testkit::socket_pair;

    /// Generous enough that only a missing event reaches it: tests assert
    /// that the event came, never how fast.
    const PATIENCE: Duration = Duration::from_secs(5);

    fn wait_for(poller: &Poller, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(PATIENCE)).unwrap();
        events.iter().collect()
    }

    fn poll_now(poller: &Poller, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(Duration::ZERO)).unwrap();
        events.iter().collect()
    }

    fn send_byte(fd: &impl AsFd) {
        assert_eq!(rustix::io::write(fd, b"x").unwrap(), 1);
    }

    #[test]
    fn oneshot_fires_once_and_again_only_after_rearm() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 7, Interest::Read).unwrap();
        send_byte(&theirs);

        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 7);
        assert!(got[0].readable);

        // Still readable, but disarmed.
        assert!(poll_now(&poller, &mut events).is_empty());
        assert!(poll_now(&poller, &mut events).is_empty());

        poller.rearm(ours.as_fd(), 7, Interest::Read).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 7);
        assert!(got[0].readable);
    }

    #[test]
    fn an_edge_registration_reports_each_change_once_without_rearming() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add_edge(ours.as_fd(), 7).unwrap();
        // Writable from the start: reported once, at the first wait.
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].writable && !got[0].readable);
        assert!(poll_now(&poller, &mut events).is_empty());

        // New data: one report, and none while it stays unread.
        send_byte(&theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 7);
        assert!(got[0].readable);
        assert!(poll_now(&poller, &mut events).is_empty());

        // More data is a new edge, though the first byte was never read.
        send_byte(&theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable);

        // The peer's end of stream is an edge too, marked closed.
        rustix::net::shutdown(&theirs, rustix::net::Shutdown::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable && got[0].closed);
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn an_edge_registration_reports_room_after_a_full_send_buffer() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add_edge(ours.as_fd(), 3).unwrap();
        let got = wait_for(&poller, &mut events);
        assert!(got.len() == 1 && got[0].writable);
        // Fill our send side until it would block (bounded: a socket buffer is at most a few
        // MiB here, so 100,000 writes of 4 KiB suffice).
        let chunk = [0u8; 4096];
        let mut full = false;
        for _ in 0..100_000 {
            match rustix::io::write(&ours, &chunk) {
                Ok(_) => {}
                Err(Errno::AGAIN) => {
                    full = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(full);
        assert!(poll_now(&poller, &mut events).is_empty());
        // The peer reads everything: room again, one edge.
        let mut sink = [0u8; 65536];
        for _ in 0..100_000 {
            match rustix::io::read(&theirs, &mut sink) {
                Ok(0) | Err(Errno::AGAIN) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.iter().map(|e| e.token).collect::<Vec<_>>(), [3]);
        assert!(got[0].writable);
    }

    #[test]
    fn write_interest_ignores_pending_input() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        send_byte(&theirs);
        poller.add(ours.as_fd(), 1, Interest::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].writable);
        assert!(!got[0].readable);
    }

    #[test]
    fn read_interest_ignores_writability() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 2, Interest::Read).unwrap();
        // Writable from the start, yet nothing to report.
        assert!(poll_now(&poller, &mut events).is_empty());
        send_byte(&theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable);
        assert!(!got[0].writable);
    }

    #[test]
    fn rearm_switches_direction_and_token() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, _theirs) = socket_pair();
        poller.add(ours.as_fd(), 3, Interest::Read).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        poller.rearm(ours.as_fd(), 4, Interest::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 4);
        assert!(got[0].writable);
    }

    #[test]
    fn a_peer_that_went_away_is_readable_and_closed() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 5, Interest::Read).unwrap();
        drop(theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable && got[0].closed);
    }

    #[test]
    fn a_half_close_is_reported_to_readers() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 6, Interest::Read).unwrap();
        rustix::net::shutdown(&theirs, rustix::net::Shutdown::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable && got[0].closed && !got[0].error);
    }

    #[test]
    fn delete_before_close_silences_the_fd() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        poller.delete(ours.as_fd()).unwrap();
        send_byte(&theirs);
        assert!(poll_now(&poller, &mut events).is_empty());
        // Deleting again is fine; re-arming a deleted fd is not.
        poller.delete(ours.as_fd()).unwrap();
        assert!(poller.rearm(ours.as_fd(), 1, Interest::Read).is_err());
        drop(ours);
        drop(theirs);

        // A new socket, likely on the same fd number, reports only its own
        // token.
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 2, Interest::Read).unwrap();
        send_byte(&theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.iter().map(|e| e.token).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn adding_twice_is_refused() {
        let poller = Poller::new().unwrap();
        let (ours, _theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        let error = poller.add(ours.as_fd(), 1, Interest::Read).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn the_wake_token_is_reserved() {
        let poller = Poller::new().unwrap();
        let (ours, _theirs) = socket_pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        for error in [
            poller.add(ours.as_fd(), WAKE_TOKEN, Interest::Read),
            poller.add_listener(listener.as_fd(), WAKE_TOKEN),
        ] {
            assert_eq!(error.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        let error = poller.rearm(ours.as_fd(), WAKE_TOKEN, Interest::Write);
        assert_eq!(error.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_listener_stays_armed_until_deleted() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        poller.add_listener(listener.as_fd(), 9).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());

        let _first = TcpStream::connect(address).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 9);
        assert!(got[0].readable);
        // Level-triggered: reported again without a re-arm.
        assert_eq!(poll_now(&poller, &mut events).len(), 1);

        assert!(matches!(
            accept(listener.as_fd()).unwrap(),
            Accepted::Socket(..)
        ));
        assert!(poll_now(&poller, &mut events).is_empty());

        // Disabled: a new connection is not reported...
        poller.delete(listener.as_fd()).unwrap();
        let _second = TcpStream::connect(address).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        // ...until the listener is enabled again.
        poller.add_listener(listener.as_fd(), 9).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.iter().map(|e| e.token).collect::<Vec<_>>(), [9]);
    }

    /// Two children poll one listening socket; the one woken for a connection declines it (at
    /// its admission bound) and stops polling. The other must still see the connection waiting:
    /// with `EPOLLEXCLUSIVE` only the first waiter was told, and the connection sat in the
    /// backlog until another one arrived (issue 11's 27.5 s stall).
    #[test]
    fn a_declined_connection_is_seen_by_the_other_poller() {
        let declining = Poller::new().unwrap();
        let other = Poller::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        declining.add_listener(listener.as_fd(), 1).unwrap();
        other.add_listener(listener.as_fd(), 2).unwrap();
        thread::scope(|s| {
            // The declining child is the one blocked in its wait when the connection arrives
            // (the exclusive wake-up goes to the first waiter).
            let (tid_tx, tid_rx) = mpsc::channel();
            let declining = &declining;
            let waiting = s.spawn(move || {
                tid_tx
                    .send(rustix::thread::gettid().as_raw_nonzero())
                    .unwrap();
                let mut events = Events::with_capacity(8);
                wait_for(declining, &mut events)
            });
            // Connect only once that thread sleeps in epoll_wait (bounded by PATIENCE). Were it
            // still on its way there, both pollers would be told and the test could not tell
            // an exclusive registration from ours: a missed regression, never a false failure.
            let tid = tid_rx.recv_timeout(PATIENCE).unwrap();
            let stat = format!("/proc/self/task/{tid}/stat");
            let asleep = || {
                std::fs::read_to_string(&stat).is_ok_and(|st| {
                    st.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('S')
                })
            };
            let until = std::time::Instant::now() + PATIENCE;
            while !asleep() && std::time::Instant::now() < until {
                thread::sleep(Duration::from_millis(1));
            }
            let _client = TcpStream::connect(address).unwrap();
            let got = waiting.join().unwrap();
            assert_eq!(got.iter().map(|e| e.token).collect::<Vec<_>>(), [1]);
            declining.delete(listener.as_fd()).unwrap();
            let mut events = Events::with_capacity(8);
            let got = wait_for(&other, &mut events);
            assert_eq!(got.iter().map(|e| e.token).collect::<Vec<_>>(), [2]);
            assert!(matches!(
                accept(listener.as_fd()).unwrap(),
                Accepted::Socket(..)
            ));
        });
    }

    #[test]
    fn more_ready_fds_than_capacity_arrive_over_several_waits() {
        const CAPACITY: usize = 4;
        const SOCKETS: usize = 10;
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(CAPACITY);
        let pairs: Vec<_> = (0..SOCKETS).map(|_| socket_pair()).collect();
        for (token, (ours, theirs)) in pairs.iter().enumerate() {
            poller
                .add(ours.as_fd(), token as u64, Interest::Read)
                .unwrap();
            send_byte(theirs);
        }
        let mut seen = [false; SOCKETS];
        let mut waits = 0;
        // Bounded: every wait delivers at least one new token (oneshot), so
        // SOCKETS waits suffice.
        while seen.iter().any(|s| !s) && waits < SOCKETS {
            let got = wait_for(&poller, &mut events);
            waits += 1;
            assert!(!got.is_empty() && got.len() <= CAPACITY, "{}", got.len());
            for event in got {
                let slot = &mut seen[event.token as usize];
                assert!(!*slot, "token {} delivered twice", event.token);
                *slot = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
        assert!(waits >= SOCKETS.div_ceil(CAPACITY));
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn a_timeout_never_ends_early() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        // Each would end early if truncated to whole milliseconds.
        for micros in [1, 100, 999, 1500, 2300] {
            let timeout = Duration::from_micros(micros);
            let start = std::time::Instant::now();
            assert_eq!(poller.wait(&mut events, Some(timeout)).unwrap(), 0);
            let elapsed = start.elapsed();
            assert!(elapsed >= timeout, "{timeout:?} ended after {elapsed:?}");
        }
    }

    #[test]
    fn a_zero_timeout_only_polls() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
        assert!(events.is_empty());
    }

    #[test]
    fn a_burst_of_wakes_is_one_event() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        let waker = poller.waker();
        for _ in 0..100 {
            waker.wake().unwrap();
        }
        let got = wait_for(&poller, &mut events);
        assert_eq!(
            got.iter().map(|e| e.token).collect::<Vec<_>>(),
            [WAKE_TOKEN]
        );
        assert!(got[0].readable);
        // Drained: nothing left over.
        assert!(poll_now(&poller, &mut events).is_empty());
        // And the next wake is not swallowed by a stale flag.
        waker.wake().unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(
            got.iter().map(|e| e.token).collect::<Vec<_>>(),
            [WAKE_TOKEN]
        );
    }

    #[test]
    fn a_wake_arrives_beside_socket_events() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(4);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        send_byte(&theirs);
        poller.waker().wake().unwrap();
        let mut tokens: Vec<_> = wait_for(&poller, &mut events)
            .iter()
            .map(|e| e.token)
            .collect();
        tokens.sort_unstable();
        assert_eq!(tokens, [1, WAKE_TOKEN]);
    }

    #[test]
    fn a_wake_from_another_thread_ends_an_infinite_wait() {
        let poller = Poller::new().unwrap();
        let waker = poller.waker();
        let (done, result) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let mut events = Events::with_capacity(4);
            let outcome = poller
                .wait(&mut events, None)
                .map(|_| events.iter().map(|e| e.token).collect::<Vec<_>>());
            done.send(outcome.map_err(|e| e.kind())).unwrap();
        });
        // Give the waiter time to block first; if it has not, the wake is
        // still pending when it waits and the test passes as well.
        thread::sleep(Duration::from_millis(20));
        waker.wake().unwrap();
        // A hang guard, not a speed check: only a lost wake-up reaches it.
        let tokens = result
            .recv_timeout(PATIENCE)
            .expect("the wake-up did not end the wait")
            .unwrap();
        assert_eq!(tokens, [WAKE_TOKEN]);
        waiter.join().unwrap();
    }

    #[test]
    fn concurrent_wakes_never_lose_work() {
        const THREADS: usize = 4;
        const ITEMS_PER_THREAD: usize = 2_000;
        const TOTAL: usize = THREADS * ITEMS_PER_THREAD;

        let poller = Poller::new().unwrap();
        let queue = Arc::new(Mutex::new(Vec::<usize>::with_capacity(TOTAL)));
        // How many wake() calls have returned: their items must be seen.
        let woken = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..THREADS)
            .map(|thread_index| {
                let waker = poller.waker();
                let queue = queue.clone();
                let woken = woken.clone();
                thread::spawn(move || {
                    for i in 0..ITEMS_PER_THREAD {
                        queue
                            .lock()
                            .unwrap()
                            .push(thread_index * ITEMS_PER_THREAD + i);
                        waker.wake().unwrap();
                        woken.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();

        let mut events = Events::with_capacity(4);
        let mut seen = vec![false; TOTAL];
        let mut consumed = 0;
        let mut wake_events = 0;
        // Bounded: each round either handles a wake event (at most one per
        // eventfd write, at most one write per wake()) or fails below.
        for _ in 0..=TOTAL {
            if consumed == TOTAL {
                break;
            }
            let woken_before = woken.load(Ordering::SeqCst);
            poller.wait(&mut events, Some(PATIENCE)).unwrap();
            if !events.iter().any(|e| e.token == WAKE_TOKEN) {
                // Every wake() that returned before this wait began had its
                // item pushed first, so it must have been seen by now.
                assert!(
                    consumed >= woken_before,
                    "lost wake-up: {woken_before} wakes done, {consumed} items seen"
                );
                continue;
            }
            wake_events += 1;
            for item in queue.lock().unwrap().drain(..) {
                assert!(!seen[item], "item {item} seen twice");
                seen[item] = true;
                consumed += 1;
            }
        }
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(consumed, TOTAL);
        assert!(seen.iter().all(|s| *s));
        assert!(wake_events <= TOTAL);
    }

    extern "C" fn on_signal(_: libc::c_int) {}

    #[test]
    #[allow(unsafe_code)]
    fn a_signal_ends_the_wait_with_no_events() {
        use std::os::unix::thread::JoinHandleExt;

        // SAFETY: installs a handler that does nothing for SIGUSR2, which no
        // other test uses; the struct is fully initialised before the call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int) = on_signal;
            action.sa_sigaction = handler as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                0
            );
        }
        let (done, result) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let poller = Poller::new().unwrap();
            let mut events = Events::with_capacity(4);
            let outcome = poller.wait(&mut events, None).map_err(|e| e.kind());
            done.send((outcome, events.len())).unwrap();
        });
        let thread_id = waiter.as_pthread_t();
        // Signals sent before the waiter blocks are absorbed by the handler,
        // so keep sending until it returns; bounded to 500 tries.
        for _ in 0..500 {
            // SAFETY: the thread has not been joined, so its id is valid.
            unsafe { libc::pthread_kill(thread_id, libc::SIGUSR2) };
            match result.recv_timeout(Duration::from_millis(10)) {
                Ok((outcome, len)) => {
                    assert_eq!(outcome, Ok(0));
                    assert_eq!(len, 0);
                    waiter.join().unwrap();
                    return;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(error) => panic!("waiter died: {error}"),
            }
        }
        panic!("the signal never ended the wait");
    }
}
