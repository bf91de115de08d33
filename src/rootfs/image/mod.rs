//! A rootfs read from a container image: a flat tar (`docker export`, optionally gzip, xz or zstd
//! compressed), a `docker save` archive, or an OCI image layout (a folder or a tar).
//!
//! Opening an image reads it once into an index: the merged tree of its layers (path → kind, mode,
//! size, link target, and the layer stream and offset of a file's bytes). The index is cached by the
//! image's content hash and the architecture, so later runs open the image without reading it.
//! Nothing is extracted: a file's bytes are read on demand at their offset. For compressed layers,
//! where that means decompressing the layer up to the file, the bytes of shared objects are kept in
//! the cache while indexing, so resolution reads them directly.

mod cache;
mod layout;
mod scan;
mod source;
mod tree;

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Bytes, Metadata, RootFs, RootPath};
use crate::arch::Architecture;
use cache::Cache;
use layout::Bundle;
use scan::Scan;
use source::{Codec, Source};
use tree::{Node, NodeKind, Tree};

/// Bumped whenever the index format or its meaning changes: older cached indexes are ignored.
const INDEX_VERSION: u32 = 1;

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

#[derive(Serialize, Deserialize)]
struct Index {
    version: u32,
    /// Each layer's decompressed stream; `Node::at` points into these.
    streams: Vec<Source>,
    tree: Tree,
}

pub struct ImageRootFs {
    image: PathBuf,
    index: Index,
    cache: Option<Cache>,
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
        let image = fs::canonicalize(path)?;
        let key = match &cache {
            Some(cache) => Some(format!(
                "{}-{}-v{INDEX_VERSION}",
                content_hash(&image, cache)?,
                arch.as_str()
            )),
            None => None,
        };
        let cached = match (&cache, &key) {
            (Some(cache), Some(key)) => load_index(&cache.index_path(key)),
            _ => None,
        };
        if let Some(index) = cached {
            return Ok(ImageRootFs {
                image,
                index,
                cache,
            });
        }
        let index = build_index(&image, arch, cache.as_ref()).map_err(io::Error::other)?;
        if let (Some(cache), Some(key)) = (&cache, &key)
            && let Ok(json) = serde_json::to_vec(&index)
        {
            // A cache that cannot be written only costs speed.
            let _ = cache.write(&cache.index_path(key), &json);
        }
        Ok(ImageRootFs {
            image,
            index,
            cache,
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

    /// A reader of a file's bytes: the cached copy when there is one, else the layer stream.
    fn open_file(&self, path: &RootPath) -> io::Result<(Box<dyn Read>, u64)> {
        let node = self.node(path)?;
        if node.kind != NodeKind::File {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path} is not a file"),
            ));
        }
        if let (Some(digest), Some(cache)) = (&node.cached, &self.cache)
            && let Ok(file) = fs::File::open(cache.blob_path(digest))
        {
            return Ok((Box::new(file), node.size));
        }
        let (stream, offset) = node.at.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{path} has no bytes"))
        })?;
        let source = self.index.streams.get(stream as usize).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path}: bad stream in the index"),
            )
        })?;
        Ok((Box::new(source.open_at(&self.image, offset)?), node.size))
    }
}

fn load_index(path: &Path) -> Option<Index> {
    let bytes = fs::read(path).ok()?;
    let index: Index = serde_json::from_slice(&bytes).ok()?;
    (index.version == INDEX_VERSION).then_some(index)
}

/// What identifies an image's content: the hash of a file image, or of an OCI folder's index.json
/// (every other file of the layout is named by its digest, and checked against it when indexed).
fn content_hash(image: &Path, cache: &Cache) -> io::Result<String> {
    if image.is_dir() {
        let mut index = Vec::new();
        crate::rootfs::open_host_regular(&image.join("index.json"))?.read_to_end(&mut index)?;
        Ok(cache::hex(&sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(&index),
        )))
    } else {
        cache.file_hash(image)
    }
}

