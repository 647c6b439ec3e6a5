//! The settings of the modules that shape a response's content — mod_mime's `AddType` and
//! kin, mod_dir's `DirectorySlash`, mod_autoindex, mod_deflate — read from the configuration
//! ([`OutputSettings`], one dispatch from the reader) and fixed for a child's site
//! ([`Output`]).

use std::path::{Path, PathBuf};

use super::{autoindex, deflate};
use crate::mime::MimeRules;

/// The directives of mod_mime, mod_dir (`DirectorySlash`), mod_autoindex and mod_deflate, as
/// read.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// `AddType`, `AddCharset`, `AddEncoding`, `AddLanguage`, `DefaultLanguage`,
    /// `RemoveType`, `ForceType`.
    pub mime: MimeRules,
    /// mod_autoindex.
    pub autoindex: autoindex::Settings,
    /// mod_deflate.
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
            mime: MimeRules::default(),
            autoindex: autoindex::Settings::default(),
            deflate: deflate::Settings::default(),
            directory_slash: true,
            indexes: Vec::new(),
        }
    }
}

impl OutputSettings {
    /// Apply `written` (a directive name in any case) if it is one of these modules'
    /// directives: `None` if it is not, else the result. `in_section`: the line is inside a
    /// `<Directory>`, `<Location>` or `<VirtualHost>` section, where eventmpm takes none of
    /// them (they are server-wide here).
    pub fn directive(
        &mut self,
        written: &str,
        args: &[&str],
        in_section: bool,
    ) -> Option<Result<(), String>> {
        let lower = written.to_ascii_lowercase();
        let name = lower.as_str();
        let r = if name == "directoryslash" {
            match args {
                [v] if v.eq_ignore_ascii_case("on") => {
                    self.directory_slash = true;
                    Ok(())
                }
                [v] if v.eq_ignore_ascii_case("off") => {
                    self.directory_slash = false;
                    Ok(())
                }
                _ => Err("DirectorySlash must be On or Off".into()),
            }
        } else {
            self.mime
                .directive(name, args)
                .or_else(|| self.autoindex.directive(name, args))
                .or_else(|| self.deflate.directive(name, args))?
        };
        if in_section && r.is_ok() {
            return Some(Err(format!(
                "{written} inside <Directory>, <Location> or <VirtualHost> is not supported by eventmpm; set it at server level"
            )));
        }
        Some(r)
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
/// holds for whichever host's DocumentRoot the directory is in.
#[derive(Debug, Clone)]
pub struct Output {
    /// mod_autoindex.
    pub autoindex: autoindex::Settings,
    /// mod_deflate.
    pub deflate: deflate::Settings,
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
            autoindex: settings.autoindex.clone(),
            deflate: settings.deflate.clone(),
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
    fn section_lines_are_refused_and_others_pass() {
        let mut s = OutputSettings::default();
        assert!(
            s.directive("addtype", &["text/x", ".x"], true)
                .unwrap()
                .is_err()
        );
        assert!(
            s.directive("addtype", &["text/x", ".x"], false)
                .unwrap()
                .is_ok()
        );
        assert!(
            s.directive("directoryslash", &["off"], false)
                .unwrap()
                .is_ok()
        );
        assert!(!s.directory_slash);
        assert!(
            s.directive("indexoptions", &["FancyIndexing"], false)
                .unwrap()
                .is_ok()
        );
        assert!(
            s.directive("deflatebuffersize", &["4096"], false)
                .unwrap()
                .is_ok()
        );
        assert!(s.directive("servername", &["x"], false).is_none());
    }
}
