//! Tests of the three formats against captures of Apache 2.4.67 (Debian), escaping, and rendering
//! of arbitrary (corrupted) shared memory.

extern crate std;

use std::string::String;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::calendar::DateTime;
use crate::scoreboard::{
    AsyncCounts, CpuTimes, GlobalScore, Layout, ProcessScore, Scoreboard, WorkerScore, WorkerStatus,
};
use crate::time::Instant;

/// `curl 'http://127.0.0.1:18080/server-status?auto'` of Debian's Apache 2.4.67 (event MPM,
/// ThreadsPerChild 25, MaxRequestWorkers 150) after 20 requests for a 1 KiB file.
const APACHE_AUTO_BUSY: &str = include_str!("fixtures/apache-2.4.67-auto-busy.txt");
/// The same server right after a restart and one request (no CPU time yet).
const APACHE_AUTO_FRESH: &str = include_str!("fixtures/apache-2.4.67-auto-fresh.txt");
/// The HTML page of that server, one request for a 1 KiB file after start.
const APACHE_PAGE: &str = include_str!("fixtures/apache-2.4.67-page.html");
/// `?auto` of that server 8 s after a start, after `h2load --h1 -t1 -c20 -n30000` for a 1 KiB
/// file: 0.47 s user and 0.98 s system CPU time.
const APACHE_AUTO_CPU: &str = include_str!("fixtures/apache-2.4.67-auto-cpu.txt");
/// The HTML page right after that `?auto`.
const APACHE_PAGE_CPU: &str = include_str!("fixtures/apache-2.4.67-page-cpu.html");

struct Board {
    global: GlobalScore,
    processes: Vec<ProcessScore>,
    workers: Vec<WorkerScore>,
}

impl Board {
    fn new(servers: usize, threads: usize) -> Board {
        Board {
            global: GlobalScore::new(),
            processes: (0..servers).map(|_| ProcessScore::new()).collect(),
            workers: (0..servers * threads).map(|_| WorkerScore::new()).collect(),
        }
    }

    fn view(&self) -> Scoreboard<'_> {
        Scoreboard::new(&self.global, &self.processes, &self.workers).unwrap()
    }
}

fn unix(day: u8, hour: u8, minute: u8, second: u8) -> i64 {
    DateTime {
        year: 2026,
        month: 11,
        day,
        hour,
        minute,
        second,
        weekday: 0,
    }
    .to_unix()
    .unwrap()
}

const MONO: u64 = 5_000_000;

fn apache_info(now: i64, load: [f32; 3]) -> ServerInfo<'static> {
    ServerInfo {
        server_name: "127.0.0.1",
        local_ip: "127.0.0.1",
        server_version: "Apache/2.4.67 (Debian)",
        mpm: "event",
        built: "2026-05-06T09:14:12",
        now,
        now_monotonic: Instant::from_millis(MONO),
        utc_offset: 0,
        time_zone: "UTC",
        config_generation: 1,
        mpm_generation: 0,
        load,
        clock_ticks: 100,
        threads_per_child: 25,
        max_servers: 6,
        is_async: true,
        extended_status: true,
    }
}

/// Debian's default event scoreboard (ServerLimit 16, ThreadLimit 64) with two children of 25
/// ready threads, and one thread writing.
fn apache_board(restart: i64, writing: (usize, usize)) -> Board {
    let board = Board::new(16, 64);
    let view = board.view();
    view.global().init(16, 64, restart);
    for (slot, pid) in [(0, 27554), (1, 27562)] {
        let p = view.process(slot).unwrap();
        p.prepare(0);
        p.set_pid(pid);
        for thread in 0..25 {
            let w = view.worker(slot, thread).unwrap();
            w.start(pid, thread as u32, 0);
            w.set_status(WorkerStatus::Ready, Instant::from_millis(MONO - 3_000));
        }
    }
    view.worker(writing.0, writing.1)
        .unwrap()
        .set_status(WorkerStatus::Write, Instant::from_millis(MONO));
    board
}

fn serve(w: &WorkerScore, bytes: u64, millis: u64) {
    let start = Instant::from_millis(MONO - 2_000);
    w.begin_request(start);
    w.count_request(bytes, Instant::from_millis(start.as_millis() + millis));
}

fn text(f: impl FnOnce(&mut String) -> core::fmt::Result) -> String {
    let mut s = String::new();
    f(&mut s).unwrap();
    s
}

