//! The command line and the configuration loader of the real binary: `-t` on Debian's files
//! and on conf/eventmpm.conf, `file:line: message` errors, `-v`/`-V`/`-D`/`-C`/`-c`/`-h`, the
//! built-in defaults on 127.0.0.1:8080, and httpd's clamp warnings at start-up.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository root (where conf/ and tests/fixtures/ live).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `eventmpm -t -d SCRATCH -f SCRATCH/NAME [extra…]`: (exit code, stdout, stderr).
fn syntax_check(s: &Scratch, name: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let conf = s.path().join(name);
    let (root, conf) = (s.path().to_str().unwrap(), conf.to_str().unwrap());
    let mut args = vec!["-t", "-d", root, "-f", conf];
    args.extend_from_slice(extra);
    run_binary(&args, s.path())
}

fn write(s: &Scratch, rel: &str, text: &str) -> PathBuf {
    let p = s.path().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// A Debian-style tree: apache2.conf reads mods-enabled/*.load then mods-enabled/*.conf, as
/// Debian's does; the .conf files wrap Debian's unchanged files in the `<IfModule>` their
/// module's name implies, and the .load files hold Debian's LoadModule lines.
fn debian_tree(s: &Scratch, mpm: &str) {
    let fixtures = repo().join("tests/fixtures/debian");
    let f = |n: &str| fixtures.join(n).display().to_string();
    write(
        s,
        "apache2.conf",
        &format!(
            "# The parts of Debian's apache2.conf eventmpm reads.\n\
             DefaultRuntimeDir logs\n\
             Timeout 300\n\
             KeepAlive On\n\
             MaxKeepAliveRequests 100\n\
             KeepAliveTimeout 5\n\
             ErrorLog logs/error.log\n\
             LogLevel warn\n\
             IncludeOptional mods-enabled/*.load\n\
             IncludeOptional mods-enabled/*.conf\n\
             Include ports.conf\n\
             <Directory />\n\tOptions FollowSymLinks\n\tAllowOverride None\n\tRequire all denied\n</Directory>\n\
             <Directory {root}/htdocs>\n\tOptions Indexes FollowSymLinks\n\tAllowOverride None\n\tRequire all granted\n</Directory>\n\
             AccessFileName .htaccess\n\
             LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" combined\n\
             DocumentRoot {root}/htdocs\n",
            root = s.path().display()
        ),
    );
    write(s, "ports.conf", "Listen 127.0.0.1:1\n");
    write(
        s,
        &format!("mods-enabled/mpm_{mpm}.load"),
        &format!(
            "# Depends: mpm_{mpm}\nLoadModule mpm_{mpm}_module /usr/lib/apache2/modules/mod_mpm_{mpm}.so\n"
        ),
    );
    for m in ["event", "worker"] {
        write(
            s,
            &format!("mods-enabled/mpm_{m}.conf"),
            &format!(
                "<IfModule mpm_{m}_module>\nInclude {}\n</IfModule>\n",
                f(&format!("mpm_{m}.conf"))
            ),
        );
    }
    write(
        s,
        "mods-enabled/status.load",
        "LoadModule status_module /usr/lib/apache2/modules/mod_status.so\n",
    );
    write(
        s,
        "mods-enabled/status.conf",
        &format!(
            "<IfModule mod_status.c>\nInclude {}\n</IfModule>\n",
            f("status.conf")
        ),
    );
    write(
        s,
        "mods-enabled/reqtimeout.load",
        "LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so\n",
    );
    write(
        s,
        "mods-enabled/reqtimeout.conf",
        &format!(
            "<IfModule reqtimeout_module>\nInclude {}\n</IfModule>\n",
            f("reqtimeout.conf")
        ),
    );
}

#[test]
fn debian_files_pass_the_syntax_check_under_event_and_worker() {
    for mpm in ["event", "worker"] {
        let s = Scratch::new(&format!("debian-{mpm}"));
        debian_tree(&s, mpm);
        let (code, out, err) = syntax_check(&s, "apache2.conf", &[]);
        assert_eq!(code, Some(0), "{mpm}: {out}{err}");
        assert!(err.ends_with("Syntax OK\n"), "{mpm}: {err}");
        assert!(!err.contains("WARNING"), "{mpm}: {err}");
        assert!(
            err.contains("LoadModule status_module: built into eventmpm; line ignored"),
            "{mpm}: {err}"
        );
        // The .load file chose the MPM.
        let root = s.path().to_str().unwrap();
        let conf = s.path().join("apache2.conf");
        let (code, out, err) =
            run_binary(&["-V", "-d", root, "-f", conf.to_str().unwrap()], s.path());
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(
            out.contains(&format!("Server MPM:     {mpm}\n")),
            "{mpm}: {out}"
        );
    }
}

#[test]
fn debian_mpm_file_under_the_wrong_mpm_is_skipped_by_ifmodule() {
    // AsyncRequestWorkerFactor is event-only ("Invalid command" under worker, as in httpd):
    // only a false <IfModule mpm_event_module> lets this pass under worker.
    let s = Scratch::new("debian-wrong-mpm");
    debian_tree(&s, "worker");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.path().join("mods-enabled/mpm_event.conf"))
        .unwrap();
    writeln!(
        f,
        "<IfModule mpm_event_module>\nAsyncRequestWorkerFactor 2\n</IfModule>"
    )
    .unwrap();
    let (code, _, err) = syntax_check(&s, "apache2.conf", &[]);
    assert_eq!(code, Some(0), "{err}");
    // The same line where it is read is an error, at its own file and line.
    write(
        &s,
        "mods-enabled/zz-factor.conf",
        "# worker has no such directive\nAsyncRequestWorkerFactor 2\n",
    );
    let (code, _, err) = syntax_check(&s, "apache2.conf", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "{}:2: Invalid command 'AsyncRequestWorkerFactor', perhaps misspelled or defined by a \
             module not included in the server configuration",
            s.path().join("mods-enabled/zz-factor.conf").display()
        )
    );
}

