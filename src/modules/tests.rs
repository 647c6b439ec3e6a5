//! The request-time steps together, on settings made by the directive dispatch.

use super::*;

fn section(lines: &[&str]) -> SectionSettings {
    let mut server = ServerSettings::default();
    let mut s = SectionSettings::default();
    let mut notes = Vec::new();
    let mut at = At {
        server_root: Path::new("/"),
        notes: &mut notes,
        position: String::new(),
    };
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(open) = words[0].strip_prefix('<') {
            if let Some(close) = open.strip_prefix('/') {
                let _ = close;
                close_section(&mut s).unwrap();
            } else {
                let name = open.trim_end_matches('>').to_ascii_lowercase();
                open_section(Some(&mut s), &name, &[]).unwrap().unwrap();
            }
            continue;
        }
        directive(&mut server, Some(&mut s), words[0], &words[1..], &mut at)
            .unwrap_or_else(|| panic!("{line}: not a module directive"))
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    s
}

fn request<'a>(peer: &str, headers: &'a [Header<'a>]) -> Request<'a> {
    Request {
        peer: peer.parse().unwrap(),
        local: "127.0.0.1".parse().unwrap(),
        local_port: 8080,
        method: "GET",
        protocol: "HTTP/1.1",
        uri: "/private/x",
        query: Some("q=1"),
        host: "example.org:8080",
        headers,
    }
}

#[test]
fn satisfy_any_lets_either_pass_and_401_vs_403() {
    let file = std::env::temp_dir().join(format!("eventmpm-htpasswd-{}", std::process::id()));
    std::fs::write(&file, "ann:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    let user_file = format!("AuthUserFile {}", file.display());
    let s = section(&[
        "AuthType Basic",
        "AuthName Staff",
        &user_file,
        "Require valid-user",
        "Order Allow,Deny",
        "Allow from 10.0.0.0/8",
        "Satisfy Any",
    ]);
    std::fs::remove_file(&file).unwrap();
    let server = ServerSettings::default();
    let run = |peer: &str, headers: &[Header<'_>]| {
        let mut st = RequestState::default();
        let r = check(&server, [&s].into_iter(), &request(peer, headers), &mut st);
        (r, st.user)
    };
    // Inside the network: no password needed.
    assert_eq!(run("10.1.1.1", &[]), (None, None));
    // Outside: the password decides.
    assert_eq!(
        run("192.0.2.1", &[]).0,
        Some(Outcome::Unauthorized("Basic realm=\"Staff\"".into()))
    );
    let good = [Header {
        name: "Authorization",
        value: b"Basic YW5uOnNlY3JldA==",
    }];
    assert_eq!(run("192.0.2.1", &good), (None, Some("ann".into())));
    // Satisfy All: both.
    let mut all = s.clone();
    all.compat.set_satisfy("all").unwrap();
    let mut st = RequestState::default();
    let r = check(
        &server,
        [&all].into_iter(),
        &request("192.0.2.1", &good),
        &mut st,
    );
    assert_eq!(r, Some(Outcome::Forbidden));
}

#[test]
fn setenvif_feeds_require_env_and_redirects_and_env_follow() {
    let mut server = ServerSettings::default();
    let mut notes = Vec::new();
    let mut at = At {
        server_root: Path::new("/"),
        notes: &mut notes,
        position: String::new(),
    };
    directive(
        &mut server,
        None,
        "SetEnvIf",
        &["X-Key", "^open$", "let_in"],
        &mut at,
    )
    .unwrap()
    .unwrap();
    let s = section(&["Require env let_in", "SetEnv FROM_SETENV yes"]);
    let key = [Header {
        name: "X-Key",
        value: b"open",
    }];
    let mut st = RequestState::default();
    assert_eq!(
        check(
            &server,
            [&s].into_iter(),
            &request("192.0.2.1", &key),
            &mut st
        ),
        None
    );
    assert_eq!(st.vars.get("FROM_SETENV"), Some("yes"));
    let mut st = RequestState::default();
    assert_eq!(
        check(
            &server,
            [&s].into_iter(),
            &request("192.0.2.1", &[]),
            &mut st
        ),
        Some(Outcome::Forbidden)
    );
    // A server Redirect: absolute Location from the Host, query kept.
    directive(
        &mut server,
        None,
        "Redirect",
        &["/private", "/elsewhere"],
        &mut at,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        translate(&server, &request("192.0.2.1", &[])),
        Some(Outcome::Redirect {
            status: 302,
            location: Some("http://example.org:8080/elsewhere/x?q=1".into())
        })
    );
    // Server-only and section-only directives say so.
    assert!(
        directive(&mut server, None, "Require", &["all", "granted"], &mut at)
            .unwrap()
            .unwrap_err()
            .contains("not allowed here")
    );
    let mut sec = SectionSettings::default();
    assert!(
        directive(&mut server, Some(&mut sec), "Alias", &["/a", "/b"], &mut at)
            .unwrap()
            .unwrap_err()
            .contains("cannot occur within")
    );
    assert!(directive(&mut server, None, "ServerName", &["x"], &mut at).is_none());
}

#[test]
fn headers_onsuccess_and_always() {
    let s = section(&[
        "Header set X-Ok yes",
        "Header always set X-All yes",
        "Header unset ETag",
    ]);
    let mut st = RequestState::default();
    let mut fields = vec![("ETag".to_string(), b"\"1\"".to_vec())];
    apply_headers([&s].into_iter(), &mut st, &mut fields, true, &[], 0, 0);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["X-Ok", "X-All"]);
    let mut fields = vec![("Content-Type".to_string(), b"text/html".to_vec())];
    apply_headers([&s].into_iter(), &mut st, &mut fields, false, &[], 0, 0);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Content-Type", "X-All"]);
}

#[test]
fn groups_open_inside_sections_only() {
    let mut s = SectionSettings::default();
    assert_eq!(open_section(Some(&mut s), "requireall", &[]), Some(Ok(())));
    assert!(open_section(None, "requireall", &[]).unwrap().is_err());
    assert!(open_section(None, "virtualhost", &["*:80"]).is_none());
}
