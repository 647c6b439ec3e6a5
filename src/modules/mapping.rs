//! Where a request's file lies and which sections apply to it: a ScriptAlias'd or `Alias`ed
//! path maps to its directory, anything else lies beneath the DocumentRoot; the `<Directory>`
//! sections that hold the file, the `<Files>` sections its name matches and the `<Location>`
//! sections its URL-path starts with give the settings in force ([`Host::sections`]), in
//! httpd's merge order.

use std::borrow::Cow;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::output::Group;
use super::{DirOutput, Sections, Typed};
use crate::mime::MimeTypes;
use crate::open_files::OpenFile;
use crate::site::{Host, is_within, relative_path};

impl Host {
    /// Where the file for `path` lies, for `<Directory>` matching: a directory (canonical,
    /// without a trailing `/`) and the path beneath it (without a leading `/`). A ScriptAlias
    /// maps to its directory; anything else lies beneath the DocumentRoot.
    pub fn file_base<'p>(&'p self, path: &'p [u8]) -> (&'p [u8], Cow<'p, [u8]>) {
        if let Some((dir, len)) = self.cgi.script_alias(path) {
            let rest = path.get(len..).unwrap_or(b"");
            let rest = &rest[rest.iter().take_while(|&&b| b == b'/').count()..];
            let dir = dir.as_os_str().as_bytes();
            return (
                &dir[..dir.len() - trailing_slashes(dir)],
                Cow::Borrowed(rest),
            );
        }
        if let Some((i, rel)) = self.alias_for(path) {
            let dir = self.alias_roots[i].0.as_os_str().as_bytes();
            let rel = match rel {
                Cow::Borrowed(p) => Cow::Borrowed(p.as_os_str().as_bytes()),
                Cow::Owned(p) => Cow::Owned(p.into_os_string().into_vec()),
            };
            return (&dir[..dir.len() - trailing_slashes(dir)], rel);
        }
        let root = self.document_root.as_os_str().as_bytes();
        (
            &root[..root.len() - trailing_slashes(root)],
            Cow::Borrowed(path.strip_prefix(b"/").unwrap_or(path)),
        )
    }

    /// The `Alias` that maps `path`, by index into [`Host::alias_roots`], and the file's path
    /// relative to that alias's directory.
    pub fn alias_for<'p>(&'p self, path: &'p [u8]) -> Option<(usize, Cow<'p, Path>)> {
        if self.modules.aliases.is_empty() {
            return None;
        }
        let uri = std::str::from_utf8(path).ok()?;
        self.modules
            .aliases
            .iter()
            .enumerate()
            .find_map(|(i, a)| a.apply(uri).map(|target| (i, a, target)))
            .map(|(i, a, target)| {
                // The target lies beneath the alias's fixed directory (the decoded path holds
                // no `..`); what follows it is opened beneath that directory's descriptor.
                let root = a.root();
                let rel = target
                    .strip_prefix(root)
                    .unwrap_or("")
                    .trim_start_matches('/');
                (i, Cow::Owned(PathBuf::from(rel)))
            })
    }

    /// The directory a URL-path's file is opened beneath (descriptor and path) and the file's
    /// path relative to it: an `Alias`'s directory, else the DocumentRoot.
    pub fn file_root<'p>(
        &'p self,
        path: &'p [u8],
    ) -> io::Result<(&'p OwnedFd, &'p Path, Cow<'p, Path>)> {
        match self.alias_for(path) {
            Some((i, rel)) => match &self.alias_roots[i] {
                (dir, Some(fd)) => Ok((fd, dir.as_path(), rel)),
                (_, None) => Err(io::Error::from(io::ErrorKind::NotFound)),
            },
            None => match &self.root_fd {
                Some(fd) => Ok((
                    fd,
                    self.document_root.as_path(),
                    Cow::Borrowed(relative_path(path)),
                )),
                // A DocumentRoot that does not exist: its files are 404s.
                None => Err(io::Error::from(io::ErrorKind::NotFound)),
            },
        }
    }

    /// The sections of [`crate::modules`] in force for `path`, in merge order: the server's
    /// defaults, the `<Directory>` sections that hold its file (shortest first), the `<Files>`
    /// sections its file name matches (in configuration order), the `<Location>` sections that
    /// match it (in configuration order).
    pub fn sections<'a>(&'a self, path: &'a [u8]) -> impl Sections<'a> + 'a {
        let (base, rest) = self.file_base(path);
        // <Files> match the last segment of the URL-path.
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        // Sections that set nothing here change nothing when merged: they are passed over.
        std::iter::once(&self.modules.section)
            .chain(std::iter::once(&self.modules.host_section))
            .filter(|s| !s.is_empty())
            .chain(
                self.directories
                    .iter()
                    .filter(move |d| {
                        d.active && dir_applies(d.path.as_os_str().as_bytes(), base, &rest)
                    })
                    .map(|d| &d.modules),
            )
            .chain(
                self.files
                    .iter()
                    .filter(move |(pattern, _)| pattern.matches(name))
                    .map(|(_, m)| m),
            )
            .chain(
                self.module_locations
                    .iter()
                    .filter(move |(prefix, _)| path.starts_with(prefix.as_bytes()))
                    .map(|(_, m)| m),
            )
    }
}

