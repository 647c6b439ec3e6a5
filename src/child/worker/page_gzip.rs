//! mod_deflate over the pages a worker generates (directory listings, server-status): httpd's
//! DEFLATE output filter sees them as it sees a file, by their type.

use eventmpm_core::http1::Request;

use super::Worker;
use crate::modules::deflate;

impl Worker<'_> {
    /// `body`, of type `content_type`, answering the decoded URL-path `path`, as mod_deflate
    /// would send it: a page of a type the DEFLATE filter takes there, above the size floor,
    /// gets `Vary: Accept-Encoding`, and gzip when the client takes it (the field is pushed
    /// here). Also whether httpd would stream the answer: by the gzip'd length if compressed
    /// ([`deflate::Settings::streams`]), else as [`super::plan::streams`] says for a page of
    /// this length, `passed_on` as there.
    pub(super) fn gzip_page(
        &mut self,
        req: &Request<'_>,
        path: &[u8],
        content_type: &str,
        body: Vec<u8>,
        passed_on: bool,
    ) -> (Vec<u8>, bool) {
        let plain = super::plan::streams(body.len(), passed_on);
        let host = self.host();
        let settings = &host.deflate;
        if body.len() as u64 <= deflate::MIN_SIZE
            || !host.output_for(path).filters.applies_to(Some(content_type))
        {
            return (body, plain);
        }
        self.fields.push("Vary", b"Accept-Encoding");
        if !deflate::accepts_gzip(req.header("Accept-Encoding")) {
            return (body, plain);
        }
        if !settings.compresses() {
            log::error!("{}", settings.refusal(&String::from_utf8_lossy(path)));
            return (body, plain);
        }
        let len = body.len() as u64;
        let gz = settings.compress(len, |buf, at| {
            let at = at as usize;
            let n = buf.len().min(body.len() - at);
            buf[..n].copy_from_slice(&body[at..at + n]);
            Ok(n)
        });
        match gz {
            Ok(gz) => {
                self.fields.push("Content-Encoding", b"gzip");
                // mod_deflate holds what it is given until its output buffer fills, so what
                // came before (a subrequest's output too) no longer decides.
                let streamed = settings.streams(gz.len());
                (gz, streamed)
            }
            Err(_) => (body, plain),
        }
    }
}
