//! Which process holds which TCP socket, read from Linux's `/proc`: the rows of
//! `/proc/net/tcp` and `/proc/net/tcp6`, matched by inode to the `socket:[INODE]` links in
//! `/proc/PID/fd`. Elsewhere the files are missing and every lookup finds nothing.

use std::collections::BTreeSet;

/// One row of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRow {
    pub local_port: u16,
    /// 0 for a listening socket.
    pub remote_port: u16,
    /// The kernel's TCP state (`0x0A`: listening, `0x01`: established).
    pub state: u8,
    pub inode: String,
}

/// The kernel's `TCP_LISTEN`.
pub const LISTEN: u8 = 0x0A;

/// Every IPv4 and IPv6 TCP socket of this network namespace.
pub fn tcp_rows() -> Vec<TcpRow> {
    let port = |a: &str| {
        a.rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    let mut rows = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        // The first line names the columns.
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(inode)) =
                (f.get(1), f.get(2), f.get(3), f.get(9))
            else {
                continue;
            };
            let (Some(local_port), Some(remote_port), Ok(state)) =
                (port(local), port(remote), u8::from_str_radix(state, 16))
            else {
                continue;
            };
            rows.push(TcpRow {
                local_port,
                remote_port,
                state,
                inode: inode.to_string(),
            });
        }
    }
    rows
}

/// The inode of the socket listening on `port`.
pub fn listening_inode(port: u16) -> Option<String> {
    tcp_rows()
        .into_iter()
        .find(|r| r.local_port == port && r.state == LISTEN)
        .map(|r| r.inode)
}

/// The inode of the server side of the connection between local `port` and the client's
/// `client_port`.
pub fn connection_inode(port: u16, client_port: u16) -> Option<String> {
    tcp_rows()
        .into_iter()
        .find(|r| r.local_port == port && r.remote_port == client_port)
        .map(|r| r.inode)
}

/// The inodes of the sockets `pid` has open (empty once it is gone).
pub fn socket_inodes(pid: u32) -> BTreeSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let l = std::fs::read_link(e.path()).ok()?;
                    let l = l.to_string_lossy();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `pid` has the socket `inode` open.
pub fn holds_socket(pid: u32, inode: &str) -> bool {
    socket_inodes(pid).contains(inode)
}

/// The client ports of the connections `pid` holds on local `port`.
pub fn client_ports_held(pid: u32, port: u16) -> BTreeSet<u16> {
    let inodes = socket_inodes(pid);
    tcp_rows()
        .into_iter()
        .filter(|r| r.local_port == port && r.remote_port != 0 && inodes.contains(&r.inode))
        .map(|r| r.remote_port)
        .collect()
}
