//! Emitters: the layer zip, the template fragment, and graph renderings.
//!
//! Invariant: outputs are written whole or not at all (temporary file in the target folder, then
//! rename), and their bytes depend only on the inputs: sorted entries, fixed times, normalised modes.

pub mod graph;
pub mod template;
pub mod zip;

use std::io::{self, Write};
use std::path::Path;

/// Writes `out` atomically: a temporary file beside it, then a rename over it.
pub fn write_atomic(
    out: &Path,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    write(tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    tmp.as_file().sync_all()?;
    set_mode(tmp.as_file(), 0o644)?;
    tmp.persist(out).map_err(|e| e.error)?;
    Ok(())
}

/// Temporary files are created 0600; outputs get the usual 0644 whatever the umask.
fn set_mode(file: &std::fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}
