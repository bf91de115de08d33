//! The merged file tree of an image: layers applied in order with the OCI image spec's rules.
//! `.wh.NAME` removes NAME from lower layers only; `.wh..wh..opq` hides every lower-layer child of
//! its folder; a hard link becomes a copy of its target's entry. As containerd applies layers
//! (`archive/tar.go`, `applyNaive`): AUFS metadata at the root (`.wh..wh.plnk` and any other name
//! starting `.wh..wh.` but the opaque marker) is skipped, and a whiteout whose name is no file of
//! its folder (`.wh.`, `.wh..`, `.wh...`) is an invalid archive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scan::{EntryKind, LayerEntry};
use crate::rootfs::{Kind, Metadata, Special};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not part of the image's tree.
const AUFS_META: &str = ".wh..wh.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum NodeKind {
    File,
    Dir,
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    /// A special file of an index written before the kinds above were told apart.
    Other,
}

/// One path of the merged tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A file's bytes: the index of its layer's stream and the offset in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<(u32, u64)>,
    /// The digest of the same bytes in the cache's blob store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<String>,
    /// A file's first bytes (up to [`HEAD`]), read while the image was indexed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<Vec<u8>>,
}

/// How many first bytes of each file the index keeps: enough to tell an ELF object.
pub(super) const HEAD: usize = 4;

impl Node {
    fn dir(mode: u32) -> Node {
        Node {
            kind: NodeKind::Dir,
            mode,
            size: 0,
            link: None,
            at: None,
            cached: None,
            head: None,
        }
    }

    /// The file's first `len` bytes, when the index holds them all (no layer is read).
    pub(super) fn prefix(&self, len: usize) -> Option<Vec<u8>> {
        let head = self.head.as_deref()?;
        let whole = head.len() as u64 == self.size;
        (head.len() >= len || whole).then(|| head[..len.min(head.len())].to_vec())
    }

    pub(super) fn metadata(&self) -> Metadata {
        let kind = match self.kind {
            NodeKind::File => Kind::File,
            NodeKind::Dir => Kind::Dir,
            NodeKind::Symlink => Kind::Symlink,
            NodeKind::Fifo => Kind::Special(Special::Fifo),
            NodeKind::CharDevice => Kind::Special(Special::CharDevice),
            NodeKind::BlockDevice => Kind::Special(Special::BlockDevice),
            NodeKind::Other => Kind::Special(Special::Other),
        };
        let len = match self.kind {
            NodeKind::Symlink => self.link.as_ref().map_or(0, |l| l.len() as u64),
            _ => self.size,
        };
        Metadata {
            kind,
            len,
            mode: self.mode,
        }
    }
}

/// Paths are keyed as rootfs paths (`/usr/lib64/libz.so.1`); `/` is always a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: BTreeMap::from([("/".to_string(), Node::dir(0o755))]),
        }
    }
}

