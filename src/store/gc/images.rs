//! The image cache (`images/` under the cache root) as `gc` sees it: each cached index is an entry,
//! last used when its mtime says (a hit touches it), whose size is the index and the kept blobs
//! that no more recently used index also keeps. Blobs no kept index refers to go with their
//! entries, or as leftovers once older than [`TMP_GRACE`] (a build may be keeping blobs for an
//! index it has not written yet); memos of image hashes go after [`MEMO_AGE`].

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Entry, Kind, Leftover, TMP_GRACE};
use crate::store::TMP_PREFIX;

/// A memo of an image file's hash is dropped after this long (the image is then hashed again).
const MEMO_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

pub struct Cache {
    dir: PathBuf,
    indexes: Vec<Entry>,
    /// Each blob's size and last change.
    blobs: HashMap<String, (u64, SystemTime)>,
    /// Old temporary files and memos.
    leftovers: Vec<Leftover>,
}

impl Cache {
    /// Lists the cache under `dir` (an empty cache when there is none).
    pub fn scan(dir: &Path, now: SystemTime) -> io::Result<Cache> {
        let mut cache = Cache {
            dir: dir.to_path_buf(),
            indexes: Vec::new(),
            blobs: HashMap::new(),
            leftovers: Vec::new(),
        };
        let old = |meta: &fs::Metadata, age: Duration| {
            let changed = meta.modified().unwrap_or(now);
            now.duration_since(changed).unwrap_or_default() > age
        };
        for (path, name, meta) in files(&dir.join("index"))? {
            if let Some(key) = name.strip_suffix(".json") {
                cache.indexes.push(Entry {
                    kind: Kind::Image,
                    key: key.to_string(),
                    size: meta.len(),
                    last_used: meta.modified().unwrap_or(now),
                    blobs: crate::rootfs::image::kept_blobs(&path).unwrap_or_default(),
                });
            } else if name.starts_with(TMP_PREFIX) && old(&meta, TMP_GRACE) {
                cache.leftovers.push((path, meta.len()));
            }
        }
        for (path, name, meta) in files(&dir.join("blobs"))? {
            if crate::rootfs::image::is_digest(name.as_bytes()) {
                let changed = meta.modified().unwrap_or(now);
                cache.blobs.insert(name, (meta.len(), changed));
            } else if name.starts_with(TMP_PREFIX) && old(&meta, TMP_GRACE) {
                cache.leftovers.push((path, meta.len()));
            }
        }
        for (path, _, meta) in files(&dir.join("stat"))? {
            if old(&meta, MEMO_AGE) {
                cache.leftovers.push((path, meta.len()));
            }
        }
        Ok(cache)
    }

    /// The cached indexes, as entries.
    pub fn entries(&self) -> Vec<Entry> {
        self.indexes.clone()
    }

    pub fn index_path(&self, key: &str) -> PathBuf {
        self.dir.join("index").join(format!("{key}.json"))
    }

    /// Adds to each image entry (in `entries`, most recently used first) the sizes of the blobs it
    /// keeps that no entry before it keeps.
    pub fn count_blobs(&self, entries: &mut [Entry]) {
        let mut counted = HashSet::new();
        for entry in entries.iter_mut().filter(|e| e.kind == Kind::Image) {
            for blob in &entry.blobs {
                if counted.insert(blob.clone())
                    && let Some((size, _)) = self.blobs.get(blob)
                {
                    entry.size += size;
                }
            }
        }
    }

    /// What to remove once `kept` entries stay: the blobs of `removed` entries none of the kept
    /// ones keeps (counted in their entries' sizes), then as leftovers, old blobs no entry keeps,
    /// old temporary files and memos.
    pub fn unused(
        &self,
        kept: &[Entry],
        removed: &[Entry],
        now: SystemTime,
    ) -> (Vec<PathBuf>, Vec<Leftover>) {
        let keep: HashSet<&String> = kept.iter().flat_map(|e| &e.blobs).collect();
        let theirs: HashSet<&String> = removed.iter().flat_map(|e| &e.blobs).collect();
        let (mut blobs, mut leftovers) = (Vec::new(), self.leftovers.clone());
        for (digest, (size, changed)) in &self.blobs {
            let path = self.dir.join("blobs").join(digest);
            if keep.contains(digest) {
                continue;
            } else if theirs.contains(digest) {
                blobs.push(path);
            } else if now.duration_since(*changed).unwrap_or_default() > TMP_GRACE {
                leftovers.push((path, *size));
            }
        }
        blobs.sort();
        leftovers.sort();
        (blobs, leftovers)
    }
}

/// The files of a folder with their names and metadata (not following symlinks); none when the
/// folder does not exist.
fn files(dir: &Path) -> io::Result<Vec<(PathBuf, String, fs::Metadata)>> {
    let items = match fs::read_dir(dir) {
        Ok(items) => items,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for item in items {
        let item = item?;
        let Ok(meta) = item.metadata() else { continue };
        if meta.is_dir() {
            continue;
        }
        let name = item.file_name().to_string_lossy().into_owned();
        out.push((item.path(), name, meta));
    }
    Ok(out)
}
