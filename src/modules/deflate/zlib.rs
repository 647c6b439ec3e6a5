//! Raw deflate through the system's zlib (the `libz-sys` crate), set up as mod_deflate sets it
//! up: `deflateInit2(level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY)`, then
//! `deflate(Z_NO_FLUSH)` for each piece of input and `deflate(Z_FINISH)` at the end. With the
//! zlib httpd is linked to, the bytes are httpd's, so a gzip'd answer's `Content-Length` is
//! too. flate2's zlib backend cannot do this: it fixes memLevel at 8, and zlib's output with 8
//! differs from httpd's (memLevel 9) once the input passes a few hundred kilobytes.

use std::ffi::{CStr, c_int, c_uint};
use std::io;
use std::ptr::{self, NonNull};

use libz_sys as z;

/// What `-V` names as the deflate implementation.
pub fn name() -> String {
    // SAFETY: zlibVersion takes nothing and returns a pointer to a static NUL-terminated
    // string inside the library.
    let version = unsafe { CStr::from_ptr(z::zlibVersion()) };
    format!("zlib {}", version.to_string_lossy())
}

/// zlib's allocator, on the C heap. libz-sys types `zalloc` as a function pointer that cannot
/// be null, so zlib's built-in default (null) cannot be asked for; this is what it does.
extern "C" fn zalloc(_opaque: z::voidpf, items: z::uInt, size: z::uInt) -> z::voidpf {
    // SAFETY: calloc has no preconditions; it returns null (which zlib checks) when it cannot
    // allocate or when items * size overflows.
    unsafe { libc::calloc(items as libc::size_t, size as libc::size_t) }
}

/// Frees what [`zalloc`] allocated.
extern "C" fn zfree(_opaque: z::voidpf, address: z::voidpf) {
    // SAFETY: zlib passes back only pointers it got from zalloc (calloc), each once.
    unsafe { libc::free(address) }
}

/// A raw deflate stream in progress, its output appended to a `Vec`.
pub struct Encoder {
    /// The `z_stream`, on the heap and never moved: zlib's state points back at it (and checks
    /// that it does). Owned here; freed in `Drop`, after `deflateEnd`.
    stream: NonNull<z::z_stream>,
    /// The output so far.
    out: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("out", &self.out.len())
            .finish()
    }
}

