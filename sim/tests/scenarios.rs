//! The simulator's seed sweep and one targeted scenario per client behaviour.
//!
//! `SIM_SEEDS=n` changes the sweep's size (default 20,000); `SIM_SEED=s` replays one seed with its
//! whole event trace printed.

use eventmpm_core::admission::Factor;
use eventmpm_core::conn::HeadTimeout;
use eventmpm_core::time::Duration;
use eventmpm_core::timeouts::{CLASSES, Class};
use eventmpm_sim::client::{ClientSpec, Handshake, Pacing};
use eventmpm_sim::{Faults, Report, Scenario, SimConfig, run, run_scenario};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn random_seeds() {
    if let Some(seed) = env_u64("SIM_SEED") {
        let config = SimConfig {
            echo_trace: true,
            trace_capacity: 0,
            ..SimConfig::default()
        };
        match run(seed, &config) {
            Ok(report) => println!("{report:#?}"),
            Err(f) => panic!("{f}"),
        }
        return;
    }
    let n = env_u64("SIM_SEEDS").unwrap_or(20_000);
    let threads = 2u64;
    let results: Vec<(Report, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let config = SimConfig::default();
                    let mut total = Report::default();
                    let mut failures = Vec::new();
                    for seed in (t..n).step_by(threads as usize) {
                        match run(seed, &config) {
                            Ok(r) => total.absorb(&r),
                            Err(f) => {
                                eprintln!("SIM FAILURE (replay with SIM_SEED={seed}):\n{f}\n");
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
    println!("{n} seeds: {total:#?}");
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

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Run `s`, panicking with the failure (trace included) if an invariant breaks.
fn check(s: &Scenario) -> Report {
    match run_scenario(7, s, &SimConfig::default()) {
        Ok(r) => r,
        Err(f) => panic!("{f}"),
    }
}

fn one(client: ClientSpec) -> Scenario {
    Scenario::new(vec![client])
}

#[test]
fn keep_alive_client_gets_every_response() {
    let r = check(&one(ClientSpec::keep_alive(5, 10)));
    assert_eq!((r.requests, r.responses, r.keep_alive_responses), (5, 5, 5));
    assert_eq!(r.dispatches, 5);
    assert_eq!(r.handbacks[0], 5, "each response hands back to keep-alive");
    assert_eq!(
        r.timeouts, [0; CLASSES],
        "the client closes; nothing times out"
    );
}

#[test]
fn max_keep_alive_requests_closes_after_max_plus_one() {
    let mut s = one(ClientSpec::keep_alive(6, 0));
    s.keep_alive.max_requests = 2;
    let r = check(&s);
    assert_eq!(r.responses, 3, "MaxKeepAliveRequests 2 serves 3");
    assert_eq!(r.keep_alive_responses, 2);
    assert_eq!(r.handbacks[4], 1, "the third response lingers");
}

#[test]
fn http10_client_is_closed_after_one_response() {
    let r = check(&one(ClientSpec::http10()));
    assert_eq!((r.responses, r.keep_alive_responses), (1, 0));
    assert_eq!(r.handbacks[4], 1);
}

#[test]
fn pipeliner_is_served_in_order_and_yields_after_the_dispatch_bound() {
    let r = check(&one(ClientSpec::pipeliner(40)));
    assert_eq!(r.responses, 40);
    assert_eq!(r.handbacks[2], 1, "32 per dispatch, then Yield");
    assert_eq!(r.dispatches, 2);
}

#[test]
fn pipelined_partial_head_goes_back_to_the_listener() {
    let mut c = ClientSpec::pipeliner(3);
    c.requests[2].pacing = eventmpm_sim::client::Pacing::Trickle {
        chunk: 5,
        every_ms: 10,
    };
    let r = check(&one(c));
    assert_eq!(r.responses, 3);
    assert!(r.handbacks[1] >= 1, "a PartialHead hand-back: {r:?}");
}

fn head_timeouts(s: &mut Scenario) {
    s.settings.head = HeadTimeout {
        initial: ms(1000),
        extended: Some(ms(1000)),
        min_rate: 500,
    };
}

#[test]
fn trickler_below_min_rate_gets_408_at_the_initial_timeout() {
    // 100 B/s against MinRate 500.
    let mut s = one(ClientSpec::trickler(2000, 1, 10));
    head_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HeadInitial as usize], 1);
    assert_eq!((r.extensions, r.responses, r.error_responses), (0, 1, 1));
}

#[test]
fn trickler_above_min_rate_is_extended_once_and_served() {
    // 1000 B/s against MinRate 500; 1500 bytes need the extended stage.
    let mut s = one(ClientSpec::trickler(1500, 10, 10));
    head_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.extensions, 1);
    assert_eq!((r.requests, r.responses, r.error_responses), (1, 1, 0));
}

#[test]
fn trickler_too_long_even_when_fast_hits_the_maximum() {
    let mut s = one(ClientSpec::trickler(6000, 10, 10));
    head_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.extensions, 1);
    assert_eq!(r.timeouts[Class::HeadExtended as usize], 1);
    assert_eq!(r.error_responses, 1, "408 at header=1-2");
}

#[test]
fn without_a_maximum_a_fast_trickler_is_extended_repeatedly() {
    let mut s = one(ClientSpec::trickler(6000, 10, 10));
    s.settings.head = HeadTimeout {
        initial: ms(1000),
        extended: None,
        min_rate: 500,
    };
    let r = check(&s);
    assert!(r.extensions >= 4, "{r:?}");
    assert_eq!((r.responses, r.error_responses), (1, 0));
}

#[test]
fn staller_gets_408_and_a_silent_one_a_short_linger() {
    let mut s = one(ClientSpec::staller(10));
    head_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HeadInitial as usize], 1);
    assert_eq!(r.error_responses, 1);

    let mut s = one(ClientSpec::staller(0));
    head_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HeadInitial as usize], 1);
    assert_eq!(r.error_responses, 0, "nothing to answer");
}

