//! Media types by file extension (mod_mime): a built-in table or a `TypesConfig` file
//! (mime.types format), and the configuration's `AddType`, `AddCharset`, `AddEncoding`,
//! `AddLanguage`, `DefaultLanguage`, `RemoveType` and `ForceType` ([`MimeRules`]).
//!
//! Like httpd (mod_mime with no `DefaultType`), a file whose extension is unknown gets no
//! `Content-Type` header at all rather than a guess. Every extension of a name counts, as
//! httpd reads them: `file.tar.gz` is looked up as `tar`, then `gz`; a later type overrides an
//! earlier one, encodings accumulate, and the part before the first dot is the name, not an
//! extension (`.profile` has none).

use std::collections::HashMap;
use std::path::Path;

/// The built-in table: the types a static site needs, used when no `TypesConfig` is given.
const BUILT_IN: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("xml", "application/xml"),
    ("xhtml", "application/xhtml+xml"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/vnd.microsoft.icon"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("xz", "application/x-xz"),
    ("bz2", "application/x-bzip2"),
    ("7z", "application/x-7z-compressed"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("ogv", "video/ogg"),
    ("mov", "video/quicktime"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("bin", "application/octet-stream"),
    ("exe", "application/octet-stream"),
    ("iso", "application/octet-stream"),
    ("deb", "application/vnd.debian.binary-package"),
    ("rpm", "application/x-rpm"),
    ("sh", "application/x-sh"),
    ("py", "text/x-python"),
    ("c", "text/x-c"),
    ("h", "text/x-c"),
    ("rs", "text/x-rust"),
];

/// An error in a `TypesConfig` file.
#[derive(Debug, PartialEq, Eq)]
pub struct TypesError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Extension → media type, and the configuration's rules over it.
#[derive(Debug, Clone)]
pub struct MimeTypes {
    by_ext: HashMap<String, String>,
    rules: MimeRules,
}

/// What the configuration says about one extension (mod_mime's `extension_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ExtensionInfo {
    /// `AddType`: wins over `TypesConfig`. `Some("")` is `RemoveType`'s mark: the extension
    /// then gives no type at all, not even `TypesConfig`'s (httpd's `find_ct`).
    forced_type: Option<String>,
    /// `AddCharset`.
    charset: Option<String>,
    /// `AddLanguage`.
    language: Option<String>,
    /// `AddEncoding`.
    encoding: Option<String>,
}

/// Which field of [`ExtensionInfo`] a `Remove*` line clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Charset,
    Language,
    Encoding,
}

/// Most `Add*`/`Remove*` extensions one section may name, so a configuration cannot make the
/// per-section tables (copied at every merge, at start-up) unbounded.
pub const MAX_EXTENSIONS: usize = 4096;

/// mod_mime's directives (and core's `ForceType`) as one section (or the server) gives
/// them, or as merged for a directory ([`MimeRules::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MimeRules {
    by_ext: HashMap<String, ExtensionInfo>,
    /// `RemoveCharset`, `RemoveLanguage`, `RemoveEncoding` of this section: httpd applies
    /// them when the section is merged over what it inherits (and to its own `Add*` lines).
    removes: Vec<(String, Field)>,
    /// `DefaultLanguage`: the `Content-Language` of files no extension gives one.
    #[doc(alias = "DefaultLanguage")]
    default_language: Option<String>,
    /// `ForceType`: every file's type, whatever its extensions; `none` lifts an inherited
    /// one.
    #[doc(alias = "ForceType")]
    force_type: Option<String>,
}

/// What mod_mime decides for one file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `Content-Type`, with `; charset=…` when a charset extension applies.
    pub content_type: Option<String>,
    /// `Content-Encoding` (several joined with `, `, in extension order).
    pub encoding: Option<String>,
    /// `Content-Language` (several joined with `, `).
    pub language: Option<String>,
}

impl MimeRules {
    /// Whether no line set anything here.
    pub fn is_empty(&self) -> bool {
        self.by_ext.is_empty()
            && self.removes.is_empty()
            && self.default_language.is_none()
            && self.force_type.is_none()
    }

    /// Whether mod_mime's own lines set anything here (`ForceType` is core's: a section with
    /// only that has no mod_mime configuration for httpd's merges).
    pub fn has_mime_lines(&self) -> bool {
        !self.by_ext.is_empty() || !self.removes.is_empty() || self.default_language.is_some()
    }

