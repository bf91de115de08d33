//! Emitters: the layer zip, the template fragment, and graph renderings.
//!
//! Invariant: outputs are written whole or not at all (temporary files in the target folder, then
//! renames), and their bytes depend only on the inputs: sorted entries, fixed times, normalised modes.

pub mod graph;
pub mod interrupt;
pub mod summary;
mod sync;
pub mod template;
pub mod zip;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::rootfs::RootPath;
pub use sync::SyncAhead;

/// Why an output could not be written, with the file concerned and the cause.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path} in the rootfs: {source}")]
    Read {
        path: RootPath,
        #[source]
        source: io::Error,
    },
    /// Given up because the output turned out not to be needed (a zip written ahead that the
    /// store holds).
    #[error("stopped: the output is not needed")]
    Stopped,
}

impl EmitError {
    pub fn write(path: &Path) -> impl FnOnce(io::Error) -> EmitError + '_ {
        move |source| EmitError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An output written to a temporary file beside its target, not yet in place. Dropped without
/// [`commit`], the temporary file is removed.
pub struct Staged {
    tmp: tempfile::TempPath,
    target: PathBuf,
    /// Until the rename, an interrupt removes the temporary file.
    _tracked: interrupt::Tracked,
}

/// Writes an output into a temporary file in its target's folder (created if need be), synced and
/// 0644, ready to be renamed over the target.
pub fn stage(
    out: &Path,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<Staged, EmitError> {
    stage_with_mode(out, 0o644, write)
}

/// [`stage`] with other permission bits (a user's file replaced keeps its own).
pub fn stage_with_mode(
    out: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<Staged, EmitError> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = EmitError::write(out);
    if dir.exists() && !dir.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a folder", dir.display()),
        )));
    }
    std::fs::create_dir_all(dir).map_err(EmitError::write(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(EmitError::write(dir))?;
    let tracked = interrupt::track(tmp.path());
    write(tmp.as_file_mut())?;
    let file = tmp.as_file_mut();
    file.flush()
        .and_then(|()| file.sync_all())
        .and_then(|()| set_mode(file, mode))
        .map_err(EmitError::write(out))?;
    Ok(Staged {
        tmp: tmp.into_temp_path(),
        target: out.to_path_buf(),
        _tracked: tracked,
    })
}

impl Staged {
    /// Where the output is until [`commit`] renames it.
    pub fn path(&self) -> &Path {
        &self.tmp
    }
}

/// Stages a copy of `from` as `out`: a hard link when both are on one file system (no byte is
/// read or written), else a copy (which the kernel may make a reflink).
pub fn stage_copy(from: &Path, out: &Path) -> Result<Staged, EmitError> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(EmitError::write(dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .make_in(dir, |path| link_or_copy(from, path))
        .map_err(EmitError::write(out))?
        .into_temp_path();
    Ok(Staged {
        _tracked: interrupt::track(&tmp),
        tmp,
        target: out.to_path_buf(),
    })
}

/// Hard-links `from` at `to`, or copies it where a link cannot be made (another file system, a
/// file system without links). `to` must not exist.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
            ) =>
        {
            Err(e)
        }
        Err(_) => std::fs::copy(from, to).map(drop),
    }
}

/// Renames every staged output over its target: all outputs of a run appear together. Every
/// target is checked first, so the renames that follow fail only if the folder changes meanwhile
/// (a rename never fails for lack of space).
pub fn commit(staged: Vec<Staged>) -> Result<(), EmitError> {
    // A rename over a folder fails: find that before any output moves.
    if let Some(s) = staged.iter().find(|s| s.target.is_dir()) {
        return Err(EmitError::write(&s.target)(io::Error::new(
            io::ErrorKind::IsADirectory,
            "a folder is in the way",
        )));
    }
    for Staged { tmp, target, .. } in staged {
        // A rename between two links of one file does nothing and leaves both: the target (a zip
        // linked from the store by the last build) is already right, and dropping `tmp` removes it.
        if same_file(&tmp, &target) {
            continue;
        }
        tmp.persist(&target)
            .map_err(|e| EmitError::write(&target)(e.error))?;
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Writes one output atomically: a temporary file beside it, then a rename over it.
pub fn write_atomic(
    out: &Path,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<(), EmitError> {
    commit(vec![stage(out, write)?])
}

/// Temporary files are created 0600; outputs get the usual 0644 whatever the umask.
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// The sha256 of a file just written, read back from its start.
pub fn sha256_from_start(file: &mut File) -> io::Result<String> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    crate::lock::sha256_of(file)
}