#[test]
fn idle_keep_alive_client_is_closed_at_keep_alive_timeout() {
    let r = check(&one(ClientSpec::idle_keep_alive()));
    assert_eq!(r.responses, 1);
    assert_eq!(r.timeouts[Class::KeepAlive as usize], 1);
    assert!(r.end >= eventmpm_core::time::Instant::from_millis(5000));
}

#[test]
fn resetting_clients_end_their_connections() {
    for at in [0, 3, 7, 20, 60] {
        let mut c = ClientSpec::keep_alive(3, 20).reset_after(at);
        c.after_last = eventmpm_sim::client::AfterLast::Idle;
        let r = check(&one(c));
        assert_eq!(r.resets, 1, "reset at {at}");
    }
}

#[test]
fn half_closing_clients_still_get_their_answers() {
    for at in [0, 3, 7, 20, 150] {
        let mut c = ClientSpec::pipeliner(3).half_close_after(at);
        c.requests.iter_mut().for_each(|q| q.handler_ms = 5);
        let r = check(&one(c));
        assert_eq!(r.responses, 3, "half-close at {at}: {r:?}");
    }
}

#[test]
fn slow_reader_goes_through_write_completion() {
    let r = check(&one(ClientSpec::slow_reader(100_000, 4096, 1024, 20)));
    assert_eq!(r.handbacks[3], 1);
    assert_eq!(r.responses, 1);
    assert_eq!(r.timeouts[Class::WriteCompletion as usize], 0);
}

#[test]
fn stopped_reader_is_closed_at_timeout() {
    let mut s = one(ClientSpec::stopped_reader(100_000, 4096));
    s.settings.timeout = ms(500);
    let r = check(&s);
    assert_eq!(r.handbacks[3], 1);
    assert_eq!(r.timeouts[Class::WriteCompletion as usize], 1);
    assert_eq!(r.responses, 0, "never completely written");
}

