//! gzip of responses (mod_deflate's `DEFLATE` output filter, as `AddOutputFilterByType DEFLATE
//! type…` installs it): for the configured media types, when the client accepts gzip.
//!
//! As httpd does it: a response of at most [`MIN_SIZE`] bytes is left alone (no `Vary` either);
//! any other response of a listed type gets `Vary: Accept-Encoding`, and, if the request's
//! `Accept-Encoding` names `gzip` (without `q=0`), `Content-Encoding: gzip` and its ETag with
//! `-gzip` inside the quotes (`DeflateAlterETag AddSuffix`, the default). A `Range` is not
//! applied to a compressed response (the whole compressed body is sent, 200). Conditional
//! requests are evaluated against the uncompressed file's ETag, as in httpd, so a 304 carries
//! that ETag. A response already encoded (`AddEncoding`) is not compressed again.
//!
//! Where eventmpm differs: httpd streams the compressed body (chunked); we compress a file of
//! at most [`MAX_WHOLE`] bytes whole, in a worker, into a buffer, and send it with its exact
//! `Content-Length` (the listener never compresses). Memory per compressed response is bounded
//! by that: `DeflateBufferSize` bytes of input at a time, and the output, which for the types
//! compressed is smaller than the input. A larger file goes uncompressed (with `Vary`), so a
//! client is never sent a body we could not bound. `HEAD` gets the compressed response's
//! fields, with a `Content-Length` only where httpd gives one: when the compressed stream fits
//! one `DeflateBufferSize` buffer ([`Settings::head_length`]).
//!
//! The deflate stream comes from one of two encoders behind the same four calls (`new`,
//! `write`, `output_len`, `finish`), chosen per target as `src/tls/crypto.rs` chooses the crypto: on
//! x86-64 Linux (glibc), the system's zlib, set up as mod_deflate sets it up, so the bytes
//! (and a gzip'd answer's `Content-Length`) are httpd's (`deflate/zlib.rs`); everywhere else
//! flate2 on miniz_oxide, pure Rust, so the cross targets need no C zlib (`deflate/miniz.rs`).
//! The CRC-32 of the gzip trailer is flate2's on both (crc32fast: as fast as zlib's, and no
//! unsafe code of ours), so one loop (`compress_within`) drives either.

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod zlib;
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
use zlib as encoder;

#[cfg(not(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu")))]
mod miniz;
#[cfg(not(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu")))]
use miniz as encoder;

use encoder::Encoder;
pub use encoder::name as implementation;

use super::atoi::atoi;

/// Responses of at most this many bytes are not compressed (httpd: the gzip header, the
/// trailer and 50 bytes for the fields the compression adds).
pub const MIN_SIZE: u64 = 10 + 8 + 50;

/// gzip's trailer: CRC-32 and length.
const GZIP_TRAILER: usize = 8;

/// The largest body compressed; larger ones are sent as they are.
pub const MAX_WHOLE: u64 = 1 << 20;

/// The gzip header httpd writes: no name, no time, no extra flags, Unix.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// `DeflateAlterETag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterEtag {
    /// `-gzip` inside the quotes (the default).
    AddSuffix,
    /// The ETag as it is (httpd 2.2's behaviour).
    NoChange,
    /// No ETag on compressed responses.
    Remove,
}

/// Most media types one section's `AddOutputFilterByType` lines may name.
pub const MAX_TYPES: usize = 1024;

/// Which responses go through the `DEFLATE` filter, as one section (or the server) says:
/// mod_filter's `AddOutputFilterByType DEFLATE` and core's `SetOutputFilter DEFLATE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// The media types compressed, lower case; `None`: this level names none (it inherits).
    /// A section's list replaces what it inherits, as mod_filter's merge overlays its
    /// `BYTYPE:DEFLATE` filter with the section's own.
    #[doc(alias = "AddOutputFilterByType")]
    by_type: Option<Vec<String>>,
    /// `SetOutputFilter`: `Some(true)` for `DEFLATE`, whatever the type; a deeper section's
    /// line replaces it.
    #[doc(alias = "SetOutputFilter")]
    set_output: Option<bool>,
}

