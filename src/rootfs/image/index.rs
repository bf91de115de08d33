//! An image's index: the merged tree of its layers and the streams their bytes are in. Made by
//! reading the image once ([`build`]), or loaded back from the cache ([`Index::load`]), where it is
//! untrusted input: it is used only when it names the key it was stored under, and every stream
//! and path in it has a form this module could have written.

use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cache::{Cache, Keeper};
use super::layout::{self, Bundle};
use super::scan::{self, Scan, Tally};
use super::scratch::Scratch;
use super::source::{Codec, Origin, Source};
use super::tree::Tree;
use super::{ImageError, Limits};
use crate::arch::Architecture;

/// Bumped whenever the index format or its meaning changes: older cached indexes are ignored.
pub(super) const VERSION: u32 = 4;

#[derive(Serialize, Deserialize)]
pub(super) struct Index {
    pub version: u32,
    /// The cache key it was made for (the image's content hash, the architecture, the version).
    pub key: String,
    /// Each layer's decompressed stream; `Node::at` points into these.
    pub streams: Vec<Source>,
    pub tree: Tree,
}

impl Index {
    /// The index stored under `key`, when there is one of this version, made for this key, whose
    /// streams and paths are well formed.
    pub(super) fn load(cache: &Cache, key: &str) -> Option<Index> {
        let bytes = cache.read_index(key)?;
        let index: Index = serde_json::from_slice(&bytes).ok()?;
        let fits = index.version == VERSION
            && index.key == key
            && index.streams.iter().all(Source::is_well_formed)
            && index.tree.is_well_formed(index.streams.len());
        fits.then_some(index)
    }

    /// Stores the index under its key (nothing when the cache is read-only).
    pub(super) fn save(&self, cache: &Cache) {
        if let Ok(json) = serde_json::to_vec(self) {
            // A cache that cannot be written only costs speed.
            let _ = cache.write(&cache.index_path(&self.key), &json);
        }
    }
}

/// The digests of the cache blobs an index file refers to (for `gc`); `None` when it is not an
/// index (then nothing is known to be kept for it).
pub fn kept_blobs(index_file: &Path) -> Option<Vec<String>> {
    #[derive(Deserialize)]
    struct Refs {
        tree: TreeRefs,
    }
    #[derive(Deserialize)]
    struct TreeRefs {
        nodes: std::collections::BTreeMap<String, NodeRefs>,
    }
    #[derive(Deserialize)]
    struct NodeRefs {
        #[serde(default)]
        cached: Option<String>,
    }
    let file = crate::rootfs::host::open_regular_nofollow(index_file).ok()?;
    let bytes = crate::rootfs::host::read_open(file, super::cache::MAX_INDEX_BYTES).ok()?;
    let refs: Refs = serde_json::from_slice(&bytes).ok()?;
    Some(
        refs.tree
            .nodes
            .into_values()
            .filter_map(|n| n.cached)
            .collect(),
    )
}

