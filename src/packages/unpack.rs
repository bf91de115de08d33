//! Unpacking package payloads into a folder of the store, every name checked: entries are taken
//! relative to the folder (a leading `/` or `./` dropped), a name with a `..` component or a NUL
//! byte is refused, and the folders on the way are resolved inside the folder with chroot
//! semantics (an absolute symlink re-rooted, `..` stopping at the root), so no entry, not even one
//! under a hostile symlink, is ever written outside it. Symlinks are kept as they are (the rootfs
//! reader re-roots them too); device files and FIFOs are left out. The folder is new and private to
//! this process until it is published, so nothing else changes it meanwhile.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Symlinks followed while resolving one name, as the kernel's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;
/// The most entries one rootfs may have.
const MAX_ENTRIES: u64 = 1_000_000;
/// The most bytes one rootfs may unpack to.
const MAX_BYTES: u64 = 16 << 30;

/// A payload entry that cannot be unpacked, or a write that failed.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct UnpackError {
    pub name: String,
    pub problem: String,
}

fn refuse(name: &str, problem: impl Into<String>) -> UnpackError {
    UnpackError {
        name: name.to_string(),
        problem: problem.into(),
    }
}

/// A folder being filled.
pub struct Tree {
    root: PathBuf,
    entries: u64,
    bytes: u64,
    /// Folder modes, set once every entry is written (a read-only folder would refuse its files).
    dir_modes: Vec<(PathBuf, u32)>,
}

/// The components of an entry name inside the tree.
fn components(name: &[u8]) -> Result<Vec<String>, String> {
    if name.contains(&0) {
        return Err("the name holds a NUL byte".into());
    }
    let text = std::str::from_utf8(name).map_err(|_| "the name is not UTF-8".to_string())?;
    let mut out = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("the name climbs out with `..`".into()),
            p => out.push(p.to_string()),
        }
    }
    Ok(out)
}

