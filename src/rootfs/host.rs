//! Host files layerc reads besides a rootfs's contents: the spec and its imports, templates,
//! runtime descriptions, `layer.lock`, the store's and the image cache's own files, and the files
//! an image is made of. One reader for all of them, with one rule: only a regular file is read (a
//! FIFO, socket or device is refused without blocking: `O_NONBLOCK`, then `fstat`), and never more
//! than the caller's limit, however large the file says it is or grows while it is read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::{not_regular, too_large};

/// Opens a regular file (following symlinks: the user named it). A FIFO cannot block the open
/// (`O_NONBLOCK`); `fstat` then refuses whatever is not a regular file before a byte is read.
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_with(path, 0)
}

/// [`open_regular`] without following a symlink in the last component: for files whose name is
/// all that is trusted (a layout's blob named by its digest, the caches' own files).
pub fn open_regular_nofollow(path: &Path) -> io::Result<File> {
    open_with(path, libc::O_NOFOLLOW)
}

fn open_with(path: &Path, flags: i32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink.
            Some(libc::ELOOP) if flags & libc::O_NOFOLLOW != 0 => {
                io::Error::new(io::ErrorKind::InvalidInput, "a symlink, not a regular file")
            }
            _ => e,
        })?;
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Err(not_regular(file_type));
    }
    Ok(file)
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_open(open_regular(path)?, limit)
}

/// The bytes of an open file, at most `limit` of them: a larger file is refused before it is read,
/// and one that grows meanwhile stops at the limit.
pub fn read_open(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    if len > limit {
        return Err(too_large(len, limit));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text; other bytes are an error of kind `InvalidData`.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// [`read_text`] that tells a missing file (`Ok(None)`) from one that cannot be read.
pub fn read_text_if_exists(path: &Path, limit: u64) -> io::Result<Option<String>> {
    match read_text(path, limit) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The largest spec file read: far more than any hand-written spec.
pub const MAX_SPEC_BYTES: u64 = 16 << 20;

/// A spec file (the one on the command line, or one an `import` names): a regular file of at
/// most [`MAX_SPEC_BYTES`], UTF-8, with its identity (device, inode), which tells two paths of one
/// file apart from two files.
pub fn read_spec_text(host_path: &Path) -> io::Result<(String, (u64, u64))> {
    use std::os::unix::fs::MetadataExt;
    let file = open_regular(host_path)?;
    let meta = file.metadata()?;
    let bytes = read_open(file, MAX_SPEC_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok((text, (meta.dev(), meta.ino())))
}

/// The largest runtime description (`runtime-file`, `runtime diff FILE`) read.
pub const MAX_DESCRIPTION_BYTES: u64 = 16 << 20;

/// A text input the spec names beside its rootfs (a `runtime-file` description).
pub fn read_input_text(host_path: &Path) -> io::Result<String> {
    read_text(host_path, MAX_DESCRIPTION_BYTES)
}

/// The identity (device, inode) of a host file, to recognise it when an import names it again.
pub fn file_key(host_path: &Path) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(host_path)?;
    Ok((meta.dev(), meta.ino()))
}

/// `pread`s into `buf` from `offset` until it is full or the file ends; returns the bytes read.
pub fn read_file_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_oversized_files_are_refused_without_reading() {
        let err = read(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, [b'x'; 11]).unwrap();
        assert_eq!(
            read(&big, 10).unwrap_err().kind(),
            io::ErrorKind::FileTooLarge
        );
        assert_eq!(read(&big, 11).unwrap().len(), 11);
        std::os::unix::fs::symlink(&big, dir.path().join("link")).unwrap();
        assert!(read(&dir.path().join("link"), 11).is_ok());
        let err = open_regular_nofollow(&dir.path().join("link")).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
    }
}
