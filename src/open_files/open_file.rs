//! One static file, resolved from a URL-path and opened: the descriptor and what answering with
//! it needs (size, times, identity, the path served and its media type), fixed at the open.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventmpm_core::http1::date;
use eventmpm_core::http1::etag::Etag;

use crate::site::{Host, Site};
use crate::sys;

/// An opened static file and its metadata as `fstat` gave them when it was opened. Immutable:
/// shared as `Arc<OpenFile>` by the cache and every response sending it, which must read it
/// with positional I/O only (`pread`, `sendfile` with an offset), never moving the shared
/// file position.
#[doc(alias = "ngx_open_file_info_t")]
#[doc(alias = "ngx_cached_open_file_t")]
#[derive(Debug)]
pub struct OpenFile {
    /// The file, opened read-only, close-on-exec and non-blocking beneath the DocumentRoot
    /// ([`sys::open_beneath`]).
    pub file: File,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time: seconds since the epoch…
    pub mtime: i64,
    /// … and nanoseconds.
    pub mtime_nsec: i64,
    /// Its inode number.
    pub ino: u64,
    /// The device holding it.
    pub dev: u64,
    /// The path served, relative to the DocumentRoot: the request's path, or the
    /// DirectoryIndex file found for a directory. Its extension selects the media type.
    pub served: Box<Path>,
    /// The served file's full path, as the error log and `%f` show it (shared with the
    /// responses that name it, not copied for each).
    pub filename: Arc<str>,
    /// `mtime` as an HTTP-date, for `Last-Modified`, formatted once.
    pub last_modified: [u8; 29],
    /// The strong `ETag` (`FileETag MTime Size`), made once; a request within a second of
    /// `mtime` makes a weak one instead ([`Etag::weak_at`]).
    pub etag: Etag,
    /// Its type, encoding, language and gzip candidacy under the host's per-directory
    /// defaults ([`Host::output`](crate::site::Host::output)), decided once at the open; a
    /// request in a section that changes them types the file again
    /// ([`crate::modules::DirOutput::typed`]).
    pub typed: crate::modules::Typed,
    /// The whole file, for one of at most [`CONTENTS_MAX`] bytes, read once when it was
    /// opened: served from memory, with no read per request (`None` for a larger file, or one
    /// that could not be read whole then). It is as current as the metadata beside it: the
    /// entry is reopened, and read again, when its validity ends.
    pub contents: Option<Box<[u8]>>,
}

/// The largest file whose bytes an [`OpenFile`] keeps: a page. A cache of `OpenFileCache`
/// entries then holds at most that many pages (4 MiB at the default 1024) beside its
/// descriptors — the size class of most of a site's small files (icons, style sheets, scripts),
/// each of which then costs a request no read at all.
pub const CONTENTS_MAX: u64 = 4096;

/// Why a URL-path has no file to serve. The worker turns each into its response.
#[derive(Debug)]
pub enum OpenError {
    /// The open or `fstat` failed: no such file (404), a link leading out of the DocumentRoot
    /// or forbidden by `Options -FollowSymLinks` (403), out of descriptors (503), …
    Io(io::Error),
    /// A directory named without its trailing slash: mod_dir's `DirectorySlash` redirect to
    /// the URL with a `/` appended (301).
    #[doc(alias = "DirectorySlash")]
    DirectoryWithoutSlash,
    /// A directory holding none of the DirectoryIndex files: 403 (no listings are generated).
    NoIndex,
    /// Not a regular file (a FIFO, a socket, a device): refused with 403. The path served,
    /// relative to the DocumentRoot, for the log line.
    NotRegular(PathBuf),
}

