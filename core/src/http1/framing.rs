//! How a request body is delimited: Content-Length, chunked, or no body (RFC 9112 §6.3).
//!
//! Request smuggling lives in the gap between two parsers' framing decisions, so this is strict:
//! every Content-Length and Transfer-Encoding field is read, and anything two implementations
//! could read differently is refused rather than guessed.

use super::token::{list, trim_ows};
use super::{HeadError, Limits, Version};

/// The framing of a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyFraming {
    /// No body: neither Content-Length nor Transfer-Encoding was sent.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows; decode it with [`chunked::Decoder`](super::chunked::Decoder).
    Chunked,
}

/// Collects the framing fields while the head's fields are read, then decides.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FramingFields {
    length: Option<u64>,
    bad_length: bool,
    te_seen: bool,
    /// Codings of all Transfer-Encoding fields in order, as three facts.
    chunked_count: u32,
    last_is_chunked: bool,
    other_coding: bool,
}

impl FramingFields {
    /// One Content-Length field value. A list of identical values (`5, 5`) and repeated fields
    /// with the same value are accepted (RFC 9110 §8.6); any difference is an error.
    pub(crate) fn content_length(&mut self, value: &[u8]) {
        // `split` yields at least one element, so an empty value is refused too.
        for element in value.split(|&b| b == b',') {
            match parse_decimal(trim_ows(element)) {
                Some(n) if self.length.is_none_or(|m| m == n) => self.length = Some(n),
                _ => self.bad_length = true,
            }
        }
    }

    /// One Transfer-Encoding field value; codings accumulate across fields (RFC 9110 §5.3).
    pub(crate) fn transfer_encoding(&mut self, value: &[u8]) {
        self.te_seen = true;
        for coding in list(value) {
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked_count = self.chunked_count.saturating_add(1);
                self.last_is_chunked = true;
            } else {
                // Includes `chunked` with parameters, which RFC 9112 §7 does not define.
                self.other_coding = true;
                self.last_is_chunked = false;
            }
        }
    }

    /// The body framing, or why the head is refused. `LimitRequestBody` is checked separately,
    /// after Host and Expect, in httpd's order.
    pub(crate) fn decide(&self, version: Version) -> Result<BodyFraming, HeadError> {
        if self.te_seen {
            if version == Version::Http10 {
                return Err(HeadError::TransferEncodingInHttp10);
            }
            if self.length.is_some() || self.bad_length {
                return Err(HeadError::LengthAndChunked);
            }
            if !self.last_is_chunked || self.chunked_count != 1 {
                return Err(HeadError::ChunkedNotFinal);
            }
            if self.other_coding {
                return Err(HeadError::UnsupportedTransferCoding);
            }
            return Ok(BodyFraming::Chunked);
        }
        if self.bad_length {
            return Err(HeadError::BadContentLength);
        }
        Ok(self.length.map_or(BodyFraming::None, BodyFraming::Length))
    }
}

impl BodyFraming {
    /// [`HeadError::BodyTooLarge`] if a declared length exceeds `LimitRequestBody`. A chunked
    /// body's size is unknown here; [`chunked::Decoder`](super::chunked::Decoder) enforces the
    /// limit as it decodes.
    pub(crate) fn check_limit(self, limits: &Limits) -> Result<BodyFraming, HeadError> {
        match self {
            BodyFraming::Length(n) if !limits.body_allows(n) => Err(HeadError::BodyTooLarge),
            other => Ok(other),
        }
    }
}

/// `1*DIGIT` as a u64: no sign, no spaces, no overflow (httpd's `ap_parse_strict_length`).
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(cl: &[&[u8]], te: &[&[u8]], version: Version) -> Result<BodyFraming, HeadError> {
        let mut f = FramingFields::default();
        for v in cl {
            f.content_length(v);
        }
        for v in te {
            f.transfer_encoding(v);
        }
        f.decide(version)
            .and_then(|b| b.check_limit(&Limits::default()))
    }
    use Version::{Http10, Http11};

    #[test]
    fn content_length() {
        assert_eq!(decide(&[], &[], Http11), Ok(BodyFraming::None));
        assert_eq!(decide(&[b"0"], &[], Http11), Ok(BodyFraming::Length(0)));
        assert_eq!(decide(&[b"0042"], &[], Http10), Ok(BodyFraming::Length(42)));
        assert_eq!(
            decide(&[b"5", b"5"], &[], Http11),
            Ok(BodyFraming::Length(5))
        );
        assert_eq!(decide(&[b"5, 5"], &[], Http11), Ok(BodyFraming::Length(5)));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 2",
            b"0x10",
            b"1,",
            b"5, 6",
            b"99999999999999999999",
        ] {
            assert_eq!(
                decide(&[bad], &[], Http11),
                Err(HeadError::BadContentLength),
                "{bad:?}"
            );
        }
        assert_eq!(
            decide(&[b"5", b"6"], &[], Http11),
            Err(HeadError::BadContentLength)
        );
        assert_eq!(
            decide(&[b"1073741825"], &[], Http11),
            Err(HeadError::BodyTooLarge)
        );
        assert_eq!(
            decide(&[b"1073741824"], &[], Http11),
            Ok(BodyFraming::Length(1 << 30))
        );
    }

    #[test]
    fn transfer_encoding() {
        assert_eq!(decide(&[], &[b"chunked"], Http11), Ok(BodyFraming::Chunked));
        assert_eq!(decide(&[], &[b"Chunked"], Http11), Ok(BodyFraming::Chunked));
        assert_eq!(
            decide(&[], &[b"gzip", b"chunked"], Http11),
            Err(HeadError::UnsupportedTransferCoding)
        );
        assert_eq!(
            decide(&[], &[b"gzip, chunked"], Http11),
            Err(HeadError::UnsupportedTransferCoding)
        );
        assert_eq!(
            decide(&[], &[b"gzip"], Http11),
            Err(HeadError::ChunkedNotFinal)
        );
        assert_eq!(
            decide(&[], &[b"chunked, gzip"], Http11),
            Err(HeadError::ChunkedNotFinal)
        );
        assert_eq!(
            decide(&[], &[b"chunked", b"chunked"], Http11),
            Err(HeadError::ChunkedNotFinal)
        );
        assert_eq!(
            decide(&[], &[b"chunked;x=1"], Http11),
            Err(HeadError::ChunkedNotFinal)
        );
        assert_eq!(decide(&[], &[b""], Http11), Err(HeadError::ChunkedNotFinal));
        assert_eq!(
            decide(&[], &[b"chunked"], Http10),
            Err(HeadError::TransferEncodingInHttp10)
        );
        assert_eq!(
            decide(&[b"5"], &[b"chunked"], Http11),
            Err(HeadError::LengthAndChunked)
        );
        assert_eq!(
            decide(&[b"x"], &[b"chunked"], Http11),
            Err(HeadError::LengthAndChunked)
        );
    }
}
