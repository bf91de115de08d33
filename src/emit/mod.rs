//! Emitters: the layer zip, the template fragment, and graph renderings.
//!
//! Invariant: outputs are written whole or not at all (temporary files in the target folder, then
//! renames), and their bytes depend only on the inputs: sorted entries, fixed times, normalised modes.

mod commit;
pub mod graph;
pub mod interrupt;
pub mod output;
pub mod template;
pub mod zip;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::rootfs::RootPath;
pub use commit::commit;
pub use output::{Mode, Staged, stage_copy};

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
    /// A file the outputs were made from changed before it was replaced (an edit saved during
    /// the build): it is left as it is.
    #[error("{} changed while layerc was working; it is left as it is: run again", path.display())]
    Changed { path: PathBuf },
    /// A late failure, after which not everything could be put back as it was.
    #[error("{source}; written all the same: {}", list(changed))]
    Partial {
        source: Box<EmitError>,
        changed: Vec<PathBuf>,
    },
}

fn list(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

impl EmitError {
    /// Whether every file is as it was before the run (nothing changed, or it was put back).
    pub fn wrote_nothing(&self) -> bool {
        !matches!(self, EmitError::Partial { .. })
    }

    pub fn write(path: &Path) -> impl Fn(io::Error) -> EmitError + '_ {
        move |source| EmitError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes an output into a temporary file beside its real target (created if need be), synced,
/// keeping the owner, group and mode of a file it replaces (else 0644): see [`output`].
pub fn stage(
    out: &Path,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<Staged, EmitError> {
    output::stage_as(out, Mode::Keep, write)
}

/// [`stage`] with permission bits of its own, whatever was there (a zip).
pub fn stage_with_mode(
    out: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<Staged, EmitError> {
    output::stage_as(out, Mode::Fixed(mode), write)
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

/// Removes an output layerc wrote earlier (a zip of a layer the spec no longer has).
pub fn remove_output(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)
}

/// Writes one output atomically: a temporary file beside it, then a rename over it.
pub fn write_atomic(
    out: &Path,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<(), EmitError> {
    commit(vec![stage(out, write)?])
}
