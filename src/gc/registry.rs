//! Pulled images (`images/registry/` under the cache root) as `gc` sees them: each layout
//! (`layouts/HEX/`, or only its marker while a pull is fetching) is an entry, last used when its
//! marker's mtime says, that keeps the blobs it is made of (its marker's list and the hard links
//! in the folder), the indexes in the store that name its manifest (a pull by the index's digest
//! reads them again), and the remembered tags that name either. Blobs and tags are shared files,
//! each counted once.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use super::held;
use super::walk::{files, inode};
use super::{Kind, Scan, TMP_GRACE, is_key, older};
use crate::registry::ImageStore;
use crate::store::lease;

/// Manifests and indexes are small; a blob larger than this is a layer and never read.
const MAX_DOCUMENT: u64 = 4 << 20;

/// Lists the pulled images under `store` (nothing when there are none).
pub(super) fn scan(store: &ImageStore, now: SystemTime) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let blobs = store.blobs_dir();
    let mut blob_inodes = HashSet::new();
    // Manifest digest (hex) → the store's indexes naming it.
    let mut indexes: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for (path, name, meta) in files(&blobs)? {
        let changed = meta.modified().unwrap_or(now);
        if is_key(&name) {
            blob_inodes.insert(inode(&meta));
            for manifest in listed_manifests(&path, meta.len()) {
                indexes.entry(manifest).or_default().push(path.clone());
            }
            scan.shared.insert(path, (meta.len(), changed));
        } else if name.starts_with('.') && older(changed, now, TMP_GRACE) {
            // A temporary file, or a partial download left by an interrupted pull.
            scan.leftovers.push((path, meta.len()));
        }
    }
    let tags = remembered_tags(store, &mut scan, now)?;
    for (hex, folder) in held::folders(&store.layouts_dir(), &mut scan, now)? {
        let mut keeps: Vec<PathBuf> = lease::keeps(&lease::marker_of(&folder))
            .iter()
            .filter_map(|digest| digest.strip_prefix("sha256:"))
            .filter(|hex| is_key(hex))
            .map(|hex| blobs.join(hex))
            .collect();
        for (_, name, _) in files(&folder.join("blobs/sha256"))? {
            keeps.push(blobs.join(name));
        }
        keeps.push(blobs.join(&hex));
        keeps.extend(indexes.get(&hex).into_iter().flatten().cloned());
        let named: Vec<PathBuf> = keeps
            .iter()
            .filter_map(|blob| tags.get(blob.file_name()?.to_str()?))
            .flatten()
            .cloned()
            .collect();
        keeps.extend(named);
        keeps.sort();
        keeps.dedup();
        let key = (Kind::Pulled, format!("sha256:{hex}"));
        let entry = held::entry(key, folder, keeps, &blob_inodes, now);
        scan.entries.push(entry);
    }
    Ok(scan)
}

/// The remembered tags, as shared files: the digest's hex → the tag files naming it.
fn remembered_tags(
    store: &ImageStore,
    scan: &mut Scan,
    now: SystemTime,
) -> io::Result<HashMap<String, Vec<PathBuf>>> {
    let mut tags: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for (path, name, meta) in files(&store.tags_dir())? {
        let changed = meta.modified().unwrap_or(now);
        if name.starts_with('.') {
            if older(changed, now, TMP_GRACE) {
                scan.leftovers.push((path, meta.len()));
            }
            continue;
        }
        let named = crate::store::read_own(&path, 64 << 10).and_then(|text| {
            text.lines()
                .nth(1)?
                .strip_prefix("sha256:")
                .map(str::to_string)
        });
        if let Some(hex) = named {
            tags.entry(hex).or_default().push(path.clone());
        }
        scan.shared.insert(path, (meta.len(), changed));
    }
    Ok(tags)
}

/// The manifests a stored blob names when it is an index (read only when it is small and looks
/// like JSON).
fn listed_manifests(path: &std::path::Path, len: u64) -> Vec<String> {
    if len > MAX_DOCUMENT {
        return Vec::new();
    }
    let Some(text) = crate::store::read_own(path, MAX_DOCUMENT).filter(|t| t.starts_with('{'))
    else {
        return Vec::new();
    };
    crate::registry::listed_manifests(text.as_bytes())
        .iter()
        .filter_map(|d| d.strip_prefix("sha256:").map(str::to_string))
        .collect()
}

/// The blobs every layout marker lists now: those of pulls that started after the scan.
pub(super) fn kept_now(store: &ImageStore) -> HashSet<PathBuf> {
    let blobs = store.blobs_dir();
    files(&store.layouts_dir())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, name, _)| name.ends_with(".used"))
        .flat_map(|(marker, _, _)| lease::keeps(&marker))
        .filter_map(|digest| Some(blobs.join(digest.strip_prefix("sha256:")?)))
        .collect()
}
