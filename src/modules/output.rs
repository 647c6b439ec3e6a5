//! The settings of the modules that shape a response's content — mod_mime's `AddType` and
//! kin, mod_dir's `DirectorySlash`, mod_autoindex, mod_deflate — read from the configuration
//! ([`OutputSettings`], one dispatch from the reader) and fixed for a child's site
//! ([`Output`]).

use std::path::{Path, PathBuf};

use super::{autoindex, deflate};
use crate::mime::{MimeRules, MimeTypes};

/// The per-directory settings of mod_mime (and core's `ForceType`), mod_autoindex and the
/// `DEFLATE` filter's selection: what one section (`<Directory>`, `<Location>`, `<Files>`, a
/// `<VirtualHost>` or the server) says, or, once merged ([`DirOutput::merge`]), what is in
/// force for a directory.
#[derive(Debug, Clone, Default)]
pub struct DirOutput {
    /// `AddType`, `AddCharset`, `AddEncoding`, `AddLanguage`, `DefaultLanguage`,
    /// `Remove*`, `ForceType`.
    pub mime: MimeRules,
    /// mod_autoindex.
    pub autoindex: autoindex::Settings,
    /// `AddOutputFilterByType DEFLATE`, `SetOutputFilter DEFLATE`.
    pub filters: deflate::Filters,
}

impl DirOutput {
    /// Empty settings for a section at `path` (httpd's `cmd->path`; see
    /// [`autoindex::Settings::within`]).
    pub fn within(path: &str) -> DirOutput {
        let mut d = DirOutput::default();
        d.autoindex.within(path);
        d
    }

    /// Whether no line set anything here (such a section changes nothing when merged).
    pub fn is_empty(&self) -> bool {
        self.mime.is_empty() && self.autoindex.is_empty() && self.filters.is_empty()
    }

    /// `add` merged over these, each module by its own rules, where `add` has lines of it.
    pub fn merge(&self, add: &DirOutput) -> DirOutput {
        let mut group = Group::default();
        group.add(add);
        self.over(&group)
    }

    /// `group` merged over these (httpd's merge of one walk's `now_merged` over the request's
    /// configuration so far): each module's merge runs only where the group has lines of it,
    /// as httpd calls a module's merger only where both configurations exist.
    pub fn over(&self, group: &Group) -> DirOutput {
        let mime = group
            .mime
            .as_ref()
            .map_or_else(|| self.mime.clone(), |m| self.mime.merge(m));
        // core's ForceType: the group's deepest, else what the merge left.
        let force_type = group
            .force_type
            .clone()
            .or_else(|| mime.force_type().map(str::to_string));
        DirOutput {
            mime: mime.with_force_type(force_type.as_deref()),
            autoindex: group
                .autoindex
                .as_ref()
                .map_or_else(|| self.autoindex.clone(), |a| self.autoindex.merge(a)),
            filters: group
                .filters
                .as_ref()
                .map_or_else(|| self.filters.clone(), |f| self.filters.merge(f)),
        }
    }

    /// Apply one of these modules' per-directory directives (`name` lowercase); `None` if
    /// `name` is not one.
    pub fn directive(&mut self, name: &str, args: &[&str]) -> Option<Result<(), String>> {
        self.mime
            .directive(name, args)
            .or_else(|| self.autoindex.directive(name, args))
            .or_else(|| self.filters.directive(name, args))
    }

    /// What these settings make of the file `served`: its fields, and whether it is gzipped.
    pub fn typed(&self, types: &MimeTypes, served: &Path) -> Typed {
        let m = types.metadata_under(&self.mime, served);
        Typed {
            // A response already encoded (AddEncoding) is not compressed again.
            deflate: m.encoding.is_none() && self.filters.applies_to(m.content_type.as_deref()),
            content_type: m.content_type.map(Box::from),
            content_encoding: m.encoding.map(Box::from),
            content_language: m.language.map(Box::from),
        }
    }
}

/// The sections one of httpd's walks (`<Directory>`, `<Files>`, `<Location>`) finds, merged
/// among themselves before the result is merged over the request's configuration (httpd's
/// `now_merged`): per module, the first section with lines of it taken as it is, each later one
/// merged over it. The grouping matters where a merge is not associative: `IndexIgnoreReset`
/// and `Remove*` lines hold only in the section that is merged last, and a second section's
/// `IndexOptions +X` makes the group's options replace, not adjust, the inherited ones.
#[derive(Debug, Clone, Default)]
pub struct Group {
    mime: Option<MimeRules>,
    /// core's `ForceType`: merged on its own (every section has core's configuration), the
    /// deepest one winning.
    force_type: Option<String>,
    autoindex: Option<autoindex::Settings>,
    filters: Option<deflate::Filters>,
}

