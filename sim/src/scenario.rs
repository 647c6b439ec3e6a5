//! Scenarios: the server's settings, the faults to inject and the clients, all drawn from a seed.

use eventmpm_core::admission::Factor;
use eventmpm_core::conn::{HeadTimeout, KeepAliveSettings};
use eventmpm_core::table::Settings;
use eventmpm_core::time::Duration;

use crate::client::{
    AfterLast, Behaviour, Body, ClientSpec, Handshake, Pacing, Reading, RequestSpec,
};
use crate::http::HeadSpec;
use crate::prng::Rng;

/// Poller-level faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// The most events one poller wait returns (small values truncate batches).
    pub max_batch: usize,
    /// Shuffle each batch (events arrive in any order).
    pub shuffle: bool,
    /// Mean milliseconds between spurious readiness reports (none if `None`).
    pub spurious_every_ms: Option<u64>,
    /// Mean milliseconds between stale-token reports (none if `None`).
    pub stale_every_ms: Option<u64>,
    /// The listener's timer wakes it up to this many milliseconds after `next_deadline()`
    /// (a busy or descheduled thread); readiness still wakes it at once. The deadline checks
    /// allow exactly this much slack.
    pub late_wake_ms: Option<u64>,
}

impl Faults {
    /// No faults, generous batches.
    pub const NONE: Faults = Faults {
        max_batch: 64,
        shuffle: false,
        spurious_every_ms: None,
        stale_every_ms: None,
        late_wake_ms: None,
    };
}

/// Everything one run simulates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The table's timeouts.
    pub settings: Settings,
    /// KeepAlive, KeepAliveTimeout (the same as the table's) and MaxKeepAliveRequests.
    pub keep_alive: KeepAliveSettings,
    /// ThreadsPerChild: the number of worker threads.
    pub workers: u32,
    /// AsyncRequestWorkerFactor.
    pub factor: Factor,
    /// Slots in the connection table.
    pub capacity: usize,
    /// The listening socket's backlog.
    pub backlog: usize,
    /// The clients, in arrival order.
    pub clients: Vec<ClientSpec>,
    /// The graceful stop, from the start of the run.
    pub stop_ms: Option<u64>,
    /// Poller faults.
    pub faults: Faults,
}

impl Scenario {
    /// Plain settings (KeepAliveTimeout 5 s, Timeout 60 s, header=20-40,MinRate=500, four
    /// workers, factor 2) and the given clients; no stop, no faults.
    pub fn new(clients: Vec<ClientSpec>) -> Scenario {
        let settings = Settings {
            keep_alive_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            head: HeadTimeout::DEFAULT,
            handshake: None,
        };
        let mut s = Scenario {
            settings,
            keep_alive: KeepAliveSettings {
                enabled: true,
                timeout: settings.keep_alive_timeout,
                max_requests: 100,
            },
            workers: 4,
            factor: Factor::DEFAULT,
            capacity: 64,
            backlog: 128,
            clients,
            stop_ms: None,
            faults: Faults::NONE,
        };
        s.sort_clients();
        s
    }

    /// Put the clients in arrival order (the simulator admits them in that order).
    pub fn sort_clients(&mut self) {
        self.clients.sort_by_key(|c| c.arrive_ms);
    }