/// Reads the whole image once and builds its index; shared objects of compressed layers are kept
/// in the cache (or `scratch`, when the cache cannot be written).
pub(super) fn build(
    origin: &Origin,
    key: String,
    arch: Architecture,
    cache: Option<&Cache>,
    scratch: &Scratch,
) -> Result<Index, ImageError> {
    let image = origin.image();
    let label = String::new();
    let limits = Limits::from_env();
    let progress = progress_bar(&image.display().to_string());
    let mut keeper = Keeper::new(cache, scratch);
    let mut tally = Tally::default();
    let mut tree = Tree::default();
    let bundle = if image.is_dir() {
        Bundle::Dir
    } else {
        let codec = sniff_tar(origin, &label)?;
        let stream = Source::Image.decoded(codec);
        let file = origin
            .open(None)
            .map_err(|e| broken(&label, None, e.to_string()))?;
        progress.inc_length(file.metadata().map_or(0, |m| m.len()));
        let entries = Scan {
            label: label.clone(),
            codec,
            digest: None,
            size: None,
            limits,
            tally: &mut tally,
            keep: (codec != Codec::None).then_some(&mut keeper),
            progress: &progress,
        }
        .run(io::BufReader::with_capacity(1 << 16, file))?;
        if entries.is_empty() {
            return Err(broken(
                &label,
                None,
                "is a tar archive with no entries".into(),
            ));
        }
        if !Bundle::is_bundle(&entries) {
            apply(&mut tree, 0, &entries, &label)?;
            progress.finish_and_clear();
            return Ok(Index {
                version: VERSION,
                key,
                streams: vec![stream],
                tree,
            });
        }
        Bundle::from_tar(&stream, &entries)
    };
    let layers = layout::layers(origin, &bundle, arch)?;
    let mut streams = Vec::new();
    for (i, layer) in layers.into_iter().enumerate() {
        let raw = layer
            .raw
            .open_at(origin, 0)
            .map_err(|e| broken(&layer.label, None, format!("cannot read: {e}")))?;
        let direct = layer.raw.seekable() && layer.codec == Codec::None;
        let entries = Scan {
            label: layer.label.clone(),
            codec: layer.codec,
            digest: layer.digest,
            size: layer.size,
            limits,
            tally: &mut tally,
            keep: (!direct).then_some(&mut keeper),
            progress: &progress,
        }
        .run(raw)?;
        apply(&mut tree, i as u32, &entries, &layer.label)?;
        streams.push(layer.raw.decoded(layer.codec));
    }
    progress.finish_and_clear();
    Ok(Index {
        version: VERSION,
        key,
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

/// The codec of a file image, after checking that it holds a tar: an empty file, or one whose
/// first block is not a tar header, is not an image.
fn sniff_tar(origin: &Origin, label: &str) -> Result<Codec, ImageError> {
    let fail = |e: io::Error| broken(label, None, format!("cannot read: {e}"));
    let mut head = Vec::new();
    origin
        .open(None)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(fail)?;
    if head.is_empty() {
        return Err(broken(label, None, "is empty (0 bytes)".to_string()));
    }
    let codec = Codec::sniff(&head);
    let mut block = Vec::new();
    // A stream too short or too corrupt to give one block is reported by the scan itself.
    let _ = Source::Image
        .decoded(codec)
        .open_at(origin, 0)
        .and_then(|r| r.take(512).read_to_end(&mut block));
    if block.len() == 512 && &block[257..262] != b"ustar" && block.iter().any(|&b| b != 0) {
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
    bar.set_message(crate::escape::controls(label).into_owned());
    bar
}

/// What identifies an image's content, and the stamp the files had when hashed: the hash of a file
/// image, or of an OCI folder's `index.json` (every other file of the layout is named by its
/// digest, and is checked against it before it is used).
pub(super) fn content_hash(origin: &Origin, cache: &Cache) -> io::Result<String> {
    let image = origin.image();
    if image.is_dir() {
        let path = image.join("index.json");
        let file = crate::rootfs::host::open_regular_nofollow(&path).map_err(named(&path))?;
        let stamp = crate::rootfs::Stamp::of(&file.metadata()?);
        let bytes = crate::rootfs::host::read_open(file, layout::MAX_JSON).map_err(named(&path))?;
        origin.checked(Some("index.json"), stamp);
        Ok(crate::digest::hex(&sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes),
        )))
    } else {
        let file = crate::rootfs::host::open_regular(image).map_err(named(image))?;
        let (hash, stamp) = cache.file_hash(image, &file).map_err(named(image))?;
        origin.checked(None, stamp);
        Ok(hash)
    }
}

/// An error about a host file, naming it.
fn named(path: &Path) -> impl Fn(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Checks every layout blob the index reads from against the digest it is named by (its size and
/// sha256, from the memo while its stamp holds), and records it as checked.
pub(super) fn verify_members(index: &Index, origin: &Origin, cache: &Cache) -> io::Result<()> {
    for name in index.streams.iter().filter_map(Source::file) {
        let expected = super::source::member_digest(name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{name}: not a blob name"),
            )
        })?;
        let path = origin.path(Some(name));
        let file = crate::rootfs::host::open_regular_nofollow(&path).map_err(named(&path))?;
        let (actual, stamp) = cache.file_hash(&path, &file)?;
        if actual != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{name}: content has digest sha256:{actual}, not the one it is named by"),
            ));
        }
        origin.checked(Some(name), stamp);
    }
    Ok(())
}
