//! The dynamic loader's search order, evaluated inside a rootfs.

use std::collections::{BTreeMap, HashSet};

use super::LoadError;
use super::index::{LibraryIndex, Listing};
use crate::arch::Architecture;
use crate::elf::ElfInfo;
use crate::rootfs::{self, Kind, RootFs, RootPath, Stamp};

/// `include` depth in ld.so.conf before we stop following (glibc has no limit; loops are possible).
const MAX_INCLUDE_DEPTH: usize = 8;

/// The loader's built-in folders (glibc's trusted directories on a 64-bit system), searched after
/// ld.so.conf; the multiarch folders follow them.
pub const DEFAULT_DIRS: [&str; 4] = ["/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/// Folders searched for every object after its own DT_RPATH/DT_RUNPATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPaths {
    /// From /etc/ld.so.conf and its includes, in file order.
    pub conf: Vec<RootPath>,
    /// The loader's built-in folders, then the multiarch ones.
    pub defaults: Vec<RootPath>,
}

impl SystemPaths {
    pub fn new(conf: &LdSoConf, arch: Architecture) -> SystemPaths {
        let multiarch = arch.multiarch();
        let defaults = DEFAULT_DIRS
            .iter()
            .map(|d| RootPath::new(d))
            .chain([
                RootPath::new(&format!("/lib/{multiarch}")),
                RootPath::new(&format!("/usr/lib/{multiarch}")),
            ])
            .collect();
        SystemPaths {
            conf: conf.dirs.clone(),
            defaults,
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &RootPath> {
        self.conf.iter().chain(self.defaults.iter())
    }
}

/// The folders `/etc/ld.so.conf` and its includes name, with the stamp of every file and folder
/// read to find them: the same rootfs generation gives the same folders without reading again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdSoConf {
    pub dirs: Vec<RootPath>,
    inputs: BTreeMap<RootPath, Option<Stamp>>,
    /// Real files already read, and folders already listed in `dirs`.
    visited: HashSet<RootPath>,
    listed: HashSet<RootPath>,
}

impl LdSoConf {
    pub fn read(fs: &dyn RootFs) -> LdSoConf {
        let mut conf = LdSoConf {
            dirs: Vec::new(),
            inputs: BTreeMap::new(),
            visited: HashSet::new(),
            listed: HashSet::new(),
        };
        read_conf(fs, &RootPath::new("/etc/ld.so.conf"), 0, &mut conf);
        conf
    }

    /// True while every file and folder it was read from is unchanged.
    pub fn is_current(&self, fs: &dyn RootFs) -> bool {
        self.inputs
            .iter()
            .all(|(path, stamp)| probe(fs, path) == *stamp)
    }

    /// A folder line. The old syntax allowed `dir=TYPE` and separators of `:`, `,`, tabs and spaces.
    fn add_dirs(&mut self, line: &str) {
        for dir in line.split([':', ',', ' ', '\t']).filter(|d| !d.is_empty()) {
            let dir = dir.split('=').next().unwrap_or(dir);
            let path = RootPath::new(dir);
            if dir.starts_with('/') && self.listed.insert(path.clone()) {
                self.dirs.push(path);
            }
        }
    }

    fn record(&mut self, fs: &dyn RootFs, path: &RootPath) {
        if !self.inputs.contains_key(path) {
            let stamp = probe(fs, path);
            self.inputs.insert(path.clone(), stamp);
        }
    }
}

/// The stamp of what `path` resolves to, or `None` when it cannot be resolved.
fn probe(fs: &dyn RootFs, path: &RootPath) -> Option<Stamp> {
    let located = rootfs::locate(fs, path).ok()?;
    fs.stamp(&located.path).ok().flatten()
}

/// The largest `ld.so.conf` (or included file) read; real ones are a few hundred bytes.
const MAX_CONF_BYTES: u64 = 1 << 20;

/// Files read for one `LdSoConf`: includes that include each other are read once each.
const MAX_CONF_FILES: usize = 1024;

fn read_conf(fs: &dyn RootFs, file: &RootPath, depth: usize, out: &mut LdSoConf) {
    if depth > MAX_INCLUDE_DEPTH || out.visited.len() >= MAX_CONF_FILES {
        return;
    }
    out.record(fs, file);
    let Ok(resolved) = rootfs::locate(fs, file) else {
        return;
    };
    // Each real file once (glibc's ldconfig would loop on mutual includes), and only regular files:
    // `read` refuses a FIFO or a device without blocking, and anything over the size limit.
    if resolved.meta.kind != Kind::File || !out.visited.insert(resolved.path.clone()) {
        return;
    }
    let Ok(bytes) = fs.read(&resolved.path, MAX_CONF_BYTES) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include") {
            for pattern in pattern.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_string()
                } else {
                    format!("{}/{}", file.parent(), pattern)
                };
                for included in glob(fs, &pattern, out) {
                    read_conf(fs, &included, depth + 1, out);
                }
            }
        } else if !line.starts_with("hwcap") {
            out.add_dirs(line);
        }
    }
}

