//! The `server-status` renderers (`status::render_auto`, `render_html`, `render_json`,
//! `render_prometheus`) over arbitrary scoreboard memory: what a compromised or crashed child
//! could have left in the shared segment, with arbitrary clocks, loads and settings.
//!
//! Input: settings (scoreboard shape, the server's numbers and times, the query string's length),
//! the query string, then the bytes of the shared segment (the rest is zero: dead slots).
//!
//! Properties:
//! - every format renders (no panic, no error into an unbounded string);
//! - `?auto`: the first line is the server name, every other line `Key: value` (`ServerUptime:`
//!   alone when up less than a second), keys from httpd's list, in httpd's order, and the
//!   `Scoreboard:` line has one letter per slot that is not disabled;
//! - `?json` is valid JSON and agrees with `?auto` (workers, processes, connections, uptime,
//!   scoreboard letters); the HTML page is ASCII;
//! - `?prometheus` is well-formed and shows `?auto`'s counts under apache_exporter's names;
//! - rendering into a bounded buffer gives the same text when it fits and an error when not.
#![no_main]

use eventmpm_core::scoreboard::{Layout, Scoreboard};
use eventmpm_core::status::{
    Query, ServerInfo, render_auto, render_html, render_json, render_prometheus,
};
use eventmpm_core::time::Instant;
use eventmpm_fuzz::Settings;
use libfuzzer_sys::fuzz_target;

/// httpd 2.4's `?auto` keys, in order (each appears at most once).
const AUTO_KEYS: [&str; 34] = [
    "ServerVersion",
    "ServerMPM",
    "Server Built",
    "CurrentTime",
    "RestartTime",
    "ParentServerConfigGeneration",
    "ParentServerMPMGeneration",
    "ServerUptimeSeconds",
    "ServerUptime",
    "Load1",
    "Load5",
    "Load15",
    "Total Accesses",
    "Total kBytes",
    "Total Duration",
    "CPUUser",
    "CPUSystem",
    "CPUChildrenUser",
    "CPUChildrenSystem",
    "CPULoad",
    "Uptime",
    "ReqPerSec",
    "BytesPerSec",
    "BytesPerReq",
    "DurationPerReq",
    "BusyWorkers",
    "GracefulWorkers",
    "IdleWorkers",
    "Processes",
    "Stopping",
    "ConnsTotal",
    "ConnsAsyncWaitIO",
    "ConnsAsyncWriting",
    "ConnsAsyncKeepAlive",
];
const AUTO_LAST_KEYS: [&str; 2] = ["ConnsAsyncClosing", "Scoreboard"];

/// 64-byte aligned storage for the segment, as the runtime maps it.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Chunk([u8; 64]);

fuzz_target!(|input: &[u8]| {
    let mut s = Settings::new(input);
    let servers = 1 + u32::from(s.u8() % 6);
    let threads = 1 + u32::from(s.u8() % 6);
    let flags = s.u8();
    let name_len = usize::from(s.u8() % 24);
    let query_len = usize::from(s.u8() % 32);
    let now = if flags & 1 == 0 {
        1_800_000_000 + i64::from(s.u32() % 100_000)
    } else {
        s.u64() as i64
    };
    let monotonic = s.u64();
    let utc_offset = s.u32() as i32;
    let load = [
        f32::from_bits(s.u32()),
        f32::from_bits(s.u32()),
        f32::from_bits(s.u32()),
    ];
    let clock_ticks = s.u32();
    let threads_per_child = u32::from(s.u8() % 8);
    let max_servers = u32::from(s.u8() % 8);
    let config_generation = s.u32();
    let mpm_generation = u32::from(s.u8() % 4);
    let rest = s.rest();
    let (name, rest) = rest.split_at(name_len.min(rest.len()));
    let (query, fill) = rest.split_at(query_len.min(rest.len()));
    // A ServerName is a word of visible characters.
    let name: String = name.iter().map(|&b| char::from(0x21 + b % 94)).collect();
    let query = String::from_utf8_lossy(query);

    let layout = Layout::new(servers, threads);
    let size = layout.size().expect("small layouts have a size");
    let mut chunks = vec![Chunk([0; 64]); size.div_ceil(64)];
    for (i, &b) in fill.iter().take(size).enumerate() {
        chunks[i / 64].0[i % 64] = b;
    }
    // SAFETY: `chunks` is 64-aligned, initialised and at least `layout.size()` bytes; it is
    // accessed only through the view while the view lives (the mutable borrow is held).
    let board = unsafe { Scoreboard::from_raw(chunks.as_mut_ptr().cast::<u8>(), layout) }
        .expect("an aligned segment of the layout's size");

    let info = ServerInfo {
        server_name: if name.is_empty() { "localhost" } else { &name },
        local_ip: "127.0.0.1",
        server_version: "eventmpm/0.1.0 (Unix)",
        mpm: if flags & 2 == 0 { "event" } else { "worker" },
        built: "2026-05-06T09:14:12",
        now,
        now_monotonic: Instant::from_millis(monotonic),
        utc_offset,
        time_zone: "UTC",
        config_generation,
        mpm_generation,
        load,
        clock_ticks,
        threads_per_child,
        max_servers,
        is_async: flags & 4 == 0,
        extended_status: flags & 8 == 0,
    };
    let q = Query::parse(&query);
    let _ = q.format().content_type();

    let mut auto = String::new();
    render_auto(&mut auto, &info, &board).expect("renders into a String");
    check_auto(&auto, &info, &board);
    let mut json = String::new();
    render_json(&mut json, &info, &board).expect("renders into a String");
    let parsed: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON ({e}): {json}"),
    };
    json_agrees_with_auto(&parsed, &auto, info.is_async);
    let mut html = String::new();
    render_html(&mut html, &info, &board, &q).expect("renders into a String");
    assert!(html.is_ascii(), "the page is not ASCII");

    let mut prometheus = String::new();
    render_prometheus(&mut prometheus, &info, &board).expect("renders into a String");
    prometheus_agrees_with_auto(&prometheus, &auto);

    bounded::<512>(&auto, |w| render_auto(w, &info, &board));
    bounded::<1024>(&prometheus, |w| render_prometheus(w, &info, &board));
    bounded::<2048>(&json, |w| render_json(w, &info, &board));
    bounded::<4096>(&html, |w| render_html(w, &info, &board, &q));
});

