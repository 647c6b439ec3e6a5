//! The scoreboard: `#[repr(C)]` records in shared memory that the parent, the children and
//! `server-status` read and write without locks.

/// A worker thread's status, with httpd's numeric values and `server-status` letters.
///
/// The order matters and is httpd's: the parent counts a thread as *idle* when its status is at
/// most [`Ready`](Self::Ready) and as *active* when it is between `Ready` and
/// [`Graceful`](Self::Graceful) (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum WorkerStatus {
    /// `.`: no thread in this slot (`SERVER_DEAD`).
    Dead = 0,
    /// `S`: starting up (`SERVER_STARTING`).
    Starting = 1,
    /// `_`: waiting for work (`SERVER_READY`).
    Ready = 2,
    /// `R`: reading a request (`SERVER_BUSY_READ`).
    Read = 3,
    /// `W`: running a handler or writing a response (`SERVER_BUSY_WRITE`).
    Write = 4,
    /// `K`: keep-alive wait (worker MPM) or queuing one (event) (`SERVER_BUSY_KEEPALIVE`).
    KeepAlive = 5,
    /// `L`: logging (`SERVER_BUSY_LOG`).
    Log = 6,
    /// `D`: DNS lookup (`SERVER_BUSY_DNS`).
    Dns = 7,
    /// `C`: closing the connection (`SERVER_CLOSING`).
    Closing = 8,
    /// `G`: finishing gracefully (`SERVER_GRACEFUL`).
    Graceful = 9,
    /// `I`: idle cleanup of a worker (`SERVER_IDLE_KILL`).
    IdleKill = 10,
}

impl WorkerStatus {
    /// Every status, in numeric order.
    pub const ALL: [WorkerStatus; 11] = [
        WorkerStatus::Dead,
        WorkerStatus::Starting,
        WorkerStatus::Ready,
        WorkerStatus::Read,
        WorkerStatus::Write,
        WorkerStatus::KeepAlive,
        WorkerStatus::Log,
        WorkerStatus::Dns,
        WorkerStatus::Closing,
        WorkerStatus::Graceful,
        WorkerStatus::IdleKill,
    ];

    /// The status stored as `raw`, or `None` for a value no writer produces (a corrupted record
    /// must not be trusted: the parent treats it as dead).
    pub const fn from_u8(raw: u8) -> Option<WorkerStatus> {
        if (raw as usize) < Self::ALL.len() {
            Some(Self::ALL[raw as usize])
        } else {
            None
        }
    }

    /// The `server-status` letter.
    pub const fn letter(self) -> char {
        match self {
            WorkerStatus::Dead => '.',
            WorkerStatus::Starting => 'S',
            WorkerStatus::Ready => '_',
            WorkerStatus::Read => 'R',
            WorkerStatus::Write => 'W',
            WorkerStatus::KeepAlive => 'K',
            WorkerStatus::Log => 'L',
            WorkerStatus::Dns => 'D',
            WorkerStatus::Closing => 'C',
            WorkerStatus::Graceful => 'G',
            WorkerStatus::IdleKill => 'I',
        }
    }

    /// Counts as idle capacity for the parent (`status <= SERVER_READY`).
    pub const fn is_idle(self) -> bool {
        (self as u8) <= (WorkerStatus::Ready as u8)
    }

    /// Counts as an active thread for the parent (`READY <= status < GRACEFUL`).
    pub const fn is_active(self) -> bool {
        (self as u8) >= (WorkerStatus::Ready as u8) && (self as u8) < (WorkerStatus::Graceful as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_round_trip_and_reject_garbage() {
        for s in WorkerStatus::ALL {
            assert_eq!(WorkerStatus::from_u8(s as u8), Some(s));
        }
        assert_eq!(WorkerStatus::from_u8(11), None);
        assert_eq!(WorkerStatus::from_u8(255), None);
    }

    #[test]
    fn idle_and_active_follow_httpd_thresholds() {
        let idle: heapless::Vec<char, 11> = WorkerStatus::ALL
            .iter()
            .filter(|s| s.is_idle())
            .map(|s| s.letter())
            .collect();
        let active: heapless::Vec<char, 11> = WorkerStatus::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.letter())
            .collect();
        assert_eq!(idle.as_slice(), &['.', 'S', '_']);
        assert_eq!(active.as_slice(), &['_', 'R', 'W', 'K', 'L', 'D', 'C']);
    }
}
