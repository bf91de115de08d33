//! A rootfs read from a container image: a flat tar (`docker export`, optionally gzip, xz or zstd
//! compressed), a `docker save` archive, or an OCI image layout (a folder or a tar).
//!
//! Opening an image reads it once into an index: the merged tree of its layers (path → kind, mode,
//! size, link target, and the layer stream and offset of a file's bytes). The index is cached by the
//! image's content hash and the architecture, so later runs open the image without reading it.
//! Nothing is extracted: a file's bytes are read on demand at their offset. For compressed layers,
//! where that means decompressing the layer up to the file, the bytes of shared objects are kept in
//! the cache while indexing (up to a budget per image), so resolution reads them directly.
//!
//! Invariant: no byte is used that was not checked against a digest. The image file is hashed for
//! the cache key; a layout's blobs are checked against the digests they are named by (while
//! indexing, or before a cached index is used); a kept blob against its name when read; and every
//! later read of a host file checks that its stamp is the one it had when checked.

mod cache;
mod cursors;
mod index;
mod layout;
mod scan;
mod scratch;
mod source;
mod tree;

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use super::{Bytes, Metadata, RootFs, RootPath};
use crate::arch::Architecture;
use cache::Cache;
use index::Index;
use scratch::Scratch;
use source::Origin;
use tree::{Node, NodeKind};

pub use index::kept_blobs;

/// Why an image cannot be used. Messages name the layer (a member of the image, empty for the image
/// itself) and the entry; the caller names the image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(
        "{}{}{problem}",
        prefix("layer", layer),
        prefix("entry", entry.as_deref().unwrap_or_default())
    )]
    Broken {
        layer: String,
        entry: Option<String>,
        problem: String,
    },
    #[error("the image has no manifest for {wanted}; its platforms are {}", present.join(", "))]
    Platform {
        wanted: String,
        present: Vec<String>,
    },
}

fn prefix(what: &str, name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("{what} {name}: ")
    }
}

/// Caps on decompressed bytes, against decompression bombs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// All streams of one image together.
    pub total: u64,
    /// One file.
    pub entry: u64,
    /// Entries (files, folders, links) of all streams of one image together.
    pub entries: u64,
}

impl Limits {
    fn from_env() -> Limits {
        let var = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Limits {
            total: var("LAYERC_IMAGE_MAX_BYTES", 32 << 30),
            entry: var("LAYERC_IMAGE_MAX_ENTRY_BYTES", 4 << 30),
            entries: var("LAYERC_IMAGE_MAX_ENTRIES", 2_000_000),
        }
    }
}

/// Whether a layer's media type is one the image reader reads (a tar, gzip or zstd compressed).
pub fn is_layer_media_type(media_type: &str) -> bool {
    layout::layer_codec(media_type).is_some()
}

/// Whether a rootfs path names an image rather than a plain folder.
pub fn is_image(path: &Path) -> bool {
    path.is_file() || path.join("oci-layout").is_file()
}

/// Files larger than this that are mapped whole from a compressed layer are copied into the
/// scratch file and mapped from there, not held in memory.
const MAP_IN_MEMORY: u64 = 64 << 20;

pub struct ImageRootFs {
    origin: Origin,
    index: Index,
    cache: Option<Cache>,
    scratch: Scratch,
    cursors: cursors::Cursors,
}

impl ImageRootFs {
    /// Opens an image, from the cached index when there is one. Image problems are `io::Error`s
    /// that carry an [`ImageError`].
    pub fn open(path: &Path, arch: Architecture) -> io::Result<ImageRootFs> {
        Self::open_with(path, arch, Cache::from_env())
    }

    /// Opens an image without the cache: it is read whole, and nothing is written anywhere.
    pub fn open_uncached(path: &Path, arch: Architecture) -> io::Result<ImageRootFs> {
        Self::open_with(path, arch, None)
    }

    fn open_with(path: &Path, arch: Architecture, cache: Option<Cache>) -> io::Result<ImageRootFs> {
        let origin = Origin::new(&fs::canonicalize(path)?);
        let scratch = Scratch::default();
        let key = match &cache {
            Some(cache) => format!(
                "{}-{}-v{}",
                index::content_hash(&origin, cache)?,
                arch.as_str(),
                index::VERSION
            ),
            None => String::new(),
        };
        let cached = cache
            .as_ref()
            .and_then(|c| Index::load(c, &key).map(|i| (c, i)));
        let index = match cached {
            Some((c, index)) => {
                index::verify_members(&index, &origin, c)
                    .map_err(|e| io::Error::other(broken(e.to_string())))?;
                index
            }
            None => {
                let index = index::build(&origin, key, arch, cache.as_ref(), &scratch)
                    .map_err(io::Error::other)?;
                if let Some(cache) = &cache {
                    index.save(cache);
                }
                index
            }
        };
        origin.seal();
        Ok(ImageRootFs {
            origin,
            index,
            cache,
            scratch,
            cursors: cursors::Cursors::default(),
        })
    }

