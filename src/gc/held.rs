//! Entries that are folders with a marker beside them ([`crate::store::lease`]): a pulled image's
//! layout, a folder of unpacked packages. Either part may be missing: a marker alone is a build
//! fetching what the folder will be made of (or one that failed), a folder alone was made before
//! markers were written.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::walk::{Inode, items, tree_size};
use super::{Entry, Kind, Scan, TMP_GRACE, is_key, older, remove};
use crate::store::{TMP_PREFIX, lease};

/// The entries of `dir` (folders and markers named by a 64-digit key), by key, with each folder's
/// path; old temporary folders go to `scan`'s leftovers.
pub(super) fn folders(
    dir: &Path,
    scan: &mut Scan,
    now: SystemTime,
) -> io::Result<Vec<(String, PathBuf)>> {
    let mut found = BTreeSet::new();
    for (path, name, meta) in items(dir)? {
        let key = name.strip_suffix(".used").unwrap_or(&name);
        if is_key(key) {
            found.insert(key.to_string());
        } else if name.starts_with(TMP_PREFIX)
            && older(meta.modified().unwrap_or(now), now, TMP_GRACE)
        {
            let size = tree_size(&path, &HashSet::new());
            scan.leftovers.push((path, size));
        }
    }
    Ok(found
        .into_iter()
        .map(|key| {
            let folder = dir.join(&key);
            (key, folder)
        })
        .collect())
}

/// The entry of `folder`: last used when its marker (else the folder) last changed, its own bytes
/// those of the marker and the folder's files but the inodes in `elsewhere`.
pub(super) fn entry(
    (kind, key): (Kind, String),
    folder: PathBuf,
    keeps: Vec<PathBuf>,
    elsewhere: &HashSet<Inode>,
    now: SystemTime,
) -> Entry {
    let marker = fs::symlink_metadata(lease::marker_of(&folder));
    let own = fs::symlink_metadata(&folder);
    let last_used = marker
        .as_ref()
        .or(own.as_ref())
        .ok()
        .and_then(|m| m.modified().ok())
        .unwrap_or(now);
    let size = marker.map_or(0, |m| m.len()) + tree_size(&folder, elsewhere);
    Entry {
        kind,
        key,
        path: folder,
        size,
        last_used,
        keeps,
    }
}

/// Removes an entry folder and its marker, unless a process holds the marker (`false`). The
/// folder is moved aside first, so that a build sees it whole or not at all.
pub(super) fn remove_held(folder: &Path) -> io::Result<bool> {
    let marker = lease::marker_of(folder);
    let claim = match fs::symlink_metadata(&marker) {
        Ok(_) => match lease::claim(&marker)? {
            Some(claim) => Some(claim),
            None => return Ok(false),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let name = folder.file_name().unwrap_or_default().to_string_lossy();
    let aside = folder.with_file_name(format!("{TMP_PREFIX}gc-{name}-{}", std::process::id()));
    let moved = match fs::rename(folder, &aside) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    remove(&marker)?;
    drop(claim);
    if moved {
        remove(&aside)?;
    }
    Ok(true)
}