#[test]
fn invalid_heads_are_rejected_and_their_bodies_drained() {
    let r = check(&one(ClientSpec::invalid(true, 5000, 500, 100)));
    assert_eq!(r.error_responses, 1);
    assert_eq!(r.dispatches, 0, "no worker sees a bad head");
    let r = check(&one(ClientSpec::invalid(false, 0, 1, 1)));
    assert_eq!(r.error_responses, 1, "431");
    // A body that outlasts the 30 s linger.
    let r = check(&one(ClientSpec::invalid(true, 40_000, 100, 100)));
    assert_eq!(r.timeouts[Class::Linger as usize], 1);
}

#[test]
fn graceful_stop_drains_without_keep_alive() {
    let clients = (0..10)
        .map(|i| ClientSpec::keep_alive(4, 300).at(i * 50))
        .chain((0..3).map(|i| ClientSpec::idle_keep_alive().at(i * 10)))
        .collect();
    let mut s = Scenario::new(clients);
    s.stop_ms = Some(700);
    let r = check(&s);
    assert!(r.stopped && r.open_at_stop > 0, "{r:?}");
    assert!(r.refused > 0, "clients arriving after the stop are refused");
}

#[test]
fn busy_workers_kill_idle_keep_alive_connections() {
    let mut clients: Vec<ClientSpec> = (0..4)
        .map(|i| ClientSpec::idle_keep_alive().at(i))
        .collect();
    // Trickled heads: accepted while the worker is idle, complete once it is busy.
    for _ in 0..3 {
        let mut c = ClientSpec::keep_alive(1, 0).at(100);
        c.requests[0].handler_ms = 1000;
        c.requests[0].pacing = eventmpm_sim::client::Pacing::Trickle {
            chunk: 10,
            every_ms: 1,
        };
        clients.push(c);
    }
    let mut s = Scenario::new(clients);
    s.workers = 1;
    s.factor = Factor::from_thousandths(10_000);
    let r = check(&s);
    assert!(r.kills > 0, "{r:?}");
    assert!(r.queued_dispatches > 0);
}

#[test]
fn admission_and_a_full_table_hold_clients_in_the_backlog() {
    let clients = (0..20)
        .map(|_| {
            let mut c = ClientSpec::keep_alive(2, 0);
            c.requests.iter_mut().for_each(|q| q.handler_ms = 50);
            c
        })
        .collect();
    let mut s = Scenario::new(clients);
    s.workers = 2;
    s.factor = Factor::MIN;
    let r = check(&s);
    assert!(r.admission_refusals > 0);
    assert_eq!(r.responses, 40);

    let mut s2 = s.clone();
    s2.capacity = 1;
    let r = check(&s2);
    assert_eq!((r.max_connections, r.responses), (1, 40));
}

#[test]
fn spurious_stale_and_late_events_are_harmless() {
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
        max_batch: 1,
        shuffle: true,
        spurious_every_ms: Some(1),
        stale_every_ms: Some(3),
        late_wake_ms: Some(50),
    };
    let r = check(&s);
    assert!(r.spurious > 10 && r.stale > 0, "{r:?}");
}

/// Found by the simulator (fixed in core): `Outcome::PartialHead { bytes }` used to start the
/// head-read stage with `stage_bytes = bytes`, so bytes that arrived *before* the stage counted
/// toward its MinRate and a client that sent nothing during the stage was extended.
#[test]
fn bytes_buffered_before_the_stage_do_not_earn_an_extension() {
    let mut c = ClientSpec::pipeliner(2);
    c.requests[1].head = eventmpm_sim::http::HeadSpec::Valid {
        http11: true,
        keep_alive: true,
        pad: 2000,
    };
    // 1000 bytes of the second head go out with the first request, then nothing more.
    c.requests[1].pacing = eventmpm_sim::client::Pacing::Stall { prefix: 1000 };
    let mut s = one(c);
    head_timeouts(&mut s); // header=1-2,MinRate=500: the stage needs 500 bytes in 1 s
    let r = check(&s);
    assert_eq!(r.handbacks[1], 1, "the worker handed back a partial head");
    assert_eq!(
        r.extensions, 0,
        "no byte arrived during the initial stage, yet it was extended"
    );
    assert_eq!(r.timeouts[Class::HeadInitial as usize], 1);
}