impl Tree {
    pub(super) fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Names of a folder's children, sorted.
    pub(super) fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| {
                let rest = &k[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    /// Applies one layer whose bytes are stream `stream`. Err names the entry and the problem.
    pub(super) fn apply(
        &mut self,
        stream: u32,
        entries: &[LayerEntry],
    ) -> Result<(), (String, String)> {
        let entries: Vec<&LayerEntry> = entries
            .iter()
            .filter(|e| !e.path.starts_with(AUFS_META) || e.path == OPAQUE)
            .collect();
        // Whiteouts first: they only ever remove what lower layers put there.
        for entry in &entries {
            let (dir, name) = split(&entry.path);
            if name == OPAQUE {
                self.remove_below(&key(dir));
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                if matches!(hidden, "" | "." | "..") {
                    return Err((entry.path.clone(), "is not a valid whiteout".to_string()));
                }
                let path = key(&join(dir, hidden));
                self.remove_below(&path);
                self.nodes.remove(&path);
            }
        }
        for entry in entries {
            if !split(&entry.path).1.starts_with(WHITEOUT) {
                self.add(stream, entry)?;
            }
        }
        Ok(())
    }

    /// Whether a tree read back from a cached index could have been made here: every path is
    /// absolute and plain (no empty, `.` or `..` part, no NUL), its parents are folders, a file's
    /// bytes are in one of `streams` streams, and a kept copy is named by a sha256.
    pub(super) fn is_well_formed(&self, streams: usize) -> bool {
        self.nodes.get("/").is_some_and(|n| n.kind == NodeKind::Dir)
            && self.nodes.iter().all(|(path, node)| {
                let plain = path == "/"
                    || (path.starts_with('/')
                        && path[1..]
                            .split('/')
                            .all(|p| !matches!(p, "" | "." | "..") && !p.contains('\0')));
                let parent = path
                    .rsplit_once('/')
                    .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
                let in_folder = path == "/"
                    || self
                        .nodes
                        .get(parent)
                        .is_some_and(|p| p.kind == NodeKind::Dir);
                let at = node
                    .at
                    .is_none_or(|(stream, _)| (stream as usize) < streams);
                let kept = node
                    .cached
                    .as_deref()
                    .is_none_or(|d| crate::digest::is_sha256_hex(d.as_bytes()));
                let head = node.head.as_ref().is_none_or(|h| h.len() <= HEAD);
                plain && in_folder && at && kept && head
            })
    }

    fn add(&mut self, stream: u32, entry: &LayerEntry) -> Result<(), (String, String)> {
        let path = key(&entry.path);
        self.make_parents(&path);
        let node = match entry.kind {
            EntryKind::HardLink => {
                let target = key(entry.link.as_deref().unwrap_or(""));
                match self.nodes.get(&target) {
                    Some(node) if node.kind == NodeKind::File => node.clone(),
                    _ => {
                        return Err((
                            entry.path.clone(),
                            format!("hard link to {target}, which is not a file of the image"),
                        ));
                    }
                }
            }
            EntryKind::Dir => {
                if let Some(existing) = self.nodes.get_mut(&path)
                    && existing.kind == NodeKind::Dir
                {
                    existing.mode = entry.mode;
                    return Ok(());
                }
                Node::dir(entry.mode)
            }
            kind => Node {
                kind: match kind {
                    EntryKind::File => NodeKind::File,
                    EntryKind::Symlink => NodeKind::Symlink,
                    EntryKind::Special(Special::Fifo) => NodeKind::Fifo,
                    EntryKind::Special(Special::CharDevice) => NodeKind::CharDevice,
                    EntryKind::Special(Special::BlockDevice) => NodeKind::BlockDevice,
                    _ => NodeKind::Other,
                },
                mode: entry.mode,
                size: entry.size,
                link: entry.link.clone(),
                at: (kind == EntryKind::File).then_some((stream, entry.offset)),
                cached: entry.cached.clone(),
                head: (kind == EntryKind::File).then(|| entry.head.clone()),
            },
        };
        self.remove_below(&path);
        self.nodes.insert(path, node);
        Ok(())
    }

    /// Every ancestor of `path` becomes a folder: missing ones are added, and a non-folder in the
    /// way is replaced (extracting the layer would do the same).
    fn make_parents(&mut self, path: &str) {
        let mut at = 0;
        while let Some(i) = path[at + 1..].find('/') {
            let parent = &path[..at + 1 + i];
            match self.nodes.get(parent) {
                Some(node) if node.kind == NodeKind::Dir => {}
                _ => {
                    self.nodes.insert(parent.to_string(), Node::dir(0o755));
                }
            }
            at += 1 + i;
        }
    }

    /// Removes every path strictly below `dir`.
    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .filter(|k| k != "/")
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }
}

fn key(relative: &str) -> String {
    format!("/{relative}")
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> LayerEntry {
        LayerEntry {
            path: path.to_string(),
            kind: EntryKind::File,
            mode: 0o644,
            size: 1,
            offset: 0,
            link: None,
            cached: None,
            head: b"ab".to_vec(),
        }
    }

    #[test]
    fn whiteouts_hide_lower_layers_only() {
        let mut tree = Tree::default();
        tree.apply(0, &[file("a/x"), file("a/y"), file("b/z"), file("c")])
            .unwrap();
        tree.apply(
            1,
            &[
                file("a/.wh.x"),
                file("b/.wh..wh..opq"),
                file("b/new"),
                file(".wh.c"),
            ],
        )
        .unwrap();
        assert_eq!(tree.children("/a"), ["y"]);
        assert_eq!(tree.children("/b"), ["new"]);
        assert_eq!(tree.children("/"), ["a", "b"]);
        // A whiteout in the same layer as the name does not hide it.
        tree.apply(2, &[file("d"), file(".wh.d")]).unwrap();
        assert!(tree.get("/d").is_some());
    }

    #[test]
    fn a_file_replaces_a_folder_and_its_children() {
        let mut tree = Tree::default();
        tree.apply(0, &[file("a/x")]).unwrap();
        tree.apply(1, &[file("a")]).unwrap();
        assert_eq!(tree.get("/a").unwrap().kind, NodeKind::File);
        assert!(tree.get("/a/x").is_none());
    }
}
