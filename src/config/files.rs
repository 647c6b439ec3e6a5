//! `<Files>`, `<Files ~>` and `<FilesMatch>` sections: settings for files by name.
//!
//! The name is the last segment of the request's URL-path (httpd matches the file's name after
//! mapping, which is the same segment for the static files and scripts eventmpm serves, except
//! that a directory's DirectoryIndex file is not matched by its own name).

/// What a `<Files>` section matches.
#[derive(Debug, Clone)]
pub enum FilesPattern {
    /// `<Files pattern>`: shell wildcards (`*`, `?`, `[…]`), the whole name.
    Wildcard(String),
    /// `<Files ~ "re">` or `<FilesMatch "re">`: a regular expression, anywhere in the name.
    Regex(regex::Regex),
}

impl FilesPattern {
    /// Parse a section's argument; `regex`: `<FilesMatch>` or after `~`.
    pub fn parse(arg: &str, regex: bool) -> Result<FilesPattern, String> {
        if regex {
            return regex::Regex::new(arg)
                .map(FilesPattern::Regex)
                .map_err(|e| format!("Regex could not be compiled: {e}"));
        }
        Ok(FilesPattern::Wildcard(arg.to_string()))
    }

    /// Whether a file named `name` (one path segment) is matched.
    pub fn matches(&self, name: &[u8]) -> bool {
        match self {
            FilesPattern::Wildcard(p) => super::include::glob(p.as_bytes(), name),
            FilesPattern::Regex(r) => std::str::from_utf8(name).is_ok_and(|n| r.is_match(n)),
        }
    }
}

/// A `<Files>` section.
#[derive(Debug, Clone)]
pub struct Files {
    /// What it matches.
    pub pattern: FilesPattern,
    /// Its access, authentication, header and variable settings ([`crate::modules`]).
    pub modules: crate::modules::SectionSettings,
    /// Its mod_mime, mod_autoindex and DEFLATE-filter lines.
    pub output: crate::modules::DirOutput,
    /// `SetHandler` inside the section.
    pub handler: Option<super::Handler>,
    /// `AddHandler cgi-script EXT…` inside the section (lowercase, without the dot).
    pub cgi_extensions: Vec<String>,
    /// `RemoveHandler EXT…` inside the section.
    pub cgi_removed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_regexes_match_names() {
        let ht = FilesPattern::parse(r"^\.ht", true).unwrap();
        assert!(ht.matches(b".htaccess") && ht.matches(b".htpasswd"));
        assert!(!ht.matches(b"index.html") && !ht.matches(b"a.htaccess"));
        let w = FilesPattern::parse("*.bak", false).unwrap();
        assert!(w.matches(b"x.bak") && !w.matches(b"x.bak.txt"));
        assert!(
            FilesPattern::parse("(", true)
                .unwrap_err()
                .starts_with("Regex could not")
        );
    }
}
