//! Image bundles: an OCI image layout (a folder or a tar) or a `docker save` archive. This module
//! finds the manifest for the architecture and lists its layers, in order, with their codecs and
//! digests. Small JSON files are read whole and checked against their digests here; layers are
//! checked while they are scanned.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ImageError;
use super::scan::{EntryKind, LayerEntry, normalise};
use super::source::{Codec, Origin, Source};
use crate::arch::Architecture;
use crate::digest::hex;

/// JSON documents (indexes, manifests, configs) larger than this are refused.
pub(super) const MAX_JSON: u64 = 16 << 20;
/// Nested indexes followed before the image counts as malformed.
const MAX_DEPTH: usize = 8;

/// One layer to apply.
pub(super) struct Layer {
    /// The layer's raw (possibly compressed) bytes.
    pub raw: Source,
    pub codec: Codec,
    /// The sha256 its raw bytes must have.
    pub digest: Option<String>,
    /// The length its raw bytes must have.
    pub size: Option<u64>,
    pub label: String,
}

/// The files of a bundle: a folder, or the members of a tar.
pub(super) enum Bundle {
    Dir,
    Tar(BTreeMap<String, Member>),
}

pub(super) enum Member {
    Bytes(Source),
    /// A symlink or hard link to another member (normalised).
    Link(String),
}

