//! `layer.lock`: what a build was made from (each layer's runtime entries, every shipped file's
//! rootfs path, size and sha256, its aliases) and the sha256 of the zip it gave.
//!
//! Invariant: the lock is computed from an analysis and the rootfs bytes alone (read through
//! `RootFs`), its text is deterministic (layers in spec order, entries sorted by path), and
//! comparing two locks only finds differences: it never writes.

mod drift;
mod images;
mod key;
mod packages;
mod text;

use sha2::{Digest, Sha256};

use crate::analysis::Analysis;
use crate::digest::hex;
use crate::plan::Content;
use crate::resolve::OpenRootfs;
use crate::rootfs::RootPath;
use crate::spec::Target;

pub use crate::file_digests::{Digests, ReadAll, sha256_in};
pub use crate::package_pin::Chosen;
pub use drift::{drift, drift_on_disk, on_disk, path};
pub use key::{store_key, store_key_from_lock};
pub use packages::LockedPackages;
pub use text::{ParseError, parse, parse_kdl, read_fixed, render};

/// The lock file's name, beside the spec.
pub const FILE_NAME: &str = "layer.lock";

/// The largest lock read back: about 150 bytes a shipped file, so room for hundreds of thousands.
pub const MAX_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    /// The runtime catalog's data version.
    pub catalog: String,
    pub layers: Vec<LockedLayer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockedLayer {
    pub name: String,
    /// Each runtime id with the sha256 of its catalog entry (and its OS base's).
    pub runtimes: Vec<(String, String)>,
    pub files: Vec<LockedFile>,
    /// Alias path inside the layer → the name it points at.
    pub aliases: Vec<(String, String)>,
    /// The images named by `docker://` reference.
    pub images: Vec<LockedImage>,
    /// The sha256 of what the layer's spec asks for ([`spec_hash`]): a lock whose layer was
    /// written for another spec cannot stand in for resolving it (`build --locked` from a cache).
    pub spec: Option<String>,
    /// The package rootfs, when the layer's rootfs is made of packages.
    pub packages: LockedPackages,
    /// The sha256 of the built zip, when a build made it.
    pub zip: Option<String>,
}

/// An image a layer names by reference, as it was pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedImage {
    /// `rootfs` or `target-rootfs`.
    pub node: String,
    pub reference: String,
    /// The digest the reference named (an index, or the manifest of a one-platform image).
    pub index: String,
    /// The layer's platform manifest.
    pub manifest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedFile {
    /// Path inside the layer.
    pub path: String,
    /// Real path inside the rootfs it was copied from.
    pub source: String,
    pub size: u64,
    /// The zip entry's normalised mode (0755 or 0644); `None` in a lock written before modes were
    /// recorded.
    pub mode: Option<u32>,
    pub sha256: String,
}

impl Lock {
    pub fn layer(&self, name: &str) -> Option<&LockedLayer> {
        self.layers.iter().find(|l| l.name == name)
    }
}

