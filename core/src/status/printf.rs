//! APR's `printf` number conversions, digit for digit.
//!
//! mod_status prints through `apr_snprintf`, whose `%g` is not C's: it drops the leading zero
//! (`.01`), keeps a bare point in exponents (`1.e+5`) and switches to exponent form by its own
//! rule. Scrapers of `?auto` parse those exact strings, so they are reproduced here from APR's
//! algorithm (`apr_cvt`, `apr_gcvt` and the `%f` branch of `apr_vformatter`, APR 1.7): digits are
//! produced by repeated multiplication by ten in `f64`, exactly as the C code does, so the output
//! matches even where it differs from correctly rounded conversion. Tested against libapr.

use core::fmt::{self, Write};

/// APR's digit buffer size (`NDIG`): at most 78 significant digits are produced.
const NDIG: usize = 80;

/// The longest `%g` or `%f` output this module produces: sign, up to 79 digits, point, exponent,
/// and a fraction of at most [`MAX_PRECISION`] digits.
const OUT_LEN: usize = 192;

/// The largest precision callers may ask for (mod_status uses at most 6).
pub(crate) const MAX_PRECISION: usize = 16;

/// `modf`: `(fraction, integer part)`, both with the sign of `x`. Values of 2^52 and beyond
/// (and infinities) have no fraction bits.
fn modf(x: f64) -> (f64, f64) {
    if x.is_nan() {
        (x, x)
    } else if x.abs() >= 4_503_599_627_370_496.0 {
        (0.0, x)
    } else {
        let int = x as i64 as f64;
        (x - int, int)
    }
}

/// The digits of `apr_cvt`: `digits[..len]`, the decimal point position and the sign.
struct Digits {
    buf: [u8; NDIG],
    len: usize,
    decpt: i32,
    negative: bool,
}

impl Digits {
    fn at(&self, i: usize) -> u8 {
        if i < self.len {
            self.buf.get(i).copied().unwrap_or(0)
        } else {
            0
        }
    }
}

/// `apr_cvt(arg, ndigits, &decpt, &sign, eflag, buf)`: `ndigits` significant digits (`eflag`,
/// ecvt) or `ndigits` digits after the point (fcvt), rounded half up on the next digit.
fn cvt(value: f64, ndigits: usize, eflag: bool) -> Digits {
    let ndigits = ndigits.min(NDIG - 2) as isize;
    let mut buf = [0u8; NDIG];
    let mut r2: isize = 0;
    let negative = value < 0.0;
    let (mut arg, mut int) = modf(if negative { -value } else { value });
    let mut p: usize = 0;
    if int != 0.0 {
        // Integer digits, lowest first, into the end of the buffer; at most NDIG of them.
        let mut p1 = NDIG;
        while p1 > 0 && int != 0.0 {
            let (fraction, rest) = modf(int / 10.0);
            int = rest;
            p1 -= 1;
            buf[p1] = b'0'.wrapping_add(((fraction + 0.03) * 10.0) as i32 as u8);
            r2 += 1;
        }
        buf.copy_within(p1.., 0);
        p = NDIG - p1;
    } else if arg > 0.0 {
        // Leading zeros of a pure fraction; at most ~324 steps for the smallest subnormal.
        loop {
            let scaled = arg * 10.0;
            if scaled >= 1.0 {
                break;
            }
            arg = scaled;
            r2 -= 1;
        }
    }
    let mut end = ndigits;
    if !eflag {
        end += r2;
    }
    if end < 0 {
        return Digits {
            buf,
            len: 0,
            decpt: -(ndigits as i32),
            negative,
        };
    }
    let mut decpt = r2 as i32;
    let end = end as usize;
    while p <= end && p < NDIG {
        let (fraction, digit) = modf(arg * 10.0);
        arg = fraction;
        buf[p] = b'0'.wrapping_add(digit as i32 as u8);
        p += 1;
    }
    if end >= NDIG {
        let len = buf[..NDIG - 1]
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NDIG - 1);
        return Digits {
            buf,
            len,
            decpt,
            negative,
        };
    }
    // Round on the digit after the last kept one, carrying leftwards.
    let mut len = end;
    let mut q = end;
    buf[q] = buf[q].wrapping_add(5);
    while buf[q] > b'9' {
        buf[q] = b'0';
        if q > 0 {
            q -= 1;
            buf[q] = buf[q].wrapping_add(1);
        } else {
            buf[q] = b'1';
            decpt += 1;
            if !eflag {
                if len > 0 && len < NDIG {
                    buf[len] = b'0';
                }
                len += 1;
            }
        }
    }
    let len = len.min(NDIG - 1);
    let len = buf[..len].iter().position(|&b| b == 0).unwrap_or(len);
    Digits {
        buf,
        len,
        decpt,
        negative,
    }
}

