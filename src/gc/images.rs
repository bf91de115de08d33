//! The image cache (`images/` under the cache root) as `gc` sees it: each cached index is an entry,
//! last used when its mtime says (a hit touches it), that keeps the shared objects it refers to
//! (`images/blobs/`, shared files). Memos of image hashes go after [`MEMO_AGE`]. Pulled images
//! (`images/registry/`) are `registry`'s.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::walk::files;
use super::{Entry, Kind, Scan, TMP_GRACE, older};
use crate::store::TMP_PREFIX;

/// A memo of an image file's hash is dropped after this long (the image is then hashed again).
const MEMO_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Lists the cache under `dir` (nothing when there is none).
pub(super) fn scan(dir: &Path, now: SystemTime) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let blobs = dir.join("blobs");
    for (path, name, meta) in files(&dir.join("index"))? {
        let changed = meta.modified().unwrap_or(now);
        if let Some(key) = name.strip_suffix(".json") {
            let kept = crate::rootfs::image::kept_blobs(&path).unwrap_or_default();
            scan.entries.push(Entry {
                kind: Kind::Image,
                key: key.to_string(),
                keeps: kept.iter().map(|name| blobs.join(name)).collect(),
                path,
                size: meta.len(),
                last_used: changed,
            });
        } else if name.starts_with(TMP_PREFIX) && older(changed, now, TMP_GRACE) {
            scan.leftovers.push((path, meta.len()));
        }
    }
    for (path, name, meta) in files(&blobs)? {
        let changed = meta.modified().unwrap_or(now);
        if crate::digest::is_sha256_hex(name.as_bytes()) {
            scan.shared.insert(path, (meta.len(), changed));
        } else if name.starts_with(TMP_PREFIX) && older(changed, now, TMP_GRACE) {
            scan.leftovers.push((path, meta.len()));
        }
    }
    for (path, _, meta) in files(&dir.join("stat"))? {
        if older(meta.modified().unwrap_or(now), now, MEMO_AGE) {
            scan.leftovers.push((path, meta.len()));
        }
    }
    Ok(scan)
}
