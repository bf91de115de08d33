//! The package store (`packages/` under the cache root) as `gc` sees it: each unpacked folder
//! (`rootfs/KEY/`, or only its marker while its files are fetched) is an entry, last used when its
//! marker's mtime says, that keeps the package files it was made of; each repository's signed
//! index record (`signed/`) is an entry, last used when it was last read or written, that keeps
//! the signed index and the files it names by sha256 (`Packages`, `primary.xml`). Files by sha256
//! are shared files, each counted once.

use std::collections::{BTreeSet, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::held;
use super::walk::files;
use super::{Entry, Kind, Scan, TMP_GRACE, is_key, older};
use crate::packages::store::PackageStore;
use crate::store::lease;

/// A signed index (`InRelease`, `repomd.xml`) is read to find the files it names; Debian's largest
/// are a few hundred kilobytes.
const MAX_SIGNED_INDEX: u64 = 64 << 20;
/// A record in `signed/` is two short lines.
const MAX_RECORD: u64 = 64 << 10;

/// Lists the package store under `store` (nothing when there is none).
pub(super) fn scan(store: &PackageStore, now: SystemTime) -> io::Result<Scan> {
    let mut scan = Scan::default();
    for (path, name, meta) in files(&store.files_dir())? {
        let changed = meta.modified().unwrap_or(now);
        if is_key(&name) {
            scan.shared.insert(path, (meta.len(), changed));
        } else if name.starts_with('.') && older(changed, now, TMP_GRACE) {
            // A temporary file, or a partial download left by an interrupted fetch.
            scan.leftovers.push((path, meta.len()));
        }
    }
    signed_indexes(store, &mut scan, now)?;
    unpacked(store, &mut scan, now)?;
    Ok(scan)
}

/// Each record of `signed/` as an entry keeping the signed index and the files it names.
fn signed_indexes(store: &PackageStore, scan: &mut Scan, now: SystemTime) -> io::Result<()> {
    let dir = store.files_dir();
    for (path, name, meta) in files(&store.signed_dir())? {
        let changed = meta.modified().unwrap_or(now);
        if name.starts_with('.') {
            if older(changed, now, TMP_GRACE) {
                scan.leftovers.push((path, meta.len()));
            }
            continue;
        }
        let record = crate::store::read_own(&path, MAX_RECORD).unwrap_or_default();
        let mut lines = record.lines();
        let source = lines.next().unwrap_or_default().to_string();
        let signed = lines
            .next()
            .and_then(|line| line.split_whitespace().next())
            .map(|digest| digest.trim_start_matches("sha256:"))
            .filter(|hex| is_key(hex));
        let mut keeps = Vec::new();
        if let Some(hex) = signed {
            let index = dir.join(hex);
            let text = crate::store::read_own(&index, MAX_SIGNED_INDEX).unwrap_or_default();
            keeps.push(index);
            keeps.extend(named_by_hash(&text).into_iter().map(|hex| dir.join(hex)));
        }
        scan.entries.push(Entry {
            kind: Kind::PackageIndex,
            key: if source.is_empty() { name } else { source },
            path,
            size: meta.len(),
            last_used: changed,
            keeps,
        });
    }
    Ok(())
}

/// Every sha256 a signed index's text names (the files it lists by hash), lower-cased.
fn named_by_hash(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|word| is_key(word))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Each unpacked folder (or lone marker) as an entry keeping its package files.
fn unpacked(store: &PackageStore, scan: &mut Scan, now: SystemTime) -> io::Result<()> {
    for (key, folder) in held::folders(&store.rootfs_dir(), scan, now)? {
        let keeps = package_files(store, &lease::marker_of(&folder));
        let entry = held::entry((Kind::Packages, key), folder, keeps, &HashSet::new(), now);
        scan.entries.push(entry);
    }
    Ok(())
}

/// The package files a marker lists, as paths in the store.
fn package_files(store: &PackageStore, marker: &Path) -> Vec<PathBuf> {
    let dir = store.files_dir();
    lease::keeps(marker)
        .iter()
        .filter(|hex| is_key(hex))
        .map(|hex| dir.join(hex.to_ascii_lowercase()))
        .collect()
}

/// The package files every marker lists now: those of builds that started after the scan.
pub(super) fn kept_now(store: &PackageStore) -> HashSet<PathBuf> {
    files(&store.rootfs_dir())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, name, _)| name.ends_with(".used"))
        .flat_map(|(marker, _, _)| package_files(store, &marker))
        .collect()
}
