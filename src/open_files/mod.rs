//! A child's cache of open static files (nginx's `open_file_cache`, lighttpd's and h2o's
//! descriptor caches): a hot file costs no open, `fstat` or close per request.
//!
//! Keyed by the decoded, normalised URL-path a worker routes on, plus whether symbolic links
//! are followed there; a directory URL (`/`, `/dir/`) holds its DirectoryIndex file. An entry is
//! trusted for `OpenFileCacheValid` (1 s) after it was opened; after that a lookup misses, the
//! worker opens and stats the file again and the fresh entry replaces the old one, so a file
//! modified, replaced or removed on disk is seen within that time.
//!
//! Bounds: at most `capacity` entries, each holding one descriptor (a response still sending an
//! evicted file keeps it open until it is done, as it would without the cache). Keys are
//! URL-paths, which LimitRequestLine bounds; longer than [`MAX_KEY`] bytes (PATH_MAX, beyond
//! which no open succeeds) are not cached. Eviction is CLOCK: a hit sets an entry's reference
//! bit; to make room the hand takes the first entry that is expired or unreferenced, clearing
//! bits as it passes, so it stops within one turn plus one step. The lock is held for the
//! table operation only: no system call runs under it, keys are allocated before it is taken,
//! and an evicted entry (whose drop may close its descriptor) is dropped after it is released.
//! A hit allocates nothing.

mod open_file;
mod settings;

pub use open_file::{CONTENTS_MAX, OpenError, OpenFile};
pub use settings::Settings;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::site::{Host, Site};

/// Longest key cached, in bytes: Linux's PATH_MAX. A longer path cannot be opened anyway.
pub const MAX_KEY: usize = 4096;

/// No slot: the index's marker for a key cached for one `follow_symlinks` value only.
const NONE: u32 = u32::MAX;

/// A bounded cache of open files, shared by a child's workers and listener.
#[doc(alias = "open_file_cache")]
#[doc(alias = "OpenFileCache")]
#[doc(alias = "ngx_open_file_cache_t")]
pub struct OpenFiles {
    capacity: usize,
    valid: Duration,
    table: Mutex<Table>,
}

/// The entries and their index, behind the lock.
struct Table {
    /// At most `capacity` entries, in no order; allocated once at construction.
    slots: Vec<Entry>,
    /// Key → slot for `follow_symlinks` false and true ([`NONE`] where absent). One map for
    /// both, so a lookup borrows the caller's bytes (`Box<[u8]>: Borrow<[u8]>`). Hashed with
    /// foldhash, seeded per process: SipHash cost more than the rest of a hit, and a client
    /// cannot choose the keys (only files that opened are inserted).
    index: HashMap<Box<[u8]>, [u32; 2], foldhash::fast::RandomState>,
    /// The CLOCK hand: the next slot eviction looks at.
    hand: usize,
}

/// What a table operation takes out or leaves unused, dropped by the caller once the lock is
/// released: so no descriptor is closed and no memory freed under the lock.
#[derive(Default)]
struct Displaced {
    /// An entry replaced, evicted or removed (its descriptor closes with its last holder).
    entry: Option<Entry>,
    /// The key an insertion brought for the index, if the index did not need it.
    spare_key: Option<Box<[u8]>>,
    /// A key that left the index.
    old_key: Option<Box<[u8]>>,
}

/// One cached file.
struct Entry {
    key: Box<[u8]>,
    follow: bool,
    file: Arc<OpenFile>,
    /// When the entry stops being trusted: the caller's monotonic time the file was opened and
    /// stat'ed, plus `valid`; `None` if that is past what an `Instant` can hold (never). Kept
    /// as the deadline, not the start, so that each lookup is a comparison rather than a
    /// subtraction.
    stale_at: Option<Instant>,
    /// CLOCK's reference bit: set by a hit, cleared as the hand passes.
    referenced: bool,
}

impl Entry {
    /// Whether the entry, trusted for `valid`, is no longer at `now`. A `now` read by one worker
    /// just before another's insert counts as the insert's own time: expired only when `valid`
    /// is zero.
    fn expired(&self, valid: Duration, now: Instant) -> bool {
        valid.is_zero() || self.stale_at.is_some_and(|at| now >= at)
    }
}

