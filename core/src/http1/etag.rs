//! Entity tags: making one for a file, and matching the lists clients send (RFC 9110 §8.8.3).

use core::fmt;

use super::writer::{TooSmall, Writer};

/// Longest tag [`Etag::for_file`] makes: `W/"` + three 16-digit hex numbers + two dashes + `"`.
pub const ETAG_MAX: usize = 2 + 1 + 16 * 3 + 2 + 1;

/// An entity tag, quotes (and `W/` when weak) included, ready for an `ETag` field.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Etag {
    buf: [u8; ETAG_MAX],
    len: u8,
}

impl Etag {
    /// The tag httpd's `FileETag` makes for a file, so tags survive a switch between httpd and
    /// eventmpm: lowercase hex without leading zeros, dash-separated, `"<size>-<mtime>"` — httpd's
    /// default `FileETag MTime Size` — or `"<inode>-<size>-<mtime>"` when `inode` is given
    /// (`FileETag INode MTime Size`). `mtime_us` is the modification time in microseconds since
    /// the epoch (APR's `apr_time_t`).
    ///
    /// Like httpd, the tag is weak (`W/"..."`) when the file changed less than a second before
    /// the request (`request_time_us`): another change within the same second could keep size
    /// and time and so the tag, which a strong tag must not allow.
    #[doc(alias = "ap_make_etag")]
    #[doc(alias = "FileETag")]
    pub fn for_file(inode: Option<u64>, size: u64, mtime_us: u64, request_time_us: u64) -> Etag {
        let weak = Etag::weak_at(mtime_us, request_time_us);
        let mut buf = [0u8; ETAG_MAX];
        let mut w = Writer::new(&mut buf);
        // ETAG_MAX holds the longest tag, so this cannot fail.
        let _ = write_file_tag(&mut w, weak, inode, size, mtime_us);
        let len = w.len() as u8;
        Etag { buf, len }
    }

    /// Whether a file modified at `mtime_us` gets a weak tag at `request_time_us` (see
    /// [`Etag::for_file`]): a caller keeping a file's strong tag needs a new one only then.
    pub fn weak_at(mtime_us: u64, request_time_us: u64) -> bool {
        request_time_us.saturating_sub(mtime_us) <= 1_000_000
    }

    /// The tag's bytes, e.g. `"3c-660f315800ef0"`.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Whether the tag is weak.
    pub fn is_weak(&self) -> bool {
        self.as_bytes().starts_with(b"W/")
    }
}

impl fmt::Debug for Etag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Etag({})", self.as_bytes().escape_ascii())
    }
}

fn write_file_tag(
    w: &mut Writer<'_>,
    weak: bool,
    inode: Option<u64>,
    size: u64,
    mtime_us: u64,
) -> Result<(), TooSmall> {
    if weak {
        w.bytes(b"W/")?;
    }
    w.byte(b'"')?;
    if let Some(inode) = inode {
        w.hex(inode)?;
        w.byte(b'-')?;
    }
    w.hex(size)?;
    w.byte(b'-')?;
    w.hex(mtime_us)?;
    w.byte(b'"')
}

/// One entity tag split into weakness and opaque part (the quoted string, quotes included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    pub(crate) weak: bool,
    pub(crate) opaque: &'a [u8],
}

impl<'a> Tag<'a> {
    /// Parses a whole value as exactly one entity tag.
    pub(crate) fn parse(value: &'a [u8]) -> Option<Tag<'a>> {
        match parse_one(value) {
            Some((tag, [])) => Some(tag),
            _ => None,
        }
    }

    /// Whether the two tags match under `cmp`.
    pub(crate) fn matches(&self, other: &Tag<'_>, cmp: Comparison) -> bool {
        match cmp {
            Comparison::Strong => !self.weak && !other.weak && self.opaque == other.opaque,
            Comparison::Weak => self.opaque == other.opaque,
        }
    }
}

/// RFC 9110 §8.8.3.2's two ways to compare entity tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// Both strong and the same opaque tag (If-Match, If-Range).
    Strong,
    /// The same opaque tag, weak or not (If-None-Match).
    Weak,
}