/// `handshake=1-2,MinRate=500` and `header=1-2,MinRate=500`.
fn tls_timeouts(s: &mut Scenario) {
    head_timeouts(s);
    s.settings.handshake = Some(HeadTimeout {
        initial: ms(1000),
        extended: Some(ms(1000)),
        min_rate: 500,
    });
}

fn tls(c: ClientSpec, bytes: u32, pacing: Pacing) -> ClientSpec {
    c.tls(Handshake { bytes, pacing })
}

#[test]
fn a_stalled_handshake_ends_at_its_stage_with_no_answer() {
    let mut s = one(tls(
        ClientSpec::keep_alive(1, 0),
        600,
        Pacing::Stall { prefix: 300 },
    ));
    tls_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HandshakeInitial as usize], 1);
    assert_eq!(r.timeouts[Class::HeadInitial as usize], 0);
    assert_eq!((r.requests, r.responses, r.error_responses), (0, 0, 0));
}

#[test]
fn a_handshake_above_min_rate_is_extended_and_below_it_is_not() {
    // 1000 B/s against MinRate 500: 1500 bytes need the extension, and get it.
    let mut s = one(tls(
        ClientSpec::keep_alive(1, 0),
        1500,
        Pacing::Trickle {
            chunk: 10,
            every_ms: 10,
        },
    ));
    tls_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.extensions, 1);
    assert_eq!((r.requests, r.responses, r.error_responses), (1, 1, 0));
    // 100 B/s: cut at the first stage.
    let mut s = one(tls(
        ClientSpec::keep_alive(1, 0),
        1500,
        Pacing::Trickle {
            chunk: 1,
            every_ms: 10,
        },
    ));
    tls_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HandshakeInitial as usize], 1);
    assert_eq!((r.extensions, r.requests), (0, 0));
}

#[test]
fn the_header_stage_starts_when_the_handshake_ends() {
    // A 1.5 s handshake (through its extension), then a head trickled over 1.5 s at 1000 B/s:
    // 3 s from accept, within header=1-2 counted from the handshake's end.
    let mut c = tls(
        ClientSpec::trickler(1500, 10, 10),
        1500,
        Pacing::Trickle {
            chunk: 10,
            every_ms: 10,
        },
    );
    c.requests[0].response_bytes = 100;
    let mut s = one(c);
    tls_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.extensions, 2, "one for the handshake, one for the head");
    assert_eq!((r.requests, r.responses, r.error_responses), (1, 1, 0));
}

#[test]
fn without_a_handshake_stage_timeout_bounds_each_wait() {
    // Timeout 1 s: a handshake of 20 writes 500 ms apart (10 s in all) is served; one that
    // pauses longer than Timeout is not.
    for (every_ms, served) in [(500, true), (1500, false)] {
        let mut s = one(tls(
            ClientSpec::keep_alive(1, 0),
            200,
            Pacing::Trickle {
                chunk: 10,
                every_ms,
            },
        ));
        s.settings.timeout = ms(1000);
        s.settings.handshake = None;
        let r = check(&s);
        assert_eq!(r.responses, u64::from(served), "every {every_ms} ms: {r:?}");
        assert_eq!(
            r.timeouts[Class::HandshakeInitial as usize],
            u64::from(!served)
        );
    }
}

#[test]
fn plain_clients_are_untouched_by_the_handshake_stage() {
    let mut s = one(ClientSpec::trickler(1500, 10, 10));
    tls_timeouts(&mut s);
    let r = check(&s);
    assert_eq!(r.timeouts[Class::HandshakeInitial as usize], 0);
    assert_eq!((r.extensions, r.responses, r.error_responses), (1, 1, 0));
}
