//! Entries of the store that a build reads for a while (a pulled image's layout, a folder of
//! unpacked packages) are marked in use by a lease: a marker file beside the entry, listing what
//! the entry keeps, on which every process using the entry holds a shared `flock` until it exits.
//! `gc` removes such an entry only after taking the marker's lock exclusively without waiting, so
//! an entry in use is never removed; the marker's mtime is the entry's last use.
//!
//! The marker is written (and locked) before the entry's files are fetched, so the files a build
//! is about to use are kept from the start. A lease taken on a marker that `gc` unlinked meanwhile
//! is taken again on a new one (the inode is checked after locking).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use crate::flock::{Flock, flock};

/// The markers this process holds, locked until it exits.
static HELD: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// The marker of the entry folder `folder`: `NAME.used` beside `NAME/`.
pub fn marker_of(folder: &Path) -> std::path::PathBuf {
    let mut name = folder.file_name().unwrap_or_default().to_os_string();
    name.push(".used");
    folder.with_file_name(name)
}

/// Whether `file` is still the one at `path` (not unlinked or replaced since it was opened).
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    let (open, named) = (file.metadata()?, fs::symlink_metadata(path));
    Ok(named.is_ok_and(|m| m.dev() == open.dev() && m.ino() == open.ino()))
}

/// Marks the entry whose marker is `marker` as in use by this process until it exits, and as used
/// now. The marker is written with `keeps` (one name a line) when it is missing. Callers may go on
/// when this fails: a store that cannot be written cannot be trimmed either.
pub fn hold(marker: &Path, keeps: &[String]) -> io::Result<()> {
    for _ in 0..8 {
        if !marker.is_file() {
            write_marker(marker, keeps)?;
        }
        let file = match File::open(marker) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        flock(&file, Flock::Shared)?;
        if !still_at(&file, marker)? {
            continue;
        }
        if !crate::cache_dir::is_read_only() {
            super::touch(marker);
        }
        if let Ok(mut held) = HELD.lock() {
            held.push(file);
        }
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{} keeps being removed",
        marker.display()
    )))
}

fn write_marker(marker: &Path, keeps: &[String]) -> io::Result<()> {
    let dir = marker.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let text: String = keeps.iter().map(|k| format!("{k}\n")).collect();
    let mut tmp = tempfile::Builder::new()
        .prefix(super::TMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    io::Write::write_all(&mut tmp, text.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    // Never over another process's marker: it may already hold it.
    match tmp.persist_noclobber(marker) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.error),
    }
}

/// What a marker says its entry keeps; empty when it cannot be read.
pub fn keeps(marker: &Path) -> Vec<String> {
    super::read_own(marker, MAX_MARKER_BYTES)
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// A marker lists a few hundred names at most.
const MAX_MARKER_BYTES: u64 = 1 << 20;

/// The marker locked exclusively for `gc`, or `None` when a process holds it (the entry is in use)
/// or it is gone. Removing the entry while the returned file is open is safe.
pub(crate) fn claim(marker: &Path) -> io::Result<Option<File>> {
    let file = match File::open(marker) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !flock(&file, Flock::TryExclusive)? || !still_at(&file, marker)? {
        return Ok(None);
    }
    Ok(Some(file))
}
