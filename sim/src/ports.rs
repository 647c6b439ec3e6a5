//! An event-ports model behind the simulator's [`Poller`] trait: how the runtime's listener sees
//! illumos and Solaris through `eventmpm-os-solaris`.
//!
//! What differs from [`EpollModel`](crate::poller::EpollModel), and why the listener must cope:
//!
//! * **Dissociation on delivery.** A port association fires once and is gone; the runtime's re-arm
//!   is a new `port_associate`, which also drops an event queued but not yet retrieved (so an
//!   injected fault does not survive a re-arm here, unlike on epoll).
//! * **No level-triggered listeners.** The poller re-associates a listening socket inside its wait,
//!   before the listener accepts; the socket is still ready then, so an event is queued at once and
//!   the next wait reports the socket again whether or not a client still waits. Every burst of
//!   connections therefore ends with one stale listener report, which `accept` answers with
//!   `WouldBlock`. Disabling the listener (`port_dissociate`) drops that queued event.
//! * **Spurious `POLLIN`** (illumos bug 6474): each association for reading is, with the
//!   configured probability, reported once with nothing to read. The draw is made when the
//!   connection is armed, so [`Poller::has_events`] sees it like any queued event.
//!
//! Not modelled: the waker's `port_send` user event. No model routes worker hand-backs through the
//! poller (the world wakes the listener whenever its completion queue is non-empty), and the
//! coalescing protocol that guarantees that wake-up is tested against a model of ports in
//! `eventmpm-os-solaris` itself.

use std::collections::BTreeMap;

use crate::poller::{Interest, OneShots, PollEvent, Poller, Readiness};
use crate::prng::Rng;

/// The spurious `POLLIN` rate the sweep uses, in thousandths of read associations.
pub const DEFAULT_SPURIOUS_PER_MILLE: u16 = 20;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Listener {
    enabled: bool,
    /// An event queued by the poller's re-association, delivered by the next wait whatever the
    /// backlog holds by then.
    queued: bool,
}

/// Event ports as `eventmpm-os-solaris` drives them: oneshot associations for connections,
/// listeners re-associated after each delivery, and spurious `POLLIN`.
#[derive(Clone, Debug)]
pub struct PortsModel {
    conns: OneShots,
    listeners: BTreeMap<u64, Listener>,
    rng: Rng,
    spurious_per_mille: u16,
}

impl PortsModel {
    /// A port whose read associations report spurious `POLLIN` at `spurious_per_mille`
    /// thousandths, drawn from `rng`.
    pub fn new(rng: Rng, spurious_per_mille: u16) -> PortsModel {
        PortsModel {
            conns: OneShots::default(),
            listeners: BTreeMap::new(),
            rng,
            spurious_per_mille: spurious_per_mille.min(1000),
        }
    }
}

impl Poller for PortsModel {
    fn add(&mut self, token: u64) {
        // Ports keep nothing for a fd that is not associated; this is the simulator's
        // bookkeeping of open connections.
        self.conns.add(token);
    }

    fn arm(&mut self, token: u64, interest: Interest) {
        let per_mille = u64::from(self.spurious_per_mille);
        let draw = interest == Interest::Readable && self.rng.below(1000) < per_mille;
        // port_associate: new interest, any queued event dropped, and the fresh association
        // may report POLLIN with nothing behind it.
        self.conns.arm(token, interest, Some(draw));
    }

    fn remove(&mut self, token: u64) {
        self.conns.remove(token);
    }

    fn listen(&mut self, token: u64, enabled: bool) {
        let l = self.listeners.entry(token).or_default();
        if enabled == l.enabled {
            return;
        }
        // Enabling associates afresh; disabling dissociates, which drops the queued event.
        *l = Listener {
            enabled,
            queued: false,
        };
    }

    fn wait(&mut self, ready: &dyn Readiness, max: usize, out: &mut Vec<PollEvent>) {
        out.clear();
        for (&token, l) in self.listeners.iter_mut() {
            if out.len() >= max || !l.enabled {
                continue;
            }
            let now = ready.ready(token, Interest::Readable);
            if now || l.queued {
                out.push(PollEvent {
                    token,
                    spurious: !now,
                });
                // Re-associated inside the wait, before the listener accepts: still ready, so
                // an event is queued again at once.
                l.queued = now;
            }
        }
        // A delivered association is dissociated until the next arm. (A port drops a closed
        // fd's queued event, so an injected stale event stands for one retrieved in the same
        // batch as the event that led to the close.)
        self.conns.deliver(ready, max, out);
    }

    fn has_events(&self, ready: &dyn Readiness) -> bool {
        self.listeners
            .iter()
            .any(|(&t, l)| l.enabled && (l.queued || ready.ready(t, Interest::Readable)))
            || self.conns.has_events(ready)
    }

    fn armed(&self, token: u64) -> Option<Interest> {
        self.conns.armed(token)
    }

