//! `layerc gc`: trims the store and the image cache, least recently used entries first. An entry
//! is a stored zip with its meta file, or an image's cached index with the blobs only it keeps
//! (`gc_images`).
//!
//! Safe beside a running build: a temporary file younger than [`TMP_GRACE`] may be an entry being
//! written and is never removed; an entry is removed zip first, then its meta file, so a build
//! sees a whole entry or a miss; a build that found an entry and then cannot link it (gc removed
//! it meanwhile) builds the zip itself; an output already linked to an entry keeps its bytes (a
//! hard link is a file of its own). A zip without its meta file is left alone for [`TMP_GRACE`]
//! too, since a build writes the meta file just after the zip.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{Store, TMP_PREFIX};

mod images;

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

/// One stored zip with its meta file, or one cached image index with the blobs it keeps.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub key: String,
    /// Bytes of the zip and its meta file; of the index and the blobs no more recently used
    /// index keeps.
    pub size: u64,
    pub last_used: SystemTime,
    /// The blobs an image index keeps (none for a zip).
    pub blobs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Image,
}

/// A file to remove that is not a whole entry, with its size.
pub type Leftover = (PathBuf, u64);

#[derive(Debug, Default)]
pub struct Report {
    /// Entries removed, least recently used first.
    pub removed: Vec<Entry>,
    /// Leftover files removed (old temporary files, halves of entries), with their sizes.
    pub leftovers: Vec<Leftover>,
    pub kept: Vec<Entry>,
}

impl Report {
    /// Bytes of every file removed.
    pub fn freed(&self) -> u64 {
        let entries: u64 = self.removed.iter().map(|e| e.size).sum();
        entries + self.leftovers.iter().map(|(_, size)| size).sum::<u64>()
    }
}

/// Removes what `limits` does not keep, and old leftovers.
pub fn run(store: &Store, limits: Limits) -> io::Result<Report> {
    let now = SystemTime::now();
    let (mut entries, leftovers) = scan(store, now)?;
    let cache = images::Cache::scan(&store.root.join("images"), now)?;
    entries.extend(cache.entries());
    // Most recently used first; the key breaks ties so that the choice is stable.
    entries.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.key.cmp(&b.key)));
    cache.count_blobs(&mut entries);
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
        if over_count || over_size {
            match entry.kind {
                Kind::Zip => {
                    remove(&store.zip_path(&entry.key))?;
                    remove(&store.meta_path(&entry.key))?;
                }
                Kind::Image => {
                    remove(&cache.index_path(&entry.key))?;
                }
            }
            report.removed.push(entry);
        } else {
            report.kept.push(entry);
        }
    }
    report.removed.reverse();
    let (blobs, unused) = cache.unused(&report.kept, &report.removed, now);
    for blob in blobs {
        remove(&blob)?;
    }
    for (path, size) in unused {
        if remove(&path)? {
            report.leftovers.push((path, size));
        }
    }
    Ok(report)
}

/// The store's entries, and the leftovers old enough to remove.
fn scan(store: &Store, now: SystemTime) -> io::Result<(Vec<Entry>, Vec<Leftover>)> {
    let mut entries = Vec::new();
    let mut leftovers = Vec::new();
    let old = |meta: &fs::Metadata| {
        let changed = meta.modified().unwrap_or(now);
        now.duration_since(changed).unwrap_or_default() > TMP_GRACE
    };
    for item in fs::read_dir(store.zips())? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let Ok(meta) = item.metadata() else { continue };
        if let Some(key) = name.strip_suffix(".zip").filter(|k| is_key(k)) {
            match fs::metadata(store.meta_path(key)) {
                Ok(info) => entries.push(Entry {
                    kind: Kind::Zip,
                    key: key.to_string(),
                    size: meta.len() + info.len(),
                    last_used: info.modified().unwrap_or(now),
                    blobs: Vec::new(),
                }),
                Err(_) if old(&meta) => leftovers.push((item.path(), meta.len())),
                Err(_) => {}
            }
        } else if let Some(key) = name.strip_suffix(".meta").filter(|k| is_key(k)) {
            if !store.zip_path(key).exists() && old(&meta) {
                leftovers.push((item.path(), meta.len()));
            }
        } else if name.starts_with(TMP_PREFIX) && old(&meta) {
            leftovers.push((item.path(), meta.len()));
        }
    }
    Ok((entries, leftovers))
}

fn is_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes a file; `false` when it was already gone (another gc).
pub(super) fn remove(path: &std::path::Path) -> io::Result<bool> {
    match fs::remove_file(path) {
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