impl Host {
    /// The mod_mime, mod_autoindex and DEFLATE-filter settings in force for `path`: the
    /// deepest `<Directory>` section that holds its file and sets them (merged with those
    /// above it at start-up), else the host's defaults; then the `<Files>` and `<Location>`
    /// sections that match and set them, merged here. A request in no such section borrows
    /// the host's defaults and does no work.
    pub fn output_for<'a>(&'a self, path: &[u8]) -> Cow<'a, DirOutput> {
        if !self.output_sections {
            return Cow::Borrowed(&self.output);
        }
        self.later_sections(self.dir_output(path).0, path)
    }

    /// What mod_mime and the DEFLATE filter's selection make of `file` at `path`: the open-file
    /// cache's typing when the sections in force type files as the host's defaults do (the
    /// common case, no work), else typed again under them.
    pub fn typed_for<'f>(
        &self,
        types: &MimeTypes,
        path: &[u8],
        file: &'f OpenFile,
    ) -> Cow<'f, Typed> {
        if !self.output_sections {
            return Cow::Borrowed(&file.typed);
        }
        let (dir, same_types) = self.dir_output(path);
        match self.later_sections(dir, path) {
            Cow::Borrowed(_) if same_types => Cow::Borrowed(&file.typed),
            out => Cow::Owned(out.typed(types, &file.served)),
        }
    }

    /// The deepest `<Directory>` section with settings that holds `path`'s file, resolved at
    /// start-up, else the host's defaults; and whether it types files as those do.
    fn dir_output(&self, path: &[u8]) -> (&DirOutput, bool) {
        let (base, rest) = self.file_base(path);
        self.directories
            .iter()
            .rev()
            .find_map(|d| {
                d.output
                    .as_ref()
                    .filter(|_| dir_applies(d.path.as_os_str().as_bytes(), base, &rest))
                    .map(|o| (o, d.same_types))
            })
            .unwrap_or((&self.output, true))
    }

    /// `dir` with the `<Files>` and `<Location>` sections that match `path` merged over it.
    fn later_sections<'a>(&'a self, dir: &'a DirOutput, path: &[u8]) -> Cow<'a, DirOutput> {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        // httpd's file walk, then its location walk, each merged over what came before.
        let mut files = Group::default();
        for (_, o) in self.output_files.iter().filter(|(p, _)| p.matches(name)) {
            files.add(o);
        }
        let mut locations = Group::default();
        for (_, o) in self
            .output_locations
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_bytes()))
        {
            locations.add(o);
        }
        let mut out = Cow::Borrowed(dir);
        for group in [files, locations] {
            if !group.is_empty() {
                out = Cow::Owned(out.over(&group));
            }
        }
        out
    }
}

