//! Where the size and sha256 of a shipped file come from: read and hashed ([`ReadAll`]), or
//! taken from a store's stat index for a file whose stamp vouches for it (`store::stat`). The
//! lock asks one of them for every file it records.

use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::resolve::OpenRootfs;
use crate::rootfs::{RootFs, RootPath};

/// Where a shipped file's size and sha256 come from.
pub trait Digests {
    fn digest(&mut self, rootfs: &OpenRootfs, path: &RootPath) -> std::io::Result<(u64, String)>;
}

/// Every file read and hashed.
pub struct ReadAll;

impl Digests for ReadAll {
    fn digest(&mut self, rootfs: &OpenRootfs, path: &RootPath) -> std::io::Result<(u64, String)> {
        sha256_in(rootfs.fs.as_ref(), path)
    }
}

/// The size and sha256 of a rootfs file, read in fixed chunks: a memory map would count every
/// page of a large library in the build's resident memory.
pub fn sha256_in(fs: &dyn RootFs, path: &RootPath) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0;
    loop {
        let n = fs.read_at(path, size, &mut buf)?;
        if n == 0 {
            return Ok((size, hex(&hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}
