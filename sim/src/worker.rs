//! Simulated worker threads: a bounded dispatch queue, handlers that take simulated time, the
//! non-blocking write of each response, the keep-alive decision, the one non-blocking read for a
//! pipelined request, and the hand-back through the completion queue.

use std::collections::VecDeque;

use eventmpm_core::conn::{Handback, KeepAlive, MAX_REQUESTS_PER_DISPATCH, Outcome, keep_alive};
use eventmpm_core::table::ConnId;
use eventmpm_core::time::{Duration, Instant};

use crate::Sabotage;
use crate::http::{ERROR_RESPONSE, Head, RESPONSE_HEAD, Scan, scan};
use crate::report::Failure;
use crate::socket::{EndReason, Owner, Response};
use crate::trace::What;
use crate::world::World;

/// One dispatch: a connection a worker serves until it hands it back.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job {
    pub id: ConnId,
    pub wire: usize,
    /// Responses completed on the connection before this dispatch.
    pub served_before: u32,
    /// Responses completed during this dispatch.
    pub served: u32,
    /// When the current handler finishes.
    pub until: Instant,
    /// When it was queued for a worker (the stalled-workers rule reads the oldest).
    pub queued_at: Instant,
    /// The request being handled: a valid head, an invalid one (its status), or nothing usable.
    pub head: Option<Head>,
    pub invalid: Option<u16>,
    pub request: Option<usize>,
}

/// The worker threads and the two queues between them and the listener.
#[derive(Debug)]
pub(crate) struct Pool {
    pub threads: Vec<Option<Job>>,
    /// Listener → workers; never longer than the table's capacity (a connection is in it once).
    pub queue: VecDeque<Job>,
    /// Workers → listener.
    pub done: VecDeque<(ConnId, usize, Handback)>,
}

impl Pool {
    pub fn new(threads: usize) -> Pool {
        Pool {
            threads: vec![None; threads.max(1)],
            queue: VecDeque::new(),
            done: VecDeque::new(),
        }
    }
}

