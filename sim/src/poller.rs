//! The fake poller: a [`Poller`] trait shaped like the runtime's, and an epoll model behind it.
//!
//! The runtime arms connection registrations one shot at a time (epoll `EPOLLONESHOT`, kqueue
//! `EV_DISPATCH`, event ports by nature) and keeps the listening sockets level-triggered, switched
//! on and off by admission. [`EpollModel`] reproduces that: an armed registration whose condition
//! holds is reported once by the next [`Poller::wait`] and then disarmed until re-armed. Faults the
//! real kernels are allowed to produce can be injected: a readiness report with nothing behind it
//! (spurious), and an event for a registration closed earlier (stale). [`KqueueModel`] implements
//! the same trait with kqueue's quirks; an event-port model would too.

use std::collections::BTreeMap;

mod kqueue;
mod oneshot;

pub(crate) use oneshot::OneShots;

pub use kqueue::KqueueModel;

/// What a connection registration waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Input, end of stream or an error.
    Readable,
    /// Room for output, or an error.
    Writable,
}

/// One readiness report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollEvent {
    /// The registration's token.
    pub token: u64,
    /// Injected: nothing may be behind it.
    pub spurious: bool,
}

/// The sockets' current state, as the poller's "kernel" sees it.
pub trait Readiness {
    /// Whether the socket behind `token` satisfies `interest` (for the listening socket: a client
    /// is waiting to be accepted).
    fn ready(&self, token: u64, interest: Interest) -> bool;
}

/// A poller model.
pub trait Poller: std::fmt::Debug {
    /// Register a connection, disarmed (`EPOLL_CTL_ADD` with no events).
    fn add(&mut self, token: u64);
    /// Arm a registered connection for one report of `interest` (`EPOLL_CTL_MOD` +
    /// `EPOLLONESHOT`). Arming an armed registration replaces its interest.
    fn arm(&mut self, token: u64, interest: Interest);
    /// Forget a registration (the socket was closed).
    fn remove(&mut self, token: u64);
    /// Poll (or stop polling) a level-triggered listening socket.
    fn listen(&mut self, token: u64, enabled: bool);
    /// Collect at most `max` ready events into `out` (cleared first) and disarm the connections
    /// reported.
    fn wait(&mut self, ready: &dyn Readiness, max: usize, out: &mut Vec<PollEvent>);
    /// Whether [`Poller::wait`] would report anything now.
    fn has_events(&self, ready: &dyn Readiness) -> bool;
    /// The interest `token` is armed for, if any.
    fn armed(&self, token: u64) -> Option<Interest>;
    /// Report `token` at the next wait even if its socket is not ready. Only armed registrations
    /// can be reported; returns whether the fault was injected.
    fn inject_spurious(&mut self, token: u64) -> bool;
    /// Report `token` at the next wait although it is no longer registered (an event that was
    /// queued before its socket was closed).
    fn inject_stale(&mut self, token: u64);
    /// Tokens of armed connection registrations, in token order.
    fn armed_tokens(&self, out: &mut Vec<u64>);
    /// Connection registrations (armed or not).
    fn registrations(&self) -> usize;
}

/// Linux epoll with `EPOLLONESHOT` connection registrations and level-triggered listeners.
#[derive(Clone, Debug, Default)]
pub struct EpollModel {
    conns: OneShots,
    listeners: BTreeMap<u64, bool>,
}

impl EpollModel {
    /// An empty epoll instance.
    pub fn new() -> EpollModel {
        EpollModel::default()
    }
}

impl Poller for EpollModel {
    fn add(&mut self, token: u64) {
        self.conns.add(token);
    }

    fn arm(&mut self, token: u64, interest: Interest) {
        // EPOLL_CTL_MOD keeps an event the kernel already queued.
        self.conns.arm(token, interest, None);
    }

    fn remove(&mut self, token: u64) {
        self.conns.remove(token);
    }

    fn listen(&mut self, token: u64, enabled: bool) {
        self.listeners.insert(token, enabled);
    }

    fn wait(&mut self, ready: &dyn Readiness, max: usize, out: &mut Vec<PollEvent>) {
        out.clear();
        for (&token, &enabled) in &self.listeners {
            if out.len() < max && enabled && ready.ready(token, Interest::Readable) {
                out.push(PollEvent {
                    token,
                    spurious: false,
                });
            }
        }
        self.conns.deliver(ready, max, out);
    }

    fn has_events(&self, ready: &dyn Readiness) -> bool {
        self.listeners
            .iter()
            .any(|(&t, &on)| on && ready.ready(t, Interest::Readable))
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

    struct Fixed(Vec<(u64, Interest)>);

    impl Readiness for Fixed {
        fn ready(&self, token: u64, interest: Interest) -> bool {
            self.0.contains(&(token, interest))
        }
    }

    #[test]
    fn oneshot_reports_once_until_rearmed() {
        let mut p = EpollModel::new();
        let ready = Fixed(vec![(1, Interest::Readable), (2, Interest::Readable)]);
        p.add(1);
        p.add(2);
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty(), "registered but not armed");
        p.arm(1, Interest::Readable);
        p.arm(2, Interest::Writable);
        assert!(p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert_eq!(
            out,
            vec![PollEvent {
                token: 1,
                spurious: false
            }]
        );
        assert_eq!(p.armed(1), None, "disarmed after its report");
        assert_eq!(p.armed(2), Some(Interest::Writable));
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        p.arm(1, Interest::Readable);
        p.wait(&ready, 16, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn truncated_batches_resume_where_they_stopped() {
        let mut p = EpollModel::new();
        let ready = Fixed((0..5).map(|t| (t, Interest::Readable)).collect());
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
    fn faults_listeners_and_removal() {
        let mut p = EpollModel::new();
        let ready = Fixed(vec![(99, Interest::Readable)]);
        p.add(1);
        assert!(!p.inject_spurious(1), "a disarmed registration cannot fire");
        p.arm(1, Interest::Writable);
        assert!(p.inject_spurious(1));
        p.inject_stale(7);
        p.inject_stale(1); // still registered: not stale
        p.listen(99, true);
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        let tokens: Vec<(u64, bool)> = out.iter().map(|e| (e.token, e.spurious)).collect();
        assert_eq!(tokens, vec![(99, false), (7, true), (1, true)]);
        p.listen(99, false);
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        p.remove(1);
        assert_eq!(p.registrations(), 0);
    }
}
