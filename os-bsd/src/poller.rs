//! The kqueue poller: oneshot (`EV_DISPATCH`) connections, level-triggered
//! listeners, a changelist batched into the next wait, and the waker.

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::io::Errno;

use crate::changes::{self, ChangeList};
use crate::decode::{Decoded, decode};
use crate::event::{Event, Events};
use crate::interest::Interest;
use crate::kernel::{Kernel, Raw, empty_raw, from_raw, to_raw};
use crate::kevent::{Flags, Kevent, ident_of, udata_for};
use crate::timeout;
use crate::waker::{WakeMode, WakeState, Waker};

/// A kqueue with oneshot registrations, a batched changelist and a built-in
/// waker.
///
/// Close-on-exec, so CGI-like children never inherit it. See the crate docs
/// for the caller contract and how it maps onto epoll and event ports.
///
/// [`add`](Poller::add), [`rearm`](Poller::rearm) and
/// [`add_listener`](Poller::add_listener) only queue their changes: the next
/// [`wait`](Poller::wait) submits them all with its own `kevent` call, one
/// system call per listener iteration instead of one per connection. So a
/// change made while another thread is blocked in `wait` takes effect at the
/// following wait, and a failed change is reported by a wait, as an `error`
/// event for its token, not by the call that queued it. The changelist holds
/// at most 512 changes (a re-arm takes two); when it is full, or larger than
/// the event buffer of the wait that would carry it, it is flushed at once
/// with one `kevent` call whose failures are kept for the next wait (up to
/// 512 of them; more are dropped, and those connections wait for their
/// timeouts).
#[doc(alias = "apr_pollset_t")]
pub struct Poller {
    kernel: Arc<dyn Kernel>,
    state: Mutex<State>,
    wake: Arc<WakeState>,
}

/// What the calls that queue, flush and submit share.
struct State {
    changes: ChangeList,
    /// The changes of one submission in the kernel's form; reused, never
    /// grown past the changelist's capacity.
    submit: Vec<Raw>,
    /// The answers to an immediate submission with receipts, one per change.
    receipts: Box<[Raw]>,
    /// Failures found by an early flush, with their fds, for the next wait.
    deferred: Vec<(usize, Event)>,
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Poller");
        debug.field("kernel", &self.kernel);
        // try_lock: formatting must not block on, or deadlock with, a lock
        // held further up this thread's stack.
        if let Ok(state) = self.state.try_lock() {
            debug
                .field("queued", &state.changes.len())
                .field("deferred", &state.deferred.len());
        }
        debug.field("wake", &self.wake).finish_non_exhaustive()
    }
}

