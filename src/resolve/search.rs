//! The dynamic loader's search order, evaluated inside a rootfs.

use super::LoadError;
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
    inputs: Vec<(RootPath, Option<Stamp>)>,
}

impl LdSoConf {
    pub fn read(fs: &dyn RootFs) -> LdSoConf {
        let mut conf = LdSoConf {
            dirs: Vec::new(),
            inputs: Vec::new(),
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

    fn record(&mut self, fs: &dyn RootFs, path: &RootPath) {
        let stamp = probe(fs, path);
        self.inputs.push((path.clone(), stamp));
    }
}

/// The stamp of what `path` resolves to, or `None` when it cannot be resolved.
fn probe(fs: &dyn RootFs, path: &RootPath) -> Option<Stamp> {
    let resolved = rootfs::resolve(fs, path).ok()?;
    fs.stamp(&resolved.path).ok().flatten()
}

fn read_conf(fs: &dyn RootFs, file: &RootPath, depth: usize, out: &mut LdSoConf) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    out.record(fs, file);
    let Ok(resolved) = rootfs::resolve(fs, file) else {
        return;
    };
    let Ok(bytes) = fs.read(&resolved.path) else {
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
        } else if line.starts_with("hwcap") {
            continue;
        } else {
            // Old syntax allowed `dir=TYPE` and separators of `:`, `,`, tabs and spaces.
            for dir in line.split([':', ',', ' ', '\t']).filter(|d| !d.is_empty()) {
                let dir = dir.split('=').next().unwrap_or(dir);
                let path = RootPath::new(dir);
                if dir.starts_with('/') && !out.dirs.contains(&path) {
                    out.dirs.push(path);
                }
            }
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
    let Ok(dir) = rootfs::resolve(fs, &path.parent()) else {
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

fn wildcard_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    !name.starts_with('.') && go(pattern.as_bytes(), name.as_bytes())
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
/// architecture — as the loader does.
pub fn find_in<'a>(
    fs: &dyn RootFs,
    dirs: impl IntoIterator<Item = &'a RootPath>,
    name: &str,
    arch: Architecture,
    load: &dyn Fn(&RootPath) -> Result<std::sync::Arc<ElfInfo>, LoadError>,
) -> Lookup {
    let mut skipped = Vec::new();
    let mut seen = Vec::new();
    for dir in dirs {
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir);
        let candidate = dir.join(name);
        let resolved = match rootfs::resolve(fs, &candidate) {
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
    }
}
