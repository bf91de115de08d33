//! The distribution API's documents: image indexes (OCI) and manifest lists (Docker), resolved to
//! the layer's platform, and image manifests (OCI and Docker schema 2) with their config and
//! layers. Any other media type is refused by name.

use serde::Deserialize;

use crate::arch::Architecture;
use crate::rootfs::ImageError;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Platform {
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

pub(super) enum Document {
    Index(Vec<Descriptor>),
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// The manifests an index or manifest list names (none for anything else): `gc` keeps an index
/// the store holds with the layouts of the manifests it names, since a pull by the index's digest
/// reads it again.
pub fn listed_manifests(bytes: &[u8]) -> Vec<String> {
    match parse(bytes, "") {
        Ok(Document::Index(entries)) => entries.into_iter().map(|d| d.digest).collect(),
        _ => Vec::new(),
    }
}

/// Reads a manifest; its type is the document's own `mediaType`, else the one the registry sent,
/// else (OCI lets `mediaType` out) what its fields show, as containers/image's `GuessMIMEType` does.
pub(super) fn parse(bytes: &[u8], sent_type: &str) -> Result<Document, String> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("not a manifest: {e}"))?;
    let guessed = if raw.manifests.is_some() {
        INDEX_TYPES[0]
    } else if raw.config.is_some() {
        MANIFEST_TYPES[0]
    } else {
        ""
    };
    let media_type = [raw.media_type.as_deref().unwrap_or(""), sent_type, guessed]
        .into_iter()
        .find(|t| !t.is_empty() && *t != "application/json" && *t != "text/plain")
        .unwrap_or_default()
        .to_string();
    if INDEX_TYPES.contains(&media_type.as_str()) {
        return Ok(Document::Index(raw.manifests.unwrap_or_default()));
    }
    if !MANIFEST_TYPES.contains(&media_type.as_str()) {
        return Err(format!("unknown media type {media_type:?}"));
    }
    let config = raw.config.ok_or("the manifest names no config")?;
    let layers = raw.layers.unwrap_or_default();
    if let Some(bad) = layers
        .iter()
        .find(|l| !crate::rootfs::image::is_layer_media_type(&l.media_type))
    {
        return Err(format!(
            "layer {} has unknown media type {:?}",
            bad.digest, bad.media_type
        ));
    }
    Ok(Document::Image {
        media_type,
        config,
        layers,
    })
}

/// The index entry for `arch` on Linux (an arm64 entry of variant v8 or none); an index without it
/// is the same [`ImageError::Platform`] an image file without it gives.
pub(super) fn choose(
    entries: &[Descriptor],
    arch: Architecture,
) -> Result<&Descriptor, ImageError> {
    let wanted = arch.oci();
    let fits = |d: &&Descriptor| {
        MANIFEST_TYPES.contains(&d.media_type.as_str())
            && d.platform.as_ref().is_some_and(|p| {
                (p.os.is_empty() || p.os == "linux")
                    && p.architecture == wanted
                    && p.variant
                        .as_deref()
                        .is_none_or(|v| v == "v8" || wanted != "arm64")
            })
    };
    entries
        .iter()
        .find(fits)
        .ok_or_else(|| ImageError::Platform {
            wanted: format!("{} ({wanted})", arch.as_str()),
            present: entries
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect(),
        })
}

/// The lower-case hex of a `sha256:HEX` digest, checked for form.
pub(super) fn sha256_hex(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_read_guessed_or_refused() {
        let image = br#"{"schemaVersion":2,"config":{"digest":"sha256:00","size":1},"layers":[]}"#;
        assert!(matches!(parse(image, ""), Ok(Document::Image { .. })));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse(index, "application/json"),
            Ok(Document::Index(_))
        ));
        let schema1 = br#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        let err = parse(schema1, "").err().unwrap();
        assert!(err.contains("unknown media type"), "{err}");
        let odd_layer = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:00"},"layers":[{"mediaType":"application/x-odd","digest":"sha256:11"}]}"#;
        let err = parse(odd_layer, "").err().unwrap();
        assert!(
            err.contains("unknown media type \"application/x-odd\""),
            "{err}"
        );
    }
}
