//! `layerc gc`: trims everything the store holds, least recently used entries first. An entry is
//! a stored zip with its meta file, an image's cached index (`gc_images`), a pulled image's layout
//! (`registry`), a folder of unpacked packages or a repository's signed index (`packages`); each
//! with the shared files it keeps (the image cache's shared objects, registry blobs and tags,
//! package files), and each shared file is counted once, in the most recently used entry keeping
//! it. A shared file goes when the last entry keeping it goes, or, kept by none, once older than
//! [`TMP_GRACE`].
//!
//! Safe beside a running build: a temporary file younger than [`TMP_GRACE`] may be an entry being
//! written and is never removed; an entry is removed zip first, then its meta file, so a build
//! sees a whole entry or a miss; a build that found an entry and then cannot link it (gc removed
//! it meanwhile) builds the zip itself; an output already linked to an entry keeps its bytes (a
//! hard link is a file of its own). A zip without its meta file is left alone for [`TMP_GRACE`]
//! too, since a build writes the meta file just after the zip. A layout or unpacked folder that a
//! process holds ([`crate::store::lease`]) is in use and stays, with what it keeps; one that is free is
//! moved aside before it is deleted, so a build sees it whole or not at all.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::store::{Store, TMP_PREFIX};

mod held;
mod images;
mod packages;
mod registry;
mod walk;

/// How old a temporary file (or a zip without its meta file) must be before gc removes it.
pub const TMP_GRACE: Duration = Duration::from_secs(3600);

/// What to keep; with neither limit, only leftovers (old temporary files, halves of entries) go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Keep at most this many entries, the most recently used.
    pub keep: Option<usize>,
    /// Keep the most recently used entries whose sizes add up to at most this many bytes.
    pub max_size: Option<u64>,
}

/// One entry: a stored zip, a cached image index, a pulled image, an unpacked package folder or a
/// signed package index, with the shared files it keeps.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    /// What names the entry: a store key, a manifest digest, a repository URL.
    pub key: String,
    /// The entry's own file or folder.
    pub path: PathBuf,
    /// Bytes of the entry's own files, and of the shared files it keeps that no more recently
    /// used entry keeps.
    pub size: u64,
    pub last_used: SystemTime,
    /// The shared files the entry keeps.
    pub keeps: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    /// An image's index in the image cache (`images/index/`).
    Image,
    /// A pulled image: its layout (`images/registry/layouts/`).
    Pulled,
    /// An unpacked package folder (`packages/rootfs/`).
    Packages,
    /// The signed index a package repository served last (`packages/signed/`).
    PackageIndex,
}

/// A file (or temporary folder) to remove that is not a whole entry, with its size.
pub type Leftover = (PathBuf, u64);

/// Shared files: each one's size and last change.
pub type Shared = HashMap<PathBuf, (u64, SystemTime)>;

/// What one part of the store holds, as gc sees it.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// Leftovers already old enough to remove.
    pub leftovers: Vec<Leftover>,
    pub shared: Shared,
}

impl Scan {
    fn merge(&mut self, other: Scan) {
        self.entries.extend(other.entries);
        self.leftovers.extend(other.leftovers);
        self.shared.extend(other.shared);
    }
}

#[derive(Debug, Default)]
pub struct Report {
    /// Entries removed, least recently used first.
    pub removed: Vec<Entry>,
    /// Leftover files removed (old temporary files, halves of entries, shared files no entry
    /// keeps), with their sizes.
    pub leftovers: Vec<Leftover>,
    /// Entries kept, those in use included.
    pub kept: Vec<Entry>,
    /// Entries the limits would have removed that a running process holds: kept.
    pub busy: Vec<Entry>,
}

impl Report {
    /// Bytes of every file removed.
    pub fn freed(&self) -> u64 {
        let entries: u64 = self.removed.iter().map(|e| e.size).sum();
        entries + self.leftovers.iter().map(|(_, size)| size).sum::<u64>()
    }
}

/// Whether a file last changed at `changed` is older than `age`.
fn older(changed: SystemTime, now: SystemTime, age: Duration) -> bool {
    now.duration_since(changed).unwrap_or_default() > age
}

