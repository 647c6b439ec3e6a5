//! Which kevent changes each poller call makes, and the bounded changelist
//! that holds them until the next wait submits them in one `kevent` call.

use crate::interest::Interest;
use crate::kevent::{Filter, Flags, Kevent};

/// The changelist's default capacity: the listener's batch of events, since
/// a changelist is also flushed early when it exceeds the event buffer of
/// the wait that would carry it.
pub(crate) const MAX_CHANGES: usize = 512;

/// The first arm of a new registration: the wanted filter only, since a
/// fresh fd has no other knote to silence.
///
/// `EV_DISPATCH` makes the knote report once and then disable itself until
/// the next `EV_ENABLE`: kqueue's oneshot that keeps the knote.
pub(crate) fn add(ident: usize, udata: usize, interest: Interest) -> Kevent {
    Kevent::fd(ident, interest.filter(), arming(), udata)
}

/// Re-arming: enable the wanted filter with the (possibly new) token, and
/// make sure the other direction's knote is disabled.
///
/// The other knote is disabled with `EV_ADD | EV_DISABLE` rather than a bare
/// `EV_DISABLE`: the bare form fails with `ENOENT` whenever that direction
/// was never used (most connections only ever read), and each such failure
/// would take a slot of the wait's event buffer. With `EV_ADD` the change
/// creates the knote disabled if it is missing, and can only fail for the
/// reasons the wanted filter's change would fail too.
pub(crate) fn rearm(ident: usize, udata: usize, interest: Interest) -> [Kevent; 2] {
    [
        Kevent::fd(ident, interest.filter(), arming(), udata),
        Kevent::fd(
            ident,
            interest.other_filter(),
            Flags::ADD | Flags::DISABLE | Flags::DISPATCH,
            udata,
        ),
    ]
}

/// A listening socket: level-triggered `EVFILT_READ`, reported at every wait
/// while a connection is pending, until deleted.
pub(crate) fn listener(ident: usize, udata: usize) -> Kevent {
    Kevent::fd(ident, Filter::Read, Flags::ADD | Flags::ENABLE, udata)
}

/// Removing both knotes of `ident`, each with a receipt so that the `ENOENT`
/// of a filter never added can be told apart from a real failure.
pub(crate) fn delete(ident: usize) -> [Kevent; 2] {
    let flags = Flags::DELETE | Flags::RECEIPT;
    [
        Kevent::fd(ident, Filter::Read, flags, 0),
        Kevent::fd(ident, Filter::Write, flags, 0),
    ]
}

fn arming() -> Flags {
    Flags::ADD | Flags::ENABLE | Flags::DISPATCH
}

/// The changes queued since the last submission, in call order (kqueue
/// applies a changelist in order, so a later change to the same knote wins).
///
/// Bounded: it never grows past the capacity given to [`ChangeList::new`];
/// [`ChangeList::push_all`] refuses what does not fit and the poller flushes.
#[derive(Debug)]
pub(crate) struct ChangeList {
    queued: Vec<Kevent>,
    capacity: usize,
}