impl OpenFiles {
    /// A cache of at most `capacity` files, each trusted for `valid` after it was opened.
    /// Capacity 0 turns it off: every lookup misses, inserting does nothing, and nothing is
    /// allocated.
    pub fn new(capacity: usize, valid: Duration) -> OpenFiles {
        let capacity = capacity.min(settings::MAX_ENTRIES);
        OpenFiles {
            capacity,
            valid,
            table: Mutex::new(Table {
                slots: Vec::with_capacity(capacity),
                index: HashMap::with_capacity_and_hasher(capacity, Default::default()),
                hand: 0,
            }),
        }
    }

    /// The `count` caches a child builds when it starts, after the fork (descriptors are never
    /// shared between children): `settings` within the process's open-file limit
    /// ([`Settings::capacity`]), the capacity shared out evenly (each at least one entry when
    /// the cache is on), so virtual hosts with their own trees do not raise the bound.
    pub fn for_child(settings: &Settings, count: usize) -> Vec<OpenFiles> {
        let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let total = settings.capacity(nofile);
        let count = count.max(1);
        let each = match total {
            0 => 0,
            t => (t / count).max(1),
        };
        (0..count)
            .map(|_| OpenFiles::new(each, settings.valid))
            .collect()
    }

    /// Most entries held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long an entry is trusted after it was opened.
    pub fn valid(&self) -> Duration {
        self.valid
    }

    /// The file cached for `key` (a decoded, normalised URL-path) with `follow_symlinks`, if it
    /// was opened less than `valid` before `now` (the caller's monotonic clock). Allocates
    /// nothing and makes no system call of its own, so the listener thread may call it: the
    /// only wait is for the lock (a futex when contended), which every holder keeps for one
    /// table operation without I/O.
    pub fn lookup(&self, key: &[u8], follow_symlinks: bool, now: Instant) -> Option<Arc<OpenFile>> {
        if self.capacity == 0 {
            return None;
        }
        let mut t = self.lock();
        let slot = t.index.get(key)?[follow_symlinks as usize];
        if slot == NONE {
            return None;
        }
        let e = t.slots.get_mut(slot as usize)?;
        if self.expired(e, now) {
            return None;
        }
        e.referenced = true;
        Some(e.file.clone())
    }

    /// Cache `file` for `key` and `follow_symlinks`, opened at `now` (or earlier: the caller's
    /// time from before the open is fine, the entry only expires sooner). Replaces an entry
    /// for the same key; when the cache is full, evicts one (CLOCK). Does nothing when the
    /// cache is off or `key` is longer than [`MAX_KEY`].
    pub fn insert(&self, key: &[u8], follow_symlinks: bool, file: Arc<OpenFile>, now: Instant) {
        if self.capacity == 0 || key.len() > MAX_KEY {
            return;
        }
        // Allocated before the lock; wasted (and freed after it) only when the key is cached.
        let entry = Entry {
            key: key.into(),
            follow: follow_symlinks,
            file,
            stale_at: now.checked_add(self.valid),
            referenced: false,
        };
        let mut out = Displaced {
            spare_key: Some(key.into()),
            ..Displaced::default()
        };
        self.lock()
            .put(entry, &mut out, self.capacity, self.valid, now);
        // Closes the evicted file's descriptor, if no response holds it, outside the lock.
        drop(out);
    }

    /// Forget `key` with `follow_symlinks`: the file is gone or no longer servable, and its
    /// descriptor should not keep it alive (a deleted file's blocks are freed only when the
    /// last descriptor on it closes).
    pub fn remove(&self, key: &[u8], follow_symlinks: bool) {
        if self.capacity == 0 {
            return;
        }
        let mut out = Displaced::default();
        self.lock().remove(key, follow_symlinks, &mut out);
        drop(out);
    }

