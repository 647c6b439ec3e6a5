//! Replay simulator seeds: `sim --seed 1234 [--trace]`, or sweep: `sim --seed 0 --seeds 1000`.
//! `--scenario` prints each seed's scenario; `--sabotage NAME` breaks the simulated listener on
//! purpose (skip-expire, dispatch-partial, ignore-admission, keep-alive-after-stop,
//! lose-handback) to watch the checker fire.

use std::process::ExitCode;

use eventmpm_sim::{Sabotage, Scenario, SimConfig, run};

fn usage() -> ExitCode {
    eprintln!(
        "usage: sim [--seed N] [--seeds COUNT] [--trace] [--scenario] [--sabotage NAME]\n\
         sabotages: skip-expire dispatch-partial ignore-admission keep-alive-after-stop \
         lose-handback"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut seed = 0u64;
    let mut count = 1u64;
    let mut config = SimConfig::default();
    let mut show_scenario = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let num = |v: Option<String>| v.and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--seed" => match num(args.next()) {
                Some(n) => seed = n,
                None => return usage(),
            },
            "--seeds" => match num(args.next()) {
                Some(n) => count = n,
                None => return usage(),
            },
            "--trace" => {
                config.echo_trace = true;
                config.trace_capacity = 0;
            }
            "--scenario" => show_scenario = true,
            "--sabotage" => {
                config.sabotage = Some(match args.next().as_deref() {
                    Some("skip-expire") => Sabotage::SkipExpire,
                    Some("dispatch-partial") => Sabotage::DispatchPartialHeads,
                    Some("ignore-admission") => Sabotage::IgnoreAdmission,
                    Some("keep-alive-after-stop") => Sabotage::KeepAliveAfterStop,
                    Some("lose-handback") => Sabotage::LoseHandback,
                    _ => return usage(),
                })
            }
            _ => return usage(),
        }
    }
    let mut failed = 0u64;
    let mut total = eventmpm_sim::Report::default();
    for s in seed..seed.saturating_add(count) {
        if show_scenario {
            println!("{:#?}", Scenario::generate(s));
        }
        match run(s, &config) {
            Ok(report) if count == 1 => println!("{report:#?}"),
            Ok(report) => total.absorb(&report),
            Err(f) => {
                failed += 1;
                println!("{f}");
            }
        }
    }
    if count > 1 {
        println!("{total:#?}");
        println!("never exercised: {:?}", total.unexercised());
        println!("{count} seeds from {seed}: {failed} failed");
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
