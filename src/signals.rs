//! Signals, delivered through a self-pipe so that the event loop sees them as readable input.
//!
//! A signal handler may only do async-signal-safe work; ours writes the signal number as one
//! byte to a non-blocking pipe and returns. The parent's main loop and a child's listener
//! register the read end with their poller (or sleep on it) and act on the bytes in their own
//! time, so no flag is ever checked in a race with a blocking call. httpd uses flags plus
//! `pthread_kill` wake-ups for the same purpose.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The write end of the current process's pipe; -1 before [`SignalPipe::install`].
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: errno is thread-local and only read/written here; restoring it keeps the
    // interrupted code's errno intact. write(2) is async-signal-safe; a full pipe drops the
    // byte, which is fine: one pending byte per signal kind is enough to act on it.
    unsafe {
        let saved = crate::sys::errno();
        let fd = WRITE_FD.load(Ordering::Relaxed);
        if fd >= 0 {
            let b = sig as u8;
            libc::write(fd, (&b as *const u8).cast(), 1);
        }
        crate::sys::set_errno(saved);
    }
}

/// Put `sig` into this process's pipe as if it had arrived, without sending a signal: whoever
/// polls the pipe wakes and acts on it. Returns whether the byte is there (a full pipe counts:
/// it is readable, and the signal's byte is likely among those waiting); `false` before
/// [`SignalPipe::install`].
pub fn deliver(sig: libc::c_int) -> bool {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return false;
    }
    // SAFETY: the descriptor is this process's pipe, open for its lifetime once installed.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    match rustix::io::write(fd, &[sig as u8]) {
        Ok(n) => n == 1,
        Err(e) => e == rustix::io::Errno::AGAIN,
    }
}

/// The read end of the signal pipe.
#[derive(Debug)]
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Create this process's pipe and route `signals` to it. Called again after `fork` in a
    /// child, it replaces the inherited pipe, so parent and children never read each other's
    /// signals.
    pub fn install(signals: &[libc::c_int]) -> io::Result<SignalPipe> {
        let (read, write) = crate::sys::pipe()?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::Relaxed);
        for &sig in signals {
            // SAFETY: a zeroed sigaction is valid; we set the handler and an empty mask, and
            // SA_RESTART so interrupted system calls elsewhere resume.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(SignalPipe {
            read,
            _write: write,
        })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// The signals received since the last call, oldest first (at most 64 per call).
    pub fn take(&self) -> Vec<libc::c_int> {
        let mut buf = [0u8; 64];
        match rustix::io::read(&self.read, &mut buf) {
            Ok(n) => buf[..n].iter().map(|&b| b as libc::c_int).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Ignore SIGPIPE for the whole process (a client that closes while we write must produce an
/// EPIPE error, not kill the server), as httpd does.
pub fn ignore_sigpipe() {
    set_disposition(libc::SIGPIPE, libc::SIG_IGN);
}

/// Give `sig` its default disposition again (a child undoing what the parent installed).
pub fn set_default(sig: libc::c_int) {
    set_disposition(sig, libc::SIG_DFL);
}

fn set_disposition(sig: libc::c_int, disposition: libc::sighandler_t) {
    // SAFETY: installing SIG_IGN/SIG_DFL has no preconditions.
    unsafe {
        libc::signal(sig, disposition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_signal_arrives_as_a_byte() {
        let pipe = SignalPipe::install(&[libc::SIGUSR2]).unwrap();
        // SAFETY: raise has no preconditions; the handler above is installed.
        unsafe {
            libc::raise(libc::SIGUSR2);
        }
        assert_eq!(pipe.take(), vec![libc::SIGUSR2]);
        assert_eq!(pipe.take(), Vec::<libc::c_int>::new(), "drained");
        // A byte put in without a signal reads the same.
        assert!(deliver(libc::SIGWINCH));
        assert_eq!(pipe.take(), vec![libc::SIGWINCH]);
    }
}
