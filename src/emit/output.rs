//! The one home for writing an output file (a zip, the template, the lock, a runtime description,
//! a spec). What is at the path decides how:
//!
//! - nothing, or a regular file: a temporary file beside it, renamed over it once every output
//!   of the run is written ([`commit`]); a file replaced keeps its owner, group and mode (unless
//!   the output has a mode of its own), and one with other hard links or extended attributes,
//!   which a rename would leave behind, or whose owner cannot be given to the new file, is
//!   rewritten in place instead;
//! - a symlink: the same for the file it points at, beside that file; the link stays a link;
//! - a character device, a FIFO or a socket's stream (`/dev/null`, `/dev/stdout`,
//!   `/proc/self/fd/1`): written through, never replaced;
//! - a folder or a block device: refused.
//!
//! A run's outputs appear together: a rename that fails puts back what the renames before it
//! replaced, and only if that fails too does the error list what changed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::{EmitError, interrupt};

/// The permission bits and ownership an output gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Those of the file it replaces, else 0644 and the process's.
    Keep,
    /// These bits, whatever was there (a zip, which may share its bytes with the store).
    Fixed(u32),
}

/// How an output reaches its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// A temporary file renamed over the real path.
    Rename,
    /// The real path's file rewritten (its hard links or attributes kept).
    InPlace,
    /// Written to the device or stream the path names.
    Through,
}

/// Where an output goes: the path as given, the real file behind any symlinks, and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    real: PathBuf,
    how: How,
    /// The file there now (a regular file), whose owner and mode are kept.
    existing: Option<fs::Metadata>,
}

/// Symlinks followed to a target before it counts as a loop (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

impl Target {
    /// Decides how `path` is written: refuses a folder, a block device and a symlink loop.
    pub fn of(path: &Path, mode: Mode) -> Result<Target, EmitError> {
        let fail = EmitError::write(path);
        // What the kernel opens at `path` (through symlinks and the magic links of /proc).
        let (real, existing) = match fs::metadata(path) {
            Ok(meta) => (canonical(path, &meta).map_err(&fail)?, Some(meta)),
            // Nothing there yet (or a file where its folder should be, which `dir` reports).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                (follow(path).map_err(&fail)?, None)
            }
            Err(e) => return Err(fail(e)),
        };
        let how = match &existing {
            None => How::Rename,
            Some(meta) => {
                let kind = meta.file_type();
                if kind.is_dir() {
                    return Err(fail(refusal("a folder is in the way")));
                } else if kind.is_block_device() {
                    return Err(fail(refusal("a block device; layerc never writes one")));
                } else if !kind.is_file() {
                    How::Through
                } else if mode == Mode::Keep && !renamable(&real, meta) {
                    How::InPlace
                } else {
                    How::Rename
                }
            }
        };
        Ok(Target {
            path: path.to_path_buf(),
            real,
            how,
            existing: existing.filter(|m| m.file_type().is_file()),
        })
    }

    /// The folder the temporary file goes in (created if need be): the real file's.
    fn dir(&self) -> Result<PathBuf, EmitError> {
        let dir = match self.how {
            How::Through => std::env::temp_dir(),
            _ => self
                .real
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        };
        if dir.exists() && !dir.is_dir() {
            return Err(EmitError::write(&self.path)(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", dir.display()),
            )));
        }
        fs::create_dir_all(&dir).map_err(EmitError::write(&dir))?;
        Ok(dir)
    }

    pub(super) fn real(&self) -> &Path {
        &self.real
    }

    pub(super) fn how(&self) -> How {
        self.how
    }

    /// Whether a file is there now.
    pub(super) fn existing(&self) -> bool {
        self.existing.is_some()
    }

    /// Gives the temporary file the owner and mode it must have; a file whose owner cannot be
    /// kept this way is rewritten in place instead when it can be written (as editors do), else
    /// replaced by a file of ours (all a rename can do).
    fn settle(&mut self, tmp: &File, mode: Mode) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let bits = match (mode, &self.existing) {
            (Mode::Fixed(bits), _) => bits,
            (Mode::Keep, Some(old)) => {
                let ours = tmp.metadata()?;
                if (old.uid(), old.gid()) != (ours.uid(), ours.gid())
                    && std::os::unix::fs::fchown(tmp, Some(old.uid()), Some(old.gid())).is_err()
                    && fs::OpenOptions::new().write(true).open(&self.real).is_ok()
                {
                    self.how = How::InPlace;
                }
                old.mode() & 0o7777
            }
            (Mode::Keep, None) => 0o644,
        };
        tmp.set_permissions(fs::Permissions::from_mode(bits))
    }
}

