//! The simulated listener thread: one iteration of its loop, and the I/O behind each
//! [`Action`] the table asks for. This mirrors what the runtime's listener does with the core.

use eventmpm_core::admission::Switch;
use eventmpm_core::conn::{Action, Event, HeadRead, Outcome, Wrote};
use eventmpm_core::driver::{self, Io, Settled};
use eventmpm_core::listener::Accept;
use eventmpm_core::table::{ConnId, ConnTable};
use eventmpm_core::time::Instant;
use eventmpm_core::timeouts::Class;

use crate::Sabotage;
use crate::http::{ERROR_RESPONSE, Scan, scan};
use crate::poller::Interest;
use crate::report::Failure;
use crate::socket::{EndReason, Owner, Response};
use crate::trace::What;
use crate::world::{LISTEN, World};

impl World<'_> {
    /// One listener iteration: poll, handle the batch, apply worker hand-backs, expire, and let
    /// admission switch the listening socket.
    pub(crate) fn iteration(&mut self) -> Result<(), Failure> {
        let now = self.now();
        self.report.iterations += 1;
        let capacity = self.table.capacity() as u64;
        let mut work = 0u64;
        if self.stop_due() {
            self.stop();
        }

        let mut events = std::mem::take(&mut self.events);
        let max = self.sc.faults.max_batch.max(1);
        {
            let view = crate::world::View {
                wires: &self.wires,
                slot_wire: &self.slot_wire,
                backlog: self.backlog.len(),
            };
            self.poller.wait(&view, max, &mut events);
        }
        if self.sc.faults.shuffle {
            self.rng.shuffle(&mut events);
        }
        if events.len() > max {
            return Err(self.fail(format!(
                "the poller returned {} events for a batch of {max}",
                events.len()
            )));
        }
        self.trace(What::Poll {
            events: events.len(),
        });
        // The completion queue is drained when the waker's event comes up, which may be anywhere
        // in the batch: with shuffled batches, sometimes before the sockets' events.
        let handbacks_first = self.sc.faults.shuffle && self.rng.percent(50);
        if handbacks_first {
            work += self.apply_handbacks()?;
        }
        for ev in &events {
            work += 1;
            if ev.token == LISTEN {
                work += self.accept_all()?;
                continue;
            }
            let id = ConnId::from_token(ev.token);
            if ev.spurious {
                if self.table.conn(id).is_some() {
                    self.report.spurious += 1;
                } else {
                    self.report.stale += 1;
                }
            }
            self.perform_event(id, Event::Ready)?;
        }
        self.events = events;
        if !handbacks_first {
            work += self.apply_handbacks()?;
        }

        // The server's end of iteration: stalled workers, expiry, admission. The sabotage
        // skips only the expiry.
        let (idle, oldest) = (self.idle_workers(), self.oldest_queued());
        // The rules are copied out and back: the world is both their owner and their I/O.
        let switch = if self.sabotaged(Sabotage::SkipExpire) {
            let mut rules = self.rules;
            rules.kill_if_stalled(self, now, oldest);
            let (_, switch) = rules.switch(&self.table, idle);
            self.rules = rules;
            switch
        } else {
            let mut rules = self.rules;
            let it = rules.end_iteration(self, now, idle, oldest);
            self.rules = rules;
            let it = it?;
            work += u64::from(it.expired);
            if it.expired > capacity as u32 + 1 {
                return Err(self.fail("expire() returned more connections than are open"));
            }
            self.checker.after_expire(now).map_err(|e| self.fail(e))?;
            it.switch
        };
        if switch != Switch::Keep {
            self.trace(What::Admission { switch });
        }
        self.update_listening();

        // Bounded work: a batch, the hand-backs, the expiries and the accepts.
        let bound = max as u64 + 3 * capacity + 2;
        self.report.max_iteration_work = self.report.max_iteration_work.max(work);
        if work > bound {
            return Err(self.fail(format!(
                "bounded work: one listener iteration processed {work} events (bound {bound})"
            )));
        }
        Ok(())
    }

    /// Apply the worker hand-backs queued now (each connection is in the queue at most once, so
    /// this is bounded by the table's capacity). Returns how many.
    fn apply_handbacks(&mut self) -> Result<u64, Failure> {
        let n = self.pool.done.len();
        for _ in 0..n {
            let Some((id, wi, h)) = self.pool.done.pop_front() else {
                break;
            };
            if self.sabotaged(Sabotage::LoseHandback) && self.handbacks_lost == 0 {
                // The broken listener forgets this hand-back: the connection is lost.
                self.handbacks_lost += 1;
                self.wires[wi].owner = Owner::Gone;
                continue;
            }
            self.wires[wi].owner = Owner::Listener;
            let i = match h.outcome {
                Outcome::KeepAlive => 0,
                Outcome::PartialHead { .. } => 1,
                Outcome::Yield => 2,
                Outcome::WriteCompletion { .. } => 3,
                Outcome::Linger => 4,
                Outcome::Close => 5,
            };
            self.report.handbacks[i] += 1;
            self.perform_event(id, Event::Handback(h))?;
        }
        Ok(n as u64)
    }

    /// Poll the listening socket only while accepting is possible.
    fn update_listening(&mut self) {
        let on = self.rules.listening(&self.table);
        self.poller.listen(LISTEN, on);
    }

    /// The graceful stop: close the listener, refuse the backlog, shorten lingering.
    pub(crate) fn stop(&mut self) {
        self.stopping = true;
        self.rules.stop(&mut self.table);
        self.checker.stop();
        self.poller.listen(LISTEN, false);
        self.trace(What::Stop);
        self.report.stopped = true;
        self.report.open_at_stop = self.table.counts().connections as u64;
        self.drain_by = Some(self.now() + self.stop_bound());
        while let Some(wi) = self.backlog.pop_front() {
            self.refuse(wi);
        }
    }

    /// Accept while admission allows, a slot is free and a client waits. Returns the accepts.
    fn accept_all(&mut self) -> Result<u64, Failure> {
        if self.stopping {
            return Err(self.fail("the listener accepted after the graceful stop"));
        }
        let now = self.now();
        let mut accepted = 0;
        for _ in 0..self.table.capacity() {
            if self.backlog.is_empty() || self.table.is_full() {
                break;
            }
            let idle = self.idle_workers();
            let counts = self.table.counts();
            if !self.sabotaged(Sabotage::IgnoreAdmission) {
                match self.rules.may_accept(&self.table, idle, accepted == 0) {
                    Accept::Take => {}
                    Accept::Pause => break,
                    Accept::Refuse { switched, .. } => {
                        if switched {
                            self.trace(What::Admission {
                                switch: Switch::Disable,
                            });
                        }
                        self.report.admission_refusals += 1;
                        break;
                    }
                }
            }
            // Admission's bound, recomputed here: an idle worker, and
            // connections − lingering < ThreadsPerChild + idle × factor.
            let bound = u64::from(self.sc.workers)
                + u64::from(idle) * u64::from(self.sc.factor.thousandths()) / 1000;
            let counted = u64::from(counts.connections - counts.lingering);
            if idle == 0 || counted >= bound {
                return Err(self.fail(format!(
                    "admission bound exceeded at accept: {} connections, {} lingering, {idle} \
                     idle workers, bound {bound}",
                    counts.connections, counts.lingering
                )));
            }
            let Some(wi) = self.backlog.pop_front() else {
                break;
            };
            // The client's port speaks TLS when it handshakes.
            let tls = self.wires[wi].handshake > 0;
            let opened = if tls {
                self.table.open_tls(now)
            } else {
                self.table.open(now)
            };
            let Some((id, action)) = opened else {
                return Err(self.fail("table.open() refused although is_full() was false"));
            };
            let event = if tls { Event::OpenedTls } else { Event::Opened };
            let w = &mut self.wires[wi];
            w.conn = Some(id);
            w.owner = Owner::Listener;
            w.accepted_at = Some(now);
            let client = w.client;
            self.slot_wire[id.index()] = Some(wi);
            self.poller.add(id.token());
            self.trace(What::Accept { client, conn: id });
            self.trace(What::Table {
                conn: id,
                event,
                action,
            });
            self.checker
                .opened(id, now, event, action)
                .map_err(|e| self.fail(e))?;
            self.report.accepted += 1;
            self.report.max_connections = self
                .report
                .max_connections
                .max(u64::from(self.table.counts().connections));
            accepted += 1;
            self.perform(id, action)?;
        }
        Ok(accepted)
    }

    /// Feed `event` for `id` through the core's driver, then arm what the connection waits for.
    pub(crate) fn perform_event(&mut self, id: ConnId, event: Event) -> Result<(), Failure> {
        let now = self.now();
        let settled = driver::drive_event(self, id, event, now)?;
        self.settle(id, settled)
    }

    /// Carry out `action` for `id` through the core's driver, then arm what it waits for.
    pub(crate) fn perform(&mut self, id: ConnId, action: Action) -> Result<(), Failure> {
        let now = self.now();
        let settled = driver::drive(self, id, action, now)?;
        self.settle(id, settled)
    }

    fn settle(&mut self, id: ConnId, settled: Settled) -> Result<(), Failure> {
        match settled {
            Settled::Unsettled => Err(self.fail(format!(
                "an action chain for {id:?} did not settle within {} steps",
                driver::MAX_STEPS
            ))),
            Settled::Again(action) => Err(self.fail(format!(
                "{id:?} was served inline by the listener ({action:?} next): it must queue to \
                 the workers"
            ))),
            Settled::Wait(_) | Settled::Unchanged | Settled::Dispatched | Settled::Closed => Ok(()),
        }
    }

    /// The wire of a connection the table asks I/O for.
    fn wire_for(&mut self, id: ConnId, what: &str) -> Result<usize, Failure> {
        match self.wire_of(id) {
            Some(wi) => Ok(wi),
            None => Err(self.fail(format!("{what} for {id:?}, which has no socket"))),
        }
    }

    /// Record why the server stops reading requests, when an answer ends the stream.
    fn note_end(&mut self, wi: usize, event: Event, action: Action) {
        let reason = match (event, action) {
            (Event::TimedOut(_), Action::Reject { .. }) => EndReason::RequestTimeout,
            (_, Action::Reject { .. }) => EndReason::InvalidHead,
            (Event::TimedOut(Class::KeepAlive) | Event::KeepAliveKilled, Action::Linger) => {
                EndReason::KeepAliveEnded
            }
            (Event::TimedOut(_), Action::Linger) => EndReason::EmptyHeadTimeout,
            (Event::TimedOut(Class::WriteCompletion), Action::Close)
            | (Event::Wrote(Wrote::Failed), Action::Close) => EndReason::WriteEnded,
            (_, Action::Close | Action::Linger) => EndReason::ClientClosed,
            _ => return,
        };
        self.end_stream(wi, reason);
    }

    /// Scan the buffer, read what the socket has, scan again.
    fn read_head_of(&mut self, wi: usize) -> HeadRead {
        let partial_ok = self.sabotaged(Sabotage::DispatchPartialHeads);
        let w = &mut self.wires[wi];
        if w.handshaking() {
            let n = w.read_handshake();
            if w.handshaking() {
                return if w.at_eof() {
                    HeadRead::Closed
                } else {
                    HeadRead::Handshaking {
                        new_bytes: n as u32,
                    }
                };
            }
            // Done: what follows in the socket is the first request.
        }
        let found = |s: Scan| match s {
            Scan::Complete(_) => Some(HeadRead::Complete),
            Scan::Invalid { status, .. } => Some(HeadRead::Invalid { status }),
            Scan::Partial => None,
        };
        if let Some(r) = found(scan(w.buffer())) {
            return r;
        }
        let n = w.read_into_buffer();
        if let Some(r) = found(scan(w.buffer())) {
            return r;
        }
        if w.at_eof() {
            HeadRead::Closed
        } else if partial_ok && n > 0 {
            // The broken listener believes any new bytes finish the head.
            HeadRead::Complete
        } else {
            HeadRead::Partial {
                new_bytes: n as u32,
            }
        }
    }

    fn check_writable(&self, wi: usize) -> Result<(), Failure> {
        let w = &self.wires[wi];
        if w.server_shut_wr || w.server_closed {
            return Err(self.fail(format!(
                "the server wrote to connection {wi} after shutting it down"
            )));
        }
        Ok(())
    }

    /// Write more of the pending response (write completion).
    fn write_pending(&mut self, wi: usize) -> Result<Wrote, Failure> {
        self.check_writable(wi)?;
        let w = &mut self.wires[wi];
        if w.client_reset {
            return Ok(Wrote::Failed);
        }
        if w.pending_out == 0 {
            return Err(self.fail("write completion with nothing pending"));
        }
        let n = w.write(w.pending_out);
        if n == 0 {
            return Ok(Wrote::Blocked);
        }
        w.pending_out -= n;
        let done = w.pending_out == 0;
        let buffered = !w.buffer().is_empty();
        if done && let Some(r) = w.responses.last_mut() {
            r.complete = true;
            self.report.responses += 1;
            self.report.keep_alive_responses += u64::from(r.keep_alive);
        }
        self.notify(wi);
        Ok(if done {
            Wrote::Done { buffered }
        } else {
            Wrote::Progress
        })
    }

    /// Best-effort error response (non-blocking; whatever does not fit is dropped).
    fn write_error(&mut self, wi: usize, status: u16) -> Result<(), Failure> {
        self.check_writable(wi)?;
        let now = self.now();
        let w = &mut self.wires[wi];
        if w.client_reset {
            return Ok(());
        }
        let start = w.written;
        let n = w.write(ERROR_RESPONSE);
        w.responses.push(Response {
            request: None,
            status,
            keep_alive: false,
            error: true,
            end: start + ERROR_RESPONSE,
            complete: n == ERROR_RESPONSE,
            decided_at: now,
        });
        if n == ERROR_RESPONSE {
            self.report.responses += 1;
        }
        self.notify(wi);
        Ok(())
    }

    fn shutdown(&mut self, wi: usize) {
        self.wires[wi].server_shut_wr = true;
        self.notify(wi);
    }

    fn close_wire(&mut self, id: ConnId, wi: usize) -> Result<(), Failure> {
        let now = self.now();
        let w = &mut self.wires[wi];
        w.server_closed = true;
        w.closed_at = Some(now);
        w.owner = Owner::Gone;
        w.pending_out = 0;
        self.poller.remove(id.token());
        self.slot_wire[id.index()] = None;
        if self.recent_closed.len() == crate::world::RECENT_CLOSED {
            self.recent_closed.pop_front();
        }
        self.recent_closed.push_back(id.token());
        self.trace(What::Closed { conn: id });
        self.notify(wi);
        self.account(wi).map_err(|e| self.fail(e))?;
        if let Some(by) = self.drain_by
            && now > by
        {
            return Err(self.fail(format!(
                "after the graceful stop, {id:?} closed at {now:?}, later than the bound {by:?}"
            )));
        }
        Ok(())
    }

    /// A closed connection's responses against what its client sent.
    fn account(&self, wi: usize) -> Result<(), String> {
        let w = &self.wires[wi];
        let mut answered = 0usize;
        let mut prev: Option<&Response> = None;
        for r in &w.responses {
            if let Some(p) = prev
                && (p.error || !p.keep_alive)
            {
                return Err(format!(
                    "connection {wi}: a response followed one that closed the connection"
                ));
            }
            match r.request {
                Some(i) if i == answered => answered += 1,
                Some(i) => {
                    return Err(format!(
                        "connection {wi}: a response answers request {i}, expected {answered} \
                         (one response per request, in order)"
                    ));
                }
                None if r.error => {}
                None => return Err(format!("connection {wi}: a response answers nothing")),
            }
            prev = Some(r);
        }
        let normal = w.responses.iter().filter(|r| !r.error).count() as u64;
        let max = u64::from(self.sc.keep_alive.max_requests);
        if max > 0 && normal > max + 1 {
            return Err(format!(
                "connection {wi}: {normal} responses exceed MaxKeepAliveRequests {max} + 1"
            ));
        }
        if w.client_reset {
            return Ok(());
        }
        for (i, q) in w.requests.iter().enumerate().skip(answered) {
            let Some(head_end) = q.head_end.filter(|_| q.valid) else {
                // An invalid head breaks the stream: nothing after it is owed an answer.
                break;
            };
            if q.complete_at.is_none() {
                break;
            }
            let Some(end) = w.end else {
                return Err(format!(
                    "connection {wi}: request {i} got no response, yet the server never ended \
                     the connection"
                ));
            };
            if head_end > end.arrived {
                // It completed after the server's decision: a request racing our FIN.
                continue;
            }
            let excused = matches!(
                end.reason,
                EndReason::CloseResponse | EndReason::InvalidHead | EndReason::WriteEnded
            ) || end.event_pending;
            if !excused {
                return Err(format!(
                    "connection {wi}: complete request {i} had arrived when the server ended the \
                     connection ({:?} at {:?}) and it got no response",
                    end.reason, end.at
                ));
            }
        }
        Ok(())
    }
}

