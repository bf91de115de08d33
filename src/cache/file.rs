//! `file://` caches: a folder, shared over NFS or a mounted volume. Objects are written to a
//! temporary name in their folder and renamed, so a reader sees a whole object or none.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::backend::{Backend, CacheError};
use crate::net::{Body, Expected};

pub(super) struct FileCache {
    root: PathBuf,
}

impl FileCache {
    pub(super) fn new(root: PathBuf) -> FileCache {
        FileCache { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn fail(&self, name: &str, e: io::Error) -> CacheError {
        let path = self.path(name);
        match e.kind() {
            // The folder is not there (an unmounted volume): like a server that is down.
            io::ErrorKind::NotFound if !self.root.is_dir() => CacheError::Unreachable(format!(
                "{}: the cache folder does not exist",
                self.root.display()
            )),
            _ => CacheError::Failed(format!("{}: {e}", path.display())),
        }
    }

    fn open(&self, name: &str) -> Result<Option<fs::File>, CacheError> {
        if !self.root.is_dir() {
            return Err(self.fail(name, io::ErrorKind::NotFound.into()));
        }
        match crate::rootfs::host::open_regular(&self.path(name)) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(name, e)),
        }
    }
}

impl Backend for FileCache {
    fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, CacheError> {
        let Some(file) = self.open(name)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.fail(name, e))?;
        if bytes.len() as u64 > limit {
            return Err(CacheError::Failed(format!(
                "{}: larger than {limit} bytes",
                self.path(name).display()
            )));
        }
        Ok(Some(bytes))
    }

    fn download(&self, name: &str, expected: &Expected, target: &Path) -> Result<bool, CacheError> {
        let Some(mut file) = self.open(name)? else {
            return Ok(false);
        };
        let limit = expected.size.unwrap_or(expected.limit);
        let dir = target.parent().unwrap_or(Path::new("."));
        let write = |e: io::Error| CacheError::Failed(format!("{}: {e}", target.display()));
        let mut tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(write)?;
        let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0; 1 << 16]);
        loop {
            let n = file.read(&mut buf).map_err(|e| self.fail(name, e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(CacheError::Failed(format!(
                    "{}: larger than the {limit} bytes expected",
                    self.path(name).display()
                )));
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(write)?;
        }
        let actual = crate::digest::hex(&hasher.finalize());
        if actual != expected.sha256 || expected.size.is_some_and(|s| s != size) {
            return Err(CacheError::Failed(format!(
                "{}: the bytes have sha256 {actual} ({size} bytes), not the sha256 {} they are stored under",
                self.path(name).display(),
                expected.sha256
            )));
        }
        tmp.persist(target).map_err(|e| write(e.error))?;
        Ok(true)
    }

    fn exists(&self, name: &str) -> Result<bool, CacheError> {
        Ok(self.open(name)?.is_some())
    }

    fn upload(&self, name: &str, body: &Body) -> Result<(), CacheError> {
        if !self.root.is_dir() {
            return Err(self.fail(name, io::ErrorKind::NotFound.into()));
        }
        let path = self.path(name);
        let dir = path.parent().unwrap_or(&self.root);
        let fail = |e: io::Error| self.fail(name, e);
        fs::create_dir_all(dir).map_err(fail)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(fail)?;
        match body {
            Body::Bytes(bytes) => tmp.write_all(bytes).map_err(fail)?,
            Body::File { path, offset, len } => {
                let mut from = fs::File::open(path).map_err(fail)?;
                io::Seek::seek(&mut from, io::SeekFrom::Start(*offset)).map_err(fail)?;
                io::copy(&mut from.take(*len), &mut tmp).map_err(fail)?;
            }
        }
        tmp.as_file().sync_all().map_err(fail)?;
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(())
    }
}