impl Group {
    /// Add the next section the walk found.
    pub fn add(&mut self, s: &DirOutput) {
        fn fold<T: Clone>(acc: &mut Option<T>, add: &T, present: bool, merge: fn(&T, &T) -> T) {
            if present {
                *acc = Some(match acc.take() {
                    None => add.clone(),
                    Some(a) => merge(&a, add),
                });
            }
        }
        fold(
            &mut self.mime,
            &s.mime,
            s.mime.has_mime_lines(),
            MimeRules::merge,
        );
        if let Some(t) = s.mime.force_type() {
            self.force_type = Some(t.to_string());
        }
        fold(
            &mut self.autoindex,
            &s.autoindex,
            !s.autoindex.is_empty(),
            autoindex::Settings::merge,
        );
        fold(
            &mut self.filters,
            &s.filters,
            !s.filters.is_empty(),
            deflate::Filters::merge,
        );
    }

    /// Whether no section added has lines of these modules.
    pub fn is_empty(&self) -> bool {
        self.mime.is_none()
            && self.force_type.is_none()
            && self.autoindex.is_none()
            && self.filters.is_none()
    }
}

/// What mod_mime and the `DEFLATE` filter's selection decide for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    /// The media type; `None` for an unknown extension (no `Content-Type`, as httpd without
    /// DefaultType).
    pub content_type: Option<Box<str>>,
    /// `Content-Encoding` from its extensions (`AddEncoding`), if any.
    pub content_encoding: Option<Box<str>>,
    /// `Content-Language` from its extensions (`AddLanguage`, `DefaultLanguage`), if any.
    pub content_language: Option<Box<str>>,
    /// Its type is one the `DEFLATE` filter takes and it has no encoding of its own: a
    /// candidate for gzip.
    pub deflate: bool,
}

/// The directives of mod_mime, mod_dir (`DirectorySlash`), mod_autoindex and mod_deflate, as
/// read at the main server's level (sections and virtual hosts keep their own
/// [`DirOutput`]).
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// The main server's per-directory lines.
    pub dir: DirOutput,
    /// The host's own lines, merged after `dir` (empty for the main server; set by
    /// [`crate::config::ServerConfig::for_host`]).
    pub host_dir: DirOutput,
    /// mod_deflate's server settings.
    pub deflate: deflate::Settings,
    /// `DirectorySlash` (on by default).
    #[doc(alias = "DirectorySlash")]
    pub directory_slash: bool,
    /// `Options Indexes` per `<Directory>` (absolute path, on or off), in configuration order.
    pub indexes: Vec<(PathBuf, bool)>,
}

impl Default for OutputSettings {
    fn default() -> OutputSettings {
        OutputSettings {
            dir: DirOutput::default(),
            host_dir: DirOutput::default(),
            deflate: deflate::Settings::default(),
            directory_slash: true,
            indexes: Vec::new(),
        }
    }
}

/// Where a line of these modules was read.
#[derive(Debug)]
pub enum Level<'a> {
    /// Directly in the main server or a `<VirtualHost>`: its per-directory defaults and its
    /// mod_deflate settings.
    Server(&'a mut DirOutput, &'a mut deflate::Settings),
    /// In a `<Directory>`, `<Location>` or `<Files>` section.
    Section(&'a mut DirOutput),
}

impl OutputSettings {
    /// Apply `written` (a directive name in any case) if it is one of these modules'
    /// directives, at `level`: `None` if it is not, else the result. `DirectorySlash` is
    /// taken at the main server's level only (eventmpm keeps one value); mod_deflate's own
    /// settings are per server, as in httpd.
    pub fn directive(
        &mut self,
        written: &str,
        args: &[&str],
        level: Option<Level<'_>>,
    ) -> Option<Result<(), String>> {
        let lower = written.to_ascii_lowercase();
        let name = lower.as_str();
        if name == "directoryslash" {
            if level.is_some() {
                return Some(Err(format!(
                    "{written} inside <Directory>, <Location>, <Files> or <VirtualHost> is not supported by eventmpm; set it at server level"
                )));
            }
            return Some(match args {
                [v] if v.eq_ignore_ascii_case("on") => {
                    self.directory_slash = true;
                    Ok(())
                }
                [v] if v.eq_ignore_ascii_case("off") => {
                    self.directory_slash = false;
                    Ok(())
                }
                _ => Err("DirectorySlash must be On or Off".into()),
            });
        }
        match level {
            None => self
                .dir
                .directive(name, args)
                .or_else(|| self.deflate.directive(name, args)),
            Some(Level::Server(dir, deflate)) => dir
                .directive(name, args)
                .or_else(|| deflate.directive(name, args)),
            Some(Level::Section(dir)) => dir.directive(name, args).or_else(|| {
                // mod_deflate's settings are RSRC_CONF: httpd's words for them here.
                deflate::Settings::default()
                    .directive(name, args)
                    .map(|_| Err(format!("{written} not allowed here")))
            }),
        }
    }

