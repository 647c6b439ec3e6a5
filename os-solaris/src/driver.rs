//! The poller's logic over any [`Port`]: which association each call makes,
//! listener re-association, the wake-up protocol and reading `port_getn`.
//!
//! [`Poller`](crate::Poller) is this over the real port; the tests run it
//! over the model of event ports in `crate::model`.

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::io::Errno;

use crate::bits::POLLERR;
use crate::event::Events;
use crate::interest::{Interest, LISTENER_EVENTS};
use crate::listeners::{Full, Listeners, MAX_LISTENERS};
use crate::port::{MIN_EVENTS, Port, settle};
use crate::timeout;
use crate::token::{WAKE_USER, user_data};
use crate::wake::Shared;

/// An event port with oneshot connections, emulated level-triggered
/// listeners and a wake-up channel.
#[derive(Debug)]
pub(crate) struct Driver<P> {
    shared: Arc<Shared<P>>,
    // Held across each listener's table change and its port call, so that a
    // `delete` and a `wait` re-associating the same listener cannot
    // interleave into a listener that stays associated after its delete.
    listeners: Mutex<Listeners>,
}

impl<P: Port> Driver<P> {
    pub(crate) fn new(port: P) -> Self {
        Driver {
            shared: Arc::new(Shared::new(port)),
            listeners: Mutex::new(Listeners::new()),
        }
    }

    /// Associates `fd` for one event of `interest`, reported with `token`.
    ///
    /// Also what `rearm` does: `port_associate` on an associated fd replaces
    /// its events and token and drops an event queued but not yet retrieved;
    /// on a fd whose event was retrieved it arms it again. A fd that is
    /// ready already fires at once.
    pub(crate) fn associate(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        let user = user_data(token)?;
        self.shared.port.associate(fd, interest.events(), user)?;
        Ok(())
    }

    /// Keeps `fd` associated for `POLLIN` until [`delete`](Driver::delete):
    /// `wait` re-associates it after each of its events.
    pub(crate) fn add_listener(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let user = user_data(token)?;
        let mut listeners = self.listeners();
        listeners.insert(fd, user).map_err(|Full| {
            io::Error::other(format!(
                "a poller keeps at most {MAX_LISTENERS} listening sockets"
            ))
        })?;
        if let Err(error) = self.shared.port.associate(fd, LISTENER_EVENTS, user) {
            listeners.remove(fd);
            return Err(error.into());
        }
        Ok(())
    }

    /// Stops reporting `fd`, listener or connection, and drops its queued
    /// event if any.
    ///
    /// `ENOENT` means `fd` had no active association: it was never added,
    /// was deleted already, or fired and was not re-armed (the port
    /// dissociates a fd when it delivers its event). Either way the port is
    /// in the state asked for.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        let mut listeners = self.listeners();
        listeners.remove(fd);
        match self.shared.port.dissociate(fd) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Waits for events and fills `events` with up to its capacity of them.
    ///
    /// `timeout` is rounded up to whole milliseconds (never early) and
    /// clamped; `port_getn` gets `min_events = 1`. A timeout or a signal
    /// gives `Ok(0)`, except that events retrieved as a timeout struck are
    /// kept. Before returning: every listener in the batch is associated
    /// again, and a wake-up in the batch clears the wakers' flag.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout = timeout.map(timeout::rounded);
        let buffer = events.buffer();
        let capacity = buffer.len();
        let got = self.shared.port.getn(buffer, MIN_EVENTS, timeout);
        let len = settle(got, capacity)?;
        events.set_len(len);

