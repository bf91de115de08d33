//! Read access to a source root filesystem, with chroot semantics.
//!
//! Invariant: this is the only module that reads input files (besides the spec text), and every path
//! it is given is interpreted inside the rootfs: absolute symlink targets are re-rooted, `..` stops at
//! the root, and no path outside the rootfs is ever opened through a rootfs path.

mod dir;
pub mod host;
pub mod image;
pub mod stamp;
mod walk;
pub mod zipfs;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dir::DirRootFs;
pub use image::ImageError;
pub use stamp::Stamp;
pub use walk::{Escape, Located, Resolved, RootfsError, locate, resolve, resolve_in};

use crate::arch::Architecture;
use crate::elf::{ElfError, ElfInfo};

/// The largest file a backend without memory maps reads whole (a 4 GiB shared object is already
/// beyond what the loader maps in practice).
pub const MAX_MAPPED: u64 = 4 << 30;

/// The error for a path that is not a regular file (what `file_type` says it is).
pub fn not_regular(file_type: std::fs::FileType) -> io::Error {
    let what = match Special::of(file_type) {
        Some(special) => special.to_string(),
        None if file_type.is_dir() => "a folder".to_string(),
        None => "a symlink".to_string(),
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file"),
    )
}

/// The error for a file over a reader's size limit.
pub fn too_large(len: u64, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("{len} bytes, more than the {limit} bytes read from such a file"),
    )
}

/// An absolute, normalised path inside a rootfs (`/usr/lib64/libz.so.1`). `/` is the root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootPath(String);

impl RootPath {
    pub fn root() -> Self {
        RootPath("/".to_string())
    }

    /// Normalises `path` lexically (no symlinks are read): `.` and empty parts dropped, `..` clamped
    /// at the root. A relative path is taken from the root.
    pub fn new(path: &str) -> Self {
        let mut parts: Vec<&str> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        Self::from_parts(&parts)
    }

    fn from_parts(parts: &[&str]) -> Self {
        RootPath(format!("/{}", parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn join(&self, name: &str) -> Self {
        RootPath::new(&format!("{}/{}", self.0, name))
    }

    pub fn parent(&self) -> RootPath {
        match self.0.rfind('/') {
            Some(0) | None => RootPath::root(),
            Some(i) => RootPath(self.0[..i].to_string()),
        }
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The components after the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|p| !p.is_empty())
    }
}

impl fmt::Display for RootPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: never read, never copied.
    Special(Special),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    /// A special file whose kind was not recorded (an image index from an older layerc).
    Other,
}

impl Special {
    pub fn of(file_type: std::fs::FileType) -> Option<Special> {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            Some(Special::Fifo)
        } else if file_type.is_socket() {
            Some(Special::Socket)
        } else if file_type.is_char_device() {
            Some(Special::CharDevice)
        } else if file_type.is_block_device() {
            Some(Special::BlockDevice)
        } else {
            None
        }
    }
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Special::Fifo => "a FIFO",
            Special::Socket => "a socket",
            Special::CharDevice => "a character device",
            Special::BlockDevice => "a block device",
            Special::Other => "a special file",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    pub kind: Kind,
    pub len: u64,
    /// Permission bits (`0o7777`).
    pub mode: u32,
}

/// The primitive operations a rootfs offers. Implementations only ever see paths whose every
/// parent component is a real folder (already resolved by [`resolve`]), so they need no symlink logic.
pub trait RootFs: Send + Sync {
    /// `lstat`: `Ok(None)` when nothing is there.
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>>;
    fn read_link(&self, path: &RootPath) -> io::Result<String>;
    /// The bytes of a regular file of at most `limit` bytes. Every reading method refuses anything
    /// but a regular file ([`not_regular`]: a FIFO would block, a device never ends) and a larger
    /// file ([`too_large`]) without reading it.
    fn read(&self, path: &RootPath, limit: u64) -> io::Result<Vec<u8>>;
    /// The file's bytes without copying them when the backend can (a memory map for folders): ELF
    /// parsing touches only headers and a few sections of libraries that may be tens of megabytes.
    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        self.read(path, MAX_MAPPED).map(Bytes::Owned)
    }
    /// The first `len` bytes (fewer for a shorter file).
    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        let mut bytes = self.read(path, MAX_MAPPED)?;
        bytes.truncate(len);
        Ok(bytes)
    }
    /// Fills `buf` from `offset` with plain reads (never a memory map, which a file truncated
    /// meanwhile would turn into SIGBUS) and returns how many bytes there were (fewer at the end).
    fn read_at(&self, path: &RootPath, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self.read(path, MAX_MAPPED)?;
        let from = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
        let n = buf.len().min(bytes.len() - from);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        Ok(n)
    }
    /// Entry names of a folder, sorted.
    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>>;
    /// The [`ElfInfo`] of the regular file at `path` (an [`ElfError`] for bytes that are not a
    /// usable object) and the stamp the file had when it was read. Backends read only what the ELF
    /// reader uses where they can (a folder: a few `pread`s, [`crate::elf::pages`]); this default
    /// maps the file.
    fn elf_info(&self, path: &RootPath) -> io::Result<(Result<ElfInfo, ElfError>, Option<Stamp>)> {
        let stamp = self.stamp(path)?;
        let bytes = self.map(path)?;
        Ok((ElfInfo::parse_file(path.file_name(), &bytes), stamp))
    }
    /// [`resolve`] in one step by the backend's own means (the kernel's lookup inside a folder),
    /// without the escapes; `None` when the backend has none for this path, and [`locate`] walks it.
    fn locate(&self, _path: &RootPath) -> Option<Result<Located, RootfsError>> {
        None
    }
    /// The stamp of the file at `path` (not following a last symlink); `Ok(None)` when nothing is
    /// there. Backends whose files never change (an unpacked image) may keep this default.
    fn stamp(&self, path: &RootPath) -> io::Result<Option<Stamp>> {
        Ok(self.lstat(path)?.map(|m| Stamp {
            len: m.len,
            mtime_ns: 0,
            ctime_ns: 0,
            dev: 0,
            inode: 0,
        }))
    }
}

