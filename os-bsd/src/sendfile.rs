//! Sending file bytes to a socket: `sendfile` where the system has one,
//! `pread` and `write` where it does not.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::io::Errno;

/// The most one call sends, as on Linux; asking for more simply returns a
/// short count. It also keeps the count inside every system's `off_t`.
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
pub(crate) const MAX_CHUNK: usize = 0x7fff_f000;

/// The buffer of the copying fallback: one `pread` and one `write` of up to
/// this many bytes per call. On the caller's stack, so kept small; a worker
/// calls again until the response is sent.
// Used by NetBSD and OpenBSD, and tested everywhere.
#[cfg_attr(
    any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"),
    allow(dead_code)
)]
pub(crate) const COPY_CHUNK: usize = 16 * 1024;

/// Sends up to `count` bytes of `file`, starting at `*offset`, to `out`, and
/// advances `*offset` by the number sent.
///
/// `file`'s own file position is neither used nor moved, so one open file can
/// serve many connections at once. Returns the bytes sent, which may be fewer
/// than `count`. A socket that cannot take more gives
/// [`io::ErrorKind::WouldBlock`] (re-arm for [`Interest::Write`] and call
/// again); a signal gives [`io::ErrorKind::Interrupted`]. `Ok(0)` with
/// `count > 0` means `*offset` is at or past the end of the file: the file
/// shrank under the response, which the caller must treat as an error rather
/// than call again. `count` 0 sends nothing (FreeBSD and macOS would read it
/// as "to the end of the file").
///
/// - FreeBSD, DragonFly: `sendfile(file, out, offset, count, NULL, &sbytes,
///   0)`. On a non-blocking socket it sends what fits and fails with
///   `EAGAIN`; bytes already sent (`sbytes`) are returned, not the error.
/// - macOS: `sendfile(file, out, offset, &len, NULL, 0)`, same rule.
/// - NetBSD, OpenBSD (no `sendfile`): `pread` of up to 16 KiB into a stack
///   buffer, then one `write`; bytes read but not written are read again by
///   the next call. The process ignores `SIGPIPE` (the runtime does), so a
///   vanished peer gives `EPIPE`.
///
/// [`Interest::Write`]: crate::Interest::Write
#[cfg(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
))]
#[doc(alias = "EnableSendfile")]
pub fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    if count == 0 {
        return Ok(0);
    }
    #[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
    {
        let start = i64::try_from(*offset).map_err(|_| past_any_file())?;
        let (result, sent) = crate::sys::sendfile::sendfile(out, file, start, count.min(MAX_CHUNK));
        let sent = settle(result, sent)?;
        *offset += sent as u64;
        Ok(sent)
    }
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    {
        copy(out, file, offset, count)
    }
}

/// What a `sendfile` that reports its progress separately returned: the
/// bytes it sent count even when it also failed.
///
/// FreeBSD and macOS fail a non-blocking send that filled the socket with
/// `EAGAIN`, and an interrupted one with `EINTR`, after sending some bytes;
/// reporting the error would make the caller resend them.
// Used by FreeBSD, DragonFly and macOS, and tested everywhere.
#[cfg_attr(any(target_os = "netbsd", target_os = "openbsd"), allow(dead_code))]
pub(crate) fn settle(result: Result<(), Errno>, sent: u64) -> io::Result<usize> {
    let sent = usize::try_from(sent).unwrap_or(usize::MAX);
    match result {
        Ok(()) => Ok(sent),
        Err(Errno::AGAIN | Errno::INTR) if sent > 0 => Ok(sent),
        Err(errno) => Err(errno.into()),
    }
}

/// The fallback: `pread` a chunk at `*offset`, `write` it to `out`, advance
/// `*offset` by what was written.
#[cfg_attr(
    any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"),
    allow(dead_code)
)]
pub(crate) fn copy(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let mut chunk = [0u8; COPY_CHUNK];
    let want = count.min(COPY_CHUNK);
    let Some(buffer) = chunk.get_mut(..want) else {
        return Ok(0);
    };
    let read = rustix::io::pread(file, &mut *buffer, *offset)?;
    let Some(bytes) = buffer.get(..read) else {
        return Ok(0);
    };
    if bytes.is_empty() {
        return Ok(0);
    }
    let written = rustix::io::write(out, bytes)?;
    *offset += written as u64;
    Ok(written)
}

