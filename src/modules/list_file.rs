//! Reading the list files auth modules name (`AuthUserFile`, `AuthGroupFile`): whole, at
//! start-up and on graceful restart, with the same bounds for each.

use std::io::Read;
use std::path::Path;

/// Largest list file read: a larger one is refused at start-up.
pub const MAX_FILE: u64 = 16 << 20;

/// The text of `path`, invalid UTF-8 replaced. `kind` names the file in errors as httpd does
/// (`password`, `group`): `Could not open password file: PATH: why`.
pub fn read(path: &Path, kind: &str) -> Result<String, String> {
    let fail =
        |e: &dyn std::fmt::Display| format!("Could not open {kind} file: {}: {e}", path.display());
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    if !meta.is_file() {
        // A FIFO or a device could block start-up or never end.
        return Err(fail(&"not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(fail(&format!("larger than {MAX_FILE} bytes")));
    }
    let mut text = Vec::new();
    // Bounded again while reading: the file may grow after the check.
    std::fs::File::open(path)
        .map_err(|e| fail(&e))?
        .take(MAX_FILE)
        .read_to_end(&mut text)
        .map_err(|e| fail(&e))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_kind_and_the_file() {
        let dir = std::env::temp_dir().join(format!("eventmpm-list-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing");
        let e = read(&missing, "password").unwrap_err();
        assert!(
            e.starts_with(&format!(
                "Could not open password file: {}: ",
                missing.display()
            )),
            "{e}"
        );
        let e = read(&dir, "group").unwrap_err();
        assert!(e.ends_with(": not a regular file"), "{e}");
        let f = dir.join("users");
        std::fs::write(&f, b"a:b\n\xff\n").unwrap();
        assert_eq!(read(&f, "password").unwrap(), "a:b\n\u{fffd}\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