impl Poller {
    /// A new poller with its waker registered under
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN).
    ///
    /// `kqueue()` then `FD_CLOEXEC` by `fcntl`; the waker is `EVFILT_USER` on
    /// FreeBSD, DragonFly and macOS and a self-pipe on NetBSD and OpenBSD.
    #[cfg(any(
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "macos"
    ))]
    #[doc(alias = "kqueue")]
    pub fn new() -> io::Result<Self> {
        let kernel = Arc::new(crate::sys::kqueue::Kqueue::new()?);
        Poller::with_kernel(kernel, crate::sys::WAKE_MODE, changes::MAX_CHANGES)
    }

    /// A poller on `kernel`, woken by `mode`, with a changelist of
    /// `max_changes` (at least 2).
    pub(crate) fn with_kernel(
        kernel: Arc<dyn Kernel>,
        mode: WakeMode,
        max_changes: usize,
    ) -> io::Result<Self> {
        let wake = Arc::new(WakeState::new(mode, &kernel)?);
        let changes = ChangeList::new(max_changes);
        let capacity = changes.capacity();
        let mut state = State {
            changes,
            submit: Vec::with_capacity(capacity),
            receipts: vec![empty_raw(); capacity].into_boxed_slice(),
            deferred: Vec::with_capacity(capacity),
        };
        // At once and checked: a poller whose waker is not in the kqueue
        // would sleep through every wake-up. The answer also proves that the
        // kernel knows EV_RECEIPT, which every immediate submission relies on
        // to collect no events (a kernel without it would answer a successful
        // change with nothing, and could hand over events meant for a wait).
        let registration = wake.registration()?;
        let receipt = match state.submit_now(&*kernel, &[registration])? {
            [receipt] => from_raw(receipt),
            _ => return Err(no_receipts()),
        };
        if !receipt.flags.contains(Flags::ERROR) {
            return Err(no_receipts());
        }
        check_receipt(&receipt, &[])?;
        Ok(Poller {
            kernel,
            state: Mutex::new(state),
            wake,
        })
    }

    /// Registers `fd` for one event of `interest`, reported with `token`.
    ///
    /// Queued for the next wait. After that event the registration stays
    /// but is disarmed until [`rearm`](Poller::rearm). `token` may not be
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN) and must fit a pointer. Adding an fd
    /// twice is a caller bug that kqueue accepts silently (the second
    /// `EV_ADD` updates the first).
    #[doc(alias = "EV_ADD")]
    #[doc(alias = "EV_DISPATCH")]
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        let change = changes::add(ident_of(fd)?, udata_for(token)?, interest);
        self.queue(&[change])
    }

    /// Arms a registered `fd` for one more event, of `interest`, reported
    /// with `token` (which may differ from the previous one).
    ///
    /// Queued for the next wait: `EV_ADD | EV_ENABLE | EV_DISPATCH` on the
    /// wanted filter and `EV_ADD | EV_DISABLE` on the other, so this also
    /// replaces an armed registration that has not fired yet. Unlike epoll,
    /// re-arming an fd that was never added (or was deleted) is not refused:
    /// it registers the fd.
    #[doc(alias = "EV_ENABLE")]
    pub fn rearm(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        let changes = changes::rearm(ident_of(fd)?, udata_for(token)?, interest);
        self.queue(&changes)
    }

    /// Registers a listening socket: reported with `token` at every wait
    /// while a connection is pending, without re-arming.
    ///
    /// Level-triggered `EVFILT_READ`, queued for the next wait. kqueue has
    /// no exclusive wake-up: when several children poll the same socket,
    /// all wake and the losers' accepts answer
    /// [`Accepted::WouldBlock`](crate::Accepted::WouldBlock). To stop
    /// accepting, [`delete`](Poller::delete) the listener; to resume, add it
    /// again.
    pub fn add_listener(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let change = changes::listener(ident_of(fd)?, udata_for(token)?);
        self.queue(&[change])
    }

    /// Removes `fd`'s registration, armed or not, connection or listener.
    ///
    /// Call it before closing `fd`. It first drops `fd`'s queued changes and
    /// unreported failures (they would otherwise reach the kernel, or the
    /// caller, after the `close`, when the fd number or the token may belong
    /// to a new connection), then deletes both knotes at once with one
    /// `kevent` call, which also discards any event they had pending. An fd
    /// that is not registered is not an error.
    #[doc(alias = "EV_DELETE")]
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let ident = ident_of(fd)?;
        let mut state = self.lock();
        state.changes.forget(ident);
        state.deferred.retain(|&(owner, _)| owner != ident);
        let ignore = [Errno::NOENT];
        for receipt in state.submit_now(&*self.kernel, &changes::delete(ident))? {
            check_receipt(&from_raw(receipt), &ignore)?;
        }
        Ok(())
    }

    /// Submits the queued changes, waits for events and fills `events` with
    /// up to its capacity of them.
    ///
    /// `timeout`: `None` waits until an event or a wake-up; `Some(ZERO)`
    /// only polls; any other value is rounded up to whole milliseconds so
    /// the wait never returns before it has elapsed (it may return later,
    /// and waits beyond about 24.8 days return `Ok(0)` early). A signal
    /// returns `Ok(0)`. A wake-up is reported as one event with
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN), after the waker has been drained.
    /// Failed changes come first, as `error` events, and then the wait
    /// returns at once (kqueue answers a changelist with failures without
    /// waiting).
    ///
    /// Returns how many events `events` now holds. One thread waits at a
    /// time.
    #[doc(alias = "kevent")]
    #[doc(alias = "apr_pollset_poll")]
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        let timeout = timeout.map(timeout::round);
        let mut state = self.lock();
        if state.changes.len() > events.capacity() {
            // Each change may come back as an error entry, and kqueue fails
            // the whole call, dropping the changes after it, when an entry
            // finds no room. Flush with receipts instead, which always fit.
            state.flush(&*self.kernel)?;
        }
        if !state.deferred.is_empty() {
            let take = state.deferred.len().min(events.capacity());
            for (_, event) in state.deferred.drain(..take) {
                events.push(event);
            }
            return Ok(events.len());
        }
        let mut submit = mem::take(&mut state.submit);
        let converted = state.convert_into(&mut submit);
        state.changes.clear();
        drop(state);
        // Without the lock: another thread may queue changes meanwhile (they
        // wait for the next submission) or wake us.
        let result =
            converted.and_then(|()| self.kernel.kevent(&submit, events.kernel_buffer(), timeout));
        let submitted = !submit.is_empty();
        submit.clear();
        self.lock().submit = submit;

        let count = ok_or_interrupted(result)?;
        let mut decoding = events.decode_kernel(count);
        if submitted && count > 0 && events.is_empty() && !decoding.woke {
            // Every entry was a failure we drop (ENOENT, EPIPE): kqueue
            // answered the changes without waiting. Wait now, for real; no
            // changes, so this call cannot end early the same way.
            let count =
                ok_or_interrupted(self.kernel.kevent(&[], events.kernel_buffer(), timeout))?;
            decoding = events.decode_kernel(count);
        }
        if decoding.woke {
            self.wake.drain();
        }
        Ok(events.len())
    }

    /// A handle that wakes this poller from any thread.
    pub fn waker(&self) -> Waker {
        Waker::new(self.wake.clone())
    }

    /// Queues `changes` (all or none), flushing a full changelist first.
    fn queue(&self, changes: &[Kevent]) -> io::Result<()> {
        let mut state = self.lock();
        if state.changes.push_all(changes).is_ok() {
            return Ok(());
        }
        state.flush(&*self.kernel)?;
        state.changes.push_all(changes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "more changes than the changelist holds",
            )
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in State is left half-updated by a panic that matters:
        // at worst a change is lost, and that connection times out.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Submits the queued changes now, with receipts, and keeps the
    /// failures for the next wait.
    fn flush(&mut self, kernel: &dyn Kernel) -> io::Result<()> {
        let submitted = submit_now(
            kernel,
            self.changes.as_slice(),
            &mut self.submit,
            &mut self.receipts,
        );
        // Whatever the outcome, these changes are done: resubmitting them
        // could only fail the same way.
        self.changes.clear();
        let count = submitted?;
        for receipt in self.receipts.iter().take(count) {
            let entry = from_raw(receipt);
            if let Decoded::Ready(event) = decode(&entry)
                && self.deferred.len() < self.deferred.capacity()
            {
                self.deferred.push((entry.ident, event));
            }
        }
        Ok(())
    }

    /// Converts the queued changes into `submit`.
    fn convert_into(&self, submit: &mut Vec<Raw>) -> io::Result<()> {
        submit.clear();
        for change in self.changes.as_slice() {
            submit.push(to_raw(change)?);
        }
        Ok(())
    }

    /// [`submit_now`] with this state's buffers; returns the receipts.
    fn submit_now(&mut self, kernel: &dyn Kernel, changes: &[Kevent]) -> io::Result<&[Raw]> {
        let count = submit_now(kernel, changes, &mut self.submit, &mut self.receipts)?;
        Ok(self.receipts.get(..count).unwrap_or(&[]))
    }
}