/// A fixed output buffer; overflow is impossible by [`OUT_LEN`] but is truncated, not a panic.
struct Out {
    buf: [u8; OUT_LEN],
    len: usize,
}

impl Out {
    fn new() -> Out {
        Out {
            buf: [0; OUT_LEN],
            len: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn last(&self) -> Option<u8> {
        self.len
            .checked_sub(1)
            .and_then(|i| self.buf.get(i).copied())
    }

    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        // Every byte pushed is ASCII (digits, '.', 'e', signs; cvt's carry stays below 0x40).
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        match core::str::from_utf8(bytes) {
            Ok(text) => out.write_str(text),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// `%.<precision>g` as `apr_vformatter` prints it (`%g` is precision 6; 0 is read as 1).
pub(crate) fn write_g(out: &mut dyn Write, value: f64, precision: usize) -> fmt::Result {
    let ndigit = precision.clamp(1, MAX_PRECISION);
    let digits = cvt(value, ndigit, true);
    let mut text = Out::new();
    if digits.negative {
        text.push(b'-');
    }
    // Trailing zeros are not significant.
    let mut nd = ndigit as i32;
    let mut i = nd - 1;
    while i > 0 && digits.at(i as usize) == b'0' {
        nd -= 1;
        i -= 1;
    }
    let mut decpt = digits.decpt;
    if (decpt >= 0 && decpt - nd > 4) || decpt < -3 {
        decpt -= 1;
        text.push(digits.at(0));
        text.push(b'.');
        for i in 1..nd {
            text.push(digits.at(i as usize));
        }
        text.push(b'e');
        if decpt < 0 {
            decpt = -decpt;
            text.push(b'-');
        } else {
            text.push(b'+');
        }
        if decpt / 100 > 0 {
            text.push(b'0' + (decpt / 100 % 10) as u8);
        }
        if decpt / 10 > 0 {
            text.push(b'0' + (decpt % 100 / 10) as u8);
        }
        text.push(b'0' + (decpt % 10) as u8);
    } else {
        if decpt <= 0 {
            if digits.at(0) != b'0' {
                text.push(b'.');
            }
            while decpt < 0 {
                decpt += 1;
                text.push(b'0');
            }
        }
        for i in 1..=nd {
            text.push(digits.at(i as usize - 1));
            if i == decpt {
                text.push(b'.');
            }
        }
        if nd < decpt {
            while nd < decpt {
                nd += 1;
                text.push(b'0');
            }
            text.push(b'.');
        }
    }
    if text.last() == Some(b'.') {
        text.len -= 1;
    }
    text.write_to(out)
}

/// `%.<precision>f` as `apr_vformatter` prints it (`nan` and `inf` as APR spells them).
pub(crate) fn write_f(out: &mut dyn Write, value: f64, precision: usize) -> fmt::Result {
    if value.is_nan() {
        return out.write_str("nan");
    }
    if value.is_infinite() {
        // APR prints no sign for either infinity.
        return out.write_str("inf");
    }
    let precision = precision.min(MAX_PRECISION);
    let digits = cvt(value, precision, false);
    let mut text = Out::new();
    if digits.negative {
        text.push(b'-');
    }
    let mut decpt = digits.decpt;
    let mut next = 0usize;
    if decpt <= 0 {
        text.push(b'0');
        if precision > 0 {
            text.push(b'.');
            while decpt < 0 {
                decpt += 1;
                text.push(b'0');
            }
        }
    } else {
        while decpt > 0 {
            decpt -= 1;
            text.push(digits.at(next));
            next += 1;
        }
        if precision > 0 {
            text.push(b'.');
        }
    }
    while next < digits.len {
        text.push(digits.at(next));
        next += 1;
    }
    // (Past 78 significant digits APR copies whatever follows; we stop at the digits.)
    text.write_to(out)
}

/// `%.<precision>g` of a C `float` (mod_status computes its rates in single precision).
pub(crate) fn write_g32(out: &mut dyn Write, value: f32, precision: usize) -> fmt::Result {
    write_g(out, f64::from(value), precision)
}

/// `%.<precision>f` of a C `float`.
pub(crate) fn write_f32(out: &mut dyn Write, value: f32, precision: usize) -> fmt::Result {
    write_f(out, f64::from(value), precision)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn g(v: f64, p: usize) -> String {
        let mut s = String::new();
        write_g(&mut s, v, p).unwrap();
        s
    }

    fn f(v: f64, p: usize) -> String {
        let mut s = String::new();
        write_f(&mut s, v, p).unwrap();
        s
    }

    /// `(value, %g, %.3g, %.2f, %.1f)` printed by libapr 1.7.2's `apr_snprintf` on x86-64
    /// (values given as `f32` were passed as C floats promoted to double).
    const LIBAPR: &[(f64, &str, &str, &str, &str)] = &[
        (0.0, "0", "0", "0.00", "0.0"),
        (0.01f32 as f64, ".01", ".01", "0.01", "0.0"),
        (1331.2f32 as f64, "1331.2", "1330", "1331.20", "1331.2"),
        (20.0, "20", "20", "20.00", "20.0"),
        (26624.0, "26624", "26600", "26624.00", "26624.0"),
        (100000.0, "1.e+5", "1.e+5", "100000.00", "100000.0"),
        (1e6, "1.e+6", "1.e+6", "1000000.00", "1000000.0"),
        (0.55f32 as f64, ".55", ".55", "0.55", "0.6"),
        (0.0001, ".0001", ".0001", "0.00", "0.0"),
        (0.00001, "1.e-5", "1.e-5", "0.00", "0.0"),
        (
            123456789.0,
            "123457000",
            "1.23e+8",
            "123456789.00",
            "123456789.0",
        ),
        (
            1e20,
            "1.e+20",
            "1.e+20",
            "100000000000000000000.00",
            "100000000000000000000.0",
        ),
        (0.6f32 as f64, ".6", ".6", "0.60", "0.6"),
        (0.0286, ".0286", ".0286", "0.03", "0.0"),
    ];

    #[test]
    fn matches_libapr() {
        for &(v, pg, p3g, p2f, p1f) in LIBAPR {
            assert_eq!(g(v, 6), pg, "%g of {v}");
            assert_eq!(g(v, 3), p3g, "%.3g of {v}");
            assert_eq!(f(v, 2), p2f, "%.2f of {v}");
            assert_eq!(f(v, 1), p1f, "%.1f of {v}");
        }
    }

    #[test]
    fn matches_libapr_on_generated_values() {
        const CASES: &[(u64, &str, &str, &str, &str)] = include!("libapr_cases.rs");
        for &(bits, pg, p3g, p2f, p1f) in CASES {
            let v = f64::from_bits(bits);
            assert_eq!(
                (g(v, 6), g(v, 3), f(v, 2), f(v, 1)),
                (pg.into(), p3g.into(), p2f.into(), p1f.into()),
                "{v:e}"
            );
        }
    }

    #[test]
    fn infinity_prints_as_apr_does() {
        // apr_gcvt has no infinity check: its digit loop runs out the buffer.
        assert_eq!(g(f64::INFINITY, 6), "0.e+79");
        assert_eq!(f(f64::INFINITY, 2), "inf");
        assert_eq!(f(-1.0, 2), "-1.00");
        assert_eq!(g(-0.5, 6), "-.5");
    }
}
