//! `SSLCipherSuite`: OpenSSL cipher strings mapped onto the suites rustls implements.
//!
//! TLS 1.2 strings (`HIGH:!aNULL`, `ECDHE+AESGCM:!MD5`, Mozilla's named lists) are read with
//! OpenSSL's operators (`!` removes for good, `-` removes, `+` moves to the end, `:`/`,`/space
//! separate, `A+B` intersects) over the keywords that mean something for rustls's six ECDHE
//! suites; keywords for families rustls lacks (`RC4`, `3DES`, `DHE`, `kRSA`, `aNULL`, …) and
//! OpenSSL suite names rustls lacks (`DHE-RSA-AES128-GCM-SHA256`) select nothing. An unknown
//! keyword, or a string that selects no suite at all, is refused. `SSLCipherSuite TLSv1.3
//! NAMES` sets the TLS 1.3 suites by their IANA names.

use super::crypto::cipher_suite as cs;
use rustls::SupportedCipherSuite;

/// What OpenSSL's keywords test of a TLS 1.2 suite.
struct Tls12 {
    suite: SupportedCipherSuite,
    /// OpenSSL's name.
    name: &'static str,
    ecdsa: bool,
    /// `AES128`, `AES256` or `CHACHA20`.
    cipher: &'static str,
    /// The PRF/MAC hash: `SHA256` or `SHA384`.
    hash: &'static str,
}

const TLS12: [Tls12; 6] = [
    Tls12 {
        suite: cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        name: "ECDHE-ECDSA-AES256-GCM-SHA384",
        ecdsa: true,
        cipher: "AES256",
        hash: "SHA384",
    },
    Tls12 {
        suite: cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        name: "ECDHE-ECDSA-AES128-GCM-SHA256",
        ecdsa: true,
        cipher: "AES128",
        hash: "SHA256",
    },
    Tls12 {
        suite: cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        name: "ECDHE-ECDSA-CHACHA20-POLY1305",
        ecdsa: true,
        cipher: "CHACHA20",
        hash: "SHA256",
    },
    Tls12 {
        suite: cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        name: "ECDHE-RSA-AES256-GCM-SHA384",
        ecdsa: false,
        cipher: "AES256",
        hash: "SHA384",
    },
    Tls12 {
        suite: cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        name: "ECDHE-RSA-AES128-GCM-SHA256",
        ecdsa: false,
        cipher: "AES128",
        hash: "SHA256",
    },
    Tls12 {
        suite: cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        name: "ECDHE-RSA-CHACHA20-POLY1305",
        ecdsa: false,
        cipher: "CHACHA20",
        hash: "SHA256",
    },
];

const TLS13: [(&str, SupportedCipherSuite); 3] = [
    ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// Keywords naming families rustls does not implement: they select nothing.
const ABSENT: &[&str] = &[
    "MEDIUM",
    "LOW",
    "EXP",
    "EXPORT",
    "NULL",
    "eNULL",
    "aNULL",
    "COMPLEMENTOFALL",
    "ADH",
    "AECDH",
    "AECDHE",
    "RC4",
    "RC2",
    "3DES",
    "DES",
    "MD5",
    "SHA1",
    "SHA",
    "PSK",
    "kPSK",
    "aPSK",
    "ECDHEPSK",
    "DHEPSK",
    "RSAPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "SEED",
    "IDEA",
    "DSS",
    "aDSS",
    "DHE",
    "EDH",
    "kDHE",
    "kEDH",
    "DH",
    "kDH",
    "kDHr",
    "kDHd",
    "kRSA",
    "RSA",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "GOST",
    "aGOST",
    "kGOST",
    "CCM",
    "CCM8",
    "AESCCM",
    "AESCCM8",
    "SSLv3",
    "TLSv1",
    "TLSv1.0",
    "ECDH",
    "kECDH",
    "aECDH",
    "FIPS",
    "SUITEB128",
    "SUITEB128ONLY",
    "SUITEB192",
];

/// The TLS 1.2 suites one keyword (or OpenSSL suite name) selects, as indexes into [`TLS12`].
fn keyword(k: &str) -> Result<Vec<usize>, String> {
    let all = |f: &dyn Fn(&Tls12) -> bool| -> Vec<usize> {
        (0..TLS12.len()).filter(|&i| f(&TLS12[i])).collect()
    };
    if let Some(i) = TLS12.iter().position(|s| s.name.eq_ignore_ascii_case(k)) {
        return Ok(vec![i]);
    }
    Ok(match k {
        "ALL" | "DEFAULT" | "HIGH" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "AEAD"
        | "TLSv1.2" | "SECURE128" | "SECURE256" => all(&|_| true),
        "aECDSA" | "ECDSA" => all(&|s| s.ecdsa),
        "aRSA" => all(&|s| !s.ecdsa),
        "AES" | "AESGCM" => all(&|s| s.cipher != "CHACHA20"),
        "AES128" | "AES256" | "CHACHA20" => all(&|s| s.cipher == k),
        "SHA256" | "SHA384" => all(&|s| s.hash == k),
        "COMPLEMENTOFDEFAULT" => Vec::new(),
        _ if ABSENT.contains(&k) => Vec::new(),
        // An OpenSSL suite name rustls does not implement (`DHE-RSA-AES128-GCM-SHA256`,
        // `AES128-SHA`): selects nothing, as in an OpenSSL without that suite.
        _ if k.contains('-')
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Vec::new()
        }
        _ => return Err(format!("SSLCipherSuite: unknown cipher or keyword '{k}'")),
    })
}

