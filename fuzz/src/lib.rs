//! What the fuzz targets share: reading a target's settings from the front of libFuzzer's input,
//! and the invariants a checked configuration must hold (asserted by two targets).
//!
//! Each target takes a few settings bytes (limits, split points, buffer sizes) and then the
//! subject bytes, so one input file is one reproducible case: `cargo fuzz run TARGET FILE`.

use eventmpm_core::config::{Config, MAX_SERVER_LIMIT};

/// Takes settings from the front of the input; past its end every read gives zeros, so short
/// inputs still run (with the plainest settings).
#[derive(Debug)]
pub struct Settings<'a> {
    bytes: &'a [u8],
}

impl<'a> Settings<'a> {
    /// Reads settings from `input`; [`Settings::rest`] gives the subject bytes after them.
    pub fn new(input: &'a [u8]) -> Settings<'a> {
        Settings { bytes: input }
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }

    /// Up to `max` split points, read before the subject's length is known; place them with
    /// [`place`].
    pub fn cuts(&mut self, max: usize) -> Vec<u16> {
        let n = usize::from(self.u8()) % (max + 1);
        (0..n).map(|_| self.u16()).collect()
    }

    /// The subject: everything after the settings read so far.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Split points into a subject of `len` bytes, sorted (duplicates allowed).
pub fn place(cuts: &[u16], len: usize) -> Vec<usize> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (len + 1)).collect();
    at.sort_unstable();
    at
}

/// The process model after [`Config::check`] must satisfy httpd's bounds, whatever was
/// configured; and checking again changes nothing (only the "MaxRequestWorkers above
/// ServerLimit" note repeats, by design: the configured value is kept).
pub fn assert_checked_config(config: &Config) {
    let p = config.process();
    let max_threads = config.mpm.max_thread_limit();
    assert!((1..=MAX_SERVER_LIMIT).contains(&p.server_limit), "{p:?}");
    assert!((1..=max_threads).contains(&p.thread_limit), "{p:?}");
    assert!((1..=p.thread_limit).contains(&p.threads_per_child), "{p:?}");
    assert!(p.max_workers >= p.threads_per_child, "{p:?}");
    assert!(p.max_workers.is_multiple_of(p.threads_per_child), "{p:?}");
    assert!(
        (1..=p.server_limit).contains(&p.active_daemons_limit),
        "{p:?}"
    );
    assert!(
        (1..=p.active_daemons_limit).contains(&p.start_servers),
        "{p:?}"
    );
    assert!(p.min_spare_threads >= 1, "{p:?}");
    assert!(
        u64::from(p.max_spare_threads)
            >= (u64::from(p.min_spare_threads) + u64::from(p.threads_per_child) + 1)
                .min(i32::MAX as u64),
        "{p:?}"
    );
    let mut again = config.clone();
    again.check(true, &mut |w| {
        assert!(
            matches!(
                w.clamp,
                eventmpm_core::config::Clamp::MaxWorkersAboveServerLimit { .. }
            ),
            "a second check warned again: {}",
            w.console()
        );
    });
    assert_eq!(&again, config, "a second check changed the configuration");
}
