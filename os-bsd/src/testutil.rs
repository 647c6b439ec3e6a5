//! Kernel objects for the tests: socket pairs, unlinked temp files.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};

/// A connected, non-blocking Unix stream pair. (Flags set after the fact:
/// macOS has no `SOCK_NONBLOCK`.)
pub(crate) fn socket_pair() -> (OwnedFd, OwnedFd) {
    let (a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::empty(),
        None,
    )
    .unwrap();
    nonblocking(&a);
    nonblocking(&b);
    (a, b)
}

/// Makes `fd` non-blocking.
pub(crate) fn nonblocking(fd: &impl AsFd) {
    rustix::io::ioctl_fionbio(fd, true).unwrap();
}

/// `len` bytes that differ from their neighbours, so a shifted or reordered
/// copy does not compare equal.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A regular file holding `content`, already unlinked so nothing is left
/// behind however the test ends.
pub(crate) fn temp_file_with(content: &[u8]) -> File {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "eventmpm-os-bsd-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.write_all(content).unwrap();
    rustix::fs::seek(&file, rustix::fs::SeekFrom::Start(0)).unwrap();
    file
}

/// Reads what `fd` holds right now, up to `max` bytes, without blocking.
pub(crate) fn read_available(fd: &impl AsFd, max: usize) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    // Bounded by `max` and by the socket's buffered bytes: every round reads
    // at least one byte or stops.
    while received.len() < max {
        let want = chunk.len().min(max - received.len());
        match rustix::io::read(fd, &mut chunk[..want]) {
            Ok(0) | Err(Errno::AGAIN) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) => panic!("read: {error}"),
        }
    }
    received
}
