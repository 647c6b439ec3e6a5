//! `Include` / `IncludeOptional`: a file, a directory (every file in it), or a wildcard in the
//! last path component (`conf.d/*.conf`), expanded in sorted order as httpd does.

use std::path::{Path, PathBuf};

/// Most files one wildcard may match.
const MAX_MATCHES: usize = 1024;

/// The files `pattern` names. `optional`: a wildcard matching nothing (or a missing path) is not
/// an error (`IncludeOptional`).
pub fn expand(pattern: &Path, optional: bool) -> Result<Vec<PathBuf>, String> {
    let name = pattern.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let wild = name.contains(['*', '?', '[']);
    if pattern
        .parent()
        .is_some_and(|p| p.to_string_lossy().contains(['*', '?', '[']))
    {
        return Err(format!(
            "wildcards are supported in the last path component only: {}",
            pattern.display()
        ));
    }
    if !wild {
        if pattern.is_dir() {
            return list(pattern, |_| true);
        }
        if !pattern.exists() && optional {
            return Ok(Vec::new());
        }
        return Ok(vec![pattern.to_path_buf()]);
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return if optional {
            Ok(Vec::new())
        } else {
            Err(format!(
                "Could not open config directory {}: No such file or directory",
                dir.display()
            ))
        };
    }
    let found = list(dir, |f| glob(name.as_bytes(), f.as_bytes()))?;
    if found.is_empty() && !optional {
        return Err(format!(
            "No matches for the wildcard '{name}' in '{}', failing",
            dir.display()
        ));
    }
    Ok(found)
}

fn list(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| format!("Could not open config directory {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let n = entry.file_name();
        let Some(n) = n.to_str() else { continue };
        // httpd skips dot files when including a directory or a wildcard.
        if n.starts_with('.') || !keep(n) || entry.path().is_dir() {
            continue;
        }
        out.push(entry.path());
        if out.len() > MAX_MATCHES {
            return Err(format!(
                "more than {MAX_MATCHES} files match in {}",
                dir.display()
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// fnmatch-style matching of `*`, `?` and `[…]` (with `!` or `^` negation) against a name.
pub(super) fn glob(p: &[u8], s: &[u8]) -> bool {
    let rules = crate::wildcard::Rules {
        classes: true,
        ..Default::default()
    };
    crate::wildcard::matches(p, s, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_fnmatch() {
        assert!(glob(b"*.conf", b"a.conf"));
        assert!(!glob(b"*.conf", b"a.conf.bak"));
        assert!(glob(b"mpm_*.conf", b"mpm_event.conf"));
        assert!(glob(b"?.c", b"x.c"));
        assert!(glob(b"[a-c]*", b"beta"));
        assert!(!glob(b"[!a-c]*", b"beta"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"a*b*c", b"aXbY"));
        assert!(glob(b"a*b*c", b"aXbYc"));
    }

    #[test]
    fn expands_sorted_and_reports_no_match() {
        let dir = std::env::temp_dir().join(format!("eventmpm-include-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let got = expand(&dir.join("*.conf"), false).unwrap();
        assert_eq!(got, vec![dir.join("a.conf"), dir.join("b.conf")]);
        assert_eq!(
            expand(&dir, false).unwrap().len(),
            3,
            "a directory includes every file"
        );
        assert!(
            expand(&dir.join("*.none"), false)
                .unwrap_err()
                .starts_with("No matches")
        );
        assert!(expand(&dir.join("*.none"), true).unwrap().is_empty());
        assert!(expand(&dir.join("missing.conf"), true).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