/// `[W/] DQUOTE *etagc DQUOTE` at the start of `s`, and what follows it.
fn parse_one(s: &[u8]) -> Option<(Tag<'_>, &[u8])> {
    let (weak, s) = match s.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let after_open = s.strip_prefix(b"\"")?;
    let close = after_open.iter().position(|&b| b == b'"')?;
    let opaque = s.get(..close + 2)?;
    // etagc is %x21 / %x23-7E / obs-text: no controls, spaces or DEL inside the quotes.
    if !opaque
        .get(1..close + 1)?
        .iter()
        .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    Some((Tag { weak, opaque }, s.get(close + 2..)?))
}

/// What an `If-Match` / `If-None-Match` value holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagList<'a> {
    /// `*`: any current representation.
    Any,
    /// A comma-separated list of tags (kept raw; iterate with [`TagList::contains`]).
    Tags(&'a [u8]),
}

impl<'a> TagList<'a> {
    pub(crate) fn parse(value: &'a [u8]) -> TagList<'a> {
        if super::token::trim_ows(value) == b"*" {
            TagList::Any
        } else {
            TagList::Tags(value)
        }
    }

    /// Whether any tag in the list matches `current` under `cmp`. Tags may contain commas, so the
    /// list is walked tag by tag rather than split; a malformed element ends the walk, and what
    /// follows it does not match.
    pub(crate) fn contains(&self, current: &Tag<'_>, cmp: Comparison) -> bool {
        let TagList::Tags(mut rest) = *self else {
            return true;
        };
        // Each round consumes at least one byte (a separator or a tag), so at most len rounds.
        loop {
            rest = skip_separators(rest);
            if rest.is_empty() {
                return false;
            }
            let Some((tag, after)) = parse_one(rest) else {
                return false;
            };
            if tag.matches(current, cmp) {
                return true;
            }
            rest = after;
            if !matches!(rest.first(), None | Some(b',' | b' ' | b'\t')) {
                return false;
            }
        }
    }
}

fn skip_separators(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|&b| !matches!(b, b',' | b' ' | b'\t'))
        .unwrap_or(s.len());
    s.get(n..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    use Comparison::{Strong, Weak};

    const SEC: u64 = 1_000_000;

    #[test]
    fn file_tags_match_httpd() {
        // httpd 2.4.67 sent `ETag: "3c-660f315800ef0"` for a 60-byte file.
        let mtime = 0x0006_60f3_1580_0ef0;
        let t = Etag::for_file(None, 60, mtime, mtime + 5 * SEC);
        assert_eq!(t.as_bytes(), b"\"3c-660f315800ef0\"");
        assert!(!t.is_weak());
        let t = Etag::for_file(Some(0xabc), 0, mtime, mtime + 5 * SEC);
        assert_eq!(t.as_bytes(), b"\"abc-0-660f315800ef0\"");
        let t = Etag::for_file(None, 60, mtime, mtime + SEC / 2);
        assert_eq!(t.as_bytes(), b"W/\"3c-660f315800ef0\"");
        assert!(t.is_weak());
        let t = Etag::for_file(Some(u64::MAX), u64::MAX, u64::MAX, 0);
        assert_eq!(t.as_bytes().len(), ETAG_MAX);
    }

    #[test]
    fn parses_and_compares_tags() {
        let strong = Tag::parse(b"\"abc\"").unwrap();
        let weak = Tag::parse(b"W/\"abc\"").unwrap();
        assert!(strong.matches(&strong, Strong));
        assert!(!strong.matches(&weak, Strong) && !weak.matches(&weak, Strong));
        assert!(strong.matches(&weak, Weak) && weak.matches(&strong, Weak));
        assert!(!strong.matches(&Tag::parse(b"\"abd\"").unwrap(), Weak));
        for bad in [
            &b"abc"[..],
            b"\"abc",
            b"w/\"abc\"",
            b"\"a b\"",
            b"\"abc\"x",
            b"",
        ] {
            assert_eq!(Tag::parse(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn walks_lists() {
        let current = Tag::parse(b"\"b,c\"").unwrap();
        let list = TagList::parse(b"\"a\", W/\"b,c\" ,\"d\"");
        assert!(list.contains(&current, Weak));
        assert!(!list.contains(&current, Strong));
        assert!(TagList::parse(b" * ").contains(&current, Strong));
        assert!(!TagList::parse(b"").contains(&current, Weak));
        assert!(!TagList::parse(b"\"a\" junk, \"b,c\"").contains(&current, Weak));
        assert!(TagList::parse(b",,\"b,c\",,").contains(&current, Strong));
    }
}
