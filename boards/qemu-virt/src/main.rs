//! eventmpm as firmware for QEMU's riscv32 `virt` board: boot, bring up virtio-net and smoltcp
//! on QEMU's user-mode network (10.0.2.15/24, gateway 10.0.2.2), and serve HTTP on port 80 with
//! eventmpm-os-embedded: the sample site compiled into flash, JSON endpoints, server-status.
//!
//! Everything board-specific is in this crate (startup through riscv-rt, the CLINT timer, the
//! goldfish RTC, the UART, the test device that ends a run, the NIC); another board is another
//! crate beside this one.
#![no_std]
#![no_main]

/// A console line through whichever logger the features chose; `{}` with integers and `&str`
/// only, which both format (defmt then needs no `core::fmt` at all).
macro_rules! console {
    ($level:ident, $($arg:tt)*) => {{
        #[cfg(all(feature = "log", not(feature = "defmt")))]
        log::$level!(target: "eventmpm", $($arg)*);
        #[cfg(feature = "defmt")]
        defmt::$level!($($arg)*);
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = ($($arg)*,);
    }};
}

mod api;
mod clint;
mod console;
mod exit;
mod idle;
mod nic;
mod rtc;
mod stack;
mod uart;

use eventmpm_core::table::Slot;
use eventmpm_os_embedded::config::Settings;
use eventmpm_os_embedded::handler::Handler;
use eventmpm_os_embedded::io::ConnIo;
use eventmpm_os_embedded::runtime::{Runtime, Site};
use eventmpm_os_embedded::smoltcp::SmolSockets;
use eventmpm_os_embedded::status::{Board, Scores};
use eventmpm_os_embedded::tree::{File, Tree};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

/// Connection slots: TCP sockets (`EVENTMPM_SLOTS` at build time).
const SLOTS: usize = include!(concat!(env!("OUT_DIR"), "/slots.rs"));
/// Worker steps per poll (`ThreadsPerChild` in httpd.conf): one scoreboard record each.
const WORKER_STEPS: usize = include!(concat!(env!("OUT_DIR"), "/worker_steps.rs"));
/// Per-socket TCP receive and send buffers.
const RX_BUFFER: usize = 1024;
const TX_BUFFER: usize = 2048;
/// Per-slot request-head buffer (a longer head is refused with 431 or 414) and response buffer.
const HEAD_BUFFER: usize = 1024;
const OUT_BUFFER: usize = 1024;
/// The buffer generated pages (server-status) are rendered into, one at a time.
const PAGE_BUFFER: usize = 6 * 1024;
/// The longest the loop sleeps with nothing due.
const MAX_SLEEP_MS: u64 = 1000;
/// TCP retransmission gives up after this long without an ACK (a socket whose client vanished
/// is then free again).
const SOCKET_TIMEOUT: SmolDuration = SmolDuration::from_secs(60);

/// The site, compiled from `site/` by the build script.
static FILES: &[File] = include!(concat!(env!("OUT_DIR"), "/site.rs"));
static BUILT: &str = include!(concat!(env!("OUT_DIR"), "/built.rs"));

/// Set once at boot from httpd.conf, which the build script read (`settings.rs`).
static SETTINGS: spin::Once<Settings> = spin::Once::new();
static BOARD: Board<WORKER_STEPS> = Board::new();