impl Filters {
    /// Whether no line set anything here.
    pub fn is_empty(&self) -> bool {
        self.by_type.is_none() && self.set_output.is_none()
    }

    /// `add` merged over these: each of its settings replaces the inherited one.
    pub fn merge(&self, add: &Filters) -> Filters {
        Filters {
            by_type: add.by_type.clone().or_else(|| self.by_type.clone()),
            set_output: add.set_output.or(self.set_output),
        }
    }

    /// Apply `AddOutputFilterByType` or `SetOutputFilter` (`name` lowercase); `None` if
    /// `name` is neither.
    pub fn directive(&mut self, name: &str, args: &[&str]) -> Option<Result<(), String>> {
        let r = match name {
            "addoutputfilterbytype" => match args {
                [filters, types @ ..] if !types.is_empty() => only_deflate(name, filters)
                    .and_then(|()| {
                        let list = self.by_type.get_or_insert_with(Vec::new);
                        if list.len() + types.len() > MAX_TYPES {
                            return Err(format!(
                                "more than {MAX_TYPES} types in one section (eventmpm's bound)"
                            ));
                        }
                        list.extend(types.iter().map(|t| t.to_ascii_lowercase()));
                        Ok(())
                    }),
                _ => Err("AddOutputFilterByType requires at least two arguments, output filter name followed by one or more content-types".into()),
            },
            "setoutputfilter" => match args {
                [filters] => only_deflate(name, filters).map(|()| {
                    self.set_output = Some(filters.split(';').any(|f| !f.is_empty()));
                }),
                _ => Err("SetOutputFilter takes one argument, filter (or ; delimited list of filters) to be run on the request content".into()),
            },
            _ => return None,
        };
        Some(r)
    }

    /// Whether responses of `content_type` (parameters aside) are compressed.
    pub fn applies_to(&self, content_type: Option<&str>) -> bool {
        if self.set_output == Some(true) {
            return true;
        }
        let (Some(ct), Some(types)) = (content_type, &self.by_type) else {
            return false;
        };
        let base = ct.split(';').next().unwrap_or(ct).trim();
        types.iter().any(|t| t.eq_ignore_ascii_case(base))
    }
}

/// Refuse a filter list naming anything but `DEFLATE`.
fn only_deflate(name: &str, filters: &str) -> Result<(), String> {
    let directive = if name == "setoutputfilter" {
        "SetOutputFilter"
    } else {
        "AddOutputFilterByType"
    };
    match filters
        .split(';')
        .find(|f| !f.is_empty() && !f.eq_ignore_ascii_case("deflate"))
    {
        Some(f) => Err(format!(
            "{directive} {f}: eventmpm has no such filter (only DEFLATE)"
        )),
        None => Ok(()),
    }
}

/// mod_deflate's own settings, per server (httpd gives them no server merge: a
/// `<VirtualHost>` has its own, httpd's defaults unless it sets them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `DeflateCompressionLevel` (zlib's default, 6, when unset).
    level: u32,
    /// `DeflateBufferSize`: the bytes read and compressed at a time.
    buffer_size: usize,
    /// `DeflateAlterETag`.
    alter_etag: AlterEtag,
    /// `DeflateWindowSize`: the window is 2^this bytes (httpd's default, 15).
    window_bits: u32,
    /// `DeflateMemLevel`: zlib's memory for its hash chains and pending symbols (httpd's
    /// default, 9; zlib's own is 8).
    mem_level: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            level: 6,
            buffer_size: 8096,
            alter_etag: AlterEtag::AddSuffix,
            window_bits: 15,
            mem_level: 9,
        }
    }
}

