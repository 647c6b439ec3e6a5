//! A model of kqueue for the tests, over real file descriptors, on any host.
//!
//! No kqueue runs on the machines that build this crate (Linux has none and
//! no BSD can be booted), so the poller's tests run against this model. It
//! keeps what the poller relies on, as FreeBSD's `kern_event.c` and the
//! kevent(2) pages of the BSDs and macOS describe it:
//!
//! - one knote per `(ident, filter)`; `EV_ADD` creates it (disabled with
//!   `EV_DISABLE`), and on an existing knote updates `udata` only: the
//!   `EV_DISPATCH`, `EV_ONESHOT` and `EV_CLEAR` of its creation stay;
//!   `EV_ENABLE`, `EV_DISABLE` and `EV_DELETE` act on an existing knote and
//!   answer `ENOENT` on a missing one; a file descriptor that is not open
//!   answers `EBADF`;
//! - changes apply in order. A failure, or any change with `EV_RECEIPT`,
//!   becomes an `EV_ERROR` entry (errno in `data`); if there is no room for
//!   it the call fails with that errno and later changes are not applied;
//!   a call that produced such entries returns them without waiting;
//! - readiness is level: an enabled knote whose condition holds is reported
//!   at every scan, once per knote (events coalesce per `(ident, filter)`);
//!   `EV_DISPATCH` disables it after a report, `EV_ONESHOT` deletes it,
//!   `EV_CLEAR` resets it (an `EVFILT_USER` trigger is consumed; an fd knote
//!   stays quiet until its condition has been seen false);
//! - `EVFILT_READ` holds when data, end of stream, an error or a pending
//!   connection is there; `EVFILT_WRITE` when there is room or the peer is
//!   gone. `EV_EOF` comes with the data still readable (`data` is the byte
//!   count). Conditions are read with `poll(2)` on the real fd;
//! - `EVFILT_USER` holds after `NOTE_TRIGGER`; a trigger from another
//!   thread ends a concurrent wait;
//! - `close` removes the fd's knotes: tests close through [`Model::close`],
//!   and a knote whose fd is found closed is dropped too;
//! - a signal ends a blocked wait with `EINTR`.
//!
//! Not modelled: `EV_EOF`'s `fflags` (socket errors), filters other than
//! read, write and user, and the kernel's exact report order (this one scans
//! in `(ident, filter)` order, resuming where a full batch stopped).

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::io::Errno;

use crate::kernel::{Kernel, Raw, from_raw, to_raw};
use crate::kevent::{Filter, Flags, Kevent};

/// A kqueue model; see the module docs.
#[derive(Debug)]
pub(crate) struct Model {
    state: Mutex<State>,
    /// A pipe that ends a blocked wait when a trigger may have made a knote
    /// ready.
    bell: (OwnedFd, OwnedFd),
}

/// One `kevent` call as the model saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// The changelist.
    pub(crate) changes: Vec<Kevent>,
    /// The room in the event list.
    pub(crate) room: usize,
}

#[derive(Debug, Default)]
struct State {
    knotes: BTreeMap<(usize, Filter), Knote>,
    /// Where the next scan starts: the knote a full batch stopped at.
    resume: Option<(usize, Filter)>,
    calls: Vec<Call>,
    faults: Vec<((usize, Filter), i64)>,
}

#[derive(Debug, Clone, Copy)]
struct Knote {
    udata: usize,
    enabled: bool,
    dispatch: bool,
    oneshot: bool,
    clear: bool,
    triggered: bool,
    quiet: bool,
}

/// What `poll(2)` says about one fd knote's condition.
enum Probe {
    Closed,
    NotReady,
    Ready { eof: bool, data: i64 },
}

impl Model {
    pub(crate) fn new() -> Model {
        Model {
            state: Mutex::new(State::default()),
            bell: crate::waker::nonblocking_pipe().expect("a pipe for the model's bell"),
        }
    }

    /// Closes `fd` the way the kernel does: its knotes go with it.
    pub(crate) fn close(&self, fd: OwnedFd) {
        let ident = fd.as_raw_fd() as usize;
        let mut state = self.lock();
        state.knotes.retain(|&(id, filter), _| {
            id != ident || !matches!(filter, Filter::Read | Filter::Write)
        });
        drop(fd);
    }

    /// Makes the next change to `(ident, filter)` fail with `errno`.
    pub(crate) fn fail_next(&self, ident: usize, filter: Filter, errno: Errno) {
        let errno = i64::from(errno.raw_os_error());
        self.lock().faults.push(((ident, filter), errno));
    }

