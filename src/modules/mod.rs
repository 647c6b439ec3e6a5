//! What httpd's content modules do, beside the static-file handler: directory listings
//! (mod_autoindex), gzip (mod_deflate), and the directives that steer them and mod_mime and
//! mod_dir ([`output`]).

pub mod autoindex;
pub mod deflate;
pub mod output;

pub use output::{Output, OutputSettings};