impl Settings {
    /// Apply one of mod_deflate's directives (`name` lowercase); `None` if `name` is not
    /// one.
    pub fn directive(&mut self, name: &str, args: &[&str]) -> Option<Result<(), String>> {
        let one = |what: &str| -> Result<&str, String> {
            match args {
                [a] => Ok(a),
                _ => Err(format!("{what} takes one argument")),
            }
        };
        let r = match name {
            "deflatecompressionlevel" => {
                one("DeflateCompressionLevel").and_then(|v| match atoi(v) {
                    i @ 1..=9 => {
                        self.level = i as u32;
                        Ok(())
                    }
                    _ => Err("Compression Level must be between 1 and 9".into()),
                })
            }
            "deflatewindowsize" => one("DeflateWindowSize").and_then(|v| match atoi(v) {
                i @ 1..=15 => {
                    self.window_bits = i as u32;
                    Ok(())
                }
                _ => Err("DeflateWindowSize must be between 1 and 15".into()),
            }),
            "deflatememlevel" => one("DeflateMemLevel").and_then(|v| match atoi(v) {
                i @ 1..=9 => {
                    self.mem_level = i as u32;
                    Ok(())
                }
                _ => Err("DeflateMemLevel must be between 1 and 9".into()),
            }),
            "deflatebuffersize" => one("DeflateBufferSize").and_then(|v| {
                match atoi(v) {
                    // Bounded above: it is memory per compressing worker.
                    n if n > 0 => {
                        self.buffer_size = n.min(1 << 20) as usize;
                        Ok(())
                    }
                    _ => Err("DeflateBufferSize should be positive".into()),
                }
            }),
            "deflatealteretag" => one("DeflateAlterEtag").and_then(|v| {
                self.alter_etag = match v.to_ascii_lowercase().as_str() {
                    "nochange" => AlterEtag::NoChange,
                    "addsuffix" => AlterEtag::AddSuffix,
                    "remove" => AlterEtag::Remove,
                    _ => {
                        return Err(
                            "DeflateAlterETAG accepts only 'NoChange', 'AddSuffix', and 'Remove'"
                                .into(),
                        );
                    }
                };
                Ok(())
            }),
            "deflatefilternote"
            | "deflateinflatelimitrequestbody"
            | "deflateinflateratiolimit"
            | "deflateinflateratioburst" => Err(format!(
                "{} is not supported by eventmpm (its gzip compresses responses only)",
                args.first().map_or(name, |_| name)
            )),
            _ => return None,
        };
        Some(r)
    }

    /// The ETag of the compressed response: `None` to send none.
    pub fn etag(&self, etag: &[u8]) -> Option<Vec<u8>> {
        match self.alter_etag {
            AlterEtag::NoChange => Some(etag.to_vec()),
            AlterEtag::Remove => None,
            AlterEtag::AddSuffix => {
                if etag.len() > 2 && etag.ends_with(b"\"") {
                    let mut t = etag[..etag.len() - 1].to_vec();
                    t.extend_from_slice(b"-gzip\"");
                    Some(t)
                } else {
                    Some(etag.to_vec())
                }
            }
        }
    }

    /// gzip `len` bytes read by `read(buffer, offset)` (which fills what it can and says how
    /// much), `DeflateBufferSize` bytes at a time, with httpd's gzip header.
    pub fn compress(
        &self,
        len: u64,
        read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    ) -> std::io::Result<Vec<u8>> {
        self.compress_within(len, usize::MAX, read)
            .map(|c| c.unwrap_or_default())
    }

    /// The `Content-Length` httpd gives the `HEAD` of a compressed response: the compressed
    /// length if its deflate stream fits one `DeflateBufferSize` buffer (httpd then has the
    /// whole body before the head goes out), else none (it has streamed the first buffer
    /// and stops). Compresses no further than that.
    pub fn head_length(
        &self,
        len: u64,
        read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    ) -> std::io::Result<Option<u64>> {
        let limit = GZIP_HEADER.len() + self.buffer_size;
        self.compress_within(len, limit, read)
            .map(|c| c.map(|b| b.len() as u64))
    }

    /// Whether httpd streams a gzip body of `len` bytes (header and trailer included): its
    /// deflate stream passed one `DeflateBufferSize` output buffer, which mod_deflate sends on
    /// when it fills, before the end of the body (the same bound as [`Settings::head_length`]).
    pub fn streams(&self, len: usize) -> bool {
        len.saturating_sub(GZIP_TRAILER) > GZIP_HEADER.len() + self.buffer_size
    }

