//! A rootfs that is a folder on the host (which may be `/` itself).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Bytes, Kind, Metadata, RootFs, RootPath, Special, Stamp};

#[derive(Debug, Clone)]
pub struct DirRootFs {
    root: PathBuf,
}

impl DirRootFs {
    pub fn open(path: &Path) -> io::Result<Self> {
        let root = fs::canonicalize(path)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a folder", root.display()),
            ));
        }
        // A folder that cannot be listed (mode 000, or not ours) is reported here, once, rather
        // than as every library in it being unreadable.
        fs::read_dir(&root)?;
        Ok(DirRootFs { root })
    }

    /// The host path of a rootfs path. Callers pass only paths `resolve` produced or is probing,
    /// whose parents are real folders inside the root.
    fn host(&self, path: &RootPath) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(path.components());
        p
    }

    /// Opens a regular file and gives its length; anything else is refused before a byte is read.
    /// `O_NONBLOCK` so that a FIFO put there after `lstat` cannot block the open, `O_NOFOLLOW` so
    /// that a symlink put there is not followed outside the rootfs; `fstat` then checks what was
    /// opened (a FIFO, a device or a socket never reaches a read).
    fn open_regular(&self, path: &RootPath) -> io::Result<(fs::File, u64)> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(self.host(path))?;
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(super::not_regular(meta.file_type()));
        }
        Ok((file, meta.len()))
    }
}

impl RootFs for DirRootFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        match fs::symlink_metadata(self.host(path)) {
            Ok(m) => {
                let ft = m.file_type();
                let kind = if ft.is_symlink() {
                    Kind::Symlink
                } else if ft.is_dir() {
                    Kind::Dir
                } else if let Some(special) = Special::of(ft) {
                    Kind::Special(special)
                } else {
                    Kind::File
                };
                Ok(Some(Metadata {
                    kind,
                    len: m.len(),
                    mode: m.mode() & 0o7777,
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn read_link(&self, path: &RootPath) -> io::Result<String> {
        let target = fs::read_link(self.host(path))?;
        Ok(target.to_string_lossy().into_owned())
    }

    fn read(&self, path: &RootPath, limit: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let (file, len) = self.open_regular(path)?;
        if len > limit {
            return Err(super::too_large(len, limit));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        // `take`: a file that grows while it is read still stops at the limit.
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(super::too_large(bytes.len() as u64, limit));
        }
        Ok(bytes)
    }

    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        let (file, len) = self.open_regular(path)?;
        if len == 0 {
            // Zero-length maps are refused by the kernel.
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: the map is read-only and dropped after parsing; a rootfs that is rewritten while
        // layerc reads it gives wrong results either way (the same holds for `read`).
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Bytes::Mapped(map))
    }

    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::with_capacity(len);
        self.open_regular(path)?
            .0
            .take(len as u64)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn stamp(&self, path: &RootPath) -> io::Result<Option<Stamp>> {
        match fs::symlink_metadata(self.host(path)) {
            Ok(m) => Ok(Some(Stamp::of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_at(&self, path: &RootPath, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        super::host::read_file_at(&self.open_regular(path)?.0, offset, buf)
    }

    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(self.host(path))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }
}