impl Tree {
    /// A tree filling the (existing, empty) folder `root`.
    pub fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            entries: 0,
            bytes: 0,
            dir_modes: Vec::new(),
        }
    }

    fn count(&mut self, name: &str, bytes: u64) -> Result<(), UnpackError> {
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.entries > MAX_ENTRIES {
            return Err(refuse(name, format!("more than {MAX_ENTRIES} entries")));
        }
        if self.bytes > MAX_BYTES {
            return Err(refuse(name, format!("more than {MAX_BYTES} bytes in all")));
        }
        Ok(())
    }

    /// The real folder (inside the tree) that `parts` names, its missing folders made; a symlink
    /// on the way is followed inside the tree.
    fn folder(&self, name: &str, parts: &[String]) -> Result<PathBuf, UnpackError> {
        let mut real: Vec<String> = Vec::new();
        let mut queue: std::collections::VecDeque<String> = parts.iter().cloned().collect();
        let mut hops = 0;
        while let Some(part) = queue.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    real.pop();
                    continue;
                }
                _ => {}
            }
            let path = self.path_of(&real).join(&part);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::DirBuilder::new()
                        .mode(0o755)
                        .create(&path)
                        .map_err(|e| refuse(name, e.to_string()))?;
                    real.push(part);
                }
                Err(e) => return Err(refuse(name, e.to_string())),
                Ok(meta) if meta.is_dir() => real.push(part),
                Ok(meta) if meta.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Err(refuse(name, "too many symlinks on the way (a loop?)"));
                    }
                    let target = fs::read_link(&path).map_err(|e| refuse(name, e.to_string()))?;
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        real.clear();
                    }
                    for (i, p) in target.split('/').enumerate() {
                        queue.insert(i, p.to_string());
                    }
                }
                Ok(_) => {
                    return Err(refuse(
                        name,
                        format!("`{part}` on its way is a file, not a folder"),
                    ));
                }
            }
        }
        Ok(self.path_of(&real))
    }

    fn path_of(&self, real: &[String]) -> PathBuf {
        real.iter().fold(self.root.clone(), |p, c| p.join(c))
    }

    /// Where a new non-folder entry goes: its folder resolved, whatever file or symlink stood
    /// there removed (a later package's file replaces an earlier one's, as `dpkg -x` in turn).
    fn place(&mut self, name: &[u8], bytes: u64) -> Result<(PathBuf, String), UnpackError> {
        let shown = String::from_utf8_lossy(name).into_owned();
        let parts = components(name).map_err(|p| refuse(&shown, p))?;
        let Some((last, parents)) = parts.split_last() else {
            return Err(refuse(&shown, "the entry names the root itself"));
        };
        self.count(&shown, bytes)?;
        let path = self.folder(&shown, parents)?.join(last);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                return Err(refuse(&shown, "a folder stands where the entry goes"));
            }
            Ok(_) => fs::remove_file(&path).map_err(|e| refuse(&shown, e.to_string()))?,
            Err(_) => {}
        }
        Ok((path, shown))
    }

    /// A folder entry.
    pub fn dir(&mut self, name: &[u8], mode: u32) -> Result<(), UnpackError> {
        let shown = String::from_utf8_lossy(name).into_owned();
        let parts = components(name).map_err(|p| refuse(&shown, p))?;
        self.count(&shown, 0)?;
        let path = self.folder(&shown, &parts)?;
        self.dir_modes.push((path, mode & 0o7777));
        Ok(())
    }

    /// A regular file of `size` bytes read from `body` (more or fewer bytes is an error).
    pub fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: u64,
        size: u64,
        body: &mut dyn Read,
    ) -> Result<(), UnpackError> {
        let (path, shown) = self.place(name, size)?;
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&path)
            .map_err(|e| refuse(&shown, e.to_string()))?;
        let copied = io::copy(&mut body.take(size), &mut file)
            .map_err(|e| refuse(&shown, format!("cannot unpack it: {e}")))?;
        if copied != size {
            return Err(refuse(
                &shown,
                format!("the payload ends after {copied} of its {size} bytes"),
            ));
        }
        file.flush().map_err(|e| refuse(&shown, e.to_string()))?;
        let _ = file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime));
        file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| refuse(&shown, e.to_string()))
    }

    /// A symlink, kept as written (an absolute target is re-rooted when read, never followed
    /// here).
    pub fn symlink(&mut self, name: &[u8], target: &[u8]) -> Result<(), UnpackError> {
        let (path, shown) = self.place(name, 0)?;
        if target.is_empty() || target.contains(&0) {
            return Err(refuse(&shown, "the symlink has no usable target"));
        }
        let target = std::str::from_utf8(target)
            .map_err(|_| refuse(&shown, "the symlink's target is not UTF-8"))?;
        symlink(target, &path).map_err(|e| refuse(&shown, e.to_string()))
    }

    /// A hard link to an entry unpacked before it.
    pub fn hard_link(&mut self, name: &[u8], target: &[u8]) -> Result<(), UnpackError> {
        let shown_target = String::from_utf8_lossy(target).into_owned();
        let parts = components(target).map_err(|p| refuse(&shown_target, p))?;
        let Some((last, parents)) = parts.split_last() else {
            return Err(refuse(&shown_target, "a hard link to the root"));
        };
        let from = self.folder(&shown_target, parents)?.join(last);
        let meta = fs::symlink_metadata(&from).map_err(|e| refuse(&shown_target, e.to_string()))?;
        if !meta.is_file() {
            return Err(refuse(&shown_target, "a hard link's target is not a file"));
        }
        let (path, shown) = self.place(name, 0)?;
        fs::hard_link(&from, &path).map_err(|e| refuse(&shown, e.to_string()))
    }

    /// Sets the folders' modes, deepest first; the tree is complete.
    pub fn finish(mut self) -> Result<(), UnpackError> {
        self.dir_modes.sort_by(|a, b| b.0.cmp(&a.0));
        for (path, mode) in &self.dir_modes {
            // A folder must stay searchable and writable to us (the store removes it one day).
            let mode = mode | 0o700;
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(|e| refuse(&path.display().to_string(), e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_inside() {
        assert_eq!(components(b"./usr/lib/x").unwrap(), ["usr", "lib", "x"]);
        assert_eq!(components(b"/etc//a/.").unwrap(), ["etc", "a"]);
        assert!(components(b"usr/../../etc/passwd").is_err());
        assert!(components(b"a\0b").is_err());
    }

    #[test]
    fn a_hostile_symlink_is_followed_only_inside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let mut tree = Tree::new(dir.path());
        let escape = outside.path().to_string_lossy().into_owned();
        tree.symlink(b"./evil", escape.as_bytes()).unwrap();
        tree.symlink(b"./up", b"../../../..").unwrap();
        tree.file(b"./evil/x", 0o644, 0, 2, &mut &b"hi"[..])
            .unwrap();
        tree.file(b"./up/y", 0o644, 0, 2, &mut &b"hi"[..]).unwrap();
        assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
        // The absolute target was re-rooted: the file is inside the tree.
        assert!(
            dir.path()
                .join(escape.trim_start_matches('/'))
                .join("x")
                .is_file()
        );
        assert!(dir.path().join("y").is_file());
        assert!(tree.file(b"../z", 0o644, 0, 0, &mut &b""[..]).is_err());
    }
}
