//! A folder's tree as a comparable map: each path with its kind, permission bits, symlink target
//! or content digest.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Dir,
    File { mode: u32, sha256: String },
    Symlink(String),
}

pub(super) fn tree(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let meta = fs::symlink_metadata(&path).unwrap();
        let node = if meta.file_type().is_symlink() {
            Node::Symlink(fs::read_link(&path).unwrap().display().to_string())
        } else if meta.is_dir() {
            walk(root, &path, out);
            Node::Dir
        } else {
            let bytes = fs::read(&path).unwrap();
            Node::File {
                mode: meta.permissions().mode() & 0o7777,
                sha256: layerc::digest::hex(&Sha256::digest(&bytes)),
            }
        };
        out.insert(rel, node);
    }
}

/// Asserts two trees are equal, naming the first paths that differ.
pub(super) fn assert_same(ours: &Path, theirs: &Path, what: &str) {
    let (a, b) = (tree(ours), tree(theirs));
    let differing: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .take(10)
        .map(|k| format!("{k}: layerc {:?}, {what} {:?}", a.get(k), b.get(k)))
        .collect();
    assert!(
        differing.is_empty(),
        "trees differ:\n{}",
        differing.join("\n")
    );
    assert!(!a.is_empty(), "the tree is empty");
}
