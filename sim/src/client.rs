//! Simulated clients: what each one sends, how fast it reads, and when it gives up.
//!
//! A client is a small script over its [`Wire`]: it writes its requests (whole, trickled, stalled
//! or pipelined), reads responses at its own pace, and reacts to the server's end of stream like
//! a real HTTP client: it stops sending after a `Connection: close` response and closes when it
//! sees the server's FIN. Clients act only when woken (their own timers, or output from the
//! server), so an idle client costs no simulation steps.

use eventmpm_core::time::{Duration, Instant};

use crate::http::{HeadSpec, encode};
use crate::socket::{SentRequest, Wire};

/// How a request's bytes go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pacing {
    /// In one write.
    #[default]
    Whole,
    /// `chunk` bytes every `every_ms` (a trickler; `chunk × 1000 / every_ms` bytes per second).
    Trickle {
        /// Bytes per write.
        chunk: u32,
        /// Milliseconds between writes.
        every_ms: u64,
    },
    /// The first `prefix` bytes, then silence (a staller).
    Stall {
        /// Bytes sent before going silent.
        prefix: u32,
    },
}

/// A TLS client's handshake: `bytes` of records before its first request, sent with `pacing`
/// (the simulated server knows the port speaks TLS and takes them as the handshake).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The handshake's length.
    pub bytes: u32,
    /// How they go out.
    pub pacing: Pacing,
}

/// Bytes a client sends after a head (a body the server will not read: only invalid clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Body {
    /// Total bytes.
    pub bytes: u32,
    /// Bytes per write.
    pub chunk: u32,
    /// Milliseconds between writes.
    pub every_ms: u64,
}

/// One request a client will send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    /// The head.
    pub head: HeadSpec,
    /// Body bytes the handler answers with.
    pub response_bytes: u32,
    /// How long the handler runs.
    pub handler_ms: u32,
    /// How the head is written.
    pub pacing: Pacing,
    /// Bytes sent after the head.
    pub body: Option<Body>,
}

impl RequestSpec {
    /// A whole HTTP/1.1 keep-alive GET.
    pub const fn get(response_bytes: u32, handler_ms: u32) -> RequestSpec {
        RequestSpec {
            head: HeadSpec::Valid {
                http11: true,
                keep_alive: true,
                pad: 0,
            },
            response_bytes,
            handler_ms,
            pacing: Pacing::Whole,
            body: None,
        }
    }
}

/// How a client reads its responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reading {
    /// Everything, as soon as it arrives.
    #[default]
    Eager,
    /// At most `bytes` every `every_ms` (a slow reader).
    Slow {
        /// Bytes per read.
        bytes: u32,
        /// Milliseconds between reads.
        every_ms: u64,
    },
    /// Eagerly until `after_ms` after arriving, then never again (a stuck reader).
    StopAfter {
        /// When reading stops, from arrival.
        after_ms: u64,
    },
}

/// What a client does once its requests are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AfterLast {
    /// Close the connection.
    #[default]
    Close,
    /// Stay connected and silent until the server closes (an idle keep-alive client).
    Idle,
}

/// The client behaviours the generator mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Behaviour {
    /// Several keep-alive requests, one after another.
    KeepAlive,
    /// One HTTP/1.0 request, closed after the response.
    Http10,
    /// Several heads in one write.
    Pipeliner,
    /// A head trickled a few bytes at a time.
    Trickler,
    /// Part of a head, then silence.
    Staller,
    /// One request, then idle forever.
    IdleKeepAlive,
    /// Resets the connection at a random moment.
    Resetter,
    /// Shuts down its sending side at a random moment.
    HalfCloser,
    /// Reads large responses slowly through a small window.
    SlowReader,
    /// Stops reading altogether.
    StoppedReader,
    /// Sends an invalid head, then a body during the lingering close.
    Invalid,
}

impl Behaviour {
    /// Every behaviour.
    pub const ALL: [Behaviour; 11] = [
        Behaviour::KeepAlive,
        Behaviour::Http10,
        Behaviour::Pipeliner,
        Behaviour::Trickler,
        Behaviour::Staller,
        Behaviour::IdleKeepAlive,
        Behaviour::Resetter,
        Behaviour::HalfCloser,
        Behaviour::SlowReader,
        Behaviour::StoppedReader,
        Behaviour::Invalid,
    ];
}

