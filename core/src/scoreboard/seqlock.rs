//! The single-writer sequence lock that keeps a record's multi-word values consistent, and the
//! atomic cells records are made of.
//!
//! Shared memory may only hold atomics no wider than 32 bits (see [`crate::scoreboard`]), so a
//! 64-bit counter is two words and a string is a run of words. A reader could see half of an
//! update; the version counter lets it notice: the one writer makes it odd before changing the
//! record and even again afterwards, and a reader that saw the same even version before and after
//! copying the record has a consistent copy.
//!
//! Orderings (the "all release/acquire" seqlock, so no fences are needed): the writer's data
//! stores are `Release`, which orders the odd version before them; the reader's data loads are
//! `Acquire`, which orders them before the second version load. A reader that observed any store
//! of an update therefore also observes that update's odd version on its second load, and
//! retries.

use crate::sync::{AtomicU8, AtomicU32, Ordering};

/// Copies a reader attempts before it gives up and reports the record as [`Inconsistent`].
///
/// A live writer holds the version odd for a few dozen stores, so a handful of retries suffices; a
/// writer that died mid-update leaves it odd for good, and the bound keeps the reader from
/// spinning on it.
#[cfg(not(loom))]
pub const READ_ATTEMPTS: u32 = 16;

/// Copies a reader attempts before it gives up (few under loom, whose state space grows with
/// every retry).
#[cfg(loom)]
pub const READ_ATTEMPTS: u32 = 3;

/// A record that stayed mid-update for [`READ_ATTEMPTS`] copies: its writer is either very busy or
/// died while writing. Its multi-word values must not be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inconsistent;

/// A record's version counter: odd while its writer is changing it.
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct Version(AtomicU32);

impl Version {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Version {
        Version(AtomicU32::new(0))
    }

    /// Runs `update` as one write section. Only the record's single writer may call this.
    ///
    /// A version left odd by a writer that died mid-update is completed rather than bumped, so
    /// whoever takes the record over (the parent, after reaping the child) makes it readable
    /// again.
    pub(crate) fn write<R>(&self, update: impl FnOnce() -> R) -> R {
        let odd = self.0.load(Ordering::Relaxed) | 1;
        self.0.store(odd, Ordering::Relaxed);
        let result = update();
        self.0.store(odd.wrapping_add(1), Ordering::Release);
        result
    }

    /// Copies the record with `copy` until two version reads agree, at most [`READ_ATTEMPTS`]
    /// times. `copy` must read only through [`Word::get`], [`Word64::get`], [`Byte::get`] and
    /// [`Text::load`] (they use the `Acquire` loads the protocol needs).
    pub(crate) fn read<T>(&self, mut copy: impl FnMut() -> T) -> Result<T, Inconsistent> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.0.load(Ordering::Acquire);
            if before & 1 == 0 {
                let value = copy();
                if self.0.load(Ordering::Acquire) == before {
                    return Ok(value);
                }
            }
            core::hint::spin_loop();
        }
        Err(Inconsistent)
    }

    /// The raw counter (tests and diagnostics).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn raw(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Overwrites the raw counter (tests simulate a writer that died mid-update).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn force(&self, raw: u32) {
        self.0.store(raw, Ordering::Relaxed);
    }
}

/// One 32-bit cell.
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct Word(AtomicU32);

impl Word {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Word {
        Word(AtomicU32::new(0))
    }

    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn set(&self, value: u32) {
        self.0.store(value, Ordering::Release);
    }

    /// Raise the value to `value` if it is lower: a counter several threads may report, each
    /// with a figure that only grows.
    pub(crate) fn raise(&self, value: u32) {
        self.0.fetch_max(value, Ordering::AcqRel);
    }
}

/// One byte cell (`status`, flags).
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct Byte(AtomicU8);

impl Byte {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Byte {
        Byte(AtomicU8::new(0))
    }

    pub(crate) fn get(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn set(&self, value: u8) {
        self.0.store(value, Ordering::Release);
    }

    pub(crate) fn swap_if(&self, current: u8, new: u8) -> bool {
        self.0
            .compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// A 64-bit value as two words, low word first. Consistent only inside a [`Version`] section.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Word64 {
    low: Word,
    high: Word,
}

impl Word64 {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Word64 {
        Word64 {
            low: Word::new(),
            high: Word::new(),
        }
    }

    pub(crate) fn get(&self) -> u64 {
        u64::from(self.low.get()) | (u64::from(self.high.get()) << 32)
    }

    pub(crate) fn set(&self, value: u64) {
        self.low.set(value as u32);
        self.high.set((value >> 32) as u32);
    }

    /// `self += n`, saturating. Only the single writer may call this (load and store are separate).
    pub(crate) fn add(&self, n: u64) {
        self.set(self.get().saturating_add(n));
    }
}

/// A NUL-terminated byte string of at most `4 * W - 1` bytes, packed into `W` words, as httpd's
/// fixed `char[]` fields (`apr_cpystrn` semantics: truncate, always terminate).
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct Text<const W: usize>([Word; W]);

impl<const W: usize> Default for Text<W> {
    fn default() -> Text<W> {
        Text(core::array::from_fn(|_| Word::default()))
    }
}

impl<const W: usize> Text<W> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Text<W> {
        Text([const { Word::new() }; W])
    }

    /// Stores the first `4 * W - 1` bytes of `bytes`.
    pub(crate) fn store(&self, bytes: &[u8]) {
        self.store_joined(bytes, &[], false);
    }

    /// Stores the last `4 * W - 1` bytes of `bytes` (httpd's `SeeRequestTail On`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn store_tail(&self, bytes: &[u8]) {
        self.store_joined(bytes, &[], true);
    }

