//! Raw deflate in pure Rust (flate2 on miniz_oxide), for the targets where eventmpm does not
//! link the system's zlib (see [`super`]): a valid stream of the same data, but not zlib's
//! bytes, so a gzip'd answer's `Content-Length` can differ from httpd's. miniz_oxide always
//! uses a 32 KiB window and has no memLevel: `DeflateWindowSize` (9–15) and `DeflateMemLevel`
//! are accepted and change nothing here.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// What `-V` names as the deflate implementation.
pub fn name() -> String {
    "miniz_oxide".into()
}

/// A raw deflate stream in progress, its output appended to a `Vec`.
#[derive(Debug)]
pub struct Encoder(DeflateEncoder<Vec<u8>>);

impl Encoder {
    /// Start a raw deflate stream at `level` (1–9), appending to `out`; the window and memory
    /// level are miniz_oxide's own (module docs).
    pub fn new(
        level: u32,
        _window_bits: u32,
        _mem_level: u32,
        out: Vec<u8>,
    ) -> io::Result<Encoder> {
        Ok(Encoder(DeflateEncoder::new(out, Compression::new(level))))
    }

    /// Compress `input`.
    pub fn write(&mut self, input: &[u8]) -> io::Result<()> {
        self.0.write_all(input)
    }

    /// The output so far (flate2 keeps some back in a buffer of its own until it fills).
    pub fn output_len(&self) -> usize {
        self.0.get_ref().len()
    }

    /// End the stream and hand back the output.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_through_an_inflater() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let mut enc = Encoder::new(6, 15, 9, b"head".to_vec()).unwrap();
        for chunk in data.chunks(8096) {
            enc.write(chunk).unwrap();
        }
        let out = enc.finish().unwrap();
        assert!(out.starts_with(b"head") && out.len() < data.len() / 2);
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&out[4..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