/// Everything about one client, fixed before the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    /// What the generator meant it to be (for reports).
    pub behaviour: Behaviour,
    /// When it connects, from the start of the run.
    pub arrive_ms: u64,
    /// Its requests, in order.
    pub requests: Vec<RequestSpec>,
    /// Send every request without waiting for responses.
    pub pipeline: bool,
    /// Pause between a response and the next request.
    pub think_ms: u64,
    /// What to do after the last response.
    pub after_last: AfterLast,
    /// Its receive window in bytes.
    pub window: u32,
    /// How it reads.
    pub reading: Reading,
    /// Reset the connection this long after arriving.
    pub reset_after_ms: Option<u64>,
    /// Shut down its sending side this long after arriving.
    pub half_close_after_ms: Option<u64>,
    /// Delay between output arriving and the client noticing.
    pub reaction_ms: u64,
    /// Delay between connecting and the first byte (a handshake, a slow client).
    pub first_send_ms: u64,
    /// A TLS handshake before the first request, on a TLS port.
    pub handshake: Option<Handshake>,
}

impl ClientSpec {
    fn base(behaviour: Behaviour, requests: Vec<RequestSpec>) -> ClientSpec {
        ClientSpec {
            behaviour,
            arrive_ms: 0,
            requests,
            pipeline: false,
            think_ms: 0,
            after_last: AfterLast::Close,
            window: 64 * 1024,
            reading: Reading::Eager,
            reset_after_ms: None,
            half_close_after_ms: None,
            reaction_ms: 0,
            first_send_ms: 0,
            handshake: None,
        }
    }

    /// `n` keep-alive requests, `think_ms` apart, then close.
    pub fn keep_alive(n: usize, think_ms: u64) -> ClientSpec {
        ClientSpec {
            think_ms,
            ..Self::base(Behaviour::KeepAlive, vec![RequestSpec::get(1000, 5); n])
        }
    }

    /// One HTTP/1.0 request without keep-alive.
    pub fn http10() -> ClientSpec {
        let mut r = RequestSpec::get(1000, 5);
        r.head = HeadSpec::Valid {
            http11: false,
            keep_alive: false,
            pad: 0,
        };
        Self::base(Behaviour::Http10, vec![r])
    }

    /// `n` heads in one write.
    pub fn pipeliner(n: usize) -> ClientSpec {
        ClientSpec {
            pipeline: true,
            ..Self::base(Behaviour::Pipeliner, vec![RequestSpec::get(200, 0); n])
        }
    }

    /// One head of about `head_bytes`, `chunk` bytes every `every_ms`.
    pub fn trickler(head_bytes: u32, chunk: u32, every_ms: u64) -> ClientSpec {
        let mut r = RequestSpec::get(100, 0);
        r.head = HeadSpec::Valid {
            http11: true,
            keep_alive: true,
            pad: head_bytes.saturating_sub(60),
        };
        r.pacing = Pacing::Trickle { chunk, every_ms };
        Self::base(Behaviour::Trickler, vec![r])
    }

    /// `prefix` bytes of a head, then silence.
    pub fn staller(prefix: u32) -> ClientSpec {
        let mut r = RequestSpec::get(100, 0);
        r.pacing = Pacing::Stall { prefix };
        ClientSpec {
            after_last: AfterLast::Idle,
            ..Self::base(Behaviour::Staller, vec![r])
        }
    }

    /// One request, then silent and connected until the server closes.
    pub fn idle_keep_alive() -> ClientSpec {
        ClientSpec {
            after_last: AfterLast::Idle,
            ..Self::base(Behaviour::IdleKeepAlive, vec![RequestSpec::get(500, 1)])
        }
    }

    /// One large response read `read_bytes` every `every_ms` through a `window`-byte window.
    pub fn slow_reader(
        response_bytes: u32,
        window: u32,
        read_bytes: u32,
        every_ms: u64,
    ) -> ClientSpec {
        ClientSpec {
            window,
            reading: Reading::Slow {
                bytes: read_bytes,
                every_ms,
            },
            ..Self::base(
                Behaviour::SlowReader,
                vec![RequestSpec::get(response_bytes, 1)],
            )
        }
    }

    /// One large response through a `window`-byte window, never read.
    pub fn stopped_reader(response_bytes: u32, window: u32) -> ClientSpec {
        ClientSpec {
            window,
            reading: Reading::StopAfter { after_ms: 0 },
            ..Self::base(
                Behaviour::StoppedReader,
                vec![RequestSpec::get(response_bytes, 1)],
            )
        }
    }