/// Reads the whole image once and builds its index.
fn build_index(
    image: &Path,
    arch: Architecture,
    cache: Option<&Cache>,
) -> Result<Index, ImageError> {
    let label = String::new();
    let limits = Limits::from_env();
    let progress = progress_bar(&image.display().to_string());
    let mut total = 0;
    let mut tree = Tree::default();
    let bundle = if image.is_dir() {
        Bundle::Dir
    } else {
        let codec = sniff_tar(image, &label)?;
        let stream = Source::Image.decoded(codec);
        progress.inc_length(fs::metadata(image).map_or(0, |m| m.len()));
        let file = crate::rootfs::open_host_regular(image)
            .map_err(|e| broken(&label, None, e.to_string()))?;
        let entries = Scan {
            label: label.clone(),
            codec,
            digest: None,
            limits,
            total: &mut total,
            keep: cache.filter(|_| codec != Codec::None),
            progress: &progress,
        }
        .run(io::BufReader::with_capacity(1 << 16, file))?;
        if !Bundle::is_bundle(&entries) {
            apply(&mut tree, 0, &entries, &label)?;
            progress.finish_and_clear();
            return Ok(Index {
                version: INDEX_VERSION,
                streams: vec![stream],
                tree,
            });
        }
        Bundle::from_tar(&stream, &entries)
    };
    let layers = layout::layers(image, &bundle, arch)?;
    let mut streams = Vec::new();
    for (i, layer) in layers.into_iter().enumerate() {
        let raw = layer
            .raw
            .open_at(image, 0)
            .map_err(|e| broken(&layer.label, None, format!("cannot read: {e}")))?;
        let direct = layer.raw.seekable() && layer.codec == Codec::None;
        let entries = Scan {
            label: layer.label.clone(),
            codec: layer.codec,
            digest: layer.digest,
            limits,
            total: &mut total,
            keep: cache.filter(|_| !direct),
            progress: &progress,
        }
        .run(raw)?;
        apply(&mut tree, i as u32, &entries, &layer.label)?;
        streams.push(layer.raw.decoded(layer.codec));
    }
    progress.finish_and_clear();
    Ok(Index {
        version: INDEX_VERSION,
        streams,
        tree,
    })
}

fn apply(
    tree: &mut Tree,
    stream: u32,
    entries: &[scan::LayerEntry],
    label: &str,
) -> Result<(), ImageError> {
    tree.apply(stream, entries)
        .map_err(|(entry, problem)| broken(label, Some(entry), problem))
}

fn broken(layer: &str, entry: Option<String>, problem: String) -> ImageError {
    ImageError::Broken {
        layer: layer.to_string(),
        entry,
        problem,
    }
}

/// The codec of a file image, after checking that it holds a tar.
fn sniff_tar(image: &Path, label: &str) -> Result<Codec, ImageError> {
    let fail = |e: io::Error| broken(label, None, format!("cannot read: {e}"));
    let mut head = Vec::new();
    crate::rootfs::open_host_regular(image)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(fail)?;
    let codec = Codec::sniff(&head);
    let mut block = Vec::new();
    // A stream too short or too corrupt to give one block is reported by the scan itself.
    let _ = Source::Image
        .decoded(codec)
        .open_at(image, 0)
        .and_then(|r| r.take(512).read_to_end(&mut block));
    if block.len() == 512 && &block[257..262] != b"ustar" {
        return Err(broken(
            label,
            None,
            "is not a folder, a tar archive, or a gzip, xz or zstd compressed tar".to_string(),
        ));
    }
    Ok(codec)
}

/// A progress bar on stderr while an image is first indexed; hidden when stderr is not a terminal.
fn progress_bar(label: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("indexing {msg} {wide_bar} {bytes}/{total_bytes}")
    {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar
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
        let (reader, size) = self.open_file(path)?;
        if size > limit {
            return Err(super::too_large(size, limit));
        }
        let mut bytes = Vec::with_capacity(size.min(1 << 26) as usize);
        reader.take(size).read_to_end(&mut bytes)?;
        if (bytes.len() as u64) < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: the image is shorter than its index says (was it changed?)"),
            ));
        }
        Ok(bytes)
    }

    fn map(&self, path: &RootPath) -> io::Result<Bytes> {
        let node = self.node(path)?;
        if let (Some(digest), Some(cache)) = (&node.cached, &self.cache)
            && let Ok(file) = fs::File::open(cache.blob_path(digest))
            && node.size > 0
        {
            // SAFETY: cache blobs are written once under their digest and never changed in place.
            return Ok(Bytes::Mapped(unsafe { memmap2::Mmap::map(&file)? }));
        }
        self.read(path, super::MAX_MAPPED).map(Bytes::Owned)
    }

    /// The cached copy is read in place; a file only in a layer stream is read from its start,
    /// skipping `offset` bytes.
    fn read_at(&self, path: &RootPath, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let node = self.node(path)?;
        if let (Some(digest), Some(cache)) = (&node.cached, &self.cache)
            && let Ok(file) = fs::File::open(cache.blob_path(digest))
        {
            return crate::rootfs::read_file_at(&file, offset, buf);
        }
        let (reader, size) = self.open_file(path)?;
        let mut reader = reader.take(size);
        io::copy(&mut (&mut reader).take(offset), &mut io::sink())?;
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    fn read_prefix(&self, path: &RootPath, len: usize) -> io::Result<Vec<u8>> {
        let (reader, size) = self.open_file(path)?;
        let mut bytes = Vec::with_capacity(len.min(1 << 16));
        reader.take(size.min(len as u64)).read_to_end(&mut bytes)?;
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