#[test]
fn shipped_configuration_passes_the_syntax_check_silently() {
    for extra in [&[][..], &["-C", "LoadModule mpm_worker_module x"][..]] {
        let mut args = vec!["-t", "-f", "conf/eventmpm.conf"];
        args.extend_from_slice(extra);
        let (code, out, err) = run_binary(&args, repo());
        assert_eq!(code, Some(0), "{extra:?}: {out}{err}");
        assert_eq!(err, "Syntax OK\n", "{extra:?}: no notes or warnings");
    }
}

#[test]
fn shipped_configuration_examples_are_valid_when_uncommented() {
    // Every commented-out directive line, uncommented (but the second MPM, Include examples
    // that name files a checkout lacks, and TypesConfig, which names a system file).
    let text = std::fs::read_to_string(repo().join("conf/eventmpm.conf")).unwrap();
    let mut n = 0;
    let uncommented: String = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let keep = ["#LoadModule mpm_worker", "#Include", "#TypesConfig"];
            match t.strip_prefix('#') {
                Some(rest)
                    if rest.starts_with(|c: char| c.is_ascii_uppercase())
                        && !keep.iter().any(|k| t.starts_with(k)) =>
                {
                    n += 1;
                    format!("{}{rest}\n", &l[..l.len() - t.len()])
                }
                _ => format!("{l}\n"),
            }
        })
        .collect();
    assert!(n >= 20, "{n} examples uncommented");
    let s = Scratch::new("uncommented");
    let conf = write(&s, "all.conf", &uncommented);
    let (code, out, err) = run_binary(&["-t", "-f", conf.to_str().unwrap()], repo());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.ends_with("Syntax OK\n"), "{err}");
    assert!(
        err.contains("HostnameLookups is accepted and has no effect in eventmpm"),
        "{err}"
    );
    assert!(err.contains("MaxClients is deprecated"), "{err}");
}