    /// An invalid head (`malformed`, else oversized), then `body` bytes `chunk` every `every_ms`.
    pub fn invalid(malformed: bool, body: u32, chunk: u32, every_ms: u64) -> ClientSpec {
        let mut r = RequestSpec::get(0, 0);
        r.head = if malformed {
            HeadSpec::Malformed
        } else {
            HeadSpec::Oversized
        };
        r.body = (body > 0).then_some(Body {
            bytes: body,
            chunk: chunk.max(1),
            every_ms,
        });
        Self::base(Behaviour::Invalid, vec![r])
    }

    /// The same client arriving at `ms`.
    pub fn at(mut self, ms: u64) -> ClientSpec {
        self.arrive_ms = ms;
        self
    }

    /// The same client, resetting `ms` after arriving.
    pub fn reset_after(mut self, ms: u64) -> ClientSpec {
        self.reset_after_ms = Some(ms);
        self
    }

    /// The same client over TLS, with `handshake` first.
    pub fn tls(mut self, handshake: Handshake) -> ClientSpec {
        self.handshake = Some(handshake);
        self
    }

    /// The longest its handshake takes to send, from the first byte (0 without TLS, or for one
    /// that stalls: the server ends that one).
    pub fn handshake_time_ms(&self) -> u64 {
        match self.handshake {
            Some(Handshake {
                bytes,
                pacing: Pacing::Trickle { chunk, every_ms },
            }) => u64::from(bytes).div_ceil(u64::from(chunk.max(1))) * every_ms,
            _ => 0,
        }
    }

    /// The same client, shutting down its sending side `ms` after arriving.
    pub fn half_close_after(mut self, ms: u64) -> ClientSpec {
        self.half_close_after_ms = Some(ms);
        self
    }

    /// The longest this client's largest response takes to read once written, beyond the
    /// write-completion timeout (for the graceful-stop bound).
    pub fn read_time_ms(&self) -> u64 {
        let largest = self
            .requests
            .iter()
            .map(|r| r.response_bytes as u64 + crate::http::RESPONSE_HEAD)
            .max()
            .unwrap_or(0);
        match self.reading {
            Reading::Slow { bytes, every_ms } => largest.div_ceil(bytes.max(1) as u64) * every_ms,
            _ => 0,
        }
    }
}

/// How a client's connection ended, from its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientEnd {
    /// It saw the server's end of stream and closed.
    Finished,
    /// It reset the connection.
    Reset,
    /// The server closed while it was not reading, or it wrote into a closed socket.
    ServerClosed,
    /// It was never accepted.
    Refused,
}

/// A client during the run.
#[derive(Clone, Debug)]
pub struct Client {
    /// Its script.
    pub spec: ClientSpec,
    /// Its connection (index into the run's wires), once it has arrived.
    pub wire: Option<usize>,
    /// When it next acts.
    pub wake: Option<Instant>,
    /// How it ended.
    pub end: Option<ClientEnd>,
    arrived: Instant,
    next_request: usize,
    current: Vec<u8>,
    current_sent: usize,
    body_left: u32,
    next_send: Instant,
    last_response_at: Instant,
    responses_seen: usize,
    stop_sending: bool,
    stalled: bool,
    next_read: Option<Instant>,
    handshake_sent: u32,
}

/// What a client did when it acted (for the trace).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Acted {
    /// Bytes written.
    pub sent: usize,
    /// Bytes read.
    pub read: u64,
    /// It shut down its sending side.
    pub fin: bool,
    /// It reset.
    pub reset: bool,
    /// It finished.
    pub ended: Option<ClientEnd>,
}

impl Client {
    /// A client that has not arrived yet.
    pub fn new(spec: ClientSpec) -> Client {
        Client {
            spec,
            wire: None,
            wake: None,
            end: None,
            arrived: Instant::ZERO,
            next_request: 0,
            current: Vec::new(),
            current_sent: 0,
            body_left: 0,
            next_send: Instant::ZERO,
            last_response_at: Instant::ZERO,
            responses_seen: 0,
            stop_sending: false,
            stalled: false,
            next_read: None,
            handshake_sent: 0,
        }
    }

    /// It connects at `now` over `wire` (still in the backlog).
    pub fn arrive(&mut self, now: Instant, wire: usize) {
        self.arrived = now;
        self.wire = Some(wire);
        self.wake = Some(now);
    }

