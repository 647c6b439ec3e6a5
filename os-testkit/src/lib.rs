//! Kernel objects for the OS crates' tests: socket pairs, unlinked temp files, patterned bytes.
//!
//! Shared by `os-linux`, `os-bsd` and `os-solaris` as a dev-dependency, so every OS layer's
//! tests build their fixtures the same way. Portable to every Unix those crates target: no
//! `SOCK_NONBLOCK`/`SOCK_CLOEXEC` (macOS lacks them), flags are set after the fact.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};

/// A connected, non-blocking Unix stream pair.
pub fn socket_pair() -> (OwnedFd, OwnedFd) {
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
pub fn nonblocking(fd: &impl AsFd) {
    rustix::io::ioctl_fionbio(fd, true).unwrap();
}

/// `len` bytes that differ from their neighbours, so a shifted or reordered copy does not
/// compare equal.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A regular file holding `content`, already unlinked so nothing is left behind however the
/// test ends.
pub fn temp_file_with(content: &[u8]) -> File {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "eventmpm-os-test-{}-{}",
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
pub fn read_available(fd: &impl AsFd, max: usize) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    // Bounded by `max` and by the socket's buffered bytes: every round reads at least one byte
    // or stops.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_pair_carries_bytes_and_an_empty_one_reads_nothing() {
        let (a, b) = socket_pair();
        assert!(read_available(&b, usize::MAX).is_empty());
        rustix::io::write(&a, b"hello").unwrap();
        assert_eq!(read_available(&b, 3), b"hel");
        assert_eq!(read_available(&b, usize::MAX), b"lo");
    }

    #[test]
    fn a_temp_file_holds_its_content_from_the_start_and_has_no_name() {
        let content = pattern(1000);
        let file = temp_file_with(&content);
        assert_eq!(read_available(&file, usize::MAX), content);
        assert_eq!(rustix::fs::fstat(&file).unwrap().st_nlink, 0);
    }

    #[test]
    fn the_pattern_differs_when_shifted() {
        let p = pattern(600);
        assert_ne!(p[..500], p[1..501]);
    }
}