/// The simulator's sockets as the core's driver sees them: every I/O is checked against the
/// model, and a broken rule stops the run with a [`Failure`].
impl<'a> Io<'a> for World<'a> {
    type Error = Failure;

    fn table(&mut self) -> &mut ConnTable<'a> {
        &mut self.table
    }

    fn fed(&mut self, id: ConnId, event: Event, action: Action) -> Result<(), Failure> {
        let now = self.now();
        self.trace(What::Table {
            conn: id,
            event,
            action,
        });
        self.checker
            .event(id, event, now, action)
            .map_err(|e| self.fail(e))?;
        if let Some(wi) = self.wire_of(id) {
            self.note_end(wi, event, action);
        }
        Ok(())
    }

    fn wait(&mut self, id: ConnId, interest: driver::Interest) -> Result<bool, Failure> {
        self.wire_for(id, "a wait")?;
        let interest = match interest {
            driver::Interest::Readable => Interest::Readable,
            driver::Interest::Writable => Interest::Writable,
        };
        self.poller.arm(id.token(), interest);
        Ok(true)
    }

    fn expired(&mut self, id: ConnId, fed: Event, action: Action) -> Result<(), Failure> {
        let now = self.now();
        self.trace(What::Expire { conn: id, action });
        let event = self
            .checker
            .expired(id, action, now)
            .map_err(|e| self.fail(e))?;
        if fed != event {
            return Err(self.fail(format!(
                "expire says it fed {fed:?} to {id:?}; the model expired it with {event:?}"
            )));
        }
        match event {
            Event::KeepAliveKilled => self.report.kills += 1,
            Event::TimedOut(c) => self.report.timeouts[c as usize] += 1,
            _ => {}
        }
        if let Some(wi) = self.wire_of(id) {
            self.note_end(wi, event, action);
        }
        Ok(())
    }

    fn keep_alive_killed(&mut self) {
        self.checker.kill();
        self.trace(What::KillKeepAlive);
    }

    fn read_head(&mut self, id: ConnId) -> Result<HeadRead, Failure> {
        let wi = self.wire_for(id, "ReadHead")?;
        Ok(self.read_head_of(wi))
    }

    fn dispatch(&mut self, id: ConnId, served: u32, _: Instant) -> Result<Option<Event>, Failure> {
        let wi = self.wire_for(id, "Dispatch")?;
        self.hand_to_worker(id, wi, served)?;
        Ok(None)
    }

    fn write(&mut self, id: ConnId) -> Result<Wrote, Failure> {
        let wi = self.wire_for(id, "Write")?;
        self.write_pending(wi)
    }

    fn reject(&mut self, id: ConnId, status: u16) -> Result<bool, Failure> {
        let wi = self.wire_for(id, "Reject")?;
        self.write_error(wi, status)?;
        self.shutdown(wi);
        Ok(self.wires[wi].drain())
    }

    fn linger(&mut self, id: ConnId) -> Result<bool, Failure> {
        let wi = self.wire_for(id, "Linger")?;
        self.shutdown(wi);
        Ok(self.wires[wi].drain())
    }

    fn drain(&mut self, id: ConnId) -> Result<bool, Failure> {
        let wi = self.wire_for(id, "Drain")?;
        Ok(self.wires[wi].drain())
    }

    fn close(&mut self, id: ConnId) -> Result<(), Failure> {
        let wi = self.wire_for(id, "Close")?;
        self.close_wire(id, wi)
    }
}