/// The suites selected by one `SSLCipherSuite` line, in preference order: `Tls12` for
/// `SSLCipherSuite [SSL] STRING`, `Tls13` for `SSLCipherSuite TLSv1.3 NAMES`.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// TLS 1.2 suites.
    Tls12(Vec<SupportedCipherSuite>),
    /// TLS 1.3 suites.
    Tls13(Vec<SupportedCipherSuite>),
}

/// Read `SSLCipherSuite`'s arguments.
pub fn parse(args: &[&str]) -> Result<Selection, String> {
    let (protocol, string) =
        match args {
            [s] => ("SSL", *s),
            [p, s] => (*p, *s),
            _ => return Err(
                "SSLCipherSuite takes 1-2 arguments, an optional protocol and the cipher string"
                    .into(),
            ),
        };
    let tokens = string
        .split([':', ',', ' '])
        .filter(|t| !t.is_empty() && !t.starts_with('@'));
    match protocol.to_ascii_lowercase().as_str() {
        "ssl" | "tlsv1.2" => {}
        "tlsv1.3" => {
            let mut out = Vec::new();
            for t in tokens {
                let Some((_, s)) = TLS13.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) else {
                    return Err(format!(
                        "SSLCipherSuite: TLSv1.3 cipher suite '{t}' is not implemented (rustls has TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256)"
                    ));
                };
                if !out.contains(s) {
                    out.push(*s);
                }
            }
            if out.is_empty() {
                return Err("SSLCipherSuite: no TLSv1.3 cipher suite given".into());
            }
            return Ok(Selection::Tls13(out));
        }
        other => {
            return Err(format!(
                "SSLCipherSuite: protocol '{other}' not supported (SSL or TLSv1.3)"
            ));
        }
    }
    let mut list: Vec<usize> = Vec::new();
    let mut banned = [false; TLS12.len()];
    for t in tokens {
        let (op, word) = match t.as_bytes()[0] {
            b'!' | b'-' | b'+' => (t.as_bytes()[0], &t[1..]),
            _ => (b' ', t),
        };
        // `A+B`: the suites every part selects.
        let mut selected: Option<Vec<usize>> = None;
        for part in word.split('+') {
            let s = keyword(part)?;
            selected = Some(match selected {
                None => s,
                Some(prev) => prev.into_iter().filter(|i| s.contains(i)).collect(),
            });
        }
        let selected = selected.unwrap_or_default();
        match op {
            b'!' => {
                for i in selected {
                    banned[i] = true;
                    list.retain(|&j| j != i);
                }
            }
            b'-' => list.retain(|j| !selected.contains(j)),
            b'+' => {
                let moved: Vec<usize> = list
                    .iter()
                    .copied()
                    .filter(|j| selected.contains(j))
                    .collect();
                list.retain(|j| !selected.contains(j));
                list.extend(moved);
            }
            _ => {
                for i in selected {
                    if !banned[i] && !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
    }
    if list.is_empty() {
        return Err(format!(
            "SSLCipherSuite: '{string}' selects no cipher suite eventmpm's TLS (rustls) implements; TLSv1.2 suites are ECDHE with AES-GCM or ChaCha20-Poly1305 (e.g. 'HIGH:!aNULL')"
        ));
    }
    Ok(Selection::Tls12(
        list.into_iter().map(|i| TLS12[i].suite).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: Selection) -> Vec<String> {
        let v = match s {
            Selection::Tls12(v) | Selection::Tls13(v) => v,
        };
        v.iter().map(|s| format!("{:?}", s.suite())).collect()
    }

    #[test]
    fn debian_default_selects_all_six() {
        assert_eq!(names(parse(&["HIGH:!aNULL"]).unwrap()).len(), 6);
    }

    #[test]
    fn mozilla_intermediate_keeps_its_order_and_skips_dhe() {
        let s = parse(&["ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256"]).unwrap();
        let n = names(s);
        assert_eq!(n.len(), 6);
        assert_eq!(n[0], "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(n[1], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }

    #[test]
    fn operators() {
        let n = names(parse(&["ECDHE+AESGCM:!AES256"]).unwrap());
        assert_eq!(
            n,
            [
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        // `!` is final: a later keyword does not bring the suite back.
        let n = names(parse(&["!CHACHA20:ALL"]).unwrap());
        assert_eq!(n.len(), 4);
        // `+` moves to the end.
        let n = names(parse(&["ALL:+AES"]).unwrap());
        assert!(n[0].contains("CHACHA20") && n[1].contains("CHACHA20"));
    }

    #[test]
    fn unsupported_values_are_refused() {
        assert!(
            parse(&["RC4-SHA"])
                .unwrap_err()
                .contains("selects no cipher suite")
        );
        assert!(parse(&["MEDIUM:!HIGH"]).is_err());
        assert_eq!(
            parse(&["BOGUS"]).unwrap_err(),
            "SSLCipherSuite: unknown cipher or keyword 'BOGUS'"
        );
        assert!(parse(&["TLSv1.3", "TLS_AES_128_CCM_SHA256"]).is_err());
        assert!(parse(&["SSLv9", "HIGH"]).is_err());
    }

    #[test]
    fn tls13_names() {
        let n = names(
            parse(&[
                "TLSv1.3",
                "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
            ])
            .unwrap(),
        );
        assert_eq!(
            n,
            ["TLS13_CHACHA20_POLY1305_SHA256", "TLS13_AES_128_GCM_SHA256"]
        );
    }
}