    /// `ForceType`, if this level sets it.
    pub fn force_type(&self) -> Option<&str> {
        self.force_type.as_deref()
    }

    /// These rules with `ForceType` set to `force_type`.
    pub fn with_force_type(mut self, force_type: Option<&str>) -> MimeRules {
        self.force_type = force_type.map(str::to_string);
        self
    }

    /// `add` (a section's lines) merged over these (what it inherits), as httpd's
    /// `merge_mime_dir_configs` and core's `ForceType` merge do: `add`'s extension fields
    /// override field by field, then `add`'s `Remove*` lines clear fields of the result,
    /// `DefaultLanguage` and `ForceType` are `add`'s if it sets them.
    pub fn merge(&self, add: &MimeRules) -> MimeRules {
        let mut by_ext = self.by_ext.clone();
        for (ext, info) in &add.by_ext {
            let merged = by_ext.entry(ext.clone()).or_default();
            if info.forced_type.is_some() {
                merged.forced_type.clone_from(&info.forced_type);
            }
            if info.charset.is_some() {
                merged.charset.clone_from(&info.charset);
            }
            if info.language.is_some() {
                merged.language.clone_from(&info.language);
            }
            if info.encoding.is_some() {
                merged.encoding.clone_from(&info.encoding);
            }
        }
        for (ext, field) in &add.removes {
            if let Some(info) = by_ext.get_mut(ext) {
                match field {
                    Field::Charset => info.charset = None,
                    Field::Language => info.language = None,
                    Field::Encoding => info.encoding = None,
                }
            }
        }
        MimeRules {
            by_ext,
            removes: Vec::new(),
            default_language: add
                .default_language
                .clone()
                .or_else(|| self.default_language.clone()),
            force_type: add.force_type.clone().or_else(|| self.force_type.clone()),
        }
    }

    /// Apply one of mod_mime's directives, or `ForceType` (`name` lowercase); `None` if
    /// `name` is not one.
    pub fn directive(&mut self, name: &str, args: &[&str]) -> Option<Result<(), String>> {
        let pairs = |what: &str| -> Result<(&str, &[&str]), String> {
            match args {
                [first, rest @ ..] if !rest.is_empty() => Ok((first, rest)),
                _ => Err(format!("{what} requires at least two arguments")),
            }
        };
        let key = |e: &str| e.trim_start_matches('.').to_ascii_lowercase();
        let full = |n: usize| -> Result<(), String> {
            if n > MAX_EXTENSIONS {
                Err(format!(
                    "more than {MAX_EXTENSIONS} extensions in one section (eventmpm's bound)"
                ))
            } else {
                Ok(())
            }
        };
        let r = match name {
            "addtype" | "addcharset" | "addencoding" | "addlanguage" => {
                let directive = match name {
                    "addtype" => "AddType",
                    "addcharset" => "AddCharset",
                    "addencoding" => "AddEncoding",
                    _ => "AddLanguage",
                };
                pairs(directive).and_then(|(value, exts)| {
                    full(self.by_ext.len() + exts.len())?;
                    // httpd lowercases the value and the extension of every Add* line.
                    let value = value.to_ascii_lowercase();
                    for e in exts {
                        let info = self.by_ext.entry(key(e)).or_default();
                        let value = Some(value.clone());
                        match name {
                            "addtype" => info.forced_type = value,
                            "addcharset" => info.charset = value,
                            "addencoding" => info.encoding = value,
                            _ => info.language = value,
                        }
                    }
                    Ok(())
                })
            }
            "removetype" | "removecharset" | "removeencoding" | "removelanguage" => {
                if args.is_empty() {
                    Err(format!(
                        "{} requires at least 1 argument, one or more file extensions",
                        match name {
                            "removetype" => "RemoveType",
                            "removecharset" => "RemoveCharset",
                            "removeencoding" => "RemoveEncoding",
                            _ => "RemoveLanguage",
                        }
                    ))
                } else {
                    full(self.by_ext.len() + self.removes.len() + args.len()).map(|()| {
                        for e in args {
                            let field = match name {
                                // httpd's RemoveType is an AddType of "" (in line order).
                                "removetype" => {
                                    self.by_ext.entry(key(e)).or_default().forced_type =
                                        Some(String::new());
                                    continue;
                                }
                                "removecharset" => Field::Charset,
                                "removeencoding" => Field::Encoding,
                                _ => Field::Language,
                            };
                            self.removes.push((key(e), field));
                        }
                    })
                }
            }
            "defaultlanguage" => match args {
                [lang] => {
                    self.default_language = Some(lang.to_string());
                    Ok(())
                }
                _ => Err("DefaultLanguage takes one argument, language to use for documents with no other language file extension".into()),
            },
            "forcetype" => match args {
                [ty] => {
                    self.force_type = Some(ty.to_ascii_lowercase());
                    Ok(())
                }
                _ => Err("ForceType takes one argument, a mime type that overrides other configured type".into()),
            },
            _ => return None,
        };
        Some(r)
    }
}

