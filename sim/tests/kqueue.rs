//! The simulator's seed sweep with the kqueue poller model (`EV_DISPATCH` knotes, a batched
//! changelist with early flushes, error entries that end a wait at once, level-triggered
//! listeners), every invariant checked after every step.
//!
//! `SIM_KQUEUE_SEEDS=n` changes the sweep's size (default 5,000); `SIM_KQUEUE_SEED=s` replays one
//! seed with its whole event trace printed.

use eventmpm_sim::client::ClientSpec;
use eventmpm_sim::{Faults, PollerKind, Report, Scenario, SimConfig, run, run_scenario};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn kqueue() -> SimConfig {
    SimConfig {
        poller: PollerKind::Kqueue,
        ..SimConfig::default()
    }
}

#[test]
fn random_seeds_with_kqueue() {
    if let Some(seed) = env_u64("SIM_KQUEUE_SEED") {
        let config = SimConfig {
            echo_trace: true,
            trace_capacity: 0,
            ..kqueue()
        };
        match run(seed, &config) {
            Ok(report) => println!("{report:#?}"),
            Err(f) => panic!("{f}"),
        }
        return;
    }
    let n = env_u64("SIM_KQUEUE_SEEDS").unwrap_or(5_000);
    let threads = 2u64;
    let results: Vec<(Report, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let config = kqueue();
                    let mut total = Report::default();
                    let mut failures = Vec::new();
                    for seed in (t..n).step_by(threads as usize) {
                        match run(seed, &config) {
                            Ok(r) => total.absorb(&r),
                            Err(f) => {
                                eprintln!(
                                    "SIM FAILURE (replay with SIM_KQUEUE_SEED={seed}):\n{f}\n"
                                );
                                failures.push(format!("seed {seed}: {}", f.invariant));
                            }
                        }
                    }
                    (total, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Report::default();
    let mut failures = Vec::new();
    for (r, f) in &results {
        total.absorb(r);
        failures.extend(f.iter().cloned());
    }
    println!("{n} seeds with kqueue: {total:#?}");
    assert!(
        failures.is_empty(),
        "{} of {n} seeds failed; first: {}",
        failures.len(),
        failures[0]
    );
    if n >= 2000 {
        assert_eq!(
            total.unexercised(),
            Vec::<&str>::new(),
            "paths the sweep never reached"
        );
    }
}

#[test]
fn spurious_and_stale_reports_are_harmless_with_kqueue() {
    let clients = (0..12)
        .map(|i| match i % 4 {
            0 => ClientSpec::keep_alive(3, 20),
            1 => ClientSpec::slow_reader(50_000, 2048, 512, 10),
            2 => ClientSpec::invalid(true, 2000, 100, 20),
            _ => ClientSpec::trickler(500, 5, 10),
        })
        .map(|c| c.at(5))
        .collect();
    let mut s = Scenario::new(clients);
    s.faults = Faults {
        // A batch of one: nearly every wait flushes its changelist first.
        max_batch: 1,
        shuffle: true,
        spurious_every_ms: Some(1),
        stale_every_ms: Some(3),
        late_wake_ms: Some(50),
    };
    let r = match run_scenario(7, &s, &kqueue()) {
        Ok(r) => r,
        Err(f) => panic!("{f}"),
    };
    assert!(r.spurious > 10 && r.stale > 0, "{r:?}");
}

#[test]
fn the_poller_model_changes_the_runs() {
    // Same seeds, same scenarios: kqueue's report order and early returns must lead some run
    // down a different path, or the sweep above would only repeat the epoll one. Most seeds'
    // runs are the same under both (about one in twenty differs), so look through 200.
    let differs = (0..200).any(|seed| {
        let epoll = run(seed, &SimConfig::default()).map(|r| (r.steps, r.iterations));
        let kq = run(seed, &kqueue()).map(|r| (r.steps, r.iterations));
        epoll.is_ok() && kq.is_ok() && epoll != kq
    });
    assert!(differs);
}