/// An offset beyond `off_t`: no file is that long.
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
fn past_any_file() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "file offset beyond the largest off_t",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    use eventmpm_os_testkit::{pattern, read_available, socket_pair, temp_file_with};

    #[test]
    fn bytes_sent_before_eagain_or_eintr_count() {
        assert_eq!(settle(Err(Errno::AGAIN), 100).unwrap(), 100);
        assert_eq!(settle(Err(Errno::INTR), 7).unwrap(), 7);
        assert_eq!(settle(Ok(()), 4096).unwrap(), 4096);
        assert_eq!(settle(Ok(()), 0).unwrap(), 0, "end of file");
    }

    #[test]
    fn nothing_sent_is_the_error() {
        let error = settle(Err(Errno::AGAIN), 0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        let error = settle(Err(Errno::INTR), 0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Interrupted);
        // Other errors win even after progress: the connection is broken.
        let error = settle(Err(Errno::PIPE), 10).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(Errno::PIPE.raw_os_error()));
    }

    #[test]
    fn the_copy_sends_from_an_offset_and_advances_it() {
        let content = pattern(64 * 1024);
        let file = temp_file_with(&content);
        let (ours, theirs) = socket_pair();
        let mut offset = 1000u64;
        let sent = copy(ours.as_fd(), file.as_fd(), &mut offset, 5000).unwrap();
        assert!(sent > 0 && sent <= 5000, "sent {sent}");
        assert_eq!(offset, 1000 + sent as u64);
        let received = read_available(&theirs, 5000);
        assert_eq!(received, content[1000..1000 + sent]);
    }

    #[test]
    fn the_copy_sends_at_most_one_chunk_per_call() {
        let content = pattern(3 * COPY_CHUNK);
        let file = temp_file_with(&content);
        let (ours, theirs) = socket_pair();
        let mut offset = 0u64;
        let sent = copy(ours.as_fd(), file.as_fd(), &mut offset, content.len()).unwrap();
        assert!(sent > 0 && sent <= COPY_CHUNK, "sent {sent}");
        assert_eq!(read_available(&theirs, usize::MAX), content[..sent]);
    }

    #[test]
    fn successive_copies_send_the_whole_range_in_order() {
        let content = pattern(200 * 1024);
        let file = temp_file_with(&content);
        let (ours, theirs) = socket_pair();
        let start = 777usize;
        let mut offset = start as u64;
        let mut received = Vec::new();
        // Bounded: each round either sends or drains at least one byte until
        // the range is done; 100_000 rounds is far beyond what 200 KiB needs.
        for _ in 0..100_000 {
            if offset as usize == content.len() {
                break;
            }
            let left = content.len() - offset as usize;
            match copy(ours.as_fd(), file.as_fd(), &mut offset, left) {
                Ok(sent) => assert!(sent > 0),
                Err(error) => assert_eq!(error.kind(), io::ErrorKind::WouldBlock),
            }
            received.extend(read_available(&theirs, usize::MAX));
        }
        received.extend(read_available(&theirs, usize::MAX));
        assert_eq!(offset as usize, content.len());
        assert_eq!(received, content[start..]);
    }

    #[test]
    fn a_full_socket_would_block_without_moving_the_offset() {
        let content = pattern(64 * 1024);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        rustix::net::sockopt::set_socket_send_buffer_size(&ours, 4096).unwrap();
        let mut blocked = false;
        let mut offset = 0u64;
        // Bounded: the peer never reads, so the send buffer fills within a
        // few calls; 10_000 calls is far more than any buffer takes.
        for _ in 0..10_000 {
            let before = offset;
            match copy(ours.as_fd(), file.as_fd(), &mut offset, content.len()) {
                Ok(sent) => assert!(sent > 0),
                Err(error) => {
                    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                    assert_eq!(offset, before, "a failed call moved the offset");
                    blocked = true;
                    break;
                }
            }
            if offset as usize == content.len() {
                offset = 0;
            }
        }
        assert!(blocked);
    }

    #[test]
    fn at_end_of_file_nothing_is_copied() {
        let content = pattern(100);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        let mut offset = 100u64;
        assert_eq!(
            copy(ours.as_fd(), file.as_fd(), &mut offset, 10).unwrap(),
            0
        );
        assert_eq!(offset, 100);
        let mut offset = 250u64;
        assert_eq!(
            copy(ours.as_fd(), file.as_fd(), &mut offset, 10).unwrap(),
            0
        );
        assert_eq!(copy(ours.as_fd(), file.as_fd(), &mut offset, 0).unwrap(), 0);
    }

    #[test]
    fn the_file_position_is_untouched() {
        let content = pattern(1000);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        let mut offset = 10u64;
        copy(ours.as_fd(), file.as_fd(), &mut offset, 100).unwrap();
        let position = rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(position, 0);
    }
}
