//! What tells one version of a file from the next, and the one rule for trusting what was
//! recorded of a file while its stamp holds (the store's stat index and the image cache use it).

/// What tells one version of a file from the next: caches keep a parsed file while its stamp holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub len: u64,
    /// Modification time in nanoseconds since the epoch (0 where the backend has none).
    pub mtime_ns: i128,
    /// Status change time, likewise: unlike the mtime, no one can set it back, so content written
    /// with the old size and mtime restored is still a new stamp.
    pub ctime_ns: i128,
    /// Device and inode (0 where the backend has none): a file replaced by a rename is a new file.
    pub dev: u64,
    pub inode: u64,
}

impl Stamp {
    /// The stamp of a host file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nsec: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsec);
        Stamp {
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            dev: meta.dev(),
            inode: meta.ino(),
        }
    }
}

/// How far a change may lie behind its file's time on a file system that keeps whole seconds
/// (FAT keeps two): there a change just after a record was written can keep the stamp it had.
pub const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// The one rule for trusting a recorded digest, git's rule for index entries ("racily clean",
/// `is_racy_stat` in git's read-cache.c, Documentation/technical/racy-git.txt): the stamp is
/// unchanged and the file's last change (the later of mtime and ctime) is strictly before
/// `written_ns`, when the record was written, as the file system that holds the record tells it
/// (the record file's own mtime), not the clock. A later change gets a time from the same clock
/// that is not earlier than that write, so it shows in the stamp. Where times are whole seconds, a
/// change must be more than [`RACY_WINDOW_NS`] before.
pub fn trusted(now: &Stamp, recorded: &Stamp, written_ns: i128) -> bool {
    let changed = now.mtime_ns.max(now.ctime_ns);
    let slack = if changed % 1_000_000_000 == 0 {
        RACY_WINDOW_NS
    } else {
        0
    };
    now == recorded && changed + slack < written_ns
}

/// A host file's mtime in nanoseconds since the epoch.
pub fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    Stamp::of(meta).mtime_ns
}

/// Nanoseconds since the epoch, by the system clock.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// A file's stamp for tests: ten bytes, changed at `mtime_ns`.
#[cfg(test)]
pub(crate) fn stamp_at(mtime_ns: i128) -> Stamp {
    Stamp {
        len: 10,
        mtime_ns,
        ctime_ns: mtime_ns,
        dev: 1,
        inode: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stamp_at as stamp;

    #[test]
    fn a_change_before_the_record_was_written_is_trusted_a_later_one_not() {
        let s = stamp(1_000_000_123_456);
        // Git's rule: strictly before the write, however close.
        assert!(trusted(&s, &s, s.mtime_ns + 1));
        assert!(!trusted(&s, &s, s.mtime_ns));
        let touched = Stamp {
            ctime_ns: s.ctime_ns + 1,
            ..s
        };
        assert!(!trusted(&touched, &s, i128::MAX));
        // Whole seconds: the file system may round a later change down to the same time.
        let coarse = stamp(1_000_000_000_000);
        assert!(!trusted(&coarse, &coarse, coarse.mtime_ns + 1));
        assert!(trusted(
            &coarse,
            &coarse,
            coarse.mtime_ns + RACY_WINDOW_NS + 1
        ));
    }
}
