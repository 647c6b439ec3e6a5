//! Unsigned integers in decimal, written in place: the numbers of every response head
//! (Content-Length, Keep-Alive) and of every access-log line (status, bytes, microseconds,
//! port). `core::fmt` costs several times more, and these are written on every request.

/// Decimal digit pairs "00" to "99": two digits per division.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// How many decimal digits `n` has (1 for 0; at most 20).
#[inline]
pub fn width(n: u64) -> usize {
    // Most numbers written are small (statuses, ports, lengths of small files): a few
    // comparisons answer before the general logarithm.
    match n {
        0..10 => 1,
        10..100 => 2,
        100..1000 => 3,
        1000..10_000 => 4,
        10_000..100_000 => 5,
        _ => n.ilog10() as usize + 1,
    }
}

/// Write `n` in decimal into the whole of `dst`, right-aligned: `dst` must be [`width`]`(n)`
/// bytes long (longer leaves leading bytes unwritten; shorter drops the leading digits).
#[inline]
pub fn write(mut n: u64, dst: &mut [u8]) {
    let mut end = dst.len();
    while n >= 100 && end >= 2 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        if let (Some(d), Some(p)) = (dst.get_mut(end - 2..end), PAIRS.get(pair..pair + 2)) {
            d.copy_from_slice(p);
        }
        end -= 2;
    }
    // Up to two digits left.
    if n >= 10 && end >= 2 {
        let pair = n as usize * 2;
        if let (Some(d), Some(p)) = (dst.get_mut(end - 2..end), PAIRS.get(pair..pair + 2)) {
            d.copy_from_slice(p);
        }
    } else if let Some(d) = end.checked_sub(1).and_then(|i| dst.get_mut(i)) {
        *d = b'0' + (n % 10) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn every_width_and_its_edges() {
        let mut samples = std::vec![
            0u64,
            1,
            9,
            10,
            11,
            99,
            100,
            101,
            999,
            1000,
            65_535,
            u64::MAX
        ];
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10) {
            samples.extend([p - 1, p, p + 1, next - 1]);
            p = next;
        }
        for n in samples {
            let text = n.to_string();
            assert_eq!(width(n), text.len(), "{n}");
            let mut buf = [b'x'; 20];
            write(n, &mut buf[..width(n)]);
            assert_eq!(&buf[..text.len()], text.as_bytes(), "{n}");
            assert!(buf[text.len()..].iter().all(|&b| b == b'x'));
        }
        for n in 0..10_000u64 {
            let mut buf = [0u8; 5];
            let w = width(n);
            write(n, &mut buf[..w]);
            assert_eq!(&buf[..w], n.to_string().as_bytes());
        }
    }

    #[test]
    fn a_short_destination_keeps_the_low_digits() {
        let mut buf = [0u8; 3];
        write(123_456, &mut buf);
        assert_eq!(&buf, b"456");
        write(7, &mut buf[..0]);
        let mut one = [0u8; 1];
        write(42, &mut one);
        assert_eq!(&one, b"2");
    }
}