    /// Every `kevent` call so far, oldest first.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Whether `(ident, filter)` has a knote, and whether it is enabled.
    pub(crate) fn knote(&self, ident: usize, filter: Filter) -> Option<bool> {
        self.lock().knotes.get(&(ident, filter)).map(|k| k.enabled)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring(&self) {
        let _ = rustix::io::write(&self.bell.1, &[1]);
    }

    fn drain_bell(&self) {
        let mut bytes = [0u8; 64];
        for _ in 0..16 {
            if !matches!(rustix::io::read(&self.bell.0, &mut bytes), Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// Blocks in `poll(2)` until one of `fds` (or the bell) is ready or
    /// `timeout` passes; a signal is `EINTR`.
    fn sleep(&self, mut fds: Vec<libc::pollfd>, timeout: Option<Duration>) -> io::Result<()> {
        fds.push(libc::pollfd {
            fd: self.bell.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        let millis = match timeout {
            // Rounded up, or a sub-millisecond rest would spin.
            Some(t) => i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
            None => -1,
        };
        #[allow(unsafe_code)]
        // SAFETY: `fds` is a live, initialised array of `fds.len()` pollfds.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        self.drain_bell();
        Ok(())
    }
}

impl Kernel for Model {
    fn kevent(
        &self,
        changes: &[Raw],
        events: &mut [Raw],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.lock();
        state.calls.push(Call {
            changes: changes.iter().map(from_raw).collect(),
            room: events.len(),
        });
        let mut written = 0;
        let mut triggered = false;
        for raw in changes {
            let change = from_raw(raw);
            triggered |= change.trigger;
            let errno = match state.apply(&change) {
                Err(errno) => errno,
                Ok(()) if change.flags.contains(Flags::RECEIPT) => 0,
                Ok(()) => continue,
            };
            let Some(slot) = events.get_mut(written) else {
                if triggered {
                    self.ring();
                }
                if errno == 0 {
                    return Ok(written);
                }
                return Err(io::Error::from_raw_os_error(errno as i32));
            };
            *slot = to_raw(&Kevent {
                flags: Flags::ERROR,
                data: errno,
                ..change
            })?;
            written += 1;
        }
        if triggered {
            self.ring();
        }
        if written > 0 || events.is_empty() {
            return Ok(written);
        }
        // Bounded by the deadline; without one, a wait is meant to block
        // until something is ready.
        loop {
            let count = state.scan(events)?;
            if count > 0 {
                return Ok(count);
            }
            let rest = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(rest) if !rest.is_zero() => Some(rest),
                    _ => return Ok(0),
                },
                // No deadline: none asked for, or one too far to represent.
                None => None,
            };
            let fds = state.poll_set();
            drop(state);
            self.sleep(fds, rest)?;
            state = self.lock();
        }
    }
}

impl State {
    /// Applies one change; `Err(errno)` is what the kernel would answer.
    fn apply(&mut self, change: &Kevent) -> Result<(), i64> {
        let key = (change.ident, change.filter);
        if let Some(at) = self.faults.iter().position(|(k, _)| *k == key) {
            return Err(self.faults.remove(at).1);
        }
        match change.filter {
            Filter::Other => return Err(errno(Errno::INVAL)),
            Filter::Read | Filter::Write if !fd_is_open(change.ident) => {
                return Err(errno(Errno::BADF));
            }
            Filter::Read | Filter::Write | Filter::User => {}
        }
        let flags = change.flags;
        let Some(knote) = self.knotes.get_mut(&key) else {
            if !flags.contains(Flags::ADD) {
                return Err(errno(Errno::NOENT));
            }
            self.knotes.insert(
                key,
                Knote {
                    udata: change.udata,
                    enabled: !flags.contains(Flags::DISABLE),
                    dispatch: flags.contains(Flags::DISPATCH),
                    oneshot: flags.contains(Flags::ONESHOT),
                    clear: flags.contains(Flags::CLEAR),
                    triggered: change.trigger,
                    quiet: false,
                },
            );
            return Ok(());
        };
        if flags.contains(Flags::DELETE) {
            self.knotes.remove(&key);
            return Ok(());
        }
        if flags.contains(Flags::ENABLE) {
            knote.enabled = true;
        } else if flags.contains(Flags::DISABLE) {
            knote.enabled = false;
        }
        knote.udata = change.udata;
        knote.triggered |= change.trigger;
        Ok(())
    }

    /// Reports ready knotes into `events`; returns how many.
    fn scan(&mut self, events: &mut [Raw]) -> io::Result<usize> {
        let keys: Vec<_> = match self.resume.take() {
            Some(from) => self
                .knotes
                .range(from..)
                .chain(self.knotes.range(..from))
                .map(|(k, _)| *k)
                .collect(),
            None => self.knotes.keys().copied().collect(),
        };
        let mut count = 0;
        for key in keys {
            if count == events.len() {
                self.resume = Some(key);
                break;
            }
            let Some(knote) = self.knotes.get(&key).copied() else {
                continue;
            };
            if !knote.enabled {
                continue;
            }
            let probe = match key.1 {
                Filter::User if knote.triggered => Probe::Ready {
                    eof: false,
                    data: 0,
                },
                Filter::User | Filter::Other => Probe::NotReady,
                Filter::Read | Filter::Write => probe(key.0, key.1),
            };
            let (eof, data) = match probe {
                Probe::Closed => {
                    self.knotes.remove(&key);
                    continue;
                }
                Probe::NotReady => {
                    if let Some(k) = self.knotes.get_mut(&key) {
                        k.quiet = false;
                    }
                    continue;
                }
                Probe::Ready { .. } if knote.quiet => continue,
                Probe::Ready { eof, data } => (eof, data),
            };
            let mut flags = Flags::empty();
            for (set, flag) in [
                (knote.dispatch, Flags::DISPATCH),
                (knote.oneshot, Flags::ONESHOT),
                (knote.clear, Flags::CLEAR),
                (eof, Flags::EOF),
            ] {
                if set {
                    flags = flags | flag;
                }
            }
            let Some(slot) = events.get_mut(count) else {
                break;
            };
            *slot = to_raw(&Kevent {
                ident: key.0,
                filter: key.1,
                flags,
                trigger: false,
                data,
                udata: knote.udata,
            })?;
            count += 1;
            if knote.oneshot {
                self.knotes.remove(&key);
            } else if let Some(k) = self.knotes.get_mut(&key) {
                if k.dispatch {
                    k.enabled = false;
                }
                if k.clear {
                    k.triggered = false;
                    k.quiet = key.1 != Filter::User;
                }
            }
        }
        Ok(count)
    }

    /// The `poll(2)` set that covers every enabled fd knote.
    fn poll_set(&self) -> Vec<libc::pollfd> {
        self.knotes
            .iter()
            .filter(|(_, k)| k.enabled && !k.quiet)
            .filter_map(|(&(ident, filter), _)| {
                let events = match filter {
                    Filter::Read => read_events(),
                    Filter::Write => libc::POLLOUT,
                    Filter::User | Filter::Other => return None,
                };
                Some(libc::pollfd {
                    fd: i32::try_from(ident).ok()?,
                    events,
                    revents: 0,
                })
            })
            .collect()
    }
}

fn errno(errno: Errno) -> i64 {
    i64::from(errno.raw_os_error())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_events() -> libc::c_short {
    libc::POLLIN | libc::POLLRDHUP
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_events() -> libc::c_short {
    libc::POLLIN
}

#[allow(unsafe_code)]
fn fd_is_open(ident: usize) -> bool {
    let Ok(fd) = libc::c_int::try_from(ident) else {
        return false;
    };
    // SAFETY: F_GETFD on any integer only reads the fd table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[allow(unsafe_code)]
fn probe(ident: usize, filter: Filter) -> Probe {
    let Ok(fd) = libc::c_int::try_from(ident) else {
        return Probe::Closed;
    };
    let mut pollfd = libc::pollfd {
        fd,
        events: if filter == Filter::Read {
            read_events()
        } else {
            libc::POLLOUT
        },
        revents: 0,
    };
    // SAFETY: one initialised pollfd, a zero timeout.
    if unsafe { libc::poll(&mut pollfd, 1, 0) } < 0 {
        return Probe::NotReady;
    }
    let revents = pollfd.revents;
    if revents & libc::POLLNVAL != 0 {
        return Probe::Closed;
    }
    let gone = libc::POLLHUP | libc::POLLERR | (read_events() & !libc::POLLIN);
    let (wanted, eof) = match filter {
        Filter::Read => (libc::POLLIN, revents & gone != 0),
        _ => (
            libc::POLLOUT,
            revents & (libc::POLLHUP | libc::POLLERR) != 0,
        ),
    };
    if revents & wanted == 0 && !eof {
        return Probe::NotReady;
    }
    let mut data: libc::c_int = 0;
    if filter == Filter::Read {
        // SAFETY: FIONREAD writes one c_int to a live local. A failure (a
        // listening socket) leaves 0.
        unsafe { libc::ioctl(fd, libc::FIONREAD, &mut data) };
    }
    Probe::Ready {
        eof,
        data: i64::from(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::empty_raw;
    use eventmpm_os_testkit::socket_pair;

    fn submit(model: &Model, changes: &[Kevent], room: usize) -> io::Result<Vec<Kevent>> {
        let raw: Vec<Raw> = changes.iter().map(|c| to_raw(c).unwrap()).collect();
        let mut events = vec![empty_raw(); room];
        let count = model.kevent(&raw, &mut events, Some(Duration::ZERO))?;
        Ok(events.iter().take(count).map(from_raw).collect())
    }

    fn fd_ident(fd: &OwnedFd) -> usize {
        fd.as_raw_fd() as usize
    }

    #[test]
    fn a_later_add_keeps_the_dispatch_of_the_first() {
        let model = Model::new();
        let (ours, _theirs) = socket_pair();
        let ident = fd_ident(&ours);
        let dispatch = Flags::ADD | Flags::ENABLE | Flags::DISPATCH;
        submit(&model, &[Kevent::fd(ident, Filter::Write, dispatch, 1)], 0).unwrap();
        // A plain EV_ADD later: only udata changes.
        submit(
            &model,
            &[Kevent::fd(ident, Filter::Write, Flags::ADD, 2)],
            0,
        )
        .unwrap();
        let got = submit(&model, &[], 4).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].udata, 2);
        assert!(got[0].flags.contains(Flags::DISPATCH));
        assert!(submit(&model, &[], 4).unwrap().is_empty(), "dispatched");
    }

    #[test]
    fn missing_knotes_and_closed_fds_fail_with_their_errno() {
        let model = Model::new();
        let (ours, _theirs) = socket_pair();
        let ident = fd_ident(&ours);
        let got = submit(
            &model,
            &[
                Kevent::fd(ident, Filter::Read, Flags::DISABLE, 1),
                Kevent::fd(ident, Filter::Read, Flags::ADD | Flags::RECEIPT, 1),
            ],
            4,
        )
        .unwrap();
        let errnos: Vec<i64> = got.iter().map(|e| e.data).collect();
        assert_eq!(errnos, [errno(Errno::NOENT), 0]);
        assert!(got.iter().all(|e| e.flags.contains(Flags::ERROR)));
        // A number no other test's fd is likely to get (lowest first).
        let high = rustix::io::fcntl_dupfd_cloexec(&ours, 730).unwrap();
        let high_ident = fd_ident(&high);
        model.close(high);
        let got = submit(
            &model,
            &[Kevent::fd(high_ident, Filter::Read, Flags::ADD, 1)],
            4,
        );
        let got = got.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, errno(Errno::BADF));
    }

    #[test]
    fn an_error_without_room_fails_the_call_and_stops_the_changes() {
        let model = Model::new();
        let (a, _a) = socket_pair();
        let (b, _b) = socket_pair();
        let got = submit(
            &model,
            &[
                Kevent::fd(fd_ident(&a), Filter::Read, Flags::ENABLE, 1),
                Kevent::fd(fd_ident(&b), Filter::Write, Flags::ADD, 2),
            ],
            0,
        );
        assert_eq!(
            got.unwrap_err().raw_os_error(),
            Some(Errno::NOENT.raw_os_error())
        );
        assert_eq!(
            model.knote(fd_ident(&b), Filter::Write),
            None,
            "not applied"
        );
    }

    #[test]
    fn a_user_trigger_fires_once_with_clear() {
        let model = Model::new();
        let add = Kevent::user(0, Flags::ADD | Flags::CLEAR, false, 5);
        let trigger = Kevent::user(0, Flags::empty(), true, 5);
        submit(&model, &[add], 0).unwrap();
        assert!(submit(&model, &[], 4).unwrap().is_empty());
        submit(&model, &[trigger], 0).unwrap();
        submit(&model, &[trigger], 0).unwrap();
        let got = submit(&model, &[], 4).unwrap();
        assert_eq!(got.len(), 1, "two triggers, one event");
        assert_eq!((got[0].filter, got[0].udata), (Filter::User, 5));
        assert!(submit(&model, &[], 4).unwrap().is_empty(), "consumed");
    }

    #[test]
    fn eof_reports_the_bytes_left_and_level_knotes_repeat() {
        let model = Model::new();
        let (ours, theirs) = socket_pair();
        assert_eq!(rustix::io::write(&theirs, b"abc").unwrap(), 3);
        drop(theirs);
        let level = Kevent::fd(fd_ident(&ours), Filter::Read, Flags::ADD, 1);
        submit(&model, &[level], 0).unwrap();
        for _ in 0..2 {
            let got = submit(&model, &[], 4).unwrap();
            assert_eq!(got.len(), 1);
            assert!(got[0].flags.contains(Flags::EOF));
            assert_eq!(got[0].data, 3);
        }
    }
}