/// Directive names from the sources: the core's table (`spec(Id::…, "Name", …)`) and the
/// runtime's `match lname.as_str()` arms in `Reader::directive`.
fn directives_in_sources() -> Vec<String> {
    let core = std::fs::read_to_string(repo().join("core/src/config/directives.rs")).unwrap();
    let mut names: Vec<String> = core
        .split("spec(")
        .skip(1)
        .filter_map(|chunk| chunk.split('"').nth(1).map(str::to_string))
        .collect();
    assert!(names.len() >= 35, "core table: {names:?}");
    let rt = std::fs::read_to_string(repo().join("src/config/reader.rs")).unwrap();
    let body = &rt[rt.find("fn directive(").unwrap()..];
    let body = &body[body.find("match lname.as_str() {").unwrap()..];
    let before = names.len();
    for line in body.lines().skip(1) {
        // The arms sit at 12 spaces; nested matches are deeper.
        let Some(arm) = line.strip_prefix("            ") else {
            continue;
        };
        if arm.starts_with("_ =>") {
            break;
        }
        if arm.starts_with('"') || arm.starts_with("| \"") {
            let head = arm.split("=>").next().unwrap();
            names.extend(head.split('"').skip(1).step_by(2).map(str::to_string));
        }
    }
    assert!(names.len() - before >= 20, "runtime arms: {names:?}");
    names
}

#[test]
fn shipped_configuration_documents_every_directive() {
    let text = std::fs::read_to_string(repo().join("conf/eventmpm.conf")).unwrap();
    let documented: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let t = l.trim_start();
            // An active line, or a commented-out one ("#Name ..."); not comment prose.
            let t = t.strip_prefix('#').unwrap_or(t);
            if t.starts_with(char::is_whitespace) {
                return None;
            }
            t.split_whitespace().next().map(str::to_ascii_lowercase)
        })
        .collect();
    let mut missing: Vec<String> = directives_in_sources()
        .into_iter()
        .filter(|d| !documented.contains(&d.to_ascii_lowercase()))
        .collect();
    for section in [
        "<IfModule",
        "<IfDefine",
        "<Location",
        "<Directory",
        "<VirtualHost",
        "<Files",
    ] {
        if !documented
            .iter()
            .any(|d| d == &section.to_ascii_lowercase())
        {
            missing.push(section.to_string());
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "not in conf/eventmpm.conf: {missing:?}");
    assert!(text.lines().count() < 400);
}

