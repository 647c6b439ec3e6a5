//! The listening sockets a poller keeps associated on the caller's behalf.
//!
//! Event ports have no level-triggered mode: every association fires once
//! and is then dissociated. A listener must look level-triggered, so the
//! poller remembers each one here and re-associates it inside `wait`, before
//! the caller sees its event. The table is what tells a listener's event
//! apart from a connection's.

use std::os::fd::RawFd;

/// The most listening sockets one poller keeps.
///
/// httpd opens one socket per `Listen` directive; even configurations with a
/// port per virtual host stay far below this. A fixed array keeps `wait`
/// allocation-free; its scan covers only the occupied entries.
pub(crate) const MAX_LISTENERS: usize = 128;

/// One listening socket and the user data its events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Listener {
    fd: RawFd,
    user: usize,
}

/// The table is full: [`MAX_LISTENERS`] sockets are kept already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

/// A fixed-capacity set of listening sockets, keyed by fd.
pub(crate) struct Listeners {
    // Compact: entries[..len] are live, in no particular order.
    entries: [Listener; MAX_LISTENERS],
    len: usize,
}

impl Listeners {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        Listeners {
            entries: [Listener { fd: -1, user: 0 }; MAX_LISTENERS],
            len: 0,
        }
    }

    /// Keeps `fd` as a listener whose events carry `user`. A known `fd` just
    /// gets the new user data, as `port_associate` treats it.
    pub(crate) fn insert(&mut self, fd: RawFd, user: usize) -> Result<(), Full> {
        if let Some(entry) = self.live_mut().iter_mut().find(|l| l.fd == fd) {
            entry.user = user;
            return Ok(());
        }
        let slot = self.entries.get_mut(self.len).ok_or(Full)?;
        *slot = Listener { fd, user };
        self.len += 1;
        Ok(())
    }

    /// Forgets `fd`; returns whether it was kept.
    pub(crate) fn remove(&mut self, fd: RawFd) -> bool {
        let Some(index) = self.live().iter().position(|l| l.fd == fd) else {
            return false;
        };
        self.entries.swap(index, self.len - 1);
        self.len -= 1;
        true
    }

    /// Whether an event for `fd` carrying `user` is a kept listener's.
    ///
    /// Both must match: an fd number closed without
    /// [`remove`](Listeners::remove) (a caller bug) and reused for a
    /// connection carries the connection's user data, and must not be
    /// re-associated as a listener.
    pub(crate) fn owns(&self, fd: RawFd, user: usize) -> bool {
        self.live().contains(&Listener { fd, user })
    }

    /// How many listeners are kept.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn live(&self) -> &[Listener] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    fn live_mut(&mut self) -> &mut [Listener] {
        self.entries.get_mut(..self.len).unwrap_or(&mut [])
    }
}

impl core::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.live()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_owns_remove() {
        let mut table = Listeners::new();
        table.insert(5, 100).unwrap();
        table.insert(6, 101).unwrap();
        assert!(table.owns(5, 100) && table.owns(6, 101));
        assert!(!table.owns(5, 101), "same fd, another token");
        assert!(!table.owns(7, 100));
        assert!(table.remove(5));
        assert!(!table.remove(5));
        assert!(!table.owns(5, 100));
        assert!(table.owns(6, 101), "removal kept the other entry");
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn inserting_a_known_fd_replaces_its_user_data() {
        let mut table = Listeners::new();
        table.insert(5, 100).unwrap();
        table.insert(5, 200).unwrap();
        assert_eq!(table.len(), 1);
        assert!(table.owns(5, 200) && !table.owns(5, 100));
    }

    #[test]
    fn a_full_table_refuses_new_fds_but_updates_known_ones() {
        let mut table = Listeners::new();
        for fd in 0..MAX_LISTENERS as RawFd {
            table.insert(fd, fd as usize).unwrap();
        }
        assert_eq!(table.insert(-5, 0), Err(Full));
        assert_eq!(table.insert(3, 33), Ok(()));
        assert!(table.owns(3, 33));
        assert!(table.remove(0));
        assert_eq!(table.insert(-5, 0), Ok(()));
        assert_eq!(table.len(), MAX_LISTENERS);
    }
}
