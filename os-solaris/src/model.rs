//! A model of illumos event ports, for the tests: illumos cannot run here,
//! and nothing emulates ports on Linux.
//!
//! What it reproduces, from port_associate(3C), port_getn(3C) and the
//! illumos sources (`uts/common/fs/portfs/port.c`, `port_fd.c`):
//!
//! - An association is one-shot: when its fd becomes ready, one event is
//!   queued and the association goes inactive; retrieving the event leaves
//!   the fd dissociated until it is associated again. So at most one event
//!   is queued per fd.
//! - Associating an associated fd replaces its events and user data and
//!   drops its queued event, then polls again: a fd that is ready already
//!   fires at once. `POLLHUP` and `POLLERR` fire whatever was asked.
//! - `port_dissociate` drops the queued event and answers `ENOENT` when the
//!   association was not active (never made, or its event retrieved).
//!   Closing a fd dissociates it. Both answer `EBADFD` for a closed fd.
//! - A queued event keeps the bits it fired with, even if the fd is no
//!   longer ready when it is retrieved; and ports are known to queue
//!   `POLLIN` with nothing to read: [`ModelPort::inject_spurious`].
//! - `port_send` queues a `PORT_SOURCE_USER` event, `EAGAIN` when the port
//!   is full (`process.max-port-events`).
//! - `port_getn` returns at once when `nget` events are queued; a zero
//!   timeout only polls (success, possibly with fewer events); on timeout it
//!   still retrieves what is queued by then and fails with `ETIME`, `nget`
//!   holding the count; a signal fails with `EINTR`, `nget` untouched
//!   ([`ModelPort::fail_next_getn`]).
//!
//! Time is virtual: a wait with a timeout advances the model's clock, runs
//! the actions scheduled up to the deadline ([`ModelPort::later`]) and
//! returns. Only a wait without a timeout really blocks, for other threads,
//! and gives up with a panic after [`PATIENCE`]: only a lost wake-up gets
//! there.

use std::collections::{BTreeMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::io::Errno;

use crate::bits::{POLLERR, POLLHUP, POLLIN, POLLOUT, PORT_SOURCE_FD, PORT_SOURCE_USER};
use crate::event::PortEvent;
use crate::port::{Got, Port};

/// How long a wait without a timeout may block before the model declares
/// the wake-up lost. Generous: tests assert that the event came, never how
/// fast.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Something that happens at a scheduled virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The fd's poll state becomes these bits.
    Ready(RawFd, i16),
    /// Another thread calls `port_send(events, user)`.
    Send(i16, usize),
}

/// An association as the port holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Association {
    pub(crate) events: i16,
    pub(crate) user: usize,
    /// Armed: no event queued or retrieved since it was made.
    pub(crate) active: bool,
}

/// One `port_getn` call as the model saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) min_events: u32,
    pub(crate) timeout: Option<Duration>,
}

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    /// Open fds and their poll state.
    open: BTreeMap<RawFd, i16>,
    associations: BTreeMap<RawFd, Association>,
    queue: VecDeque<PortEvent>,
    max_queued: Option<usize>,
    clock: Duration,
    timed: Vec<(Duration, Action)>,
    fail_next: Option<Errno>,
    after_next_getn: Option<Hook>,
    calls: Vec<Call>,
}

impl State {
    /// Queues `fd`'s event if its association is active and its state
    /// matches.
    fn poll(&mut self, fd: RawFd) {
        let state = self.open.get(&fd).copied().unwrap_or(0);
        let Some(association) = self.associations.get_mut(&fd) else {
            return;
        };
        let fired = state & (association.events | POLLHUP | POLLERR);
        if association.active && fired != 0 {
            association.active = false;
            let user = association.user;
            self.queue_fd_event(fd, fired, user);
        }
    }

    fn queue_fd_event(&mut self, fd: RawFd, fired: i16, user: usize) {
        self.queue.push_back(PortEvent {
            events: i32::from(fired),
            source: PORT_SOURCE_FD,
            pad: 0,
            object: usize::try_from(fd).unwrap_or(usize::MAX),
            user,
        });
    }