    /// Record `Options [+-]Indexes` (`None`: the line does not change it) for the section
    /// of `dir`.
    pub fn set_indexes(&mut self, dir: &Path, on: Option<bool>) {
        if let Some(on) = on {
            self.indexes.push((dir.to_path_buf(), on));
        }
    }
}

/// [`OutputSettings`] fixed for a child: `Options Indexes` by canonical directory, so it
/// holds for whichever host's DocumentRoot the directory is in. (The per-directory settings
/// are each host's: [`crate::site::Host::output_for`].)
#[derive(Debug, Clone)]
pub struct Output {
    /// `DirectorySlash`.
    pub directory_slash: bool,
    /// `Options Indexes` by canonical directory, shorter paths first so that deeper sections
    /// override them.
    indexes: Vec<(PathBuf, bool)>,
}

impl Output {
    /// Fix `settings` for a child.
    pub fn new(settings: &OutputSettings) -> Output {
        let mut indexes: Vec<(PathBuf, bool)> = settings
            .indexes
            .iter()
            .map(|(dir, on)| (dir.canonicalize().unwrap_or_else(|_| dir.clone()), *on))
            .collect();
        // Stable: sections of the same depth keep their order, the later one winning.
        indexes.sort_by_key(|(p, _)| p.components().count());
        Output {
            directory_slash: settings.directory_slash,
            indexes,
        }
    }

    /// Whether `Options Indexes` holds for the directory `dir` (a canonical path beneath a
    /// DocumentRoot). httpd's default is off.
    pub fn indexes(&self, dir: &Path) -> bool {
        let mut on = false;
        for (section, value) in &self.indexes {
            if dir.starts_with(section) {
                on = *value;
            }
        }
        on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_the_deepest_section() {
        let root = std::env::temp_dir().join(format!("eventmpm-output-{}", std::process::id()));
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let root = root.canonicalize().unwrap();
        let mut s = OutputSettings::default();
        s.set_indexes(Path::new("/"), Some(false));
        s.set_indexes(&root, Some(true));
        s.set_indexes(&root.join("a/b"), Some(false));
        s.set_indexes(&root.join("a"), None);
        s.set_indexes(Path::new("/elsewhere"), Some(true));
        let o = Output::new(&s);
        assert!(o.indexes(&root));
        assert!(o.indexes(&root.join("a")));
        assert!(!o.indexes(&root.join("a/b")));
        assert!(!o.indexes(&root.join("a/b/c")));
        assert!(!o.indexes(Path::new("/usr")), "the / section");
        assert!(!Output::new(&OutputSettings::default()).indexes(&root));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn lines_go_to_their_level() {
        let mut s = OutputSettings::default();
        let mut section = DirOutput::default();
        let (mut host, mut host_deflate) = (DirOutput::default(), deflate::Settings::default());
        let set = |s: &mut OutputSettings, line: &str, level: Option<Level<'_>>| {
            let words: Vec<&str> = line.split_whitespace().collect();
            s.directive(words[0], &words[1..], level).unwrap()
        };
        set(
            &mut s,
            "AddType text/x .x",
            Some(Level::Section(&mut section)),
        )
        .unwrap();
        assert!(!section.is_empty() && s.dir.is_empty());
        assert_eq!(
            set(
                &mut s,
                "DeflateCompressionLevel 9",
                Some(Level::Section(&mut section))
            ),
            Err("DeflateCompressionLevel not allowed here".into())
        );
        set(
            &mut s,
            "DeflateCompressionLevel 9",
            Some(Level::Server(&mut host, &mut host_deflate)),
        )
        .unwrap();
        assert_ne!(host_deflate, deflate::Settings::default());
        assert_eq!(s.deflate, deflate::Settings::default());
        set(
            &mut s,
            "IndexOptions FancyIndexing",
            Some(Level::Server(&mut host, &mut host_deflate)),
        )
        .unwrap();
        assert!(!host.is_empty());
        assert!(
            set(
                &mut s,
                "DirectorySlash Off",
                Some(Level::Section(&mut section))
            )
            .is_err()
        );
        set(&mut s, "DirectorySlash Off", None).unwrap();
        assert!(!s.directory_slash);
        set(&mut s, "SetOutputFilter DEFLATE", None).unwrap();
        assert!(!s.dir.is_empty());
        assert!(s.directive("servername", &["x"], None).is_none());
    }

    fn section(lines: &str) -> DirOutput {
        let mut d = DirOutput::within("/srv/www/");
        for line in lines.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            d.directive(&w[0].to_ascii_lowercase(), &w[1..])
                .unwrap()
                .unwrap();
        }
        d
    }