    /// The server wrote or closed: wake up after the reaction delay (a slow reader keeps its own
    /// schedule).
    pub fn notify(&mut self, now: Instant) {
        if self.end.is_some() {
            return;
        }
        let at = match self.spec.reading {
            Reading::Slow { every_ms, .. } if self.next_read.is_none() => {
                let t = now + Duration::from_millis(every_ms);
                self.next_read = Some(t);
                t
            }
            Reading::Slow { .. } => return,
            _ => now + Duration::from_millis(self.spec.reaction_ms),
        };
        self.schedule(at);
    }

    /// It is ended by the server refusing it.
    pub fn refuse(&mut self) {
        self.end = Some(ClientEnd::Refused);
        self.wake = None;
    }

    fn schedule(&mut self, at: Instant) {
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    fn since_arrival(&self, ms: u64) -> Instant {
        self.arrived + Duration::from_millis(ms)
    }

    fn finish(&mut self, end: ClientEnd, acted: &mut Acted) {
        self.end = Some(end);
        self.wake = None;
        acted.ended = Some(end);
    }

    /// Act at `now` on `w`.
    pub fn act(&mut self, now: Instant, w: &mut Wire) -> Acted {
        let mut acted = Acted::default();
        if self.end.is_some() {
            return acted;
        }
        self.wake = None;
        if let Some(ms) = self.spec.reset_after_ms {
            let at = self.since_arrival(ms);
            if now >= at {
                w.client_reset = true;
                acted.reset = true;
                self.finish(ClientEnd::Reset, &mut acted);
                return acted;
            }
            self.schedule(at);
        }
        acted.read = self.read(now, w);
        let read = w.responses_read();
        for r in &w.responses[self.responses_seen..read] {
            self.stop_sending |= !r.keep_alive || r.error;
            self.last_response_at = now;
        }
        self.responses_seen = read;
        let body_pending = self.body_left > 0 || !self.current.is_empty();
        let invalid_sending = body_pending
            && !w.client_fin
            && !w.server_closed
            && self
                .spec
                .requests
                .get(self.next_request)
                .is_some_and(|r| r.body.is_some());
        // A client that reads our FIN closes its side; an invalid client first finishes pushing
        // its body, which is exactly what lingering close exists for.
        if w.client_sees_eof() && !invalid_sending {
            if !w.client_fin {
                w.client_fin = true;
                acted.fin = true;
            }
            self.finish(ClientEnd::Finished, &mut acted);
            return acted;
        }
        if w.server_closed && self.stopped_reading(now) {
            self.finish(ClientEnd::ServerClosed, &mut acted);
            return acted;
        }
        let half_close = self
            .spec
            .half_close_after_ms
            .map(|ms| self.since_arrival(ms));
        if !w.client_fin && !self.stalled && !self.stop_sending || invalid_sending && !w.client_fin
        {
            if w.server_closed {
                // Writing into a socket the server has closed earns a reset.
                self.finish(ClientEnd::ServerClosed, &mut acted);
                return acted;
            }
            acted.sent = self.send(now, w);
        }
        // Whatever was due is sent first; then the sending side is shut down.
        if let Some(at) = half_close {
            if now >= at {
                if !w.client_fin {
                    w.client_fin = true;
                    acted.fin = true;
                }
            } else {
                self.schedule(at);
            }
        }
        let all_sent = self.next_request >= self.spec.requests.len() && self.current.is_empty();
        let all_answered = read >= w.requests.len();
        if self.spec.after_last == AfterLast::Close && all_sent && all_answered && !w.client_fin {
            w.client_fin = true;
            acted.fin = true;
        }
        acted
    }

    fn stopped_reading(&self, now: Instant) -> bool {
        match self.spec.reading {
            Reading::StopAfter { after_ms } => now >= self.since_arrival(after_ms),
            _ => false,
        }
    }

    fn read(&mut self, now: Instant, w: &mut Wire) -> u64 {
        let available = w.written - w.client_read;
        let n = match self.spec.reading {
            Reading::Eager => available,
            Reading::StopAfter { after_ms } => {
                let at = self.since_arrival(after_ms);
                if now >= at {
                    0
                } else {
                    self.schedule(at);
                    available
                }
            }
            Reading::Slow { bytes, every_ms } => {
                if let Some(t) = self.next_read.filter(|&t| t > now) {
                    self.schedule(t);
                    0
                } else {
                    let n = available.min(bytes as u64);
                    self.next_read = None;
                    if available > n {
                        let t = now + Duration::from_millis(every_ms);
                        self.next_read = Some(t);
                        self.schedule(t);
                    }
                    n
                }
            }
        };
        w.client_read += n;
        n
    }

    /// Send what is due of the handshake; `true` once all of it is sent (or there is none).
    fn send_handshake(&mut self, now: Instant, w: &mut Wire) -> bool {
        let Some(h) = self.spec.handshake else {
            return true;
        };
        if self.handshake_sent >= h.bytes {
            return true;
        }
        let at = self.since_arrival(self.spec.first_send_ms);
        if now < at {
            self.schedule(at);
            return false;
        }
        let left = h.bytes - self.handshake_sent;
        let n = match h.pacing {
            Pacing::Whole => left,
            Pacing::Trickle { chunk, every_ms } => {
                if now < self.next_send {
                    self.schedule(self.next_send);
                    return false;
                }
                self.next_send = now + Duration::from_millis(every_ms);
                left.min(chunk.max(1))
            }
            Pacing::Stall { prefix } => {
                self.stalled = true;
                prefix.saturating_sub(self.handshake_sent).min(left)
            }
        };
        // A TLS record's content type (handshake) repeated: the server never parses it.
        w.c2s.extend(std::iter::repeat_n(0x16, n as usize));
        self.handshake_sent += n;
        if self.handshake_sent < h.bytes {
            if let Pacing::Trickle { .. } = h.pacing {
                self.schedule(self.next_send);
            }
            return false;
        }
        self.next_send = now;
        true
    }

    fn send(&mut self, now: Instant, w: &mut Wire) -> usize {
        let before = w.c2s.len();
        if !self.send_handshake(now, w) {
            return w.c2s.len() - before;
        }
        // Each pass finishes at most one request, so this bounds the loop.
        for _ in 0..=self.spec.requests.len() {
            if self.current.is_empty() && self.body_left == 0 {
                let k = self.next_request;
                let Some(spec) = self.spec.requests.get(k).copied() else {
                    break;
                };
                if k == 0 {
                    let at = self.since_arrival(self.spec.first_send_ms);
                    if now < at {
                        self.schedule(at);
                        break;
                    }
                }
                if !self.spec.pipeline && k > 0 {
                    if self.responses_seen < k {
                        break;
                    }
                    let at = self.last_response_at + Duration::from_millis(self.spec.think_ms);
                    if now < at {
                        self.schedule(at);
                        break;
                    }
                }
                let (bytes, end) = encode(spec.head, spec.response_bytes, spec.handler_ms);
                let start = w.c2s.len();
                w.requests.push(SentRequest {
                    start,
                    head_end: end.map(|e| start + e),
                    valid: matches!(spec.head, HeadSpec::Valid { .. }),
                    complete_at: None,
                });
                self.current = bytes;
                self.current_sent = 0;
                self.body_left = spec.body.map_or(0, |b| b.bytes);
                self.next_send = now;
            }
            let Some(spec) = self.spec.requests.get(self.next_request).copied() else {
                break;
            };
            if !self.current.is_empty() {
                let left = self.current.len() - self.current_sent;
                let n = match spec.pacing {
                    Pacing::Whole => left,
                    Pacing::Trickle { chunk, every_ms } => {
                        if now < self.next_send {
                            self.schedule(self.next_send);
                            break;
                        }
                        self.next_send = now + Duration::from_millis(every_ms);
                        left.min(chunk.max(1) as usize)
                    }
                    Pacing::Stall { prefix } => {
                        self.stalled = true;
                        (prefix as usize)
                            .saturating_sub(self.current_sent)
                            .min(left)
                    }
                };
                w.c2s
                    .extend_from_slice(&self.current[self.current_sent..self.current_sent + n]);
                self.current_sent += n;
                if self.current_sent < self.current.len() {
                    if let Pacing::Trickle { .. } = spec.pacing {
                        self.schedule(self.next_send);
                    }
                    break;
                }
                self.current.clear();
                if let Some(r) = w.requests.last_mut() {
                    r.complete_at = Some(now);
                }
            }
            if self.body_left > 0 {
                let body = spec.body.unwrap_or(Body {
                    bytes: 0,
                    chunk: 1,
                    every_ms: 0,
                });
                if now < self.next_send {
                    self.schedule(self.next_send);
                    break;
                }
                let n = self.body_left.min(body.chunk.max(1));
                w.c2s.extend(std::iter::repeat_n(b'z', n as usize));
                self.body_left -= n;
                self.next_send = now + Duration::from_millis(body.every_ms);
                if self.body_left > 0 {
                    self.schedule(self.next_send);
                    break;
                }
            }
            self.next_request += 1;
            if !self.spec.pipeline {
                break;
            }
        }
        w.c2s.len() - before
    }
}
