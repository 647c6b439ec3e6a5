//! URLs to this server, as httpd builds them for redirects (mod_dir's DirectorySlash).

use eventmpm_core::http1::Request;

use super::Worker;
use super::plan::Client;

impl Worker<'_> {
    /// httpd's `ap_construct_url` with `UseCanonicalName Off`: `http://` + the `Host` field's
    /// name (the ServerName without one) + its port (else the port reached; none if 80) +
    /// `path`.
    #[doc(alias = "ap_construct_url")]
    pub(super) fn absolute_url(&self, req: &Request<'_>, client: Client, path: &[u8]) -> Vec<u8> {
        let host = req
            .header("Host")
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .filter(|h| !h.is_empty());
        let (name, port) = match &host {
            Some(h) => {
                let (name, port) = match h.rfind(':') {
                    Some(i) if !h[i..].contains(']') => (&h[..i], h[i + 1..].parse::<u16>().ok()),
                    _ => (h.as_str(), None),
                };
                (name.trim_end_matches('.').to_ascii_lowercase(), port)
            }
            None => (self.host().server_name.clone(), None),
        };
        let port = port.unwrap_or(client.local_port);
        let mut url = format!("http://{name}").into_bytes();
        if port != 80 {
            url.extend_from_slice(format!(":{port}").as_bytes());
        }
        url.extend_from_slice(path);
        url
    }
}