impl Bundle {
    /// The members of a tar whose decompressed stream is `stream`.
    pub(super) fn from_tar(stream: &Source, entries: &[LayerEntry]) -> Bundle {
        let mut members = BTreeMap::new();
        for e in entries {
            let member = match e.kind {
                EntryKind::File => Member::Bytes(Source::region(stream, e.offset, e.size)),
                EntryKind::Symlink | EntryKind::HardLink => {
                    let target = e.link.clone().unwrap_or_default();
                    let target = if e.kind == EntryKind::Symlink && !target.starts_with('/') {
                        let dir = e.path.rsplit_once('/').map_or("", |(d, _)| d);
                        format!("{dir}/{target}")
                    } else {
                        target
                    };
                    match normalise(&target) {
                        Ok(Some(t)) => Member::Link(t),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            members.insert(e.path.clone(), member);
        }
        Bundle::Tar(members)
    }

    /// Whether the tar's entries make it a bundle rather than a flat file system export.
    pub(super) fn is_bundle(entries: &[LayerEntry]) -> bool {
        entries
            .iter()
            .any(|e| e.path == "oci-layout" || e.path == "manifest.json")
    }

    fn has(&self, origin: &Origin, name: &str) -> bool {
        match self {
            // Anything there but a folder: opening it tells a symlink or a FIFO from a file.
            Bundle::Dir => fs::symlink_metadata(origin.path(Some(name))).is_ok_and(|m| !m.is_dir()),
            Bundle::Tar(members) => members.contains_key(name),
        }
    }

    fn source(&self, ctx: &Ctx, name: &str) -> Result<Source, ImageError> {
        let missing = || ctx.broken(Some(name), "is missing from the image");
        let Bundle::Tar(members) = self else {
            return if self.has(ctx.origin, name) {
                Ok(Source::Member(name.to_string()))
            } else {
                Err(missing())
            };
        };
        let mut name = name.to_string();
        for _ in 0..MAX_DEPTH {
            match members.get(&name).ok_or_else(missing)? {
                Member::Bytes(source) => return Ok(source.clone()),
                Member::Link(target) => name = target.clone(),
            }
        }
        Err(ctx.broken(Some(&name), "links to itself"))
    }

    fn read(&self, ctx: &Ctx, name: &str) -> Result<Vec<u8>, ImageError> {
        let source = self.source(ctx, name)?;
        let mut bytes = Vec::new();
        source
            .open_at(ctx.origin, 0)
            .and_then(|r| r.take(MAX_JSON + 1).read_to_end(&mut bytes))
            .map_err(|e| ctx.broken(Some(name), format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_JSON {
            return Err(ctx.broken(Some(name), format!("is over {MAX_JSON} bytes")));
        }
        Ok(bytes)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, ctx: &Ctx, name: &str) -> Result<T, ImageError> {
        let bytes = self.read(ctx, name)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ctx.broken(Some(name), format!("is not valid: {e}")))
    }
}

struct Ctx<'a> {
    origin: &'a Origin,
    bundle: &'a Bundle,
}

impl Ctx<'_> {
    fn broken(&self, entry: Option<&str>, problem: impl Into<String>) -> ImageError {
        ImageError::Broken {
            layer: String::new(),
            entry: entry.map(str::to_string),
            problem: problem.into(),
        }
    }

    /// `blobs/sha256/HEX` for a digest, checked for form.
    fn blob_name(&self, digest: &str) -> Result<(String, String), ImageError> {
        match digest.split_once(':') {
            Some(("sha256", hex))
                if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Ok((format!("blobs/sha256/{hex}"), hex.to_ascii_lowercase()))
            }
            _ => Err(self.broken(
                None,
                format!("unsupported digest {digest:?} (only sha256 is)"),
            )),
        }
    }

    /// A JSON blob, checked against its descriptor's digest and size.
    fn blob_json<T: for<'de> Deserialize<'de>>(&self, d: &Descriptor) -> Result<T, ImageError> {
        let (name, hex_digest) = self.blob_name(&d.digest)?;
        let bytes = self.bundle.read(self, &name)?;
        if let Some(size) = d.size
            && size != bytes.len() as u64
        {
            return Err(self.broken(
                Some(&name),
                format!(
                    "is {} bytes, not the {size} its descriptor says",
                    bytes.len()
                ),
            ));
        }
        let actual = hex(&Sha256::digest(&bytes));
        if actual != hex_digest {
            return Err(self.broken(
                Some(&name),
                format!("content has digest sha256:{actual}, not the one it is named by"),
            ));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| self.broken(Some(&name), format!("is not valid: {e}")))
    }
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    /// Required by the OCI image spec; checked when present.
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

impl Platform {
    fn describe(&self) -> String {
        let mut s = format!("{}/{}", self.os, self.architecture);
        if let Some(v) = &self.variant {
            s = format!("{s}/{v}");
        }
        s
    }
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
}

#[derive(Deserialize)]
struct DockerEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// The layers of the bundle's image for `arch`, bottom first.
pub(super) fn layers(
    origin: &Origin,
    bundle: &Bundle,
    arch: Architecture,
) -> Result<Vec<Layer>, ImageError> {
    let ctx = Ctx { origin, bundle };
    if bundle.has(origin, "oci-layout") && bundle.has(origin, "index.json") {
        oci_layers(&ctx, arch)
    } else if bundle.has(origin, "manifest.json") {
        docker_layers(&ctx, arch)
    } else {
        Err(ctx.broken(
            None,
            "has neither index.json (OCI image layout) nor manifest.json (docker save)",
        ))
    }
}

fn oci_layers(ctx: &Ctx, arch: Architecture) -> Result<Vec<Layer>, ImageError> {
    let index: Index = ctx.bundle.json(ctx, "index.json")?;
    let mut manifests = Vec::new();
    collect_manifests(ctx, index, 0, &mut manifests)?;
    let mut platforms = Vec::new();
    let mut loaded = Vec::new();
    for descriptor in manifests {
        let manifest: Manifest = ctx.blob_json(&descriptor)?;
        let platform = match descriptor.platform {
            Some(p) => Some((p.architecture.clone(), p.describe())),
            None => config_platform(ctx.blob_json(&manifest.config)?),
        };
        platforms.push(platform);
        loaded.push(manifest);
    }
    let chosen = choose(arch, &platforms)?;
    let manifest = &loaded[chosen];
    let mut layers = Vec::new();
    for d in &manifest.layers {
        let (name, digest) = ctx.blob_name(&d.digest)?;
        let codec = layer_codec(&d.media_type).ok_or_else(|| {
            ctx.broken(
                Some(&name),
                format!("has unknown media type {:?}", d.media_type),
            )
        })?;
        layers.push(Layer {
            raw: ctx.bundle.source(ctx, &name)?,
            codec,
            digest: Some(digest),
            size: d.size,
            label: name.clone(),
        });
    }
    Ok(layers)
}

fn collect_manifests(
    ctx: &Ctx,
    index: Index,
    depth: usize,
    out: &mut Vec<Descriptor>,
) -> Result<(), ImageError> {
    if depth > MAX_DEPTH {
        return Err(ctx.broken(None, "image indexes are nested too deeply"));
    }
    for d in index.manifests {
        match d.media_type.as_str() {
            "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json" => {
                let nested: Index = ctx.blob_json(&d)?;
                collect_manifests(ctx, nested, depth + 1, out)?;
            }
            ""
            | "application/vnd.oci.image.manifest.v1+json"
            | "application/vnd.docker.distribution.manifest.v2+json" => out.push(d),
            // Other artifacts (signatures, attestations of other types) are not images.
            _ => {}
        }
    }
    Ok(())
}

fn config_platform(config: Config) -> Option<(String, String)> {
    let arch = config.architecture?;
    let os = config.os.unwrap_or_default();
    Some((arch.clone(), format!("{os}/{arch}")))
}

/// The manifest for `arch`: the one whose platform names it, else the only one when its platform is
/// unknown. Otherwise an error naming the platforms present.
fn choose(arch: Architecture, platforms: &[Option<(String, String)>]) -> Result<usize, ImageError> {
    let wanted = arch.oci();
    if let Some(i) = platforms
        .iter()
        .position(|p| p.as_ref().is_some_and(|(a, _)| a == wanted))
    {
        return Ok(i);
    }
    if let [None] = platforms {
        return Ok(0);
    }
    Err(ImageError::Platform {
        wanted: format!("{} ({wanted})", arch.as_str()),
        present: platforms
            .iter()
            .map(|p| p.as_ref().map_or("unknown".to_string(), |(_, d)| d.clone()))
            .collect(),
    })
}

pub(super) fn layer_codec(media_type: &str) -> Option<Codec> {
    let tar = media_type
        .strip_prefix("application/vnd.oci.image.layer.v1.")
        .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."))
        .or_else(|| media_type.strip_prefix("application/vnd.docker.image.rootfs.diff."))?;
    match tar {
        "tar" => Some(Codec::None),
        "tar+gzip" | "tar.gzip" => Some(Codec::Gzip),
        "tar+zstd" | "tar.zstd" => Some(Codec::Zstd),
        _ => None,
    }
}

fn docker_layers(ctx: &Ctx, arch: Architecture) -> Result<Vec<Layer>, ImageError> {
    let entries: Vec<DockerEntry> = ctx.bundle.json(ctx, "manifest.json")?;
    let mut platforms = Vec::new();
    for e in &entries {
        let config: Config = ctx.bundle.json(ctx, &normal(ctx, &e.config)?)?;
        platforms.push(config_platform(config));
    }
    let chosen = choose(arch, &platforms)?;
    let mut layers = Vec::new();
    for path in &entries[chosen].layers {
        let name = normal(ctx, path)?;
        let raw = ctx.bundle.source(ctx, &name)?;
        let mut head = Vec::new();
        raw.open_at(ctx.origin, 0)
            .and_then(|r| r.take(8).read_to_end(&mut head))
            .map_err(|e| ctx.broken(Some(&name), format!("cannot read: {e}")))?;
        let codec = Codec::sniff(&head);
        layers.push(Layer {
            digest: docker_digest(&name, codec),
            size: None,
            raw,
            codec,
            label: name.clone(),
        });
    }
    Ok(layers)
}

fn normal(ctx: &Ctx, path: &str) -> Result<String, ImageError> {
    match normalise(path) {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(ctx.broken(Some(path), "names the image root")),
        Err(problem) => Err(ctx.broken(Some(path), problem)),
    }
}

/// The digest a docker-save layer's name promises: `blobs/sha256/HEX` always names its raw bytes;
/// `HEX.tar` names the uncompressed tar, which are its raw bytes when it is not compressed.
fn docker_digest(name: &str, codec: Codec) -> Option<String> {
    let is_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(hex) = name.strip_prefix("blobs/sha256/").filter(|h| is_hex(h)) {
        return Some(hex.to_string());
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    file.strip_suffix(".tar")
        .filter(|h| is_hex(h) && codec == Codec::None)
        .map(str::to_string)
}
