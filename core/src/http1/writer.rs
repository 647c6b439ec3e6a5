//! A bounded cursor over a caller's output buffer.

use core::fmt;

use crate::decimal;

/// The output buffer cannot hold what had to be written. Nothing useful is left in it; the caller
/// retries with a larger buffer or gives up on the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TooSmall;

impl fmt::Display for TooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output buffer too small")
    }
}

/// Appends to `buf[..]` and fails with [`TooSmall`] instead of writing past its end.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer { buf, len: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), TooSmall> {
        let end = self.len.checked_add(b.len()).ok_or(TooSmall)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(TooSmall)?;
        dst.copy_from_slice(b);
        self.len = end;
        Ok(())
    }

    pub(crate) fn str(&mut self, s: &str) -> Result<(), TooSmall> {
        self.bytes(s.as_bytes())
    }

    pub(crate) fn byte(&mut self, b: u8) -> Result<(), TooSmall> {
        self.bytes(&[b])
    }

    /// `n` in decimal.
    // Inlined: several calls in every response head, each otherwise a prologue and epilogue
    // as long as its work.
    #[inline(always)]
    pub(crate) fn decimal(&mut self, n: u64) -> Result<(), TooSmall> {
        let end = self.len.checked_add(decimal::width(n)).ok_or(TooSmall)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(TooSmall)?;
        decimal::write(n, dst);
        self.len = end;
        Ok(())
    }

    /// The field `name: value` and its CRLF, room checked once.
    // Inlined: several calls in every response head, each otherwise a prologue and epilogue
    // as long as its work.
    #[inline(always)]
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8]) -> Result<(), TooSmall> {
        let total = name
            .len()
            .checked_add(value.len())
            .and_then(|n| n.checked_add(4))
            .ok_or(TooSmall)?;
        let end = self.len.checked_add(total).ok_or(TooSmall)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(TooSmall)?;
        let (n, rest) = dst.split_at_mut(name.len());
        n.copy_from_slice(name);
        let (sep, rest) = rest.split_at_mut(2);
        sep.copy_from_slice(b": ");
        let (v, crlf) = rest.split_at_mut(value.len());
        v.copy_from_slice(value);
        crlf.copy_from_slice(b"\r\n");
        self.len = end;
        Ok(())
    }

    /// `n` in lowercase hexadecimal, no leading zeros.
    pub(crate) fn hex(&mut self, n: u64) -> Result<(), TooSmall> {
        let mut digits = [0u8; 20];
        let start = format_radix(n, 16, &mut digits);
        self.bytes(digits.get(start..).unwrap_or(&[]))
    }

    /// `b` with HTML's special characters escaped (httpd's `ap_escape_html`).
    pub(crate) fn html_escaped(&mut self, b: &[u8]) -> Result<(), TooSmall> {
        for &c in b {
            match c {
                b'<' => self.bytes(b"&lt;")?,
                b'>' => self.bytes(b"&gt;")?,
                b'&' => self.bytes(b"&amp;")?,
                b'"' => self.bytes(b"&quot;")?,
                _ => self.byte(c)?,
            }
        }
        Ok(())
    }
}

/// Writes `n` in `radix` (10 or 16) right-aligned into `out`; returns where the digits start.
fn format_radix(mut n: u64, radix: u64, out: &mut [u8; 20]) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut i = out.len();
    // 20 digits hold u64::MAX in decimal, so the loop ends before `i` reaches 0.
    while i > 0 {
        i -= 1;
        let d = (n % radix) as usize;
        if let (Some(slot), Some(&c)) = (out.get_mut(i), DIGITS.get(d)) {
            *slot = c;
        }
        n /= radix;
        if n == 0 {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_overflow() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.decimal(0).unwrap();
        w.byte(b' ').unwrap();
        w.decimal(u64::MAX).unwrap();
        w.byte(b' ').unwrap();
        w.hex(0x3c).unwrap();
        w.byte(b' ').unwrap();
        w.hex(u64::MAX).unwrap();
        let n = w.len();
        assert_eq!(
            &buf[..n],
            b"0 18446744073709551615 3c ffffffffffffffff".as_slice()
        );

        let mut small = [0u8; 3];
        let mut w = Writer::new(&mut small);
        assert_eq!(w.str("abcd"), Err(TooSmall));
        assert_eq!(w.len(), 0);
        w.str("abc").unwrap();
        assert_eq!(w.byte(b'x'), Err(TooSmall));
    }

    #[test]
    fn decimals_at_every_width() {
        let mut n = 0u64;
        loop {
            for x in [n, n.saturating_sub(1), n.saturating_add(1)] {
                let mut buf = [0u8; 20];
                let mut w = Writer::new(&mut buf);
                w.decimal(x).unwrap();
                let len = w.len();
                let text = core::str::from_utf8(&buf[..len]).unwrap();
                assert_eq!(text.parse::<u64>(), Ok(x));
                assert!(len == 1 || !text.starts_with('0'), "{text}");
                // One byte short of room is refused, and writes nothing past the end.
                let mut short = [0u8; 20];
                let mut w = Writer::new(&mut short[..len - 1]);
                assert_eq!(w.decimal(x), Err(TooSmall));
            }
            if n == 0 {
                n = 1;
            }
            match n.checked_mul(10) {
                Some(m) => n = m,
                None => break,
            }
        }
    }

    #[test]
    fn fields() {
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        w.field(b"ETag", b"\"x\"").unwrap();
        w.field(b"A", b"").unwrap();
        let n = w.len();
        assert_eq!(&buf[..n], b"ETag: \"x\"\r\nA: \r\n".as_slice());
        let mut small = [0u8; 8];
        let mut w = Writer::new(&mut small);
        assert_eq!(w.field(b"Abcd", b"e"), Err(TooSmall));
        assert_eq!(w.len(), 0);
        w.field(b"Ab", b"c").unwrap();
        assert_eq!(w.len(), 7);
    }

    #[test]
    fn escapes_html() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.html_escaped(b"<a&\"b\">").unwrap();
        let n = w.len();
        assert_eq!(&buf[..n], b"&lt;a&amp;&quot;b&quot;&gt;".as_slice());
    }
}