impl Default for MimeTypes {
    fn default() -> MimeTypes {
        MimeTypes::built_in()
    }
}

impl MimeTypes {
    /// The built-in table.
    pub fn built_in() -> MimeTypes {
        let by_ext = BUILT_IN
            .iter()
            .map(|(e, t)| (e.to_string(), t.to_string()))
            .collect();
        MimeTypes {
            by_ext,
            rules: MimeRules::default(),
        }
    }

    /// These types under `rules` (one level of lines, merged over nothing, so that its
    /// `Remove*` lines apply as a section's would).
    pub fn with_rules(self, rules: MimeRules) -> MimeTypes {
        MimeTypes {
            rules: MimeRules::default().merge(&rules),
            ..self
        }
    }

    /// Parse a mime.types file: `type/subtype ext ext …` per line, `#` comments. A later line
    /// overrides an earlier one for the same extension, as in httpd.
    pub fn parse(text: &str) -> Result<MimeTypes, TypesError> {
        let mut by_ext = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(ty) = words.next() else { continue };
            if !valid_type(ty) {
                return Err(TypesError {
                    line: n + 1,
                    message: format!("'{ty}' is not a media type (type/subtype)"),
                });
            }
            for ext in words {
                by_ext.insert(
                    ext.trim_start_matches('.').to_ascii_lowercase(),
                    ty.to_ascii_lowercase(),
                );
            }
        }
        Ok(MimeTypes {
            by_ext,
            rules: MimeRules::default(),
        })
    }

    /// The `Content-Type` for `path`, if any (see [`MimeTypes::metadata`]).
    pub fn lookup(&self, path: &Path) -> Option<String> {
        self.metadata(path).content_type
    }

    /// What mod_mime's `find_ct` decides for the file `path`: each extension of its name in
    /// turn (the part before the first dot, after any leading dots, is the name), its type from
    /// `AddType` or else `TypesConfig`, the last one found winning; the last charset; each
    /// encoding and language in order. `ForceType` overrides the type, `DefaultLanguage` stands
    /// in for no language.
    pub fn metadata(&self, path: &Path) -> Metadata {
        self.metadata_under(&self.rules, path)
    }

    /// [`MimeTypes::metadata`] under `rules` (a directory's merged rules) instead of the
    /// table's own.
    pub fn metadata_under(&self, rules: &MimeRules, path: &Path) -> Metadata {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let start = name.len() - name.trim_start_matches('.').len();
        let exts = match name[start..].find('.') {
            Some(dot) => &name[start + dot + 1..],
            None => "",
        };
        let mut m = Metadata::default();
        let mut ty: Option<&str> = None;
        let mut charset: Option<&str> = None;
        let mut languages: Vec<&str> = Vec::new();
        let mut encodings: Vec<&str> = Vec::new();
        for ext in exts.split('.').filter(|e| !e.is_empty()) {
            let ext = ext.to_ascii_lowercase();
            let info = rules.by_ext.get(&ext);
            match info.and_then(|i| i.forced_type.as_deref()) {
                Some("") => {}
                Some(forced) => ty = Some(forced),
                None => {
                    if let Some(t) = self.by_ext.get(&ext) {
                        ty = Some(t);
                    }
                }
            }
            if let Some(info) = info {
                if let Some(c) = &info.charset {
                    charset = Some(c);
                }
                if let Some(l) = &info.language {
                    languages.push(l);
                }
                if let Some(e) = &info.encoding {
                    encodings.push(e);
                }
            }
        }
        m.content_type = ty.map(|t| match charset {
            // A charset parameter in the type itself is replaced, as httpd does.
            Some(c) => {
                let base = t.split(';').next().unwrap_or(t).trim_end();
                format!("{base}; charset={c}")
            }
            None => t.to_string(),
        });
        // core's ForceType: `none` lifts an inherited one.
        if let Some(forced) = rules.force_type.as_ref().filter(|t| *t != "none") {
            m.content_type = Some(forced.clone());
        }
        if !encodings.is_empty() {
            m.encoding = Some(encodings.join(", "));
        }
        if languages.is_empty() {
            m.language = rules.default_language.clone();
        } else {
            m.language = Some(languages.join(", "));
        }
        m
    }
}