static mut RX: [[u8; RX_BUFFER]; SLOTS] = [[0; RX_BUFFER]; SLOTS];
static mut TX: [[u8; TX_BUFFER]; SLOTS] = [[0; TX_BUFFER]; SLOTS];
static mut STORAGE: [SocketStorage<'static>; SLOTS] = [SocketStorage::EMPTY; SLOTS];
static mut TABLE: [Slot; SLOTS] = [Slot::EMPTY; SLOTS];
static mut HEADS: [[u8; HEAD_BUFFER]; SLOTS] = [[0; HEAD_BUFFER]; SLOTS];
static mut OUTS: [[u8; OUT_BUFFER]; SLOTS] = [[0; OUT_BUFFER]; SLOTS];
static mut PAGE: [u8; PAGE_BUFFER] = [0; PAGE_BUFFER];

fn smol_now() -> SmolInstant {
    SmolInstant::from_millis(clint::now().as_millis() as i64)
}

#[riscv_rt::entry]
fn main() -> ! {
    stack::paint();
    console::init();
    idle::init();
    let boot_unix = rtc::unix_seconds();

    // SAFETY: main runs once and never returns; each static is borrowed here only, for the
    // firmware's whole life.
    let (rx, tx, storage, table, heads, outs, page) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(RX),
            &mut *core::ptr::addr_of_mut!(TX),
            &mut *core::ptr::addr_of_mut!(STORAGE),
            &mut *core::ptr::addr_of_mut!(TABLE),
            &mut *core::ptr::addr_of_mut!(HEADS),
            &mut *core::ptr::addr_of_mut!(OUTS),
            &mut *core::ptr::addr_of_mut!(PAGE),
        )
    };

    let settings: &'static Settings =
        SETTINGS.call_once(|| include!(concat!(env!("OUT_DIR"), "/settings.rs")));

    let Some(mut nic) = nic::Nic::probe() else {
        fatal("no virtio-net device");
    };
    let mac = EthernetAddress(nic.mac());
    let mut config = Config::new(HardwareAddress::Ethernet(mac));
    config.random_seed = clint::ticks();
    let mut iface = Interface::new(config, &mut nic, smol_now());
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(Ipv4Address::new(10, 0, 2, 15).into(), 24));
    });
    let _ = iface
        .routes_mut()
        .add_default_ipv4_route(Ipv4Address::new(10, 0, 2, 2));

    let mut sockets = SocketSet::new(&mut storage[..]);
    let mut handles = [SocketHandle::default(); SLOTS];
    for ((h, r), t) in handles.iter_mut().zip(rx.iter_mut()).zip(tx.iter_mut()) {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut r[..]),
            tcp::SocketBuffer::new(&mut t[..]),
        );
        s.set_timeout(Some(SOCKET_TIMEOUT));
        // Responses are written whole: no reason to hold a small segment back.
        s.set_nagle_enabled(false);
        *h = sockets.add(s);
    }

    let mut heads = heads.iter_mut();
    let mut outs = outs.iter_mut();
    let mut conns: [ConnIo<'_>; SLOTS] = core::array::from_fn(|_| {
        // Both iterators have SLOTS items.
        ConnIo::new(heads.next().unwrap(), outs.next().unwrap())
    });
    let mut status_api = api::Status::new(boot_unix);
    let mut sequence_api = api::Sequence;
    let mut handlers: [&mut dyn Handler; 2] = [&mut status_api, &mut sequence_api];
    let scores = Scores::start(&BOARD, boot_unix, clint::now());
    let site = Site {
        tree: Tree::new(FILES),
        handlers: &mut handlers,
        status: true,
        extended_status: true,
        server_software: "eventmpm/0.1.0 (embedded)",
        built: BUILT,
        local_ip: "10.0.2.15",
    };
    let mut rt = Runtime::new(settings, table, &mut conns, page, site, scores);
    console!(
        info,
        "eventmpm-qemu-virt: serving 10.0.2.15:{} with {} slots, {} files, stack used at boot {} bytes",
        settings.port,
        SLOTS,
        FILES.len(),
        stack::high_water()
    );

    loop {
        iface.poll(smol_now(), &mut nic, &mut sockets);
        let now = clint::now();
        let unix = boot_unix + (now.as_millis() / 1000) as i64;
        let next = rt.poll(&mut SmolSockets::new(&mut sockets, &handles), now, unix);
        // What the runtime just wrote goes out now, not after the sleep.
        iface.poll(smol_now(), &mut nic, &mut sockets);
        let now_ms = clint::now().as_millis();
        let mut wake = now_ms + MAX_SLEEP_MS;
        if let Some(d) = iface.poll_delay(smol_now(), &sockets) {
            wake = wake.min(now_ms + d.total_millis());
        }
        if let Some(at) = next {
            wake = wake.min(at.as_millis());
        }
        idle::wait_until(wake * clint::TICKS_PER_MS);
    }
}

/// A boot-time error: say why and end the run with status 3.
fn fatal(why: &str) -> ! {
    console!(error, "{}", why);
    exit::exit(3);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => console!(error, "panic at {}:{}", at.file(), at.line()),
        None => console!(error, "panic"),
    }
    exit::exit(101);
}