/// Submits `changes` at once, each with `EV_RECEIPT`, and returns how many
/// answers `receipts` holds: one entry per change, `data` 0 or the errno.
fn submit_now(
    kernel: &dyn Kernel,
    changes: &[Kevent],
    submit: &mut Vec<Raw>,
    receipts: &mut [Raw],
) -> io::Result<usize> {
    let Some(receipts) = receipts.get_mut(..changes.len()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "more changes than the changelist holds",
        ));
    };
    submit.clear();
    for change in changes {
        let change = Kevent {
            flags: change.flags | Flags::RECEIPT,
            ..*change
        };
        submit.push(to_raw(&change)?);
    }
    // Room for every receipt, so the kernel applies every change, and no
    // room for anything else, so it collects no events (they would be lost:
    // a dispatched knote does not report twice).
    let count = kernel.kevent(submit, receipts, Some(Duration::ZERO));
    submit.clear();
    Ok(count?.min(receipts.len()))
}

fn no_receipts() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "this kqueue ignores EV_RECEIPT (NetBSD and DragonFly before 2016)",
    )
}

/// Fails with a receipt's errno unless it is 0 or one of `ignore`.
fn check_receipt(entry: &Kevent, ignore: &[Errno]) -> io::Result<()> {
    let errno = if entry.flags.contains(Flags::ERROR) {
        entry.data
    } else {
        0
    };
    if errno == 0 || ignore.iter().any(|e| i64::from(e.raw_os_error()) == errno) {
        return Ok(());
    }
    Err(io::Error::from_raw_os_error(
        i32::try_from(errno).unwrap_or(i32::MAX),
    ))
}

