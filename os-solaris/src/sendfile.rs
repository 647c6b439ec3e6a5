//! Sending file bytes to a socket without copying them through user space:
//! `sendfilev` from libsendfile.
//!
//! Not `sendfile`: on illumos it may send part of the range and still fail
//! (`EAGAIN` once a non-blocking socket fills up), and it reports that part
//! only by moving the offset, which it leaves unset when it sent nothing.
//! `sendfilev` reports the bytes sent in an out parameter either way
//! (CPython learned this the hard way: bpo-42237, gh-154324).

use rustix::io::Errno;

/// The most one call is asked to send, as on Linux (`MAX_RW_COUNT`); asking
/// for more just returns a short count, and each call stays short.
pub(crate) const MAX_CHUNK: usize = 0x7fff_f000;

/// How one `sendfilev` call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// This many bytes went out; the offset advances by as much.
    Bytes(usize),
    /// Nothing went out and the call failed with this errno.
    Failed(Errno),
}

/// Reads a `sendfilev` answer, `result` (its return value, or the errno
/// when it returned -1) and `xferred`, for a request of `asked` bytes.
///
/// Bytes sent before a failure count as a success: the caller advances and
/// calls again, and the next call reports the error (`EAGAIN` → re-arm for
/// writing) with nothing sent. A count above `asked` (never expected) is cut
/// to `asked`, so the offset cannot jump past the range.
pub(crate) fn settle(result: Result<usize, Errno>, xferred: usize, asked: usize) -> Sent {
    match result {
        Ok(sent) => Sent::Bytes(sent.min(asked)),
        Err(_) if xferred > 0 => Sent::Bytes(xferred.min(asked)),
        Err(errno) => Sent::Failed(errno),
    }
}

/// Sends up to `count` bytes of `file`, starting at `*offset`, to `out`, and
/// advances `*offset` by the number sent.
///
/// `file`'s own file position is neither used nor moved, so one open file can
/// serve many connections at once. Returns the bytes sent, which may be fewer
/// than `count`. A socket that cannot take more gives
/// [`std::io::ErrorKind::WouldBlock`] (re-arm for [`Interest::Write`] and call
/// again); a signal gives [`std::io::ErrorKind::Interrupted`]. `Ok(0)` with
/// `count > 0` means `*offset` is at or past the end of the file: the file
/// shrank under the response, which the caller must treat as an error rather
/// than call again. (illumos answers `EINVAL` there; an `fstat` on that error
/// path tells it apart from a real `EINVAL`.)
///
/// [`Interest::Write`]: crate::Interest::Write
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
#[doc(alias = "EnableSendfile")]
#[doc(alias = "sendfilev")]
pub fn sendfile(
    out: std::os::fd::BorrowedFd<'_>,
    file: std::os::fd::BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> std::io::Result<usize> {
    use std::io;
    use std::os::fd::AsRawFd;

    let Ok(start) = libc::off_t::try_from(*offset) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file offset beyond off_t",
        ));
    };
    let asked = count.min(MAX_CHUNK);
    let vec = libc::sendfilevec_t {
        sfv_fd: file.as_raw_fd(),
        sfv_flag: 0,
        sfv_off: start,
        sfv_len: asked,
    };
    let mut xferred: libc::size_t = 0;
    #[allow(unsafe_code)]
    // SAFETY: `vec` is one initialised sendfilevec_t and `xferred` one
    // size_t, both on our stack for the whole call; the count passed is 1.
    // Both fds are borrowed, so open for the call.
    let ret = unsafe { libc::sendfilev(out.as_raw_fd(), &vec, 1, &mut xferred) };
    // Read errno at once, before anything else can overwrite it.
    let result = usize::try_from(ret).map_err(|_| {
        Errno::from_raw_os_error(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    });
    match settle(result, xferred, asked) {
        Sent::Bytes(sent) => {
            *offset = offset.saturating_add(sent as u64);
            Ok(sent)
        }
        Sent::Failed(Errno::INVAL) if asked > 0 && at_or_past_end(file, *offset) => Ok(0),
        Sent::Failed(errno) => Err(errno.into()),
    }
}

/// Whether `offset` is at or past the end of `file`.
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
fn at_or_past_end(file: std::os::fd::BorrowedFd<'_>, offset: u64) -> bool {
    rustix::fs::fstat(file)
        .is_ok_and(|stat| u64::try_from(stat.st_size).is_ok_and(|size| offset >= size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_reports_its_count() {
        assert_eq!(settle(Ok(4096), 4096, 8192), Sent::Bytes(4096));
        assert_eq!(settle(Ok(0), 0, 0), Sent::Bytes(0));
    }

    #[test]
    fn bytes_sent_before_a_failure_are_a_success() {
        assert_eq!(settle(Err(Errno::AGAIN), 1500, 8192), Sent::Bytes(1500));
        assert_eq!(settle(Err(Errno::PIPE), 10, 8192), Sent::Bytes(10));
    }

    #[test]
    fn a_failure_with_nothing_sent_is_the_error() {
        for errno in [Errno::AGAIN, Errno::INTR, Errno::INVAL, Errno::PIPE] {
            assert_eq!(settle(Err(errno), 0, 8192), Sent::Failed(errno));
        }
    }

    #[test]
    fn the_count_never_exceeds_the_request() {
        assert_eq!(settle(Err(Errno::AGAIN), 9000, 8192), Sent::Bytes(8192));
        assert_eq!(settle(Ok(9000), 9000, 8192), Sent::Bytes(8192));
    }
}
