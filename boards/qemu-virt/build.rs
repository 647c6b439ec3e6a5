//! Links the firmware for the board's memory map, compiles `site/` into a flash file tree, and
//! loads `httpd.conf` with the runtime's loader (the core's tokenizer and directive table): a bad
//! line stops the build with `httpd.conf:LINE: message`, and the settings are compiled in.
//!
//! `EVENTMPM_SLOTS` (default 4) sets the number of connection slots, i.e. TCP sockets, which
//! decides most of the RAM; `EVENTMPM_SITE` and `EVENTMPM_CONF` replace the sample site and
//! configuration.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());

    std::fs::copy(here.join("memory.x"), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rustc-link-arg-bins=-Tmemory.x");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }

    for var in [
        "EVENTMPM_SLOTS",
        "EVENTMPM_SITE",
        "EVENTMPM_CONF",
        "SOURCE_DATE_EPOCH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let slots: usize = match std::env::var("EVENTMPM_SLOTS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .unwrap_or_else(|| fail(&format!("EVENTMPM_SLOTS={v}: must be 1 to 64"))),
        Err(_) => 4,
    };
    std::fs::write(out.join("slots.rs"), slots.to_string()).unwrap();

    let conf = std::env::var("EVENTMPM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("httpd.conf"));
    println!("cargo:rerun-if-changed={}", conf.display());
    let text = std::fs::read_to_string(&conf)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", conf.display())));
    let settings = eventmpm_os_embedded::build::check_config(&conf.display().to_string(), &text)
        .unwrap_or_else(|e| fail(&e));
    // The scoreboard has one worker record per worker step.
    std::fs::write(
        out.join("worker_steps.rs"),
        settings.worker_steps.to_string(),
    )
    .unwrap();
    std::fs::write(
        out.join("settings.rs"),
        eventmpm_os_embedded::build::settings_source(&settings),
    )
    .unwrap();

    let site = std::env::var("EVENTMPM_SITE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("site"));
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let (tree, files) = eventmpm_os_embedded::build::file_tree(&site, now)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", site.display())));
    std::fs::write(out.join("site.rs"), tree).unwrap();
    println!("cargo:rerun-if-changed={}", site.display());
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let built = eventmpm_os_embedded::build::built_stamp(now);
    std::fs::write(out.join("built.rs"), format!("{built:?}")).unwrap();
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    println!("cargo:warning={message}");
    std::process::exit(1);
}
