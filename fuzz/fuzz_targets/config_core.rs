//! The core's httpd.conf tokenizer and directives (`config::Tokenizer`, `Config::set`,
//! `Config::check`), driven as the runtime drives them.
//!
//! Input: one settings byte (which conditional sections are false, the MPM, restart or first
//! start), then the configuration text.
//!
//! Properties:
//! - reading ends within as many calls as the text has lines; line numbers rise and never pass
//!   the lines read; a line has at most `MAX_ARGS` arguments and nesting never passes
//!   `MAX_SECTION_DEPTH`;
//! - every error names a line that exists and prints as one line (the runtime prefixes
//!   `file:line: `);
//! - whatever was configured, the checked process model is within httpd's bounds, and checking
//!   again changes nothing.
#![no_main]

use eventmpm_core::config::tokenizer::{MAX_ARGS, MAX_LINE_LEN, MAX_SECTION_DEPTH};
use eventmpm_core::config::{Applied, Config, Context, LineKind, Mpm, Tokenizer};
use eventmpm_fuzz::{Settings, assert_checked_config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let flags = s.u8();
    let text = String::from_utf8_lossy(s.rest());
    let physical = text.split('\n').count() as u32;

    let mut config = Config::new();
    if flags & 4 != 0 {
        config.mpm = Mpm::Worker;
    }
    let mut tokens = Tokenizer::new(&text);
    let mut buf = [0u8; MAX_LINE_LEN];
    // The context of each open section, as the runtime keeps it.
    let mut contexts: Vec<Context> = Vec::new();
    let mut last_number = 0;
    let mut calls = 0;
    while let Some(line) = tokens.next_line(&mut buf) {
        calls += 1;
        assert!(
            calls <= physical + 1,
            "more logical lines than physical ones"
        );
        assert!(tokens.depth() <= MAX_SECTION_DEPTH);
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                assert!(e.line >= 1 && e.line <= tokens.lines_read());
                one_line(&e.to_string());
                continue;
            }
        };
        assert!(line.number > last_number && line.number <= tokens.lines_read());
        last_number = line.number;
        assert!(line.args.len() <= MAX_ARGS);
        match line.kind {
            LineKind::SectionOpen => {
                let name = line.name.to_ascii_lowercase();
                let skip = match name.as_str() {
                    "ifmodule" => flags & 1 != 0,
                    "ifdefine" => flags & 2 != 0,
                    _ => false,
                };
                let inner = contexts.last().copied().unwrap_or(Context::Server);
                if skip {
                    if let Err(e) = tokens.skip_section() {
                        assert!(e.line >= 1 && e.line <= tokens.lines_read());
                        one_line(&e.to_string());
                    }
                    continue;
                }
                contexts.push(match name.as_str() {
                    "virtualhost" => Context::VirtualHost,
                    "directory" | "location" | "files" | "directorymatch" | "locationmatch"
                    | "filesmatch" => Context::Directory,
                    _ => inner,
                });
            }
            LineKind::SectionClose => {
                contexts.pop();
            }
            LineKind::Directive => {
                let context = contexts.last().copied().unwrap_or(Context::Server);
                match config.set(line.name, &line.args, context) {
                    Ok(Applied::Note(n)) => one_line(&n.to_string()),
                    Ok(_) => {}
                    Err(e) => one_line(&e.to_string()),
                }
            }
        }
    }
    if let Err(e) = tokens.finish() {
        assert!(e.line >= 1 && e.line <= tokens.lines_read());
        one_line(&e.to_string());
    }

    let startup = flags & 8 == 0;
    if startup {
        config.check(true, &mut |w| one_line(&w.console().to_string()));
    } else {
        let previous = {
            let mut p = Config::new();
            p.mpm = config.mpm;
            p.check(true, &mut |_| {});
            p
        };
        config.check_restart(&previous, &mut |w| one_line(&w.to_string()));
        assert_eq!(config.server_limit, previous.server_limit);
        assert_eq!(config.thread_limit, previous.thread_limit);
    }
    assert_checked_config(&config);
    // The accessors the runtime reads.
    let _ = (
        config.keep_alive_timeout(),
        config.timeout(),
        config.graceful_shutdown_limit(),
        config.max_mem_free(),
        config.pid_file_path(),
        config.request_body_limit(),
    );
});

/// A message is non-empty and has no line break (it is logged as `file:line: message`).
fn one_line(message: &str) {
    assert!(!message.is_empty());
    assert!(!message.contains('\n'), "{message:?}");
}