fn auto(info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> String {
    text(|s| render_auto(s, info, board))
}

#[test]
fn auto_reproduces_apache_byte_for_byte_busy() {
    let owned = apache_board(unix(23, 15, 16, 42), (1, 4));
    let board = owned.view();
    board.global().set_cpu_times(CpuTimes {
        system: 1,
        ..CpuTimes::default()
    });
    // 20 requests of 1340 bytes (26 kB in all), 11 ms in all.
    for j in 0..20 {
        serve(board.worker(0, j).unwrap(), 1340, u64::from(j < 11));
    }
    let info = apache_info(unix(23, 15, 16, 43), [0.15, 0.15, 0.08]);
    assert_eq!(auto(&info, &board), APACHE_AUTO_BUSY);
}

#[test]
fn auto_reproduces_apache_byte_for_byte_fresh() {
    let owned = apache_board(unix(23, 15, 28, 45), (1, 19));
    let board = owned.view();
    serve(board.worker(0, 0).unwrap(), 1340, 0);
    serve(board.worker(1, 3).unwrap(), 4500, 0);
    let info = apache_info(unix(23, 15, 28, 48), [0.73, 0.65, 0.36]);
    assert_eq!(auto(&info, &board), APACHE_AUTO_FRESH);
}

/// The server of [`APACHE_AUTO_CPU`], its CPU time spread as ours records it: over the
/// parent, each child's listener and each worker thread (httpd's records hold process times).
fn apache_cpu_board() -> (Board, ServerInfo<'static>) {
    let at = |second| {
        DateTime {
            year: 2026,
            month: 12,
            day: 7,
            hour: 1,
            minute: 0,
            second,
            weekday: 0,
        }
        .to_unix()
        .unwrap()
    };
    let owned = apache_board(at(44), (0, 18));
    let board = owned.view();
    // 30000 requests, 39205 KiB in all, 2529 ms in all, on 20 threads of the first child.
    for j in 0..20 {
        let w = board.worker(0, j).unwrap();
        for n in 0..1500u64 {
            let millis = u64::from(j as u64 * 1500 + n < 2529);
            let bytes = 39_205 * 1024 / 20 / 1500 + u64::from(n < 39_205 * 1024 / 20 % 1500);
            serve(w, bytes, millis);
        }
    }
    // 0.47 s user, 0.98 s system.
    let ticks = |user, system| CpuTimes {
        user,
        system,
        ..CpuTimes::default()
    };
    board.global().set_cpu_times(ticks(1, 2));
    board.process(0).unwrap().set_listener_cpu(5, 16);
    board.process(1).unwrap().set_listener_cpu(0, 1);
    for (j, (u, s)) in [(11, 30), (25, 30), (5, 19)].into_iter().enumerate() {
        board.worker(0, j).unwrap().set_cpu_times(ticks(u, s));
    }
    let info = apache_info(at(52), [8.81, 3.80, 1.61]);
    (owned, info)
}

#[test]
fn auto_reproduces_apache_byte_for_byte_with_cpu_time() {
    let (owned, info) = apache_cpu_board();
    assert_eq!(auto(&info, &owned.view()), APACHE_AUTO_CPU);
}

#[test]
fn html_prints_cpu_time_as_apache_does() {
    let (owned, info) = apache_cpu_board();
    let board = owned.view();
    let page = text(|s| render_html(s, &info, &board, &Query::default()));
    let usage = APACHE_PAGE_CPU
        .lines()
        .find(|l| l.starts_with("<dt>CPU Usage:"))
        .unwrap();
    assert_eq!(
        usage,
        "<dt>CPU Usage: u.47 s.98 cu0 cs0 - 18.1% CPU load</dt>"
    );
    assert!(page.lines().any(|l| l == usage), "{usage} not in\n{page}");
    // A worker's CPU column: its thread's user + system time, as `%.2f` seconds (httpd's rows
    // show the whole process's, 0.55 s here).
    assert!(APACHE_PAGE_CPU.contains("</td><td>0.55</td><td>"));
    assert!(page.contains("</td><td>0.55</td><td>"), "{page}");
    assert!(page.contains("</td><td>0.41</td><td>"), "{page}");
    assert!(page.contains("</td><td>0.24</td><td>"), "{page}");
    // `?notable`: a paragraph per worker with the four times, each `%g` seconds.
    let notable = text(|s| render_html(s, &info, &board, &Query::parse("notable")));
    assert!(notable.contains("] u.05 s.19 cu0 cs0\n"), "{notable}");
}

#[test]
fn cpu_time_sums_every_thread_and_reaped_children_of_every_process() {
    let owned = Board::new(3, 2);
    let board = owned.view();
    let now = 1_800_000_000;
    board.global().init(3, 2, now - 200);
    board.global().set_cpu_times(CpuTimes {
        user: 100,
        system: 50,
        children_user: 7_000,
        children_system: 900,
    });
    for slot in 0..2 {
        let p = board.process(slot).unwrap();
        p.prepare(0);
        p.set_pid(100 + slot as i32);
        p.set_listener_cpu(10, 20);
        p.raise_children_cpu(300, 40);
        for thread in 0..2 {
            let w = board.worker(slot, thread).unwrap();
            w.start(100 + slot as i32, thread as u32, 0);
            w.set_status(WorkerStatus::Ready, Instant::ZERO);
            w.set_cpu_times(CpuTimes {
                user: 1_000,
                system: 250,
                ..CpuTimes::default()
            });
        }
    }
    // A dead slot's leftovers count for nothing: the parent cleared them when it reaped the
    // child (and its own children's figure took them over).
    let p = board.process(2).unwrap();
    p.prepare(0);
    p.set_pid(102);
    p.set_listener_cpu(1, 1);
    p.raise_children_cpu(1, 1);
    p.release();
    board.worker(2, 0).unwrap().set_cpu_times(CpuTimes {
        user: 5,
        ..CpuTimes::default()
    });
    board.worker(2, 0).unwrap().take_over(Instant::ZERO);
    let info = ServerInfo {
        max_servers: 3,
        threads_per_child: 2,
        clock_ticks: 100,
        ..apache_info(now, [0.0; 3])
    };
    // user 100 + 2 × (10 + 2 × 1000) = 4120 ticks, system 50 + 2 × (20 + 2 × 250) = 1090,
    // children 7000 + 2 × 300 and 900 + 2 × 40; (4120 + 1090 + 7600 + 980) / 100 / 200 s.
    let report = auto(&info, &board);
    assert!(
        report.contains(
            "CPUUser: 41.2\nCPUSystem: 10.9\nCPUChildrenUser: 76\nCPUChildrenSystem: 9.8\n\
             CPULoad: 68.95\nUptime: 200\n"
        ),
        "{report}"
    );
    let page = text(|s| render_html(s, &info, &board, &Query::default()));
    assert!(
        page.contains("<dt>CPU Usage: u41.2 s10.9 cu76 cs9.8 - 68.9% CPU load</dt>"),
        "{page}"
    );
    let json = text(|s| render_json(s, &info, &board));
    assert!(
        json.contains(
            "\"cpu_seconds\":{\"user\":41.20,\"system\":10.90,\"children_user\":76.00,\"children_system\":9.80}"
        ),
        "{json}"
    );
}

fn keys(report: &str) -> Vec<&str> {
    report
        .lines()
        .skip(1)
        .map(|line| line.split(':').next().unwrap())
        .collect()
}

/// What kind of value a line holds, so formats can be compared when values differ.
fn shape(key: &str, value: &str) -> &'static str {
    let apr_float = |v: &str| {
        !v.is_empty()
            && v.chars().all(|c| c.is_ascii_digit() || ".e+-".contains(c))
            && v.parse::<f64>().is_ok()
    };
    match key {
        "ServerVersion" | "ServerMPM" | "Server Built" => "text",
        "CurrentTime" | "RestartTime" => {
            let parts: Vec<&str> = value.split([' ', ',', '-', ':']).collect();
            assert_eq!(parts.len(), 9, "{key}: {value}");
            "date"
        }
        "ServerUptime" => {
            assert!(value.is_empty() || value.starts_with(' '), "{value:?}");
            "uptime"
        }
        "Load1" | "Load5" | "Load15" => {
            let (int, frac) = value.split_once('.').unwrap();
            assert!(
                int.trim_start_matches('-').parse::<u32>().is_ok() && frac.len() == 2,
                "{value}"
            );
            "fixed2"
        }
        "CPUUser" | "CPUSystem" | "CPUChildrenUser" | "CPUChildrenSystem" | "CPULoad"
        | "ReqPerSec" | "BytesPerSec" | "BytesPerReq" | "DurationPerReq" => {
            assert!(apr_float(value), "{key}: {value}");
            "g"
        }
        "Scoreboard" => {
            assert!(value.chars().all(|c| "_SRWKLDCGI.".contains(c)), "{value}");
            "letters"
        }
        _ => {
            assert!(value.parse::<u64>().is_ok(), "{key}: {value}");
            "integer"
        }
    }
}

