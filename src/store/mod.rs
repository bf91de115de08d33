//! The input-addressed store: every layer zip built, kept under the hash of everything its bytes
//! depend on ([`key`]), so that a build whose inputs did not change links the stored zip instead of
//! reading and compressing anything; and the stat index ([`stat`]) that tells, without reading
//! them, which inputs did not change.
//!
//! Layout under the root ([`crate::cache_dir::root`]): `zips/KEY.zip` (read-only), `zips/KEY.meta` (the zip's
//! size, sha256 and stamp when it was checked; its mtime is the entry's last use), `stat/` (one
//! index per rootfs) and `images/` (the image cache).
//!
//! Invariant: an entry is only ever shipped after its stamp matched the one recorded when its
//! bytes were last hashed, or after hashing it again; a damaged entry is removed, never shipped.
//! Entries and indexes are written to a temporary name and renamed, so a concurrent build sees a
//! whole entry or none.

pub mod lease;
pub mod stat;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::rootfs::Stamp;
use crate::rootfs::stamp::{mtime_ns, now_ns, trusted};
use stat::StatDigests;

/// Temporary files in the store start with this; [`gc`] leaves young ones alone.
pub(crate) const TMP_PREFIX: &str = ".layerc-";

pub struct Store {
    root: PathBuf,
}

/// A stored zip that can be shipped.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// What `KEY.meta` records.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    sha256: String,
    stamp: Stamp,
    recorded_ns: i128,
}

impl Store {
    /// Opens (creating it if needed) the store at `root`; fails when it cannot be written.
    pub fn open(root: &Path) -> io::Result<Store> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for dir in [store.zips(), store.root.join("stat")] {
            fs::create_dir_all(&dir)?;
        }
        // Writable? A temporary file says so before a build relies on it.
        tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(store.zips())?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn zips(&self) -> PathBuf {
        self.root.join("zips")
    }

    pub(crate) fn zip_path(&self, key: &str) -> PathBuf {
        self.zips().join(format!("{key}.zip"))
    }

    pub(crate) fn meta_path(&self, key: &str) -> PathBuf {
        self.zips().join(format!("{key}.meta"))
    }

    /// Input digests through this store's stat indexes.
    pub fn digests(&self) -> StatDigests {
        StatDigests::new(self.root.join("stat"))
    }

    /// Whether an entry for `key` seems to be there (unchecked: [`Store::lookup`] checks it).
    pub fn has(&self, key: &str) -> bool {
        self.meta_path(key).is_file() && self.zip_path(key).is_file()
    }

    /// The entry for `key`, checked: trusted by its stamp, else hashed again; a damaged entry is
    /// removed and gives `None`. A hit marks the entry as just used.
    pub fn lookup(&self, key: &str) -> io::Result<Option<Hit>> {
        let (zip, meta_path) = (self.zip_path(key), self.meta_path(key));
        let Some((meta, written)) = read_meta(&meta_path) else {
            return Ok(None);
        };
        let stamp = match fs::symlink_metadata(&zip) {
            Ok(m) if m.is_file() => entry_stamp(&m),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // The meta file is written after its zip: its mtime is when the record was written.
        if trusted(&stamp, &meta.stamp, written) {
            touch(&meta_path);
        } else {
            let recorded_ns = now_ns();
            let sha256 =
                crate::digest::sha256_of(crate::rootfs::host::open_regular_nofollow(&zip)?)?;
            if sha256 != meta.sha256 || stamp.len != meta.stamp.len {
                let _ = fs::remove_file(&zip);
                let _ = fs::remove_file(&meta_path);
                return Ok(None);
            }
            let meta = Meta {
                sha256,
                stamp,
                recorded_ns,
            };
            write_meta(&meta_path, &meta)?;
        }
        Ok(Some(Hit {
            path: zip,
            size: meta.stamp.len,
            sha256: meta.sha256,
        }))
    }

    /// Stores the zip just built at `built` (whose sha256 is given) under `key`: a hard link to it
    /// when the store is on the same file system, else a copy. The zip is made read-only, since
    /// the output and the entry may then be one file.
    pub fn insert(&self, key: &str, built: &Path, sha256: &str) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .suffix(".tmp")
            .make_in(self.zips(), |path| crate::emit::link_or_copy(built, path))?
            .into_temp_path();
        let _tracked = crate::emit::interrupt::track(&tmp);
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o444))?;
        let recorded_ns = now_ns();
        let stamp = entry_stamp(&fs::symlink_metadata(&tmp)?);
        tmp.persist(self.zip_path(key)).map_err(|e| e.error)?;
        let meta = Meta {
            sha256: sha256.to_string(),
            stamp,
            recorded_ns,
        };
        write_meta(&self.meta_path(key), &meta)
    }
}

/// A stored zip's stamp without its ctime: linking the entry to an output changes the ctime and
/// nothing else, and the entry is read-only, so its content changes only with its mtime.
fn entry_stamp(meta: &fs::Metadata) -> Stamp {
    Stamp {
        ctime_ns: 0,
        ..Stamp::of(meta)
    }
}

/// Marks an entry as used now (its meta file's or marker's mtime), for [`gc`]'s
/// least-recently-used order.
pub(crate) fn touch(meta: &Path) {
    if let Ok(file) = fs::OpenOptions::new().append(true).open(meta) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

const META_HEADER: &str = "layerc-store-entry 1";
/// A meta file is two short lines.
const MAX_META_BYTES: u64 = 4096;

/// One of the store's own files, read as untrusted input: a regular file (not a symlink) of at
/// most `limit` bytes, as text; `None` when it is not there or not such a file.
pub(crate) fn read_own(path: &Path, limit: u64) -> Option<String> {
    let file = crate::rootfs::host::open_regular_nofollow(path).ok()?;
    String::from_utf8(crate::rootfs::host::read_open(file, limit).ok()?).ok()
}

/// A meta file and its mtime.
fn read_meta(path: &Path) -> Option<(Meta, i128)> {
    let file = crate::rootfs::host::open_regular_nofollow(path).ok()?;
    let written = mtime_ns(&file.metadata().ok()?);
    let text =
        String::from_utf8(crate::rootfs::host::read_open(file, MAX_META_BYTES).ok()?).ok()?;
    Some((parse_meta(&text)?, written))
}

fn write_meta(path: &Path, meta: &Meta) -> io::Result<()> {
    let s = &meta.stamp;
    let text = format!(
        "{META_HEADER}\n{} {} {} {} {} {}\n",
        meta.sha256, s.len, s.mtime_ns, s.dev, s.inode, meta.recorded_ns
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(path.parent().unwrap_or(Path::new(".")))?;
    tmp.write_all(text.as_bytes())?;
    // Readable by everyone sharing the store, like the zips.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn parse_meta(text: &str) -> Option<Meta> {
    let mut lines = text.lines();
    if lines.next()? != META_HEADER {
        return None;
    }
    let mut fields = lines.next()?.split(' ');
    let sha256 = fields.next()?.to_string();
    let mut num = || fields.next()?.parse::<i128>().ok();
    let (len, mtime_ns, dev, inode, recorded_ns) = (num()?, num()?, num()?, num()?, num()?);
    let stamp = Stamp {
        len: u64::try_from(len).ok()?,
        mtime_ns,
        ctime_ns: 0,
        dev: u64::try_from(dev).ok()?,
        inode: u64::try_from(inode).ok()?,
    };
    (sha256.len() == 64).then_some(Meta {
        sha256,
        stamp,
        recorded_ns,
    })
}