fn refusal(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_string())
}

/// The real path of an existing regular file (the path itself for a device or a stream).
fn canonical(path: &Path, meta: &fs::Metadata) -> io::Result<PathBuf> {
    if meta.file_type().is_file() {
        fs::canonicalize(path)
    } else {
        Ok(path.to_path_buf())
    }
}

/// The file `path` names once every symlink is followed (it does not exist yet).
fn follow(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&at)?;
                let parent = at.parent().unwrap_or(Path::new("/")).to_path_buf();
                at = parent.join(target);
            }
            _ => return Ok(at),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symlinks",
    ))
}

/// Whether a rename keeps all of the file: it has no other hard link, and no extended attribute
/// but its SELinux label (which a new file in the same folder gets too).
fn renamable(path: &Path, meta: &fs::Metadata) -> bool {
    meta.nlink() <= 1
        && xattr_names(path)
            .iter()
            .all(|name| name.as_slice() == b"security.selinux")
}

/// The names of a file's extended attributes (none where they cannot be listed).
fn xattr_names(path: &Path) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    let mut buf = vec![0u8; 64 << 10];
    // SAFETY: `c_path` is a NUL-terminated string and `buf` is writable for its whole length,
    // which is the size passed; the call writes at most that many bytes.
    let len = unsafe { libc::llistxattr(c_path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let Ok(len) = usize::try_from(len) else {
        return Vec::new();
    };
    buf[..len]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// An output written to a temporary file, not yet in place. Dropped without [`commit`], the
/// temporary file is removed.
pub struct Staged {
    tmp: tempfile::TempPath,
    target: Target,
    /// The bytes the target must still hold when it is replaced (a template a build read).
    expect: Option<Vec<u8>>,
    /// Until the rename, an interrupt removes the temporary file.
    _tracked: interrupt::Tracked,
}

impl Staged {
    /// Where the output is until [`commit`] puts it in place.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Refuses the commit unless the target still holds `bytes` just before it is replaced: an
    /// edit saved meanwhile is kept, not overwritten.
    pub fn expecting(mut self, bytes: &[u8]) -> Staged {
        self.expect = Some(bytes.to_vec());
        self
    }

    pub(super) fn how(&self) -> How {
        self.target.how
    }

    /// The target still holds the bytes this output was made from, if it must.
    pub(super) fn check_expected(&self) -> Result<(), EmitError> {
        let Some(expect) = &self.expect else {
            return Ok(());
        };
        let now = crate::rootfs::host::read(&self.target.real, expect.len() as u64 + 1);
        if now.is_ok_and(|now| &now == expect) {
            Ok(())
        } else {
            Err(EmitError::Changed {
                path: self.target.path.clone(),
            })
        }
    }

    /// The temporary file and the target, checked once more against the expected bytes.
    pub(super) fn into_parts(self) -> Result<(tempfile::TempPath, Target), EmitError> {
        self.check_expected()?;
        Ok((self.tmp, self.target))
    }
}

/// Writes an output into a temporary file beside its real target, synced, with `mode`.
pub fn stage_as(
    out: &Path,
    mode: Mode,
    write: impl FnOnce(&mut File) -> Result<(), EmitError>,
) -> Result<Staged, EmitError> {
    let mut target = Target::of(out, mode)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .tempfile_in(target.dir()?)
        .map_err(EmitError::write(out))?;
    let tracked = interrupt::track(tmp.path());
    write(tmp.as_file_mut())?;
    let file = tmp.as_file_mut();
    file.flush()
        .and_then(|()| file.sync_all())
        .and_then(|()| target.settle(file, mode))
        .map_err(EmitError::write(out))?;
    Ok(Staged {
        tmp: tmp.into_temp_path(),
        target,
        expect: None,
        _tracked: tracked,
    })
}

/// Stages a copy of `from` as `out`: a hard link when both are on one file system (no byte is
/// read or written), else a copy. Only for outputs of a fixed mode that `from` has already.
pub fn stage_copy(from: &Path, out: &Path) -> Result<Staged, EmitError> {
    let target = Target::of(out, Mode::Fixed(0o444))?;
    let tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .make_in(target.dir()?, |path| super::link_or_copy(from, path))
        .map_err(EmitError::write(out))?
        .into_temp_path();
    Ok(Staged {
        _tracked: interrupt::track(&tmp),
        tmp,
        target,
        expect: None,
    })
}