fn valid_type(ty: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(ty.split_once('/'), Some((a, b)) if token(a) && token(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lookup_is_case_insensitive_and_unknown_is_none() {
        let m = MimeTypes::built_in();
        assert_eq!(
            m.lookup(Path::new("/a/index.html")).as_deref(),
            Some("text/html")
        );
        assert_eq!(
            m.lookup(Path::new("PHOTO.JPG")).as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(
            m.lookup(Path::new("archive.tar.gz")).as_deref(),
            Some("application/gzip")
        );
        assert_eq!(m.lookup(Path::new("README")), None);
        assert_eq!(m.lookup(Path::new("x.unknownext")), None);
    }

    #[test]
    fn parses_mime_types_files() {
        let m = MimeTypes::parse(
            "# comment\n\ntext/html\t\thtml htm\napplication/x-foo foo\ntext/plain html\n",
        )
        .unwrap();
        assert_eq!(
            m.lookup(Path::new("a.foo")).as_deref(),
            Some("application/x-foo")
        );
        assert_eq!(m.lookup(Path::new("a.htm")).as_deref(), Some("text/html"));
        assert_eq!(
            m.lookup(Path::new("a.html")).as_deref(),
            Some("text/plain"),
            "later line wins"
        );
        let err = MimeTypes::parse("ok/type a\nnot-a-type b\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn debian_mime_types_parses_if_present() {
        // Debian's /etc/mime.types is the usual TypesConfig; when the machine has it, it must
        // parse cleanly and agree with the built-in table on the basics.
        if let Ok(text) = std::fs::read_to_string("/etc/mime.types") {
            let m = MimeTypes::parse(&text).unwrap();
            assert_eq!(m.lookup(Path::new("x.png")).as_deref(), Some("image/png"));
            assert_eq!(m.lookup(Path::new("x.css")).as_deref(), Some("text/css"));
        }
    }

    fn rules(lines: &[&str]) -> MimeRules {
        let mut r = MimeRules::default();
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let name = words[0].to_ascii_lowercase();
            r.directive(&name, &words[1..]).unwrap().unwrap();
        }
        r
    }

    #[test]
    fn every_extension_counts_as_httpd_reads_them() {
        // Debian's mime.conf over its mime.types (the lines that matter here).
        let types = MimeTypes::parse(
            "application/gzip gz\napplication/x-tar tar\ntext/html html\ntext/plain txt\n",
        )
        .unwrap();
        let m = types.with_rules(rules(&[
            "AddType application/x-gzip .gz .tgz",
            "AddLanguage en .en",
            "AddLanguage fr .fr",
            "AddCharset UTF-8 .utf8",
            "AddEncoding x-compress .Z",
            "AddEncoding x-bzip2 .bz2",
        ]));
        let md = |n: &str| m.metadata(Path::new(n));
        // AddType wins over TypesConfig; the last extension with a type wins.
        assert_eq!(
            md("a.tar.gz").content_type.as_deref(),
            Some("application/x-gzip")
        );
        assert_eq!(
            md("a.gz.tar").content_type.as_deref(),
            Some("application/x-tar")
        );
        // Languages and charsets from other extensions, in any order.
        let page = md("index.html.en");
        assert_eq!(page.content_type.as_deref(), Some("text/html"));
        assert_eq!(page.language.as_deref(), Some("en"));
        assert_eq!(
            md("index.utf8.html").content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(md("a.en.fr.txt").language.as_deref(), Some("en, fr"));
        // Encodings accumulate; the type is the one before them.
        let z = md("a.txt.Z.bz2");
        assert_eq!(z.content_type.as_deref(), Some("text/plain"));
        assert_eq!(z.encoding.as_deref(), Some("x-compress, x-bzip2"));
        // The name is not an extension; empty extensions are skipped.
        assert_eq!(md(".html").content_type, None);
        assert_eq!(md("..html").content_type, None);
        assert_eq!(md("html").content_type, None);
        assert_eq!(md("a..html").content_type.as_deref(), Some("text/html"));
        assert_eq!(md(".x.html").content_type.as_deref(), Some("text/html"));
        // A charset alone gives no type.
        assert_eq!(md("a.utf8").content_type, None);
    }

    #[test]
    fn remove_default_and_force() {
        let types = MimeTypes::parse("text/plain txt\napplication/x-foo es\n").unwrap();
        let m = types.clone().with_rules(rules(&[
            "AddType text/x-es .es",
            "RemoveType es",
            "AddLanguage es .es",
            "DefaultLanguage de",
        ]));
        // RemoveType is httpd's AddType of "": the extension then gives no type, not even
        // TypesConfig's (find_ct skips the table when the extension has a forced type).
        let es = m.metadata(Path::new("a.es"));
        assert_eq!(es.content_type, None);
        assert_eq!(es.language.as_deref(), Some("es"));
        assert_eq!(
            m.metadata(Path::new("a.txt")).language.as_deref(),
            Some("de")
        );
        let forced = types.with_rules(rules(&["ForceType image/gif", "AddCharset UTF-8 .txt"]));
        assert_eq!(
            forced.lookup(Path::new("a.txt")).as_deref(),
            Some("image/gif")
        );
        assert_eq!(
            forced.lookup(Path::new("noext")).as_deref(),
            Some("image/gif")
        );
        let mut r = MimeRules::default();
        assert!(r.directive("addtype", &["text/plain"]).unwrap().is_err());
        assert!(r.directive("forcetype", &[]).unwrap().is_err());
        assert!(r.directive("removetype", &[]).unwrap().is_err());
        assert!(r.directive("directoryindex", &["x"]).is_none());
        r.directive("forcetype", &["None"]).unwrap().unwrap();
        let lifted = MimeTypes::parse("text/plain txt\n")
            .unwrap()
            .with_rules(rules(&["ForceType image/gif"]).merge(&r));
        assert_eq!(
            lifted.lookup(Path::new("a.txt")).as_deref(),
            Some("text/plain"),
            "ForceType None lifts an inherited ForceType"
        );
    }

    #[test]
    fn sections_merge_as_merge_mime_dir_configs() {
        let types = MimeTypes::parse("text/plain txt\ntext/html html\n").unwrap();
        let server = rules(&[
            "AddType text/x-a .a",
            "AddCharset ISO-8859-1 .txt",
            "AddLanguage en .en",
            "AddEncoding x-gzip .gz",
            "DefaultLanguage de",
        ]);
        // A section overrides field by field and keeps what it does not name.
        let dir = rules(&["AddCharset UTF-8 .txt", "AddType text/x-b .a"]);
        let merged = MimeRules::default().merge(&server).merge(&dir);
        let m = |r: &MimeRules, n: &str| types.metadata_under(r, Path::new(n));
        assert_eq!(
            m(&merged, "x.txt").content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(m(&merged, "x.a").content_type.as_deref(), Some("text/x-b"));
        assert_eq!(m(&merged, "x.en").language.as_deref(), Some("en"));
        assert_eq!(m(&merged, "x.html").language.as_deref(), Some("de"));
        // Remove* clear the inherited field and the section's own, whatever the line order.
        let remover = rules(&[
            "RemoveCharset .txt",
            "AddLanguage fr .en",
            "RemoveLanguage en",
            "RemoveEncoding .GZ",
        ]);
        let removed = merged.merge(&remover);
        assert_eq!(
            m(&removed, "x.txt").content_type.as_deref(),
            Some("text/plain")
        );
        assert_eq!(m(&removed, "x.en").language.as_deref(), Some("de"));
        assert_eq!(m(&removed, "x.txt.gz").encoding, None);
        // The server's level is untouched by a section's merge.
        assert_eq!(
            m(&MimeRules::default().merge(&server), "x.txt.gz")
                .encoding
                .as_deref(),
            Some("x-gzip")
        );
        // RemoveType in a section hides the TypesConfig type there only; a deeper AddType
        // gives it one again.
        let no_txt = merged.merge(&rules(&["RemoveType txt"]));
        assert_eq!(m(&no_txt, "x.txt").content_type, None);
        let again = no_txt.merge(&rules(&["AddType text/x-c .txt"]));
        assert_eq!(
            m(&again, "x.txt").content_type.as_deref(),
            Some("text/x-c; charset=utf-8")
        );
        // ForceType: the deeper section's wins.
        let forced = merged
            .merge(&rules(&["ForceType text/x-f"]))
            .merge(&rules(&["ForceType image/png"]));
        assert_eq!(
            m(&forced, "x.txt").content_type.as_deref(),
            Some("image/png")
        );
    }
}