    /// The scenario a seed stands for.
    pub fn generate(seed: u64) -> Scenario {
        let mut rng = Rng::new(seed);
        let mut settings_rng = rng.fork();
        let mut clients_rng = rng.fork();
        // TLS is drawn from a stream of its own, so the scenarios seeds stood for before TLS
        // keep everything else.
        let mut tls_rng = rng.fork();
        let r = &mut settings_rng;

        let workers = r.range(1, 8) as u32;
        let factor = if r.percent(50) {
            Factor::from_thousandths(r.pick(&[1000, 1250, 1500, 2000, 2500, 3000]))
        } else {
            Factor::from_thousandths(r.range(1000, 4000) as u32)
        };
        let bound = workers as u64 + factor.scale(workers) as u64;
        // Sometimes fewer slots than admission would allow, so a full table is exercised too.
        let capacity = if r.percent(60) {
            r.range(bound, bound + 16)
        } else {
            r.range(1, bound.max(2))
        } as usize;
        let ms = Duration::from_millis;
        let keep_alive_timeout = ms(r.pick(&[0, 1, 50, 200, 1000, 2000, 5000, 15_000]));
        let timeout = ms(r.pick(&[0, 1, 100, 500, 1000, 5000, 30_000]));
        let initial = ms(r.pick(&[0, 50, 300, 1000, 2000, 5000]));
        let extended = if r.percent(50) {
            Some(ms(r.pick(&[0, 100, 500, 1000, 3000])))
        } else {
            None
        };
        let min_rate = r.pick(&[0, 0, 50, 200, 500, 2000]);
        let settings = Settings {
            keep_alive_timeout,
            timeout,
            head: HeadTimeout {
                initial,
                extended,
                min_rate,
            },
            handshake: tls_rng.percent(50).then(|| {
                let t = &mut tls_rng;
                HeadTimeout {
                    initial: ms(t.pick(&[0, 50, 300, 1000, 2000])),
                    extended: t.percent(50).then(|| ms(t.pick(&[0, 100, 1000]))),
                    min_rate: t.pick(&[0, 0, 50, 500, 5000]),
                }
            }),
        };
        let keep_alive = KeepAliveSettings {
            enabled: r.percent(90),
            timeout: keep_alive_timeout,
            max_requests: r.pick(&[0, 1, 2, 5, 100]),
        };
        let faults = Faults {
            max_batch: if r.percent(30) {
                r.range(1, 3) as usize
            } else {
                r.range(4, 64) as usize
            },
            shuffle: r.percent(50),
            spurious_every_ms: r.percent(40).then(|| r.range(5, 2000)),
            stale_every_ms: r.percent(20).then(|| r.range(5, 2000)),
            late_wake_ms: r.percent(25).then(|| r.pick(&[1, 10, 100, 1000, 5000])),
        };
        let span = r.pick(&[100, 1000, 5000, 20_000]);
        let n = match r.below(10) {
            0..=6 => r.range(1, 12),
            7..=8 => r.range(12, 40),
            _ => r.range(40, 100),
        } as usize;
        // Some scenarios have slow handlers, so workers run out and dispatches queue up.
        let handler_scale = if r.percent(25) { r.range(5, 50) } else { 1 };
        let stop_ms = if r.percent(90) {
            Some(r.range(0, span + span / 2 + 5000))
        } else {
            None
        };
        let backlog = if r.percent(20) {
            r.range(1, 8)
        } else {
            r.range(64, 256)
        } as usize;

        let clients = (0..n)
            .map(|_| {
                let b = clients_rng.pick(&Behaviour::ALL);
                let mut c = client(b, &mut clients_rng, &settings);
                c.arrive_ms = clients_rng.range(0, span);
                if tls_rng.percent(25) {
                    c.handshake = Some(handshake(&mut tls_rng));
                }
                for q in &mut c.requests {
                    q.handler_ms = q
                        .handler_ms
                        .saturating_mul(handler_scale as u32)
                        .min(20_000);
                }
                c
            })
            .collect();
        let mut s = Scenario {
            settings,
            keep_alive,
            workers,
            factor,
            capacity: capacity.max(1),
            backlog,
            clients,
            stop_ms,
            faults,
        };
        s.sort_clients();
        s
    }
}

/// A TLS client's handshake: mostly whole, sometimes trickled (a few hundred writes at most)
/// or stalled partway.
fn handshake(r: &mut Rng) -> Handshake {
    let bytes = r.range(100, 3000) as u32;
    let pacing = match r.below(10) {
        0..=5 => Pacing::Whole,
        6..=8 => Pacing::Trickle {
            chunk: (r.range(1, 400) as u32).max(bytes / 200),
            every_ms: r.range(1, 300),
        },
        _ => Pacing::Stall {
            prefix: r.range(0, bytes as u64) as u32,
        },
    };
    Handshake { bytes, pacing }
}

fn request(r: &mut Rng) -> RequestSpec {
    let response_bytes = if r.percent(80) {
        r.range(0, 4000)
    } else {
        r.range(4000, 100_000)
    } as u32;
    let handler_ms = if r.percent(80) {
        r.range(0, 20)
    } else {
        r.range(20, 1500)
    } as u32;
    RequestSpec::get(response_bytes, handler_ms)
}