    fn inject_spurious(&mut self, token: u64) -> bool {
        self.conns.inject_spurious(token)
    }

    fn inject_stale(&mut self, token: u64) {
        self.conns.inject_stale(token);
    }

    fn armed_tokens(&self, out: &mut Vec<u64>) {
        self.conns.armed_tokens(out);
    }

    fn registrations(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Fixed(RefCell<Vec<(u64, Interest)>>);

    impl Fixed {
        fn new(ready: &[(u64, Interest)]) -> Fixed {
            Fixed(RefCell::new(ready.to_vec()))
        }

        fn set(&self, ready: &[(u64, Interest)]) {
            *self.0.borrow_mut() = ready.to_vec();
        }
    }

    impl Readiness for Fixed {
        fn ready(&self, token: u64, interest: Interest) -> bool {
            self.0.borrow().contains(&(token, interest))
        }
    }

    fn quiet() -> PortsModel {
        PortsModel::new(Rng::new(1), 0)
    }

    fn tokens(out: &[PollEvent]) -> Vec<(u64, bool)> {
        out.iter().map(|e| (e.token, e.spurious)).collect()
    }

    #[test]
    fn delivery_dissociates_until_the_next_arm() {
        let mut p = quiet();
        let ready = Fixed::new(&[(1, Interest::Readable)]);
        let mut out = Vec::new();
        p.add(1);
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty(), "added but never associated");
        p.arm(1, Interest::Readable);
        assert!(p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(1, false)]);
        assert_eq!(p.armed(1), None);
        assert!(!p.has_events(&ready));
        p.arm(1, Interest::Writable);
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        p.arm(1, Interest::Readable);
        p.wait(&ready, 16, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_rearm_drops_the_queued_fault() {
        let mut p = quiet();
        let ready = Fixed::new(&[]);
        let mut out = Vec::new();
        p.add(1);
        p.arm(1, Interest::Readable);
        assert!(p.inject_spurious(1));
        p.arm(1, Interest::Readable);
        assert!(!p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_listener_is_reported_while_ready_plus_once_more() {
        let mut p = quiet();
        let ready = Fixed::new(&[(99, Interest::Readable)]);
        let mut out = Vec::new();
        p.listen(99, true);
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(99, false)]);
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(99, false)], "level-triggered to the caller");
        ready.set(&[]);
        assert!(p.has_events(&ready), "the re-association's event is queued");
        p.wait(&ready, 16, &mut out);
        assert_eq!(
            tokens(&out),
            [(99, true)],
            "stale once the backlog is empty"
        );
        assert!(!p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn disabling_a_listener_drops_its_queued_event() {
        let mut p = quiet();
        let ready = Fixed::new(&[(99, Interest::Readable)]);
        let mut out = Vec::new();
        p.listen(99, true);
        p.wait(&ready, 16, &mut out);
        p.listen(99, false);
        assert!(!p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        ready.set(&[]);
        p.listen(99, true);
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty(), "a fresh association has nothing queued");
    }

    #[test]
    fn spurious_pollin_comes_at_about_the_rate_and_only_for_readers() {
        let mut p = PortsModel::new(Rng::new(7), 100);
        let ready = Fixed::new(&[]);
        let mut out = Vec::new();
        p.add(1);
        p.add(2);
        let (mut reads, mut writes) = (0, 0);
        for _ in 0..10_000 {
            p.arm(1, Interest::Readable);
            p.arm(2, Interest::Writable);
            p.wait(&ready, 16, &mut out);
            for e in &out {
                assert!(e.spurious);
                if e.token == 1 {
                    reads += 1;
                } else {
                    writes += 1;
                }
            }
        }
        assert_eq!(writes, 0);
        assert!((800..1200).contains(&reads), "{reads} of 10000 at 10%");
        let mut again = PortsModel::new(Rng::new(7), 100);
        again.add(1);
        again.arm(1, Interest::Readable);
        let mut first = PortsModel::new(Rng::new(7), 100);
        first.add(1);
        first.arm(1, Interest::Readable);
        assert_eq!(again.has_events(&ready), first.has_events(&ready), "seeded");
    }

    #[test]
    fn truncated_batches_resume_where_they_stopped() {
        let mut p = quiet();
        let ready = Fixed::new(&(0..5).map(|t| (t, Interest::Readable)).collect::<Vec<_>>());
        for t in 0..5 {
            p.add(t);
            p.arm(t, Interest::Readable);
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for _ in 0..3 {
            p.wait(&ready, 2, &mut out);
            seen.extend(out.iter().map(|e| e.token));
        }
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn stale_tokens_and_removal() {
        let mut p = quiet();
        let ready = Fixed::new(&[]);
        let mut out = Vec::new();
        p.add(1);
        p.inject_stale(1);
        p.inject_stale(7);
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(7, true)]);
        p.remove(1);
        assert_eq!(p.registrations(), 0);
    }
}
