//! `sendfile` on FreeBSD, DragonFly and macOS, which report the bytes sent
//! apart from the return value.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use rustix::io::Errno;

/// One `sendfile` of `count` bytes of `file` at `offset` to the socket
/// `out`: the call's outcome and the bytes it sent, which may be non-zero
/// even when it failed (see `crate::sendfile::settle`).
///
/// FreeBSD and DragonFly: `sendfile(fd, s, offset, nbytes, hdtr, &sbytes,
/// flags)`, no headers or trailers, no flags.
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: i64,
    count: usize,
) -> (Result<(), Errno>, u64) {
    let mut sent: libc::off_t = 0;
    #[allow(unsafe_code)]
    // SAFETY: both fds are borrowed for the call; no header/trailer struct;
    // `sent` is a live local the kernel writes one off_t to.
    let rc = unsafe {
        libc::sendfile(
            file.as_raw_fd(),
            out.as_raw_fd(),
            offset,
            count,
            ptr::null_mut(),
            &mut sent,
            0,
        )
    };
    (outcome(rc), u64::try_from(sent).unwrap_or(0))
}

/// macOS: `sendfile(fd, s, offset, &len, hdtr, flags)`, where `len` is the
/// count on input and the bytes sent on output.
#[cfg(target_os = "macos")]
pub(crate) fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: i64,
    count: usize,
) -> (Result<(), Errno>, u64) {
    // `count` is at most `crate::sendfile::MAX_CHUNK`, far inside off_t.
    let mut len = libc::off_t::try_from(count).unwrap_or(libc::off_t::MAX);
    #[allow(unsafe_code)]
    // SAFETY: both fds are borrowed for the call; no header/trailer struct;
    // `len` is a live local the kernel reads and writes one off_t of.
    let rc = unsafe {
        libc::sendfile(
            file.as_raw_fd(),
            out.as_raw_fd(),
            offset,
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    (outcome(rc), u64::try_from(len).unwrap_or(0))
}

fn outcome(rc: libc::c_int) -> Result<(), Errno> {
    if rc == 0 {
        return Ok(());
    }
    let raw = io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    Err(Errno::from_raw_os_error(raw))
}
