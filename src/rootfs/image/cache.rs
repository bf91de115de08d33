//! layerc's image cache: `images/` under the cache root ([`crate::cache_dir`]: `--store`,
//! `$LAYERC_STORE`, `$LAYERC_CACHE`, `$XDG_CACHE_HOME/layerc` or `~/.cache/layerc`). It holds each
//! image's index (`index/KEY.json`, keyed by the image's content hash and the architecture),
//! content-addressed copies of shared objects from compressed layers (`blobs/SHA256`), and memos
//! from a file's path and stamp to its content hash (`stat/`) so an unchanged image is not hashed
//! again. Every file is written to a temporary name and renamed, so readers never see half a file.
//!
//! The cache is read as untrusted input: its files are read through the bounded reader without
//! following symlinks, an index is checked for form when loaded (by the caller), and a blob is
//! used only once its bytes hash to its name. A read-only cache ([`crate::cache_dir::read_only`],
//! for `check` and `build --dry-run`) is used as it is and never written: shared objects are then
//! kept in the image's scratch file instead.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::scratch::Scratch;
use crate::digest::hex;
use crate::rootfs::stamp::trusted;
use crate::rootfs::{Stamp, host};

/// The largest index read back (a few hundred bytes a file of the image).
pub(super) const MAX_INDEX_BYTES: u64 = 512 << 20;
/// A memo is one hash.
const MAX_MEMO_BYTES: u64 = 128;
/// Files named like shared objects that are kept even when they are not ELF, up to this size.
pub(super) const KEEP_SMALL: u64 = 64 << 10;
/// Bytes kept per image: this much, plus [`KEEP_RATIO`] times the compressed bytes read so far,
/// so a small image that decompresses to gigabytes of shared objects keeps little, while real
/// images (shared objects compress about 3:1) keep all of theirs.
const KEEP_BASE: u64 = 64 << 20;
const KEEP_RATIO: u64 = 8;
/// Never more than this.
const KEEP_MAX: u64 = 16 << 30;

pub(super) struct Cache {
    dir: PathBuf,
    writable: bool,
    /// Blobs whose bytes were hashed in this process, with the stamp they had then.
    verified: Mutex<HashMap<String, Stamp>>,
}

impl Cache {
    /// The cache folder from the environment (created if needed, unless the cache is read-only);
    /// `None` when there is no usable one (images are then indexed on every run).
    pub(super) fn from_env() -> Option<Cache> {
        let dir = crate::cache_dir::root()?.join("images");
        let writable = !crate::cache_dir::is_read_only();
        if writable {
            for sub in ["blobs", "index", "stat"] {
                fs::create_dir_all(dir.join(sub)).ok()?;
            }
        } else if !dir.is_dir() {
            return None;
        }
        Some(Cache {
            dir,
            writable,
            verified: Mutex::default(),
        })
    }

    pub(super) fn index_path(&self, key: &str) -> PathBuf {
        self.dir.join("index").join(format!("{key}.json"))
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs").join(digest)
    }