    /// The file for `path` (a decoded, normalised URL-path; a directory URL means its
    /// DirectoryIndex file) with `follow` symbolic links, from the cache when it is fresh,
    /// otherwise opened and stat'ed ([`OpenFile::open`]) and cached. Called by workers, never
    /// by the listener: a miss makes system calls. A path that no longer names a servable file
    /// drops its stale entry.
    pub fn get_or_open(
        &self,
        site: &Site,
        host: &Host,
        path: &[u8],
        follow: bool,
        now: Instant,
    ) -> Result<Arc<OpenFile>, OpenError> {
        if let Some(f) = self.lookup(path, follow, now) {
            return Ok(f);
        }
        match OpenFile::open(site, host, path, follow) {
            Ok(f) => {
                let f = Arc::new(f);
                self.insert(path, follow, f.clone(), now);
                Ok(f)
            }
            Err(e) => {
                self.remove(path, follow);
                Err(e)
            }
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        e.expired(self.valid, now)
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table is consistent between statements that can panic: keep serving.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Table {
    /// Put `entry` in (see [`OpenFiles::insert`]), its index key taken from `out.spare_key` if
    /// the index needs one; what it displaces goes to `out`.
    fn put(
        &mut self,
        entry: Entry,
        out: &mut Displaced,
        capacity: usize,
        valid: Duration,
        now: Instant,
    ) {
        let f = entry.follow as usize;
        if let Some(slots) = self.index.get(&*entry.key)
            && slots[f] != NONE
        {
            let i = slots[f] as usize;
            // The same key again: a revalidation. Keep its reference bit.
            let referenced = self.slots[i].referenced;
            out.entry = Some(std::mem::replace(&mut self.slots[i], entry));
            self.slots[i].referenced = referenced;
            return;
        }
        let i = if self.slots.len() < capacity {
            self.slots.push(entry);
            self.slots.len() - 1
        } else {
            let i = self.victim(valid, now);
            let old = std::mem::replace(&mut self.slots[i], entry);
            self.unindex(&old.key, old.follow, out);
            out.entry = Some(old);
            i
        };
        let key = &self.slots[i].key;
        if let Some(slots) = self.index.get_mut(&**key) {
            slots[f] = i as u32;
        } else if let Some(k) = out.spare_key.take() {
            let mut slots = [NONE; 2];
            slots[f] = i as u32;
            self.index.insert(k, slots);
        }
    }

    /// CLOCK: the first slot from the hand that is expired or unreferenced, clearing reference
    /// bits on the way. The first turn clears every bit it passes, so at most `len + 1` steps.
    fn victim(&mut self, valid: Duration, now: Instant) -> usize {
        let len = self.slots.len();
        for _ in 0..=len {
            let i = self.hand % len;
            self.hand = (i + 1) % len;
            let e = &mut self.slots[i];
            if !e.referenced || e.expired(valid, now) {
                return i;
            }
            e.referenced = false;
        }
        self.hand % len
    }

    /// Take `key`'s entry for `follow` out into `out`; the last slot moves into its place.
    fn remove(&mut self, key: &[u8], follow: bool, out: &mut Displaced) {
        let Some(&slots) = self.index.get(key) else {
            return;
        };
        let i = slots[follow as usize];
        if i == NONE {
            return;
        }
        self.unindex(key, follow, out);
        out.entry = Some(self.slots.swap_remove(i as usize));
        if let Some(moved) = self.slots.get(i as usize)
            && let Some(slots) = self.index.get_mut(&*moved.key)
        {
            slots[moved.follow as usize] = i;
        }
    }

    /// Clear `key`'s index entry for `follow`; once neither value is cached the key leaves the
    /// index, into `out`.
    fn unindex(&mut self, key: &[u8], follow: bool, out: &mut Displaced) {
        if let Some(slots) = self.index.get_mut(key) {
            slots[follow as usize] = NONE;
            if *slots == [NONE; 2] {
                out.old_key = self.index.remove_entry(key).map(|(k, _)| k);
            }
        }
    }
}

impl fmt::Debug for OpenFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenFiles")
            .field("capacity", &self.capacity)
            .field("valid", &self.valid)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;