    fn node(&self, path: &RootPath) -> io::Result<&Node> {
        self.index.tree.get(path.as_str()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{path} is not in the image"),
            )
        })
    }

    fn file_node(&self, path: &RootPath) -> io::Result<&Node> {
        let node = self.node(path)?;
        if node.kind != NodeKind::File {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path} is not a file"),
            ));
        }
        Ok(node)
    }

    /// A copy of the file's bytes: in the scratch file (kept while indexing, or copied when it
    /// was mapped), or a cache blob (checked against its digest).
    fn kept(&self, node: &Node) -> Option<Kept> {
        if let Some(region) = node.cached.as_deref().and_then(|d| self.scratch.region(d)) {
            return Some(Kept::Scratch(region));
        }
        if let Some(region) = self.scratch.region(&copy_key(node)) {
            return Some(Kept::Scratch(region));
        }
        let cache = self.cache.as_ref()?;
        let blob = cache.open_blob(node.cached.as_deref()?, node.size).ok()?;
        Some(Kept::Blob(blob))
    }

    /// Where a file's bytes are: its layer's stream (and its index), and the offset there.
    fn place(&self, path: &RootPath, node: &Node) -> io::Result<(&source::Source, u32, u64)> {
        let (stream, offset) = node.at.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{path} has no bytes"))
        })?;
        let source = self.index.streams.get(stream as usize).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path}: bad stream in the index"),
            )
        })?;
        Ok((source, stream, offset))
    }

    /// A reader of a file's bytes in its layer stream.
    fn open_stream(&self, path: &RootPath, node: &Node) -> io::Result<Box<dyn Read>> {
        let (source, _, offset) = self.place(path, node)?;
        Ok(Box::new(
            source.open_at(&self.origin, offset)?.take(node.size),
        ))
    }
}

/// Where a file's bytes can be read directly.
enum Kept {
    Scratch((u64, u64)),
    Blob(fs::File),
}

/// The scratch key of a file copied when it was mapped: its place in its stream.
fn copy_key(node: &Node) -> String {
    format!("at {:?}", node.at)
}

fn broken(problem: String) -> ImageError {
    ImageError::Broken {
        layer: String::new(),
        entry: None,
        problem,
    }
}

impl RootFs for ImageRootFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        Ok(self.index.tree.get(path.as_str()).map(Node::metadata))
    }

    fn read_link(&self, path: &RootPath) -> io::Result<String> {
        let node = self.node(path)?;
        node.link
            .clone()
            .filter(|_| node.kind == NodeKind::Symlink)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{path} is not a symlink"),
                )
            })
    }

    fn read(&self, path: &RootPath, limit: u64) -> io::Result<Vec<u8>> {
        let node = self.file_node(path)?;
        if node.size > limit {
            return Err(super::too_large(node.size, limit));
        }
        let mut bytes = vec![0; node.size as usize];
        let n = self.read_at(path, 0, &mut bytes)?;
        if (n as u64) < node.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: the image is shorter than its index says (was it changed?)"),
            ));
        }
        Ok(bytes)
    }

    /// A kept copy, or a large file of a compressed layer copied into the scratch file first, is
    /// mapped; a small one is read.
    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        let node = self.file_node(path)?;
        if node.size > MAP_IN_MEMORY && self.kept(node).is_none() {
            let mut stream = self.open_stream(path, node)?;
            self.scratch.copy(&copy_key(node), &mut stream, node.size)?;
        }
        match self.kept(node) {
            Some(Kept::Scratch(region)) => self.scratch.map(region),
            Some(Kept::Blob(file)) if node.size > 0 => {
                // SAFETY: the blob was checked against its digest just now; cache blobs are
                // written once under their digest and never changed in place.
                Ok(Bytes::Mapped(unsafe { memmap2::Mmap::map(&file)? }))
            }
            _ => self.read(path, super::MAX_MAPPED).map(Bytes::Owned),
        }
    }

    /// A kept copy is read in place; a file only in a layer stream is read from a stream kept
    /// open near `offset` ([`cursors`]), else from its layer's start.
    fn read_at(&self, path: &RootPath, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let node = self.file_node(path)?;
        match self.kept(node) {
            Some(Kept::Scratch(region)) => return self.scratch.read_at(region, offset, buf),
            Some(Kept::Blob(file)) => return crate::rootfs::host::read_file_at(&file, offset, buf),
            None => {}
        }
        if offset >= node.size {
            return Ok(0);
        }
        let want = buf.len().min((node.size - offset) as usize);
        let (source, stream, start) = self.place(path, node)?;
        let pos = start + offset;
        let open = || source.open_at(&self.origin, pos);
        self.cursors.read_at(stream, pos, &mut buf[..want], open)
    }

    /// The first bytes of a file from the index when they are there (no layer decompressed).
    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        let node = self.file_node(path)?;
        if let Some(prefix) = node.prefix(len) {
            return Ok(prefix);
        }
        let mut bytes = vec![0; node.size.min(len as u64) as usize];
        let n = self.read_at(path, 0, &mut bytes)?;
        bytes.truncate(n);
        Ok(bytes)
    }

    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>> {
        match self.node(path)?.kind {
            NodeKind::Dir => Ok(self.index.tree.children(path.as_str())),
            _ => Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{path} is not a folder"),
            )),
        }
    }
}
