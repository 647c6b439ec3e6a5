//! # eventmpm-core
//!
//! Every decision of Apache httpd's event and worker MPMs, as pure, allocation-free state
//! machines. Nothing here reads a clock, touches a socket, spawns a thread or allocates: the caller
//! passes the time ([`time::Instant`]) and the storage (slices sized once at start-up), and the
//! core answers with what to do next. The same code runs in the multi-process Unix server and in
//! the single-loop embedded runtime.
//!
//! | module | what it decides | httpd counterpart |
//! |---|---|---|
//! | [`config`] | directives, defaults, clamps and errors; the httpd.conf tokenizer | `event_check_config`, `ap_cfg_getline` |
//! | [`timeouts`] | one O(1) FIFO per timeout class; the next deadline | `timeout_queue`, `queues_next_expiry` |
//! | [`admission`] | whether a child may accept; when to drop keep-alive connections | `connections_above_limit` |
//! | [`accept_pause`] | pausing accepts through a descriptor shortage instead of churning children | nginx's `accept_mutex_delay` |
//! | [`conn`] | one connection's life: read head, handler, write completion, keep-alive, linger | `process_socket`, `listener_thread` |
//! | [`driver`] | the loop that turns a connection's actions into I/O and results back into events | `process_socket`'s state loop |
//! | [`listener`] | when the listener wakes, when workers count as stalled, what expires, whether to accept | `listener_thread`'s loop |
//! | [`table`] | the listener's connection slab: phases, queues and exact counters | `event_conn_state_t`, the queues' counts |
//! | [`http1`] | request heads, bodies, keep-alive rules, response heads | `ap_read_request`, `ap_http_header_filter` |
//! | [`scoreboard`] | the shared-memory records and their status letters | `scoreboard.h` |
//! | [`maintenance`] | the parent's once-a-second spawn/kill decision | `perform_idle_server_maintenance` |
//! | [`status`] | `server-status` as HTML, `?auto` text and JSON | `mod_status` |
//! | [`byte_scan`] | whether a short slice holds a byte of a kind, branch-free | — |
//! | [`calendar`] | UTC dates from Unix seconds and back (no libc `gmtime`) | `apr_time_exp_gmt` |
//! | [`decimal`] | numbers in decimal, written in place | `apr_snprintf`'s `%d` |
#![no_std]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

#[macro_use]
#[doc(hidden)]
pub mod log;

pub mod accept_pause;
pub mod accept_turns;
pub mod admission;
pub mod byte_scan;
pub mod calendar;
pub mod config;
pub mod conn;
pub mod decimal;
pub mod driver;
pub mod http1;
pub mod listener;
pub mod maintenance;
pub mod scoreboard;
pub mod status;
pub mod sync;
pub mod table;
pub mod time;
pub mod timeouts;
