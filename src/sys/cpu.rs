//! CPU time: the calling thread's, the process's, and that of the children it has reaped.
//!
//! Per-thread figures come from the system's per-thread accounting, user and system time apart
//! where it keeps them apart: `getrusage(RUSAGE_THREAD)` on Linux, Android, FreeBSD and OpenBSD,
//! `getrusage(RUSAGE_LWP)` on illumos and Solaris, `thread_info(THREAD_BASIC_INFO)` on macOS.
//! NetBSD and DragonFly only give the thread's total (`CLOCK_THREAD_CPUTIME_ID`), which is then
//! reported as user time.

use std::io;
use std::time::Duration;

/// CPU time used, split as the system accounts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time spent running the program's own code.
    pub user: Duration,
    /// Time the kernel spent on its behalf.
    pub system: Duration,
}

fn from_timeval(tv: libc::timeval) -> Duration {
    // Negative fields are never reported; read them as zero rather than wrap.
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0).min(999_999);
    Duration::new(secs, micros * 1000)
}

fn rusage(who: libc::c_int) -> io::Result<CpuTime> {
    // SAFETY: getrusage fills the struct we pass (all-zero bytes are a valid rusage); `who` is
    // one of the values the system defines.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return Err(io::Error::last_os_error());
        }
        usage
    };
    Ok(CpuTime {
        user: from_timeval(usage.ru_utime),
        system: from_timeval(usage.ru_stime),
    })
}

/// The whole process's CPU time so far (`RUSAGE_SELF`: every thread, living or ended).
pub fn process_cpu() -> io::Result<CpuTime> {
    rusage(libc::RUSAGE_SELF)
}

/// The CPU time of every child process this process has reaped (`RUSAGE_CHILDREN`, which
/// includes what those children reaped in turn). Children not yet reaped are not in it.
pub fn children_cpu() -> io::Result<CpuTime> {
    rusage(libc::RUSAGE_CHILDREN)
}

/// The calling thread's CPU time so far.
pub fn thread_cpu() -> io::Result<CpuTime> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))] {
            rusage(libc::RUSAGE_THREAD)
        } else if #[cfg(target_os = "android")] {
            // Linux's RUSAGE_THREAD (<linux/resource.h>), which the libc crate does not name for
            // Android.
            rusage(1)
        } else if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
            // RUSAGE_LWP (<sys/resource.h>): the calling LWP, which is the thread (1:1 model).
            rusage(1)
        } else if #[cfg(target_vendor = "apple")] {
            let mut count = libc::THREAD_BASIC_INFO_COUNT;
            // SAFETY: all-zero bytes are a valid thread_basic_info. pthread_mach_thread_np returns
            // the calling thread's port without taking a reference (nothing to release);
            // thread_info writes at most `count` integers into `info`, which is that large.
            let (rc, info) = unsafe {
                let mut info: libc::thread_basic_info = std::mem::zeroed();
                let rc = libc::thread_info(
                    libc::pthread_mach_thread_np(libc::pthread_self()),
                    libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
                    (&mut info as *mut libc::thread_basic_info).cast(),
                    &mut count,
                );
                (rc, info)
            };
            if rc != 0 {
                return Err(io::Error::other(format!("thread_info failed ({rc})")));
            }
            let time = |t: libc::time_value_t| {
                Duration::new(
                    u64::try_from(t.seconds).unwrap_or(0),
                    u32::try_from(t.microseconds).unwrap_or(0).min(999_999) * 1000,
                )
            };
            Ok(CpuTime {
                user: time(info.user_time),
                system: time(info.system_time),
            })
        } else {
            // NetBSD, DragonFly: no per-thread rusage; the thread's CPU clock has the total
            // (through libc: rustix names no thread CPU clock for NetBSD).
            // SAFETY: clock_gettime writes one timespec, which all-zero bytes already are.
            let t = unsafe {
                let mut t: libc::timespec = std::mem::zeroed();
                if libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) != 0 {
                    return Err(io::Error::last_os_error());
                }
                t
            };
            Ok(CpuTime {
                user: Duration::new(
                    u64::try_from(t.tv_sec).unwrap_or(0),
                    u32::try_from(t.tv_nsec).unwrap_or(0).min(999_999_999),
                ),
                system: Duration::ZERO,
            })
        }
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit httpd's scoreboard keeps CPU
/// times in; at least 1.
pub fn clock_ticks() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u32::try_from(hz).unwrap_or(100).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(t: CpuTime) -> Duration {
        t.user + t.system
    }

    /// Spin until the calling thread's own clock shows `cpu` more, or `limit` of wall time
    /// passed; returns the thread's figure then.
    fn burn(cpu: Duration, limit: Duration) -> CpuTime {
        let start = std::time::Instant::now();
        let from = total(thread_cpu().unwrap());
        let mut x = 0u64;
        loop {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            let now = thread_cpu().unwrap();
            if total(now) - from >= cpu || start.elapsed() >= limit {
                return now;
            }
        }
    }

    #[test]
    fn a_thread_counts_its_own_time_not_its_siblings() {
        let before = thread_cpu().unwrap();
        // Another thread burns 100 ms of CPU; this one waits for it, off the CPU.
        let sibling =
            std::thread::spawn(|| burn(Duration::from_millis(100), Duration::from_secs(20)));
        let theirs = sibling.join().unwrap();
        let mine = thread_cpu().unwrap();
        assert!(
            mine.user >= before.user && mine.system >= before.system,
            "monotonic"
        );
        assert!(total(theirs) >= Duration::from_millis(100), "{theirs:?}");
        assert!(
            total(mine) - total(before) < Duration::from_millis(100),
            "the waiting thread was charged its sibling's time: {before:?} -> {mine:?}"
        );
        assert!(total(process_cpu().unwrap()) >= total(theirs));
    }

    #[test]
    fn reaped_children_count_once_reaped() {
        let before = children_cpu().unwrap();
        // A child that burns CPU in a shell loop, then exits and is reaped.
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done")
            .status()
            .unwrap();
        assert!(status.success());
        let after = children_cpu().unwrap();
        assert!(total(after) > total(before), "{before:?} -> {after:?}");
    }
}