    /// Whether zlib takes these settings. It refuses a raw deflate window below 2^9
    /// (`DeflateWindowSize` 1 to 8, which httpd accepts): httpd's `deflateInit2` then fails
    /// for every response, which goes out uncompressed (with the `Vary` already set) and is
    /// logged as [`Settings::refusal`] says. eventmpm does the same on both encoders.
    pub fn compresses(&self) -> bool {
        self.window_bits >= 9
    }

    /// httpd's error-log message for a response [`Settings::compresses`] leaves uncompressed
    /// (`uri` as the request gave it). zlib's answer is `Z_STREAM_ERROR`, -2.
    pub fn refusal(&self, uri: &str) -> String {
        format!("AH01383: unable to init Zlib: deflateInit2 returned -2: URL {uri}")
    }

    /// [`Settings::compress`], given up (`None`) once the output passes `limit` bytes before
    /// the trailer.
    fn compress_within(
        &self,
        len: u64,
        limit: usize,
        mut read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    ) -> std::io::Result<Option<Vec<u8>>> {
        let mut out = Vec::with_capacity((len / 3) as usize + 64);
        out.extend_from_slice(&GZIP_HEADER);
        let mut crc = flate2::Crc::new();
        let mut enc = Encoder::new(self.level, self.window_bits, self.mem_level, out)?;
        let mut buf = vec![0u8; self.buffer_size.min(len.max(1) as usize)];
        let mut at = 0u64;
        while at < len {
            let want = buf.len().min((len - at) as usize);
            let n = read(&mut buf[..want], at)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was compressed",
                ));
            }
            crc.update(&buf[..n]);
            enc.write(&buf[..n])?;
            at += n as u64;
            if enc.output_len() > limit {
                return Ok(None);
            }
        }
        let mut out = enc.finish()?;
        if out.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(crc.amount()).to_le_bytes());
        Ok(Some(out))
    }
}

