//! Listing the store's folders for `gc`: the items of one folder, and the bytes a folder tree holds.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The items of a folder with their names and metadata (not following symlinks); none when the
/// folder does not exist.
pub(super) fn items(dir: &Path) -> io::Result<Vec<(PathBuf, String, fs::Metadata)>> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for item in listing {
        let item = item?;
        let Ok(meta) = fs::symlink_metadata(item.path()) else {
            continue;
        };
        let name = item.file_name().to_string_lossy().into_owned();
        out.push((item.path(), name, meta));
    }
    Ok(out)
}

/// The files of a folder (not its subfolders), as [`items`].
pub(super) fn files(dir: &Path) -> io::Result<Vec<(PathBuf, String, fs::Metadata)>> {
    let mut out = items(dir)?;
    out.retain(|(_, _, meta)| !meta.is_dir());
    Ok(out)
}

/// A file's (device, inode): what tells hard links apart.
pub(super) type Inode = (u64, u64);

pub(super) fn inode(meta: &fs::Metadata) -> Inode {
    (meta.dev(), meta.ino())
}

/// The bytes of every file under `dir` (symlinks not followed), each inode once, leaving out the
/// inodes in `elsewhere` (hard links to files counted on their own).
pub(super) fn tree_size(dir: &Path, elsewhere: &HashSet<Inode>) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(listing) = items(&folder) else {
            continue;
        };
        for (path, _, meta) in listing {
            if meta.is_dir() {
                stack.push(path);
            } else if !elsewhere.contains(&inode(&meta)) && seen.insert(inode(&meta)) {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
}
