//! One-shot connection registrations: what the epoll and event-port models share.
//!
//! Both report an armed registration once, when its condition holds or a spurious event is
//! pending, then disarm it until the next arm; both deliver injected stale events; both scan from
//! where the last truncated batch stopped, so no registration starves. They differ only in what
//! an arm does to a pending event (kept by `epoll_ctl(MOD)`, dropped by `port_associate`), which
//! [`OneShots::arm`] takes as an argument.

use std::collections::BTreeMap;

use super::{Interest, PollEvent, Readiness};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct OneShot {
    /// The interest of the live registration (none after delivery or before the first arm).
    armed: Option<Interest>,
    /// An event is pending with nothing behind it.
    spurious: bool,
}

impl OneShot {
    fn reportable(&self, ready: &dyn Readiness, token: u64) -> bool {
        self.armed
            .is_some_and(|interest| self.spurious || ready.ready(token, interest))
    }
}

/// The connection registrations of a one-shot poller, and its pending stale events.
#[derive(Clone, Debug, Default)]
pub(crate) struct OneShots {
    regs: BTreeMap<u64, OneShot>,
    stale: Vec<u64>,
    // Where the next delivery starts scanning: the kernels' ready queues are roughly FIFO.
    cursor: u64,
}

impl OneShots {
    /// Register `token`, disarmed.
    pub(crate) fn add(&mut self, token: u64) {
        self.regs.insert(token, OneShot::default());
    }

    /// Arm `token` for `interest`. `spurious`: `None` keeps a pending spurious event (epoll),
    /// `Some(s)` replaces it (a fresh port association drops what was queued; `s` is a new one).
    pub(crate) fn arm(&mut self, token: u64, interest: Interest, spurious: Option<bool>) {
        if let Some(r) = self.regs.get_mut(&token) {
            r.armed = Some(interest);
            if let Some(s) = spurious {
                r.spurious = s;
            }
        }
    }

    /// Forget `token`.
    pub(crate) fn remove(&mut self, token: u64) {
        self.regs.remove(&token);
    }

    /// Append stale events, then armed registrations that are reportable, to `out` until it
    /// holds `max`; a delivered registration is disarmed.
    pub(crate) fn deliver(&mut self, ready: &dyn Readiness, max: usize, out: &mut Vec<PollEvent>) {
        while out.len() < max {
            let Some(token) = self.stale.pop() else {
                break;
            };
            out.push(PollEvent {
                token,
                spurious: true,
            });
        }
        let cursor = self.cursor;
        let order: Vec<u64> = self
            .regs
            .range(cursor..)
            .chain(self.regs.range(..cursor))
            .map(|(&t, _)| t)
            .collect();
        for token in order {
            if out.len() >= max {
                self.cursor = token;
                return;
            }
            let Some(r) = self.regs.get_mut(&token) else {
                continue;
            };
            if r.reportable(ready, token) {
                let real = r.armed.is_some_and(|i| ready.ready(token, i));
                out.push(PollEvent {
                    token,
                    spurious: !real,
                });
                *r = OneShot::default();
            }
        }
        self.cursor = 0;
    }

    /// Whether [`deliver`](Self::deliver) would report anything.
    pub(crate) fn has_events(&self, ready: &dyn Readiness) -> bool {
        !self.stale.is_empty() || self.regs.iter().any(|(&t, r)| r.reportable(ready, t))
    }

    /// See [`Poller::armed`](super::Poller::armed).
    pub(crate) fn armed(&self, token: u64) -> Option<Interest> {
        self.regs.get(&token).and_then(|r| r.armed)
    }

    /// See [`Poller::inject_spurious`](super::Poller::inject_spurious).
    pub(crate) fn inject_spurious(&mut self, token: u64) -> bool {
        match self.regs.get_mut(&token) {
            Some(r) if r.armed.is_some() => {
                r.spurious = true;
                true
            }
            _ => false,
        }
    }

    /// See [`Poller::inject_stale`](super::Poller::inject_stale).
    pub(crate) fn inject_stale(&mut self, token: u64) {
        if !self.regs.contains_key(&token) {
            self.stale.push(token);
        }
    }

    /// See [`Poller::armed_tokens`](super::Poller::armed_tokens).
    pub(crate) fn armed_tokens(&self, out: &mut Vec<u64>) {
        out.clear();
        out.extend(
            self.regs
                .iter()
                .filter(|(_, r)| r.armed.is_some())
                .map(|(&t, _)| t),
        );
    }

    /// See [`Poller::registrations`](super::Poller::registrations).
    pub(crate) fn len(&self) -> usize {
        self.regs.len()
    }
}