/// `?prometheus` is well-formed text exposition (HELP/TYPE lines, then `apache_NAME[{...}] VALUE`
/// with a number Prometheus reads) and shows `?auto`'s counts under apache_exporter's names.
fn prometheus_agrees_with_auto(text: &str, auto: &str) {
    let auto_value = |key: &str| {
        auto.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
            .map(str::to_string)
    };
    let sample = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(str::to_string)
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP apache_")
                    || rest.ends_with(" counter") && rest.starts_with("TYPE apache_")
                    || rest.ends_with(" gauge") && rest.starts_with("TYPE apache_"),
                "{line}"
            );
            continue;
        }
        assert!(line.starts_with("apache_"), "{line}");
        let value = line.rsplit(' ').next().expect("a value");
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "{line}"
        );
    }
    for (series, key) in [
        ("apache_workers{state=\"busy\"}", "BusyWorkers"),
        ("apache_workers{state=\"idle\"}", "IdleWorkers"),
        ("apache_accesses_total", "Total Accesses"),
        ("apache_processes{state=\"all\"}", "Processes"),
        ("apache_connections{state=\"total\"}", "ConnsTotal"),
    ] {
        let (ours, theirs) = (sample(series), auto_value(key));
        match (ours, theirs) {
            (Some(o), Some(a)) => assert_eq!(
                o.parse::<f64>().ok(),
                a.parse::<f64>().ok(),
                "{series} vs {key}"
            ),
            (o, a) => assert_eq!(o.is_some(), a.is_some(), "{series} vs {key}"),
        }
    }
}

fn check_auto(auto: &str, info: &ServerInfo<'_>, board: &Scoreboard<'_>) {
    let mut lines = auto.split_terminator('\n');
    assert_eq!(lines.next(), Some(info.server_name));
    assert!(auto.ends_with('\n'));
    let mut next_key = 0;
    let mut last = None;
    for line in lines {
        let (key, value) = match line.split_once(": ") {
            Some(kv) => kv,
            None => (line.strip_suffix(':').expect("a `Key: value` line"), ""),
        };
        if value.is_empty() {
            assert!(
                key == "ServerUptime" || key == "Scoreboard",
                "{key} has no value"
            );
        }
        assert!(!value.starts_with(' ') || key == "ServerUptime");
        match AUTO_KEYS[next_key..].iter().position(|k| *k == key) {
            Some(i) => next_key += i + 1,
            None => {
                assert!(
                    AUTO_LAST_KEYS.contains(&key),
                    "unknown or misplaced key {key:?}"
                );
                next_key = AUTO_KEYS.len();
            }
        }
        last = Some((key, value));
    }
    let (key, letters) = last.expect("at least the Scoreboard line");
    assert_eq!(key, "Scoreboard");
    assert_eq!(letters.chars().count(), board.scoreboard_len(&info.rules()));
    assert!(
        letters.chars().all(|c| "_SRWKLDCGI.".contains(c)),
        "{letters}"
    );
}

/// The counts `?json` and `?auto` both show are the same numbers.
fn json_agrees_with_auto(json: &serde_json::Value, auto: &str, is_async: bool) {
    let key = |k: &str| -> &str {
        auto.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(": ")))
            .unwrap_or_else(|| panic!("?auto has no {k}"))
    };
    let number = |k: &str| -> u64 { key(k).parse().unwrap_or_else(|_| panic!("{k}: {}", key(k))) };
    let pairs = [
        ("BusyWorkers", &json["workers"]["busy"]),
        ("GracefulWorkers", &json["workers"]["graceful"]),
        ("IdleWorkers", &json["workers"]["idle"]),
        ("ServerUptimeSeconds", &json["uptime_seconds"]),
    ];
    for (k, v) in pairs {
        assert_eq!(v.as_u64(), Some(number(k)), "{k}");
    }
    if is_async {
        let pairs = [
            ("Processes", &json["processes"]["total"]),
            ("Stopping", &json["processes"]["stopping"]),
            ("ConnsTotal", &json["connections"]["total"]),
            ("ConnsAsyncWriting", &json["connections"]["writing"]),
            ("ConnsAsyncKeepAlive", &json["connections"]["keep_alive"]),
            ("ConnsAsyncClosing", &json["connections"]["closing"]),
        ];
        for (k, v) in pairs {
            assert_eq!(v.as_u64(), Some(number(k)), "{k}");
        }
    }
    assert_eq!(json["scoreboard"].as_str(), Some(key("Scoreboard")));
}

/// Renders into a `heapless::String<N>`: the same text when it fits, an error when it does not.
fn bounded<const N: usize>(
    full: &str,
    render: impl FnOnce(&mut heapless::String<N>) -> core::fmt::Result,
) {
    let mut small = heapless::String::<N>::new();
    match render(&mut small) {
        Ok(()) => assert_eq!(small.as_str(), full),
        Err(_) => {
            assert!(full.len() > N, "failed with room to spare");
            // What was written is a prefix of the full text.
            assert!(full.starts_with(small.as_str()));
        }
    }
}
