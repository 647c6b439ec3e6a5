//! server-status reports real CPU time: `CPUUser`, `CPUSystem`, `CPUChildrenUser`,
//! `CPUChildrenSystem` and `CPULoad` on `?auto`, the `CPU Usage` line of the HTML page and each
//! worker's CPU figure, after the server has burnt some (a fixed count of requests with h2load,
//! CPU-bound CGI scripts), and the figures agree with what the kernel accounts to the server's
//! processes (`/proc/PID/stat`: all of a process's threads, summed before the kernel rounds to
//! ticks; adding up `/proc/PID/task/*/stat` would lose up to a tick per thread).
//!
//! Presence and consistency are asserted, never speed: the figures are printed.

mod common;

use common::*;
use std::time::Duration;

/// Clock ticks per second of /proc's figures (`getconf CLK_TCK`; 100 on Linux).
fn clk_tck() -> f64 {
    let (_, out, _) = run_tool("getconf", &["CLK_TCK"], Duration::from_secs(5));
    out.trim().parse().unwrap_or(100.0)
}

/// utime, stime, cutime, cstime of a /proc `stat` file, in clock ticks (fields 14 to 17).
fn stat_times(path: &str) -> [u64; 4] {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // "pid (comm) state ppid ...": field 3 is the first after the last ')'.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = [0; 4];
    for (o, f) in out.iter_mut().zip(fields) {
        *o = f;
    }
    out
}

/// The number of threads of `pid`.
fn thread_count(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count() as u64)
}