impl OpenFile {
    /// Resolve `path` (a decoded, normalised URL-path, as the worker routes on) to a file beneath
    /// the site's DocumentRoot and open it: a directory URL (ending in `/`) resolves to the first
    /// DirectoryIndex file that is a regular file. `follow` is the route's `FollowSymLinks`.
    /// Makes the system calls the cache spares: one open and one `fstat` per name tried (the
    /// directory and its index candidates), and the closes of those not kept.
    pub fn open(
        site: &Site,
        host: &Host,
        path: &[u8],
        follow: bool,
    ) -> Result<OpenFile, OpenError> {
        // Beneath the DocumentRoot, or an Alias's directory.
        let (root_fd, root_path, rel) = host.file_root(path).map_err(OpenError::Io)?;
        let rel: &Path = &rel;
        let open = |rel: &Path| {
            sys::open_beneath(root_fd, root_path, rel, follow)
                .and_then(|f| f.metadata().map(|m| (f, m)))
        };
        let (mut file, mut meta) = open(rel).map_err(OpenError::Io)?;
        let mut served = rel.to_path_buf();
        if meta.is_dir() {
            if !path.ends_with(b"/") {
                return Err(OpenError::DirectoryWithoutSlash);
            }
            // Candidates that cannot be opened or are not regular files are passed over, as
            // mod_dir does; DirectoryIndex is a short list from the configuration.
            let found = host.directory_index.iter().find_map(|index| {
                let candidate = rel.join(index);
                match open(&candidate) {
                    Ok((f, m)) if m.is_file() => Some((f, m, candidate)),
                    _ => None,
                }
            });
            match found {
                Some((f, m, p)) => (file, meta, served) = (f, m, p),
                None => return Err(OpenError::NoIndex),
            }
        }
        if !meta.is_file() {
            return Err(OpenError::NotRegular(served));
        }
        let filename = root_path.join(&served).display().to_string();
        let contents = (meta.len() <= CONTENTS_MAX)
            .then(|| {
                let mut bytes = vec![0u8; meta.len() as usize].into_boxed_slice();
                std::os::unix::fs::FileExt::read_exact_at(&file, &mut bytes, 0)
                    .ok()
                    .map(|()| bytes)
            })
            .flatten();
        let mtime_us =
            meta.mtime().max(0) as u64 * 1_000_000 + meta.mtime_nsec().max(0) as u64 / 1000;
        let typed = host.output.typed(&site.mime, &served);
        Ok(OpenFile {
            last_modified: date::format(meta.mtime()),
            // Made for a request long after the change: the strong tag.
            etag: Etag::for_file(None, meta.len(), mtime_us, u64::MAX),
            contents,
            typed,
            file,
            size: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ino: meta.ino(),
            dev: meta.dev(),
            served: served.into_boxed_path(),
            filename: Arc::from(filename),
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::Options;
    use crate::site::StatusInfo;

    /// A scratch DocumentRoot under the system's temporary directory, removed on drop.
    pub(in crate::open_files) struct Tree(pub PathBuf);

    impl Tree {
        pub fn new(name: &str) -> Tree {
            let dir = std::env::temp_dir()
                .join(format!("eventmpm-open-files-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir.canonicalize().unwrap())
        }

        pub fn write(&self, rel: &str, body: &[u8]) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }

        /// A site serving this tree, with `DirectoryIndex index.html index.txt`.
        pub fn site(&self) -> Site {
            let conf = self.0.join("site.conf");
            std::fs::write(
                &conf,
                format!(
                    "DocumentRoot \"{}\"\nDirectoryIndex index.html index.txt\n",
                    self.0.display()
                ),
            )
            .unwrap();
            let cfg = crate::config::read(&Options {
                file: Some(conf),
                server_root: Some(self.0.clone()),
                ..Options::default()
            })
            .unwrap();
            let status = StatusInfo::for_tests();
            Site::new(&cfg, status).unwrap()
        }

        /// How many of this process's descriptors name something inside the tree.
        pub fn open_descriptors(&self) -> usize {
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.starts_with(&self.0) && target != &self.0)
                .count()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_file_opens_with_its_metadata_and_type() {
        let t = Tree::new("meta");
        t.write("a/page.html", b"hello");
        let site = t.site();
        let f = OpenFile::open(&site, site.main(), b"/a/page.html", true).unwrap();
        assert_eq!(f.size, 5);
        assert_eq!(&*f.served, Path::new("a/page.html"));
        assert_eq!(f.typed.content_type.as_deref(), Some("text/html"));
        assert_eq!(&*f.filename, t.0.join("a/page.html").to_str().unwrap());
        let m = std::fs::metadata(t.0.join("a/page.html")).unwrap();
        assert_eq!((f.ino, f.dev, f.mtime), (m.ino(), m.dev(), m.mtime()));
        let unknown = {
            t.write("blob.unknownext", b"x");
            OpenFile::open(&site, site.main(), b"/blob.unknownext", true).unwrap()
        };
        assert_eq!(unknown.typed.content_type, None);
    }

    #[test]
    fn directories_resolve_to_their_index_or_are_refused() {
        let t = Tree::new("dirs");
        t.write("d/index.txt", b"text index");
        std::fs::create_dir_all(t.0.join("d/index.html")).unwrap(); // not a file: passed over
        std::fs::create_dir_all(t.0.join("empty")).unwrap();
        let site = t.site();
        let f = OpenFile::open(&site, site.main(), b"/d/", true).unwrap();
        assert_eq!(&*f.served, Path::new("d/index.txt"));
        assert_eq!(f.size, 10);
        assert!(matches!(
            OpenFile::open(&site, site.main(), b"/d", true),
            Err(OpenError::DirectoryWithoutSlash)
        ));
        assert!(matches!(
            OpenFile::open(&site, site.main(), b"/empty/", true),
            Err(OpenError::NoIndex)
        ));
        let missing = OpenFile::open(&site, site.main(), b"/nothing.html", true).unwrap_err();
        assert!(
            matches!(&missing, OpenError::Io(e) if e.kind() == io::ErrorKind::NotFound),
            "{missing:?}"
        );
    }

    #[test]
    fn links_out_and_non_regular_files_are_refused() {
        let t = Tree::new("refused");
        t.write("real.txt", b"inside");
        // A file outside the tree, beside it.
        let outside = t.0.with_extension("outside");
        std::fs::write(&outside, b"outside").unwrap();
        std::os::unix::fs::symlink(&outside, t.0.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(t.0.join("real.txt"), t.0.join("in.txt")).unwrap();
        // mkfifo(3) rather than rustix's mkfifoat, which macOS lacks.
        let fifo =
            std::ffi::CString::new(t.0.join("fifo").into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path, read only for the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let site = t.site();
        let out = OpenFile::open(&site, site.main(), b"/out.txt", true).unwrap_err();
        assert!(
            matches!(&out, OpenError::Io(e) if e.kind() == io::ErrorKind::PermissionDenied),
            "{out:?}"
        );
        assert_eq!(
            OpenFile::open(&site, site.main(), b"/in.txt", true)
                .unwrap()
                .size,
            6
        );
        assert!(OpenFile::open(&site, site.main(), b"/in.txt", false).is_err());
        assert!(matches!(
            OpenFile::open(&site, site.main(), b"/fifo", true),
            Err(OpenError::NotRegular(p)) if p == Path::new("fifo")
        ));
        std::fs::remove_file(outside).unwrap();
    }
}
