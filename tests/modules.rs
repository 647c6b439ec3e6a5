//! The httpd modules of `src/modules/` end to end: Basic authentication against an htpasswd
//! file holding every hash format (made by `htpasswd` and `openssl passwd`), the `Require`
//! forms, `Order`/`Allow`/`Deny`, `Header`, `Alias`, `Redirect`/`RedirectMatch`, and
//! SetEnvIf feeding `Require env`, through the real binary with curl and Python's
//! http.client. Then the same configuration is served by Apache httpd itself (when
//! `/usr/sbin/apache2` is installed) and every answer compared.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Users, the htpasswd flag or tool that made their line, and whether httpd on Unix accepts
/// their right password (plain text it does not).
const USERS: &[(&str, &str, bool)] = &[
    ("bcrypt", "-B", true),
    ("apr1", "-m", true),
    ("sha1", "-s", true),
    ("crypt", "-d", true),
    ("plain", "-p", false),
    ("sha256", "openssl-5", true),
    ("sha512", "openssl-6", true),
];

/// The htpasswd file: one line per user, password "secret" for all.
fn htpasswd(path: &Path) {
    let mut text = String::new();
    for (user, how, _) in USERS {
        let line = match *how {
            "openssl-5" | "openssl-6" => {
                let (code, out, err) = run_tool(
                    "openssl",
                    &["passwd", &format!("-{}", &how[8..]), "secret"],
                    T,
                );
                assert_eq!(code, Some(0), "openssl passwd: {err}");
                format!("{user}:{}", out.trim())
            }
            flag => {
                let (code, out, err) = run_tool(
                    "htpasswd",
                    &[&format!("-nb{}", &flag[1..]), user, "secret"],
                    T,
                );
                assert_eq!(code, Some(0), "htpasswd {flag}: {err}");
                out.trim().to_string()
            }
        };
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// The directives under test (the same text for eventmpm and for Apache).
fn body(root: &Path) -> String {
    let root = root.display();
    format!(
        r#"
<Directory "{root}/htdocs/private">
    AuthType Basic
    AuthName "Private Area"
    AuthBasicProvider file
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Directory>
SetEnvIf X-Key ^open$ let_in
BrowserMatchNoCase ^curl/ is_curl
BrowserMatch ^OldBrowser/ nokeepalive
CustomLog curl.log "%r by curl" env=is_curl
<Location /any>
    <RequireAny>
        Require ip 192.0.2.0/24
        Require env let_in
    </RequireAny>
</Location>
<Location /all>
    <RequireAll>
        Require all granted
        Require not ip 127.0.0.0/8
    </RequireAll>
</Location>
<Location /compat>
    Order Deny,Allow
    Deny from all
    Allow from 127.0.0.1
</Location>
<Location /compat-deny>
    Order Allow,Deny
    Allow from all
    Deny from 127.0.0.0/8
</Location>
<Location /h>
    Header set X-Set one
    Header append X-Set two
    Header always set X-Always yes
    Header unset ETag
    Header set X-Curl yes env=is_curl
</Location>
Alias /aliased/ "{root}/elsewhere/"
Header always set X-Server-Level yes
<Directory "{root}/htdocs/h">
    Header set X-Dir d
</Directory>
<Files "*.nope">
    Require all denied
</Files>
<FilesMatch "^\.ht">
    Require all denied
</FilesMatch>
ScriptAlias /cgi-bin/ "{root}/cgi-bin/"
SetEnv FROM_SETENV hello
<Directory "{root}/cgi-bin">
    AuthType Basic
    AuthName "Scripts"
    AuthUserFile "{root}/htpasswd"
    Require user apr1 sha1
</Directory>
<Location /groups>
    AuthType Basic
    AuthName "Groups"
    AuthUserFile "{root}/htpasswd"
    AuthGroupFile "{root}/groups"
    Require group admins
</Location>
<Location /cgi-bin>
    Header set X-Cgi-Header yes
    RequestHeader set X-Forwarded-Proto https
    RequestHeader unset X-Drop
    RequestHeader append X-Key more
</Location>
Redirect /old http://example.org/new
Redirect permanent /perm /target
RedirectMatch ^/img/(.*)\.gif$ /png/$1.png
Redirect gone /dead
<Location /moved>
    Redirect permanent http://example.org/moved-here
</Location>
ScriptAlias /errcgi/ "{root}/errcgi/"
<Location /ecgi>
    ErrorDocument 404 /errcgi/doc.cgi?from=doc
    ErrorDocument 403 /errcgi/status.cgi
</Location>
<Location /ecgi/denied>
    Require all denied
</Location>
<Location /errcgi/broken.cgi>
    ErrorDocument 500 "the script broke, as text"
</Location>
<Location /errcgi/broken-too.cgi>
    ErrorDocument 500 /errcgi/doc.cgi
</Location>
LimitInternalRecursion 4
ScriptAlias /chain/ "{root}/chain/"
<Location /echain>
    ErrorDocument 404 /chain/chain.cgi?2
</Location>
<Location /echain0>
    ErrorDocument 404 /chain/chain.cgi?0
</Location>
<Location /echains3>
    ErrorDocument 404 /chain/chain.cgi?s3
</Location>
<Location /echains4>
    ErrorDocument 404 /chain/chain.cgi?s4
</Location>
<Location /eloop>
    ErrorDocument 404 /chain/loop.cgi
</Location>
<Location /chain>
    ErrorDocument 404 /h/ok.txt
</Location>
<Location /eother>
    ErrorDocument 404 "the error document of /eother"
</Location>
<Location /ebroken>
    ErrorDocument 404 /errcgi/broken-too.cgi
</Location>
"#
    )
}

/// The files the requests fetch.
fn tree(s: &Scratch) {
    for f in [
        "private/secret.txt",
        "any/ok.txt",
        "all/ok.txt",
        "compat/ok.txt",
        "compat-deny/ok.txt",
        "h/ok.txt",
        "groups/ok.txt",
        ".htsecret",
        "h/x.nope",
        "x.nope",
    ] {
        s.file(f, format!("this is {f}\n").as_bytes());
    }
    let cgi = s.path().join("cgi-bin");
    std::fs::create_dir_all(&cgi).unwrap();
    std::fs::write(
        cgi.join("env.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"user=$REMOTE_USER auth=$AUTH_TYPE setenv=$FROM_SETENV key=$let_in\"\n\
         echo \"proto=$HTTP_X_FORWARDED_PROTO drop=$HTTP_X_DROP xkey=$HTTP_X_KEY\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(cgi.join("env.cgi"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // CGI scripts as error documents: one shows what httpd passes them, one sends a status.
    let errcgi = s.path().join("errcgi");
    std::fs::create_dir_all(&errcgi).unwrap();
    std::fs::write(
        errcgi.join("doc.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"status=$REDIRECT_STATUS url=$REDIRECT_URL rquery=$REDIRECT_QUERY_STRING\"\n\
         echo \"method=$REQUEST_METHOD rmethod=$REDIRECT_REQUEST_METHOD query=$QUERY_STRING\"\n\
         echo \"setenv=$FROM_SETENV rsetenv=$REDIRECT_FROM_SETENV uri=$REQUEST_URI\"\n\
         echo \"body=$(cat)\"\n",
    )
    .unwrap();
    std::fs::write(
        errcgi.join("status.cgi"),
        "#!/bin/sh\nprintf 'Status: 410 Gone\\nContent-Type: text/plain\\n\\nstatus said\\n'\n",
    )
    .unwrap();
    // Scripts whose header block is malformed: 500, answered by their ErrorDocument.
    for f in ["broken.cgi", "broken-too.cgi"] {
        std::fs::write(errcgi.join(f), "#!/bin/sh\necho 'no header block here'\n").unwrap();
    }
    for f in ["doc.cgi", "status.cgi", "broken.cgi", "broken-too.cgi"] {
        std::fs::set_permissions(errcgi.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // A script that redirects (internally) to itself N times: LimitInternalRecursion's
    // count of internal redirects. `?sN` says `Status: 200` with each Location, which an
    // error document's script must for its Location to be followed (mod_cgi's rule); `?mN`
    // ends at a missing URL, whose ErrorDocument is one more redirect; `?oN` at a missing URL
    // whose ErrorDocument is its own section's, not the script's.
    let chain = s.path().join("chain");
    std::fs::create_dir_all(&chain).unwrap();
    std::fs::write(
        chain.join("chain.cgi"),
        "#!/bin/sh\nq=${QUERY_STRING:-0}\nn=${q#[smo]}\np=${q%%[0-9]*}\n\
         if [ \"$n\" -gt 0 ]; then\n  [ \"$p\" = s ] && printf 'Status: 200\\n'\n  \
         printf 'Location: /chain/chain.cgi?%s%s\\n\\n' \"$p\" $((n - 1))\n  exit\nfi\n\
         if [ \"$p\" = m ]; then printf 'Location: /chain/gone.txt\\n\\n'; exit; fi\n\
         if [ \"$p\" = o ]; then printf 'Location: /eother/gone\\n\\n'; exit; fi\n\
         printf 'Content-Type: text/plain\\n\\n'\n\
         echo \"end: from $REDIRECT_URL?$REDIRECT_QUERY_STRING status=$REDIRECT_STATUS\"\n",
    )
    .unwrap();
    // An error document that redirects to a URL whose error it answers again: a loop that
    // only LimitInternalRecursion ends.
    std::fs::write(
        chain.join("loop.cgi"),
        "#!/bin/sh\nprintf 'Status: 200\\nLocation: /eloop/missing\\n\\n'\n",
    )
    .unwrap();
    for f in ["chain.cgi", "loop.cgi"] {
        std::fs::set_permissions(chain.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let elsewhere = s.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("file.txt"), b"aliased file\n").unwrap();
    htpasswd(&s.path().join("htpasswd"));
    std::fs::write(
        s.path().join("groups"),
        "# who\nadmins: bcrypt\nadmins: sha1\n",
    )
    .unwrap();
}

/// `curl -s -o /dev/null -w '%{http_code}'` with optional credentials.
fn curl_status(url: &str, user: Option<&str>) -> (u16, String) {
    let mut args = vec!["-s", "-D", "-", "-o", "/dev/null", "--max-time", "10"];
    if let Some(u) = user {
        args.extend(["-u", u]);
    }
    args.push(url);
    let (code, out, err) = run_tool("curl", &args, T);
    assert_eq!(code, Some(0), "curl {url}: {err}");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// What Python's http.client saw: the status, a line per header (`name TAB value`), an empty
/// line, the body in hex.
const FETCH: &str = r#"
import http.client, sys
port, path = int(sys.argv[1]), sys.argv[2]
headers = dict(h.split(":", 1) for h in sys.argv[3:])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", path, headers=headers)
r = c.getresponse()
print(r.status)
for k, v in r.getheaders():
    print(k + "\t" + v)
print()
print(r.read().hex())
"#;

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn fetch(port: u16, path: &str, headers: &[(&str, &str)]) -> Answer {
    let port_arg = port.to_string();
    let hs: Vec<String> = headers.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let mut args = vec!["-c", FETCH, &port_arg, path];
    args.extend(hs.iter().map(String::as_str));
    let (code, out, err) = run_tool("python3", &args, T);
    assert_eq!(code, Some(0), "python fetch {path}: {err}");
    let mut lines = out.lines();
    let status: u16 = lines.next().unwrap_or("").parse().unwrap_or(0);
    let mut headers = Vec::new();
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once('\t').unwrap_or((l, ""));
        headers.push((k.to_string(), v.to_string()));
    }
    let hex = lines.next().unwrap_or("");
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(b'?'))
        .collect();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

#[test]
fn basic_auth_every_hash_format() {
    let s = Scratch::new("mod-auth");
    tree(&s);
    let root = s.path().to_path_buf();
    let server = start_with(s, &body(&root), &[]);
    let url = server.url("/private/secret.txt");
    for (user, how, accepted) in USERS {
        let (status, head) = curl_status(&url, Some(&format!("{user}:secret")));
        let want = if *accepted { 200 } else { 401 };
        assert_eq!(status, want, "{user} ({how}) right password:\n{head}");
        let (status, head) = curl_status(&url, Some(&format!("{user}:wrong")));
        assert_eq!(status, 401, "{user} ({how}) wrong password");
        assert!(
            head.contains("WWW-Authenticate: Basic realm=\"Private Area\""),
            "{head}"
        );
    }
    let (status, head) = curl_status(&url, None);
    assert_eq!(status, 401, "no credentials");
    assert!(
        head.contains("WWW-Authenticate: Basic realm=\"Private Area\""),
        "{head}"
    );
    let (status, _) = curl_status(&url, Some("nobody:secret"));
    assert_eq!(status, 401, "unknown user");
    // The 401 page is httpd's.
    let a = fetch(server.port, "/private/secret.txt", &[]);
    assert!(
        a.body
            .contains("This server could not verify that you\nare authorized"),
        "{a:?}"
    );
    // The user is logged (%u of the common format).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        server.access_log().contains(" - bcrypt ["),
        "{}",
        server.access_log()
    );
}

#[test]
fn require_order_headers_alias_redirect() {
    let s = Scratch::new("mod-misc");
    tree(&s);
    let root = s.path().to_path_buf();
    let server = start_with(s, &body(&root), &[]);
    let p = server.port;
    // Require: RequireAny with env from SetEnvIf; RequireAll with `not`.
    assert_eq!(fetch(p, "/any/ok.txt", &[]).status, 403);
    assert_eq!(fetch(p, "/any/ok.txt", &[("X-Key", "open")]).status, 200);
    assert_eq!(fetch(p, "/any/ok.txt", &[("X-Key", "closed")]).status, 403);
    assert_eq!(fetch(p, "/all/ok.txt", &[]).status, 403);
    // Order/Allow/Deny.
    assert_eq!(fetch(p, "/compat/ok.txt", &[]).status, 200);
    assert_eq!(fetch(p, "/compat-deny/ok.txt", &[]).status, 403);
    // Header: set/append, always, unset, env=.
    let a = fetch(p, "/h/ok.txt", &[]);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("X-Set"), Some("one, two"));
    assert_eq!(a.header("X-Always"), Some("yes"));
    assert_eq!(a.header("ETag"), None);
    assert_eq!(a.header("X-Curl"), None, "not curl");
    let (_, head) = curl_status(&server.url("/h/ok.txt"), None);
    assert!(head.contains("X-Curl: yes"), "{head}");
    // CustomLog env=: only curl's request is in that log (lines reach it within a second).
    std::thread::sleep(Duration::from_millis(1500));
    let curl_log = std::fs::read_to_string(root.join("curl.log")).unwrap_or_default();
    assert_eq!(curl_log, "GET /h/ok.txt HTTP/1.1 by curl\n");
    assert_eq!(a.header("X-Dir"), Some("d"), "<Directory> level");
    assert_eq!(a.header("X-Server-Level"), Some("yes"), "server level");
    let a = fetch(p, "/h/missing", &[]);
    assert_eq!(a.status, 404);
    assert_eq!(a.header("X-Set"), None, "onsuccess lines skip error pages");
    assert_eq!(a.header("X-Always"), Some("yes"));
    // A protected script: Require user, the user and the variables in its environment, and
    // Header lines on its response.
    let ann = [
        ("Authorization", "Basic YXByMTpzZWNyZXQ="),
        ("X-Key", "open"),
        ("X-Drop", "me"),
    ];
    let a = fetch(p, "/cgi-bin/env.cgi", &ann);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        a.body,
        "user=apr1 auth=Basic setenv=hello key=1\nproto=https drop= xkey=open, more\n"
    );
    assert_eq!(a.header("X-Cgi-Header"), Some("yes"));
    let bcrypt = [("Authorization", "Basic YmNyeXB0OnNlY3JldA==")];
    assert_eq!(
        fetch(p, "/cgi-bin/env.cgi", &bcrypt).status,
        401,
        "not a listed user"
    );
    assert_eq!(fetch(p, "/cgi-bin/env.cgi", &[]).status, 401);
    // nokeepalive: the connection closes after the response.
    use std::io::Write;
    for (agent, closes) in [("OldBrowser/1", true), ("NewBrowser/1", false)] {
        let mut c = server.connect();
        c.write_all(
            format!("GET /h/ok.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: {agent}\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let (head, _) = read_response(&mut c);
        assert_eq!(
            head.contains("Connection: close"),
            closes,
            "{agent}: {head}"
        );
    }
    // <Files>, <FilesMatch>: by file name.
    assert_eq!(fetch(p, "/.htsecret", &[]).status, 403);
    assert_eq!(fetch(p, "/h/x.nope", &[]).status, 403);
    assert_eq!(fetch(p, "/x.nope", &[]).status, 403);
    assert_eq!(fetch(p, "/h/ok.txt", &[]).status, 200);
    // Require group.
    let sha1 = [("Authorization", "Basic c2hhMTpzZWNyZXQ=")];
    let apr1 = [("Authorization", "Basic YXByMTpzZWNyZXQ=")];
    assert_eq!(fetch(p, "/groups/ok.txt", &sha1).status, 200);
    assert_eq!(
        fetch(p, "/groups/ok.txt", &apr1).status,
        401,
        "not in the group"
    );
    // Alias.
    let a = fetch(p, "/aliased/file.txt", &[]);
    assert_eq!((a.status, a.body.as_str()), (200, "aliased file\n"));
    assert_eq!(fetch(p, "/aliased/none.txt", &[]).status, 404);
    // Redirects: status, Location, httpd's body.
    let a = fetch(p, "/old/x?q=1", &[]);
    assert_eq!(a.status, 302);
    assert_eq!(a.header("Location"), Some("http://example.org/new/x?q=1"));
    assert!(
        a.body.contains(
            "<p>The document has moved <a href=\"http://example.org/new/x?q=1\">here</a>.</p>"
        ),
        "{a:?}"
    );
    let a = fetch(p, "/perm", &[]);
    assert_eq!(a.status, 301);
    assert_eq!(
        a.header("Location"),
        Some(format!("http://127.0.0.1:{p}/target").as_str())
    );
    let a = fetch(p, "/img/a.gif", &[]);
    assert_eq!(a.status, 302);
    assert_eq!(
        a.header("Location"),
        Some(format!("http://127.0.0.1:{p}/png/a.png").as_str())
    );
    let a = fetch(p, "/moved/x", &[]);
    assert_eq!(
        (a.status, a.header("Location")),
        (301, Some("http://example.org/moved-here"))
    );
    let a = fetch(p, "/dead", &[]);
    assert_eq!((a.status, a.header("Location")), (410, None));
    assert!(a.body.contains("<h1>Gone</h1>"), "{a:?}");
}

#[test]
fn bad_module_lines_are_refused_at_their_line() {
    for (line, message) in [
        ("Require host example.org", "DNS"),
        ("Header bogus X 1", "first argument must be"),
        ("Redirect bogus /a /b", "invalid first argument"),
        (
            "RedirectMatch ^/(x http://a/",
            "Regular expression could not be compiled",
        ),
        (
            "AuthUserFile /nonexistent/htpasswd",
            "Could not open password file",
        ),
        ("Order sideways", "unknown order"),
    ] {
        let s = Scratch::new("mod-bad");
        let conf = s.path().join("bad.conf");
        std::fs::write(
            &conf,
            format!(
                "Listen 127.0.0.1:1\nDocumentRoot \"{}\"\n<Location /x>\n{line}\n</Location>\n",
                s.docroot().display()
            ),
        )
        .unwrap();
        let (code, out, err) = run_tool(binary(), &["-t", "-f", &conf.display().to_string()], T);
        assert_ne!(code, Some(0), "{line} accepted");
        let text = format!("{out}{err}");
        assert!(text.contains("bad.conf:4: "), "{line}: {text}");
        assert!(text.contains(message), "{line}: {text}");
    }
}

/// Apache's configuration for the same directives: its modules loaded, run as `nobody`.
fn apache_conf(root: &Path, port: u16) -> String {
    let dir = root.join("apache");
    let mods = [
        "mpm_event",
        "authz_core",
        "authz_host",
        "authz_user",
        "access_compat",
        "auth_basic",
        "authn_core",
        "authn_file",
        "headers",
        "setenvif",
        "env",
        "alias",
        "mime",
        "dir",
        "cgid",
        "authz_groupfile",
    ];
    let mut text = format!(
        "ServerRoot \"{d}\"\nListen 127.0.0.1:{port}\nServerName localhost\n\
         PidFile \"{d}/httpd.pid\"\nDefaultRuntimeDir \"{d}\"\nMutex file:{d} default\n\
         ErrorLog \"{d}/error.log\"\nLogLevel warn\nTypesConfig /etc/mime.types\n\
         DocumentRoot \"{r}/htdocs\"\n",
        d = dir.display(),
        r = root.display()
    );
    for m in mods {
        let file = if m == "mpm_event" {
            "mod_mpm_event.so".to_string()
        } else {
            format!("mod_{m}.so")
        };
        text.push_str(&format!(
            "LoadModule {m}_module /usr/lib/apache2/modules/{file}\n"
        ));
    }
    text.push_str(&body(root));
    text
}

#[test]
fn differential_against_apache() {
    let apache = Path::new("/usr/sbin/apache2");
    if !apache.exists() {
        println!("skipped: /usr/sbin/apache2 is not installed (ci/install installs apache2)");
        return;
    }
    let s = Scratch::new("mod-diff");
    tree(&s);
    let root = s.path().to_path_buf();
    let adir = root.join("apache");
    std::fs::create_dir_all(&adir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&adir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let aport = free_port();
    std::fs::write(adir.join("httpd.conf"), apache_conf(&root, aport)).unwrap();
    let conf = adir.join("httpd.conf").display().to_string();
    let as_root = run_tool("id", &["-u"], T).1.trim() == "0";
    let mut cmd = if as_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]);
        c.arg(apache);
        c
    } else {
        std::process::Command::new(apache)
    };
    // Its own process group: mod_cgid forks a daemon that a kill of apache2 alone would
    // leave running (reparented to init), so the whole group is killed at the end.
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    let child = cmd
        .args(["-f", &conf, "-X", "-DFOREGROUND"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start apache2");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: kill has no memory preconditions; the group is the one made at spawn
            // (process_group(0): its id is apache2's PID).
            unsafe { libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
    // Killed on every way out, a failed start included.
    let mut apache = Kill(child);
    let mut wait = 0;
    while std::net::TcpStream::connect(("127.0.0.1", aport)).is_err() {
        if let Ok(Some(st)) = apache.0.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            let _ = apache.0.stderr.take().unwrap().read_to_string(&mut err);
            let log = std::fs::read_to_string(adir.join("error.log")).unwrap_or_default();
            panic!("apache2 exited ({st}): {err}\n{log}");
        }
        wait += 1;
        assert!(wait < 200, "apache2 did not listen within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = start_with(s, &body(&root), &[]);
    let basic = |u: &str| {
        use std::io::Write;
        let mut b = Vec::new();
        // base64 by hand: tests need no crate for it.
        let t = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for c in u.as_bytes().chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    b.push(t[(n >> (18 - 6 * i) & 63) as usize]);
                } else {
                    b.push(b'=');
                }
            }
        }
        let mut out = Vec::new();
        write!(out, "Basic {}", String::from_utf8(b).unwrap()).unwrap();
        String::from_utf8(out).unwrap()
    };
    let mut cases: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (user, _, _) in USERS {
        for pw in ["secret", "wrong"] {
            cases.push((
                "/private/secret.txt".into(),
                vec![("Authorization".into(), basic(&format!("{user}:{pw}")))],
            ));
        }
    }
    for path in [
        "/private/secret.txt",
        "/any/ok.txt",
        "/all/ok.txt",
        "/compat/ok.txt",
        "/compat-deny/ok.txt",
        "/h/ok.txt",
        "/h/missing",
        "/aliased/file.txt",
        "/aliased/none.txt",
        "/old/x?q=1",
        "/perm",
        "/img/a.gif",
        "/dead",
        "/moved/x",
        "/missing",
        "/.htsecret",
        "/h/x.nope",
        "/x.nope",
    ] {
        cases.push((path.into(), vec![]));
    }
    cases.push(("/any/ok.txt".into(), vec![("X-Key".into(), "open".into())]));
    for user in ["apr1", "bcrypt"] {
        cases.push((
            "/cgi-bin/env.cgi".into(),
            vec![
                ("Authorization".into(), basic(&format!("{user}:secret"))),
                ("X-Key".into(), "open".into()),
                ("X-Drop".into(), "me".into()),
            ],
        ));
    }
    cases.push(("/cgi-bin/env.cgi".into(), vec![]));
    // CGI error documents.
    for path in [
        "/ecgi/missing?a=b",
        "/ecgi/none",
        "/ecgi/denied/x",
        "/errcgi/broken.cgi",
        "/errcgi/broken-too.cgi",
    ] {
        cases.push((path.into(), vec![]));
    }
    // Internal redirects: four are allowed (LimitInternalRecursion 4), a fifth is a 500.
    for n in ["0", "4", "5", "m2", "m3", "o1"] {
        cases.push((format!("/chain/chain.cgi?{n}"), vec![]));
    }
    // Error documents that are scripts redirecting: the document is the first redirect.
    for path in [
        "/echain",
        "/echain0",
        "/echains3",
        "/echains4",
        "/eloop",
        "/ebroken",
    ] {
        cases.push((format!("{path}/missing"), vec![]));
    }
    for user in ["sha1", "apr1"] {
        cases.push((
            "/groups/ok.txt".into(),
            vec![("Authorization".into(), basic(&format!("{user}:secret")))],
        ));
    }
    let compared = [
        "Location",
        "WWW-Authenticate",
        "X-Dir",
        "X-Server-Level",
        "X-Cgi-Header",
        "X-Set",
        "X-Always",
        "ETag",
        "Content-Type",
    ];
    let mut same = 0;
    let mut differences = Vec::new();
    for (path, headers) in &cases {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ours = fetch(server.port, path, &h);
        let theirs = fetch(aport, path, &h);
        let norm = |a: &Answer, port: u16| {
            let hs: Vec<String> = compared
                .iter()
                .map(|n| {
                    let v = a.header(n).map(|v| v.replace(&port.to_string(), "PORT"));
                    // An ETag's value holds inode-free mtime/size parts that differ per file
                    // copy; only its presence is compared.
                    let v = if *n == "ETag" {
                        v.map(|_| "present".to_string())
                    } else {
                        v
                    };
                    format!("{n}: {v:?}")
                })
                .collect();
            (a.status, hs, a.body.replace(&port.to_string(), "PORT"))
        };
        let (o, t) = (norm(&ours, server.port), norm(&theirs, aport));
        if o == t {
            same += 1;
        } else {
            differences.push(format!(
                "{path} {headers:?}\n  eventmpm: {o:?}\n  apache:   {t:?}"
            ));
        }
    }
    // A POST (with a body) and a HEAD answered by a CGI error document: the script runs as
    // a GET (a HEAD) without the body, and the connection still serves a second request.
    for method in [&["-d", "x=1"][..], &["-I"][..]] {
        let get = |port: u16| {
            let url = format!("http://127.0.0.1:{port}/ecgi/missing");
            let mut args = vec!["-s", "-i"];
            args.extend_from_slice(method);
            args.extend_from_slice(&[url.as_str(), "--next", "-s"]);
            let second = format!("http://127.0.0.1:{port}/h/ok.txt");
            args.push(&second);
            let (code, out, err) = run_tool("curl", &args, T);
            assert_eq!(code, Some(0), "curl: {err}");
            // Date and Server differ by nature; the rest must match.
            // Header fields in a set order: the servers write them in their own.
            let out = out.replace(&port.to_string(), "PORT");
            let mut lines: Vec<&str> = out
                .lines()
                .filter(|l| !l.starts_with("Date:") && !l.starts_with("Server:"))
                .collect();
            let head_end = lines
                .iter()
                .position(|l| l.is_empty())
                .unwrap_or(lines.len());
            lines[1..head_end].sort_unstable();
            lines.join("\n")
        };
        let (o, t) = (get(server.port), get(aport));
        assert!(t.contains("404"), "{t}");
        if o == t {
            same += 1;
        } else {
            differences.push(format!("{method:?}\n  eventmpm: {o}\n  apache:   {t}"));
        }
    }
    println!("{same} of {} answers match Apache's", cases.len() + 2);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The fifth redirect was refused, with httpd's words, on both.
    let too_many = "AH00124: Request exceeded the limit of 4 internal redirects due to probable \
        configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. \
        Use 'LogLevel debug' to get a backtrace.";
    let theirs = std::fs::read_to_string(adir.join("error.log")).unwrap();
    assert!(theirs.contains(too_many), "{theirs}");
    assert!(
        server.error_log().contains(too_many),
        "{}",
        server.error_log()
    );
}

#[test]
fn module_settings_in_virtual_hosts() {
    // A host's own lines and <Location> apply to that host only.
    let s = Scratch::new("mod-vhost");
    s.file("h/ok.txt", b"ok\n");
    s.file("ok.txt", b"ok\n");
    let server = start_with(
        s,
        "Header always set X-Main yes\n\
         <VirtualHost *>\n    ServerName a.test\n    Header always set X-Host a\n\
         \x20   Redirect /go http://example.org/went\n\
         \x20   <Location /h>\n        Require all denied\n    </Location>\n</VirtualHost>\n\
         <VirtualHost *>\n    ServerName b.test\n</VirtualHost>\n",
        &[],
    );
    let p = server.port;
    let a = fetch(p, "/h/ok.txt", &[("Host", "a.test")]);
    assert_eq!((a.status, a.header("X-Host")), (403, Some("a")));
    assert_eq!(
        a.header("X-Main"),
        Some("yes"),
        "the main server's lines apply too"
    );
    let a = fetch(p, "/go/x", &[("Host", "a.test")]);
    assert_eq!(
        (a.status, a.header("Location")),
        (302, Some("http://example.org/went/x"))
    );
    let b = fetch(p, "/h/ok.txt", &[("Host", "b.test")]);
    assert_eq!((b.status, b.header("X-Host")), (200, None));
    assert_eq!(b.header("X-Main"), Some("yes"));
    assert_eq!(fetch(p, "/go/x", &[("Host", "b.test")]).status, 404);
}