fn auto_secs(page: &str, key: &str) -> f64 {
    auto_value(page, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in server-status?auto:\n{page}"))
}

/// Every worker's (pid, cpu_seconds) from `?json`'s "threads".
fn worker_cpu(json: &str) -> Vec<(u32, f64)> {
    let mut out = Vec::new();
    let threads = json.split("\"threads\":[").nth(1).unwrap_or("");
    for entry in threads.split("{\"slot\":").skip(1) {
        let num = |key: &str| -> Option<f64> {
            let rest = entry.split(&format!("\"{key}\":")).nth(1)?;
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            rest[..end].parse().ok()
        };
        if let (Some(pid), Some(cpu)) = (num("pid"), num("cpu_seconds")) {
            out.push((pid as u32, cpu));
        }
    }
    out
}

fn body(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

/// A script that burns CPU time in its shell, then answers.
const BURN_CGI: &str = "#!/bin/sh\ni=0\nwhile [ $i -lt 150000 ]; do i=$((i+1)); done\n\
                        printf 'Content-Type: text/plain\\n\\n%s\\n' $i\n";

fn write_script(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn cpu_time_shows_on_server_status_and_agrees_with_the_kernel() {
    let scratch = Scratch::new("status-cpu");
    scratch.file("1k.txt", &[b'a'; 1024]);
    write_script(&scratch.path().join("cgi-bin/burn.cgi"), BURN_CGI);
    let directives = format!(
        "ServerLimit 2\nStartServers 2\nThreadsPerChild 8\nMaxRequestWorkers 16\n\
         MinSpareThreads 1\nMaxSpareThreads 16\nScriptAlias /cgi-bin/ \"{}/cgi-bin/\"\n",
        scratch.path().display()
    );
    let srv = start_with(scratch, &directives, &[]);

    // Burn: a fixed count of keep-alive requests, then two CPU-bound scripts.
    let url = srv.url("/1k.txt");
    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t1", "-c8", "-n20000", &url],
        Duration::from_secs(180),
    );
    assert_eq!(code, Some(0), "h2load: {out}{err}");
    let (ok, ..) = h2load_counts(&out).unwrap_or_else(|| panic!("h2load said:\n{out}"));
    assert_eq!(ok, 20_000, "{out}");
    for _ in 0..2 {
        let r = raw(&srv, b"GET /cgi-bin/burn.cgi HTTP/1.0\r\n\r\n");
        assert_eq!(status_of(&r), 200, "{}", String::from_utf8_lossy(&r));
        assert_eq!(body(&r).trim(), "150000");
    }

    // CPULoad divides by the uptime: in the first second httpd prints infinity ("0.e+79").
    assert!(
        eventually(Duration::from_secs(5), || auto_value(
            &status_auto(&srv),
            "Uptime"
        )
        .is_some_and(|u| u != "0")),
        "the server's uptime stays 0"
    );
    // The page, then the kernel's figures (which only grow meanwhile).
    let auto = status_auto(&srv);
    let page =
        String::from_utf8_lossy(&raw(&srv, b"GET /server-status HTTP/1.0\r\n\r\n")).into_owned();
    let json = body(&raw(&srv, b"GET /server-status?json HTTP/1.0\r\n\r\n"));
    let hz = clk_tck();
    let parent = stat_times(&format!("/proc/{}/stat", srv.pid()));
    let children = live_children_of(srv.pid());
    let mut kernel_threads = (parent[0] + parent[1]) as f64 / hz;
    let mut kernel_children = (parent[2] + parent[3]) as f64 / hz;
    let mut threads = 1u64;
    let mut per_child = Vec::new();
    for &c in &children {
        let n = thread_count(c);
        let [u, s, cu, cs] = stat_times(&format!("/proc/{c}/stat"));
        kernel_threads += (u + s) as f64 / hz;
        kernel_children += (cu + cs) as f64 / hz;
        threads += n;
        per_child.push((c, (u + s) as f64 / hz, n));
    }

    let cpu_lines: Vec<&str> = auto
        .lines()
        .filter(|l| l.starts_with("CPU") || l.starts_with("Uptime:"))
        .collect();
    let usage = page
        .lines()
        .find(|l| l.starts_with("<dt>CPU Usage:"))
        .unwrap_or_else(|| panic!("no CPU Usage line in\n{page}"));
    let workers = worker_cpu(&json);
    println!("server-status?auto after 20000 requests and 2 scripts:");
    for l in &cpu_lines {
        println!("  {l}");
    }
    println!("  {usage}");
    println!(
        "kernel: threads {kernel_threads:.2} s, reaped children {kernel_children:.2} s; \
         children {per_child:?}"
    );
    println!("workers (pid, cpu s): {workers:?}");

    let user = auto_secs(&auto, "CPUUser");
    let system = auto_secs(&auto, "CPUSystem");
    let children_cpu = auto_secs(&auto, "CPUChildrenUser") + auto_secs(&auto, "CPUChildrenSystem");
    // Present.
    assert!(user > 0.0 && system > 0.0, "{cpu_lines:?}");
    assert!(
        children_cpu > 0.0,
        "the scripts' time is missing: {cpu_lines:?}"
    );
    assert!(auto_secs(&auto, "CPULoad") > 0.0, "{cpu_lines:?}");
    assert!(!usage.contains("u0 s0"), "{usage}");
    assert!(
        workers.iter().any(|&(_, cpu)| cpu > 0.0),
        "no worker shows CPU time: {json}"
    );
    // Consistent: never more than the kernel accounted, give or take rounding (ours rounds each
    // thread's figure to the nearest tick, /proc cuts each process's), and not far below it
    // (each thread records at most every 10 ms, so it trails by under a tick).
    let slack = threads as f64 / hz + 0.05;
    assert!(
        user + system <= kernel_threads + slack,
        "CPUUser + CPUSystem = {} s, the kernel's threads {kernel_threads} s",
        user + system
    );
    assert!(
        user + system >= kernel_threads / 2.0 - slack,
        "CPUUser + CPUSystem = {} s, the kernel's threads {kernel_threads} s",
        user + system
    );
    // Each process's figure is rounded (ours) or cut (/proc) once per field.
    assert!(
        children_cpu <= kernel_children + 2.0 * (children.len() + 1) as f64 / hz + 0.02,
        "children {children_cpu} s, the kernel's {kernel_children} s"
    );
    // Each live child's workers: no more than all of that child's threads.
    for (pid, kernel, n) in per_child {
        let ours: f64 = workers
            .iter()
            .filter(|&&(p, _)| p == pid)
            .map(|&(_, cpu)| cpu)
            .sum();
        assert!(
            ours <= kernel + n as f64 / hz + 0.02,
            "child {pid}: workers {ours} s, its {n} threads {kernel} s"
        );
    }
}

#[test]
fn worker_mpm_threads_report_their_cpu_time_too() {
    let scratch = Scratch::new("status-cpu-worker");
    scratch.file("1k.txt", &[b'a'; 1024]);
    let srv = start_with(
        scratch,
        "LoadModule mpm_worker_module modules/mod_mpm_worker.so\nServerLimit 1\nStartServers 1\n\
         ThreadsPerChild 8\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8\n",
        &[],
    );
    let url = srv.url("/1k.txt");
    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t1", "-c4", "-n20000", &url],
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "h2load: {out}{err}");
    let auto = status_auto(&srv);
    let json = body(&raw(&srv, b"GET /server-status?json HTTP/1.0\r\n\r\n"));
    println!(
        "worker MPM: {}",
        auto.lines()
            .filter(|l| l.starts_with("CPU"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    assert!(auto_secs(&auto, "CPUUser") + auto_secs(&auto, "CPUSystem") > 0.0);
    assert!(
        worker_cpu(&json).iter().any(|&(_, cpu)| cpu > 0.0),
        "no worker shows CPU time: {json}"
    );
}
