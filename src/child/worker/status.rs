//! The server-status handler (mod_status): the scoreboard rendered as HTML, `?auto` text or
//! JSON. It reads shared memory and the load average only, so it never blocks.

use eventmpm_core::http1::{Request, Status};
use eventmpm_core::status::{self, Format, Query, ServerInfo};

use super::Worker;
use super::plan::{Body, Reply};
use crate::board::monotonic_now;
use crate::child::connio::ConnIo;

impl Worker<'_> {
    /// The status page for `req` at `now` (seconds since the epoch).
    pub(super) fn status_page(&mut self, req: &Request<'_>, io: &ConnIo, now: i64) -> Reply {
        let query = Query::parse(req.target().query().unwrap_or(""));
        let st = &self.site.status;
        let (offset, zone) = crate::logformat::local_zone(now);
        let mut load = [-1f32; 3];
        let mut avg = [0f64; 3];
        // SAFETY: getloadavg writes at most 3 doubles into the array we pass.
        if unsafe { libc::getloadavg(avg.as_mut_ptr(), 3) } == 3 {
            load = avg.map(|v| v as f32);
        }
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u32;
        let local_ip = io.local.ip().to_string();
        let info = ServerInfo {
            server_name: &self.host().server_name,
            local_ip: &local_ip,
            server_version: &self.site.server_software,
            mpm: st.mpm,
            built: st.built,
            now,
            now_monotonic: monotonic_now(),
            utc_offset: offset,
            time_zone: &zone,
            config_generation: st.config_generation,
            mpm_generation: st.mpm_generation,
            load,
            clock_ticks: ticks,
            threads_per_child: st.threads_per_child,
            max_servers: st.max_servers,
            is_async: st.is_async,
            extended_status: self.site.extended_status,
        };
        let board = self.shared.board.scoreboard();
        let mut page = String::with_capacity(16 * 1024);
        let format = query.format();
        let r = match format {
            Format::Auto => status::render_auto(&mut page, &info, &board),
            Format::Json => status::render_json(&mut page, &info, &board),
            Format::Prometheus => status::render_prometheus(&mut page, &info, &board),
            Format::Html => status::render_html(&mut page, &info, &board, &query),
        };
        if r.is_err() {
            return self.error_reply(Status::INTERNAL_SERVER_ERROR, "GET", b"");
        }
        self.fields
            .push("Content-Type", format.content_type().as_bytes());
        if let Some(secs) = query.refresh {
            self.fields.push("Refresh", secs.to_string().as_bytes());
        }
        // mod_status writes its page with buffered writes, as mod_autoindex does.
        let path = req.target().path().as_bytes();
        let (body, streamed) =
            self.gzip_page(req, path, format.content_type(), page.into_bytes(), false);
        let mut r = Reply::new(Status::OK);
        r.body = Body::Page(body);
        // A HEAD gets the length where a GET would: mod_status writes its page for a HEAD too.
        r.streamed = streamed;
        r
    }
}