/// Whether a request's `Accept-Encoding` value takes gzip, read as mod_deflate reads it: the
/// first token that is `gzip` (any case), refused by a first parameter `q=0`, `q=0.0`, ….
pub fn accepts_gzip(accept_encoding: Option<&[u8]>) -> bool {
    let Some(v) = accept_encoding else {
        return false;
    };
    let v = String::from_utf8_lossy(v);
    for part in v.split(',') {
        let mut params = part.split(';');
        let token = params.next().unwrap_or("").trim();
        if !token.eq_ignore_ascii_case("gzip") {
            continue;
        }
        return !matches!(
            params.next().map(str::trim),
            Some(q) if q.len() >= 3 && "q=0.000".starts_with(q)
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn set(s: &mut Settings, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        s.directive(&words[0].to_ascii_lowercase(), &words[1..])
            .unwrap()
    }

    #[test]
    fn accept_encoding_as_mod_deflate_reads_it() {
        for (v, yes) in [
            ("gzip", true),
            ("GZIP", true),
            ("deflate, gzip", true),
            ("gzip;q=0.5", true),
            ("br;q=1.0, gzip; q=0.8", true),
            ("gzip;q=0", false),
            ("gzip; q=0.00", false),
            ("x-gzip", false),
            ("identity", false),
            ("*", false),
            ("", false),
        ] {
            assert_eq!(accepts_gzip(Some(v.as_bytes())), yes, "{v:?}");
        }
        assert!(!accepts_gzip(None));
    }

    fn filter(f: &mut Filters, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        f.directive(&words[0].to_ascii_lowercase(), &words[1..])
            .unwrap()
    }

    #[test]
    fn filters_by_type_and_set_output_filter_merge_as_httpd() {
        let mut f = Filters::default();
        filter(&mut f, "AddOutputFilterByType DEFLATE text/html text/plain").unwrap();
        filter(
            &mut f,
            "AddOutputFilterByType DEFLATE application/JavaScript",
        )
        .unwrap();
        assert!(f.applies_to(Some("text/html; charset=UTF-8")));
        assert!(f.applies_to(Some("application/javascript")));
        assert!(!f.applies_to(Some("image/png")));
        assert!(!f.applies_to(None));
        assert!(filter(&mut f, "AddOutputFilterByType INCLUDES text/html").is_err());
        assert!(filter(&mut f, "SetOutputFilter INCLUDES;DEFLATE").is_err());
        // A section's by-type list replaces the inherited one (mod_filter's overlay).
        let mut dir = Filters::default();
        filter(&mut dir, "AddOutputFilterByType DEFLATE text/css").unwrap();
        let merged = f.merge(&dir);
        assert!(merged.applies_to(Some("text/css")));
        assert!(!merged.applies_to(Some("text/html")));
        assert!(f.merge(&Filters::default()).applies_to(Some("text/html")));
        // SetOutputFilter DEFLATE compresses every type, untyped responses too.
        let mut all = Filters::default();
        filter(&mut all, "SetOutputFilter DEFLATE").unwrap();
        let merged = merged.merge(&all);
        assert!(merged.applies_to(Some("image/png")) && merged.applies_to(None));
        assert!(!Filters::default().applies_to(Some("text/html")));
    }

    #[test]
    fn directives_and_etags() {
        let mut s = Settings::default();
        assert!(
            s.directive("addoutputfilterbytype", &["DEFLATE", "a/b"])
                .is_none()
        );
        assert_eq!(
            set(&mut s, "DeflateCompressionLevel 10"),
            Err("Compression Level must be between 1 and 9".into())
        );
        assert_eq!(
            set(&mut s, "DeflateBufferSize 0"),
            Err("DeflateBufferSize should be positive".into())
        );
        assert_eq!(
            set(&mut s, "DeflateWindowSize 16"),
            Err("DeflateWindowSize must be between 1 and 15".into())
        );
        assert_eq!(
            set(&mut s, "DeflateWindowSize x"),
            Err("DeflateWindowSize must be between 1 and 15".into())
        );
        assert_eq!(
            set(&mut s, "DeflateMemLevel 0"),
            Err("DeflateMemLevel must be between 1 and 9".into())
        );
        assert_eq!(
            set(&mut s, "DeflateMemLevel 10"),
            Err("DeflateMemLevel must be between 1 and 9".into())
        );
        assert_eq!(
            set(&mut s, "DeflateMemLevel"),
            Err("DeflateMemLevel takes one argument".into())
        );
        assert_eq!(s, Settings::default(), "a refused line changes nothing");
        // httpd reads the numbers with atoi: trailing junk is ignored.
        set(&mut s, "DeflateMemLevel 8k").unwrap();
        set(&mut s, "DeflateWindowSize 12").unwrap();
        assert_eq!((s.mem_level, s.window_bits), (8, 12));
        assert!(s.compresses());
        // 1 to 8 pass httpd's check, but zlib refuses them for a raw stream.
        set(&mut s, "DeflateWindowSize 8").unwrap();
        assert!(!s.compresses());
        assert_eq!(
            s.refusal("/a b.txt"),
            "AH01383: unable to init Zlib: deflateInit2 returned -2: URL /a b.txt"
        );
        set(&mut s, "DeflateCompressionLevel 9").unwrap();
        assert_eq!(s.etag(b"\"1a-2b\""), Some(b"\"1a-2b-gzip\"".to_vec()));
        assert_eq!(s.etag(b"W/\"1a-2b\""), Some(b"W/\"1a-2b-gzip\"".to_vec()));
        set(&mut s, "DeflateAlterETag Remove").unwrap();
        assert_eq!(s.etag(b"\"1a\""), None);
        assert!(s.directive("addtype", &["a/b", "x"]).is_none());
    }

    #[test]
    fn a_gzip_body_streams_past_one_output_buffer() {
        let s = Settings {
            buffer_size: 1000,
            ..Settings::default()
        };
        // Header (10) + deflate stream + trailer (8): the stream alone is measured.
        assert!(!s.streams(10 + 1000 + 8));
        assert!(s.streams(10 + 1001 + 8));
        assert!(!s.streams(0));
    }

    #[test]
    fn compresses_to_gzip_that_decompresses_to_the_input() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let s = Settings {
            buffer_size: 1000,
            ..Settings::default()
        };
        let reads = std::cell::Cell::new(0);
        let gz = s
            .compress(data.len() as u64, |buf, at| {
                reads.set(reads.get() + 1);
                assert!(buf.len() <= 1000, "reads DeflateBufferSize at a time");
                let at = at as usize;
                let n = buf.len().min(data.len() - at);
                buf[..n].copy_from_slice(&data[at..at + n]);
                Ok(n)
            })
            .unwrap();
        assert!(reads.get() >= data.len() / 1000);
        assert_eq!(&gz[..10], &GZIP_HEADER);
        assert!(gz.len() < data.len() / 2, "{} of {}", gz.len(), data.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        // HEAD: a length only when the deflate stream fits one buffer.
        let read = |buf: &mut [u8], at: u64| {
            let at = at as usize;
            let n = buf.len().min(data.len() - at);
            buf[..n].copy_from_slice(&data[at..at + n]);
            Ok(n)
        };
        assert_eq!(s.head_length(data.len() as u64, read).unwrap(), None);
        let repetitive: Vec<u8> = b"abcdefghij\n".iter().copied().cycle().take(3000).collect();
        let small = &repetitive[..];
        let read_small = |buf: &mut [u8], at: u64| {
            let at = at as usize;
            let n = buf.len().min(small.len() - at);
            buf[..n].copy_from_slice(&small[at..at + n]);
            Ok(n)
        };
        let whole = s.compress(3000, read_small).unwrap();
        assert!(whole.len() < 1000 + 18);
        assert_eq!(
            s.head_length(3000, read_small).unwrap(),
            Some(whole.len() as u64)
        );
        // A file that shrinks is an error, not a short body.
        assert!(s.compress(10, |_, _| Ok(0)).is_err());
    }

    /// Bytes that barely compress (a fixed generator's noise), `len` of them.
    fn noise(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn compression_stops_once_the_output_passes_the_limit() {
        let data = noise(200_000);
        let s = Settings::default();
        let reads = std::cell::Cell::new(0usize);
        let read = |buf: &mut [u8], at: u64| {
            reads.set(reads.get() + 1);
            let at = at as usize;
            let n = buf.len().min(data.len() - at);
            buf[..n].copy_from_slice(&data[at..at + n]);
            Ok(n)
        };
        let whole = s
            .compress_within(200_000, usize::MAX, read)
            .unwrap()
            .unwrap();
        let all_reads = reads.replace(0);
        assert!(whole.len() > 200_000, "noise does not shrink");
        // Given up well before the end: the encoder's output is measured as it grows.
        assert_eq!(s.compress_within(200_000, 30_000, read).unwrap(), None);
        assert!(
            reads.get() < all_reads / 2,
            "{} of {all_reads}",
            reads.get()
        );
        // A limit the whole stream fits is no limit; one byte less is.
        let stream = whole.len() - GZIP_TRAILER;
        assert_eq!(
            s.compress_within(200_000, stream, read).unwrap().as_deref(),
            Some(&whole[..])
        );
        assert_eq!(s.compress_within(200_000, stream - 1, read).unwrap(), None);
    }

    #[test]
    fn the_settings_reach_the_encoder() {
        let data: Vec<u8> = (0..60_000u32)
            .flat_map(|i| format!("{} ", i * 7 % 1000).into_bytes())
            .collect();
        let gz = |s: &Settings| {
            s.compress(data.len() as u64, |buf, at| {
                let at = at as usize;
                let n = buf.len().min(data.len() - at);
                buf[..n].copy_from_slice(&data[at..at + n]);
                Ok(n)
            })
            .unwrap()
        };
        let default = gz(&Settings::default());
        let mut fast = Settings::default();
        set(&mut fast, "DeflateCompressionLevel 1").unwrap();
        assert_ne!(gz(&fast).len(), default.len());
        // The window and memory level reach zlib; miniz_oxide has neither (README).
        let mut small = Settings::default();
        set(&mut small, "DeflateWindowSize 9").unwrap();
        set(&mut small, "DeflateMemLevel 1").unwrap();
        let small = gz(&small);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&small[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        if cfg!(all(
            target_os = "linux",
            target_arch = "x86_64",
            target_env = "gnu"
        )) {
            assert!(
                small.len() > default.len(),
                "{} {}",
                small.len(),
                default.len()
            );
        } else {
            assert_eq!(small, default);
        }
    }
}