/// Expands `*` and `?` in the last component of an absolute pattern, sorted like glob(3).
fn glob(fs: &dyn RootFs, pattern: &str, out: &mut LdSoConf) -> Vec<RootPath> {
    let path = RootPath::new(pattern);
    let name = path.file_name().to_string();
    if !name.contains(['*', '?']) {
        return vec![path];
    }
    out.record(fs, &path.parent());
    let Ok(dir) = rootfs::locate(fs, &path.parent()) else {
        return Vec::new();
    };
    let Ok(names) = fs.read_dir(&dir.path) else {
        return Vec::new();
    };
    names
        .into_iter()
        .filter(|n| wildcard_match(&name, n))
        .map(|n| path.parent().join(&n))
        .collect()
}

/// glob(3)'s `*` and `?` without recursion or backtracking: the pattern is split at its `*`s, the
/// first piece must start the name, the last must end it, and each piece between is taken at its
/// leftmost place (taking it further right never helps a later piece). Work is at most the name's
/// length times the pattern's.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let pieces: Vec<&[u8]> = p.split(|&b| b == b'*').collect();
    let [first, middle @ .., last] = pieces.as_slice() else {
        // No `*`: the whole pattern against the whole name.
        return piece_at(p, n, 0) && p.len() == n.len();
    };
    if first.len() + last.len() > n.len()
        || !piece_at(first, n, 0)
        || !piece_at(last, n, n.len() - last.len())
    {
        return false;
    }
    let end = n.len() - last.len();
    let mut at = first.len();
    for piece in middle.iter().filter(|p| !p.is_empty()) {
        let found = (at..end)
            .take_while(|&i| i + piece.len() <= end)
            .find(|&i| piece_at(piece, n, i));
        match found {
            Some(i) => at = i + piece.len(),
            None => return false,
        }
    }
    true
}

/// Does `piece` (with `?` for any one byte) match `name` at `at`?
fn piece_at(piece: &[u8], name: &[u8], at: usize) -> bool {
    name.get(at..at + piece.len())
        .is_some_and(|window| piece.iter().zip(window).all(|(&p, &c)| p == b'?' || p == c))
}

/// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` (also `${...}`) in one DT_RPATH/DT_RUNPATH entry.
pub fn expand(entry: &str, origin: &RootPath, arch: Architecture) -> Option<RootPath> {
    let mut out = entry.to_string();
    for (token, value) in [
        ("ORIGIN", origin.as_str()),
        ("LIB", "lib64"),
        ("PLATFORM", arch.platform()),
    ] {
        out = out
            .replace(&format!("${{{token}}}"), value)
            .replace(&format!("${token}"), value);
    }
    // Relative entries are relative to the process's working folder: meaningless for a layer.
    out.starts_with('/').then(|| RootPath::new(&out))
}

/// Where one candidate file was looked at and why it was passed over.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: RootPath,
    pub reason: SkipReason,
}

#[derive(Debug, Clone)]
pub enum SkipReason {
    /// An ELF object for another class or machine, described ("ELF64 arm64 (aarch64)").
    WrongTarget(String),
    Unloadable(LoadError),
    /// A symlink loop.
    Loop,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::WrongTarget(t) => write!(f, "built for {t}"),
            SkipReason::Unloadable(e) => write!(f, "{e}"),
            SkipReason::Loop => f.write_str("it is a symlink loop"),
        }
    }
}

/// A file the loader would map for a name.
#[derive(Debug, Clone)]
pub struct Found {
    /// The path as the loader found it (its folder is `$ORIGIN`).
    pub path: RootPath,
    /// The real file behind any symlinks.
    pub real: RootPath,
    pub size: u64,
    pub mode: u32,
    pub elf: std::sync::Arc<ElfInfo>,
}

