//! The thin syscall layer: what only compiles on the BSDs and macOS.
//!
//! Everything here turns a decision made elsewhere into a system call; the
//! decisions themselves (which changes, how to decode, when to wake) live in
//! the plain modules and are tested on every host.

pub(crate) mod kqueue;
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
pub(crate) mod sendfile;
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd"))]
pub(crate) mod sockopt;

use crate::waker::WakeMode;

/// `EVFILT_USER` where rustix offers it (FreeBSD, DragonFly, macOS).
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
pub(crate) const WAKE_MODE: WakeMode = WakeMode::User;

/// A self-pipe on NetBSD and OpenBSD: rustix has no `EVFILT_USER` there, and
/// NetBSD before 10 has none at all (as in mio and polling).
#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
pub(crate) const WAKE_MODE: WakeMode = WakeMode::Pipe;

/// The real system calls, end to end. They run only on the five systems;
/// where this crate is developed they are compiled and linked, which proves
/// every symbol exists with the signature used.
#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::time::Duration;

    use crate::{
        Accepted, Events, Interest, Poller, WAKE_TOKEN, accept, sendfile, set_defer_accept,
    };
    use eventmpm_os_testkit::{pattern, read_available, socket_pair, temp_file_with};

    const PATIENCE: Duration = Duration::from_secs(5);

    fn tokens(events: &Events) -> Vec<u64> {
        events.iter().map(|e| e.token).collect()
    }

    #[test]
    fn a_kqueue_reports_once_per_arm_and_wakes() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (ours, theirs) = socket_pair();
        poller.add(ours.as_fd(), 1, Interest::Read).unwrap();
        assert_eq!(rustix::io::write(&theirs, b"x").unwrap(), 1);
        poller.wait(&mut events, Some(PATIENCE)).unwrap();
        assert_eq!(tokens(&events), [1]);
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "dispatched: silent until re-armed");
        poller.rearm(ours.as_fd(), 2, Interest::Write).unwrap();
        poller.wait(&mut events, Some(PATIENCE)).unwrap();
        assert_eq!(tokens(&events), [2]);
        let waker = poller.waker();
        waker.wake().unwrap();
        waker.wake().unwrap();
        poller.wait(&mut events, Some(PATIENCE)).unwrap();
        assert_eq!(tokens(&events), [WAKE_TOKEN]);
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "one wake-up for two wakes");
        poller.delete(ours.as_fd()).unwrap();
        poller.delete(ours.as_fd()).unwrap();
    }

    #[test]
    fn a_listener_is_level_triggered_and_accepts() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        // An accept filter module may be missing (ENOENT); the call must
        // not fail otherwise, and removing must always work.
        match set_defer_accept(listener.as_fd(), 30) {
            Ok(()) => {}
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}"),
        }
        set_defer_accept(listener.as_fd(), 0).unwrap();
        poller.add_listener(listener.as_fd(), 9).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        for _ in 0..2 {
            poller.wait(&mut events, Some(PATIENCE)).unwrap();
            assert_eq!(tokens(&events), [9]);
        }
        assert!(matches!(
            accept(listener.as_fd()).unwrap(),
            Accepted::Socket(..)
        ));
    }

    #[test]
    fn sendfile_sends_from_the_offset() {
        let content = pattern(64 * 1024);
        let file = temp_file_with(&content);
        let (ours, theirs) = socket_pair();
        let mut offset = 100u64;
        let sent = sendfile(ours.as_fd(), file.as_fd(), &mut offset, 1000).unwrap();
        assert!(sent > 0 && sent <= 1000);
        assert_eq!(offset, 100 + sent as u64);
        assert_eq!(read_available(&theirs, 1000), content[100..100 + sent]);
    }

    #[test]
    fn the_kqueue_is_close_on_exec() {
        use rustix::io::{FdFlags, fcntl_getfd};
        let kqueue = super::kqueue::Kqueue::new().unwrap();
        assert!(fcntl_getfd(kqueue.fd()).unwrap().contains(FdFlags::CLOEXEC));
    }
}