/// Removes what `limits` does not keep, and old leftovers.
pub fn run(store: &Store, limits: Limits) -> io::Result<Report> {
    let now = SystemTime::now();
    let root = store.root();
    let mut scan = scan_zips(store, now)?;
    scan.merge(images::scan(&root.join("images"), now)?);
    let images = crate::registry::ImageStore::at(root.join("images/registry"));
    scan.merge(registry::scan(&images, now)?);
    let package_store = crate::packages::store::PackageStore::at(root.join("packages"));
    scan.merge(packages::scan(&package_store, now)?);
    let Scan {
        mut entries,
        leftovers,
        shared,
    } = scan;
    // Most recently used first; the key breaks ties so that the choice is stable.
    entries.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.key.cmp(&b.key)));
    count_shared(&mut entries, &shared);
    let mut report = Report::default();
    for (path, size) in leftovers {
        if remove(&path)? {
            report.leftovers.push((path, size));
        }
    }
    let mut total = 0u64;
    for (i, entry) in entries.into_iter().enumerate() {
        total = total.saturating_add(entry.size);
        let over_count = limits.keep.is_some_and(|keep| i >= keep);
        let over_size = limits.max_size.is_some_and(|max| total > max);
        if !(over_count || over_size) {
            report.kept.push(entry);
        } else if remove_entry(&entry)? {
            report.removed.push(entry);
        } else {
            report.busy.push(entry.clone());
            report.kept.push(entry);
        }
    }
    report.removed.reverse();
    // Entries that appeared since the scan (a build that started meanwhile) keep theirs too.
    let mut kept_now = registry::kept_now(&images);
    kept_now.extend(packages::kept_now(&package_store));
    let (theirs, unkept) = unused(&shared, &report, kept_now, now);
    for path in theirs {
        remove(&path)?;
    }
    for (path, size) in unkept {
        if remove(&path)? {
            report.leftovers.push((path, size));
        }
    }
    Ok(report)
}

/// Adds to each entry (most recently used first) the sizes of the shared files it keeps that no
/// entry before it keeps.
fn count_shared(entries: &mut [Entry], shared: &Shared) {
    let mut counted = HashSet::new();
    for entry in entries.iter_mut() {
        for path in &entry.keeps {
            if let Some((size, _)) = shared.get(path)
                && counted.insert(path.clone())
            {
                entry.size += size;
            }
        }
    }
}

/// The shared files to remove once the report's entries are decided: those only removed entries
/// kept (counted in their sizes), then, as leftovers, old ones no entry keeps.
fn unused(
    shared: &Shared,
    report: &Report,
    kept_now: HashSet<PathBuf>,
    now: SystemTime,
) -> (Vec<PathBuf>, Vec<Leftover>) {
    let mut keep: HashSet<&PathBuf> = report.kept.iter().flat_map(|e| &e.keeps).collect();
    keep.extend(&kept_now);
    let theirs: HashSet<&PathBuf> = report.removed.iter().flat_map(|e| &e.keeps).collect();
    let (mut gone, mut leftovers) = (Vec::new(), Vec::new());
    for (path, (size, changed)) in shared {
        if keep.contains(path) {
            continue;
        } else if theirs.contains(path) {
            gone.push(path.clone());
        } else if older(*changed, now, TMP_GRACE) {
            leftovers.push((path.clone(), *size));
        }
    }
    gone.sort();
    leftovers.sort();
    (gone, leftovers)
}

/// Removes one entry; `false` when a running process holds it.
fn remove_entry(entry: &Entry) -> io::Result<bool> {
    match entry.kind {
        Kind::Zip => {
            remove(&entry.path)?;
            remove(&entry.path.with_extension("meta"))?;
        }
        Kind::Image | Kind::PackageIndex => {
            remove(&entry.path)?;
        }
        Kind::Pulled | Kind::Packages => return held::remove_held(&entry.path),
    }
    Ok(true)
}

/// The store's zips as entries, and the leftovers old enough to remove.
fn scan_zips(store: &Store, now: SystemTime) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let old = |meta: &fs::Metadata| older(meta.modified().unwrap_or(now), now, TMP_GRACE);
    for item in fs::read_dir(store.zips())? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let Ok(meta) = item.metadata() else { continue };
        if let Some(key) = name.strip_suffix(".zip").filter(|k| is_key(k)) {
            match fs::metadata(store.meta_path(key)) {
                Ok(info) => scan.entries.push(Entry {
                    kind: Kind::Zip,
                    key: key.to_string(),
                    path: item.path(),
                    size: meta.len() + info.len(),
                    last_used: info.modified().unwrap_or(now),
                    keeps: Vec::new(),
                }),
                Err(_) if old(&meta) => scan.leftovers.push((item.path(), meta.len())),
                Err(_) => {}
            }
        } else if let Some(key) = name.strip_suffix(".meta").filter(|k| is_key(k)) {
            if !store.zip_path(key).exists() && old(&meta) {
                scan.leftovers.push((item.path(), meta.len()));
            }
        } else if name.starts_with(TMP_PREFIX) && old(&meta) {
            scan.leftovers.push((item.path(), meta.len()));
        }
    }
    Ok(scan)
}

/// Whether `name` is 64 hexadecimal digits (a store key, a sha256).
pub(crate) fn is_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes a file, or a folder with everything in it; `false` when it was already gone (another
/// gc).
pub(super) fn remove(path: &Path) -> io::Result<bool> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A size such as `500M`, `2G`, `1.5G`, `100K` or `123` (bytes); units are powers of 1024, with
/// an optional `B`/`iB` (`2GiB`, `2GB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let scale: u64 = match unit {
        ' ' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        'T' => 1 << 40,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use K, M, G or T)"
            ));
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{text}` is not a size such as 500M or 2G"))?;
    let bytes = value * scale as f64;
    if bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("").is_err());
    }
}
