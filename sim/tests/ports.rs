//! The seed sweep over the event-ports model: every invariant must hold when connections are
//! dissociated on delivery, listeners report once more after each burst, and reads see spurious
//! `POLLIN`.
//!
//! `SIM_PORTS_SEEDS=n` changes the sweep's size (default 10,000); `SIM_PORTS_SEED=s` replays one
//! seed with its whole event trace printed.

use eventmpm_sim::ports::DEFAULT_SPURIOUS_PER_MILLE;
use eventmpm_sim::{PollerKind, Report, SimConfig, run};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn ports(spurious_per_mille: u16) -> SimConfig {
    SimConfig {
        poller: PollerKind::Ports { spurious_per_mille },
        ..SimConfig::default()
    }
}

/// Runs seeds `0..n` on two threads; returns the summed report and the failures.
fn sweep(n: u64, config: &SimConfig) -> (Report, Vec<String>) {
    let threads = 2u64;
    let results: Vec<(Report, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut total = Report::default();
                    let mut failures = Vec::new();
                    for seed in (t..n).step_by(threads as usize) {
                        match run(seed, config) {
                            Ok(r) => total.absorb(&r),
                            Err(f) => {
                                eprintln!(
                                    "SIM FAILURE (replay with SIM_PORTS_SEED={seed}):\n{f}\n"
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
    (total, failures)
}

#[test]
fn random_seeds_on_event_ports() {
    if let Some(seed) = env_u64("SIM_PORTS_SEED") {
        let config = SimConfig {
            echo_trace: true,
            trace_capacity: 0,
            ..ports(DEFAULT_SPURIOUS_PER_MILLE)
        };
        match run(seed, &config) {
            Ok(report) => println!("{report:#?}"),
            Err(f) => panic!("{f}"),
        }
        return;
    }
    let n = env_u64("SIM_PORTS_SEEDS").unwrap_or(10_000);
    let (total, failures) = sweep(n, &ports(DEFAULT_SPURIOUS_PER_MILLE));
    println!("{n} seeds on event ports: {total:#?}");
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
fn a_storm_of_spurious_pollin_is_harmless() {
    // Half of all read associations report at once with nothing to read.
    let (total, failures) = sweep(300, &ports(500));
    assert!(failures.is_empty(), "first: {}", failures[0]);
    assert!(
        total.spurious > total.accepted,
        "the storm did not happen: {} spurious reports for {} connections",
        total.spurious,
        total.accepted
    );
}

#[test]
fn the_same_seed_runs_the_same_on_ports() {
    let config = ports(DEFAULT_SPURIOUS_PER_MILLE);
    for seed in [3, 17, 4242] {
        assert_eq!(run(seed, &config), run(seed, &config), "seed {seed}");
    }
}