fn shapes(report: &str) -> Vec<(String, &'static str)> {
    report
        .lines()
        .skip(1)
        .map(|line| {
            let (key, value) = line.split_once(':').unwrap();
            let value = if key == "ServerUptime" {
                value
            } else {
                value
                    .strip_prefix(' ')
                    .unwrap_or_else(|| panic!("no space after {key}:"))
            };
            (String::from(key), shape(key, value))
        })
        .collect()
}

#[test]
fn auto_has_apaches_keys_order_and_line_formats_with_other_values() {
    let owned = Board::new(8, 10);
    let board = owned.view();
    board.global().init(8, 10, 1_000_000_000);
    board.global().set_cpu_times(CpuTimes {
        user: 1234,
        system: 77,
        children_user: 5,
        children_system: 0,
    });
    for slot in 0..3 {
        let p = board.process(slot).unwrap();
        p.prepare(2);
        p.set_pid(9000 + slot as i32);
        p.publish(&AsyncCounts {
            connections: 40,
            reading: 3,
            write_completion: 2,
            keep_alive: 30,
            lingering_close: 1,
            suspended: 0,
            wait_io: 0,
        });
        for thread in 0..10 {
            let w = board.worker(slot, thread).unwrap();
            w.start(9000 + slot as i32, 0, 2);
            w.set_status(WorkerStatus::ALL[(slot * 10 + thread) % 11], Instant::ZERO);
            serve(w, 123_456_789, 17);
        }
    }
    board.process(2).unwrap().set_stopping();
    let info = ServerInfo {
        server_name: "www.example.org",
        mpm_generation: 2,
        config_generation: 3,
        max_servers: 4,
        threads_per_child: 8,
        load: [12.5, -1.0, 0.004],
        ..apache_info(1_000_098_765, [0.0; 3])
    };
    let ours = auto(&info, &board);
    assert_eq!(ours.lines().next(), Some("www.example.org"));
    assert_eq!(keys(&ours), keys(APACHE_AUTO_BUSY));
    assert_eq!(shapes(&ours), shapes(APACHE_AUTO_BUSY));
    // The two captures differ in their conditional keys (no CPU time in the fresh one), but
    // every line they share has the same shape.
    for line in shapes(APACHE_AUTO_FRESH) {
        assert!(shapes(APACHE_AUTO_BUSY).contains(&line), "{line:?}");
    }
}

