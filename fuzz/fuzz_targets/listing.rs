//! Directory listings (`modules::autoindex`): arbitrary entry names, sizes and times, any
//! `IndexOptions`, and an arbitrary query string (`?C=…;O=…;F=…;V=…;P=…`).
//!
//! Input: settings (option flags, query length, entry sizes and times), the query string, then
//! the entry names separated by NUL bytes (a `/` in a name is dropped; at most 64 names).
//!
//! Properties:
//! - every listing renders (no panic) and ends the page;
//! - no name reaches an `href` or the page unescaped (`<`, `>`, `"` and spaces never appear
//!   raw inside an `href`);
//! - no more rows than entries and the parent;
//! - the sort is a total order: sorted by name, descending is ascending reversed (names are
//!   distinct), whatever the byte values (natural order with `VersionSort`, case folding with
//!   `IgnoreCase`).
#![no_main]

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use eventmpm::mime::MimeTypes;
use eventmpm::modules::autoindex::{DirEntry, Request, Settings};
use eventmpm_fuzz::Settings as Input;
use libfuzzer_sys::fuzz_target;

const OPTIONS: [&str; 10] = [
    "FancyIndexing",
    "HTMLTable",
    "VersionSort",
    "IgnoreCase",
    "FoldersFirst",
    "SuppressIcon",
    "NameWidth=*",
    "SuppressDescription",
    "XHTML",
    "SuppressColumnSorting",
];

fn hrefs(page: &str) -> Vec<&str> {
    page.split("<a href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect()
}

fn rows(page: &str) -> Vec<&str> {
    hrefs(page)
        .into_iter()
        .filter(|h| !h.starts_with('?'))
        .collect()
}

fuzz_target!(|input: &[u8]| {
    let mut s = Input::new(input);
    let flags = s.u16();
    let query_len = usize::from(s.u8() % 48);
    let seed = s.u64();
    let rest = s.rest();
    let (query, names) = rest.split_at(query_len.min(rest.len()));
    let query = String::from_utf8_lossy(query).into_owned();

    let mut settings = Settings::default();
    let words: Vec<&str> = OPTIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, w)| *w)
        .collect();
    if !words.is_empty() {
        settings
            .directive("indexoptions", &words)
            .expect("an autoindex directive")
            .expect("valid options");
    }
    for line in [
        ["addicon", "/icons/text.gif", ".txt"],
        ["addiconbytype", "(TXT,/icons/t.gif)", "text/*"],
        ["adddescription", "a <b>described</b> &amp; file", "*1*"],
        ["indexignore", ".??*", "*~"],
    ] {
        if flags & 0x400 != 0 {
            settings
                .directive(line[0], &line[1..])
                .expect("an autoindex directive")
                .expect("valid");
        }
    }

    let distinct: BTreeSet<Vec<u8>> = names
        .split(|&b| b == 0)
        .map(|n| n.iter().copied().filter(|&b| b != b'/').collect::<Vec<u8>>())
        .filter(|n| !n.is_empty())
        .take(64)
        .collect();
    let entries: Vec<DirEntry> = distinct
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let x = seed.rotate_left(i as u32 * 7);
            DirEntry {
                name: name.clone(),
                is_dir: x & 1 == 1,
                size: (x >> 8) as i64 % 10_000_000_000,
                mtime: (x >> 16) as i64 % 4_000_000_000_000_000,
            }
        })
        .collect();
    let mime = MimeTypes::built_in();
    let render = |uri: &[u8], query: &str| {
        settings.render(Request {
            uri,
            query: Some(query),
            dir: Path::new("/srv/www/dir"),
            entries: entries.clone(),
            typed: &|name: &[u8]| mime.metadata(Path::new(std::ffi::OsStr::from_bytes(name))),
            utc_offset: 3600,
            header: None,
            readme: None,
        })
    };
    let page = render(b"/dir/", &query);
    let text = String::from_utf8(page.body).expect("a listing is UTF-8");
    assert!(text.ends_with("</body></html>\n"), "{text}");
    for h in hrefs(&text) {
        assert!(
            !h.contains(['<', '>', ' ', '\n']),
            "unescaped href {h:?} in\n{text}"
        );
    }
    assert!(rows(&text).len() <= entries.len() + 1, "{text}");

    // Sorted by name both ways: one the other reversed, the parent first in both.
    let asc = render(b"/dir/", "C=N;O=A");
    let desc = render(b"/dir/", "C=N;O=D");
    let asc = String::from_utf8(asc.body).expect("UTF-8");
    let desc = String::from_utf8(desc.body).expect("UTF-8");
    let (a, d) = (rows(&asc), rows(&desc));
    assert_eq!(a.len(), d.len());
    if flags & (1 << 4) == 0 {
        // Without FoldersFirst, directories sort among the files.
        let (pa, a) = a.split_first().map(|(p, r)| (*p, r.to_vec())).unwrap_or(("", vec![]));
        let (pd, mut d) = d.split_first().map(|(p, r)| (*p, r.to_vec())).unwrap_or(("", vec![]));
        assert_eq!(pa, pd, "the parent comes first");
        d.reverse();
        assert_eq!(a, d, "descending is ascending reversed");
    }
});