#[test]
fn errors_are_file_line_message_with_exit_status_1() {
    let s = Scratch::new("errors");
    std::fs::create_dir_all(s.path().join("empty.d")).unwrap();
    write(
        &s,
        "sub/inner.conf",
        "# inner\nKeepAliveTimeout 5\nLimitRequestLine abc def\n",
    );
    let main = s.path().join("main.conf").display().to_string();
    let inner = s.path().join("sub/inner.conf").display().to_string();
    let root = s.path().display().to_string();
    let l = "Listen 127.0.0.1:1\n";
    let cases: Vec<(String, String)> = vec![
        (
            format!("{l}\n# comment\nBogusDirective on\n"),
            format!(
                "{main}:4: Invalid command 'BogusDirective', perhaps misspelled or defined by a \
                 module not included in the server configuration"
            ),
        ),
        (
            format!("{l}<Location /x>\n  SetHandler server-status\n  Requier local\n</Location>\n"),
            format!(
                "{main}:4: Invalid command 'Requier', perhaps misspelled or defined by a module \
                 not included in the server configuration"
            ),
        ),
        (
            format!("{l}ThreadsPerChild 1 2\n"),
            format!(
                "{main}:2: ThreadsPerChild takes one argument, Number of threads each child creates"
            ),
        ),
        (
            "Listen\n".to_string(),
            format!("{main}:1: Listen requires 1 or 2 arguments."),
        ),
        // ErrorDocument, with httpd's messages (server/core.c's set_error_document).
        (
            format!("{l}ErrorDocument 999 /oops.html\n"),
            format!("{main}:2: Unsupported HTTP response code 999"),
        ),
        (
            format!("{l}<Location /x>\n  ErrorDocument 419 \"no such status\"\n</Location>\n"),
            format!("{main}:3: Unsupported HTTP response code 419"),
        ),
        (
            format!("{l}ErrorDocument 404\n"),
            format!(
                "{main}:2: ErrorDocument takes two arguments, Change responses for HTTP errors"
            ),
        ),
        // A continued line is reported at its first physical line.
        (
            format!("{l}KeepAlive \\\n   maybe\n"),
            format!("{main}:2: KeepAlive must be On or Off"),
        ),
        (
            format!("{l}Timeout -1\n"),
            format!("{main}:2: Timeout \"-1\" must be a non-negative integer"),
        ),
        (
            format!("{l}\nRequestReadTimeout header=10-5,MinRate=1\n"),
            format!(
                "{main}:3: RequestReadTimeout: header=10-5,MinRate=1: Maximum timeout must be \
                 larger than initial timeout"
            ),
        ),
        (
            format!("{l}Listen localhost:80\n"),
            format!("{main}:2: Listen needs a numeric IP address, not the host name localhost"),
        ),
        (
            format!("{l}<IfModule mod_status.c>\n<Location /x>\nRequire local\n</Location>\n"),
            format!("{main}:2: <IfModule> was not closed."),
        ),
        (
            format!("{l}<Location /x>\n</Directory>\n"),
            format!("{main}:3: Expected </Location> but saw </Directory>"),
        ),
        (
            format!("{l}Include conf.d/*.conf\n"),
            format!(
                "{main}:2: Could not open config directory {root}/conf.d: No such file or directory"
            ),
        ),
        (
            format!("{l}\nInclude empty.d/*.conf\n"),
            format!("{main}:3: No matches for the wildcard '*.conf' in '{root}/empty.d', failing"),
        ),
        (
            format!("{l}Include */x.conf\n"),
            format!(
                "{main}:2: wildcards are supported in the last path component only: {root}/*/x.conf"
            ),
        ),
        // Inside an included file: that file's name and line.
        (
            format!("{l}Include sub/inner.conf\n"),
            format!(
                "{inner}:3: LimitRequestLine takes one argument, Limit on maximum size of an HTTP request line"
            ),
        ),
        (
            format!("{l}\n\nInclude sub/*.conf\n"),
            format!(
                "{inner}:3: LimitRequestLine takes one argument, Limit on maximum size of an HTTP request line"
            ),
        ),
        (
            format!("{l}<Location /upload>\nLimitRequestBody 10\n</Location>\n"),
            format!(
                "{main}:3: LimitRequestBody inside <Location> or <Directory> is not supported by \
                 eventmpm; set it at server level"
            ),
        ),
        (
            format!("{l}ErrorLog \"|/usr/bin/logger\"\n"),
            format!(
                "{main}:2: piped and syslog ErrorLog targets are not supported by eventmpm; give a file"
            ),
        ),
        (
            "ServerName localhost\nKeepAlive On\n".to_string(),
            format!("{main}: no listening sockets available, shutting down (no Listen directive)"),
        ),
    ];
    for (text, expected) in &cases {
        std::fs::write(s.path().join("main.conf"), text).unwrap();
        let (code, out, err) = syntax_check(&s, "main.conf", &[]);
        assert_eq!(code, Some(1), "{text:?}: {out}{err}");
        assert_eq!(err.trim_end(), expected, "{text:?}");
        assert!(!out.contains("Syntax OK"), "{text:?}: {out}");
    }
    // A missing file without a wildcard: at the Include line, with the OS's reason.
    std::fs::write(
        s.path().join("main.conf"),
        format!("{l}\nInclude gone.conf\n"),
    )
    .unwrap();
    let (code, _, err) = syntax_check(&s, "main.conf", &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with(&format!(
            "{main}:3: Could not open configuration file {root}/gone.conf: No such file"
        )),
        "{err}"
    );
    // IncludeOptional takes a wildcard matching nothing, and a missing file.
    std::fs::write(
        s.path().join("main.conf"),
        format!("{l}IncludeOptional empty.d/*.conf\nIncludeOptional gone.conf\n"),
    )
    .unwrap();
    let (code, _, err) = syntax_check(&s, "main.conf", &[]);
    assert_eq!((code, err.as_str()), (Some(0), "Syntax OK\n"));
    // ErrorDocument in every context it is allowed in; a URL for 401 is ignored with httpd's
    // notice, naming its line.
    std::fs::write(
        s.path().join("main.conf"),
        format!(
            "{l}ErrorDocument 404 /nf.html\nErrorDocument 401 https://login.example/\n\
             <VirtualHost *:1>\n  ErrorDocument 403 \"go away\"\n</VirtualHost>\n\
             <Directory /tmp>\n  ErrorDocument 500 https://status.example/\n</Directory>\n\
             <Files x>\n  ErrorDocument 404 default\n</Files>\n"
        ),
    )
    .unwrap();
    let (code, out, err) = syntax_check(&s, "main.conf", &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains(&format!(
            "AH00113: {main}:3 cannot use a full URL in a 401 ErrorDocument directive --- ignoring!"
        )),
        "{err}"
    );
    // A -c directive is "file" -c, line = its position among the -c options.
    std::fs::write(s.path().join("main.conf"), l).unwrap();
    let (code, _, err) = syntax_check(&s, "main.conf", &["-c", "KeepAlive On", "-c", "Bogus 1"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim_end(),
        "-c:2: Invalid command 'Bogus', perhaps misspelled or defined by a module not included in \
         the server configuration"
    );
}

#[test]
fn version_settings_and_modules() {
    let tmp = std::env::temp_dir();
    let (code, out, err) = run_binary(&["-v"], &tmp);
    assert_eq!(code, Some(0), "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!(
                "Server version: eventmpm/{} (Unix)",
                env!("CARGO_PKG_VERSION")
            )
            .as_str()
        )
    );
    assert!(
        lines.next().unwrap().starts_with("Server built:   "),
        "{out}"
    );
    assert_eq!(lines.next(), None, "{out}");

    let (code, out, err) = run_binary(&["-V"], &tmp);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("Server version: eventmpm/"), "{out}");
    assert!(out.contains("\nServer MPM:     event\n"), "{out}");
    // The deflate implementation: the system zlib where the build links it (Cargo.toml).
    let deflate = if cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    )) {
        " -D DEFLATE=\"zlib 1."
    } else {
        " -D DEFLATE=\"miniz_oxide\"\n"
    };
    assert!(out.contains(deflate), "{out}");
    let (code, out, err) = run_binary(&["-V", "-C", "LoadModule mpm_worker_module x"], &tmp);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\nServer MPM:     worker\n"), "{out}");

    let (code, out, _) = run_binary(&["-M"], &tmp);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("Loaded Modules:\n"), "{out}");
    assert!(out.contains(" mpm_event_module (static)\n"), "{out}");
    assert!(out.contains(" status_module (static)\n"), "{out}");
    let (code, out, _) = run_binary(&["-l", "-C", "LoadModule mpm_worker_module x"], &tmp);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("  mpm_worker_module\n") && !out.contains("mpm_event"),
        "{out}"
    );
}