/// [`ChangeList::push_all`] found too little room; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl ChangeList {
    /// An empty list for at most `capacity` changes (at least 2, so that one
    /// re-arm always fits after a flush).
    pub(crate) fn new(capacity: usize) -> ChangeList {
        let capacity = capacity.max(2);
        ChangeList {
            queued: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// The most changes the list holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many changes are queued.
    pub(crate) fn len(&self) -> usize {
        self.queued.len()
    }

    /// Queues all of `changes`, or none of them if they do not fit.
    pub(crate) fn push_all(&mut self, changes: &[Kevent]) -> Result<(), Full> {
        if self.capacity - self.queued.len() < changes.len() {
            return Err(Full);
        }
        self.queued.extend_from_slice(changes);
        Ok(())
    }

    /// Drops every queued change to the fd `ident`; returns how many.
    ///
    /// A change that outlived its fd would be submitted after the `close`:
    /// it would fail with `EBADF` and be reported as an error against a
    /// token that may belong to a new connection by then, or, if the fd
    /// number was reused, register the new socket under the old token.
    pub(crate) fn forget(&mut self, ident: usize) -> usize {
        let before = self.queued.len();
        self.queued.retain(|change| !change.is_fd(ident));
        before - self.queued.len()
    }

    /// The queued changes, oldest first.
    pub(crate) fn as_slice(&self) -> &[Kevent] {
        &self.queued
    }

    /// Empties the list (after a submission).
    pub(crate) fn clear(&mut self) {
        self.queued.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_arms_only_the_wanted_filter_with_dispatch() {
        for interest in [Interest::Read, Interest::Write] {
            let change = add(9, 4, interest);
            assert_eq!(change.ident, 9);
            assert_eq!(change.udata, 4);
            assert_eq!(change.filter, interest.filter());
            assert!(
                change
                    .flags
                    .contains(Flags::ADD | Flags::ENABLE | Flags::DISPATCH)
            );
            assert!(!change.flags.contains(Flags::ONESHOT));
            assert!(!change.flags.contains(Flags::CLEAR));
        }
    }

    #[test]
    fn rearm_enables_one_direction_and_disables_the_other() {
        for interest in [Interest::Read, Interest::Write] {
            let [wanted, other] = rearm(3, 8, interest);
            assert_eq!(wanted.filter, interest.filter());
            assert!(wanted.flags.contains(Flags::ENABLE));
            assert!(!wanted.flags.contains(Flags::DISABLE));
            assert_eq!(other.filter, interest.other_filter());
            assert!(other.flags.contains(Flags::ADD | Flags::DISABLE));
            assert!(!other.flags.contains(Flags::ENABLE));
            // Both carry the new token: `EV_ADD` replaces udata, so a stale
            // one could never be reported from either knote.
            assert_eq!((wanted.udata, other.udata), (8, 8));
            assert_eq!((wanted.ident, other.ident), (3, 3));
        }
    }

    #[test]
    fn listeners_are_level_triggered_reads() {
        let change = listener(5, 2);
        assert_eq!(change.filter, Filter::Read);
        assert!(change.flags.contains(Flags::ADD | Flags::ENABLE));
        for edge in [Flags::DISPATCH, Flags::ONESHOT, Flags::CLEAR] {
            assert!(!change.flags.contains(edge), "{edge:?}");
        }
    }

    #[test]
    fn delete_removes_both_filters_with_receipts() {
        let changes = delete(6);
        let filters: Vec<_> = changes.iter().map(|c| c.filter).collect();
        assert_eq!(filters, [Filter::Read, Filter::Write]);
        for change in changes {
            assert_eq!(change.ident, 6);
            assert!(change.flags.contains(Flags::DELETE | Flags::RECEIPT));
        }
    }

    #[test]
    fn the_list_refuses_what_does_not_fit_and_keeps_what_it_has() {
        let mut list = ChangeList::new(3);
        list.push_all(&rearm(1, 1, Interest::Read)).unwrap();
        assert_eq!(list.push_all(&rearm(2, 2, Interest::Read)), Err(Full));
        assert_eq!(list.len(), 2, "a refused push queues nothing");
        list.push_all(&[add(2, 2, Interest::Read)]).unwrap();
        assert_eq!(list.len(), list.capacity());
        assert_eq!(list.push_all(&[listener(3, 3)]), Err(Full));
        list.clear();
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn capacity_has_room_for_one_rearm() {
        let mut list = ChangeList::new(0);
        assert_eq!(list.capacity(), 2);
        list.push_all(&rearm(1, 1, Interest::Write)).unwrap();
    }

    #[test]
    fn forget_drops_only_that_fds_changes_and_keeps_order() {
        let mut list = ChangeList::new(8);
        list.push_all(&[add(1, 10, Interest::Read)]).unwrap();
        list.push_all(&rearm(2, 20, Interest::Write)).unwrap();
        list.push_all(&[Kevent::user(1, Flags::ADD, false, 0)])
            .unwrap();
        list.push_all(&[listener(3, 30)]).unwrap();
        list.push_all(&rearm(1, 11, Interest::Write)).unwrap();
        assert_eq!(list.forget(1), 3);
        let left: Vec<_> = list
            .as_slice()
            .iter()
            .map(|c| (c.ident, c.filter))
            .collect();
        assert_eq!(
            left,
            [
                (2, Filter::Write),
                (2, Filter::Read),
                (1, Filter::User),
                (3, Filter::Read)
            ]
        );
        assert_eq!(list.forget(1), 0);
    }
}
