//! mod_authz_groupfile: `AuthGroupFile` and `Require group`. The file holds lines
//! `group: user user …` (a group may have several lines); like the user file it is read with
//! the configuration.

use std::collections::HashMap;
use std::path::Path;

/// The groups of one `AuthGroupFile`: each group's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFile {
    groups: HashMap<String, Vec<String>>,
}

impl GroupFile {
    /// Read a group file.
    pub fn read(path: &Path) -> Result<GroupFile, String> {
        super::list_file::read(path, "group").map(|text| GroupFile::parse(&text))
    }

    /// Parse group-file text as httpd's `groups_for_user` reads it: `#` comments and empty
    /// lines skipped, the name before the first `:` (trailing spaces trimmed), members
    /// separated by white space.
    pub fn parse(text: &str) -> GroupFile {
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, members) = line.split_once(':').unwrap_or((line, ""));
            groups
                .entry(name.trim_end().to_string())
                .or_default()
                .extend(members.split_whitespace().map(str::to_string));
        }
        GroupFile { groups }
    }

    /// Whether `user` is a member of `group`.
    pub fn is_member(&self, user: &str, group: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|m| m.iter().any(|u| u == user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let g = GroupFile::parse("# staff\nadmins: ann bob\nusers :cy\nadmins: dee\n\n");
        assert!(g.is_member("ann", "admins"));
        assert!(g.is_member("dee", "admins"), "a group may span lines");
        assert!(g.is_member("cy", "users"), "spaces before ':' are trimmed");
        assert!(!g.is_member("cy", "admins"));
        assert!(!g.is_member("ann", "nobody"));
    }
}
