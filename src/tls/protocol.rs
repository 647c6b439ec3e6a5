//! `SSLProtocol`: which TLS versions are offered, read as mod_ssl reads it (`all -SSLv3`,
//! `-all +TLSv1.3`, `TLSv1.2`). rustls implements TLS 1.2 and 1.3 only, so a line that asks for
//! SSLv3, TLS 1.0 or TLS 1.1 is refused at its line; removing them (`-SSLv3`, `-TLSv1`) is
//! accepted, since they are never offered.

/// The versions offered.
#[doc(alias = "SSLProtocol")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// TLS 1.2.
    pub tls12: bool,
    /// TLS 1.3.
    pub tls13: bool,
}

impl Default for Versions {
    /// mod_ssl's default, `all -SSLv3`: what rustls has.
    fn default() -> Versions {
        Versions {
            tls12: true,
            tls13: true,
        }
    }
}

/// One protocol name's bits: (TLS 1.2, TLS 1.3), or `None` for a version rustls lacks.
fn bits(name: &str) -> Result<Option<(bool, bool)>, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "all" => Some((true, true)),
        "tlsv1.2" => Some((true, false)),
        "tlsv1.3" => Some((false, true)),
        "sslv2" | "sslv3" | "tlsv1" | "tlsv1.1" => None,
        _ => return Err(format!("SSLProtocol: Illegal protocol '{name}'")),
    })
}

/// Parse `SSLProtocol`'s arguments. `note` receives mod_ssl's AH02532 warning for a bare name
/// after others (it replaces them: a `+` or `-` was probably meant).
pub fn parse(args: &[&str], note: &mut dyn FnMut(String)) -> Result<Versions, String> {
    if args.is_empty() {
        return Err("SSLProtocol requires at least one argument".into());
    }
    let mut v = Versions {
        tls12: false,
        tls13: false,
    };
    let mut set = false;
    for arg in args {
        let (action, name) = match arg.as_bytes().first() {
            Some(b'+') => ('+', &arg[1..]),
            Some(b'-') => ('-', &arg[1..]),
            _ => (' ', *arg),
        };
        let Some((t12, t13)) = bits(name)? else {
            if action == '-' {
                continue;
            }
            return Err(format!(
                "SSLProtocol: {name} is not supported: eventmpm's TLS (rustls) offers TLSv1.2 and TLSv1.3 only"
            ));
        };
        match action {
            '+' => {
                v.tls12 |= t12;
                v.tls13 |= t13;
            }
            '-' => {
                v.tls12 &= !t12;
                v.tls13 &= !t13;
            }
            _ => {
                if set && (v.tls12 || v.tls13) {
                    note(format!(
                        "AH02532: SSLProtocol: Protocol '{name}' overrides already set parameter(s). Check if a +/- prefix is missing."
                    ));
                }
                v = Versions {
                    tls12: t12,
                    tls13: t13,
                };
            }
        }
        set = true;
    }
    if !v.tls12 && !v.tls13 {
        return Err(
            "SSLProtocol: no protocol left to offer (TLSv1.2 and TLSv1.3 are all eventmpm has)"
                .into(),
        );
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Versions, String> {
        parse(args, &mut |_| {})
    }

    #[test]
    fn debian_and_mozilla_forms() {
        let both = Versions {
            tls12: true,
            tls13: true,
        };
        assert_eq!(p(&["all", "-SSLv3"]), Ok(both));
        assert_eq!(p(&["all", "-SSLv3", "-TLSv1", "-TLSv1.1"]), Ok(both));
        assert_eq!(
            p(&["-all", "+TLSv1.3"]),
            Ok(Versions {
                tls12: false,
                tls13: true
            })
        );
        assert_eq!(
            p(&["TLSv1.2"]),
            Ok(Versions {
                tls12: true,
                tls13: false
            })
        );
        assert_eq!(p(&["+TLSv1.2", "+tlsv1.3"]), Ok(both));
    }

    #[test]
    fn old_versions_are_refused_by_name() {
        for old in ["SSLv3", "TLSv1", "TLSv1.1", "+TLSv1.1"] {
            let e = p(&["TLSv1.2", old]).unwrap_err();
            assert!(e.contains("not supported"), "{e}");
            assert!(e.contains(old.trim_start_matches('+')), "{e}");
        }
        assert_eq!(
            p(&["FOO"]).unwrap_err(),
            "SSLProtocol: Illegal protocol 'FOO'"
        );
        assert!(p(&["all", "-TLSv1.2", "-TLSv1.3"]).is_err());
    }

    #[test]
    fn a_bare_name_after_others_is_noted() {
        let mut notes = Vec::new();
        parse(&["all", "TLSv1.3"], &mut |n| notes.push(n)).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("AH02532"));
    }
}