#[test]
fn auto_leaves_out_conditional_keys_exactly_when_httpd_does() {
    let owned = Board::new(2, 2);
    let board = owned.view();
    let now = 1_800_000_000;
    board.global().init(2, 2, now);
    let base = ServerInfo {
        max_servers: 2,
        threads_per_child: 2,
        ..apache_info(now, [0.5; 3])
    };
    // Up 0 seconds, no requests, no CPU: none of the conditional keys.
    let idle = auto(&base, &board);
    for key in [
        "CPULoad",
        "ReqPerSec",
        "BytesPerSec",
        "BytesPerReq",
        "DurationPerReq",
    ] {
        assert!(!idle.contains(key), "{key} in\n{idle}");
    }
    assert!(
        idle.contains("ServerUptime:\nLoad1"),
        "uptime text is empty at 0 s"
    );
    // CPU time in the first second: httpd divides by zero and APR prints infinity so.
    board.global().set_cpu_times(CpuTimes {
        system: 2,
        ..CpuTimes::default()
    });
    assert!(auto(&base, &board).contains(
        "CPUSystem: .02\nCPUChildrenUser: 0\nCPUChildrenSystem: 0\nCPULoad: 0.e+79\nUptime: 0\n"
    ));
    board.global().set_cpu_times(CpuTimes::default());
    // Up a while and serving: all of them.
    let later = ServerInfo {
        now: now + 90_061,
        ..base
    };
    serve(board.worker(0, 0).unwrap(), 10, 3);
    board.global().set_cpu_times(CpuTimes {
        user: 1,
        ..CpuTimes::default()
    });
    let busy = auto(&later, &board);
    for key in [
        "CPULoad",
        "ReqPerSec",
        "BytesPerSec",
        "BytesPerReq",
        "DurationPerReq",
    ] {
        assert!(busy.contains(key), "{key} missing in\n{busy}");
    }
    assert!(busy.contains("ServerUptime: 1 day 1 hour 1 minute 1 second\n"));
    // Worker MPM: no connection keys. ExtendedStatus off: no traffic keys.
    let plain = auto(
        &ServerInfo {
            is_async: false,
            extended_status: false,
            ..later
        },
        &board,
    );
    for key in [
        "Processes",
        "ConnsTotal",
        "Total Accesses",
        "CPUUser",
        "\nUptime:",
    ] {
        assert!(!plain.contains(key), "{key} in\n{plain}");
    }
    assert!(plain.contains("BusyWorkers: 0\nGracefulWorkers: 0\nIdleWorkers: 0\nScoreboard: "));
}

#[test]
fn auto_counts_are_exact_and_wait_io_includes_reading() {
    let owned = Board::new(3, 2);
    let board = owned.view();
    for slot in 0..3 {
        let p = board.process(slot).unwrap();
        p.prepare(0);
        p.set_pid(10 + slot as i32);
        p.publish(&AsyncCounts {
            connections: 10,
            reading: 4,
            write_completion: 1,
            keep_alive: 3,
            lingering_close: 2,
            suspended: 0,
            wait_io: 1,
        });
    }
    board.process(1).unwrap().set_stopping();
    board.process(2).unwrap().release();
    let info = ServerInfo {
        max_servers: 3,
        threads_per_child: 2,
        ..apache_info(0, [0.0; 3])
    };
    let report = auto(&info, &board);
    assert!(
        report.contains(
            "Processes: 2\nStopping: 1\nConnsTotal: 20\nConnsAsyncWaitIO: 10\n\
             ConnsAsyncWriting: 2\nConnsAsyncKeepAlive: 6\nConnsAsyncClosing: 4\n"
        ),
        "{report}"
    );
}

#[test]
fn html_reproduces_apaches_page() {
    let owned = apache_board(unix(23, 15, 28, 45), (1, 17));
    let board = owned.view();
    // Thread 0-0 served one 1340-byte request and went back to ready 2 s ago.
    let w = board.worker(0, 0).unwrap();
    w.set_client(b"127.0.0.1");
    w.set_protocol(b"http/1.1");
    serve(w, 1340, 0);
    w.set_status(WorkerStatus::Ready, Instant::from_millis(MONO - 2_000));
    // Thread 1-17 is serving this status request.
    let w = board.worker(1, 17).unwrap();
    w.set_client(b"127.0.0.1");
    w.set_protocol(b"http/1.1");
    w.set_vhost(b"127.0.0.1:18080");
    w.set_request_line(b"GET /server-status HTTP/1.1");
    w.begin_request(Instant::from_millis(MONO));
    let info = apache_info(unix(23, 15, 28, 48), [0.73, 0.65, 0.36]);
    let page = text(|s| render_html(s, &info, &board, &Query::default()));
    // Our first async column reads request heads; httpd's status request counted its
    // connection's requests from the start (we count when a request ends).
    let expected = APACHE_PAGE
        .replace("<th>wait-io</th>", "<th>reading</th>")
        .replace("<td>1/0/0</td>", "<td>0/0/0</td>");
    assert_eq!(page, expected);
}

#[test]
fn html_escapes_everything_from_the_scoreboard() {
    let owned = apache_board(unix(1, 0, 0, 0), (0, 1));
    let board = owned.view();
    let w = board.worker(0, 1).unwrap();
    w.set_request_line(b"GET /<script>alert(\"x\")</script>&\xff HTTP/1.1");
    w.set_client(b"<img src=x onerror=alert(1)>");
    w.set_vhost(b"\"evil\"&co");
    w.set_protocol(b"<b>\x07");
    let info = ServerInfo {
        server_name: "<h1>",
        ..apache_info(unix(1, 0, 0, 1), [0.0; 3])
    };
    for notable in [false, true] {
        let page = text(|s| {
            render_html(
                s,
                &info,
                &board,
                &Query {
                    notable,
                    ..Query::default()
                },
            )
        });
        assert!(!page.contains("<script>") && !page.contains("<img") && !page.contains("<h1><h1>"));
        assert!(page.contains(
            "GET /&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;&amp;\\xff HTTP/1.1"
        ));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&quot;evil&quot;&amp;co"));
        assert!(page.contains("&lt;b&gt;\\x07"));
        assert!(page.is_ascii());
    }
}

