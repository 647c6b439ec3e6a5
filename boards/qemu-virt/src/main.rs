//! eventmpm as firmware for QEMU's riscv32 `virt` board: boot, bring up virtio-net and smoltcp
//! on QEMU's user-mode network (10.0.2.15/24, gateway 10.0.2.2), and serve HTTP on port 80 with
//! eventmpm-os-embedded: the sample site compiled into flash, a JSON endpoint, server-status.
//!
//! Everything board-specific is in this crate (startup through riscv-rt, the CLINT timer, the
//! goldfish RTC, the UART, the test device that ends a run, the NIC); another board is another
//! crate beside this one.
#![no_std]
#![no_main]

mod clint;
mod console;
mod exit;
mod idle;
mod nic;
mod rtc;
mod stack;
mod uart;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

use eventmpm_os_embedded::smoltcp::SmolSockets;
use eventmpm_os_embedded::socket::{SocketState, Sockets};

/// Connection slots: TCP sockets (`EVENTMPM_SLOTS` at build time).
const SLOTS: usize = include!(concat!(env!("OUT_DIR"), "/slots.rs"));
/// Per-socket receive and send buffers.
const RX_BUFFER: usize = 1024;
const TX_BUFFER: usize = 2048;
/// The longest the loop sleeps with nothing due (smoltcp's own timers are honoured too).
const MAX_SLEEP_MS: u64 = 1000;

static mut RX: [[u8; RX_BUFFER]; SLOTS] = [[0; RX_BUFFER]; SLOTS];
static mut TX: [[u8; TX_BUFFER]; SLOTS] = [[0; TX_BUFFER]; SLOTS];
static mut STORAGE: [SocketStorage<'static>; SLOTS] = [SocketStorage::EMPTY; SLOTS];

fn smol_now() -> SmolInstant {
    SmolInstant::from_millis(clint::now().as_millis() as i64)
}

#[riscv_rt::entry]
fn main() -> ! {
    stack::paint();
    console::init();
    idle::init();
    let boot_unix = rtc::unix_seconds();
    info(format_args!(
        "eventmpm-qemu-virt booting: {SLOTS} slots, wall clock {boot_unix}"
    ));

    let Some(mut nic) = nic::Nic::probe() else {
        info(format_args!("no virtio-net device"));
        exit::exit(2);
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

    // SAFETY: main runs once and never returns; these statics are borrowed here only, for the
    // firmware's whole life.
    let (rx, tx, storage) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(RX),
            &mut *core::ptr::addr_of_mut!(TX),
            &mut *core::ptr::addr_of_mut!(STORAGE),
        )
    };
    let mut sockets = SocketSet::new(&mut storage[..]);
    let mut handles = [SocketHandle::default(); SLOTS];
    for ((h, r), t) in handles.iter_mut().zip(rx.iter_mut()).zip(tx.iter_mut()) {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut r[..]),
            tcp::SocketBuffer::new(&mut t[..]),
        );
        *h = sockets.add(s);
    }
    info(format_args!("listening on 10.0.2.15:80"));
    loop {
        iface.poll(smol_now(), &mut nic, &mut sockets);
        let mut s = SmolSockets::new(&mut sockets, &handles);
        for i in 0..s.len() {
            if s.state(i) == SocketState::Free {
                s.listen(i, 80);
            }
        }
        let delay = iface
            .poll_delay(smol_now(), &sockets)
            .map_or(MAX_SLEEP_MS, |d| d.total_millis().min(MAX_SLEEP_MS));
        idle::wait_until(clint::ticks() + delay * 10_000);
    }
}

fn info(args: core::fmt::Arguments<'_>) {
    #[cfg(all(feature = "log", not(feature = "defmt")))]
    log::info!(target: "eventmpm", "{args}");
    #[cfg(feature = "defmt")]
    defmt::info!("{}", defmt::Display2Format(&args));
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(all(feature = "log", not(feature = "defmt")))]
    log::error!(target: "eventmpm", "panic: {info}");
    #[cfg(feature = "defmt")]
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit::exit(101);
}
