//! Paths resolved inside a rootfs the way the kernel resolves them inside a chroot: absolute
//! symlink targets re-rooted, `..` stopping at the root, loops counted as Linux counts them.

use std::collections::VecDeque;
use std::io;

use super::{Kind, Metadata, RootFs, RootPath};

/// Symlinks followed while resolving one path before it counts as a loop (Linux's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// A path resolved inside the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The real location, with no symlink left in it.
    pub path: RootPath,
    pub meta: Metadata,
    /// Symlinks on the way whose target climbed above the root (and was clamped there).
    pub escapes: Vec<Escape>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    pub link: RootPath,
    pub target: String,
}

/// A path resolved inside the rootfs by [`locate`]: where it really is and what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The real location, with no symlink left in it.
    pub path: RootPath,
    pub meta: Metadata,
}

/// [`resolve`] for callers that need no escapes: by the backend's own lookup where it has one
/// (`openat2(RESOLVE_IN_ROOT)` for a folder: one system call instead of one per component), else
/// by the walk. Both give the same answer: `tests/it/resolution.rs` compares them.
pub fn locate(fs: &dyn RootFs, path: &RootPath) -> Result<Located, RootfsError> {
    if let Some(found) = fs.locate(path) {
        return found;
    }
    resolve(fs, path).map(|r| Located {
        path: r.path,
        meta: r.meta,
    })
}

/// Why a path could not be resolved inside the rootfs; each keeps the path, and `Io` its cause.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{0} does not exist in the rootfs")]
    NotFound(RootPath),
    #[error("symlink loop while resolving {0}")]
    Loop(RootPath),
    #[error("cannot read {0}: {1}")]
    Io(RootPath, #[source] io::Error),
}

/// Resolves `path` the way the kernel would inside a chroot at the rootfs.
pub fn resolve(fs: &dyn RootFs, path: &RootPath) -> Result<Resolved, RootfsError> {
    let todo = path.components().map(str::to_string).collect();
    walk(fs, path, Vec::new(), todo)
}

/// [`resolve`] of `folder.join(name)` where `folder` is already a real folder (no symlink in it):
/// the walk starts there. Escapes are those of `name`'s own symlinks.
pub fn resolve_in(fs: &dyn RootFs, folder: &RootPath, name: &str) -> Result<Resolved, RootfsError> {
    let done = folder.components().map(str::to_string).collect();
    let todo = name.split('/').map(str::to_string).collect();
    walk(fs, &folder.join(name), done, todo)
}

/// The walk: `todo` taken component by component from the real folder `done`, `path` named in
/// errors.
fn walk(
    fs: &dyn RootFs,
    path: &RootPath,
    mut done: Vec<String>,
    mut todo: VecDeque<String>,
) -> Result<Resolved, RootfsError> {
    let mut links = 0;
    let mut escapes = Vec::new();
    let mut meta = Metadata {
        kind: Kind::Dir,
        len: 0,
        mode: 0o755,
    };
    // Components that came from a symlink target, with that symlink, to report `..` escapes.
    let mut from_link: Option<(RootPath, String, usize)> = None;
    while let Some(part) = todo.pop_front() {
        if let Some((_, _, remaining)) = &mut from_link {
            if *remaining == 0 {
                from_link = None;
            } else {
                *remaining -= 1;
            }
        }
        if meta.kind != Kind::Dir {
            // A component below a file, `.` and `..` included (ENOTDIR): nothing is there.
            return Err(RootfsError::NotFound(path.clone()));
        }
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                if done.pop().is_none()
                    && let Some((link, target, _)) = &from_link
                {
                    record_escape(&mut escapes, link, target);
                }
                continue;
            }
            _ => {}
        }
        if !can_exist(&part) {
            // A name no Linux file has (a NUL, more than NAME_MAX bytes): nothing is there,
            // whoever asks (the spec or an ELF file).
            return Err(RootfsError::NotFound(path.clone()));
        }
        let mut refs: Vec<&str> = done.iter().map(String::as_str).collect();
        refs.push(&part);
        let candidate = RootPath::from_parts(&refs);
        let found = fs
            .lstat(&candidate)
            .map_err(|e| RootfsError::Io(candidate.clone(), e))?
            .ok_or_else(|| RootfsError::NotFound(path.clone()))?;
        if found.kind == Kind::Symlink {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(RootfsError::Loop(path.clone()));
            }
            let target = fs
                .read_link(&candidate)
                .map_err(|e| RootfsError::Io(candidate.clone(), e))?;
            if target.starts_with('/') {
                done.clear();
            }
            let parts: Vec<String> = target
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            from_link = Some((candidate, target.clone(), parts.len()));
            for p in parts.into_iter().rev() {
                todo.push_front(p);
            }
            meta.kind = Kind::Dir;
            continue;
        }
        meta = found;
        done.push(part);
    }
    let refs: Vec<&str> = done.iter().map(String::as_str).collect();
    Ok(Resolved {
        path: RootPath::from_parts(&refs),
        meta,
        escapes,
    })
}

/// Whether a file can have this name: no NUL, at most 255 bytes (`NAME_MAX`).
fn can_exist(name: &str) -> bool {
    !name.contains('\0') && name.len() <= crate::layer_path::NAME_MAX
}

/// A `..` from `link`'s target that would have climbed above the root, once per link.
fn record_escape(escapes: &mut Vec<Escape>, link: &RootPath, target: &str) {
    let escape = Escape {
        link: link.clone(),
        target: target.to_string(),
    };
    if !escapes.contains(&escape) {
        escapes.push(escape);
    }
}
