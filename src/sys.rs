//! The one place the runtime names an operating system: it picks the OS crate whose poller,
//! waker, accept, sendfile and accept filter the rest of `src/` uses, and the few socket flags
//! that differ between systems.

use std::io;
use std::os::fd::AsFd;

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        pub use eventmpm_os_linux::{
            Accepted, Event, Events, Interest, Poller, WAKE_TOKEN, Waker, accept, sendfile,
            set_defer_accept,
        };
        use rustix::net::SendFlags;
        /// `send` flags: never raise SIGPIPE; say more follows when it does (a response head
        /// followed by sendfile then leaves in full segments).
        fn send_flags(more: bool) -> SendFlags {
            if more { SendFlags::NOSIGNAL | SendFlags::MORE } else { SendFlags::NOSIGNAL }
        }
    } else {
        compile_error!("eventmpm has no OS layer for this target yet (kqueue and event ports are issue 5)");
    }
}

/// Send `buf` on a socket without raising SIGPIPE; `more` hints that more data follows at once.
pub fn send(sock: &impl AsFd, buf: &[u8], more: bool) -> io::Result<usize> {
    Ok(rustix::net::send(sock, buf, send_flags(more))?)
}
