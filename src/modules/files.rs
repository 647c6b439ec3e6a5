//! `<Files>` and `<FilesMatch>` (core): sections for requests whose file name — the last
//! component of the path — matches a wildcard or a regex, at server level or inside a
//! `<Directory>`. They apply after the `<Directory>` sections and before the `<Location>`
//! ones, as httpd's file walk does. Debian's `apache2.conf` denies `.ht*` files with one.

use std::path::PathBuf;

use regex::Regex;

use super::SectionSettings;

/// One `<Files>`/`<FilesMatch>` section.
#[derive(Debug, Clone)]
pub struct FilesSection {
    matcher: Regex,
    /// The `<Directory>` it is nested in (canonical once the site is built), if any.
    pub within: Option<PathBuf>,
    /// Its settings.
    pub modules: SectionSettings,
}

/// A `<Files>` wildcard as a regex: `*` and `?` match within one component, `[…]` is a class.
fn wildcard(glob: &str) -> String {
    let mut re = String::from("^");
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            '[' if !in_class => {
                in_class = true;
                re.push('[');
            }
            ']' if in_class => {
                in_class = false;
                re.push(']');
            }
            '*' if !in_class => re.push_str("[^/]*"),
            '?' if !in_class => re.push_str("[^/]"),
            c if in_class => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

impl FilesSection {
    /// Open a section: `lname` is `files` or `filesmatch`; `<Files ~ "regex">` is the regex form.
    pub fn parse(
        lname: &str,
        args: &[&str],
        within: Option<PathBuf>,
    ) -> Result<FilesSection, String> {
        let pattern = match (lname, args) {
            ("files", ["~", re]) | ("filesmatch", [re]) => re.to_string(),
            ("files", [glob]) => wildcard(glob),
            _ => return Err(format!("<{lname}> takes one argument")),
        };
        let matcher =
            Regex::new(&pattern).map_err(|e| format!("Regex could not be compiled: {e}"))?;
        Ok(FilesSection {
            matcher,
            within,
            modules: SectionSettings::default(),
        })
    }

    /// Whether the section applies to a file named `name` (the path's last component).
    pub fn matches(&self, name: &str) -> bool {
        self.matcher.is_match(name)
    }
}

/// The file name a decoded path names: its last component (empty for a directory URL).
pub fn file_name(path: &[u8]) -> &str {
    let last = path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    std::str::from_utf8(last).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_regexes() {
        let ht = FilesSection::parse("filesmatch", &["^\\.ht"], None).unwrap();
        assert!(ht.matches(".htaccess") && ht.matches(".htpasswd"));
        assert!(!ht.matches("a.htaccess"));
        let star = FilesSection::parse("files", &["*.bak"], None).unwrap();
        assert!(star.matches("x.bak") && !star.matches("x.bak2") && !star.matches("xbak"));
        let q = FilesSection::parse("files", &["secret?.[tc]xt"], None).unwrap();
        assert!(q.matches("secret1.txt") && q.matches("secret2.cxt") && !q.matches("secret.txt"));
        let lit = FilesSection::parse("files", &["a+b.txt"], None).unwrap();
        assert!(lit.matches("a+b.txt") && !lit.matches("aab.txt"));
        let tilde = FilesSection::parse("files", &["~", "\\.(gif|png)$"], None).unwrap();
        assert!(tilde.matches("a.png"));
        assert!(FilesSection::parse("files", &[], None).is_err());
        assert!(FilesSection::parse("filesmatch", &["("], None).is_err());
        assert_eq!(file_name(b"/a/b/.htpasswd"), ".htpasswd");
        assert_eq!(file_name(b"/a/b/"), "");
    }
}
