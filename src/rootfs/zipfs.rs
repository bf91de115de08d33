//! A rootfs read from a zip archive without extracting it: a Lambda deployment package or a Python
//! wheel, scanned as an application.
//!
//! Opening reads the central directory only: every entry name is normalised inside the archive
//! (empty, `.` and `..` components refused, so no entry lands outside it), symlink entries keep
//! their target (resolved later with the same chroot rules as every rootfs), and the number of
//! entries is capped. A file's bytes are inflated on demand and never past the caller's limit nor
//! [`MAX_ENTRY_BYTES`], whatever the archive declares: a zip bomb costs at most that much.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

use super::{Kind, Metadata, RootFs, RootPath};

/// Lambda's limit for a function and its layers unzipped: no file of a deployment package is larger.
pub const MAX_ENTRY_BYTES: u64 = 262_144_000;

/// Entries read from one archive; real packages have tens of thousands at most.
pub const MAX_ENTRIES: usize = 500_000;

/// The longest symlink target read from an entry (`PATH_MAX`).
const MAX_LINK_BYTES: u64 = 4096;

#[derive(Debug, Clone)]
enum Entry {
    Dir,
    File { index: usize, len: u64, mode: u32 },
    Symlink { target: String },
}

pub struct ZipRootFs {
    archive: Mutex<zip::ZipArchive<Source>>,
    entries: BTreeMap<RootPath, Entry>,
    /// Entries left out because their name could not be placed inside the archive.
    pub refused: Vec<String>,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Where an archive's bytes are: a host file, or bytes read from another rootfs (a jar inside an
/// application).
enum Source {
    File(std::fs::File),
    Memory(io::Cursor<Vec<u8>>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Memory(m) => m.read(buf),
        }
    }
}

impl io::Seek for Source {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Memory(m) => m.seek(pos),
        }
    }
}

impl ZipRootFs {
    /// Reads the archive's directory. A file that is not a zip archive is `InvalidData`.
    pub fn open(path: &Path) -> io::Result<ZipRootFs> {
        let file = super::host::open_regular(path)?;
        Self::read_directory(Source::File(file), &path.display().to_string())
    }

    /// An archive whose bytes were read from elsewhere (a jar of an application), named `name`
    /// in errors.
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> io::Result<ZipRootFs> {
        Self::read_directory(Source::Memory(io::Cursor::new(bytes)), name)
    }

    fn read_directory(source: Source, name: &str) -> io::Result<ZipRootFs> {
        let mut archive = zip::ZipArchive::new(source)
            .map_err(|e| invalid(format!("{name}: not a readable zip archive ({e})")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(invalid(format!(
                "{name}: {} entries, more than the {MAX_ENTRIES} read from an archive",
                archive.len()
            )));
        }
        let mut entries = Tree::default();
        for index in 0..archive.len() {
            let entry = archive.by_index_raw(index).map_err(invalid)?;
            let raw = entry.name().map_err(invalid)?.to_string();
            let Some(name) = place(&raw) else {
                entries.refused.push(raw);
                continue;
            };
            let kind = if entry.is_symlink() {
                // Stored links are small and usually not compressed; inflate a bounded prefix.
                drop(entry);
                let mut target = String::new();
                archive
                    .by_index(index)
                    .map_err(invalid)?
                    .take(MAX_LINK_BYTES)
                    .read_to_string(&mut target)
                    .map_err(invalid)?;
                Entry::Symlink { target }
            } else if entry.is_dir() {
                Entry::Dir
            } else {
                Entry::File {
                    index,
                    len: entry.size(),
                    mode: entry.unix_mode().unwrap_or(0o644) & 0o7777,
                }
            };
            entries.insert(name, kind, raw);
        }
        Ok(ZipRootFs {
            archive: Mutex::new(archive),
            entries: entries.entries,
            refused: entries.refused,
        })
    }
}

/// The entries read so far, and the names refused.
struct Tree {
    entries: BTreeMap<RootPath, Entry>,
    refused: Vec<String>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            entries: BTreeMap::from([(RootPath::root(), Entry::Dir)]),
            refused: Vec::new(),
        }
    }
}