#[test]
fn html_notable_refresh_and_plain_status() {
    let owned = apache_board(unix(1, 0, 0, 0), (0, 1));
    let board = owned.view();
    serve(board.worker(0, 2).unwrap(), 4096, 5);
    let info = apache_info(unix(1, 0, 0, 10), [0.0; 3]);
    let query = Query::parse("notable&refresh=3");
    let page = text(|s| render_html(s, &info, &board, &query));
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"3\">"));
    assert!(page.contains("<hr /><h2>Server Details</h2>"));
    assert!(page.contains(
        "<b>Server 0-0</b> (27554): 1|1|1 [Ready] u0 s0 cu0 cs0\n 1 5 5(4096 B|4096 B|4096 B)"
    ));
    assert!(!page.contains("<table border=\"0\">"));

    // Without ExtendedStatus: the PID key instead of the worker table.
    let plain = ServerInfo {
        extended_status: false,
        ..info
    };
    let page = text(|s| render_html(s, &plain, &board, &Query::default()));
    assert!(page.contains("PID Key: <br />\n<pre>\n   27554 in state: _ ,   27554 in state: W ,   27554 in state: _ \n"));
    assert!(page.contains("<code>ExtendedStatus On</code>"));
    assert!(!page.contains("Total accesses"));
}

#[test]
fn html_marks_stopping_and_old_generation_processes() {
    let owned = apache_board(unix(1, 0, 0, 0), (0, 1));
    let board = owned.view();
    board.process(0).unwrap().set_stopping();
    board.process(0).unwrap().set_accepting(false);
    let info = ServerInfo {
        mpm_generation: 1,
        ..apache_info(unix(1, 0, 0, 10), [0.0; 3])
    };
    let page = text(|s| render_html(s, &info, &board, &Query::default()));
    assert!(page.contains("<tr><td>0</td><td>27554</td><td>yes (old gen)</td><td>0</td><td>no</td><td>0</td><td>0</td><td>0</td>"));
    assert!(page.contains("<tr><td>1</td><td>27562</td><td>no (old gen)</td><td>0</td><td>yes</td><td>0</td><td>0</td><td>25</td>"));
    assert!(page.contains("<tr><td>Sum</td><td>2</td><td>1</td><td>0</td><td>&nbsp;</td><td>0</td><td>0</td><td>25</td>"));
    // Old-generation idle threads are not server capacity.
    assert!(page.contains(
        "0 requests currently being processed, 0 workers gracefully restarting, 0 idle workers"
    ));
}

#[test]
fn query_parses_like_mod_status() {
    assert_eq!(Query::parse(""), Query::default());
    assert_eq!(Query::parse("auto").format(), Format::Auto);
    assert_eq!(Query::parse("xautox").format(), Format::Auto);
    assert_eq!(Query::parse("auto&json").format(), Format::Json);
    assert_eq!(Query::parse("notable").format(), Format::Html);
    assert!(Query::parse("notable").notable);
    for (query, refresh) in [
        ("refresh", Some(10)),
        ("refresh=5", Some(5)),
        ("refresh= 7x", Some(7)),
        ("refresh=0", Some(10)),
        ("refresh=-3", Some(10)),
        ("refresh=abc", Some(10)),
        ("refresh=99999999999999999999999", Some(i64::MAX as u64)),
        ("refresh=2&refresh=9", Some(2)),
        ("norefresh=4", Some(4)),
        ("auto", None),
    ] {
        assert_eq!(Query::parse(query).refresh, refresh, "{query}");
    }
    assert_eq!(
        Format::Auto.content_type(),
        "text/plain; charset=ISO-8859-1"
    );
}

/// A minimal JSON validator: accepts exactly one RFC 8259 value.
fn valid_json(text: &str) -> bool {
    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b" \t\r\n".contains(&b[*i]) {
            *i += 1;
        }
    }
    fn value(b: &[u8], i: &mut usize, depth: usize) -> bool {
        ws(b, i);
        if depth > 32 || *i >= b.len() {
            return false;
        }

        match b[*i] {
            b'{' | b'[' => {
                let close = if b[*i] == b'{' { b'}' } else { b']' };
                let object = close == b'}';
                *i += 1;
                ws(b, i);
                if b.get(*i) == Some(&close) {
                    *i += 1;
                    return true;
                }
                loop {
                    if object {
                        ws(b, i);
                        if b.get(*i) != Some(&b'"') || !string(b, i) {
                            return false;
                        }
                        ws(b, i);
                        if b.get(*i) != Some(&b':') {
                            return false;
                        }
                        *i += 1;
                    }
                    if !value(b, i, depth + 1) {
                        return false;
                    }
                    ws(b, i);
                    match b.get(*i) {
                        Some(&b',') => *i += 1,
                        Some(&c) if c == close => {
                            *i += 1;
                            break true;
                        }
                        _ => return false,
                    }
                }
            }
            b'"' => string(b, i),
            b't' | b'f' | b'n' => {
                let word: &[u8] = match b[*i] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                let ok = b[*i..].starts_with(word);
                *i += word.len();
                ok
            }
            _ => {
                let start = *i;
                while *i < b.len() && b"-+.eE0123456789".contains(&b[*i]) {
                    *i += 1;
                }
                std::str::from_utf8(&b[start..*i])
                    .unwrap()
                    .parse::<f64>()
                    .is_ok()
                    && !b[start..*i].starts_with(b".")
            }
        }
    }
    fn string(b: &[u8], i: &mut usize) -> bool {
        *i += 1;
        while *i < b.len() {
            match b[*i] {
                b'"' => {
                    *i += 1;
                    return true;
                }
                b'\\' => {
                    *i += 1;
                    match b.get(*i) {
                        Some(b'u') => {
                            let hex = b.get(*i + 1..*i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return false;
                            }
                            *i += 5;
                        }
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => *i += 1,
                        _ => return false,
                    }
                }
                c if c < 0x20 => return false,
                _ => *i += 1,
            }
        }
        false
    }
    let b = text.as_bytes();
    let mut i = 0;
    let ok = value(b, &mut i, 0);
    ws(b, &mut i);
    ok && i == b.len()
}

