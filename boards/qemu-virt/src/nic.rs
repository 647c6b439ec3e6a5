//! virtio-net on the `virt` board's MMIO transport, as a smoltcp `Device`, without a heap: the
//! virtqueues come from a static DMA pool, receive buffers are a static array posted to the
//! device, and a transmit waits for the device (QEMU completes it within the notifying write).

use core::ptr::NonNull;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

/// The board's eight virtio-mmio slots.
const MMIO_BASE: usize = 0x1000_1000;
const MMIO_SIZE: usize = 0x1000;
const MMIO_SLOTS: usize = 8;
/// Descriptors per virtqueue.
const QUEUE: usize = 4;
/// Receive buffers posted to the device.
const RX_BUFFERS: usize = 2;
/// One Ethernet frame plus virtio's header (12 bytes), rounded up.
const FRAME: usize = 1536 + 16;
/// Pages of DMA memory for the two virtqueues (legacy layout: two pages each).
const DMA_PAGES: usize = 4;

#[repr(C, align(4096))]
struct Pages([u8; DMA_PAGES * PAGE_SIZE]);

static mut DMA: Pages = Pages([0; DMA_PAGES * PAGE_SIZE]);
static mut DMA_NEXT: usize = 0;

/// Identity-mapped machine mode: physical and virtual addresses are the same.
#[derive(Debug)]
pub struct BoardHal;

// SAFETY: dma_alloc hands out disjoint, page-aligned, zeroed ranges of a static pool that nothing
// else uses; addresses are identity-mapped, so sharing needs no translation or copy.
unsafe impl Hal for BoardHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // SAFETY: single hart, called only during NIC setup, before anything else runs.
        let next = unsafe { &mut *core::ptr::addr_of_mut!(DMA_NEXT) };
        assert!(*next + pages <= DMA_PAGES, "DMA pool exhausted");
        // SAFETY: in bounds (asserted above); the pool is static.
        let base = unsafe {
            core::ptr::addr_of_mut!(DMA.0)
                .cast::<u8>()
                .add(*next * PAGE_SIZE)
        };
        *next += pages;
        let p = NonNull::new(base).expect("static address");
        (base as usize as PhysAddr, p)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // The queues live as long as the firmware.
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).expect("MMIO address is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// The network card.
pub struct Nic {
    dev: VirtIONetRaw<BoardHal, MmioTransport<'static>, QUEUE>,
    rx: [[u8; FRAME]; RX_BUFFERS],
    /// The device's token for each posted receive buffer.
    posted: [Option<u16>; RX_BUFFERS],
    /// A buffer handed to smoltcp by the last `receive`, to post again at the next.
    lent: Option<usize>,
    tx: [u8; FRAME],
}

impl core::fmt::Debug for Nic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Nic")
    }
}

impl Nic {
    /// Find the virtio network device among the MMIO slots and start it.
    pub fn probe() -> Option<Nic> {
        for slot in 0..MMIO_SLOTS {
            let addr = MMIO_BASE + slot * MMIO_SIZE;
            let header = NonNull::new(addr as *mut VirtIOHeader)?;
            // SAFETY: the virt board maps a virtio-mmio region of MMIO_SIZE at each slot address
            // for the firmware's whole life, and nothing else accesses it.
            let Ok(transport) = (unsafe { MmioTransport::new(header, MMIO_SIZE) }) else {
                continue;
            };
            if transport.device_type() != DeviceType::Network {
                continue;
            }
            let dev = VirtIONetRaw::new(transport).ok()?;
            // Receive buffers are posted at the first `receive`, once the Nic has its final
            // place in memory.
            return Some(Nic {
                dev,
                rx: [[0; FRAME]; RX_BUFFERS],
                posted: [None; RX_BUFFERS],
                lent: None,
                tx: [0; FRAME],
            });
        }
        None
    }

    /// The card's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.dev.mac_address()
    }

    /// Post every receive buffer the device does not hold and smoltcp is not reading.
    ///
    /// The Nic must not move once this has run (the firmware keeps it in `main`'s frame, which
    /// never returns).
    fn post_free(&mut self) {
        for i in 0..RX_BUFFERS {
            if self.posted[i].is_none() && self.lent != Some(i) {
                // SAFETY: buffer i is not touched again until the device returns its token (see
                // `receive`), and the Nic does not move any more (above).
                self.posted[i] = unsafe { self.dev.receive_begin(&mut self.rx[i]) }.ok();
            }
        }
    }
}

impl Device for Nic {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        self.lent = None;
        self.post_free();
        let token = self.dev.poll_receive()?;
        let i = self.posted.iter().position(|t| *t == Some(token))?;
        self.posted[i] = None;
        // SAFETY: buffer i is the one posted with this token.
        let (header, len) = unsafe { self.dev.receive_complete(token, &mut self.rx[i]) }.ok()?;
        self.lent = Some(i);
        let frame = self.rx[i].get(header..header + len)?;
        Some((
            Rx(frame),
            Tx {
                dev: &mut self.dev,
                buf: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        self.dev.can_send().then_some(Tx {
            dev: &mut self.dev,
            buf: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps.max_burst_size = Some(1);
        caps
    }
}

/// A received frame.
pub struct Rx<'a>(&'a [u8]);

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Room for one frame to send.
pub struct Tx<'a> {
    dev: &'a mut VirtIONetRaw<BoardHal, MmioTransport<'static>, QUEUE>,
    buf: &'a mut [u8; FRAME],
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(self.buf.len());
        let r = f(&mut self.buf[..len]);
        // A frame the device refuses is lost, as on a wire; TCP retransmits.
        let _ = self.dev.send(&self.buf[..len]);
        r
    }
}