/// File contents, owned or memory-mapped.
pub enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Which rootfs a spec names: its identity, independent of how it is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RootfsId {
    /// A folder, by its canonical host path and the device and inode behind it: a folder replaced
    /// by another at the same path is another rootfs.
    Dir { path: PathBuf, dev: u64, inode: u64 },
    /// A container image (a file, or an OCI layout folder) by its canonical host path, the stamp of
    /// the file that identifies its content (the image file, or the layout's `index.json`), and the
    /// architecture whose manifest is read.
    Image {
        path: PathBuf,
        stamp: Stamp,
        arch: Architecture,
    },
}

/// A rootfs that could not be opened, with the host path it was looked for at.
#[derive(Debug, thiserror::Error)]
#[error("cannot open rootfs {}: {source}", path.display())]
pub struct OpenError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl RootfsId {
    /// Identifies the rootfs a spec names at `host_path` (relative paths are taken as given): a
    /// folder, or a container image whose manifest for `arch` is read.
    pub fn identify(host_path: &Path, arch: Architecture) -> Result<RootfsId, OpenError> {
        use std::os::unix::fs::MetadataExt;
        let fail = |source| OpenError {
            path: host_path.to_path_buf(),
            source,
        };
        let path = std::fs::canonicalize(host_path).map_err(fail)?;
        if image::is_image(&path) {
            let content = if path.is_dir() {
                path.join("index.json")
            } else {
                path.clone()
            };
            let meta = std::fs::metadata(&content).map_err(fail)?;
            let stamp = Stamp::of(&meta);
            return Ok(RootfsId::Image { path, stamp, arch });
        }
        let meta = std::fs::metadata(&path).map_err(fail)?;
        Ok(RootfsId::Dir {
            path,
            dev: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// Opens the backend for this rootfs.
    pub fn open(&self) -> Result<Arc<dyn RootFs>, OpenError> {
        match self {
            RootfsId::Dir { path, .. } => match DirRootFs::open(path) {
                Ok(fs) => Ok(Arc::new(fs)),
                Err(source) => Err(OpenError {
                    path: path.clone(),
                    source,
                }),
            },
            RootfsId::Image { path, arch, .. } => match image::ImageRootFs::open(path, *arch) {
                Ok(fs) => Ok(Arc::new(fs)),
                Err(source) => Err(OpenError {
                    path: path.clone(),
                    source,
                }),
            },
        }
    }
}

/// Opens an application to scan: a folder as it is, or a zip archive (a deployment package, a
/// wheel) read in place.
pub fn open_app(host_path: &Path) -> Result<Arc<dyn RootFs>, OpenError> {
    open_app_telling(host_path).map(|(fs, _)| fs)
}

/// [`open_app`], and the entry names of a zip that were left out because they cannot be placed
/// inside it (a `..` part, a name below a file, one taken twice): none for a folder.
pub fn open_app_telling(host_path: &Path) -> Result<(Arc<dyn RootFs>, Vec<String>), OpenError> {
    let fail = |source| OpenError {
        path: host_path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(host_path).map_err(fail)?;
    if meta.is_dir() {
        Ok((
            Arc::new(DirRootFs::open(host_path).map_err(fail)?),
            Vec::new(),
        ))
    } else {
        let mut zip = zipfs::ZipRootFs::open(host_path).map_err(fail)?;
        let refused = std::mem::take(&mut zip.refused);
        Ok((Arc::new(zip), refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalisation_clamps_at_root() {
        assert_eq!(RootPath::new("/a/./b//../c").as_str(), "/a/c");
        assert_eq!(RootPath::new("../../etc/passwd").as_str(), "/etc/passwd");
        assert_eq!(RootPath::new("/").as_str(), "/");
        assert_eq!(RootPath::new("/usr/lib").parent().as_str(), "/usr");
        assert_eq!(RootPath::new("/usr").parent().as_str(), "/");
    }
}
