//! Putting a run's staged outputs in place together. Renames come first, each replaced file kept
//! as a hard link until the end; then files rewritten in place (their old bytes kept); then
//! devices and streams, which nothing can take back, last. When one fails, what was done is put
//! back; the error lists what could not be.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::EmitError;
use super::output::{How, Staged};

/// The largest file rewritten in place whose old bytes are kept to put back.
const MAX_UNDO_BYTES: u64 = 256 << 20;

/// Puts every staged output in place: all of them, or (after putting back what was done) none.
pub fn commit(staged: Vec<Staged>) -> Result<(), EmitError> {
    for s in &staged {
        s.check_expected()?;
    }
    let (mut order, mut rest): (Vec<Staged>, Vec<Staged>) =
        staged.into_iter().partition(|s| s.how() == How::Rename);
    rest.sort_by_key(|s| s.how() == How::Through);
    order.extend(rest);
    let mut done = Vec::new();
    for s in order {
        match put(s) {
            Ok(undo) => done.push(undo),
            Err(e) => return Err(undo_all(done, e)),
        }
    }
    Ok(())
}

/// How to take one output back.
enum Undo {
    /// Nothing was changed (the target already was this file).
    Nothing,
    /// A new file where there was none.
    Remove(PathBuf),
    /// A file replaced, kept as a hard link at `backup`.
    Restore {
        real: PathBuf,
        backup: tempfile::TempPath,
    },
    /// A file rewritten in place, with its old bytes (`None`: too large to keep).
    Rewrite { real: PathBuf, old: Option<Vec<u8>> },
    /// Written to a stream: cannot be taken back.
    Sent(PathBuf),
}

fn put(s: Staged) -> Result<Undo, EmitError> {
    let (tmp, target) = s.into_parts()?;
    let real = target.real().to_path_buf();
    let fail = EmitError::write(&target.path);
    match target.how() {
        How::Rename => {
            if same_file(&tmp, &real) {
                // A rename between two links of one file does nothing and leaves both: the target
                // (a zip linked from the store by the last build) is already right.
                return Ok(Undo::Nothing);
            }
            let backup = target.existing().then(|| backup_of(&real)).flatten();
            let existed = target.existing();
            tmp.persist(&real).map_err(|e| fail(e.error))?;
            Ok(match backup {
                Some(backup) => Undo::Restore { real, backup },
                None if !existed => Undo::Remove(real),
                None => Undo::Rewrite { real, old: None },
            })
        }
        How::InPlace => {
            let old = crate::rootfs::host::read(&real, MAX_UNDO_BYTES).ok();
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&real)
                .map_err(&fail)?;
            copy_into(&tmp, file, true).map_err(&fail)?;
            Ok(Undo::Rewrite { real, old })
        }
        How::Through => {
            copy_into(&tmp, open_stream(&real).map_err(&fail)?, false).map_err(&fail)?;
            Ok(Undo::Sent(target.path.clone()))
        }
    }
}

/// Puts back what `done` did, newest first; `e` as it is when all of it was put back, else with
/// the list of what could not be.
fn undo_all(done: Vec<Undo>, e: EmitError) -> EmitError {
    let mut changed = Vec::new();
    for undo in done.into_iter().rev() {
        let (path, undone) = match undo {
            Undo::Nothing => continue,
            Undo::Remove(real) => (real.clone(), fs::remove_file(&real).is_ok()),
            Undo::Restore { real, backup } => (real.clone(), backup.persist(&real).is_ok()),
            Undo::Rewrite { real, old } => {
                let put_back = old.is_some_and(|old| {
                    fs::OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&real)
                        .and_then(|mut f| f.write_all(&old).and_then(|()| f.sync_all()))
                        .is_ok()
                });
                (real, put_back)
            }
            Undo::Sent(path) => (path, false),
        };
        if !undone {
            changed.push(path);
        }
    }
    if changed.is_empty() {
        e
    } else {
        EmitError::Partial {
            source: Box::new(e),
            changed,
        }
    }
}

/// A hard link to `real` beside it, to put it back; `None` where links cannot be made.
fn backup_of(real: &Path) -> Option<tempfile::TempPath> {
    let dir = real.parent().filter(|p| !p.as_os_str().is_empty())?;
    tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".old")
        .make_in(dir, |path| fs::hard_link(real, path))
        .ok()
        .map(tempfile::NamedTempFile::into_temp_path)
}

/// Copies the staged bytes at `tmp` into `out` (truncated first when `truncate`), then syncs.
fn copy_into(tmp: &Path, mut out: File, truncate: bool) -> io::Result<()> {
    let mut bytes = File::open(tmp)?;
    if truncate {
        out.set_len(0)?;
    }
    io::copy(&mut bytes, &mut out)?;
    out.flush()?;
    // A device or a pipe cannot be synced; a file can.
    if truncate {
        out.sync_all()?;
    }
    Ok(())
}

/// Opens a device or a stream for writing: a FIFO no process reads is an error at once (an open
/// that would block forever), a socket cannot be opened.
fn open_stream(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::new(
                e.kind(),
                "no process reads it (a FIFO without a reader, or a socket)",
            ),
            _ => e,
        })?;
    drop(probe);
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::symlink_metadata(a), fs::symlink_metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
