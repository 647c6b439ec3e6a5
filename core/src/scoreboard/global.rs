//! The server-wide record (`global_score`).

use super::CpuTimes;
use super::seqlock::{Inconsistent, Version, Word, Word64};

/// The server-wide record. **Writer:** the parent only; children and `server-status` read it.
///
/// The limits stored here are informational (for external tools reading a ScoreBoardFile): code
/// that maps the segment takes its [`Layout`](super::Layout) from its own configuration, never
/// from these fields, so a corrupted value cannot make anyone index out of bounds.
///
/// All-zero bytes are a valid record.
#[doc(alias = "global_score")]
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct GlobalScore {
    version: Version,
    server_limit: Word,
    thread_limit: Word,
    running_generation: Word,
    restart_time: Word64,
    cpu: [Word; 4],
}

/// A consistent copy of the [`GlobalScore`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalSnapshot {
    /// ServerLimit when the segment was created.
    pub server_limit: u32,
    /// ThreadLimit when the segment was created.
    pub thread_limit: u32,
    /// The MPM generation the parent is running.
    pub running_generation: u32,
    /// When the server last (ungracefully) restarted, in Unix seconds.
    pub restart_time: i64,
    /// The parent's own CPU times, and those of the children it reaped.
    pub cpu: CpuTimes,
}

impl GlobalScore {
    /// A zeroed record.
    #[cfg(not(loom))]
    pub const fn new() -> GlobalScore {
        GlobalScore {
            version: Version::new(),
            server_limit: Word::new(),
            thread_limit: Word::new(),
            running_generation: Word::new(),
            restart_time: Word64::new(),
            cpu: [const { Word::new() }; 4],
        }
    }

    /// The parent, on creating the segment or on an ungraceful restart: records the limits and
    /// the restart time, and clears the CPU times.
    pub fn init(&self, server_limit: u32, thread_limit: u32, restart_time: i64) {
        self.version.write(|| {
            self.server_limit.set(server_limit);
            self.thread_limit.set(thread_limit);
            self.restart_time.set(restart_time as u64);
            for word in &self.cpu {
                word.set(0);
            }
        });
    }

    /// The parent: the generation it now runs (after a restart).
    pub fn set_running_generation(&self, generation: u32) {
        self.version
            .write(|| self.running_generation.set(generation));
    }

    /// The parent: its CPU times (`times()` in its main loop).
    pub fn set_cpu_times(&self, cpu: CpuTimes) {
        self.version.write(|| {
            for (word, ticks) in self.cpu.iter().zip(cpu.to_array()) {
                word.set(ticks);
            }
        });
    }

    /// A consistent copy.
    pub fn read(&self) -> Result<GlobalSnapshot, Inconsistent> {
        self.version.read(|| GlobalSnapshot {
            server_limit: self.server_limit.get(),
            thread_limit: self.thread_limit.get(),
            running_generation: self.running_generation.get(),
            restart_time: self.restart_time.get() as i64,
            cpu: CpuTimes::from_array([
                self.cpu[0].get(),
                self.cpu[1].get(),
                self.cpu[2].get(),
                self.cpu[3].get(),
            ]),
        })
    }

    /// Test access: simulate a parent that died mid-update.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn version_for_test(&self) -> &Version {
        &self.version
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_zero_is_valid() {
        let g = GlobalScore::new();
        assert_eq!(g.read(), Ok(GlobalSnapshot::default()));
        g.init(16, 64, 1_790_000_000);
        g.set_running_generation(3);
        g.set_cpu_times(CpuTimes {
            user: 1,
            system: 2,
            children_user: 3,
            children_system: 4,
        });
        let s = g.read().unwrap();
        assert_eq!(
            (s.server_limit, s.thread_limit, s.running_generation),
            (16, 64, 3)
        );
        assert_eq!(s.restart_time, 1_790_000_000);
        assert_eq!(s.cpu.to_array(), [1, 2, 3, 4]);
        g.init(16, 64, -5);
        assert_eq!(g.read().unwrap().restart_time, -5);
    }
}
