//! server-status for the single process: a scoreboard with one process record and one worker
//! record per worker step, in ordinary memory, rendered by the core's renderers (HTML, `?auto`,
//! `?json`) into the page buffer.

use core::fmt;

use eventmpm_core::scoreboard::{GlobalScore, ProcessScore, Scoreboard, WorkerScore, WorkerStatus};
use eventmpm_core::status::{self, Format, Query, ServerInfo};
use eventmpm_core::table::Counts;
use eventmpm_core::time::Instant;

/// The scoreboard's records. Make one `static` per firmware (every constructor is `const`).
#[derive(Debug)]
pub struct Board<const WORKERS: usize> {
    global: GlobalScore,
    process: [ProcessScore; 1],
    workers: [WorkerScore; WORKERS],
}

impl<const WORKERS: usize> Board<WORKERS> {
    /// Empty records.
    pub const fn new() -> Self {
        Board {
            global: GlobalScore::new(),
            process: [ProcessScore::new()],
            workers: [const { WorkerScore::new() }; WORKERS],
        }
    }
}

impl<const WORKERS: usize> Default for Board<WORKERS> {
    fn default() -> Self {
        Self::new()
    }
}

/// The runtime's handle on a [`Board`].
#[derive(Clone, Copy, Debug)]
pub struct Scores {
    board: Scoreboard<'static>,
}

impl Scores {
    /// Start the records at boot (`now` Unix seconds): the process is live and accepting, each
    /// worker step ready.
    pub fn start<const WORKERS: usize>(
        b: &'static Board<WORKERS>,
        now: i64,
        mono: Instant,
    ) -> Scores {
        b.global.init(1, WORKERS as u32, now);
        let p = &b.process[0];
        p.prepare(0);
        p.set_pid(1);
        p.set_accepting(true);
        for (i, w) in b.workers.iter().enumerate() {
            w.start(1, i as u32, 0);
            w.set_status(WorkerStatus::Ready, mono);
        }
        Scores {
            // One process and WORKERS (≥ 1) workers: valid by construction.
            board: Scoreboard::new(&b.global, &b.process, &b.workers).expect("one process"),
        }
    }

    /// The view the renderers read.
    pub fn scoreboard(&self) -> Scoreboard<'static> {
        self.board
    }

    /// Worker step `i`'s record.
    pub fn worker(&self, i: usize) -> Option<&'static WorkerScore> {
        self.board.worker(0, i)
    }

    /// Publish the connection table's counters.
    pub fn publish(&self, c: &Counts, accepting: bool) {
        if let Some(p) = self.board.process(0) {
            p.publish(&c.published());
            p.set_accepting(accepting);
        }
    }
}

/// A `fmt::Write` into a byte buffer that fails once full.
struct Fill<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Fill<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Render the page the query asks for into `page`; the length, or `None` if it does not fit.
pub fn render(
    page: &mut [u8],
    query: &Query,
    info: &ServerInfo<'_>,
    scores: &Scores,
) -> Option<usize> {
    let mut out = Fill { buf: page, len: 0 };
    let board = scores.scoreboard();
    let r = match query.format() {
        Format::Auto => status::render_auto(&mut out, info, &board),
        Format::Json => status::render_json(&mut out, info, &board),
        Format::Prometheus => status::render_prometheus(&mut out, info, &board),
        Format::Html => status::render_html(&mut out, info, &board, query),
    };
    r.ok().map(|()| out.len)
}
