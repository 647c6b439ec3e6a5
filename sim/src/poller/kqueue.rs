//! A kqueue model behind the simulator's [`Poller`] trait, shaped like `eventmpm-os-bsd`'s use
//! of kqueue, with the quirks that set it apart from epoll:
//!
//! * registrations are knotes per `(token, filter)`: an arm is `EV_ADD | EV_ENABLE |
//!   EV_DISPATCH` on the wanted filter and `EV_ADD | EV_DISABLE` on the other; `EV_DISPATCH`
//!   disables a knote after it reports, so a token reports at most once per arm;
//! * arms are queued in a bounded changelist and applied by the next [`Poller::wait`] (what
//!   [`Poller::armed`] reports already counts them); a full changelist, or one longer than the
//!   wait's batch, is applied at once with receipts, and its failures come out at the next wait;
//! * a change that fails comes back as an `EV_ERROR` entry, and a wait whose changes produced
//!   such entries returns them without collecting readiness;
//! * a closed socket's knotes go with it ([`Poller::remove`] also drops its queued changes), so a
//!   stale report can only be the error entry of a change submitted after the close: that is
//!   what [`Poller::inject_stale`] queues;
//! * the listener is a level-triggered knote, reported at every wait while a client waits;
//! * one event per ready knote per wait (events coalesce per `(token, filter)`), scanned in knote
//!   order from where the last full batch stopped.
//!
//! `EV_EOF` (with the unread byte count in `data`) has no counterpart in [`PollEvent`]: a peer
//! that closed makes the read side ready, which is what the runtime acts on.

use std::collections::{BTreeMap, BTreeSet};

use super::{Interest, PollEvent, Poller, Readiness};

/// Changes held before they are applied; small, so that early flushes happen often.
pub const CHANGELIST: usize = 8;
/// Failures of early flushes kept for the next wait; more are dropped (those connections then
/// wait for their timeouts, as with the real backend).
const MAX_DEFERRED: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Filter {
    Read,
    Write,
}

impl Filter {
    fn of(interest: Interest) -> Filter {
        match interest {
            Interest::Readable => Filter::Read,
            Interest::Writable => Filter::Write,
        }
    }

    fn interest(self) -> Interest {
        match self {
            Filter::Read => Interest::Readable,
            Filter::Write => Interest::Writable,
        }
    }

    fn other(self) -> Filter {
        match self {
            Filter::Read => Filter::Write,
            Filter::Write => Filter::Read,
        }
    }
}

type Key = (u64, Filter);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Knote {
    enabled: bool,
    /// `EV_DISPATCH` at creation; later `EV_ADD`s do not change it.
    dispatch: bool,
}

/// One queued change: `EV_ADD` plus `EV_ENABLE` or `EV_DISABLE`, with or without `EV_DISPATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Change {
    key: Key,
    enable: bool,
    dispatch: bool,
}

impl Change {
    /// The knote after this change, or `None` if the change fails (`EBADF`: the socket is
    /// closed).
    fn apply(&self, knote: Option<Knote>, open: bool) -> Option<Knote> {
        if !open {
            return None;
        }
        Some(match knote {
            Some(k) => Knote {
                enabled: self.enable,
                ..k
            },
            None => Knote {
                enabled: self.enable,
                dispatch: self.dispatch,
            },
        })
    }
}

/// kqueue with `EV_DISPATCH` connection knotes, a batched changelist and level-triggered
/// listeners; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct KqueueModel {
    knotes: BTreeMap<Key, Knote>,
    changes: Vec<Change>,
    /// Open connection sockets.
    registered: BTreeSet<u64>,
    /// Listening sockets and whether they are polled.
    listening: BTreeMap<u64, bool>,
    /// Tokens whose next report is forced (injected).
    spurious: BTreeSet<u64>,
    /// Error entries of an early flush, for the next wait.
    deferred: Vec<u64>,
    /// Where the next scan starts.
    resume: Option<Key>,
    /// Early flushes so far (for tests).
    flushes: u64,
}

impl KqueueModel {
    /// An empty kqueue.
    pub fn new() -> KqueueModel {
        KqueueModel::default()
    }

    /// How many times a changelist was applied before its wait.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }

    fn open(&self, token: u64) -> bool {
        self.registered.contains(&token) || self.listening.contains_key(&token)
    }

    /// The knote at `key` once the queued changes are applied.
    fn view(&self, key: Key) -> Option<Knote> {
        let open = self.open(key.0);
        self.changes
            .iter()
            .filter(|c| c.key == key)
            .fold(self.knotes.get(&key).copied(), |knote, change| {
                change.apply(knote, open).or(knote)
            })
    }

    fn queue(&mut self, changes: &[Change]) {
        if self.changes.len() + changes.len() > CHANGELIST {
            self.flush();
        }
        self.changes.extend_from_slice(changes);
    }

    /// Applies the changelist now; failures wait for the next wait.
    fn flush(&mut self) {
        self.flushes += 1;
        for token in self.submit() {
            if self.deferred.len() < MAX_DEFERRED {
                self.deferred.push(token);
            }
        }
    }

