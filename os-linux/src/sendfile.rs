//! Sending file bytes to a socket without copying them through user space.

use std::io;
use std::os::fd::BorrowedFd;

/// The most Linux moves in one `sendfile` call (`MAX_RW_COUNT`); asking for
/// more is allowed and simply returns a short count.
const MAX_CHUNK: usize = 0x7fff_f000;

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
/// than call again.
///
/// [`Interest::Write`]: crate::Interest::Write
#[doc(alias = "EnableSendfile")]
pub fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let sent = rustix::fs::sendfile(out, file, Some(offset), count.min(MAX_CHUNK))?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    use eventmpm_os_testkit::{pattern, read_available, socket_pair, temp_file_with};

    #[test]
    fn sends_from_an_offset_and_advances_it() {
        let content = pattern(64 * 1024);
        let file = temp_file_with(&content);
        let (ours, theirs) = socket_pair();
        let mut offset = 1000u64;
        let sent = sendfile(ours.as_fd(), file.as_fd(), &mut offset, 5000).unwrap();
        assert!(sent > 0 && sent <= 5000, "sent {sent}");
        assert_eq!(offset, 1000 + sent as u64);
        let received = read_available(&theirs, 5000);
        assert_eq!(received, content[1000..1000 + sent]);
    }

    #[test]
    fn successive_calls_send_the_whole_range_in_order() {
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
            match sendfile(ours.as_fd(), file.as_fd(), &mut offset, left) {
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
    fn a_full_socket_would_block() {
        let content = pattern(64 * 1024);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        rustix::net::sockopt::set_socket_send_buffer_size(&ours, 4096).unwrap();
        let mut blocked = false;
        // Bounded: the peer never reads, so the send buffer fills within a
        // few calls; 10_000 calls of up to 64 KiB is far more than any buffer.
        for _ in 0..10_000 {
            let mut offset = 0u64;
            match sendfile(ours.as_fd(), file.as_fd(), &mut offset, content.len()) {
                Ok(sent) => assert!(sent > 0),
                Err(error) => {
                    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                    assert_eq!(offset, 0, "a failed call moved the offset");
                    blocked = true;
                    break;
                }
            }
        }
        assert!(blocked);
    }

    #[test]
    fn at_end_of_file_nothing_is_sent() {
        let content = pattern(100);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        let mut offset = 100u64;
        assert_eq!(
            sendfile(ours.as_fd(), file.as_fd(), &mut offset, 10).unwrap(),
            0
        );
        assert_eq!(offset, 100);
        let mut offset = 250u64;
        assert_eq!(
            sendfile(ours.as_fd(), file.as_fd(), &mut offset, 10).unwrap(),
            0
        );
    }

    #[test]
    fn the_file_position_is_untouched() {
        let content = pattern(1000);
        let file = temp_file_with(&content);
        let (ours, _theirs) = socket_pair();
        let mut offset = 10u64;
        sendfile(ours.as_fd(), file.as_fd(), &mut offset, 100).unwrap();
        let position = rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(position, 0);
    }
}
