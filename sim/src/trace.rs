//! A bounded ring of the run's last events, printed when an invariant fails.
//!
//! Entries are small enums, formatted only when shown, so tracing every step costs a copy.

use std::collections::VecDeque;
use std::fmt;

use eventmpm_core::admission::Switch;
use eventmpm_core::conn::{Action, Event, Handback};
use eventmpm_core::table::ConnId;
use eventmpm_core::time::Instant;

use crate::client::Acted;

/// Something that happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// A client connected (into the backlog).
    Arrive {
        /// The client.
        client: usize,
    },
    /// A client was refused.
    Refuse {
        /// The client.
        client: usize,
    },
    /// The listener accepted a client's connection.
    Accept {
        /// The client.
        client: usize,
        /// Its connection.
        conn: ConnId,
    },
    /// A client acted.
    Client {
        /// The client.
        client: usize,
        /// What it did.
        acted: Acted,
    },
    /// The poller returned a batch.
    Poll {
        /// Events in it.
        events: usize,
    },
    /// The table was fed an event and answered.
    Table {
        /// The connection.
        conn: ConnId,
        /// The event.
        event: Event,
        /// The answer.
        action: Action,
    },
    /// The table expired a connection.
    Expire {
        /// The connection.
        conn: ConnId,
        /// The answer.
        action: Action,
    },
    /// A connection went to a worker (or the dispatch queue).
    Dispatch {
        /// The connection.
        conn: ConnId,
        /// The worker, if one was idle.
        worker: Option<usize>,
    },
    /// A worker handed a connection back.
    Handback {
        /// The connection.
        conn: ConnId,
        /// What it reported.
        handback: Handback,
    },
    /// A worker wrote a response.
    Respond {
        /// The connection.
        conn: ConnId,
        /// Its status.
        status: u16,
        /// Whether it advertised keep-alive.
        keep_alive: bool,
        /// Bytes written of its total.
        written: u64,
        /// Its total size.
        total: u64,
    },
    /// Admission switched the listening socket.
    Admission {
        /// The switch.
        switch: Switch,
    },
    /// The listener asked to close idle keep-alive connections (no idle worker).
    KillKeepAlive,
    /// A fault was injected.
    Fault {
        /// The token.
        token: u64,
        /// A stale token (else spurious readiness).
        stale: bool,
    },
    /// The graceful stop began.
    Stop,
    /// The connection was closed by the server.
    Closed {
        /// The connection.
        conn: ConnId,
    },
}

/// One trace entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The simulation step.
    pub step: u64,
    /// The simulated time.
    pub at: Instant,
    /// What happened.
    pub what: What,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:<6} {:>9?}  ", self.step, self.at)?;
        match self.what {
            What::Table {
                conn,
                event,
                action,
            } => write!(f, "{} {event:?} -> {action:?}", Conn(conn)),
            What::Expire { conn, action } => write!(f, "{} expired -> {action:?}", Conn(conn)),
            What::Accept { client, conn } => write!(f, "{} accepted (client {client})", Conn(conn)),
            What::Dispatch { conn, worker } => write!(f, "{} dispatched to {worker:?}", Conn(conn)),
            What::Handback { conn, handback } => write!(f, "{} handback {handback:?}", Conn(conn)),
            What::Respond {
                conn,
                status,
                keep_alive,
                written,
                total,
            } => write!(
                f,
                "{} response {status} keep_alive={keep_alive} wrote {written}/{total}",
                Conn(conn)
            ),
            What::Closed { conn } => write!(f, "{} closed", Conn(conn)),
            other => write!(f, "{other:?}"),
        }
    }
}

struct Conn(ConnId);

impl fmt::Display for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn {}.{}", self.0.index(), self.0.token() >> 32)
    }
}

/// The ring.
#[derive(Clone, Debug)]
pub struct Trace {
    ring: VecDeque<Entry>,
    capacity: usize,
    echo: bool,
}

impl Trace {
    /// A ring keeping the last `capacity` entries, printing each to stdout too if `echo`.
    pub fn new(capacity: usize, echo: bool) -> Trace {
        Trace {
            ring: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            echo,
        }
    }

    /// Record an entry.
    pub fn push(&mut self, step: u64, at: Instant, what: What) {
        let e = Entry { step, at, what };
        if self.echo {
            println!("{e}");
        }
        if self.capacity == 0 {
            return;
        }
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(e);
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.ring.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_entries() {
        let mut t = Trace::new(3, false);
        for i in 0..10 {
            t.push(i, Instant::from_millis(i), What::Stop);
        }
        let steps: Vec<u64> = t.entries().map(|e| e.step).collect();
        assert_eq!(steps, vec![7, 8, 9]);
        assert!(format!("{}", t.entries().next().unwrap()).contains("Stop"));
    }
}
