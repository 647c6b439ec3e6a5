//! Directory listings (mod_autoindex): the page httpd 2.4 generates for a directory that has no
//! DirectoryIndex file where `Options Indexes` allows it, byte for byte — the plain list, the
//! `FancyIndexing` `<pre>` table and the `HTMLTable` one Debian's `autoindex.conf` selects — with
//! its icons, descriptions, `HeaderName`/`ReadmeName` files, `IndexIgnore` patterns and the
//! column sort links and `?C=N;O=D` (also `F=`, `V=`, `P=`) queries.
//!
//! A worker renders a listing, never the listener: it reads a directory and stats every entry.
//! A listing is bounded: at most [`MAX_ENTRIES`] entries are read from a directory; past that
//! the rest are left out (and the error log says so), so a huge directory costs a bounded page.
//!
//! The directives are taken wherever httpd takes them (server, `<VirtualHost>`, `<Directory>`,
//! `<Location>`, `<Files>`) and merged as httpd merges them ([`Settings::merge`]).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

mod render;
pub(crate) mod settings;
mod text;

pub use settings::Settings;
pub use text::{escape_path, strfsize, strnatcmp};

/// The most entries one listing reads from its directory (shown or not).
pub const MAX_ENTRIES: usize = 10_000;

/// The most bytes of a `HeaderName` or `ReadmeName` file included in a listing.
pub const MAX_INSERT: u64 = 256 * 1024;

/// A directory entry as read, before the listing's rules decide on it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// Its name.
    pub name: Vec<u8>,
    /// A directory (after following a symbolic link).
    pub is_dir: bool,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, microseconds since the epoch.
    pub mtime: i64,
}

/// Read up to `limit` ([`MAX_ENTRIES`]) entries of `dir`: directories and regular files, symbolic links
/// followed (as httpd "explodes" them), each passed to `keep` with its name first (access
/// rules, link policy). Also says whether entries were left out.
pub fn read_dir(
    dir: &Path,
    limit: usize,
    mut keep: impl FnMut(&[u8], &std::fs::Metadata, bool) -> bool,
) -> std::io::Result<(Vec<DirEntry>, bool)> {
    let mut out = Vec::new();
    let mut truncated = false;
    // Every entry read counts, kept or not, so a directory of millions costs no more.
    for (read, e) in std::fs::read_dir(dir)?.enumerate() {
        if read >= limit {
            truncated = true;
            break;
        }
        let Ok(e) = e else { continue };
        let name = e.file_name().as_bytes().to_vec();
        let path = e.path();
        let Ok(link) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let is_link = link.file_type().is_symlink();
        // Un-stat-able entries are passed over, as httpd does.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !(meta.is_dir() || meta.is_file()) || !keep(&name, &meta, is_link) {
            continue;
        }
        out.push(DirEntry {
            name,
            is_dir: meta.is_dir(),
            size: meta.len() as i64,
            mtime: meta.mtime() * 1_000_000 + meta.mtime_nsec() / 1000,
        });
    }
    Ok((out, truncated))
}

/// A file a listing includes (`HeaderName`, `ReadmeName`): its media type and contents.
#[derive(Debug, Clone)]
pub struct Insert {
    /// The file's `Content-Type`, without parameters.
    pub content_type: String,
    /// Its bytes (at most [`MAX_INSERT`]).
    pub bytes: Vec<u8>,
}

impl Insert {
    /// Whether httpd includes the file by running a subrequest (an HTML file), whose output
    /// goes through the filters before the listing ends (so httpd streams the listing), rather
    /// than copying it into the page with its buffered writes (a text file, in `<pre>`).
    pub fn is_subrequest(&self) -> bool {
        render::is_html(&self.content_type)
    }
}

/// Everything a listing is made from besides the settings.
pub struct Request<'a> {
    /// The decoded URL-path of the directory, ending in `/`.
    pub uri: &'a [u8],
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The directory's file-system path (absolute, without a trailing slash).
    pub dir: &'a Path,
    /// Its entries.
    pub entries: Vec<DirEntry>,
    /// What mod_mime says of an entry (by name), for the icons: each entry typed under the
    /// sections in force for it, as httpd's subrequest for each entry types it.
    pub typed: &'a dyn Fn(&[u8]) -> crate::mime::Metadata,
    /// Seconds east of UTC for the dates shown.
    pub utc_offset: i64,
    /// The `HeaderName` file, if found.
    pub header: Option<Insert>,
    /// The `ReadmeName` file, if found.
    pub readme: Option<Insert>,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("uri", &self.uri)
            .field("dir", &self.dir)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A rendered listing.
#[derive(Debug)]
pub struct Page {
    /// `Content-Type`.
    pub content_type: String,
    /// The HTML.
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_at_the_limit_and_says_so() {
        let dir = std::env::temp_dir().join(format!("eventmpm-read-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for i in 0..5 {
            std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
        std::os::unix::fs::symlink("/nonexistent", dir.join("dangling")).unwrap();
        let (all, cut) = read_dir(&dir, 100, |_, _, _| true).unwrap();
        assert!(!cut);
        // The dangling link cannot be stat'ed: passed over, as httpd does.
        assert_eq!(all.len(), 6);
        assert_eq!(all.iter().filter(|e| e.is_dir).count(), 1);
        let (some, cut) = read_dir(&dir, 3, |_, _, _| true).unwrap();
        assert!(cut);
        assert!(some.len() <= 3);
        let (kept, _) = read_dir(&dir, 100, |name, _, _| name != b"f0").unwrap();
        assert_eq!(kept.len(), 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