#[test]
fn json_is_valid_and_carries_the_counts() {
    let owned = apache_board(unix(1, 0, 0, 0), (1, 2));
    let board = owned.view();
    let w = board.worker(0, 3).unwrap();
    w.set_request_line(b"GET /\"quoted\"\\\x01\xfe HTTP/1.1");
    serve(w, 2048, 4);
    board.process(1).unwrap().publish(&AsyncCounts {
        connections: 5,
        reading: 1,
        keep_alive: 4,
        ..AsyncCounts::default()
    });
    board.worker(1, 5).unwrap().version_for_test().force(1);
    let info = ServerInfo {
        server_name: "q\"uote\\",
        load: [f32::NAN, 1.5, -1.0],
        ..apache_info(unix(1, 0, 0, 4), [0.0; 3])
    };
    let json = text(|s| render_json(s, &info, &board));
    assert!(valid_json(&json), "{json}");
    assert!(json.contains("\"name\":\"q\\\"uote\\\\\""));
    assert!(json.contains("\"load\":[null,1.50,-1.00]"));
    // The mid-update record still counts by its status byte.
    assert!(json.contains("\"workers\":{\"busy\":1,\"graceful\":0,\"idle\":49}"));
    assert!(json.contains("\"connections\":{\"total\":5,\"reading\":1,\"wait_io\":0,\"writing\":0,\"keep_alive\":4,\"closing\":0,\"suspended\":0}"));
    assert!(json.contains("\"request\":\"GET /\\\"quoted\\\"\\\\\\u0001\\ufffd HTTP/1.1\""));
    assert!(
        json.contains("\"traffic\":{\"accesses\":1,\"bytes\":2048,\"kbytes\":2,\"duration_ms\":4}")
    );
    assert!(json.contains("\"inconsistent_records\":1"));
    assert!(valid_json(&text(|s| render_json(
        s,
        &ServerInfo {
            extended_status: false,
            ..info
        },
        &board
    ))));
}

#[test]
fn a_full_buffer_is_an_error_not_a_panic() {
    let owned = apache_board(unix(1, 0, 0, 0), (1, 2));
    let board = owned.view();
    let info = apache_info(unix(1, 0, 0, 4), [0.0; 3]);
    let mut small: heapless::String<256> = heapless::String::new();
    assert!(render_auto(&mut small, &info, &board).is_err());
    let mut small: heapless::String<256> = heapless::String::new();
    assert!(render_html(&mut small, &info, &board, &Query::default()).is_err());
    let mut small: heapless::String<256> = heapless::String::new();
    assert!(render_json(&mut small, &info, &board).is_err());
}

/// 64-byte aligned storage for a raw segment.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Chunk([u8; 64]);

fn segment(layout: Layout, fill: &[u8]) -> Vec<Chunk> {
    let size = layout.size().unwrap();
    let mut chunks = std::vec![Chunk([0; 64]); size.div_ceil(64)];
    for (i, byte) in fill.iter().cycle().take(size).enumerate() {
        chunks[i / 64].0[i % 64] = *byte;
    }
    chunks
}

fn raw_view(chunks: &mut [Chunk], layout: Layout) -> Scoreboard<'_> {
    // SAFETY: `chunks` is 64-aligned, initialised, at least `layout.size()` bytes, accessed only
    // through the view while it lives (the mutable borrow is held for its lifetime).
    unsafe { Scoreboard::from_raw(chunks.as_mut_ptr().cast::<u8>(), layout) }.unwrap()
}