/// A wait's entry count, with a signal counted as no entries.
fn ok_or_interrupted(result: io::Result<usize>) -> io::Result<usize> {
    match result {
        Ok(count) => Ok(count),
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::{AsFd, OwnedFd};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::thread;

    use crate::accept::{Accepted, accept};
    use crate::changes::MAX_CHANGES;
    use crate::kevent::Filter;
    use crate::model::Model;
    use crate::waker::WAKE_TOKEN;
    use eventmpm_os_testkit::socket_pair;

    /// Generous enough that only a missing event reaches it: tests assert
    /// that the event came, never how fast.
    const PATIENCE: Duration = Duration::from_secs(5);

    /// The wake-up modes this target can run: rustix has no `EVFILT_USER`
    /// on NetBSD and OpenBSD, so there only the pipe.
    #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
    const MODES: [WakeMode; 2] = [WakeMode::User, WakeMode::Pipe];
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    const MODES: [WakeMode; 1] = [WakeMode::Pipe];

    fn poller_with(mode: WakeMode, max_changes: usize) -> (Poller, Arc<Model>) {
        let model = Arc::new(Model::new());
        let poller = Poller::with_kernel(model.clone(), mode, max_changes).unwrap();
        (poller, model)
    }

    fn poller() -> (Poller, Arc<Model>) {
        poller_with(WakeMode::Pipe, MAX_CHANGES)
    }

    fn wait_for(poller: &Poller, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(PATIENCE)).unwrap();
        events.iter().collect()
    }

    fn poll_now(poller: &Poller, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(Duration::ZERO)).unwrap();
        events.iter().collect()
    }

    fn tokens(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.token).collect()
    }

    fn send_byte(fd: &impl AsFd) {
        assert_eq!(rustix::io::write(fd, b"x").unwrap(), 1);
    }

    fn ident(fd: &impl AsFd) -> usize {
        ident_of(fd.as_fd()).unwrap()
    }

    /// A duplicate of `fd` at a number no other test's fd is likely to get
    /// (fds are allocated lowest first), so closing it cannot race another
    /// test into reusing the number.
    fn high_fd(fd: &impl AsFd, at: i32) -> OwnedFd {
        rustix::io::fcntl_dupfd_cloexec(fd, at).unwrap()
    }

    #[test]
    fn oneshot_fires_once_and_again_only_after_rearm() {
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 7, Interest::Read).unwrap();
        send_byte(&theirs);

        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, 7);
        assert!(got[0].readable && !got[0].writable && !got[0].closed);

        // Still readable, but dispatched: disabled until re-armed.
        assert!(poll_now(&poller, &mut events).is_empty());
        assert!(poll_now(&poller, &mut events).is_empty());

        poller.rearm(ours.as_fd(), 7, Interest::Read).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [7]);
        assert!(got[0].readable);
    }

    #[test]
    fn write_interest_ignores_pending_input() {
        let (poller, _model) = poller();
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
        let (poller, _model) = poller();
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
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 3, Interest::Read).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        poller.rearm(ours.as_fd(), 4, Interest::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [4]);
        assert!(got[0].writable);
        // The unfired read arm was replaced, not kept beside the write one.
        send_byte(&theirs);
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn rearm_silences_the_direction_that_fired_before() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Write).unwrap();
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [1]);
        poller.rearm(ours.as_fd(), 2, Interest::Read).unwrap();
        // Writable all along, but the write knote is disabled now.
        assert!(poll_now(&poller, &mut events).is_empty());
        assert_eq!(model.knote(ident(&ours), Filter::Write), Some(false));
        send_byte(&theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [2]);
        assert!(got[0].readable && !got[0].writable);
    }

    #[test]
    fn a_peer_that_went_away_is_readable_and_closed() {
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 5, Interest::Read).unwrap();
        drop(theirs);
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable && got[0].closed);
    }

    #[test]
    fn eof_comes_with_the_data_still_readable() {
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        send_byte(&theirs);
        rustix::net::shutdown(&theirs, rustix::net::Shutdown::Write).unwrap();
        poller.add(ours.as_fd(), 6, Interest::Read).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(got.len(), 1);
        assert!(got[0].readable && got[0].closed && !got[0].error);
        let mut byte = [0u8; 4];
        assert_eq!(rustix::io::read(&ours, &mut byte).unwrap(), 1);
        assert_eq!(rustix::io::read(&ours, &mut byte).unwrap(), 0);
    }

    #[test]
    fn delete_before_close_silences_the_fd() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        poller.delete(ours.as_fd()).unwrap();
        send_byte(&theirs);
        assert!(poll_now(&poller, &mut events).is_empty());
        // Deleting again is fine.
        poller.delete(ours.as_fd()).unwrap();
        model.close(ours);
        drop(theirs);

        // A new socket, likely on the same fd number, reports only its own
        // token.
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 2, Interest::Read).unwrap();
        send_byte(&theirs);
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [2]);
    }

    #[test]
    fn delete_drops_the_fds_queued_changes() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, _theirs) = socket_pair();
        let fd = high_fd(&ours, 700);
        let number = ident(&fd);
        poller.add(fd.as_fd(), 6, Interest::Write).unwrap();
        poller.rearm(fd.as_fd(), 6, Interest::Write).unwrap();
        poller.delete(fd.as_fd()).unwrap();
        model.close(fd);
        // Had the queued changes outlived the close, this wait would submit
        // them for a closed fd and report an EBADF error for token 6.
        assert!(poll_now(&poller, &mut events).is_empty());
        let added = model
            .calls()
            .iter()
            .flat_map(|call| call.changes.clone())
            .any(|c| c.ident == number && c.flags.contains(Flags::ADD));
        assert!(!added, "a change for the deleted fd reached the kernel");
    }

    #[test]
    fn a_change_for_an_fd_closed_without_delete_is_an_error_event() {
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, _theirs) = socket_pair();
        let fd = high_fd(&ours, 710);
        poller.add(fd.as_fd(), 5, Interest::Read).unwrap();
        // The caller's bug: closed with its change still queued.
        drop(fd);
        let got = poller.wait(&mut events, Some(PATIENCE)).unwrap();
        assert_eq!(got, 1);
        let event = events.iter().next().unwrap();
        assert_eq!(event.token, 5);
        assert!(event.error);
    }

    #[test]
    fn a_failed_change_is_an_error_event_and_ends_the_wait_at_once() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(8);
        let (ours, _theirs) = socket_pair();
        model.fail_next(ident(&ours), Filter::Read, Errno::NOMEM);
        poller.add(ours.as_fd(), 9, Interest::Read).unwrap();
        // No timeout: only the error entry can end this wait.
        poller.wait(&mut events, None).unwrap();
        let got: Vec<_> = events.iter().collect();
        assert_eq!(tokens(&got), [9]);
        assert!(got[0].error && got[0].readable && !got[0].closed);
        // The connection re-arms and the next attempt works.
        poller.rearm(ours.as_fd(), 9, Interest::Write).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [9]);
        assert!(got[0].writable && !got[0].error);
    }

    #[test]
    fn dropped_errors_do_not_end_the_wait_early() {
        for errno in [Errno::NOENT, Errno::PIPE] {
            let (poller, model) = poller();
            let mut events = Events::with_capacity(8);
            let (quiet, _peer) = socket_pair();
            let (busy, busy_peer) = socket_pair();
            model.fail_next(ident(&quiet), Filter::Read, errno);
            poller.add(quiet.as_fd(), 1, Interest::Read).unwrap();
            poller.add(busy.as_fd(), 2, Interest::Read).unwrap();
            let waker = poller.waker();
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                send_byte(&busy_peer);
                // Keeps the socket open until the test is done.
                busy_peer
            });
            // The only entry of the first kevent is the dropped failure; the
            // wait must go on to report the socket that becomes ready later.
            let got = wait_for(&poller, &mut events);
            assert_eq!(tokens(&got), [2], "{errno:?}");
            drop(waker);
            drop(sender.join().unwrap());
        }
    }

    #[test]
    fn debug_shows_the_queue() {
        let (poller, _model) = poller();
        let (ours, _theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        let text = format!("{poller:?}");
        assert!(text.contains("queued: 1"), "{text}");
        let _held = poller.lock();
        assert!(!format!("{poller:?}").contains("queued"), "no deadlock");
    }

    #[test]
    fn the_handles_cross_threads_like_os_linuxs() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Poller>();
        shareable::<Events>();
        shareable::<Waker>();
        shareable::<Event>();
    }

    #[test]
    fn a_kqueue_without_receipts_is_refused() {
        /// Answers every change with nothing, as a kernel that ignores
        /// EV_RECEIPT does for changes that worked.
        #[derive(Debug)]
        struct NoReceipts;
        impl Kernel for NoReceipts {
            fn kevent(&self, _: &[Raw], _: &mut [Raw], _: Option<Duration>) -> io::Result<usize> {
                Ok(0)
            }
        }
        for mode in MODES {
            let error = Poller::with_kernel(Arc::new(NoReceipts), mode, MAX_CHANGES).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        }
    }

    #[test]
    fn the_wake_token_is_reserved() {
        let (poller, _model) = poller();
        let (ours, _theirs) = socket_pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        for error in [
            poller.add(ours.as_fd(), WAKE_TOKEN, Interest::Read),
            poller.add_listener(listener.as_fd(), WAKE_TOKEN),
            poller.rearm(ours.as_fd(), WAKE_TOKEN, Interest::Write),
        ] {
            assert_eq!(error.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn changes_wait_for_the_next_wait_and_go_in_one_call() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(8);
        let pairs: Vec<_> = (0..3).map(|_| socket_pair()).collect();
        let registered = model.calls().len();
        for (token, (ours, _)) in pairs.iter().enumerate() {
            poller
                .add(ours.as_fd(), token as u64, Interest::Read)
                .unwrap();
        }
        poller
            .rearm(pairs[0].0.as_fd(), 0, Interest::Write)
            .unwrap();
        assert_eq!(model.calls().len(), registered, "queued, not submitted");
        assert_eq!(model.knote(ident(&pairs[1].0), Filter::Read), None);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [0], "only the write arm is ready");
        let calls = model.calls();
        assert_eq!(calls.len(), registered + 1, "one kevent per wait");
        let submitted = &calls[registered];
        assert_eq!(submitted.changes.len(), 5);
        assert_eq!(submitted.room, 8);
        assert!(
            submitted
                .changes
                .iter()
                .all(|c| !c.flags.contains(Flags::RECEIPT)),
            "receipts would use up the event list"
        );
        assert_eq!(model.knote(ident(&pairs[1].0), Filter::Read), Some(true));
    }

    #[test]
    fn a_full_changelist_is_flushed_before_it_overflows() {
        let (poller, model) = poller_with(WakeMode::Pipe, 4);
        let mut events = Events::with_capacity(16);
        let pairs: Vec<_> = (0..5).map(|_| socket_pair()).collect();
        let registered = model.calls().len();
        for (token, (ours, theirs)) in pairs.iter().enumerate() {
            poller
                .add(ours.as_fd(), token as u64, Interest::Read)
                .unwrap();
            send_byte(theirs);
        }
        // The fifth add found the list full: the first four went at once,
        // with receipts and an event list of exactly their number, so no
        // event was collected (and lost) on the way.
        let calls = model.calls();
        assert_eq!(calls.len(), registered + 1);
        let flush = &calls[registered];
        assert_eq!(flush.changes.len(), 4);
        assert_eq!(flush.room, 4);
        assert!(
            flush
                .changes
                .iter()
                .all(|c| c.flags.contains(Flags::RECEIPT))
        );
        assert_eq!(model.knote(ident(&pairs[3].0), Filter::Read), Some(true));
        assert_eq!(model.knote(ident(&pairs[4].0), Filter::Read), None);
        // Every socket is reported, the flushed ones included.
        let mut got = tokens(&wait_for(&poller, &mut events));
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn more_changes_than_event_slots_are_flushed_first() {
        let (poller, model) = poller();
        let mut events = Events::with_capacity(2);
        let pairs: Vec<_> = (0..5).map(|_| socket_pair()).collect();
        for (token, (ours, _)) in pairs.iter().enumerate() {
            poller
                .add(ours.as_fd(), token as u64, Interest::Read)
                .unwrap();
        }
        let registered = model.calls().len();
        send_byte(&pairs[4].1);
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [4]);
        let calls = model.calls();
        assert_eq!(calls.len(), registered + 2);
        assert_eq!(calls[registered].changes.len(), 5);
        assert_eq!(calls[registered].room, 5, "one receipt per change");
        assert!(calls[registered + 1].changes.is_empty());
        assert_eq!(calls[registered + 1].room, 2);
    }

    #[test]
    fn failures_of_a_flush_come_first_at_the_next_wait() {
        let (poller, model) = poller_with(WakeMode::Pipe, 2);
        let mut events = Events::with_capacity(8);
        let (failing, _a) = socket_pair();
        let (fine, _b) = socket_pair();
        let (third, _c) = socket_pair();
        model.fail_next(ident(&failing), Filter::Read, Errno::NOMEM);
        poller.add(failing.as_fd(), 1, Interest::Read).unwrap();
        poller.add(fine.as_fd(), 2, Interest::Write).unwrap();
        poller.add(third.as_fd(), 3, Interest::Write).unwrap();
        // The flush's failure, alone, and at once.
        let got = poller.wait(&mut events, None).unwrap();
        assert_eq!(got, 1);
        let event = events.iter().next().unwrap();
        assert_eq!((event.token, event.error), (1, true));
        let mut got = tokens(&wait_for(&poller, &mut events));
        got.sort_unstable();
        assert_eq!(got, [2, 3]);
    }

    #[test]
    fn delete_forgets_the_failures_of_its_fd() {
        let (poller, model) = poller_with(WakeMode::Pipe, 2);
        let mut events = Events::with_capacity(8);
        let (failing, _a) = socket_pair();
        let (fine, _b) = socket_pair();
        let (third, _c) = socket_pair();
        model.fail_next(ident(&failing), Filter::Read, Errno::NOMEM);
        poller.add(failing.as_fd(), 1, Interest::Read).unwrap();
        poller.add(fine.as_fd(), 2, Interest::Write).unwrap();
        poller.add(third.as_fd(), 3, Interest::Write).unwrap();
        poller.delete(failing.as_fd()).unwrap();
        let mut got = tokens(&wait_for(&poller, &mut events));
        got.sort_unstable();
        assert_eq!(got, [2, 3], "token 1 may belong to a new connection now");
    }

    #[test]
    fn a_listener_stays_armed_until_deleted() {
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(8);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        poller.add_listener(listener.as_fd(), 9).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());

        let _first = TcpStream::connect(address).unwrap();
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [9]);
        assert!(got[0].readable);
        // Level-triggered: reported again without a re-arm.
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);

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
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [9]);
        // Off and on within one iteration: the queued add is dropped by the
        // delete, the second add stands.
        poller.delete(listener.as_fd()).unwrap();
        poller.add_listener(listener.as_fd(), 9).unwrap();
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [9]);
    }

    #[test]
    fn more_ready_fds_than_capacity_arrive_over_several_waits() {
        const CAPACITY: usize = 4;
        const SOCKETS: usize = 10;
        let (poller, _model) = poller();
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
        // Bounded: every wait delivers at least one new token (dispatch), so
        // SOCKETS waits suffice (plus one for the early flush of the
        // changelist, which is larger than the event buffer).
        while seen.iter().any(|s| !s) && waits <= SOCKETS {
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
        let (poller, _model) = poller();
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
        let (poller, _model) = poller();
        let mut events = Events::with_capacity(4);
        assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
        assert!(events.is_empty());
    }

    #[test]
    fn a_burst_of_wakes_is_one_event() {
        for mode in MODES {
            let (poller, _model) = poller_with(mode, MAX_CHANGES);
            let mut events = Events::with_capacity(4);
            let waker = poller.waker();
            for _ in 0..100 {
                waker.wake().unwrap();
            }
            let got = wait_for(&poller, &mut events);
            assert_eq!(tokens(&got), [WAKE_TOKEN], "{mode:?}");
            assert!(got[0].readable);
            // Drained: nothing left over.
            assert!(poll_now(&poller, &mut events).is_empty(), "{mode:?}");
            // And the next wake is not swallowed by a stale flag.
            waker.wake().unwrap();
            assert_eq!(tokens(&wait_for(&poller, &mut events)), [WAKE_TOKEN]);
        }
    }

    #[test]
    fn a_wake_arrives_beside_socket_events() {
        for mode in MODES {
            let (poller, _model) = poller_with(mode, MAX_CHANGES);
            let mut events = Events::with_capacity(4);
            let (ours, theirs) = socket_pair();
            poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
            send_byte(&theirs);
            poller.waker().wake().unwrap();
            let mut got = tokens(&wait_for(&poller, &mut events));
            got.sort_unstable();
            assert_eq!(got, [1, WAKE_TOKEN], "{mode:?}");
        }
    }

    #[test]
    fn a_wake_that_does_not_fit_this_batch_comes_with_the_next() {
        for mode in MODES {
            let (poller, _model) = poller_with(mode, MAX_CHANGES);
            let mut events = Events::with_capacity(1);
            let pairs: Vec<_> = (0..3).map(|_| socket_pair()).collect();
            for (token, (ours, theirs)) in pairs.iter().enumerate() {
                poller
                    .add(ours.as_fd(), token as u64, Interest::Read)
                    .unwrap();
                send_byte(theirs);
            }
            let waker = poller.waker();
            waker.wake().unwrap();
            let mut wakes = 0;
            // Bounded: four events, one per wait.
            for _ in 0..4 {
                wakes += tokens(&wait_for(&poller, &mut events))
                    .iter()
                    .filter(|&&t| t == WAKE_TOKEN)
                    .count();
            }
            assert_eq!(wakes, 1, "{mode:?}");
            // The flag was cleared when the wake-up was finally reported.
            waker.wake().unwrap();
            assert_eq!(tokens(&wait_for(&poller, &mut events)), [WAKE_TOKEN]);
        }
    }

    #[test]
    fn a_wake_from_another_thread_ends_an_infinite_wait() {
        for mode in MODES {
            let (poller, _model) = poller_with(mode, MAX_CHANGES);
            let waker = poller.waker();
            let (done, result) = mpsc::channel();
            let waiter = thread::spawn(move || {
                let mut events = Events::with_capacity(4);
                let outcome = poller
                    .wait(&mut events, None)
                    .map(|_| tokens(&events.iter().collect::<Vec<_>>()));
                done.send(outcome.map_err(|e| e.kind())).unwrap();
            });
            // Give the waiter time to block first; if it has not, the wake
            // is still pending when it waits and the test passes as well.
            thread::sleep(Duration::from_millis(20));
            waker.wake().unwrap();
            // A hang guard, not a speed check: only a lost wake-up reaches it.
            let got = result
                .recv_timeout(PATIENCE)
                .expect("the wake-up did not end the wait")
                .unwrap();
            assert_eq!(got, [WAKE_TOKEN], "{mode:?}");
            waiter.join().unwrap();
        }
    }

    #[test]
    fn a_change_made_during_a_wait_applies_at_the_next_one() {
        let (poller, _model) = poller();
        let poller = Arc::new(poller);
        let (ours, theirs) = socket_pair();
        send_byte(&theirs);
        let (done, result) = mpsc::channel();
        let waiting = poller.clone();
        let waiter = thread::spawn(move || {
            let mut events = Events::with_capacity(4);
            let mut rounds = Vec::new();
            for _ in 0..2 {
                waiting.wait(&mut events, Some(PATIENCE)).unwrap();
                rounds.push(tokens(&events.iter().collect::<Vec<_>>()));
            }
            done.send(rounds).unwrap();
        });
        thread::sleep(Duration::from_millis(20));
        poller.add(ours.as_fd(), 3, Interest::Read).unwrap();
        poller.waker().wake().unwrap();
        let rounds = result.recv_timeout(2 * PATIENCE).unwrap();
        waiter.join().unwrap();
        // If the waiter had not blocked yet, both arrive in the first wait.
        let all: Vec<u64> = rounds.concat();
        assert!(all.contains(&WAKE_TOKEN) && all.contains(&3), "{rounds:?}");
        assert_eq!(rounds[0].first(), Some(&WAKE_TOKEN), "{rounds:?}");
    }

    #[test]
    fn concurrent_wakes_never_lose_work() {
        const THREADS: usize = 4;
        const ITEMS_PER_THREAD: usize = 2_000;
        const TOTAL: usize = THREADS * ITEMS_PER_THREAD;

        for mode in MODES {
            let (poller, _model) = poller_with(mode, MAX_CHANGES);
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
            // Bounded: each round either handles a wake event (at most one
            // per ring, at most one ring per wake()) or fails below.
            for _ in 0..=TOTAL {
                if consumed == TOTAL {
                    break;
                }
                let woken_before = woken.load(Ordering::SeqCst);
                poller.wait(&mut events, Some(PATIENCE)).unwrap();
                if !events.iter().any(|e| e.token == WAKE_TOKEN) {
                    // Every wake() that returned before this wait began had
                    // its item pushed first, so it must have been seen.
                    assert!(
                        consumed >= woken_before,
                        "{mode:?}: lost wake-up: {woken_before} wakes done, \
                         {consumed} items seen"
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
            assert_eq!(consumed, TOTAL, "{mode:?}");
            assert!(seen.iter().all(|s| *s));
            assert!(wake_events <= TOTAL);
        }
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
            let (poller, _model) = poller();
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