    /// Applies the changelist in order; returns the tokens of the changes that failed.
    fn submit(&mut self) -> Vec<u64> {
        let mut failed = Vec::new();
        for change in std::mem::take(&mut self.changes) {
            let knote = self.knotes.get(&change.key).copied();
            match change.apply(knote, self.open(change.key.0)) {
                Some(k) => {
                    self.knotes.insert(change.key, k);
                }
                None => failed.push(change.key.0),
            }
        }
        failed
    }

    fn reportable(&self, ready: &dyn Readiness, key: Key, knote: Knote) -> bool {
        knote.enabled
            && (ready.ready(key.0, key.1.interest())
                || (knote.dispatch && self.spurious.contains(&key.0)))
    }

    fn delete(&mut self, token: u64) {
        self.changes.retain(|c| c.key.0 != token);
        self.knotes.remove(&(token, Filter::Read));
        self.knotes.remove(&(token, Filter::Write));
        if self.resume.is_some_and(|k| k.0 == token) {
            self.resume = None;
        }
    }
}

impl Poller for KqueueModel {
    fn add(&mut self, token: u64) {
        // No knote until the first arm: a registration without events is only the open socket.
        self.registered.insert(token);
    }

    fn arm(&mut self, token: u64, interest: Interest) {
        if !self.registered.contains(&token) {
            return;
        }
        let filter = Filter::of(interest);
        self.queue(&[
            Change {
                key: (token, filter),
                enable: true,
                dispatch: true,
            },
            Change {
                key: (token, filter.other()),
                enable: false,
                dispatch: true,
            },
        ]);
    }

    fn remove(&mut self, token: u64) {
        // Delete before close: the queued changes and unreported failures go first, then both
        // knotes, at once.
        self.delete(token);
        self.deferred.retain(|&t| t != token);
        self.spurious.remove(&token);
        self.registered.remove(&token);
    }

    fn listen(&mut self, token: u64, enabled: bool) {
        if self.listening.get(&token) == Some(&enabled) {
            return;
        }
        self.listening.insert(token, enabled);
        if enabled {
            self.queue(&[Change {
                key: (token, Filter::Read),
                enable: true,
                dispatch: false,
            }]);
        } else {
            self.delete(token);
        }
    }

    fn wait(&mut self, ready: &dyn Readiness, max: usize, out: &mut Vec<PollEvent>) {
        out.clear();
        let max = max.max(1);
        if self.changes.len() > max {
            // More changes than event slots: their error entries might not fit, and kqueue
            // would then fail the call and drop the rest.
            self.flush();
        }
        if !self.deferred.is_empty() {
            let n = self.deferred.len().min(max);
            out.extend(self.deferred.drain(..n).map(|token| PollEvent {
                token,
                spurious: true,
            }));
            return;
        }
        let failed = self.submit();
        if !failed.is_empty() {
            // Error entries, and no scan: kqueue answers a changelist with failures at once.
            out.extend(failed.into_iter().take(max).map(|token| PollEvent {
                token,
                spurious: true,
            }));
            return;
        }
        let keys: Vec<Key> = match self.resume.take() {
            Some(from) => self
                .knotes
                .range(from..)
                .chain(self.knotes.range(..from))
                .map(|(k, _)| *k)
                .collect(),
            None => self.knotes.keys().copied().collect(),
        };
        for key in keys {
            if out.len() >= max {
                self.resume = Some(key);
                return;
            }
            let Some(knote) = self.knotes.get(&key).copied() else {
                continue;
            };
            if !self.reportable(ready, key, knote) {
                continue;
            }
            let real = ready.ready(key.0, key.1.interest());
            out.push(PollEvent {
                token: key.0,
                spurious: !real,
            });
            if knote.dispatch {
                self.spurious.remove(&key.0);
                if let Some(k) = self.knotes.get_mut(&key) {
                    k.enabled = false;
                }
            }
        }
    }

    fn has_events(&self, ready: &dyn Readiness) -> bool {
        if !self.deferred.is_empty() {
            return true;
        }
        let mut keys: BTreeSet<Key> = self.knotes.keys().copied().collect();
        for change in &self.changes {
            if !self.open(change.key.0) {
                return true; // an error entry
            }
            keys.insert(change.key);
        }
        keys.into_iter().any(|key| {
            self.view(key)
                .is_some_and(|k| self.reportable(ready, key, k))
        })
    }

    fn armed(&self, token: u64) -> Option<Interest> {
        if !self.registered.contains(&token) {
            return None;
        }
        [Filter::Read, Filter::Write]
            .into_iter()
            .find(|&f| {
                self.view((token, f))
                    .is_some_and(|k| k.enabled && k.dispatch)
            })
            .map(Filter::interest)
    }

    fn inject_spurious(&mut self, token: u64) -> bool {
        if self.armed(token).is_none() {
            return false;
        }
        self.spurious.insert(token);
        true
    }

