//! A rootfs that is a folder on the host (which may be `/` itself).
//!
//! Files are opened with `openat2(RESOLVE_IN_ROOT)` from the root folder, held open, where the
//! kernel has it (Linux 5.6): the kernel then walks the path with the same chroot semantics as
//! [`super::resolve`] (absolute symlinks re-rooted, `..` stopping at the root), so a component
//! replaced by a symlink after the path was resolved still cannot lead outside the root. Elsewhere a
//! file is opened by its host path with `O_NOFOLLOW` on the last component. The same call resolves
//! a whole path in one step for [`super::locate`].

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Bytes, Kind, Located, Metadata, RootFs, RootPath, RootfsError, Special, Stamp};
use crate::elf::{ElfError, ElfInfo};

#[derive(Debug)]
pub struct DirRootFs {
    root: PathBuf,
    /// The root folder (`O_PATH`): what `openat2` resolves paths from.
    dir: fs::File,
    /// Whether the kernel has `openat2` with `RESOLVE_IN_ROOT`.
    in_root: bool,
}

impl DirRootFs {
    pub fn open(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
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
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&root)?;
        let mut fs = DirRootFs {
            root,
            dir,
            in_root: true,
        };
        fs.in_root = !matches!(
            fs.openat2(&RootPath::root(), libc::O_PATH),
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS)
        );
        Ok(fs)
    }

    /// Without `openat2`, as on a kernel older than 5.6: files are opened by their host paths.
    pub fn without_openat2(mut self) -> Self {
        self.in_root = false;
        self
    }

    /// The host path of a rootfs path. Callers pass only paths `resolve` produced or is probing,
    /// whose parents are real folders inside the root.
    fn host(&self, path: &RootPath) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(path.components());
        p
    }

    /// `openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: the kernel resolves
    /// `path` inside the root as a chroot would (symlinks followed, the last one too unless
    /// `flags` has `O_NOFOLLOW`).
    fn openat2(&self, path: &RootPath, flags: i32) -> io::Result<OwnedFd> {
        let relative = path.as_str().trim_start_matches('/');
        // A NUL cannot be passed: the walk says where such a path stops.
        let name = CString::new(if relative.is_empty() { "." } else { relative })
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `open_how` is three integers, for which all zeros is a valid value (and what the
        // kernel expects of every field not set).
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        loop {
            // SAFETY: `name` is a NUL-terminated string and `how` a valid `open_how` of the size
            // passed, both alive for the call; on success the kernel returns a new descriptor that
            // nothing else owns.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.dir.as_raw_fd(),
                    name.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd >= 0 {
                // SAFETY: see above: the descriptor is new and owned here alone.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Opens a regular file and gives its metadata; anything else is refused before a byte is read.
    /// `O_NONBLOCK` so that a FIFO put there after `lstat` cannot block the open, `O_NOFOLLOW` so
    /// that a symlink put there is not followed; `fstat` then checks what was opened (a FIFO, a
    /// device or a socket never reaches a read).
    fn open_regular(&self, path: &RootPath) -> io::Result<(fs::File, fs::Metadata)> {
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW;
        let file = if self.in_root {
            fs::File::from(self.openat2(path, flags)?)
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(flags | libc::O_CLOEXEC)
                .open(self.host(path))?
        };
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(super::not_regular(meta.file_type()));
        }
        Ok((file, meta))
    }

    /// The kernel's own resolution of `path` inside the root: `None` where it cannot answer as
    /// [`super::resolve`] would (no `openat2`, a folder that cannot be searched, a symlink loop or
    /// a magic link of `/proc`, a real path that cannot be told), and the caller walks the path.
    fn locate_in_kernel(&self, path: &RootPath) -> Option<Result<Located, RootfsError>> {
        // The kernel refuses paths from PATH_MAX bytes on; the walk has no such limit.
        if !self.in_root || path.as_str().len() >= libc::PATH_MAX as usize {
            return None;
        }
        let fd = match self.openat2(path, libc::O_PATH) {
            Ok(fd) => fd,
            Err(e) => {
                return match e.raw_os_error()? {
                    libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG => {
                        Some(Err(RootfsError::NotFound(path.clone())))
                    }
                    _ => None,
                };
            }
        };
        // The path the kernel reached, as the host names it.
        let host = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let inside = host.strip_prefix(&self.root).ok()?;
        let inside = std::str::from_utf8(inside.as_os_str().as_bytes()).ok()?;
        let meta = fs::File::from(fd).metadata().ok()?;
        Some(Ok(Located {
            path: RootPath::new(inside),
            meta: metadata(&meta),
        }))
    }
}

/// What a rootfs tells of a host file's metadata.
fn metadata(m: &fs::Metadata) -> Metadata {
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
    Metadata {
        kind,
        len: m.len(),
        mode: m.mode() & 0o7777,
    }
}

impl RootFs for DirRootFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        match fs::symlink_metadata(self.host(path)) {
            Ok(m) => Ok(Some(metadata(&m))),
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
        let (file, meta) = self.open_regular(path)?;
        if meta.len() > limit {
            return Err(super::too_large(meta.len(), limit));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // `take`: a file that grows while it is read still stops at the limit.
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(super::too_large(bytes.len() as u64, limit));
        }
        Ok(bytes)
    }

    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        let (file, meta) = self.open_regular(path)?;
        map(&file, meta.len())
    }

    /// Only the ranges the ELF reader uses are read, with `pread`s ([`crate::elf::ranges`]); a file
    /// it cannot read that way is mapped, and the kernel brings in only the pages touched.
    fn elf_info(&self, path: &RootPath) -> io::Result<(Result<ElfInfo, ElfError>, Option<Stamp>)> {
        let (file, meta) = self.open_regular(path)?;
        let stamp = Some(Stamp::of(&meta));
        let read_at = |offset, buf: &mut [u8]| super::host::read_file_at(&file, offset, buf);
        if let Some(parsed) = crate::elf::ranges::parse(path.file_name(), meta.len(), &read_at)? {
            return Ok((parsed, stamp));
        }
        let bytes = map(&file, meta.len())?;
        Ok((ElfInfo::parse_file(path.file_name(), &bytes), stamp))
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

    fn locate(&self, path: &RootPath) -> Option<Result<Located, RootfsError>> {
        self.locate_in_kernel(path)
    }
}

/// The bytes of an open regular file of `len` bytes, memory-mapped.
fn map(file: &fs::File, len: u64) -> io::Result<Bytes> {
    if len == 0 {
        // Zero-length maps are refused by the kernel.
        return Ok(Bytes::Owned(Vec::new()));
    }
    // SAFETY: the map is read-only and dropped after parsing. A file rewritten meanwhile gives
    // wrong bytes, as `read` would; one truncated meanwhile raises SIGBUS on a page past its new
    // end: files are mapped only to parse ELF objects, while zips and digests use `read_at`.
    // The length is given: the map needs no `fstat` of its own.
    let map = unsafe { memmap2::MmapOptions::new().len(len as usize).map(file)? };
    Ok(Bytes::Mapped(map))
}