#[test]
fn a_zeroed_segment_renders_as_an_empty_server() {
    let layout = Layout::new(4, 8);
    let mut chunks = segment(layout, &[0]);
    let board = raw_view(&mut chunks, layout);
    let info = ServerInfo {
        max_servers: 2,
        threads_per_child: 4,
        ..apache_info(100, [0.0; 3])
    };
    let report = auto(&info, &board);
    assert!(report.contains("BusyWorkers: 0\nGracefulWorkers: 0\nIdleWorkers: 0\nProcesses: 0\n"));
    assert!(report.ends_with(&std::format!("Scoreboard: {}\n", ".".repeat(8))));
    assert!(report.contains("RestartTime: Thursday, 01-Jan-1970 00:00:00 UTC"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever a compromised child wrote, every format renders without panicking, and the
    /// `Scoreboard:` line has one letter per slot that is not disabled.
    #[test]
    fn arbitrary_segments_render_and_count_letters_by_the_rule(
        servers in 1u32..4,
        threads in 1u32..5,
        fill in proptest::collection::vec(any::<u8>(), 1..512),
        max_servers in 0u32..5,
        threads_per_child in 0u32..6,
        generation in 0u32..3,
        is_async: bool,
        extended_status: bool,
        notable: bool,
    ) {
        let layout = Layout::new(servers, threads);
        let mut chunks = segment(layout, &fill);
        let board = raw_view(&mut chunks, layout);
        let info = ServerInfo {
            max_servers,
            threads_per_child,
            mpm_generation: generation,
            is_async,
            extended_status,
            ..apache_info(1_800_000_000, [0.5; 3])
        };
        let report = auto(&info, &board);
        let letters = report.lines().last().unwrap().strip_prefix("Scoreboard: ").unwrap();
        let rules = info.rules();
        let mut expected = 0;
        for slot in 0..servers as usize {
            for thread in 0..threads as usize {
                let status = board.worker(slot, thread).unwrap().status();
                let tpc = threads_per_child.max(1) as usize;
                let dead = matches!(status, None | Some(WorkerStatus::Dead));
                if !(dead && (slot >= max_servers as usize || thread >= tpc)) {
                    expected += 1;
                }
            }
        }
        prop_assert_eq!(letters.chars().count(), expected);
        prop_assert_eq!(board.scoreboard_len(&rules), expected);
        let page = text(|s| render_html(s, &info, &board, &Query { notable, ..Query::default() }));
        prop_assert!(page.is_ascii());
        let json = text(|s| render_json(s, &info, &board));
        prop_assert!(valid_json(&json), "{}", json);
    }
}

/// Requests a child's listener answered itself count in the totals as a worker's do, and stay
/// counted after the child exits (its slot released), as a worker record's counters do.
#[test]
fn requests_the_listener_answered_count_in_the_totals() {
    let owned = apache_board(unix(23, 15, 16, 42), (1, 4));
    let board = owned.view();
    let info = apache_info(unix(23, 15, 17, 42), [0.0; 3]);
    let line = |report: &str, key: &str| {
        report
            .lines()
            .find(|l| l.starts_with(key))
            .map(String::from)
            .unwrap()
    };
    let before = auto(&info, &board);
    assert_eq!(line(&before, "Total Accesses:"), "Total Accesses: 0");
    serve(board.worker(0, 3).unwrap(), 1000, 2);
    let listener = board.process(1).unwrap();
    for _ in 0..3 {
        listener.count_listener_request(700, 1);
    }
    let report = auto(&info, &board);
    assert_eq!(line(&report, "Total Accesses:"), "Total Accesses: 4");
    // 1000 + 3 x 700 = 3100 bytes: 3 kB.
    assert_eq!(line(&report, "Total kBytes:"), "Total kBytes: 3");
    assert_eq!(line(&report, "Total Duration:"), "Total Duration: 5");
    listener.release();
    let after = auto(&info, &board);
    assert_eq!(line(&after, "Total Accesses:"), "Total Accesses: 4");
    // An ungraceful restart starts the count again.
    board.reset(unix(23, 15, 17, 42));
    assert_eq!(
        line(&auto(&info, &board), "Total Accesses:"),
        "Total Accesses: 0"
    );
}

/// What apache_exporter's `/metrics` shows after scraping `auto` (its own `apache_exporter_*`
/// series aside), written from its collector's rules: each `?auto` key it reads becomes its
/// metric, with its help text and type, families sorted by name and series by label.
fn exporter_view(auto: &str) -> String {
    use std::collections::BTreeMap;
    use std::format;
    type Series = BTreeMap<String, f64>;
    let mut families: BTreeMap<&str, (&str, &str, Series)> = BTreeMap::new();
    let mut put = |name: &'static str, labels: String, value: f64| {
        let (help, kind) = match name {
            "accesses_total" => ("Current total apache accesses (*)", "counter"),
            "connections" => ("Apache connection statuses", "gauge"),
            "cpu_time_ms_total" => ("Apache CPU time", "counter"),
            "cpuload" => (
                "The current percentage CPU used by each worker and in total by all workers combined (*)",
                "gauge",
            ),
            "duration_ms_total" => ("Total duration of all registered requests in ms", "counter"),
            "generation" => ("Apache restart generation", "gauge"),
            "info" => ("Apache version information", "gauge"),
            "load" => ("Apache server load", "gauge"),
            "processes" => ("Apache process count", "gauge"),
            "scoreboard" => ("Apache scoreboard statuses", "gauge"),
            "sent_kilobytes_total" => ("Current total kbytes sent (*)", "counter"),
            "up" => ("Could the apache server be reached", "gauge"),
            "uptime_seconds_total" => ("Current uptime in seconds (*)", "counter"),
            "version" => ("Apache server version", "gauge"),
            "workers" => ("Apache worker statuses", "gauge"),
            _ => unreachable!(),
        };
        let f = families.entry(name).or_insert((help, kind, Series::new()));
        *f.2.entry(labels).or_insert(0.0) += value;
    };
    let state = |s: &str| format!("{{state=\"{s}\"}}");
    put("up", String::new(), 1.0);
    put("cpuload", String::new(), 0.0);
    let (mut version, mut mpm) = (String::from("UNKNOWN"), String::from("UNKNOWN"));
    let (mut user, mut system, mut cpu) = (0.0, 0.0, false);
    for line in auto.lines() {
        let Some((key, v)) = line.split_once(':') else {
            continue;
        };
        let (key, v) = (key.trim(), v.trim());
        let num = || v.parse::<f64>().unwrap();
        match key {
            "ServerVersion" => {
                version = String::from(v);
                let t = v.split('/').nth(1).unwrap().split(' ').next().unwrap();
                let p: Vec<&str> = t.split('.').collect();
                let n = format!("{}.{:0>2}{:0>3}", p[0], p[1], p[2]);
                put("version", String::new(), n.parse().unwrap());
            }
            "ServerMPM" => mpm = String::from(v),
            "ParentServerConfigGeneration" => {
                put("generation", String::from("{type=\"config\"}"), num())
            }
            "ParentServerMPMGeneration" => put("generation", String::from("{type=\"mpm\"}"), num()),
            "Load1" => put("load", String::from("{interval=\"1min\"}"), num()),
            "Load5" => put("load", String::from("{interval=\"5min\"}"), num()),
            "Load15" => put("load", String::from("{interval=\"15min\"}"), num()),
            "Total Accesses" => put("accesses_total", String::new(), num()),
            "Total kBytes" => put("sent_kilobytes_total", String::new(), num()),
            "Total Duration" => put("duration_ms_total", String::new(), num()),
            "CPUUser" | "CPUChildrenUser" => (user, cpu) = (user + num(), true),
            "CPUSystem" | "CPUChildrenSystem" => (system, cpu) = (system + num(), true),
            "CPULoad" => put("cpuload", String::new(), num()),
            "Uptime" => put("uptime_seconds_total", String::new(), num()),
            "BusyWorkers" => put("workers", state("busy"), num()),
            "IdleWorkers" => put("workers", state("idle"), num()),
            "Processes" => put("processes", state("all"), num()),
            "Stopping" => put("processes", state("stopping"), num()),
            "ConnsTotal" => put("connections", state("total"), num()),
            "ConnsAsyncWriting" => put("connections", state("writing"), num()),
            "ConnsAsyncKeepAlive" => put("connections", state("keepalive"), num()),
            "ConnsAsyncClosing" => put("connections", state("closing"), num()),
            "Scoreboard" => {
                let labels = [
                    ('_', "idle"),
                    ('S', "startup"),
                    ('R', "read"),
                    ('W', "reply"),
                    ('K', "keepalive"),
                    ('D', "dns"),
                    ('C', "closing"),
                    ('L', "logging"),
                    ('G', "graceful_stop"),
                    ('I', "idle_cleanup"),
                    ('.', "open_slot"),
                ];
                for (_, l) in labels {
                    put("scoreboard", state(l), 0.0);
                }
                for c in v.chars() {
                    let l = labels.iter().find(|(k, _)| *k == c).unwrap().1;
                    put("scoreboard", state(l), 1.0);
                }
            }
            _ => {}
        }
    }
    if cpu {
        put(
            "cpu_time_ms_total",
            String::from("{type=\"system\"}"),
            1000.0 * system,
        );
        put(
            "cpu_time_ms_total",
            String::from("{type=\"user\"}"),
            1000.0 * user,
        );
    }
    put(
        "info",
        format!("{{mpm=\"{mpm}\",version=\"{version}\"}}"),
        1.0,
    );
    let mut out = String::new();
    for (name, (help, kind, series)) in families {
        out += &format!("# HELP apache_{name} {help}\n# TYPE apache_{name} {kind}\n");
        for (labels, value) in series {
            out += &format!("apache_{name}{labels} ");
            super::prometheus::write_go_float(&mut out, value).unwrap();
            out.push('\n');
        }
    }
    out
}

#[test]
fn prometheus_shows_what_apache_exporter_makes_of_auto() {
    let prom =
        |info: &ServerInfo<'_>, board: &Scoreboard<'_>| text(|s| render_prometheus(s, info, board));
    let (owned, info) = apache_cpu_board();
    let board = owned.view();
    let ours = prom(&info, &board);
    assert_eq!(ours, exporter_view(&auto(&info, &board)));
    // A few lines spelled out, so the comparison above cannot pass on two empty texts.
    for line in [
        "apache_accesses_total 30000\n",
        "apache_sent_kilobytes_total 39205\n",
        "apache_duration_ms_total 2529\n",
        "apache_cpu_time_ms_total{type=\"user\"} 470\n",
        "apache_cpu_time_ms_total{type=\"system\"} 980\n",
        "apache_info{mpm=\"event\",version=\"Apache/2.4.67 (Debian)\"} 1\n",
        "apache_version 2.04067\n",
        "apache_load{interval=\"1min\"} 8.81\n",
        "apache_scoreboard{state=\"reply\"} 1\n",
        "apache_scoreboard{state=\"idle\"} 49\n",
        "apache_scoreboard{state=\"open_slot\"} 100\n",
        "apache_workers{state=\"busy\"} 1\n",
        "apache_up 1\n",
        "# TYPE apache_accesses_total counter\n",
    ] {
        assert!(ours.contains(line), "{line:?} missing in\n{ours}");
    }
    // The worker MPM and ExtendedStatus Off leave out what `?auto` leaves out.
    for (is_async, extended_status) in [(false, true), (true, false), (false, false)] {
        let other = ServerInfo {
            is_async,
            extended_status,
            ..info
        };
        let ours = prom(&other, &board);
        assert_eq!(ours, exporter_view(&auto(&other, &board)));
        assert_eq!(ours.contains("apache_connections"), is_async);
        assert_eq!(ours.contains("apache_accesses_total"), extended_status);
    }
    // A fresh server, and one up 0 seconds with CPU time (`?auto`'s infinite CPULoad).
    let owned = apache_board(unix(23, 15, 28, 45), (1, 19));
    let board = owned.view();
    serve(board.worker(0, 0).unwrap(), 1340, 0);
    let info = apache_info(unix(23, 15, 28, 48), [0.73, 0.65, 0.36]);
    assert_eq!(prom(&info, &board), exporter_view(&auto(&info, &board)));
    assert!(prom(&info, &board).contains("apache_cpuload 0\n"));
}

#[test]
fn prometheus_is_chosen_by_its_query_word() {
    assert_eq!(Query::parse("prometheus").format(), Format::Prometheus);
    assert_eq!(Query::parse("auto&prometheus").format(), Format::Prometheus);
    assert_eq!(Query::parse("metrics").format(), Format::Html);
    assert_eq!(
        Format::Prometheus.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}