impl World<'_> {
    /// When the oldest request still waiting for a worker was queued.
    pub(crate) fn oldest_queued(&self) -> Option<Instant> {
        self.pool.queue.front().map(|j| j.queued_at)
    }

    /// Idle workers not spoken for by a queued dispatch.
    pub(crate) fn idle_workers(&self) -> u32 {
        let idle = self.pool.threads.iter().filter(|t| t.is_none()).count();
        idle.saturating_sub(self.pool.queue.len()) as u32
    }

    /// The listener hands `id` to a worker.
    pub(crate) fn hand_to_worker(
        &mut self,
        id: ConnId,
        wi: usize,
        served: u32,
    ) -> Result<(), Failure> {
        let w = &self.wires[wi];
        match w.request_at_consumed().map(|i| w.requests[i]) {
            Some(q) if q.valid && q.head_end.is_some_and(|e| e <= w.srv_read) => {}
            Some(q) => {
                return Err(self.fail(format!(
                    "a worker was handed {id:?} whose request head is not complete in its buffer \
                     (head ends at {:?}, {} bytes read, valid {})",
                    q.head_end, w.srv_read, q.valid
                )));
            }
            None => {
                return Err(self.fail(format!(
                    "a worker was handed {id:?} with no request starting at its buffer offset {}",
                    w.srv_consumed
                )));
            }
        }
        self.report.dispatches += 1;
        let mut job = Job {
            id,
            wire: wi,
            served_before: served,
            served: 0,
            until: self.now(),
            queued_at: self.now(),
            head: None,
            invalid: None,
            request: None,
        };
        match self.pool.threads.iter().position(Option::is_none) {
            Some(t) if self.pool.queue.is_empty() => {
                self.trace(What::Dispatch {
                    conn: id,
                    worker: Some(t),
                });
                self.start(t, job);
            }
            _ => {
                self.report.queued_dispatches += 1;
                self.wires[wi].owner = Owner::Queue;
                job.queued_at = self.now();
                self.trace(What::Dispatch {
                    conn: id,
                    worker: None,
                });
                self.pool.queue.push_back(job);
            }
        }
        Ok(())
    }

    fn start(&mut self, t: usize, mut job: Job) {
        self.wires[job.wire].owner = Owner::Worker(t);
        self.take_request(&mut job);
        self.pool.threads[t] = Some(job);
    }

    /// Consume the head at the buffer's start and start its handler.
    fn take_request(&mut self, job: &mut Job) {
        let now = self.now();
        let w = &mut self.wires[job.wire];
        job.request = w.request_at_consumed();
        job.head = None;
        job.invalid = None;
        job.until = now;
        match scan(w.buffer()) {
            Scan::Complete(h) => {
                w.srv_consumed += h.len;
                job.head = Some(h);
                job.until = now + Duration::from_millis(u64::from(h.handler_ms));
            }
            Scan::Invalid { status, len } => {
                w.srv_consumed += len;
                job.invalid = Some(status);
            }
            Scan::Partial => {}
        }
    }

    /// Worker `t`'s handler is done: respond, and continue or hand back.
    pub(crate) fn worker_finish(&mut self, t: usize) -> Result<(), Failure> {
        let Some(mut job) = self.pool.threads[t].take() else {
            return Ok(());
        };
        let now = self.now();
        // Each round serves one request; a dispatch serves at most MAX_REQUESTS_PER_DISPATCH.
        for _ in 0..=MAX_REQUESTS_PER_DISPATCH {
            match self.respond(&mut job)? {
                Some(outcome) => {
                    self.hand_back(job, outcome);
                    if let Some(next) = self.pool.queue.pop_front() {
                        self.start(t, next);
                    }
                    return Ok(());
                }
                None if job.until > now => {
                    self.pool.threads[t] = Some(job);
                    return Ok(());
                }
                None => {}
            }
        }
        Err(self.fail("a worker served more than MAX_REQUESTS_PER_DISPATCH requests"))
    }

    fn hand_back(&mut self, job: Job, outcome: Outcome) {
        let handback = Handback {
            served: job.served,
            outcome,
        };
        self.wires[job.wire].owner = Owner::Completion;
        self.trace(What::Handback {
            conn: job.id,
            handback,
        });
        self.pool.done.push_back((job.id, job.wire, handback));
    }

    /// Answer the job's current request. `Some(outcome)` hands the connection back; `None` means
    /// the next pipelined request's handler has started.
    fn respond(&mut self, job: &mut Job) -> Result<Option<Outcome>, Failure> {
        let now = self.now();
        let wi = job.wire;
        let (status, wants, bytes) = match (job.head, job.invalid) {
            (Some(h), _) => (
                h.status,
                h.keep_alive,
                u64::from(h.response_bytes) + RESPONSE_HEAD,
            ),
            (None, Some(status)) => (status, false, ERROR_RESPONSE),
            (None, None) => {
                // Handed a connection without a complete head: a real worker would block here.
                self.end_stream(wi, EndReason::WorkerClosed);
                return Ok(Some(Outcome::Close));
            }
        };
        if self.wires[wi].client_reset {
            self.end_stream(wi, EndReason::ClientClosed);
            return Ok(Some(Outcome::Close));
        }
        let stopping = self.stopping && !self.sabotaged(Sabotage::KeepAliveAfterStop);
        let ka = keep_alive(
            &self.sc.keep_alive,
            job.served_before + job.served,
            wants,
            true,
            status,
            stopping,
        );
        let open = matches!(ka, KeepAlive::Open { .. });
        if self.stopping && open {
            return Err(self.fail(format!(
                "a response on {:?} decided after the graceful stop advertises keep-alive",
                job.id
            )));
        }
        let w = &self.wires[wi];
        if w.server_shut_wr || w.server_closed {
            return Err(self.fail("a worker wrote after the connection was shut down"));
        }
        let w = &mut self.wires[wi];
        let start = w.written;
        let n = w.write(bytes);
        w.responses.push(Response {
            request: job.request,
            status,
            keep_alive: open,
            error: job.invalid.is_some(),
            end: start + bytes,
            complete: n == bytes,
            decided_at: now,
        });
        self.trace(What::Respond {
            conn: job.id,
            status,
            keep_alive: open,
            written: n,
            total: bytes,
        });
        self.notify(wi);
        if !open {
            let reason = if job.invalid.is_some() {
                EndReason::InvalidHead
            } else {
                EndReason::CloseResponse
            };
            self.end_stream(wi, reason);
        }
        if n < bytes {
            self.wires[wi].pending_out = bytes - n;
            return Ok(Some(Outcome::WriteCompletion { keep_alive: open }));
        }
        job.served += 1;
        self.report.responses += 1;
        self.report.keep_alive_responses += u64::from(open);
        if !open {
            return Ok(Some(Outcome::Linger));
        }
        // One non-blocking read for a pipelined or quick next request.
        let w = &mut self.wires[wi];
        let mut next = scan(w.buffer());
        if next == Scan::Partial {
            w.read_into_buffer();
            next = scan(w.buffer());
        }
        match next {
            Scan::Complete(_) | Scan::Invalid { .. } => {
                if job.served >= MAX_REQUESTS_PER_DISPATCH {
                    return Ok(Some(Outcome::Yield));
                }
                self.take_request(job);
                Ok(None)
            }
            Scan::Partial => {
                let buffered = w.buffer().len() as u32;
                if w.client_reset {
                    self.end_stream(wi, EndReason::ClientClosed);
                    Ok(Some(Outcome::Close))
                } else if w.at_eof() {
                    // The client finished sending; what is buffered can never complete.
                    self.end_stream(wi, EndReason::ClientClosed);
                    Ok(Some(Outcome::Linger))
                } else if buffered > 0 {
                    Ok(Some(Outcome::PartialHead { bytes: buffered }))
                } else {
                    Ok(Some(Outcome::KeepAlive))
                }
            }
        }
    }
}
