//! `flock(2)` on files this process opened: the store's leases and the downloads that must not be
//! written by two processes at once.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// How [`flock`] locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flock {
    /// Shared, waiting for an exclusive holder to finish.
    Shared,
    /// Exclusive, waiting.
    Exclusive,
    /// Exclusive, or `false` at once when another process holds the file.
    TryExclusive,
}

/// `flock(2)` on a file this process opened; `Ok(false)` only for a [`Flock::TryExclusive`] that
/// another holder refused.
pub(crate) fn flock(file: &File, how: Flock) -> io::Result<bool> {
    let operation = match how {
        Flock::Shared => libc::LOCK_SH,
        Flock::Exclusive => libc::LOCK_EX,
        Flock::TryExclusive => libc::LOCK_EX | libc::LOCK_NB,
    };
    loop {
        // SAFETY: flock on a descriptor the caller's `File` owns for the whole call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock if how == Flock::TryExclusive => return Ok(false),
            _ => return Err(e),
        }
    }
}
