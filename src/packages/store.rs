//! Package sources in the store (`packages/` under the cache root): every file fetched, once by
//! sha256 (`files/sha256/HEX`, written only after its digest was checked: signed indexes, package
//! indexes, `.deb` and `.rpm` files); the signed index each repository URL served last
//! (`signed/`), for working offline; and each unpacked rootfs by the digest of the package files it
//! was made of (`rootfs/KEY/`, published by rename once complete), with a marker beside it
//! (`rootfs/KEY.used`: the sha256 of each package file, held by every process using the folder,
//! its mtime the folder's last use; [`crate::store::lease`]).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::digest::hex;

pub struct PackageStore {
    dir: PathBuf,
}

impl PackageStore {
    /// The store under the cache root ([`crate::cache_dir`]); `None` without one.
    pub fn from_env() -> Option<PackageStore> {
        crate::cache_dir::root().map(|root| PackageStore::at(root.join("packages")))
    }

    pub fn at(dir: PathBuf) -> PackageStore {
        PackageStore { dir }
    }

    /// Files by sha256 (`files/sha256/`).
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files/sha256")
    }

    /// The signed index each repository URL served last (`signed/`).
    pub fn signed_dir(&self) -> PathBuf {
        self.dir.join("signed")
    }

    /// The unpacked folders (`rootfs/KEY/`), each with its marker `KEY.used` beside it.
    pub fn rootfs_dir(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn marker_path(&self, key: &str) -> PathBuf {
        crate::store::lease::marker_of(&self.rootfs_dir().join(key))
    }

    /// Marks the folder `key` and the package files (by sha256) it is made of as in use by this
    /// process, before they are fetched, so that `gc` leaves them alone.
    pub fn hold_rootfs(&self, key: &str, files: &[String]) -> io::Result<()> {
        crate::store::lease::hold(&self.marker_path(key), files)
    }

    /// Where the file of this sha256 lives (its folder made).
    pub fn file_path(&self, sha256: &str) -> io::Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad sha256 {sha256}"),
            ));
        }
        let dir = self.files_dir();
        fs::create_dir_all(&dir)?;
        Ok(dir.join(sha256.to_ascii_lowercase()))
    }

    /// A stored file read back whole and checked; `None` when absent or damaged (then removed).
    pub fn read_file(&self, sha256: &str, limit: u64) -> Option<Vec<u8>> {
        let path = self.file_path(sha256).ok()?;
        let mut bytes = Vec::new();
        fs::File::open(&path)
            .ok()?
            .take(limit)
            .read_to_end(&mut bytes)
            .ok()?;
        if hex(&Sha256::digest(&bytes)) == sha256 {
            Some(bytes)
        } else {
            let _ = fs::remove_file(&path);
            None
        }
    }

    /// Stores bytes already checked against their sha256.
    pub fn put_file(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.file_path(sha256)?;
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
        Ok(())
    }

    fn signed_path(&self, url: &str) -> PathBuf {
        self.signed_dir().join(hex(&Sha256::digest(url.as_bytes())))
    }

    /// Records the sha256 of the signed index `url` served.
    pub fn remember(&self, url: &str, sha256: &str) -> io::Result<()> {
        let path = self.signed_path(url);
        fs::create_dir_all(path.parent().unwrap_or(&self.dir))?;
        write_atomic(&path, format!("{url}\n{sha256}\n").as_bytes())
    }

    /// The sha256 of the signed index `url` served last; the record is marked as used now.
    pub fn recall(&self, url: &str) -> Option<String> {
        let path = self.signed_path(url);
        let text = fs::read_to_string(&path).ok()?;
        let mut lines = text.lines();
        (lines.next()? == url).then_some(())?;
        if !crate::cache_dir::is_read_only() {
            crate::store::touch(&path);
        }
        lines.next().map(str::to_string)
    }

    /// The rootfs folder for `key`, when it was made before.
    pub fn existing_rootfs(&self, key: &str) -> Option<PathBuf> {
        let target = self.rootfs_dir().join(key);
        target.is_dir().then_some(target)
    }

    /// The rootfs folder for `key`, made by `fill` into a temporary folder and renamed into place
    /// when missing. A folder already in place is complete: only whole folders are renamed there.
    pub fn rootfs<E>(
        &self,
        key: &str,
        fill: impl FnOnce(&Path) -> Result<(), E>,
        io_error: impl Fn(io::Error) -> E,
    ) -> Result<PathBuf, E> {
        let parent = self.rootfs_dir();
        let target = parent.join(key);
        if target.is_dir() {
            return Ok(target);
        }
        fs::create_dir_all(&parent).map_err(&io_error)?;
        let tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .tempdir_in(&parent)
            .map_err(&io_error)?;
        fill(tmp.path())?;
        let made = tmp.keep();
        if fs::rename(&made, &target).is_err() {
            // Another process published the same rootfs meanwhile: it holds the same files.
            let _ = fs::remove_dir_all(&made);
            if !target.is_dir() {
                return Err(io_error(io::Error::other(format!(
                    "cannot publish {}",
                    target.display()
                ))));
            }
        }
        Ok(target)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    crate::emit::write_atomic(path, |file| {
        file.write_all(bytes)
            .map_err(crate::emit::EmitError::write(path))
    })
    .map_err(io::Error::other)
}