    /// Removes `fd`'s queued event; returns whether there was one.
    fn drop_queued(&mut self, fd: RawFd) -> bool {
        let before = self.queue.len();
        let object = usize::try_from(fd).unwrap_or(usize::MAX);
        self.queue
            .retain(|e| !(e.source == PORT_SOURCE_FD && e.object == object));
        self.queue.len() != before
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Ready(fd, bits) => {
                if let Some(state) = self.open.get_mut(&fd) {
                    *state = bits;
                    self.poll(fd);
                }
            }
            Action::Send(events, user) => self.queue_user_event(events, user),
        }
    }

    fn queue_user_event(&mut self, events: i16, user: usize) {
        self.queue.push_back(PortEvent {
            events: i32::from(events),
            source: PORT_SOURCE_USER,
            pad: 0,
            object: 0,
            user,
        });
    }

    /// Runs the earliest scheduled action at or before `limit`, moving the
    /// clock to it; returns its time.
    fn run_next_action(&mut self, limit: Option<Duration>) -> Option<Duration> {
        let (index, at) = self
            .timed
            .iter()
            .enumerate()
            .min_by_key(|(i, (at, _))| (*at, *i))
            .map(|(i, (at, _))| (i, *at))?;
        if limit.is_some_and(|limit| at > limit) {
            return None;
        }
        let (_, action) = self.timed.remove(index);
        self.clock = self.clock.max(at);
        self.apply(action);
        Some(at)
    }

    /// Moves up to `buffer.len()` queued events out, oldest first.
    fn deliver(&mut self, buffer: &mut [PortEvent]) -> usize {
        let mut count = 0;
        for slot in buffer.iter_mut() {
            let Some(event) = self.queue.pop_front() else {
                break;
            };
            *slot = event;
            count += 1;
        }
        count
    }
}

/// The model: one event port and the fds it can watch.
pub(crate) struct ModelPort {
    state: Mutex<State>,
    queued: Condvar,
}

impl core::fmt::Debug for ModelPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = self.lock();
        f.debug_struct("ModelPort")
            .field("open", &state.open)
            .field("associations", &state.associations)
            .field("queue", &state.queue)
            .field("clock", &state.clock)
            .finish_non_exhaustive()
    }
}