/// A lookup's outcome: the match, or everything seen on the way for the error message.
pub enum Lookup {
    Found(Found),
    NotFound { skipped: Vec<Skipped> },
}

/// Looks `name` up in `dirs` in order, skipping files that are missing, not ELF, or built for another
/// architecture — as the loader does. A folder `listed` holds is looked up in memory first: only a
/// name that is there is resolved on disk.
pub fn find_in<'a>(
    fs: &dyn RootFs,
    dirs: impl IntoIterator<Item = &'a RootPath>,
    name: &str,
    arch: Architecture,
    listed: Option<&LibraryIndex>,
    load: &dyn Fn(&RootPath) -> Result<std::sync::Arc<ElfInfo>, LoadError>,
) -> Lookup {
    let mut skipped = Vec::new();
    // A set: DT_RPATH inherited down a long chain repeats the same folders thousands of times.
    let mut seen = HashSet::new();
    for dir in dirs {
        if !seen.insert(dir) {
            continue;
        }
        let candidate = dir.join(name);
        let resolved = match listed.and_then(|index| index.listing(dir)) {
            Some(Listing::Absent) => continue,
            Some(Listing::Names(_, names)) if !names.contains(name) => continue,
            Some(Listing::Names(real, _) | Listing::Large(real)) => {
                rootfs::resolve_in(fs, real, name)
            }
            Some(Listing::Unknown) | None => rootfs::resolve(fs, &candidate),
        };
        let resolved = match resolved {
            Ok(r) => r,
            Err(rootfs::RootfsError::Io(_, e)) => {
                // Unreadable is not absent: report it rather than search on silently.
                skipped.push(Skipped {
                    path: candidate,
                    reason: SkipReason::Unloadable(LoadError::Io(std::sync::Arc::new(e))),
                });
                continue;
            }
            Err(rootfs::RootfsError::Loop(_)) => {
                // The loader fails on it (ELOOP) and searches on; the message says why.
                skipped.push(Skipped {
                    path: candidate,
                    reason: SkipReason::Loop,
                });
                continue;
            }
            Err(rootfs::RootfsError::NotFound(_)) => continue,
        };
        if resolved.meta.kind != Kind::File {
            continue;
        }
        match load(&resolved.path) {
            Ok(elf) if elf.matches(arch) => {
                return Lookup::Found(Found {
                    path: candidate,
                    real: resolved.path,
                    size: resolved.meta.len,
                    mode: resolved.meta.mode,
                    elf,
                });
            }
            Ok(elf) => skipped.push(Skipped {
                path: candidate,
                reason: SkipReason::WrongTarget(elf.describe_target()),
            }),
            Err(e) => skipped.push(Skipped {
                path: candidate,
                reason: SkipReason::Unloadable(e),
            }),
        }
    }
    Lookup::NotFound { skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expand() {
        let origin = RootPath::new("/opt/app/lib");
        let x = Architecture::X86_64;
        assert_eq!(
            expand("$ORIGIN/../lib", &origin, x).unwrap().as_str(),
            "/opt/app/lib"
        );
        assert_eq!(
            expand("${ORIGIN}/x", &origin, x).unwrap().as_str(),
            "/opt/app/lib/x"
        );
        assert_eq!(
            expand("/usr/$LIB/$PLATFORM", &origin, x).unwrap().as_str(),
            "/usr/lib64/x86_64"
        );
        assert!(expand("relative/dir", &origin, x).is_none());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "libc.conf"));
        assert!(!wildcard_match("*.conf", "libc.conf.bak"));
        assert!(!wildcard_match("*.conf", ".hidden.conf"));
        assert!(wildcard_match("x?z", "xyz"));
        assert!(wildcard_match("*", "a"));
        assert!(wildcard_match("a*a", "aa"));
        assert!(!wildcard_match("a*a", "a"));
        assert!(wildcard_match("*ab*ab", "xabyabab"));
        assert!(!wildcard_match("*ab*abc", "xabyab"));
        assert!(wildcard_match("**?**", "q"));
        assert!(!wildcard_match("x?z", "xz"));
        assert!(!wildcard_match("*a*a*a*a*a*a*b", &"a".repeat(255)));
    }
}
