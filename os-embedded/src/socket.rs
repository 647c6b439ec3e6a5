//! What the runtime needs from a TCP stack: a connected socket as embedded-io's non-blocking
//! quartet plus shutdown and abort ([`Socket`]), and a fixed set of them that listen and accept
//! ([`Sockets`]).
//!
//! embedded-io's `Read` and `Write` block until they can make progress; the runtime calls them
//! only after `ReadReady`/`WriteReady` said they will not (a single-threaded loop that blocked
//! would stop the TCP stack too). A read of 0 bytes is the end of the client's stream.
//!
//! Stacks without a listen backlog (smoltcp, embassy-net) accept by leaving a socket listening:
//! a connection attempt that finds none is reset. [`Sockets`] therefore names sockets by index and
//! lets the runtime decide how many of them listen at a time (see [`crate::runtime::Runtime::admit`]).

/// A connected TCP socket, non-blocking through `ReadReady`/`WriteReady`.
pub trait Socket:
    embedded_io::Read + embedded_io::Write + embedded_io::ReadReady + embedded_io::WriteReady
{
    /// Close our sending side once what is queued has gone out (a FIN): lingering close's first
    /// step. Reading goes on.
    fn shutdown(&mut self);
    /// Drop the connection at once (a reset); the socket becomes free.
    fn abort(&mut self);
}

/// Where one of the stack's sockets is in its life, as the runtime's accounting sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SocketState {
    /// Unused: may be told to listen.
    Free,
    /// Waiting for a connection.
    Listening,
    /// A connection has arrived (or is being set up): the runtime takes it.
    Arrived,
    /// Still finishing its TCP close after the runtime let go of it (FIN exchange, or the time
    /// it takes the stack to send the last ACK); not yet reusable.
    Closing,
}

/// A fixed set of sockets, indexed `0..len()`.
pub trait Sockets {
    /// The socket type lent out for one operation.
    type Socket<'s>: Socket
    where
        Self: 's;

    /// How many sockets there are.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Socket `i`'s state. (The runtime asks only about sockets it does not hold for a
    /// connection.)
    fn state(&mut self, i: usize) -> SocketState;

    /// Make a free socket listen on `port`; `false` if the stack refused.
    fn listen(&mut self, i: usize, port: u16) -> bool;

    /// Stop a listening socket (connection attempts are then refused unless another one listens).
    fn unlisten(&mut self, i: usize);

    /// Let go of a connection's socket after the runtime is done with it: left to finish its
    /// close if only the last ACK is outstanding, else reset and made free at once (a
    /// lingering close has already exchanged FINs; any other close is an abort).
    fn release(&mut self, i: usize);

    /// Borrow socket `i` for one operation.
    fn socket(&mut self, i: usize) -> Self::Socket<'_>;
}
