//! The configuration: httpd's directives for the event and worker MPMs and the HTTP/1.1 core,
//! and the httpd.conf tokenizer (directives follow).

mod error;
mod number;
pub mod tokenizer;

pub use error::{Arity, ConfError, ConfErrorKind, DirectiveError, ReadTimeoutProblem, SectionName};
pub use tokenizer::{Line, LineKind, Tokenizer};

/// The most `Listen` directives a configuration may hold.
pub const MAX_LISTENERS: usize = 16;