impl ModelPort {
    pub(crate) fn new() -> Self {
        ModelPort {
            state: Mutex::new(State::default()),
            queued: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new open fd, not ready for anything.
    pub(crate) fn open(&self, fd: RawFd) {
        self.lock().open.insert(fd, 0);
    }

    /// Closes `fd`: dissociated, its queued event dropped.
    pub(crate) fn close(&self, fd: RawFd) {
        let mut state = self.lock();
        state.open.remove(&fd);
        state.associations.remove(&fd);
        state.drop_queued(fd);
    }

    /// The fd's poll state becomes `bits` (`POLLIN`, `POLLOUT`, `POLLHUP`,
    /// ...); an active association whose events match fires.
    pub(crate) fn set_ready(&self, fd: RawFd, bits: i16) {
        self.lock().apply(Action::Ready(fd, bits));
        self.queued.notify_all();
    }

    /// A readiness report with nothing behind it: an active association
    /// fires with the direction it asked for. Returns whether it fired.
    pub(crate) fn inject_spurious(&self, fd: RawFd) -> bool {
        let mut state = self.lock();
        let Some(association) = state.associations.get_mut(&fd) else {
            return false;
        };
        if !association.active {
            return false;
        }
        association.active = false;
        let (fired, user) = (association.events & (POLLIN | POLLOUT), association.user);
        state.queue_fd_event(fd, fired, user);
        drop(state);
        self.queued.notify_all();
        true
    }

    /// Schedules `action` `delay` after the model's current time.
    pub(crate) fn later(&self, delay: Duration, action: Action) {
        let mut state = self.lock();
        let at = state.clock + delay;
        state.timed.push((at, action));
    }

    /// The next `port_getn` fails with `errno` before retrieving anything
    /// (`EINTR`: a signal).
    pub(crate) fn fail_next_getn(&self, errno: Errno) {
        self.lock().fail_next = Some(errno);
    }

    /// `port_send` fails with `EAGAIN` once `max` events are queued.
    pub(crate) fn limit_queue(&self, max: Option<usize>) {
        self.lock().max_queued = max;
    }

    /// Runs `hook` when the next `port_getn` has retrieved its events, before
    /// it returns: another thread acting in that window.
    pub(crate) fn after_next_getn(&self, hook: impl FnOnce() + Send + 'static) {
        self.lock().after_next_getn = Some(Box::new(hook));
    }

    /// `fd`'s association, if it has one.
    pub(crate) fn association(&self, fd: RawFd) -> Option<Association> {
        self.lock().associations.get(&fd).copied()
    }

    /// Events queued for `fd`.
    pub(crate) fn queued_for(&self, fd: RawFd) -> usize {
        let object = usize::try_from(fd).unwrap_or(usize::MAX);
        self.lock()
            .queue
            .iter()
            .filter(|e| e.source == PORT_SOURCE_FD && e.object == object)
            .count()
    }

    /// `port_send` events queued.
    pub(crate) fn user_events(&self) -> usize {
        self.lock()
            .queue
            .iter()
            .filter(|e| e.source == PORT_SOURCE_USER)
            .count()
    }

    /// Every `port_getn` call so far.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The model's virtual time.
    pub(crate) fn now(&self) -> Duration {
        self.lock().clock
    }

    fn getn_locked<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        buffer: &mut [PortEvent],
        min_events: u32,
        timeout: Option<Duration>,
    ) -> (MutexGuard<'a, State>, Got) {
        state.calls.push(Call {
            min_events,
            timeout,
        });
        let wanted = min_events as usize;
        let fail = |errno| Got {
            // The library only stores nget when the call gets as far as
            // retrieving; otherwise it still holds what was passed in.
            retrieved: wanted,
            error: Some(errno),
        };
        if let Some(errno) = state.fail_next.take() {
            return (state, fail(errno));
        }
        if wanted > buffer.len() {
            return (state, fail(Errno::INVAL));
        }
        let mut error = None;
        if state.queue.len() < wanted {
            match timeout {
                Some(Duration::ZERO) => {}
                Some(timeout) => {
                    let deadline = state.clock + timeout;
                    let mut satisfied = false;
                    // Bounded by the scheduled actions, each run once.
                    while let Some(at) = state.run_next_action(Some(deadline)) {
                        if at < deadline && state.queue.len() >= wanted {
                            satisfied = true;
                            break;
                        }
                    }
                    if !satisfied {
                        state.clock = deadline;
                        // An action at the deadline itself raced the timer:
                        // its events are retrieved, and the call still fails.
                        error = Some(Errno::TIME);
                    }
                }
                None => {
                    // Time passes without bound: every scheduled action may
                    // run; then only another thread can help.
                    while state.queue.len() < wanted && state.run_next_action(None).is_some() {}
                    while state.queue.len() < wanted {
                        let (guard, result) = self
                            .queued
                            .wait_timeout(state, PATIENCE)
                            .unwrap_or_else(PoisonError::into_inner);
                        state = guard;
                        assert!(
                            !result.timed_out() || state.queue.len() >= wanted,
                            "model: a wait without a timeout blocked for {PATIENCE:?} on an \
                             empty port: a lost wake-up"
                        );
                    }
                }
            }
        }
        let retrieved = state.deliver(buffer);
        (state, Got { retrieved, error })
    }
}

impl Port for ModelPort {
    fn associate(&self, fd: RawFd, events: i16, user: usize) -> Result<(), Errno> {
        let mut state = self.lock();
        if !state.open.contains_key(&fd) {
            return Err(Errno::BADFD);
        }
        state.drop_queued(fd);
        state.associations.insert(
            fd,
            Association {
                events,
                user,
                active: true,
            },
        );
        state.poll(fd);
        drop(state);
        self.queued.notify_all();
        Ok(())
    }

