//! `${NAME}` in configuration arguments: httpd's `ap_resolve_env`, fed by `Define` and the
//! environment.

/// `text` with each `${NAME}` replaced by the value `Define` gave NAME (the latest), else by
/// the environment variable NAME. An undefined name is an error here (httpd warns, AH00111,
/// and keeps the text, which then fails further on, less clearly). A `${` without its `}` is
/// left as written, as httpd leaves it.
pub fn expand(text: &str, defines: &[(String, Option<String>)]) -> Result<String, String> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        let var = &after[..end];
        let defined = defines
            .iter()
            .rev()
            .find(|(d, _)| d == var)
            .and_then(|(_, v)| v.clone());
        match defined.or_else(|| std::env::var(var).ok()) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "Config variable ${{{var}}} is not defined (neither by Define nor in the environment)"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines_come_before_the_environment() {
        let defs = vec![
            ("PATH".to_string(), Some("/defined".to_string())),
            ("flag".to_string(), None),
            ("x".to_string(), Some("1".to_string())),
            ("x".to_string(), Some("2".to_string())),
        ];
        assert_eq!(expand("${PATH}/a", &defs).unwrap(), "/defined/a");
        assert_eq!(expand("a${x}b${x}", &defs).unwrap(), "a2b2");
        assert_eq!(expand("no refs", &defs).unwrap(), "no refs");
        assert_eq!(expand("${open", &defs).unwrap(), "${open");
        // A name defined without a value falls through to the environment.
        assert!(
            expand("${flag}", &defs)
                .unwrap_err()
                .contains("${flag} is not defined")
        );
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(expand("${HOME}", &[]).unwrap(), home);
        }
    }
}