impl Encoder {
    /// Start a raw deflate stream (no zlib or gzip wrapper) at `level` (1–9) with a window of
    /// 2^`window_bits` bytes (9–15) and `mem_level` (1–9), appending to `out`. zlib's refusal
    /// (a value out of its range) is an error.
    pub fn new(level: u32, window_bits: u32, mem_level: u32, out: Vec<u8>) -> io::Result<Encoder> {
        let stream = Box::new(z::z_stream {
            next_in: ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: ptr::null_mut(),
            state: ptr::null_mut(),
            zalloc,
            zfree,
            opaque: ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        // From here on Drop frees the stream, whatever deflateInit2 says.
        let enc = Encoder {
            stream: NonNull::from(Box::leak(stream)),
            out,
        };
        let bits = |v: u32| c_int::try_from(v).unwrap_or(c_int::MAX);
        // SAFETY: the stream is a live, unmoving z_stream with next_in/next_out null and our
        // allocator set, as deflateInit2 requires; the version is the library's own string and
        // the size is that of the struct libz-sys declares for it.
        let rc = unsafe {
            z::deflateInit2_(
                enc.stream.as_ptr(),
                bits(level),
                z::Z_DEFLATED,
                -bits(window_bits),
                bits(mem_level),
                z::Z_DEFAULT_STRATEGY,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if rc != z::Z_OK {
            return Err(io::Error::other(format!("deflateInit2 returned {rc}")));
        }
        Ok(enc)
    }

    /// Compress `input` (`Z_NO_FLUSH`: zlib may keep some of it back until more comes).
    pub fn write(&mut self, input: &[u8]) -> io::Result<()> {
        self.run(input, z::Z_NO_FLUSH)
    }

    /// The output so far.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// End the stream (`Z_FINISH`) and hand back the output.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        self.run(&[], z::Z_FINISH)?;
        Ok(std::mem::take(&mut self.out))
    }

    /// Call `deflate(flush)` over all of `input`, growing the output as zlib fills it; with
    /// `Z_FINISH`, until the stream's end.
    fn run(&mut self, input: &[u8], flush: c_int) -> io::Result<()> {
        let mut input = input;
        loop {
            if self.out.capacity() - self.out.len() < 64 {
                self.out.reserve(self.out.capacity().max(4096));
            }
            let room = (self.out.capacity() - self.out.len()).min(c_uint::MAX as usize);
            let fed = input.len().min(c_uint::MAX as usize);
            let stream = self.stream.as_ptr();
            // SAFETY: the stream was initialised by deflateInit2 (new() returns no Encoder
            // otherwise) and is used by this thread alone. next_in/avail_in describe `input`,
            // which zlib only reads (the pointer is *mut in zlib's struct only); next_out and
            // avail_out describe the Vec's spare capacity, which zlib writes at most avail_out
            // bytes of. Both pointers are left dangling after the call but zlib reads them only
            // inside deflate(), and each call sets them afresh.
            let (rc, consumed, produced) = unsafe {
                (*stream).next_in = input.as_ptr() as *mut u8;
                (*stream).avail_in = fed as c_uint;
                (*stream).next_out = self.out.as_mut_ptr().add(self.out.len());
                (*stream).avail_out = room as c_uint;
                let rc = z::deflate(stream, flush);
                (
                    rc,
                    fed - (*stream).avail_in as usize,
                    room - (*stream).avail_out as usize,
                )
            };
            // SAFETY: zlib wrote `produced` bytes into the spare capacity, just after the
            // initialised part.
            unsafe { self.out.set_len(self.out.len() + produced) };
            input = &input[consumed..];
            match rc {
                z::Z_STREAM_END => return Ok(()),
                // Z_BUF_ERROR is "no progress possible": not an error when there was simply
                // nothing left to do (no input, and room left in the output).
                z::Z_OK | z::Z_BUF_ERROR
                    if flush == z::Z_NO_FLUSH && input.is_empty() && produced < room =>
                {
                    return Ok(());
                }
                z::Z_OK => {}
                z::Z_BUF_ERROR if produced > 0 || consumed > 0 => {}
                _ => return Err(io::Error::other(format!("deflate returned {rc}"))),
            }
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the stream is ours and no longer used after this; deflateEnd frees zlib's
        // state if deflateInit2 made one (it refuses, harmlessly, a stream without one). The
        // Box came from Box::leak in new() and is reclaimed once.
        unsafe {
            z::deflateEnd(self.stream.as_ptr());
            drop(Box::from_raw(self.stream.as_ptr()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    /// 1.9 MB of text-like bytes from a fixed generator (words over a 5,000-word vocabulary),
    /// compressible as pages are and long enough that zlib's memLevel changes its output.
    fn text() -> Vec<u8> {
        let mut seed: u64 = 1;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let words: Vec<Vec<u8>> = (0..5000)
            .map(|_| {
                (0..2 + next() % 8)
                    .map(|_| b'a' + (next() % 26) as u8)
                    .collect()
            })
            .collect();
        let mut out = Vec::new();
        while out.len() < 1_900_000 {
            out.extend_from_slice(&words[next() % words.len()]);
            out.push(if next() % 12 == 0 { b'\n' } else { b' ' });
        }
        out
    }

    fn deflate(data: &[u8], level: u32, window: u32, mem: u32, piece: usize) -> Vec<u8> {
        let mut enc = Encoder::new(level, window, mem, Vec::new()).unwrap();
        for chunk in data.chunks(piece) {
            enc.write(chunk).unwrap();
        }
        enc.finish().unwrap()
    }

    /// Python's zlib module (linked to the system zlib, as Debian's apache2 is) over `data`.
    fn python_deflate(data: &[u8], mem: u32) -> Vec<u8> {
        let script = format!(
            "import sys, zlib\nc = zlib.compressobj(6, zlib.DEFLATED, -15, {mem})\n\
             sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read()) + c.flush())"
        );
        let mut child = Command::new("python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (ci/install installs it)");
        let mut stdin = child.stdin.take().unwrap();
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        writer.join().unwrap().unwrap();
        assert!(child.wait().unwrap().success());
        out
    }

    #[test]
    fn round_trips_through_an_inflater() {
        let data = text();
        let raw = deflate(&data[..300_000], 6, 15, 9, 8096);
        assert!(raw.len() < 300_000 / 2, "{}", raw.len());
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, &data[..300_000]);
        // Nothing in, a valid empty stream out.
        let empty = deflate(&[], 6, 15, 9, 1);
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
        // Appends to what it was given (the gzip header).
        let mut enc = Encoder::new(6, 15, 9, b"head".to_vec()).unwrap();
        enc.write(b"x").unwrap();
        assert!(enc.finish().unwrap().starts_with(b"head"));
    }

    #[test]
    fn the_bytes_are_the_system_zlibs_at_mem_level_9() {
        let data = text();
        let mine = deflate(&data, 6, 15, 9, 8096);
        let zlib9 = python_deflate(&data, 9);
        assert_eq!(mine.len(), zlib9.len());
        assert!(mine == zlib9, "same length, different bytes");
        // The test can tell: memLevel 8 (what flate2's zlib backend fixes) gives other bytes
        // for this input, and so does the level.
        assert_ne!(python_deflate(&data, 8).len(), mine.len());
        assert_ne!(deflate(&data, 6, 15, 8, 8096).len(), mine.len());
        assert_ne!(deflate(&data, 1, 15, 9, 8096).len(), mine.len());
        // How the input is cut does not change the stream.
        assert!(deflate(&data, 6, 15, 9, 1 << 20) == mine);
    }

    #[test]
    fn zlib_refuses_what_it_cannot_do() {
        // A raw stream's window is at least 2^9 (zlib 1.2.9 on); httpd's deflateInit2 fails
        // the same way for DeflateWindowSize 8 and below.
        let e = Encoder::new(6, 8, 9, Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "deflateInit2 returned -2");
        assert!(Encoder::new(6, 15, 10, Vec::new()).is_err());
        assert!(Encoder::new(6, 9, 1, Vec::new()).is_ok());
        assert!(name().starts_with("zlib 1."), "{}", name());
    }
}