/// A shipped file that could not be read to hash it.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} in the rootfs of layer {layer}: {source}")]
pub struct ReadError {
    pub layer: String,
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// The lock of an analysed spec: every shipped file is read and hashed.
pub fn compute(analysis: &Analysis) -> Result<Lock, ReadError> {
    compute_with(analysis, &mut ReadAll)
}

/// The lock of an analysed spec, with each shipped file's digest from `digests`.
pub fn compute_with(analysis: &Analysis, digests: &mut dyn Digests) -> Result<Lock, ReadError> {
    let mut layers = Vec::new();
    for layer in &analysis.layers {
        let spec = analysis.spec.layer(layer.name());
        let runtimes = spec
            .and_then(|s| s.target.as_ref())
            .map(runtime_hashes)
            .unwrap_or_default();
        let files = layer
            .plan
            .entries
            .iter()
            .filter_map(|e| match &e.content {
                Content::File { source, mode, .. } => Some((e.path.to_string(), source, *mode)),
                Content::Symlink { .. } => None,
            })
            .map(|(path, source, mode)| {
                let mut file = locked_file(digests, &layer.rootfs, path, source, layer.name())?;
                file.mode = Some(mode);
                Ok(file)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let aliases = layer
            .plan
            .entries
            .iter()
            .filter_map(|e| match &e.content {
                Content::Symlink { target } => Some((e.path.to_string(), target.to_string())),
                Content::File { .. } => None,
            })
            .collect();
        layers.push(LockedLayer {
            name: layer.name().to_string(),
            runtimes,
            files,
            aliases,
            images: images::locked(analysis, layer.name()),
            spec: spec.map(spec_hash),
            packages: packages::locked(analysis, layer.name()),
            zip: None,
        });
    }
    let catalog = analysis
        .spec
        .layers
        .iter()
        .find_map(|l| l.target.as_ref())
        .map(|t| t.catalog.version.clone())
        .unwrap_or_default();
    Ok(Lock { catalog, layers })
}

fn locked_file(
    digests: &mut dyn Digests,
    rootfs: &OpenRootfs,
    path: String,
    source: &RootPath,
    layer: &str,
) -> Result<LockedFile, ReadError> {
    let (size, sha256) = digests.digest(rootfs, source).map_err(|source| ReadError {
        layer: layer.to_string(),
        path: path.clone(),
        source,
    })?;
    Ok(LockedFile {
        path,
        source: source.to_string(),
        size,
        mode: None,
        sha256,
    })
}

/// The sha256 of everything a layer's spec asks for that can change its zip: runtimes,
/// architecture, rootfs, target, folder, libraries, exclusions and files, in spec order (spans,
/// comments and the description left out).
pub fn spec_hash(layer: &crate::spec::LayerSpec) -> String {
    use std::fmt::Write;
    let mut text = format!("layerc-layer-spec 1\nname {:?}\n", layer.name.value);
    for runtime in &layer.runtimes {
        let _ = writeln!(text, "runtime {:?}", runtime.value);
    }
    let _ = writeln!(text, "architecture {}", layer.architecture.value.as_str());
    if let Some(rootfs) = &layer.rootfs {
        let _ = writeln!(text, "rootfs {:?}", rootfs.value);
    }
    if let Some(described) = &layer.described_by {
        let _ = writeln!(text, "target {:?}", described.value);
    }
    let _ = writeln!(text, "tls-unverified {:?}", layer.unverified_tls);
    let _ = writeln!(text, "dir {:?}", layer.dir.value.as_str());
    for library in &layer.libraries {
        let _ = writeln!(
            text,
            "library {:?} override={} optional={} alias={:?}",
            library.name.value,
            library.override_runtime,
            library.optional,
            library.alias.as_ref().map(|a| &a.value)
        );
    }
    for source in layer.packages.iter().flat_map(|p| &p.sources) {
        let _ = writeln!(
            text,
            "packages {} {:?} suite={:?} components={:?} key={:?} mirror={:?} trusted={} {:?}",
            source.kind.name(),
            source.value.value,
            source.suite,
            source.components,
            source.key.as_ref().map(|k| &k.value),
            source.mirror,
            source.trusted,
            source.packages.iter().map(|p| &p.value).collect::<Vec<_>>()
        );
    }
    for exclude in &layer.excludes {
        let _ = writeln!(text, "exclude {:?}", exclude.value);
    }
    for file in &layer.files {
        let _ = writeln!(
            text,
            "file {:?} to={:?}",
            file.from.value,
            file.to.value.as_str()
        );
    }
    hex(&Sha256::digest(text.as_bytes()))
}

/// Each runtime with a hash of its catalog entry and its OS base's entry: a changed listing,
/// ceiling or date changes the hash.
pub fn runtime_hashes(target: &Target) -> Vec<(String, String)> {
    target
        .runtimes
        .iter()
        .map(|r| {
            let entry = format!("{r:?}\n{:?}", target.os);
            (r.id.clone(), hex(&Sha256::digest(entry.as_bytes())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::spec_hash;
    use crate::runtime::Catalog;

    fn hash_of(layer_body: &str) -> String {
        let text = format!("layer \"l\" {{\n    runtime \"provided.al2023\"\n{layer_body}}}\n");
        let (spec, diagnostics) = crate::spec::parse(&text, Catalog::builtin());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        spec_hash(&spec.layers[0])
    }

    /// What a layer.lock vouches for without resolving: a package block's sources and package
    /// list, and each library's `alias=`, change the hash; comments and layout do not.
    #[test]
    fn the_spec_hash_covers_packages_and_aliases() {
        let packages = |names: &str, key: &str| {
            format!(
                "    rootfs {{\n        debian \"bullseye\"{key} {{\n{names}        }}\n    }}\n    library \"libgdiplus.so.0\"\n"
            )
        };
        let one = "            package \"libgdiplus\"\n";
        let two = "            package \"libgdiplus\"\n            package \"libicu67\"\n";
        let base = hash_of(&packages(one, ""));
        assert_ne!(base, hash_of(&packages(two, "")));
        assert_ne!(base, hash_of(&packages(one, " key=\"k.gpg\"")));
        let commented = packages(one, "").replace("\"libgdiplus\"\n", "\"libgdiplus\" // it\n");
        assert_eq!(base, hash_of(&commented));
        let bullseye = packages(one, "");
        assert_ne!(base, hash_of(&bullseye.replace("bullseye", "bookworm")));
        let plain = hash_of("    rootfs \"r\"\n    library \"libgdiplus.so.0\"\n");
        let aliased = "    rootfs \"r\"\n    library \"libgdiplus.so.0\" alias=\"libgdiplus.so\"\n";
        assert_ne!(plain, hash_of(aliased));
    }
}
