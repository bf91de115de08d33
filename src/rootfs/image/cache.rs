//! layerc's image cache: `images/` under the cache root ([`crate::store::root`]: `--store`,
//! `$LAYERC_STORE`, `$LAYERC_CACHE`, `$XDG_CACHE_HOME/layerc` or `~/.cache/layerc`). It holds each
//! image's index (keyed by the image's content hash and the architecture), content-addressed copies
//! of shared objects from compressed layers, and a memo from a file's path and stamp to its content
//! hash so an unchanged image is not hashed again. Every file is written to a temporary name and
//! renamed, so readers never see half a file.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::rootfs::Stamp;
use crate::store::stat::trusted;

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache folder from the environment, created if needed; `None` when there is no usable one
    /// (images are then indexed on every run).
    pub fn from_env() -> Option<Cache> {
        let base = crate::store::root::root()?;
        let dir = base.join("images");
        fs::create_dir_all(dir.join("blobs")).ok()?;
        fs::create_dir_all(dir.join("index")).ok()?;
        fs::create_dir_all(dir.join("stat")).ok()?;
        Some(Cache { dir })
    }

    pub fn index_path(&self, key: &str) -> PathBuf {
        self.dir.join("index").join(format!("{key}.json"))
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs").join(digest)
    }

    /// Stores `bytes` under their sha256 and returns it.
    pub fn store_blob(&self, bytes: &[u8]) -> io::Result<String> {
        let digest = hex(&Sha256::digest(bytes));
        let path = self.blob_path(&digest);
        if !path.exists() {
            self.write(&path, bytes)?;
        }
        Ok(digest)
    }

    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .suffix(".tmp")
            .tempfile_in(path.parent().unwrap_or(&self.dir))?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The sha256 of a file's content, from the memo when the file's stamp is unchanged and the
    /// memo is trusted by the store's rule ([`crate::store::stat::trusted`]; the memo's mtime is
    /// when the hash was taken).
    pub fn file_hash(&self, path: &Path) -> io::Result<String> {
        let stamp = Stamp::of(&fs::metadata(path)?);
        let identity = format!("{}\0{stamp:?}", path.display());
        let memo = self
            .dir
            .join("stat")
            .join(hex(&Sha256::digest(identity.as_bytes())));
        if let Ok(hash) = fs::read_to_string(&memo)
            && hash.len() == 64
            && let Ok(taken) = fs::metadata(&memo).and_then(|m| m.modified())
            && trusted(&stamp, &stamp, ns_since_epoch(taken))
        {
            return Ok(hash);
        }
        let taken = SystemTime::now();
        let hash = hash_file(path)?;
        if self.write(&memo, hash.as_bytes()).is_ok()
            && let Ok(file) = fs::File::options().append(true).open(&memo)
        {
            let _ = file.set_modified(taken);
        }
        Ok(hash)
    }
}

fn ns_since_epoch(time: SystemTime) -> i128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = crate::rootfs::open_host_regular(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex(&hash.finalize()))
}

/// Lower-case hexadecimal, as digests are written in image layouts.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