/// A client of behaviour `b`, with parameters drawn relative to `settings` (tricklers above or
/// below MinRate, resets within the client's likely life).
fn client(b: Behaviour, r: &mut Rng, settings: &Settings) -> ClientSpec {
    let mut c = match b {
        Behaviour::KeepAlive => {
            let n = r.range(1, 6) as usize;
            let mut c = ClientSpec::keep_alive(n, 0);
            c.requests = (0..n).map(|_| request(r)).collect();
            c.think_ms = r.pick(&[0, 1, 10, 100, 1000, 6000]);
            c.after_last = if r.percent(70) {
                AfterLast::Close
            } else {
                AfterLast::Idle
            };
            c
        }
        Behaviour::Http10 => {
            let mut c = ClientSpec::http10();
            let mut req = request(r);
            req.head = HeadSpec::Valid {
                http11: false,
                keep_alive: r.percent(30),
                pad: 0,
            };
            c.requests = vec![req];
            c
        }
        Behaviour::Pipeliner => {
            let n = if r.percent(25) {
                r.range(30, 45)
            } else {
                r.range(2, 8)
            } as usize;
            let mut c = ClientSpec::pipeliner(n);
            c.requests = (0..n)
                .map(|_| {
                    let mut q = request(r);
                    q.response_bytes = q.response_bytes.min(3000);
                    q.handler_ms = q.handler_ms.min(20);
                    if r.percent(5) {
                        q.head = HeadSpec::Malformed;
                    } else if r.percent(5) {
                        q.head = HeadSpec::Valid {
                            http11: true,
                            keep_alive: false,
                            pad: 0,
                        };
                    }
                    q
                })
                .collect();
            if r.percent(30) {
                // The last head trickles in behind the others: a worker's read finds part of it.
                if let Some(last) = c.requests.last_mut() {
                    last.pacing = Pacing::Trickle {
                        chunk: r.range(1, 30) as u32,
                        every_ms: r.range(1, 100),
                    };
                }
            }
            c
        }
        Behaviour::Trickler => {
            // Aim at a rate between a third of MinRate and three times it.
            let min_rate = settings.head.min_rate.max(100) as u64;
            let rate = r.range(min_rate / 3, min_rate * 3).max(1);
            let every = r.range(5, 200);
            let chunk = (rate * every / 1000).clamp(1, 2000) as u32;
            let head = r.range(100, 6000) as u32;
            // At most a few hundred writes per trickler keeps runs short.
            let chunk = chunk.max(head / 300);
            let mut c = ClientSpec::trickler(head, chunk, every);
            if r.percent(30) {
                c.requests.push(request(r));
            }
            c
        }
        Behaviour::Staller => ClientSpec::staller(r.range(0, 40) as u32),
        Behaviour::IdleKeepAlive => {
            let mut c = ClientSpec::idle_keep_alive();
            c.requests = vec![request(r)];
            c
        }
        Behaviour::Resetter | Behaviour::HalfCloser => {
            let n = r.range(1, 4) as usize;
            let mut c = ClientSpec::keep_alive(n, r.pick(&[0, 10, 300]));
            c.requests = (0..n).map(|_| request(r)).collect();
            c.pipeline = r.percent(30);
            if r.percent(30) {
                c.requests[0].pacing = Pacing::Trickle {
                    chunk: r.range(1, 20) as u32,
                    every_ms: r.range(1, 50),
                };
            }
            c.after_last = AfterLast::Idle;
            c.behaviour = b;
            let at = r.range(0, 3000);
            if b == Behaviour::Resetter {
                c.reset_after_ms = Some(at);
            } else {
                c.half_close_after_ms = Some(at);
            }
            c
        }
        Behaviour::SlowReader => {
            let window = r.range(512, 16_384) as u32;
            let mut c = ClientSpec::slow_reader(
                r.range(10_000, 150_000) as u32,
                window,
                r.range(256, window as u64) as u32,
                r.range(5, 300),
            );
            if r.percent(40) {
                c.requests.push(request(r));
            }
            c
        }
        Behaviour::StoppedReader => {
            let mut c = ClientSpec::stopped_reader(r.range(20_000, 200_000) as u32, 4096);
            c.window = r.range(512, 16_384) as u32;
            c.reading = Reading::StopAfter {
                after_ms: r.pick(&[0, 5, 50, 500]),
            };
            c
        }
        Behaviour::Invalid => {
            let mut c = ClientSpec::invalid(
                r.percent(70),
                r.pick(&[0, 100, 5000, 40_000]) as u32,
                r.range(100, 4000) as u32,
                r.range(1, 500),
            );
            if let Some(body) = c.requests[0].body.as_mut() {
                // A few hundred writes at most.
                body.chunk = body.chunk.max(body.bytes / 200);
            }
            if c.requests[0].body.is_none() && r.percent(50) {
                c.requests[0].body = Some(Body {
                    bytes: 10,
                    chunk: 10,
                    every_ms: 0,
                });
            }
            c
        }
    };
    c.behaviour = b;
    c.reaction_ms = r.pick(&[0, 0, 1, 5, 40]);
    if r.percent(30) {
        c.first_send_ms = r.range(1, 50);
    }
    if b != Behaviour::SlowReader && b != Behaviour::StoppedReader {
        c.window = r.pick(&[2048, 16_384, 65_536, 262_144]);
    }
    if b != Behaviour::Resetter && r.percent(3) {
        c.reset_after_ms = Some(r.range(0, 5000));
    }
    if b != Behaviour::HalfCloser && r.percent(3) {
        c.half_close_after_ms = Some(r.range(0, 5000));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_varied() {
        assert_eq!(Scenario::generate(5), Scenario::generate(5));
        assert_ne!(Scenario::generate(5), Scenario::generate(6));
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..300 {
            let s = Scenario::generate(seed);
            assert!(s.capacity >= 1 && (1..=8).contains(&s.workers));
            assert!(
                s.clients
                    .windows(2)
                    .all(|w| w[0].arrive_ms <= w[1].arrive_ms)
            );
            seen.extend(s.clients.iter().map(|c| c.behaviour));
        }
        assert_eq!(
            seen.len(),
            Behaviour::ALL.len(),
            "every behaviour is generated"
        );
    }
}