    /// The bytes of the index stored under `key`, if any; a hit marks it as just used (its mtime,
    /// which `gc` orders by).
    pub(super) fn read_index(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.index_path(key);
        let bytes = host::open_regular_nofollow(&path)
            .and_then(|file| host::read_open(file, MAX_INDEX_BYTES))
            .ok()?;
        if self.writable
            && let Ok(file) = fs::File::options().append(true).open(&path)
        {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(bytes)
    }

    /// Writes `bytes` at `path` (in the cache) whole or not at all; nothing when read-only.
    pub(super) fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Ok(());
        }
        let mut tmp = self.temporary(path.parent().unwrap_or(&self.dir))?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    fn temporary(&self, dir: &Path) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(".layerc-")
            .suffix(".tmp")
            .tempfile_in(dir)
    }

    /// The sha256 of an open file and the stamp it had when hashed: from the memo when the
    /// file's stamp is unchanged and the memo is trusted by the store's rule
    /// ([`crate::rootfs::stamp::trusted`]; the memo's mtime is when the hash was taken). A file that
    /// changes while it is hashed is an error.
    pub(super) fn file_hash(
        &self,
        path: &Path,
        mut file: &fs::File,
    ) -> io::Result<(String, Stamp)> {
        let stamp = Stamp::of(&file.metadata()?);
        let identity = format!("{}\0{stamp:?}", path.display());
        let memo = self
            .dir
            .join("stat")
            .join(hex(&Sha256::digest(identity.as_bytes())));
        // The memo is written after the hash was taken: its mtime is when it was written.
        if let Ok(memo_file) = host::open_regular_nofollow(&memo)
            && let Ok(written) = memo_file
                .metadata()
                .map(|m| crate::rootfs::stamp::mtime_ns(&m))
            && let Ok(hash) = host::read_open(memo_file, MAX_MEMO_BYTES)
            && crate::digest::is_sha256_hex(&hash)
            && trusted(&stamp, &stamp, written)
        {
            return Ok((String::from_utf8_lossy(&hash).into_owned(), stamp));
        }
        let hash = crate::digest::sha256_of(&mut file)?;
        if Stamp::of(&file.metadata()?) != stamp {
            return Err(super::source::changed(path));
        }
        // A cache that cannot be written only costs a hash next time.
        let _ = self.write(&memo, hash.as_bytes());
        Ok((hash, stamp))
    }

    /// Opens the blob `digest` of `size` bytes: a regular file (not a symlink) whose bytes hash
    /// to its name, checked once per process and stamp.
    pub(super) fn open_blob(&self, digest: &str, size: u64) -> io::Result<fs::File> {
        let path = self.blob_path(digest);
        let mut file = host::open_regular_nofollow(&path)?;
        let stamp = Stamp::of(&file.metadata()?);
        let mut verified = crate::lock(&self.verified);
        if verified.get(digest) == Some(&stamp) {
            return Ok(file);
        }
        let actual = crate::digest::sha256_of(&mut file)?;
        if actual != digest || stamp.len != size || Stamp::of(&file.metadata()?) != stamp {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not the bytes it is named by", path.display()),
            ));
        }
        verified.insert(digest.to_string(), stamp);
        io::Seek::rewind(&mut file)?;
        Ok(file)
    }

    /// Stores `head` followed by the rest of `rest` under their sha256, streaming; returns it.
    fn store_stream(&self, head: &[u8], rest: &mut dyn Read) -> io::Result<String> {
        let mut tmp = self.temporary(&self.dir.join("blobs"))?;
        let mut hash = Sha256::new();
        hash.update(head);
        tmp.write_all(head)?;
        let mut buf = vec![0; 1 << 16];
        loop {
            let n = rest.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
        }
        let digest = hex(&hash.finalize());
        let path = self.blob_path(&digest);
        if host::open_regular_nofollow(&path).is_err() {
            tmp.persist(&path).map_err(|e| e.error)?;
        }
        Ok(digest)
    }
}

/// Where a scan keeps the bytes of shared objects, within the image's budget.
pub(super) struct Keeper<'a> {
    to: KeepTo<'a>,
    kept: u64,
}

enum KeepTo<'a> {
    Cache(&'a Cache),
    Scratch(&'a Scratch),
}

impl<'a> Keeper<'a> {
    /// Into the cache when it is writable, else into the image's scratch file.
    pub(super) fn new(cache: Option<&'a Cache>, scratch: &'a Scratch) -> Keeper<'a> {
        let to = match cache {
            Some(cache) if cache.writable => KeepTo::Cache(cache),
            _ => KeepTo::Scratch(scratch),
        };
        Keeper { to, kept: 0 }
    }

    /// Keeps a file of `size` bytes, `head` (its first bytes) then the rest read from `entry`, when
    /// it is an ELF object (a shared object or an executable a `file` node may ship), or a small
    /// file named like a shared object (a linker script), and fits the budget after `raw`
    /// compressed bytes of the image; its digest then. The bytes are streamed, never held whole.
    pub(super) fn keep(
        &mut self,
        path: &str,
        head: &[u8],
        entry: &mut dyn Read,
        size: u64,
        raw: u64,
    ) -> io::Result<Option<String>> {
        let budget = KEEP_BASE
            .saturating_add(raw.saturating_mul(KEEP_RATIO))
            .min(KEEP_MAX);
        if self.kept.saturating_add(size) > budget {
            return Ok(None);
        }
        let linker_script = path.contains(".so") && size <= KEEP_SMALL;
        if head != b"\x7fELF" && !linker_script {
            return Ok(None);
        }
        let mut rest = entry.take(size.saturating_sub(head.len() as u64));
        let digest = match self.to {
            KeepTo::Cache(cache) => cache.store_stream(head, &mut rest)?,
            KeepTo::Scratch(scratch) => scratch.keep(head, &mut rest)?,
        };
        self.kept += size;
        Ok(Some(digest))
    }
}