impl Tree {
    /// Adds an entry and its parent folders; a name already taken, or below a file, is refused.
    fn insert(&mut self, path: RootPath, entry: Entry, raw: String) {
        let mut parent = path.parent();
        let mut parents = Vec::new();
        while parent != RootPath::root() {
            parents.push(parent.clone());
            parent = parent.parent();
        }
        for p in parents.into_iter().rev() {
            match self.entries.get(&p) {
                None => {
                    self.entries.insert(p, Entry::Dir);
                }
                Some(Entry::Dir) => {}
                Some(_) => {
                    self.refused.push(raw);
                    return;
                }
            }
        }
        match (self.entries.get(&path), &entry) {
            (None, _) => {
                self.entries.insert(path, entry);
            }
            (Some(Entry::Dir), Entry::Dir) => {}
            _ => self.refused.push(raw),
        }
    }
}

impl ZipRootFs {
    fn file(&self, path: &RootPath) -> io::Result<(usize, u64)> {
        match self.entries.get(path) {
            Some(Entry::File { index, len, .. }) => Ok((*index, *len)),
            Some(Entry::Dir) => Err(not_a_file(path, "a folder")),
            Some(Entry::Symlink { .. }) => Err(not_a_file(path, "a symlink")),
            None => Err(io::Error::new(io::ErrorKind::NotFound, path.to_string())),
        }
    }

    /// Inflates at most `limit` bytes of the entry at `path`; more than that is `too_large`
    /// unless `truncate`, which keeps the first `limit` bytes.
    fn inflate(&self, path: &RootPath, limit: u64, truncate: bool) -> io::Result<Vec<u8>> {
        let (index, len) = self.file(path)?;
        let limit = limit.min(MAX_ENTRY_BYTES);
        if len > limit && !truncate {
            return Err(super::too_large(len, limit));
        }
        let mut archive = crate::lock(&self.archive);
        let entry = archive.by_index(index).map_err(invalid)?;
        let mut bytes = Vec::with_capacity(len.min(limit) as usize);
        let cap = if truncate { limit } else { limit + 1 };
        entry.take(cap).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(super::too_large(bytes.len() as u64, limit));
        }
        Ok(bytes)
    }
}

fn not_a_file(path: &RootPath, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{path} is {what}, not a regular file"),
    )
}

/// An entry name as a path inside the archive, or `None` when it has a `..`, a NUL or nothing.
fn place(raw: &str) -> Option<RootPath> {
    let parts: Vec<&str> = raw.split('/').filter(|p| !matches!(*p, "" | ".")).collect();
    if parts.is_empty() || parts.iter().any(|p| *p == ".." || p.contains('\0')) {
        return None;
    }
    Some(RootPath::new(&parts.join("/")))
}

impl RootFs for ZipRootFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        Ok(self.entries.get(path).map(|e| match e {
            Entry::Dir => Metadata {
                kind: Kind::Dir,
                len: 0,
                mode: 0o755,
            },
            Entry::File { len, mode, .. } => Metadata {
                kind: Kind::File,
                len: *len,
                mode: *mode,
            },
            Entry::Symlink { target } => Metadata {
                kind: Kind::Symlink,
                len: target.len() as u64,
                mode: 0o777,
            },
        }))
    }

    fn read_link(&self, path: &RootPath) -> io::Result<String> {
        match self.entries.get(path) {
            Some(Entry::Symlink { target }) => Ok(target.clone()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path} is not a symlink"),
            )),
        }
    }

    fn read(&self, path: &RootPath, limit: u64) -> io::Result<Vec<u8>> {
        self.inflate(path, limit, false)
    }

    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        self.inflate(path, len as u64, true)
    }

    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>> {
        let prefix = if path.as_str() == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        // Every path below the folder sorts right after `prefix`, in one run.
        let names = self
            .entries
            .range(RootPath(prefix.clone())..)
            .map(|(p, _)| p.as_str())
            .take_while(|p| p.starts_with(&prefix))
            .filter_map(|p| {
                let rest = &p[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn names_stay_inside_the_archive() {
        assert_eq!(place("a/./b//c.so").unwrap().as_str(), "/a/b/c.so");
        assert_eq!(place("/abs/x").unwrap().as_str(), "/abs/x");
        assert!(place("../../etc/passwd").is_none());
        assert!(place("a/../../b").is_none());
        assert!(place("").is_none());
        assert!(place("./").is_none());
    }
}