#[test]
fn help_exits_0_and_an_unknown_flag_exits_1() {
    let tmp = std::env::temp_dir();
    let (code, out, err) = run_binary(&["-h"], &tmp);
    assert_eq!(code, Some(0), "{out}{err}");
    let help = format!("{out}{err}");
    assert!(help.contains("Usage: eventmpm"), "{help}");
    for flag in [
        "-D name",
        "-f file",
        "-C \"directive\"",
        "-t ",
        "-v ",
        "-V ",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    let (code, out, err) = run_binary(&["-Q"], &tmp);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("illegal option -- 'Q'"), "{err}");
    assert!(err.contains("Usage: eventmpm"), "{err}");
    let (code, _, err) = run_binary(&["-f"], &tmp);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("option requires an argument -- 'f'"), "{err}");
}

#[test]
fn define_flags_select_ifdefine_sections() {
    let s = Scratch::new("define");
    let conf = write(
        &s,
        "d.conf",
        "Listen 127.0.0.1:1\n<IfDefine FOO>\nBogusFoo on\n</IfDefine>\n\
         <IfDefine !BAR>\nBogusNotBar on\n</IfDefine>\n",
    );
    let c = conf.display().to_string();
    let invalid = |name: &str, line: u32| {
        format!(
            "{c}:{line}: Invalid command '{name}', perhaps misspelled or defined by a module not \
             included in the server configuration"
        )
    };
    let (code, _, err) = syntax_check(&s, "d.conf", &[]);
    assert_eq!(
        (code, err.trim_end()),
        (Some(1), invalid("BogusNotBar", 6).as_str())
    );
    let (code, _, err) = syntax_check(&s, "d.conf", &["-D", "BAR"]);
    assert_eq!((code, err.as_str()), (Some(0), "Syntax OK\n"));
    let (code, _, err) = syntax_check(&s, "d.conf", &["-D", "BAR", "-D", "FOO"]);
    assert_eq!(
        (code, err.trim_end()),
        (Some(1), invalid("BogusFoo", 3).as_str())
    );
    // httpd's getopt form: the name attached to the flag.
    let (code, _, err) = syntax_check(&s, "d.conf", &["-DBAR", "-DFOO"]);
    assert_eq!(
        (code, err.trim_end()),
        (Some(1), invalid("BogusFoo", 3).as_str())
    );
}