    #[test]
    fn a_walk_merges_its_sections_first_as_httpd() {
        use autoindex::settings::{FANCY_INDEXING, FOLDERS_FIRST, SUPPRESS_SIZE};
        let server = section("IndexOptions FancyIndexing\nIndexIgnore .??*");
        let one = section("IndexOptions +FoldersFirst");
        let two = section("IndexOptions +SuppressSize");
        let grouped = |list: &[&DirOutput]| {
            let mut g = Group::default();
            for s in list {
                g.add(s);
            }
            server.over(&g)
        };
        // One section adjusts the server's options; two sections' adjustments, merged with
        // each other first, replace them (FancyIndexing is gone).
        assert_eq!(
            grouped(&[&one]).autoindex.options(),
            FANCY_INDEXING | FOLDERS_FIRST
        );
        assert_eq!(
            grouped(&[&one, &two]).autoindex.options(),
            FOLDERS_FIRST | SUPPRESS_SIZE
        );
        // IndexIgnoreReset holds only in the section merged last over the inherited list.
        let reset = section("IndexIgnoreReset On\nIndexIgnore *.skip");
        let mime_only = section("AddType text/x-a .a");
        let alone = grouped(&[&mime_only, &reset]).autoindex;
        assert!(!alone.ignored(b"/srv/www/.kept") && alone.ignored(b"/srv/www/a.skip"));
        let after_other = grouped(&[&one, &reset]).autoindex;
        assert!(after_other.ignored(b"/srv/www/.kept"));
        // ForceType is core's: a section with only that has no mod_mime lines, so the other
        // section's RemoveLanguage is still the one merged last, and holds.
        let types = MimeTypes::parse("text/html html\n").unwrap();
        let langs = section("AddLanguage en .en");
        let remove = section("RemoveLanguage .en");
        let force = section("ForceType text/plain");
        let mut g = Group::default();
        g.add(&remove);
        g.add(&force);
        let t = langs.over(&g).typed(&types, Path::new("a.html.en"));
        assert_eq!(t.content_type.as_deref(), Some("text/plain"));
        assert_eq!(t.content_language, None);
        let mut g = Group::default();
        g.add(&remove);
        g.add(&section("AddLanguage de .de"));
        assert_eq!(
            langs
                .over(&g)
                .typed(&types, Path::new("a.html.en"))
                .content_language
                .as_deref(),
            Some("en"),
            "a later mod_mime section drops the earlier one's removes, as httpd's merge"
        );
        // A section without lines of a module leaves it as inherited (its raw options too).
        assert_eq!(
            grouped(&[&mime_only]).autoindex.options(),
            server.autoindex.options()
        );
    }

    #[test]
    fn typed_follows_the_merged_rules() {
        let types = MimeTypes::parse("text/plain txt\nimage/png png\n").unwrap();
        let mut server = DirOutput::default();
        for line in [
            "AddOutputFilterByType DEFLATE text/plain",
            "AddEncoding x-gzip .gz",
        ] {
            let w: Vec<&str> = line.split_whitespace().collect();
            server
                .directive(&w[0].to_ascii_lowercase(), &w[1..])
                .unwrap()
                .unwrap();
        }
        let base = DirOutput::default().merge(&server);
        let t = base.typed(&types, Path::new("a.txt"));
        assert_eq!(t.content_type.as_deref(), Some("text/plain"));
        assert!(t.deflate);
        assert!(
            !base.typed(&types, Path::new("a.txt.gz")).deflate,
            "already encoded"
        );
        assert!(!base.typed(&types, Path::new("a.png")).deflate);
        let mut dir = DirOutput::default();
        dir.directive("setoutputfilter", &["DEFLATE"])
            .unwrap()
            .unwrap();
        dir.directive("forcetype", &["text/x-forced"])
            .unwrap()
            .unwrap();
        let t = base.merge(&dir).typed(&types, Path::new("a.png"));
        assert_eq!(t.content_type.as_deref(), Some("text/x-forced"));
        assert!(t.deflate);
    }
}