    fn inject_stale(&mut self, token: u64) {
        if self.open(token) {
            return;
        }
        // The caller's change to a socket it had already closed: `EBADF` at submission.
        self.queue(&[Change {
            key: (token, Filter::Read),
            enable: true,
            dispatch: true,
        }]);
    }

    fn armed_tokens(&self, out: &mut Vec<u64>) {
        out.clear();
        out.extend(
            self.registered
                .iter()
                .copied()
                .filter(|&t| self.armed(t).is_some()),
        );
    }

    fn registrations(&self) -> usize {
        self.registered.len()
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

    fn tokens(out: &[PollEvent]) -> Vec<(u64, bool)> {
        out.iter().map(|e| (e.token, e.spurious)).collect()
    }

    #[test]
    fn dispatch_reports_once_until_rearmed() {
        let mut p = KqueueModel::new();
        let ready = Fixed(vec![(1, Interest::Readable), (2, Interest::Readable)]);
        p.add(1);
        p.add(2);
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty(), "registered but not armed");
        p.arm(1, Interest::Readable);
        p.arm(2, Interest::Writable);
        assert_eq!(p.armed(1), Some(Interest::Readable), "queued arms count");
        assert!(p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(1, false)]);
        assert_eq!(p.armed(1), None, "dispatched after its report");
        assert_eq!(p.armed(2), Some(Interest::Writable));
        assert!(!p.has_events(&ready));
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        p.arm(1, Interest::Readable);
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(1, false)]);
    }

    #[test]
    fn an_arm_replaces_the_other_direction() {
        let mut p = KqueueModel::new();
        let ready = Fixed(vec![(1, Interest::Readable), (1, Interest::Writable)]);
        p.add(1);
        p.arm(1, Interest::Readable);
        p.arm(1, Interest::Writable);
        assert_eq!(p.armed(1), Some(Interest::Writable));
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert_eq!(
            tokens(&out),
            [(1, false)],
            "one event: the read knote is disabled"
        );
        assert_eq!(p.armed(1), None);
    }

    #[test]
    fn a_full_changelist_is_applied_before_the_wait() {
        let mut p = KqueueModel::new();
        let ready = Fixed((0..10).map(|t| (t, Interest::Readable)).collect());
        for t in 0..10 {
            p.add(t);
            p.arm(t, Interest::Readable);
        }
        assert!(p.flushes() >= 1);
        assert!(p.changes.len() <= CHANGELIST);
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        let mut got: Vec<u64> = out.iter().map(|e| e.token).collect();
        got.sort_unstable();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn more_changes_than_the_batch_are_flushed_first_and_batches_resume() {
        let mut p = KqueueModel::new();
        let ready = Fixed((0..3).map(|t| (t, Interest::Readable)).collect());
        for t in 0..3 {
            p.add(t);
            p.arm(t, Interest::Readable);
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for _ in 0..3 {
            p.wait(&ready, 1, &mut out);
            assert!(out.len() <= 1);
            seen.extend(out.iter().map(|e| e.token));
        }
        assert!(p.flushes() >= 1);
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2]);
    }

    #[test]
    fn a_stale_change_is_an_error_entry_that_ends_the_wait() {
        let mut p = KqueueModel::new();
        let ready = Fixed(vec![(1, Interest::Readable)]);
        p.add(1);
        p.arm(1, Interest::Readable);
        p.inject_stale(7);
        p.inject_stale(1); // still open: not stale
        assert!(p.has_events(&ready));
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(7, true)], "errors only, no scan");
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(1, false)]);
    }

    #[test]
    fn remove_drops_queued_changes_and_knotes() {
        let mut p = KqueueModel::new();
        let ready = Fixed(vec![(1, Interest::Readable)]);
        p.add(1);
        p.arm(1, Interest::Readable);
        p.remove(1);
        assert_eq!(p.registrations(), 0);
        assert!(!p.has_events(&ready));
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert!(
            out.is_empty(),
            "the arm died with the socket: no EBADF entry"
        );
    }

    #[test]
    fn listeners_are_level_triggered_and_spurious_reports_are_one_shot() {
        let mut p = KqueueModel::new();
        let ready = Fixed(vec![(99, Interest::Readable)]);
        p.listen(99, true);
        p.add(1);
        assert!(!p.inject_spurious(1), "a disarmed registration cannot fire");
        p.arm(1, Interest::Writable);
        assert!(p.inject_spurious(1));
        let mut out = Vec::new();
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(1, true), (99, false)]);
        p.wait(&ready, 16, &mut out);
        assert_eq!(tokens(&out), [(99, false)], "level: again without a re-arm");
        p.listen(99, false);
        p.wait(&ready, 16, &mut out);
        assert!(out.is_empty());
        assert_eq!(p.armed_tokens_vec(), Vec::<u64>::new());
    }

    impl KqueueModel {
        fn armed_tokens_vec(&self) -> Vec<u64> {
            let mut out = Vec::new();
            self.armed_tokens(&mut out);
            out
        }
    }
}
