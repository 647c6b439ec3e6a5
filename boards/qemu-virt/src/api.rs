//! The sample site's dynamic pages, as a router firmware would have them.
//!
//! - `/api/status.json`: uptime, wall clock and the stack's high-water mark, a small JSON object
//!   of known length.
//! - `/api/sequence.json?n=N`: a JSON array of the numbers 0 to N−1 (N up to 1,000,000, default
//!   1000), produced as the socket takes it: its length is not known in advance, so it goes out
//!   chunked, and it is larger than any buffer the firmware has.

use core::fmt::Write as _;

use eventmpm_core::http1::Request;
use eventmpm_os_embedded::handler::{Dynamic, Handler};

use crate::clint;

/// The most numbers `/api/sequence.json` produces.
const MAX_SEQUENCE: u64 = 1_000_000;

/// `/api/status.json`.
#[derive(Debug)]
pub struct Status {
    boot_unix: i64,
    text: heapless::String<128>,
}

impl Status {
    /// For a board that booted at `boot_unix`.
    pub fn new(boot_unix: i64) -> Status {
        Status {
            boot_unix,
            text: heapless::String::new(),
        }
    }
}

impl Handler for Status {
    fn claims(&self, path: &[u8]) -> bool {
        path == b"/api/status.json"
    }

    fn start(&mut self, _request: &Request<'_>) -> Dynamic {
        let up = clint::now().as_millis() / 1000;
        self.text.clear();
        // 128 bytes hold the numbers at their widest.
        let _ = writeln!(
            self.text,
            "{{\"uptime_s\":{up},\"unix_time\":{},\"stack_high_water\":{},\"board\":\"qemu-virt\"}}",
            self.boot_unix + up as i64,
            crate::stack::high_water()
        );
        Dynamic {
            content_type: "application/json",
            length: Some(self.text.len() as u64),
            cursor: 0,
        }
    }

    fn fill(&mut self, cursor: &mut u64, out: &mut [u8]) -> usize {
        let rest = self.text.as_bytes().get(*cursor as usize..).unwrap_or(&[]);
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        *cursor += n as u64;
        n
    }
}

/// `/api/sequence.json`. The cursor is the next number to write, with `n` in the high bits
/// set at start: `cursor = n << 32 | next`, and `next == n + 1` once the closing bracket is out.
#[derive(Debug, Default)]
pub struct Sequence;

impl Handler for Sequence {
    fn claims(&self, path: &[u8]) -> bool {
        path == b"/api/sequence.json"
    }

    fn start(&mut self, request: &Request<'_>) -> Dynamic {
        let n = request
            .target()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("n=")))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1000)
            .min(MAX_SEQUENCE);
        Dynamic {
            content_type: "application/json",
            length: None,
            cursor: n << 32,
        }
    }

    fn fill(&mut self, cursor: &mut u64, out: &mut [u8]) -> usize {
        let n = *cursor >> 32;
        let mut next = *cursor & 0xffff_ffff;
        let mut len = 0;
        // Each item is at most 8 bytes ("999999,\n" with room); stop when the next may not fit.
        while out.len() - len >= 16 {
            if next > n {
                break;
            }
            let mut item: heapless::String<16> = heapless::String::new();
            let _ = match next {
                0 if n == 0 => writeln!(item, "[]"),
                0 => write!(item, "[0"),
                k if k == n => writeln!(item, "]"),
                k => write!(item, ",{k}"),
            };
            out[len..len + item.len()].copy_from_slice(item.as_bytes());
            len += item.len();
            next += if n == 0 { 2 } else { 1 };
        }
        *cursor = (n << 32) | next.min(n + 1);
        len
    }
}
