//! A buffered HTTP/1.1 client for the load-generating tests (the soak, the child kills): one
//! read per socket buffer rather than per byte, responses framed by Content-Length, chunked
//! coding or the end of the connection, every outcome an error string instead of a panic (a
//! load generator counts failures; it does not stop at the first).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bytes a response head may take before the client gives up on it.
const MAX_HEAD: usize = 64 * 1024;

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
    /// The server said `Connection: close` (or answered HTTP/1.0 without keep-alive).
    pub close: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        super::header(&self.head, name)
    }
}

/// A client connection with a read buffer.
#[derive(Debug)]
pub struct Client {
    pub sock: TcpStream,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    at: usize,
}

impl Client {
    /// Connect with `timeout` for the connect and for every read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client, String> {
        let sock =
            TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
        Ok(Client::from_stream(sock, timeout))
    }

    /// Wrap a connected socket.
    pub fn from_stream(sock: TcpStream, timeout: Duration) -> Client {
        let _ = sock.set_read_timeout(Some(timeout));
        let _ = sock.set_write_timeout(Some(timeout));
        let _ = sock.set_nodelay(true);
        Client {
            sock,
            buf: Vec::with_capacity(64 * 1024),
            at: 0,
        }
    }

    /// The client's own port (what the server sees as the peer's).
    pub fn local_port(&self) -> u16 {
        self.sock.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.sock
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// Read more bytes into the buffer; `Ok(false)` at end of stream.
    fn fill(&mut self) -> Result<bool, String> {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
        let mut chunk = [0u8; 32 * 1024];
        match self.sock.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// Take `n` buffered bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.at..self.at + n].to_vec();
        self.at += n;
        out
    }

    /// Read until `n` bytes are buffered.
    fn need(&mut self, n: usize, what: &str) -> Result<(), String> {
        while self.pending().len() < n {
            if !self.fill()? {
                return Err(format!(
                    "connection closed inside {what} ({} of {n} bytes)",
                    self.pending().len()
                ));
            }
        }
        Ok(())
    }

    /// Read one line ending in CRLF (without it).
    fn line(&mut self, what: &str) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.pending().windows(2).position(|w| w == b"\r\n") {
                let l = self.take(i);
                self.at += 2;
                return Ok(l);
            }
            if self.pending().len() > MAX_HEAD {
                return Err(format!("{what}: line too long"));
            }
            if !self.fill()? {
                return Err(format!("connection closed inside {what}"));
            }
        }
    }

    /// Read one response to a request with `method` (a HEAD response has no body).
    pub fn response(&mut self, method: &str) -> Result<Response, String> {
        let end = loop {
            if let Some(i) = self.pending().windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.pending().len() > MAX_HEAD {
                return Err("response head too long".into());
            }
            if !self.fill()? {
                return Err(if self.pending().is_empty() {
                    "connection closed before a response".into()
                } else {
                    "connection closed inside a response head".into()
                });
            }
        };
        let head = String::from_utf8_lossy(&self.take(end)).into_owned();
        let status = super::status_of(head.as_bytes());
        let version_10 = head.starts_with("HTTP/1.0");
        let conn = super::header(&head, "connection").map(|v| v.to_ascii_lowercase());
        let close = conn.as_deref() == Some("close")
            || (version_10 && conn.as_deref() != Some("keep-alive"));
        let no_body = method == "HEAD" || status == 204 || status == 304 || status < 200;
        let body = if no_body {
            Vec::new()
        } else if super::header(&head, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            let mut body = Vec::new();
            loop {
                let size_line = self.line("a chunk size")?;
                let size = std::str::from_utf8(&size_line)
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                    .ok_or_else(|| format!("bad chunk size {size_line:?}"))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    while !self.line("the trailer")?.is_empty() {}
                    break;
                }
                self.need(size + 2, "a chunk")?;
                body.extend_from_slice(&self.take(size));
                self.at += 2;
            }
            body
        } else if let Some(n) = super::header(&head, "content-length") {
            let n: usize = n.parse().map_err(|_| format!("bad Content-Length {n}"))?;
            self.need(n, "a body")?;
            self.take(n)
        } else {
            // Delimited by the end of the connection.
            while self.fill()? {}
            let n = self.pending().len();
            self.take(n)
        };
        Ok(Response {
            status,
            head,
            body,
            close,
        })
    }

    /// Send a GET for `path` (keep-alive) and read its response.
    pub fn get(&mut self, path: &str) -> Result<Response, String> {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())?;
        self.response("GET")
    }
}

/// A small deterministic generator (xorshift64*), so a run can be replayed from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A seed from the clock, or from `var` in the environment when set (printed by callers so a
    /// run can be replayed).
    pub fn seed_from_env(var: &str) -> u64 {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