#[test]
fn before_and_after_directives_apply_in_order() {
    let s = Scratch::new("before-after");
    write(&s, "w.conf", "ThreadsPerChild 30\nMaxRequestWorkers 40\n");
    let warning = "WARNING: ThreadsPerChild of 30 exceeds ThreadLimit of 20 threads, decreasing \
                   to 20. To increase, please see the ThreadLimit directive.";
    // -c supplies the Listen the file lacks; -C ThreadLimit applies before the file's
    // ThreadsPerChild, which then exceeds it.
    let (code, _, err) = syntax_check(
        &s,
        "w.conf",
        &["-C", "ThreadLimit 20", "-c", "Listen 127.0.0.1:1"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(warning), "{err}");
    // -C ThreadsPerChild is overridden by the file's; -c ThreadsPerChild overrides it.
    let (code, _, err) = syntax_check(
        &s,
        "w.conf",
        &[
            "-C",
            "ThreadLimit 20",
            "-C",
            "ThreadsPerChild 10",
            "-c",
            "Listen 127.0.0.1:1",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(warning), "{err}");
    let (code, _, err) = syntax_check(
        &s,
        "w.conf",
        &[
            "-C",
            "ThreadLimit 20",
            "-c",
            "ThreadsPerChild 10",
            "-c",
            "Listen 127.0.0.1:1",
        ],
    );
    assert_eq!((code, err.as_str()), (Some(0), "Syntax OK\n"));
}

#[test]
fn built_in_defaults_serve_the_current_directory_on_8080() {
    // Port 8080 is the built-in default by design; a machine using it cannot run this test.
    if let Err(e) = TcpListener::bind("127.0.0.1:8080") {
        panic!(
            "127.0.0.1:8080 is not free ({e}): eventmpm without -f listens there by design, so \
             this test needs it; stop whatever holds it (ss -ltnp 'sport = :8080')"
        );
    }
    let s = Scratch::new("builtin");
    let marker = format!("built-in defaults test {}\n", std::process::id());
    std::fs::write(s.path().join("index.html"), &marker).unwrap();
    let cwd = s.path().to_path_buf();
    let mut srv = start_args(s, 8080, &[], &cwd);

    let r = raw(
        &srv,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 200, "{}", String::from_utf8_lossy(&r));
    assert!(
        r.ends_with(marker.as_bytes()),
        "{}",
        String::from_utf8_lossy(&r)
    );

    // The newcomer's case: a directory without index.html is listed, as httpd's defaults do.
    std::fs::create_dir_all(cwd.join("pub")).unwrap();
    std::fs::write(cwd.join("pub/notes.txt"), b"notes\n").unwrap();
    let listing = raw(
        &srv,
        b"GET /pub/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let listing = String::from_utf8_lossy(&listing);
    assert_eq!(status_of(listing.as_bytes()), 200, "{listing}");
    assert!(
        listing.contains("<h1>Index of /pub</h1>\n<ul><li><a href=\"/\"> Parent Directory</a></li>\n<li><a href=\"notes.txt\"> notes.txt</a></li>\n</ul>"),
        "{listing}"
    );

    let html = raw(&srv, b"GET /server-status HTTP/1.0\r\n\r\n");
    let html = String::from_utf8_lossy(&html);
    assert_eq!(status_of(html.as_bytes()), 200, "{html}");
    assert!(html.contains("Server MPM: event"), "{html}");
    let auto = status_auto(&srv);
    assert_eq!(
        auto_value(&auto, "ServerMPM").as_deref(),
        Some("event"),
        "{auto}"
    );
    assert!(
        auto.contains("\nTotal Accesses: "),
        "ExtendedStatus On: {auto}"
    );

    assert_eq!(srv.stop(), Some(0), "stderr: {}", srv.stderr());
}

#[test]
fn clamp_warnings_go_to_stderr_and_the_server_still_starts() {
    let s = Scratch::new("clamp");
    s.file("index.html", b"ok\n");
    let port = free_port();
    let conf = write(
        &s,
        "clamp.conf",
        &format!(
            "Listen 127.0.0.1:{port}\nDocumentRoot htdocs\nErrorLog logs/error.log\n\
             <Location /server-status>\nSetHandler server-status\nRequire local\n</Location>\n\
             ThreadLimit 20\nThreadsPerChild 30\nMaxRequestWorkers 40\nStartServers 0\n"
        ),
    );
    let root = s.path().to_str().unwrap().to_string();
    let srv = start_args(
        s,
        port,
        &["-d", &root, "-f", conf.to_str().unwrap()],
        Path::new(&root),
    );
    let err = srv.stderr();
    for w in [
        "WARNING: ThreadsPerChild of 30 exceeds ThreadLimit of 20 threads, decreasing to 20. To \
         increase, please see the ThreadLimit directive.",
        "WARNING: StartServers of 0 not allowed, increasing to 1.",
    ] {
        assert!(err.lines().any(|l| l == w), "{w}\nin: {err}");
    }
    // The clamped value is the one in effect: a child of 20 threads (the port accepts before
    // every worker has started, so wait for them). No ExtendedStatus line: it defaults to On
    // (mod_status is always loaded).
    let threads = |auto: &str| {
        let n = |k: &str| auto_value(auto, k).and_then(|v| v.parse::<u32>().ok());
        n("BusyWorkers").zip(n("IdleWorkers")).map(|(b, i)| b + i)
    };
    let mut auto = String::new();
    eventually(Duration::from_secs(10), || {
        auto = status_auto(&srv);
        threads(&auto) >= Some(20)
    });
    assert_eq!(threads(&auto), Some(20), "{auto}");
    assert!(auto.contains("\nTotal Accesses: "), "{auto}");
    let r = raw(&srv, b"GET /index.html HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&r), 200);
}
