//! A read-only file tree compiled into flash: each file's path, type, validators and bytes,
//! generated from a directory by the board's build script ([`crate::build::file_tree`]).
//!
//! Lookups answer what the Unix server's file system answers: a file, a directory (some file
//! lies below the path), or nothing. Directory rules (the trailing-slash redirect, the index
//! file, 403 without one) are applied by the worker steps as the Unix server applies them.

/// One file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File {
    /// The URL path, `/` followed by the path relative to the tree's root.
    pub path: &'static str,
    /// `Content-Type`, or `None` for an unknown extension (as httpd without DefaultType).
    pub content_type: Option<&'static str>,
    /// The `ETag`, httpd's `FileETag MTime Size` format, made at build time.
    pub etag: &'static str,
    /// Modification time, Unix seconds (`Last-Modified`).
    pub modified: i64,
    /// The contents.
    pub body: &'static [u8],
}

/// What a path names in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A file.
    File(&'static File),
    /// A directory: some file's path continues below this one.
    Directory,
    /// Nothing.
    Missing,
}

/// The tree: files sorted by path (the generator sorts them).
#[derive(Clone, Copy, Debug)]
pub struct Tree {
    files: &'static [File],
}

impl Tree {
    /// A tree over `files`, which must be sorted by path (the generator's output is).
    pub const fn new(files: &'static [File]) -> Tree {
        Tree { files }
    }

    /// The files.
    pub fn files(&self) -> &'static [File] {
        self.files
    }

    /// What the decoded, normalized `path` (starting with `/`) names. A trailing slash asks for a
    /// directory. O(log n).
    pub fn lookup(&self, path: &[u8]) -> Entry {
        let dir = path.ends_with(b"/");
        if !dir && let Ok(i) = self.files.binary_search_by(|f| f.path.as_bytes().cmp(path)) {
            return Entry::File(&self.files[i]);
        }
        // A directory exists if some path starts with `path/`: the first path at or after it
        // in sorted order is the one to look at.
        let i = self.files.partition_point(|f| f.path.as_bytes() < path);
        let below = |f: &File| {
            let p = f.path.as_bytes();
            p.len() > path.len() && p.starts_with(path) && (dir || p[path.len()] == b'/')
        };
        // Paths that share `path` as a prefix but continue with a byte below '/' ('-', '.')
        // sort before `path/`: skip them (bounded by the tree's size).
        for f in self.files[i..]
            .iter()
            .take_while(|f| f.path.as_bytes().starts_with(path))
        {
            if below(f) {
                return Entry::Directory;
            }
        }
        Entry::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn f(path: &'static str) -> File {
        File {
            path,
            content_type: None,
            etag: "\"0-0\"",
            modified: 0,
            body: b"",
        }
    }

    #[test]
    fn files_directories_and_nothing() {
        static FILES: [File; 0] = [];
        let empty = Tree::new(&FILES);
        assert_eq!(empty.lookup(b"/"), Entry::Missing);

        let files: &'static [File] = Box::leak(Box::new([
            f("/1k.txt"),
            f("/a-b/x"),
            f("/a/b/c.txt"),
            f("/a/index.html"),
            f("/index.html"),
        ]));
        let t = Tree::new(files);
        assert!(matches!(t.lookup(b"/1k.txt"), Entry::File(x) if x.path == "/1k.txt"));
        assert_eq!(t.lookup(b"/1k.txt/"), Entry::Missing);
        assert_eq!(t.lookup(b"/a"), Entry::Directory);
        assert_eq!(t.lookup(b"/a/"), Entry::Directory);
        assert_eq!(t.lookup(b"/a/b"), Entry::Directory);
        assert_eq!(t.lookup(b"/a/b/c"), Entry::Missing);
        assert_eq!(t.lookup(b"/a-b"), Entry::Directory);
        assert_eq!(t.lookup(b"/"), Entry::Directory);
        assert_eq!(t.lookup(b"/nope"), Entry::Missing);
        assert_eq!(t.lookup(b"/index.htm"), Entry::Missing);
    }
}