    /// Stores `first` followed by `second`: their first `4 * W - 1` bytes, or with `tail` their
    /// last. The copy stops at an embedded NUL, as `strcpy` would.
    pub(crate) fn store_joined(&self, first: &[u8], second: &[u8], tail: bool) {
        const { assert!(W > 0) };
        let capacity = W * 4 - 1;
        let total = first.len().saturating_add(second.len());
        let skip = if tail {
            total.saturating_sub(capacity)
        } else {
            0
        };
        let mut bytes = first
            .iter()
            .chain(second)
            .skip(skip)
            .take(capacity)
            .copied()
            .take_while(|&b| b != 0);
        for word in &self.0 {
            let mut quad = [0u8; 4];
            for slot in &mut quad {
                match bytes.next() {
                    Some(b) => *slot = b,
                    None => break,
                }
            }
            word.set(u32::from_le_bytes(quad));
        }
    }

    /// Fills every word with `word` (tests simulate corrupted strings).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn fill_for_test(&self, word: u32) {
        for cell in &self.0 {
            cell.set(word);
        }
    }

    /// Copies the string up to its first NUL, or all `4 * W` bytes if a corrupted record has
    /// none. `N` must be `4 * W`.
    pub(crate) fn load<const N: usize>(&self) -> heapless::Vec<u8, N> {
        const { assert!(N == W * 4) };
        let mut out = heapless::Vec::new();
        'words: for word in &self.0 {
            for byte in word.get().to_le_bytes() {
                if byte == 0 || out.push(byte).is_err() {
                    break 'words;
                }
            }
        }
        out
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn text_truncates_like_cpystrn_and_reads_back() {
        let t: Text<4> = Text::new();
        t.store(b"GET / HTTP/1.1");
        assert_eq!(t.load::<16>().as_slice(), b"GET / HTTP/1.1");
        t.store(b"0123456789abcdefXYZ");
        assert_eq!(t.load::<16>().as_slice(), b"0123456789abcde");
        t.store_tail(b"0123456789abcdefXYZ");
        assert_eq!(t.load::<16>().as_slice(), b"456789abcdefXYZ");
        t.store(b"ab\0cd");
        assert_eq!(t.load::<16>().as_slice(), b"ab");
        t.store(b"");
        assert!(t.load::<16>().is_empty());
    }

    #[test]
    fn unterminated_text_reads_all_bytes_without_overrun() {
        let t: Text<2> = Text::new();
        for w in &t.0 {
            w.set(u32::from_le_bytes(*b"\xffAB\x80"));
        }
        assert_eq!(t.load::<8>().as_slice(), b"\xffAB\x80\xffAB\x80");
    }

    #[test]
    fn word64_round_trips_across_the_word_boundary() {
        let w = Word64::new();
        w.set(0x1_0000_0001);
        assert_eq!(w.get(), 0x1_0000_0001);
        w.add(u64::MAX);
        assert_eq!(w.get(), u64::MAX);
    }

    #[test]
    fn version_is_even_after_writes_and_repairs_a_dead_writer() {
        let v = Version::default();
        v.write(|| ());
        assert_eq!(v.raw(), 2);
        assert_eq!(v.read(|| 7), Ok(7));
        // A writer died mid-update: readers give up ...
        v.force(5);
        assert_eq!(v.read(|| 7), Err(Inconsistent));
        // ... until the next writer completes the section.
        v.write(|| ());
        assert_eq!(v.raw(), 6);
        assert_eq!(v.read(|| 8), Ok(8));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// A reader never accepts a torn 64-bit value or a value from the middle of an update: every
    /// consistent copy is a state the writer published.
    #[test]
    fn reader_never_sees_a_torn_pair() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let record = Arc::new((Version::default(), Word64::default(), Word::default()));
            let writer = {
                let record = Arc::clone(&record);
                loom::thread::spawn(move || {
                    for n in 1..=2u64 {
                        record.0.write(|| {
                            // Crosses the word boundary so a torn read would be visible.
                            record.1.set(n * 0x1_0000_0001);
                            record.2.set(n as u32);
                        });
                    }
                })
            };
            if let Ok((pair, count)) = record.0.read(|| (record.1.get(), record.2.get())) {
                assert_eq!(pair, u64::from(count) * 0x1_0000_0001);
            }
            writer.join().unwrap();
            let last = record.0.read(|| record.1.get());
            assert_eq!(last, Ok(2 * 0x1_0000_0001));
        });
    }
}