    fn dissociate(&self, fd: RawFd) -> Result<(), Errno> {
        let mut state = self.lock();
        if !state.open.contains_key(&fd) {
            return Err(Errno::BADFD);
        }
        let had_queued = state.drop_queued(fd);
        match state.associations.remove(&fd) {
            Some(association) if association.active || had_queued => Ok(()),
            _ => Err(Errno::NOENT),
        }
    }

    fn getn(&self, buffer: &mut [PortEvent], min_events: u32, timeout: Option<Duration>) -> Got {
        let (mut state, got) = self.getn_locked(self.lock(), buffer, min_events, timeout);
        let hook = state.after_next_getn.take();
        drop(state);
        if let Some(hook) = hook {
            hook();
        }
        got
    }

    fn send(&self, events: i16, user: usize) -> Result<(), Errno> {
        let mut state = self.lock();
        if state.max_queued.is_some_and(|max| state.queue.len() >= max) {
            return Err(Errno::AGAIN);
        }
        state.queue_user_event(events, user);
        drop(state);
        self.queued.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn getn(
        model: &ModelPort,
        capacity: usize,
        min: u32,
        timeout: Option<Duration>,
    ) -> (Got, Vec<PortEvent>) {
        let mut buffer = vec![PortEvent::default(); capacity];
        let got = model.getn(&mut buffer, min, timeout);
        let n = got.retrieved.min(capacity);
        buffer.truncate(if got.error.is_none() || got.error == Some(Errno::TIME) {
            n
        } else {
            0
        });
        (got, buffer)
    }

    #[test]
    fn an_association_fires_once_then_needs_associating_again() {
        let model = ModelPort::new();
        model.open(5);
        model.associate(5, POLLIN, 50).unwrap();
        model.set_ready(5, POLLIN);
        model.set_ready(5, POLLIN | POLLOUT);
        assert_eq!(model.queued_for(5), 1, "at most one event per association");
        let (got, events) = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!(
            got,
            Got {
                retrieved: 1,
                error: None
            }
        );
        assert_eq!(events[0].object, 5);
        assert_eq!(events[0].user, 50);
        assert_eq!(events[0].events, i32::from(POLLIN), "only what was asked");
        assert_eq!(model.association(5).map(|a| a.active), Some(false));
        model.set_ready(5, 0);
        model.set_ready(5, POLLIN);
        assert_eq!(model.queued_for(5), 0);
    }

    #[test]
    fn associating_again_updates_and_fires_at_once_when_ready() {
        let model = ModelPort::new();
        model.open(5);
        model.set_ready(5, POLLOUT);
        model.associate(5, POLLIN, 50).unwrap();
        assert_eq!(model.queued_for(5), 0);
        model.associate(5, POLLOUT, 51).unwrap();
        let (_, events) = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!((events[0].user, events[0].events), (51, i32::from(POLLOUT)));
    }

    #[test]
    fn hangups_fire_whatever_was_asked() {
        let model = ModelPort::new();
        model.open(5);
        model.associate(5, POLLOUT, 50).unwrap();
        model.set_ready(5, POLLHUP | POLLIN);
        let (_, events) = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!(events[0].events, i32::from(POLLHUP));
    }

    #[test]
    fn dissociate_answers_enoent_unless_the_association_is_live() {
        let model = ModelPort::new();
        model.open(5);
        assert_eq!(model.dissociate(5), Err(Errno::NOENT));
        model.associate(5, POLLIN, 50).unwrap();
        assert_eq!(model.dissociate(5), Ok(()));
        model.associate(5, POLLIN, 50).unwrap();
        model.set_ready(5, POLLIN);
        assert_eq!(model.dissociate(5), Ok(()), "queued: dropped with it");
        assert_eq!(model.queued_for(5), 0);
        model.associate(5, POLLIN, 50).unwrap();
        let _ = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!(model.dissociate(5), Err(Errno::NOENT), "retrieved");
        model.close(5);
        assert_eq!(model.dissociate(5), Err(Errno::BADFD));
        assert_eq!(model.associate(5, POLLIN, 50), Err(Errno::BADFD));
    }

    #[test]
    fn closing_dissociates_and_drops_the_queued_event() {
        let model = ModelPort::new();
        model.open(5);
        model.associate(5, POLLIN, 50).unwrap();
        model.set_ready(5, POLLIN);
        model.close(5);
        assert_eq!(model.association(5), None);
        let (got, _) = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!(got.retrieved, 0);
    }

    #[test]
    fn user_events_queue_in_order_until_the_port_is_full() {
        let model = ModelPort::new();
        model.send(POLLIN, 1).unwrap();
        model.send(POLLOUT, 2).unwrap();
        model.limit_queue(Some(2));
        assert_eq!(model.send(POLLIN, 3), Err(Errno::AGAIN));
        let (_, events) = getn(&model, 4, 1, None);
        let sent: Vec<_> = events.iter().map(|e| (e.source, e.user)).collect();
        assert_eq!(sent, [(PORT_SOURCE_USER, 1), (PORT_SOURCE_USER, 2)]);
    }

    #[test]
    fn getn_waits_for_min_events_and_a_timeout_returns_the_fewer_with_etime() {
        let model = ModelPort::new();
        model.send(POLLIN, 1).unwrap();
        model.later(Duration::from_millis(5), Action::Send(POLLIN, 2));
        model.later(Duration::from_millis(50), Action::Send(POLLIN, 3));
        // Two wanted: the second comes at 5 ms, before the deadline.
        let (got, _) = getn(&model, 4, 2, Some(Duration::from_millis(10)));
        assert_eq!(
            got,
            Got {
                retrieved: 2,
                error: None
            }
        );
        assert_eq!(model.now(), Duration::from_millis(5));
        // Two wanted again, one comes in time: ETIME, with that one.
        let (got, events) = getn(&model, 4, 2, Some(Duration::from_millis(60)));
        assert_eq!(
            got,
            Got {
                retrieved: 1,
                error: Some(Errno::TIME)
            }
        );
        assert_eq!(events[0].user, 3);
        assert_eq!(model.now(), Duration::from_millis(65));
        // Nothing: ETIME with none; a zero timeout polls without failing.
        assert_eq!(
            getn(&model, 4, 1, Some(Duration::from_millis(1))).0,
            Got {
                retrieved: 0,
                error: Some(Errno::TIME)
            }
        );
        assert_eq!(
            getn(&model, 4, 1, Some(Duration::ZERO)).0,
            Got {
                retrieved: 0,
                error: None
            }
        );
    }

    #[test]
    fn getn_refuses_more_wanted_than_room_and_fails_as_told() {
        let model = ModelPort::new();
        assert_eq!(getn(&model, 1, 2, None).0.error, Some(Errno::INVAL));
        model.send(POLLIN, 1).unwrap();
        model.fail_next_getn(Errno::INTR);
        assert_eq!(
            getn(&model, 4, 1, None).0,
            Got {
                retrieved: 1,
                error: Some(Errno::INTR)
            }
        );
        assert_eq!(
            getn(&model, 4, 1, None).0,
            Got {
                retrieved: 1,
                error: None
            },
            "still queued"
        );
    }

    #[test]
    fn a_blocking_getn_is_woken_by_another_thread() {
        let model = std::sync::Arc::new(ModelPort::new());
        let sender = std::sync::Arc::clone(&model);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send(POLLIN, 9).unwrap();
        });
        let (got, events) = getn(&model, 4, 1, None);
        assert_eq!(got.retrieved, 1);
        assert_eq!(events[0].user, 9);
        thread.join().unwrap();
    }

    #[test]
    fn spurious_events_need_an_active_association() {
        let model = ModelPort::new();
        model.open(5);
        assert!(!model.inject_spurious(5));
        model
            .associate(5, POLLIN | crate::bits::POLLRDHUP, 50)
            .unwrap();
        assert!(model.inject_spurious(5));
        assert!(!model.inject_spurious(5), "one event per association");
        let (_, events) = getn(&model, 4, 1, Some(Duration::ZERO));
        assert_eq!(events[0].events, i32::from(POLLIN));
    }
}
