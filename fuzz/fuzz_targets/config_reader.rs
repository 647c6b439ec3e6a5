//! The runtime's configuration reader (`eventmpm::config::load`): sections (`<IfModule>`,
//! `<IfDefine>`, `<Location>`, `<Directory>`), the directives the runtime handles itself
//! (`LogFormat`, `CustomLog`, `Require`, `Options`, `ScriptAlias`, …) and the core's, then the
//! process-model check, as `eventmpm -C TEXT` applies them (before the built-in defaults).
//!
//! Input: the configuration text. Texts that name `Include`/`IncludeOptional` are skipped: those
//! read arbitrary files (a FIFO or `/dev/stdin` would block the fuzzer), and the file side of
//! includes is what the end-to-end tests cover.
//!
//! Properties:
//! - an error is `-C:LINE: message` on one line, with a line the text has;
//! - a configuration that loads has a process model within httpd's bounds, and checking again
//!   changes nothing; it listens somewhere; every `ScriptAlias` it keeps is a URL-path.
#![no_main]

use std::path::PathBuf;

use eventmpm::config::{Options, load};
use eventmpm_core::config::tokenizer::MAX_LINE_LEN;
use eventmpm_core::config::{LineKind, Tokenizer};
use eventmpm_fuzz::assert_checked_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input).into_owned();
    if names_include(&text) {
        return;
    }
    let physical = text.split('\n').count() as u32;
    let opts = Options {
        file: None,
        // Relative paths resolve under a directory that does not exist.
        server_root: Some(PathBuf::from("/nonexistent/eventmpm-fuzz")),
        defines: vec!["FUZZ".into()],
        before: vec![text],
        after: Vec::new(),
    };
    match load(&opts, &mut |w| assert!(!w.is_empty() && !w.contains('\n'))) {
        Ok(cfg) => {
            assert_checked_config(&cfg.core);
            for a in &cfg.script_aliases {
                assert!(a.prefix.starts_with('/'), "ScriptAlias {:?}", a.prefix);
            }
            assert!(!cfg.core.listeners.is_empty());
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(!shown.contains('\n'), "{shown:?}");
            assert!(!e.message.is_empty());
            if e.file.as_os_str() == "-C" {
                assert!(e.line >= 1 && e.line <= physical, "{shown}");
            }
        }
    }
});

/// Whether any logical line of `text`, read as the reader reads it (continuations joined, quotes
/// and escapes resolved), could be an `Include` directive. Lines in skipped sections are read
/// too, so this over-approximates what the reader would see.
fn names_include(text: &str) -> bool {
    let mut tokens = Tokenizer::new(text);
    let mut buf = [0u8; MAX_LINE_LEN];
    while let Some(line) = tokens.next_line(&mut buf) {
        if let Ok(line) = line
            && line.kind == LineKind::Directive
            && line.name.to_ascii_lowercase().starts_with("include")
        {
            return true;
        }
    }
    false
}
