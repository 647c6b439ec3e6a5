//! End-to-end: directory listings (mod_autoindex), DirectorySlash, gzip (mod_deflate), mod_mime's
//! AddType and kin, and `server-status?prometheus`, over loopback with curl, Python and raw
//! sockets — and the listings against Apache httpd itself where it is installed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{Scratch, Server, free_port, run_tool, start_with};

/// Debian's autoindex.conf, as it stands in /etc/apache2/mods-available (without comments).
const DEBIAN_AUTOINDEX: &str = r#"IndexOptions FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=* Charset=UTF-8
AddIconByEncoding (CMP,/icons/compressed.gif) x-compress x-gzip x-bzip2
AddIconByType (TXT,/icons/text.gif) text/*
AddIconByType (IMG,/icons/image2.gif) image/*
AddIconByType (SND,/icons/sound2.gif) audio/*
AddIconByType (VID,/icons/movie.gif) video/*
AddIcon /icons/binary.gif .bin .exe
AddIcon /icons/tar.gif .tar
AddIcon /icons/compressed.gif .Z .z .tgz .gz .zip
AddIcon /icons/layout.gif .html .shtml .htm .pdf
AddIcon /icons/text.gif .txt
AddIcon /icons/c.gif .c
AddIcon /icons/script.gif .conf .sh .shar .csh .ksh .tcl
AddIcon /icons/bomb.gif /core
AddIcon /icons/back.gif ..
AddIcon /icons/hand.right.gif README
AddIcon /icons/folder.gif ^^DIRECTORY^^
AddIcon /icons/blank.gif ^^BLANKICON^^
DefaultIcon /icons/unknown.gif
ReadmeName README.html
HeaderName HEADER.html
IndexIgnore .??* *~ *# RCS CVS *,v *,t
AddDescription "The C source" *.c
AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript
AddType application/x-gzip .gz .tgz
AddLanguage fr .fr
AddCharset UTF-8 .utf8
"#;

/// The tree both servers list: names that sort differently by name, natural order, size,
/// date and description; ignored names; odd characters; a subdirectory with a header file.
fn make_tree(s: &Scratch) {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let files: &[(&str, usize, u64)] = &[
        ("a.txt", 12, 50),
        ("B.txt", 5000, 10),
        ("big.txt", 120_000, 30),
        ("file9.txt", 1, 70),
        ("file10.txt", 1, 60),
        ("prog.c", 300, 20),
        ("pkg.tar.gz", 2000, 40),
        ("we ird&<n>.txt", 3, 80),
        ("a:colon", 7, 90),
        ("README", 9, 100),
        (".hidden", 1, 110),
        ("backup~", 1, 120),
        ("image.png", 4000, 130),
        ("sub/x.html", 40, 140),
        ("sub/page.html.fr", 90, 145),
        ("sub/HEADER.html", 20, 150),
        ("sub/deeper/y.bin", 2_000_000, 160),
    ];
    for (name, len, age) in files {
        let body: Vec<u8> = (0..*len).map(|i| b"abcdefghij\n"[i % 11]).collect();
        let p = s.file(name, &body);
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(base + Duration::from_secs(*age)).unwrap();
    }
    std::fs::write(s.docroot().join("sub/HEADER.html"), b"<p>Header here</p>\n").unwrap();
    // Text that compresses to more than one DeflateBufferSize buffer: pseudo-random numbers.
    let mut x: u64 = 12345;
    let mut numbers = String::new();
    for _ in 0..40_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        numbers += &format!("{}\n", x >> 40);
    }
    let p = s.file("numbers.txt", numbers.as_bytes());
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(base + Duration::from_secs(170)).unwrap();
    std::fs::create_dir_all(s.docroot().join("empty")).unwrap();
}

/// One exchange with `Connection: close`: (status, head, body).
fn fetch(addr: SocketAddr, method: &str, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    fetch_with_body(addr, method, path, extra, b"")
}

/// As [`fetch`], with a request body (and its Content-Length).
fn fetch_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    // `extra` may name its own Host.
    let host = if extra.to_ascii_lowercase().contains("host:") {
        String::new()
    } else {
        format!("Host: 127.0.0.1:{}\r\n", addr.port())
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\n{host}{extra}{length}Connection: close\r\n\r\n"
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 65536];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let mut body = all[split + 4..].to_vec();
    if header(&head, "Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

/// A chunked body's bytes (Apache streams some listings).
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..eol])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = b.get(end + 2..).unwrap_or(&[]);
    }
    out
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn start_render(tag: &str, extra: &str) -> Server {
    let s = Scratch::new(tag);
    make_tree(&s);
    let types = if Path::new("/etc/mime.types").exists() {
        "TypesConfig /etc/mime.types\n"
    } else {
        ""
    };
    let directives = format!(
        "{types}<Directory \"{root}\">\n  Options Indexes FollowSymLinks\n</Directory>\n\
         {DEBIAN_AUTOINDEX}{extra}",
        root = s.docroot().display()
    );
    start_with(s, &directives, &[])
}

/// The hrefs of a listing's rows, in order (the column links left out).
fn rows(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split("<a href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| !h.starts_with('?'))
        .map(String::from)
        .collect()
}

#[test]
fn listings_sort_by_each_column_and_order() {
    let srv = start_render("render-sort", "");
    let get = |q: &str| fetch(srv.addr(), "GET", &format!("/{q}"), "");
    let (status, head, body) = get("");
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html;charset=UTF-8")
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("<title>Index of /</title>"), "{text}");
    // Natural order (VersionSort): file9 before file10; strcmp order: B before a.
    let by_name = rows(&body);
    assert_eq!(
        by_name,
        [
            "B.txt",
            "README",
            "a.txt",
            "./a:colon",
            "big.txt",
            "empty/",
            "file9.txt",
            "file10.txt",
            "image.png",
            "numbers.txt",
            "pkg.tar.gz",
            "prog.c",
            "sub/",
            "we%20ird&amp;%3cn%3e.txt",
        ],
        "{text}"
    );
    // The ignored names are not there; the icons and description follow the type rules.
    assert!(!text.contains(".hidden") && !text.contains("backup~"));
    assert!(text.contains(
        "<img src=\"/icons/text.gif\" alt=\"[TXT]\"></td><td><a href=\"a.txt\">a.txt</a>"
    ));
    assert!(text.contains(
        "<img src=\"/icons/compressed.gif\" alt=\"[   ]\"></td><td><a href=\"pkg.tar.gz\">"
    ));
    assert!(text.contains("<td>The C source</td>"), "{text}");
    // Every column, both ways: the rows reverse, the link of the current column flips.
    for (key, expected_first) in [
        ("N", "B.txt"),
        ("M", "B.txt"),
        ("S", "empty/"),
        ("D", "B.txt"),
    ] {
        let (_, _, asc) = get(&format!("?C={key};O=A"));
        let (_, _, desc) = get(&format!("?C={key};O=D"));
        let (a, mut d) = (rows(&asc), rows(&desc));
        assert_eq!(a.len(), by_name.len(), "C={key}");
        if key == "M" {
            // Directories have the scratch tree's own times: compare the files only.
            let files = |v: &[String]| {
                v.iter()
                    .filter(|r| !r.ends_with('/'))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(files(&a)[0], expected_first, "C=M;O=A");
            let mut fd = files(&d);
            fd.reverse();
            assert_eq!(files(&a), fd, "C=M both ways");
            continue;
        }
        if key != "D" && key != "S" {
            d.reverse();
            assert_eq!(a, d, "C={key}: descending is ascending reversed");
        }
        assert_eq!(a[0], expected_first, "C={key};O=A: {a:?}");
        let asc_text = String::from_utf8_lossy(&asc);
        assert!(
            asc_text.contains(&format!("<a href=\"?C={key};O=D\">")),
            "the current column's link reverses it"
        );
    }
    // Size: directories ("-") first, then by bytes.
    let (_, _, by_size) = get("?C=S;O=A");
    let s = rows(&by_size);
    assert!(s[0].ends_with('/') && s[1].ends_with('/'), "{s:?}");
    assert_eq!(s.last().map(String::as_str), Some("numbers.txt"));
    assert_eq!(s[s.len() - 2], "big.txt");
    // Plain and <pre> formats, and a pattern.
    let (_, _, plain) = get("?F=0");
    assert!(String::from_utf8_lossy(&plain).contains("<ul><li><a href=\"B.txt\"> B.txt</a></li>"));
    let (_, _, pre) = get("?F=1");
    assert!(String::from_utf8_lossy(&pre).contains("<pre>"));
    let (_, _, pat) = get("?P=*.c");
    assert_eq!(rows(&pat), ["prog.c"]);
    // A subdirectory: its parent link, and HeaderName's file in place of the title.
    let (status, _, sub) = fetch(srv.addr(), "GET", "/sub/", "");
    assert_eq!(status, 200);
    let sub_text = String::from_utf8_lossy(&sub);
    assert!(
        sub_text.contains("<a href=\"/\">Parent Directory</a>"),
        "{sub_text}"
    );
    assert!(
        sub_text.contains("<p>Header here</p>\n") && !sub_text.contains("<h1>"),
        "{sub_text}"
    );
    assert_eq!(srv.error_log().matches("panicked").count(), 0);
}

#[test]
fn directory_slash_redirects_and_index_options() {
    let srv = start_render("render-slash", "DirectoryIndex nothere.html x.html\n");
    let (status, head, body) = fetch(srv.addr(), "GET", "/sub?a=b", "");
    assert_eq!(status, 301, "{head}");
    let want = format!("http://127.0.0.1:{}/sub/?a=b", srv.port);
    assert_eq!(header(&head, "Location"), Some(want.as_str()));
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains(&format!(
            "<p>The document has moved <a href=\"{want}\">here</a>.</p>"
        )),
        "{body}"
    );
    // The second DirectoryIndex name is served where the first is missing.
    let (status, _, body) = fetch(srv.addr(), "GET", "/sub/", "");
    assert_eq!((status, body.len()), (200, 40));
    // curl follows the redirect to the listing of an index-less directory.
    let (code, out, err) = run_tool(
        "curl",
        &[
            "-sSL",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{url_effective}",
            &srv.url("/empty"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("200 http://127.0.0.1:{}/empty/", srv.port));

    // DirectorySlash Off and Options -Indexes, and DirectoryIndex disabled.
    let s = Scratch::new("render-noslash");
    make_tree(&s);
    let directives = format!(
        "DirectorySlash Off\nDirectoryIndex disabled\n<Directory \"{}\">\n  Options -Indexes\n</Directory>\n",
        s.docroot().display()
    );
    let srv = start_with(s, &directives, &[]);
    let (status, _, _) = fetch(srv.addr(), "GET", "/sub", "");
    assert_eq!(status, 403, "no redirect, no listing");
    let (status, _, _) = fetch(srv.addr(), "GET", "/sub/", "");
    assert_eq!(status, 403);
    assert!(
        srv.error_log()
            .contains(&format!(
                "AH01276: Cannot serve directory {}/sub/: No matching DirectoryIndex (none) found, and server-generated directory index forbidden by Options directive",
                srv.scratch.docroot().display()
            )),
        "{}",
        srv.error_log()
    );

    // DirectorySlash Off with Indexes: the directory is listed at its slashless URL (relative
    // links and all, as httpd does); DirectoryIndex disabled lists even where x.html is.
    let s = Scratch::new("render-noslash-listed");
    make_tree(&s);
    let directives = format!(
        "DirectorySlash Off\nDirectoryIndex disabled\n<Directory \"{}\">\n  Options Indexes\n</Directory>\n",
        s.docroot().display()
    );
    let srv = start_with(s, &directives, &[]);
    for path in ["/sub", "/sub/"] {
        let (status, head, body) = fetch(srv.addr(), "GET", path, "");
        assert_eq!(status, 200, "{path}: {head}");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("<title>Index of /sub</title>"), "{body}");
        assert!(
            body.contains("<li><a href=\"x.html\"> x.html</a></li>"),
            "{path}: {body}"
        );
        assert!(
            body.contains("<li><a href=\"/\"> Parent Directory</a></li>"),
            "{body}"
        );
    }
}

#[test]
fn gzip_only_for_clients_that_take_it_with_vary_and_etag() {
    let srv = start_render("render-gzip", "DeflateCompressionLevel 9\n");
    let file = srv.scratch.docroot().join("big.txt");
    // Python's http.client and gzip: the body decompresses to the file.
    let script = format!(
        r#"
import gzip, http.client
c = http.client.HTTPConnection('127.0.0.1', {port}, timeout=10)
c.request('GET', '/big.txt', headers={{'Accept-Encoding': 'gzip'}})
r = c.getresponse(); body = r.read()
print(r.status, r.getheader('Content-Encoding'), r.getheader('Vary'), r.getheader('ETag'), r.getheader('Content-Length'), len(body))
print(gzip.decompress(body) == open({file:?}, 'rb').read())
c.request('GET', '/big.txt')
r = c.getresponse(); body = r.read()
print(r.status, r.getheader('Content-Encoding'), r.getheader('Vary'), r.getheader('ETag'), len(body))
"#,
        port = srv.port,
        file = file.to_str().unwrap()
    );
    let (code, out, err) = run_tool("python3", &["-c", &script], Duration::from_secs(20));
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let gz: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(&gz[..3], ["200", "gzip", "Accept-Encoding"], "{out}");
    assert!(gz[3].ends_with("-gzip\""), "{out}");
    assert_eq!(
        gz[4], gz[5],
        "Content-Length is the compressed length: {out}"
    );
    assert!(gz[5].parse::<usize>().unwrap() < 120_000 / 4, "{out}");
    assert_eq!(lines[1], "True", "decompresses to the file: {out}");
    let plain: Vec<&str> = lines[2].split(' ').collect();
    assert_eq!(&plain[..3], ["200", "None", "Accept-Encoding"], "{out}");
    assert_eq!(format!("{}-gzip\"", plain[3].trim_end_matches('"')), gz[3]);
    assert_eq!(plain[4], "120000");

    // HEAD: the fields and no body; the GET's length where its deflate stream fits one
    // DeflateBufferSize buffer (big.txt repeats itself: 120000 bytes in a few hundred), none
    // where httpd would have streamed (numbers.txt).
    let (status, head, body) = fetch(srv.addr(), "HEAD", "/big.txt", "Accept-Encoding: gzip\r\n");
    assert_eq!((status, body.len()), (200, 0), "{head}");
    assert_eq!(header(&head, "Content-Encoding"), Some("gzip"));
    assert_eq!(header(&head, "Content-Length"), Some(gz[4]), "{head}");
    let (status, head, body) = fetch(
        srv.addr(),
        "HEAD",
        "/numbers.txt",
        "Accept-Encoding: gzip\r\n",
    );
    assert_eq!((status, body.len()), (200, 0), "{head}");
    assert_eq!(header(&head, "Content-Encoding"), Some("gzip"));
    assert_eq!(header(&head, "Content-Length"), None, "{head}");
    let (status, head, body) = fetch(
        srv.addr(),
        "GET",
        "/numbers.txt",
        "Accept-Encoding: gzip\r\n",
    );
    // Its GET is streamed as httpd's is (chunked, no length): the deflate stream passes one
    // buffer.
    assert_eq!(status, 200);
    assert_eq!(header(&head, "Content-Length"), None, "{head}");
    assert_eq!(
        header(&head, "Transfer-Encoding"),
        Some("chunked"),
        "{head}"
    );
    assert!(body.len() > 8096, "{}", body.len());
    // A Range on a compressed response: the whole compressed body, 200 (httpd's answer).
    let (status, head, body) = fetch(
        srv.addr(),
        "GET",
        "/big.txt",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        header(&head, "Content-Length"),
        Some(body.len().to_string().as_str())
    );
    // Without gzip a Range is a Range.
    let (status, _, body) = fetch(srv.addr(), "GET", "/big.txt", "Range: bytes=0-9\r\n");
    assert_eq!((status, body.as_slice()), (206, &b"abcdefghij"[..]));
    // Conditionals use the file's own ETag, as in httpd: 304 with it, 200 with the -gzip one.
    let etag = plain[3];
    let (status, head, _) = fetch(
        srv.addr(),
        "GET",
        "/big.txt",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(status, 304, "{head}");
    assert_eq!(header(&head, "ETag"), Some(etag));
    // Small files, other types and q=0 are not compressed; only the small file lacks Vary.
    for (path, ae, vary) in [
        ("/a.txt", "gzip", false),
        ("/image.png", "gzip", false),
        ("/big.txt", "gzip;q=0", true),
    ] {
        let (status, head, _) = fetch(
            srv.addr(),
            "GET",
            path,
            &format!("Accept-Encoding: {ae}\r\n"),
        );
        assert_eq!(status, 200);
        assert_eq!(header(&head, "Content-Encoding"), None, "{path}: {head}");
        assert_eq!(header(&head, "Vary").is_some(), vary, "{path}: {head}");
    }
    // curl --compressed: the listing is gzipped too, and decompresses to the plain one.
    let (code, out, err) = run_tool(
        "curl",
        &["-s", "--compressed", "-D", "-", &srv.url("/")],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{out}"
    );
    let (_, _, plain) = fetch(srv.addr(), "GET", "/", "");
    assert!(out.ends_with(&*String::from_utf8_lossy(&plain)), "{out}");
}

#[test]
fn mime_directives_set_type_charset_encoding_and_language() {
    let s = Scratch::new("render-mime");
    for name in [
        "page.html.en",
        "doc.utf8.txt",
        "x.thing",
        "data.txt.Z",
        "notes.fr.txt",
        "plain.es",
        "forced/a.txt",
    ] {
        s.file(name, b"0123456789");
    }
    let directives = "AddType text/x-thing .thing\nAddType text/html .html\nAddType text/plain .txt\n\
                      AddCharset UTF-8 .utf8\nAddEncoding x-compress .Z\nAddLanguage en .en\n\
                      AddLanguage fr .fr\nAddType text/x-es .es\nRemoveType .es\nDefaultLanguage de\n";
    let srv = start_with(s, directives, &[]);
    let ct = |path: &str| {
        let (code, out, err) = run_tool("curl", &["-sI", &srv.url(path)], Duration::from_secs(20));
        assert_eq!(code, Some(0), "{err}");
        out
    };
    let h = ct("/page.html.en");
    assert!(
        h.contains("Content-Type: text/html\r\n") && h.contains("Content-Language: en\r\n"),
        "{h}"
    );
    let h = ct("/doc.utf8.txt");
    assert!(
        // httpd lowercases every Add* value, the charset too (add_extension_info).
        h.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{h}"
    );
    assert!(
        h.contains("Content-Language: de\r\n"),
        "DefaultLanguage: {h}"
    );
    assert!(ct("/x.thing").contains("Content-Type: text/x-thing\r\n"));
    let h = ct("/data.txt.Z");
    assert!(
        h.contains("Content-Type: text/plain\r\n")
            && h.contains("Content-Encoding: x-compress\r\n"),
        "{h}"
    );
    assert!(ct("/notes.fr.txt").contains("Content-Language: fr\r\n"));
    // RemoveType lifted the AddType, and .es is in no types table here: no type at all.
    assert!(
        !ct("/plain.es").contains("Content-Type"),
        "{}",
        ct("/plain.es")
    );

    // Refused where httpd does not take them, at their line, in httpd's words.
    let s = Scratch::new("render-mime-bad");
    let conf = s.path().join("bad.conf");
    std::fs::write(
        &conf,
        "Listen 127.0.0.1:1\n<Directory /tmp>\nAddType text/x .x\nDeflateCompressionLevel 9\n</Directory>\n",
    )
    .unwrap();
    let (code, _, err) = run_tool(
        common::binary(),
        &["-t", "-f", conf.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("bad.conf:4: DeflateCompressionLevel not allowed here"),
        "{err}"
    );
}

#[test]
fn prometheus_metrics_from_server_status() {
    let s = Scratch::new("render-prom");
    s.file("x.txt", b"hello");
    let srv = start_with(s, "", &[]);
    for _ in 0..3 {
        assert_eq!(fetch(srv.addr(), "GET", "/x.txt", "").0, 200);
    }
    let (code, out, err) = run_tool(
        "curl",
        &["-s", "-D", "-", &srv.url("/server-status?prometheus")],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{out}"
    );
    for line in [
        "# TYPE apache_accesses_total counter\n",
        "apache_up 1\n",
        "apache_info{mpm=\"event\",version=\"eventmpm/",
        "apache_generation{type=\"config\"} ",
        "apache_scoreboard{state=\"idle\"} ",
        "apache_workers{state=\"busy\"} ",
        "apache_connections{state=\"keepalive\"} ",
        "apache_processes{state=\"all\"} ",
        "apache_version 0.01\n",
    ] {
        assert!(out.contains(line), "{line:?} missing in\n{out}");
    }
    // Each sample line is `name{labels} value`, the value a number Prometheus reads.
    for l in out.lines().filter(|l| l.starts_with("apache_")) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }
    let accesses: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("apache_accesses_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(accesses >= 3.0, "{out}");
    // apache_exporter's own parser, if present, could read ?auto; Python reads ours here.
    let script = format!(
        r#"
import urllib.request
t = urllib.request.urlopen('http://127.0.0.1:{}/server-status?prometheus', timeout=10).read().decode()
names = sorted({{l.split('{{')[0].split(' ')[0] for l in t.splitlines() if l and not l.startswith('#')}})
print(' '.join(names))
"#,
        srv.port
    );
    let (code, out, err) = run_tool("python3", &["-c", &script], Duration::from_secs(20));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out.trim(),
        "apache_accesses_total apache_connections apache_cpu_time_ms_total apache_cpuload \
         apache_duration_ms_total apache_generation apache_info apache_load apache_processes \
         apache_scoreboard apache_sent_kilobytes_total apache_up apache_uptime_seconds_total \
         apache_version apache_workers"
    );
}

/// The first line where two pages differ, for a failure message.
fn first_difference(apache: &[u8], ours: &[u8]) -> String {
    let (a, o) = (
        String::from_utf8_lossy(apache),
        String::from_utf8_lossy(ours),
    );
    a.lines()
        .zip(o.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| format!("line {i}:\n  apache:   {x}\n  eventmpm: {y}"))
        .unwrap_or_else(|| format!("lengths {} and {}", a.len(), o.len()))
}

/// Apache httpd on a loopback port with the same tree and directives, stopped on drop.
struct Apache {
    child: Child,
    port: u16,
}

impl Drop for Apache {
    fn drop(&mut self) {
        common::signal(self.child.id(), 15);
        if common::wait_exit(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Start apache2 serving `docroot` with `directives`, or say why not.
fn start_apache(dir: &Path, docroot: &Path, directives: &str) -> Result<Apache, String> {
    let bin = Path::new("/usr/sbin/apache2");
    let modules = Path::new("/usr/lib/apache2/modules");
    if !bin.exists() || !modules.join("mod_autoindex.so").exists() {
        return Err("apache2 is not installed (ci/install installs it)".into());
    }
    let port = free_port();
    let mut conf = String::new();
    for m in [
        "mpm_event",
        "authz_core",
        "mime",
        "autoindex",
        "dir",
        "filter",
        "deflate",
    ] {
        conf += &format!("LoadModule {m}_module {}/mod_{m}.so\n", modules.display());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        conf += "User nobody\nGroup nogroup\n";
    }
    conf += &format!(
        "ServerRoot {dir}\nPidFile {dir}/apache.pid\nListen 127.0.0.1:{port}\nServerName localhost\n\
         DocumentRoot \"{root}\"\nErrorLog {dir}/apache-error.log\n\
         <Directory \"{root}\">\n  Options Indexes FollowSymLinks\n  Require all granted\n</Directory>\n{directives}",
        dir = dir.display(),
        root = docroot.display()
    );
    let path = dir.join("apache.conf");
    std::fs::write(&path, conf).map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .arg("-f")
        .arg(&path)
        .arg("-DFOREGROUND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run apache2: {e}"))?;
    let end = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(Apache { child, port });
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(format!("apache2 exited at start ({st}): {err}"));
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return Err("apache2 did not listen within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn listings_match_apache_byte_for_byte() {
    let srv = start_render("render-diff", "");
    let dir = srv.scratch.path();
    let types = if Path::new("/etc/mime.types").exists() {
        "TypesConfig /etc/mime.types\n"
    } else {
        ""
    };
    let apache = match start_apache(
        dir,
        &srv.scratch.docroot(),
        &format!("{types}{DEBIAN_AUTOINDEX}"),
    ) {
        Ok(a) => a,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let theirs = SocketAddr::from(([127, 0, 0, 1], apache.port));
    let mut compared = 0;
    let mut differ = Vec::new();
    for path in ["/", "/sub/", "/sub/deeper/", "/empty/"] {
        for q in [
            "",
            "?C=N;O=A",
            "?C=N;O=D",
            "?C=M;O=A",
            "?C=M;O=D",
            "?C=S;O=A",
            "?C=S;O=D",
            "?C=D;O=A",
            "?C=D;O=D",
            "?F=0",
            "?F=1",
            "?F=2",
            "?V=0",
            "?F=1&C=S;O=D",
            "?P=*.txt",
            "?C=Q",
            "?O=D&C=M",
        ] {
            let url = format!("{path}{q}");
            let ours = fetch(srv.addr(), "GET", &url, "");
            let apaches = fetch(theirs, "GET", &url, "");
            compared += 1;
            // Content-Length where Apache sends one: it streams listings that include a
            // HeaderName file (chunked), where ours always have a length.
            let chunked = header(&apaches.1, "Transfer-Encoding").is_some();
            let fields = |h: &str| {
                ["Content-Type", "Vary", "Content-Encoding", "Content-Length"].map(|n| {
                    if chunked && n == "Content-Length" {
                        None
                    } else {
                        header(h, n).map(String::from)
                    }
                })
            };
            if ours.0 != apaches.0 || ours.2 != apaches.2 || fields(&ours.1) != fields(&apaches.1) {
                let first = first_difference(&apaches.2, &ours.2);
                differ.push(format!(
                    "{url}: status {} / {}, fields {:?} / {:?}\n{first}",
                    apaches.0,
                    ours.0,
                    fields(&apaches.1),
                    fields(&ours.1)
                ));
            }
        }
    }
    // Files, with and without gzip, GET and HEAD: the fields a client acts on. (A compressed
    // GET's length differs: httpd streams it, and zlib's bytes are not miniz_oxide's.)
    for path in [
        "/a.txt",
        "/big.txt",
        "/image.png",
        "/pkg.tar.gz",
        "/prog.c",
        "/sub/x.html",
        "/sub/page.html.fr",
        "/numbers.txt",
    ] {
        for ae in [
            "",
            "Accept-Encoding: gzip\r\n",
            "Accept-Encoding: gzip;q=0\r\n",
        ] {
            for method in ["GET", "HEAD"] {
                let ours = fetch(srv.addr(), method, path, ae);
                let apaches = fetch(theirs, method, path, ae);
                compared += 1;
                let gz = header(&apaches.1, "Content-Encoding").is_some();
                let fields = |h: &str| {
                    [
                        "Content-Type",
                        "Vary",
                        "Content-Encoding",
                        "Content-Language",
                        "ETag",
                        "Last-Modified",
                        "Accept-Ranges",
                        "Content-Length",
                    ]
                    .map(|n| match (n, gz, method) {
                        // httpd streams a compressed GET; ours has a length.
                        ("Content-Length", true, "GET") => None,
                        // A compressed HEAD: a length or not as httpd decides, the value
                        // being zlib's output, not miniz_oxide's.
                        ("Content-Length", true, _) => header(h, n).map(|_| "some".into()),
                        _ => header(h, n).map(String::from),
                    })
                };
                let same_body = gz || ours.2 == apaches.2;
                if ours.0 != apaches.0 || fields(&ours.1) != fields(&apaches.1) || !same_body {
                    differ.push(format!(
                        "{method} {path} {ae:?}: status {} / {}\n  apache:   {:?}\n  eventmpm: {:?}",
                        apaches.0,
                        ours.0,
                        fields(&apaches.1),
                        fields(&ours.1)
                    ));
                }
            }
        }
    }
    // A POST to a listed directory: 404, as httpd's default handler answers it.
    let ours = fetch_with_body(srv.addr(), "POST", "/", "", b"x=1");
    let apaches = fetch_with_body(theirs, "POST", "/", "", b"x=1");
    assert_eq!((ours.0, &ours.2), (apaches.0, &apaches.2));
    // HEAD of a listing: the type, no length, as httpd.
    let ours = fetch(srv.addr(), "HEAD", "/", "");
    let apaches = fetch(theirs, "HEAD", "/", "");
    assert_eq!(
        header(&ours.1, "Content-Length"),
        header(&apaches.1, "Content-Length")
    );
    assert_eq!(
        header(&ours.1, "Content-Type"),
        header(&apaches.1, "Content-Type")
    );
    // DirectorySlash Off and DirectoryIndex disabled: slashless directories are listed, their
    // names resolved beside them as httpd's subrequests resolve them.
    let extra = "DirectorySlash Off\nDirectoryIndex disabled\nServerSignature On\n";
    let srv2 = start_render("render-diff-noslash", extra);
    let apache2 = start_apache(
        srv2.scratch.path(),
        &srv2.scratch.docroot(),
        &format!("{types}{DEBIAN_AUTOINDEX}{extra}"),
    )
    .expect("apache2 started once, so it starts again");
    let theirs2 = SocketAddr::from(([127, 0, 0, 1], apache2.port));
    for url in [
        "/sub",
        "/sub/",
        "/empty",
        "/sub/deeper",
        "/sub?C=S;O=D",
        "/",
    ] {
        let ours = fetch(srv2.addr(), "GET", url, "");
        let mut apaches = fetch(theirs2, "GET", url, "");
        // The signature names the server software and the port the Host field gave: each
        // server's own.
        let ours_sig = format!(
            "<address>eventmpm/0.1.0 (Unix) Server at 127.0.0.1 Port {}</address>",
            srv2.port
        );
        let apache_sig = String::from_utf8_lossy(&apaches.2)
            .split("<address>")
            .nth(1)
            .and_then(|s| s.split("</address>").next())
            .map(|s| format!("<address>{s}</address>"));
        if let Some(sig) = apache_sig {
            apaches.2 = String::from_utf8_lossy(&apaches.2)
                .replace(&sig, &ours_sig)
                .into_bytes();
        }
        assert!(
            String::from_utf8_lossy(&ours.2).contains(&ours_sig),
            "{url}: {}",
            String::from_utf8_lossy(&ours.2)
        );
        compared += 1;
        if (ours.0, &ours.2) != (apaches.0, &apaches.2) {
            differ.push(format!(
                "{url} (DirectorySlash Off): status {} / {}\n{}",
                apaches.0,
                ours.0,
                first_difference(&apaches.2, &ours.2)
            ));
        }
    }
    println!(
        "{} of {compared} listings and file responses identical to Apache's",
        compared - differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}

#[test]
fn debians_module_files_apply_unchanged() {
    let dir = Path::new("/etc/apache2/mods-available");
    let files = ["mime.conf", "dir.conf", "autoindex.conf", "deflate.conf"];
    if files.iter().any(|f| !dir.join(f).exists()) {
        println!(
            "skipped: Debian's apache2 module files are not installed (ci/install installs apache2)"
        );
        return;
    }
    let s = Scratch::new("render-debian");
    make_tree(&s);
    // As apache2.conf reads them: each inside its module's <IfModule>, after TypesConfig.
    let mut directives = format!(
        "<Directory \"{}\">\n  Options Indexes FollowSymLinks\n</Directory>\n",
        s.docroot().display()
    );
    for f in files {
        directives += &format!("Include {}\n", dir.join(f).display());
    }
    let srv = start_with(s, &directives, &[]);
    let (status, head, body) = fetch(srv.addr(), "GET", "/?C=S;O=D", "Accept-Encoding: gzip\r\n");
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "Content-Encoding"), Some("gzip"), "{head}");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html;charset=UTF-8")
    );
    assert!(body.starts_with(&[0x1f, 0x8b]), "gzip");
    let (_, _, plain) = fetch(srv.addr(), "GET", "/?C=S;O=D", "");
    let plain = String::from_utf8_lossy(&plain);
    assert!(
        plain.contains("<img src=\"/icons/compressed.gif\" alt=\"[   ]\">"),
        "{plain}"
    );
    assert!(plain.contains("<a href=\"?C=S;O=A\">Size</a>"), "{plain}");
    // mime.conf: .gz is application/x-gzip there, not an encoding.
    let (_, head, _) = fetch(srv.addr(), "HEAD", "/pkg.tar.gz", "");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("application/x-gzip"),
        "{head}"
    );
    assert_eq!(header(&head, "Content-Encoding"), None, "{head}");
    // The notes for what eventmpm does not do are logged, nothing refused.
    assert!(
        srv.error_log().contains("AddHandler type-map"),
        "{}",
        srv.error_log()
    );
}

#[test]
fn listing_and_gzip_under_the_worker_mpm() {
    let srv = start_render("render-worker", common::Mpm::Worker.directive());
    let (status, head, body) = fetch(srv.addr(), "GET", "/?C=S;O=D", "");
    assert_eq!(status, 200, "{head}");
    // Descending by size: the files largest first, then the directories (no size), their
    // names descending too.
    let r = rows(&body);
    assert_eq!(&r[..2], ["numbers.txt", "big.txt"]);
    assert_eq!(&r[r.len() - 2..], ["sub/", "empty/"]);
    let (status, head, body) = fetch(srv.addr(), "GET", "/big.txt", "Accept-Encoding: gzip\r\n");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "Content-Encoding"), Some("gzip"), "{head}");
    assert_eq!(gunzipped_len(&body), 120_000);
    let auto = common::status_auto(&srv);
    assert_eq!(
        common::auto_value(&auto, "ServerMPM").as_deref(),
        Some("worker")
    );
}

/// The length of `gz` decompressed by Python's gzip module (a real client's decoder).
fn gunzipped_len(gz: &[u8]) -> usize {
    let path = std::env::temp_dir().join(format!("eventmpm-render-{}.gz", std::process::id()));
    std::fs::write(&path, gz).unwrap();
    let (code, text, err) = run_tool(
        "python3",
        &[
            "-c",
            "import gzip,sys; print(len(gzip.decompress(open(sys.argv[1],'rb').read())))",
            path.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(0), "{err}");
    text.trim().parse().unwrap()
}

/// mod_mime, mod_autoindex and DEFLATE-filter lines in `<Directory>`, `<Location>`, `<Files>`
/// and `<VirtualHost>`, each overriding or adjusting what it inherits, served by eventmpm and
/// by Apache from one configuration: status, the fields that say what a body is, and the
/// bodies (gzip ones decompressed) compared byte for byte.
#[test]
fn per_directory_output_settings_match_apache() {
    let s = Scratch::new("render-perdir");
    make_tree(&s);
    let text = |n: usize| -> Vec<u8> { (0..n).map(|i| b"klmnopqrstu\n"[i % 12]).collect() };
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_500);
    for (i, (name, len)) in [
        ("sub/s.c", 300),
        ("sub/t.txt", 300),
        ("sub/deeper/z.dat", 500),
        ("sub/deeper/.kept", 10),
        ("sub/deeper/gone.skip", 10),
        ("rt/a.txt", 400),
        ("rt/b.json", 400),
        ("rt/loc/c.data", 400),
        ("rt/loc/e.json", 400),
        ("one/f.json", 400),
    ]
    .iter()
    .enumerate()
    {
        let p = s.file(name, &text(*len));
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(base + Duration::from_secs(i as u64 * 7))
            .unwrap();
    }
    let root = s.docroot();
    let sections = format!(
        r#"<Directory "{r}/sub">
  IndexOptions +SuppressLastModified -HTMLTable
  IndexIgnore *.fr
  AddDescription "The sub page" x.html
  AddType text/x-special .c
  AddCharset ISO-8859-2 .txt
</Directory>
<Directory "{r}/sub/deeper">
  IndexOptions SuppressDescription
  SetOutputFilter DEFLATE
  ForceType text/plain
  IndexIgnoreReset On
  IndexIgnore *.skip
</Directory>
AddCharset UTF-8 .json
<Directory "{r}/rt/loc">
  IndexOptions +SuppressSize
  RemoveCharset .json
</Directory>
<Directory "{r}/one">
  RemoveCharset .json
</Directory>
<Directory "{r}/rt">
  IndexOptions +FoldersFirst
  RemoveType .txt
  AddOutputFilterByType DEFLATE application/json
  AddLanguage de .txt
  DefaultLanguage en
</Directory>
<Location /empty>
  IndexOptions +SuppressIcon
  IndexOrderDefault Descending Size
</Location>
<Location /rt/loc>
  AddType application/json .data
</Location>
<Location /rt>
  IndexIgnore *.json
  AddIcon /icons/from-location.gif .txt
  AddDescription "From a Location" a.txt
</Location>
<Files "*.png">
  ForceType application/x-forced
</Files>
<VirtualHost *>
  ServerName localhost
</VirtualHost>
<VirtualHost *>
  ServerName v2.test
  IndexOptions -HTMLTable +SuppressSize
  AddOutputFilterByType DEFLATE text/x-c
  AddType text/x-c .c
  AddCharset UTF-8 .c
</VirtualHost>
"#,
        r = root.display()
    );
    let types = if Path::new("/etc/mime.types").exists() {
        "TypesConfig /etc/mime.types\n"
    } else {
        ""
    };
    let directives = format!("{types}{DEBIAN_AUTOINDEX}{sections}");
    let ours_conf = format!(
        "<Directory \"{r}\">\n  Options Indexes FollowSymLinks\n</Directory>\n{directives}",
        r = root.display()
    );
    let scratch_dir = s.path().to_path_buf();
    let srv = start_with(s, &ours_conf, &[]);
    let apache = match start_apache(&scratch_dir, &root, &directives) {
        Ok(a) => a,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let theirs = SocketAddr::from(([127, 0, 0, 1], apache.port));
    let gunzip = |tag: &str, body: &[u8]| -> Vec<u8> {
        let p = scratch_dir.join(format!("body-{tag}.gz"));
        std::fs::write(&p, body).unwrap();
        // Into a file: run_tool's pipes would fill with a large body.
        let out = scratch_dir.join(format!("body-{tag}"));
        let script = format!("gzip -dc '{}' > '{}'", p.display(), out.display());
        let (code, _, err) = run_tool("sh", &["-c", &script], Duration::from_secs(10));
        assert_eq!(code, Some(0), "gzip -dc: {err}");
        std::fs::read(out).unwrap()
    };
    let names = [
        "Content-Type",
        "Content-Encoding",
        "Content-Language",
        "Vary",
        "ETag",
    ];
    let mut compared = 0;
    let mut differ = Vec::new();
    for host in ["", "Host: v2.test\r\n"] {
        for path in [
            "/",
            "/sub/",
            "/sub/deeper/",
            "/empty/",
            "/rt/",
            "/rt/loc/",
            "/a.txt",
            "/prog.c",
            "/image.png",
            "/sub/s.c",
            "/sub/t.txt",
            "/sub/x.html",
            "/sub/page.html.fr",
            "/sub/deeper/z.dat",
            "/sub/deeper/y.bin",
            "/rt/a.txt",
            "/rt/b.json",
            "/rt/loc/c.data",
            "/rt/loc/e.json",
            "/one/f.json",
            "/numbers.txt",
        ] {
            for ae in ["", "Accept-Encoding: gzip\r\n"] {
                // Past eventmpm's whole-file gzip bound (see "Where eventmpm chose"); and a
                // listing with a HeaderName file, which httpd sends uncompressed (with Vary)
                // whatever the sections say, and eventmpm compresses (not a per-directory
                // matter: the same without sections).
                if (path.ends_with(".bin") || path == "/sub/") && !ae.is_empty() {
                    continue;
                }
                let extra = format!("{host}{ae}");
                let ours = fetch(srv.addr(), "GET", path, &extra);
                let apaches = fetch(theirs, "GET", path, &extra);
                compared += 1;
                let fields = |h: &str| names.map(|n| header(h, n).map(String::from));
                let body = |tag: &str, h: &str, b: &[u8]| {
                    if header(h, "Content-Encoding") == Some("gzip") {
                        gunzip(tag, b)
                    } else {
                        b.to_vec()
                    }
                };
                let (ob, ab) = (
                    body("ours", &ours.1, &ours.2),
                    body("apache", &apaches.1, &apaches.2),
                );
                if ours.0 != apaches.0 || fields(&ours.1) != fields(&apaches.1) || ob != ab {
                    differ.push(format!(
                        "{host:?} {path} {ae:?}: status {} / {}\n  apache:   {:?}\n  eventmpm: {:?}\n{}",
                        apaches.0,
                        ours.0,
                        fields(&apaches.1),
                        fields(&ours.1),
                        first_difference(&ab, &ob)
                    ));
                }
            }
        }
    }
    println!(
        "{} of {compared} answers match Apache's",
        compared - differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // The sections did something: a listing's options replaced, an ignore added (and
    // IndexIgnoreReset lost, as /sub's section is merged with it first), a type forced.
    let deeper =
        String::from_utf8_lossy(&fetch(srv.addr(), "GET", "/sub/deeper/", "").2).into_owned();
    assert!(
        deeper.contains("<ul>") && deeper.contains("y.bin"),
        "{deeper}"
    );
    assert!(
        !deeper.contains("gone.skip") && !deeper.contains(".kept"),
        "{deeper}"
    );
    // A <Location>'s icons and ignores apply to no entry (httpd matches them against file
    // paths); its descriptions do.
    let rt = String::from_utf8_lossy(&fetch(srv.addr(), "GET", "/rt/", "").2).into_owned();
    assert!(
        rt.contains("b.json") && !rt.contains("from-location.gif"),
        "{rt}"
    );
    assert!(rt.contains("From a Location"), "{rt}");
    // Two <Directory> sections with `IndexOptions +X` each: httpd merges them first, and
    // their sum replaces the server's options (no FancyIndexing below /rt/loc/).
    assert!(rt.contains("<table>"), "{rt}");
    let loc = String::from_utf8_lossy(&fetch(srv.addr(), "GET", "/rt/loc/", "").2).into_owned();
    assert!(loc.contains("<ul>") && !loc.contains("<table>"), "{loc}");
    // RemoveCharset in the second of two <Directory> sections with mod_mime lines clears
    // nothing inherited (httpd merges the two first); alone in its walk, it does.
    let ct = |p: &str| header(&fetch(srv.addr(), "GET", p, "").1, "Content-Type").map(String::from);
    assert_eq!(
        ct("/rt/loc/e.json").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(ct("/one/f.json").as_deref(), Some("application/json"));
    let png = fetch(srv.addr(), "GET", "/image.png", "");
    assert_eq!(header(&png.1, "Content-Type"), Some("application/x-forced"));
}

/// mod_deflate's own settings, per host as httpd keeps them, against Apache: with the system
/// zlib (x86-64 Linux, where eventmpm links it) a gzip'd body is Apache's to the byte, with the
/// defaults (memLevel 9: a memLevel of 8 gives other bytes for this file, so the comparison
/// can tell) and with a smaller level, window and memLevel; a window zlib refuses for a raw
/// stream (8) leaves the answer uncompressed, with its `Vary`, and AH01383 in the error log, on
/// both servers.
#[test]
fn deflate_settings_match_apache_to_the_byte() {
    let s = Scratch::new("render-zlib");
    make_tree(&s);
    // 600 KB of words over a 4,000-word vocabulary (a fixed generator): text that compresses
    // as pages do, under eventmpm's whole-file bound, long enough that memLevel shows.
    let mut x: u64 = 7;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let vocabulary: Vec<String> = (0..4000)
        .map(|_| {
            (0..2 + next() % 8)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    let mut words = String::new();
    while words.len() < 600_000 {
        words += &vocabulary[next() % vocabulary.len()];
        words.push(if next() % 12 == 0 { '\n' } else { ' ' });
    }
    s.file("words.txt", words.as_bytes());
    let root = s.docroot();
    // Apache needs a TypesConfig; .txt is typed by the AddType either way.
    let types = if Path::new("/etc/mime.types").exists() {
        "/etc/mime.types"
    } else {
        "/dev/null"
    };
    let directives = &format!(
        "TypesConfig {types}\nAddType text/plain .txt\nAddOutputFilterByType DEFLATE text/plain\n\
        <VirtualHost *>\n  ServerName localhost\n</VirtualHost>\n\
        <VirtualHost *>\n  ServerName mem8.test\n  DeflateMemLevel 8\n</VirtualHost>\n\
        <VirtualHost *>\n  ServerName small.test\n  DeflateCompressionLevel 3\n  \
        DeflateWindowSize 10\n  DeflateMemLevel 2\n</VirtualHost>\n\
        <VirtualHost *>\n  ServerName refused.test\n  DeflateWindowSize 8\n</VirtualHost>\n"
    );
    let ours_conf = format!(
        "<Directory \"{r}\">\n  Options Indexes FollowSymLinks\n</Directory>\n{directives}",
        r = root.display()
    );
    let scratch_dir = s.path().to_path_buf();
    let srv = start_with(s, &ours_conf, &[]);
    let apache = match start_apache(&scratch_dir, &root, directives) {
        Ok(a) => a,
        Err(why) if !Path::new("/usr/sbin/apache2").exists() => {
            println!("skipped: {why}");
            return;
        }
        Err(why) => panic!(
            "{why}\n{}",
            std::fs::read_to_string(scratch_dir.join("apache-error.log")).unwrap_or_default()
        ),
    };
    let theirs = SocketAddr::from(([127, 0, 0, 1], apache.port));
    let zlib = cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    ));
    let mut bodies = Vec::new();
    for host in ["localhost", "mem8.test", "small.test", "refused.test"] {
        let extra = format!("Host: {host}\r\nAccept-Encoding: gzip\r\n");
        let ours = fetch(srv.addr(), "GET", "/words.txt", &extra);
        let apaches = fetch(theirs, "GET", "/words.txt", &extra);
        assert_eq!((ours.0, apaches.0), (200, 200), "{host}");
        for name in [
            "Content-Encoding",
            "Vary",
            "ETag",
            "Content-Length",
            "Transfer-Encoding",
        ] {
            assert_eq!(
                header(&ours.1, name),
                header(&apaches.1, name),
                "{host}: {name}\n--- eventmpm\n{}\n--- apache\n{}",
                ours.1,
                apaches.1
            );
        }
        if host == "refused.test" {
            assert_eq!(header(&ours.1, "Content-Encoding"), None);
            assert_eq!(header(&ours.1, "Vary"), Some("Accept-Encoding"));
            assert!(ours.2 == words.as_bytes() && apaches.2 == words.as_bytes());
            continue;
        }
        assert_eq!(header(&ours.1, "Content-Encoding"), Some("gzip"), "{host}");
        if zlib {
            assert!(
                ours.2 == apaches.2,
                "{host}: gzip'd bodies of {} and {} bytes differ",
                ours.2.len(),
                apaches.2.len()
            );
        }
        bodies.push(apaches.2);
    }
    assert_ne!(bodies[0], bodies[1], "memLevel 8 makes other bytes");
    assert_ne!(bodies[0], bodies[2]);
    let line = "AH01383: unable to init Zlib: deflateInit2 returned -2: URL /words.txt";
    let apache_log = std::fs::read_to_string(scratch_dir.join("apache-error.log")).unwrap();
    assert!(apache_log.contains(line), "{apache_log}");
    assert!(
        common::eventually(Duration::from_secs(5), || srv.error_log().contains(line)),
        "{}",
        srv.error_log()
    );
}