        let mut woken = false;
        let mut listeners = self.listeners();
        for raw in events.filled_mut() {
            if raw.user == WAKE_USER {
                woken = true;
                continue;
            }
            // The object of a fd event is the fd, which fits: the port
            // refuses objects above INT_MAX.
            let Ok(fd) = RawFd::try_from(raw.object) else {
                continue;
            };
            if listeners.len() == 0 || !listeners.owns(fd, raw.user) {
                continue;
            }
            if self
                .shared
                .port
                .associate(fd, LISTENER_EVENTS, raw.user)
                .is_err()
            {
                // Typically EBADFD: the listener was closed without a
                // delete. Report the error on its event and forget it, so
                // that the caller's next step (accept) meets the cause.
                raw.events |= i32::from(POLLERR);
                listeners.remove(fd);
            }
        }
        drop(listeners);
        if woken {
            self.shared.received();
        }
        Ok(len)
    }

    /// What the wakers share with this poller.
    pub(crate) fn shared(&self) -> &Arc<Shared<P>> {
        &self.shared
    }

    fn listeners(&self) -> MutexGuard<'_, Listeners> {
        // No table change can panic halfway, so a lock poisoned by a panic
        // elsewhere still guards a consistent table.
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use crate::bits::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP};
    use crate::event::Event;
    use crate::model::{Action, ModelPort};
    use crate::token::{WAKE_TOKEN, WAKE_USER};

    /// Virtual: only the model's clock moves, so the tests never sleep.
    const LONG: Duration = Duration::from_secs(5);

    fn poller() -> Driver<ModelPort> {
        Driver::new(ModelPort::new())
    }

    fn model(poller: &Driver<ModelPort>) -> &ModelPort {
        &poller.shared().port
    }

    /// An open fd in the model.
    fn open(poller: &Driver<ModelPort>, fd: RawFd) -> RawFd {
        model(poller).open(fd);
        fd
    }

    fn wait_for(poller: &Driver<ModelPort>, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(LONG)).unwrap();
        events.iter().collect()
    }

    fn poll_now(poller: &Driver<ModelPort>, events: &mut Events) -> Vec<Event> {
        poller.wait(events, Some(Duration::ZERO)).unwrap();
        events.iter().collect()
    }

    fn tokens(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.token).collect()
    }

    #[test]
    fn oneshot_fires_once_and_again_only_after_rearm() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 7, Interest::Read).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        model(&poller).set_ready(fd, POLLIN);

        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [7]);
        assert!(got[0].readable && !got[0].writable);

        // Still readable, but the port dissociated it on delivery.
        assert!(!model(&poller).association(fd).unwrap().active);
        assert!(poll_now(&poller, &mut events).is_empty());
        assert!(poll_now(&poller, &mut events).is_empty());

        // Re-arming a ready fd fires at once.
        poller.associate(fd, 7, Interest::Read).unwrap();
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [7]);
        assert!(got[0].readable);
    }

    #[test]
    fn each_interest_hears_only_its_direction() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let reader = open(&poller, 10);
        let writer = open(&poller, 11);
        model(&poller).set_ready(reader, POLLOUT);
        model(&poller).set_ready(writer, POLLIN);
        poller.associate(reader, 1, Interest::Read).unwrap();
        poller.associate(writer, 2, Interest::Write).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());
        model(&poller).set_ready(reader, POLLOUT | POLLIN);
        model(&poller).set_ready(writer, POLLIN | POLLOUT);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [1, 2]);
        assert!(got[0].readable && !got[0].writable);
        assert!(got[1].writable && !got[1].readable);
    }

    #[test]
    fn rearm_switches_direction_and_token_and_drops_the_queued_event() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 3, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        assert_eq!(model(&poller).queued_for(fd), 1);
        // Re-armed before any wait retrieved the event: it is gone, and the
        // old token never surfaces.
        poller.associate(fd, 4, Interest::Write).unwrap();
        assert_eq!(model(&poller).queued_for(fd), 0);
        assert!(poll_now(&poller, &mut events).is_empty());
        model(&poller).set_ready(fd, POLLIN | POLLOUT);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [4]);
        assert!(got[0].writable);
    }

    #[test]
    fn hang_ups_and_errors_reach_either_direction() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 5, Interest::Write).unwrap();
        model(&poller).set_ready(fd, POLLHUP | POLLERR);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [5]);
        assert!(got[0].closed && got[0].error && !got[0].writable);
    }

    #[test]
    fn a_half_close_reaches_readers_only() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let reader = open(&poller, 10);
        let writer = open(&poller, 11);
        poller.associate(reader, 1, Interest::Read).unwrap();
        poller.associate(writer, 2, Interest::Write).unwrap();
        model(&poller).set_ready(reader, POLLRDHUP);
        model(&poller).set_ready(writer, POLLRDHUP);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [1]);
        assert!(got[0].closed && !got[0].error);
    }

    #[test]
    fn delete_silences_armed_queued_and_fired_fds_alike() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let armed = open(&poller, 10);
        let queued = open(&poller, 11);
        let fired = open(&poller, 12);
        let never = open(&poller, 13);
        for (token, fd) in [(1, armed), (2, queued), (3, fired)] {
            poller.associate(fd, token, Interest::Read).unwrap();
        }
        model(&poller).set_ready(fired, POLLIN);
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [3]);
        model(&poller).set_ready(queued, POLLIN);

        // The fired one is already dissociated: the port answers ENOENT,
        // which delete ignores.
        for fd in [armed, queued, fired, never] {
            poller.delete(fd).unwrap();
            assert_eq!(model(&poller).association(fd), None);
        }
        poller.delete(armed).unwrap();
        for fd in [armed, queued, fired] {
            model(&poller).set_ready(fd, POLLIN | POLLOUT);
        }
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn delete_reports_errors_other_than_enoent() {
        let poller = poller();
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).close(fd);
        let error = poller.delete(fd).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::BADFD.raw_os_error()));
        let error = poller.associate(fd, 1, Interest::Read).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::BADFD.raw_os_error()));
    }

    #[test]
    fn the_wake_token_is_reserved() {
        let poller = poller();
        let fd = open(&poller, 10);
        let refused = [
            poller.associate(fd, WAKE_TOKEN, Interest::Read),
            poller.associate(fd, WAKE_TOKEN, Interest::Write),
            poller.add_listener(fd, WAKE_TOKEN),
        ];
        for result in refused {
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
        assert_eq!(model(&poller).association(fd), None);
        assert_eq!(poller.listeners().len(), 0);
    }

    #[test]
    fn a_listener_looks_level_triggered_until_deleted() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 3);
        poller.add_listener(fd, 9).unwrap();
        assert!(poll_now(&poller, &mut events).is_empty());

        model(&poller).set_ready(fd, POLLIN);
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [9]);
        assert!(got[0].readable && !got[0].error);
        // Reported again without a re-arm, as long as connections wait.
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);

        // Everything accepted: the event queued by the last re-association
        // still arrives once (accept answers WouldBlock), then silence.
        model(&poller).set_ready(fd, 0);
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);
        assert!(poll_now(&poller, &mut events).is_empty());
        assert!(model(&poller).association(fd).unwrap().active);
        model(&poller).set_ready(fd, POLLIN);
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);

        // Disabled: nothing, however ready...
        poller.delete(fd).unwrap();
        assert_eq!(model(&poller).association(fd), None);
        assert!(poll_now(&poller, &mut events).is_empty());
        // ...until enabled again.
        poller.add_listener(fd, 9).unwrap();
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [9]);
    }

    #[test]
    fn a_connection_on_a_reused_listener_number_is_not_reassociated() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 3);
        poller.add_listener(fd, 9).unwrap();
        // A caller bug: closed without delete, and the number reused.
        model(&poller).close(fd);
        model(&poller).open(fd);
        poller.associate(fd, 77, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [77]);
        assert!(!model(&poller).association(fd).unwrap().active);
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn a_listener_that_cannot_be_reassociated_reports_an_error_and_is_forgotten() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 3);
        poller.add_listener(fd, 9).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        // Closed (without delete) between the retrieval and the
        // re-association.
        let port = Arc::clone(poller.shared());
        model(&poller).after_next_getn(move || port.port.close(3));
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [9]);
        assert!(got[0].error && got[0].readable);
        assert_eq!(poller.listeners().len(), 0);
    }

    #[test]
    fn listeners_beyond_the_table_are_refused_untouched() {
        let poller = poller();
        for fd in 0..MAX_LISTENERS as RawFd {
            open(&poller, fd);
            poller.add_listener(fd, 1000 + fd as u64).unwrap();
        }
        let extra = open(&poller, 1000);
        assert!(poller.add_listener(extra, 1).is_err());
        assert_eq!(model(&poller).association(extra), None);
        poller.add_listener(0, 2000).unwrap();
        assert_eq!(model(&poller).association(0).unwrap().user, 2000);
    }

    #[test]
    fn a_listener_the_port_refuses_is_not_kept() {
        let poller = poller();
        let error = poller.add_listener(44, 9).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::BADFD.raw_os_error()));
        assert_eq!(poller.listeners().len(), 0);
    }

    #[test]
    fn spurious_events_are_reported_and_need_a_rearm_like_any_other() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        assert!(model(&poller).inject_spurious(fd));
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [1]);
        assert!(got[0].readable, "readiness is a hint: nothing is behind it");
        // Dissociated like a real event; the caller's read says WouldBlock
        // and it re-arms.
        assert!(!model(&poller).inject_spurious(fd));
        model(&poller).set_ready(fd, POLLIN);
        assert!(poll_now(&poller, &mut events).is_empty());
        poller.associate(fd, 1, Interest::Read).unwrap();
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [1]);
    }

    #[test]
    fn an_event_is_delivered_even_if_readiness_went_away_before_the_wait() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        model(&poller).set_ready(fd, 0);
        let got = poll_now(&poller, &mut events);
        assert_eq!(tokens(&got), [1]);
        assert!(got[0].readable);
    }

    #[test]
    fn more_queued_than_capacity_arrive_over_several_waits_in_order() {
        const CAPACITY: usize = 4;
        const FDS: usize = 10;
        let poller = poller();
        let mut events = Events::with_capacity(CAPACITY);
        for i in 0..FDS {
            let fd = open(&poller, 100 + i as RawFd);
            poller.associate(fd, i as u64, Interest::Read).unwrap();
            model(&poller).set_ready(fd, POLLIN);
        }
        let mut seen = Vec::new();
        // Bounded: every wait retrieves at least one event while any is
        // queued, so FDS waits suffice.
        for _ in 0..FDS {
            let got = poll_now(&poller, &mut events);
            assert!(got.len() <= CAPACITY);
            if got.is_empty() {
                break;
            }
            seen.extend(tokens(&got));
        }
        assert_eq!(seen, (0..FDS as u64).collect::<Vec<_>>());
        assert!(poll_now(&poller, &mut events).is_empty());
    }

    #[test]
    fn every_wait_asks_for_one_event() {
        let poller = poller();
        let mut events = Events::with_capacity(16);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        poller.wait(&mut events, None).unwrap();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        poller.wait(&mut events, Some(LONG)).unwrap();
        let calls = model(&poller).calls();
        assert_eq!(calls.len(), 3);
        assert!(calls.iter().all(|c| c.min_events == 1), "{calls:?}");
    }

    #[test]
    fn an_event_before_the_deadline_ends_the_wait_early_and_successfully() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).later(Duration::from_millis(30), Action::Ready(fd, POLLIN));
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [1]);
        assert_eq!(model(&poller).now(), Duration::from_millis(30));
    }

    #[test]
    fn events_that_race_the_timeout_are_kept() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        // Queued at the very moment the timer fires: port_getn retrieves it
        // and still fails with ETIME.
        let timeout = Duration::from_millis(20);
        model(&poller).later(timeout, Action::Ready(fd, POLLIN));
        assert_eq!(poller.wait(&mut events, Some(timeout)).unwrap(), 1);
        assert_eq!(tokens(&events.iter().collect::<Vec<_>>()), [1]);
        // The event is out of the port: dropping it would have lost it.
        assert_eq!(model(&poller).queued_for(fd), 0);
        assert!(!model(&poller).association(fd).unwrap().active);
    }

    #[test]
    fn a_timeout_or_a_signal_reports_nothing() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        assert_eq!(poller.wait(&mut events, Some(LONG)).unwrap(), 0);
        assert!(events.is_empty());
        // The library leaves nget at the 1 passed in: not an event.
        model(&poller).fail_next_getn(Errno::INTR);
        assert_eq!(poller.wait(&mut events, None).unwrap(), 0);
        assert!(events.is_empty());
        assert_eq!(events.iter().count(), 0);
    }

    #[test]
    fn other_getn_errors_are_returned() {
        let poller = poller();
        let mut events = Events::with_capacity(8);
        model(&poller).fail_next_getn(Errno::BADF);
        let error = poller.wait(&mut events, None).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::BADF.raw_os_error()));
        assert!(events.is_empty());
    }

    #[test]
    fn timeouts_are_rounded_up_never_early() {
        let poller = poller();
        let mut events = Events::with_capacity(4);
        // Each would end early if truncated to whole milliseconds.
        for micros in [1, 100, 999, 1500, 2300] {
            let asked = Duration::from_micros(micros);
            let start = model(&poller).now();
            assert_eq!(poller.wait(&mut events, Some(asked)).unwrap(), 0);
            let slept = model(&poller).now() - start;
            assert!(slept >= asked, "{asked:?} ended after {slept:?}");
            let given = model(&poller).calls().last().unwrap().timeout.unwrap();
            assert_eq!(given.subsec_nanos() % 1_000_000, 0, "{given:?}");
            assert!(given - asked < Duration::from_millis(1));
        }
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        poller.wait(&mut events, Some(Duration::MAX)).unwrap();
        model(&poller).later(Duration::ZERO, Action::Send(POLLIN, 1));
        poller.wait(&mut events, None).unwrap();
        let calls = model(&poller).calls();
        let last: Vec<_> = calls.iter().rev().take(3).map(|c| c.timeout).collect();
        assert_eq!(
            last,
            [
                None,
                Some(Duration::from_millis(crate::timeout::MAX_WAIT_MS)),
                Some(Duration::ZERO)
            ]
        );
    }

    #[test]
    fn a_burst_of_wakes_is_one_event() {
        let poller = poller();
        let mut events = Events::with_capacity(4);
        let shared = Arc::clone(poller.shared());
        for _ in 0..100 {
            shared.wake().unwrap();
        }
        assert_eq!(model(&poller).user_events(), 1);
        let got = wait_for(&poller, &mut events);
        assert_eq!(tokens(&got), [WAKE_TOKEN]);
        assert!(got[0].readable);
        assert!(!shared.pending());
        assert!(poll_now(&poller, &mut events).is_empty());
        // The next wake is not swallowed by a stale flag.
        shared.wake().unwrap();
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [WAKE_TOKEN]);
    }

    #[test]
    fn a_wake_arrives_beside_socket_events() {
        let poller = poller();
        let mut events = Events::with_capacity(4);
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        poller.shared().wake().unwrap();
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [1, WAKE_TOKEN]);
    }

    #[test]
    fn the_flag_stays_set_until_the_wake_up_itself_is_retrieved() {
        let poller = poller();
        let mut events = Events::with_capacity(1);
        let shared = Arc::clone(poller.shared());
        let fd = open(&poller, 10);
        poller.associate(fd, 1, Interest::Read).unwrap();
        model(&poller).set_ready(fd, POLLIN);
        shared.wake().unwrap();
        // The batch has room for the socket's event only.
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [1]);
        assert!(shared.pending());
        shared.wake().unwrap();
        assert_eq!(model(&poller).user_events(), 1, "still outstanding");
        assert_eq!(tokens(&poll_now(&poller, &mut events)), [WAKE_TOKEN]);
        assert!(!shared.pending());
    }

    #[test]
    fn a_wake_between_retrieval_and_clear_is_covered_by_the_retrieved_event() {
        let poller = poller();
        let mut events = Events::with_capacity(4);
        let shared = Arc::clone(poller.shared());
        let work = Arc::new(Mutex::new(Vec::new()));
        shared.wake().unwrap();
        // Another thread queues work and wakes after port_getn took the
        // event out, before the flag is cleared: it sees the flag set and
        // sends nothing.
        let (late_shared, late_work) = (Arc::clone(&shared), Arc::clone(&work));
        model(&poller).after_next_getn(move || {
            late_work.lock().unwrap().push("late");
            late_shared.wake().unwrap();
        });
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [WAKE_TOKEN]);
        assert_eq!(
            model(&poller).user_events(),
            0,
            "the late wake sent nothing"
        );
        // ...so the batch just returned must cover its work, and it does:
        // the work is there for the caller to take.
        assert_eq!(*work.lock().unwrap(), ["late"]);
        assert!(!shared.pending());
        shared.wake().unwrap();
        assert_eq!(model(&poller).user_events(), 1);
    }

    #[test]
    fn a_failed_send_lets_the_next_wake_try_again() {
        let poller = poller();
        let mut events = Events::with_capacity(4);
        let shared = Arc::clone(poller.shared());
        model(&poller).limit_queue(Some(0));
        let error = shared.wake().unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::AGAIN.raw_os_error()));
        assert!(!shared.pending());
        model(&poller).limit_queue(None);
        shared.wake().unwrap();
        assert_eq!(tokens(&wait_for(&poller, &mut events)), [WAKE_TOKEN]);
    }

    #[test]
    fn the_wake_up_is_a_user_event_with_the_reserved_data() {
        let poller = poller();
        poller.shared().wake().unwrap();
        let mut raw = [crate::event::PortEvent::default(); 2];
        let got = model(&poller).getn(&mut raw, 1, Some(Duration::ZERO));
        assert_eq!(got.retrieved, 1);
        assert_eq!(raw[0].source, crate::bits::PORT_SOURCE_USER);
        assert_eq!(raw[0].user, WAKE_USER);
        assert_eq!(raw[0].events, i32::from(POLLIN));
    }

    #[test]
    fn concurrent_wakes_never_lose_work() {
        const THREADS: usize = 4;
        const ITEMS_PER_THREAD: usize = 2_000;
        const TOTAL: usize = THREADS * ITEMS_PER_THREAD;

        let poller = poller();
        let queue = Arc::new(Mutex::new(Vec::<usize>::with_capacity(TOTAL)));
        // How many wake() calls have returned: their items must be seen.
        let woken = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..THREADS)
            .map(|thread_index| {
                let shared = Arc::clone(poller.shared());
                let queue = Arc::clone(&queue);
                let woken = Arc::clone(&woken);
                thread::spawn(move || {
                    for i in 0..ITEMS_PER_THREAD {
                        queue
                            .lock()
                            .unwrap()
                            .push(thread_index * ITEMS_PER_THREAD + i);
                        shared.wake().unwrap();
                        woken.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();

        let mut events = Events::with_capacity(4);
        let mut seen = vec![false; TOTAL];
        let mut consumed = 0;
        // Bounded: two of every three rounds block until a wake-up event
        // (the model panics after its patience if none ever comes), and
        // there is at most one event per wake().
        for round in 0..3 * (TOTAL + 1) {
            if consumed == TOTAL {
                break;
            }
            let woken_before = woken.load(Ordering::SeqCst);
            let timeout = (round % 3 == 2).then_some(Duration::ZERO);
            poller.wait(&mut events, timeout).unwrap();
            if !events.iter().any(|e| e.token == WAKE_TOKEN) {
                // Every wake() that returned before this wait began had its
                // item pushed first, so it must have been seen by now.
                assert!(
                    consumed >= woken_before,
                    "lost wake-up: {woken_before} wakes done, {consumed} items seen"
                );
                continue;
            }
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
        assert!(model(&poller).user_events() <= 1);
    }

    /// A tiny xorshift for the random walk below: reproducible, no
    /// dependency.
    struct Walk(u64);

    impl Walk {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random calls against the model, checking the oneshot contract after
    /// every step: no event without an arm, at most one per arm, only the
    /// latest arm's token, nothing after a delete, and every armed fd whose
    /// state matches is reported.
    #[test]
    fn random_walks_keep_the_oneshot_contract() {
        const FDS: RawFd = 6;
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Expect {
            Idle,
            Armed(u64, Interest),
            Fired,
        }
        for seed in 1..=200u64 {
            let mut walk = Walk(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let poller = poller();
            let model = model(&poller);
            let mut events = Events::with_capacity(1 + walk.below(4) as usize);
            let mut expect = [Expect::Idle; FDS as usize];
            let mut ready = [0i16; FDS as usize];
            let mut next_token = 0u64;
            for fd in 0..FDS {
                model.open(fd);
            }
            for step in 0..300 {
                let fd = walk.below(FDS as u64) as RawFd;
                let slot = fd as usize;
                match walk.below(6) {
                    0 | 1 => {
                        next_token += 1;
                        let interest = if walk.below(2) == 0 {
                            Interest::Read
                        } else {
                            Interest::Write
                        };
                        poller.associate(fd, next_token, interest).unwrap();
                        expect[slot] = Expect::Armed(next_token, interest);
                    }
                    2 => {
                        poller.delete(fd).unwrap();
                        expect[slot] = Expect::Idle;
                    }
                    3 => {
                        let bits = [0, POLLIN, POLLOUT, POLLIN | POLLOUT, POLLHUP, POLLRDHUP];
                        ready[slot] = bits[walk.below(bits.len() as u64) as usize];
                        model.set_ready(fd, ready[slot]);
                    }
                    4 => {
                        model.inject_spurious(fd);
                    }
                    _ => {}
                }
                // Drain what is queued, checking each event.
                for _ in 0..=FDS {
                    let got = poll_now(&poller, &mut events);
                    if got.is_empty() {
                        break;
                    }
                    for event in got {
                        let Some(slot) = expect
                            .iter()
                            .position(|e| matches!(e, Expect::Armed(t, _) if *t == event.token))
                        else {
                            panic!(
                                "seed {seed} step {step}: {event:?} has no live arm: {expect:?}"
                            );
                        };
                        let Expect::Armed(_, interest) = expect[slot] else {
                            unreachable!()
                        };
                        let fits = match interest {
                            Interest::Read => event.readable || event.closed || event.error,
                            Interest::Write => event.writable || event.closed || event.error,
                        };
                        assert!(fits, "seed {seed} step {step}: {event:?} for {interest:?}");
                        expect[slot] = Expect::Fired;
                    }
                }
                // Liveness: an armed fd whose state matches has fired.
                for (slot, e) in expect.iter().enumerate() {
                    if let Expect::Armed(_, interest) = e {
                        let wanted = interest.events() | POLLHUP | POLLERR;
                        assert_eq!(
                            ready[slot] & wanted,
                            0,
                            "seed {seed} step {step}: fd {slot} is ready and armed, yet silent"
                        );
                    }
                }
            }
        }
    }
}