/// How many `/` end `p` (all but a lone root's would be trimmed; the root becomes empty).
pub fn trailing_slashes(p: &[u8]) -> usize {
    p.iter().rev().take_while(|&&b| b == b'/').count()
}

/// Whether the directory `dir` (absolute, without a trailing `/`; the root is empty) holds
/// the file `base/rest` (`base` likewise, `rest` relative): compared as bytes, component by
/// component, without building the path.
pub fn dir_applies(dir: &[u8], base: &[u8], rest: &[u8]) -> bool {
    if dir.len() <= base.len() {
        return base.starts_with(dir) && (base.len() == dir.len() || base[dir.len()] == b'/');
    }
    dir.starts_with(base) && dir[base.len()] == b'/' && is_within(rest, &dir[base.len() + 1..])
}

#[cfg(test)]
mod tests {
    use super::dir_applies;

    #[test]
    fn directories_hold_files_beneath_them_only() {
        assert!(dir_applies(b"", b"/srv/www", b"a/b"), "/ holds everything");
        assert!(dir_applies(b"/srv", b"/srv/www", b"a"));
        assert!(dir_applies(b"/srv/www", b"/srv/www", b""));
        assert!(dir_applies(b"/srv/www/a", b"/srv/www", b"a/b.txt"));
        assert!(dir_applies(b"/srv/www/a", b"/srv/www", b"a"));
        assert!(!dir_applies(b"/srv/www/a", b"/srv/www", b"ab"));
        assert!(!dir_applies(b"/srv/ww", b"/srv/www", b"a"));
        assert!(!dir_applies(
            b"/usr/lib/cgi-bin",
            b"/srv/www",
            b"usr/lib/cgi-bin"
        ));
        assert!(!dir_applies(b"/srv/www/a", b"/srv/www", b""));
    }

    #[test]
    fn files_are_typed_again_only_under_sections_that_type_otherwise() {
        use crate::config::Options;
        use crate::open_files::OpenFile;
        use crate::site::{Site, StatusInfo};
        use std::borrow::Cow;
        let root = std::env::temp_dir().join(format!("eventmpm-typed-for-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for f in ["a.txt", "sub/b.txt", "idx/c.txt", "sub/d.png"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"0123456789").unwrap();
        }
        let root = root.canonicalize().unwrap();
        let conf = root.join("t.conf");
        let r = root.display();
        std::fs::write(
            &conf,
            format!(
                "DocumentRoot \"{r}\"\nAddType text/plain .txt\n\
                 <Directory \"{r}/sub\">\n  AddType text/x-sub .txt\n</Directory>\n\
                 <Directory \"{r}/idx\">\n  IndexOptions +FoldersFirst\n</Directory>\n\
                 <Files \"*.png\">\n  ForceType image/x-forced\n</Files>\n"
            ),
        )
        .unwrap();
        let cfg = crate::config::read(&Options {
            file: Some(conf),
            server_root: Some(root.clone()),
            ..Options::default()
        })
        .unwrap();
        let status = StatusInfo::for_tests();
        let site = Site::new(&cfg, status).unwrap();
        let host = site.main();
        let typed = |path: &str| {
            let file = OpenFile::open(&site, host, path.as_bytes(), true).unwrap();
            let t = host.typed_for(&site.mime, path.as_bytes(), &file);
            (
                matches!(t, Cow::Borrowed(_)),
                t.content_type.as_deref().map(String::from),
            )
        };
        assert_eq!(typed("/a.txt"), (true, Some("text/plain".into())));
        assert_eq!(typed("/sub/b.txt"), (false, Some("text/x-sub".into())));
        assert_eq!(
            typed("/idx/c.txt"),
            (true, Some("text/plain".into())),
            "a section of listing settings only keeps the cached typing"
        );
        assert_eq!(typed("/sub/d.png"), (false, Some("image/x-forced".into())));
        let _ = std::fs::remove_dir_all(&root);
    }
}
