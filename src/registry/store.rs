//! Pulled images in the image cache (`images/registry/` under the cache root): every blob once by
//! digest (`blobs/sha256/HEX`, written only after its digest was checked), an OCI image layout per
//! platform manifest (`layouts/HEX/`: `oci-layout`, an `index.json` naming the manifest, and hard
//! links to the blobs) that the image reader opens like any layout folder, with a marker beside it
//! (`layouts/HEX.used`: the blobs it is made of, held by every process using it, its mtime the
//! layout's last use; [`crate::store::lease`]), and the digest each tag named when it was last
//! resolved (`tags/`), for working offline.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::sha256_hex;

pub struct ImageStore {
    dir: PathBuf,
}

impl ImageStore {
    /// The store under the cache root ([`crate::cache_dir`]); `None` when there is no cache root.
    pub fn from_env() -> Option<ImageStore> {
        crate::cache_dir::root().map(|root| ImageStore::at(root.join("images/registry")))
    }

    pub fn at(dir: PathBuf) -> ImageStore {
        ImageStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The blobs by digest (`blobs/sha256/`).
    pub fn blobs_dir(&self) -> PathBuf {
        self.dir.join("blobs/sha256")
    }

    /// The layouts (`layouts/HEX/`), each with its marker `HEX.used` beside it.
    pub fn layouts_dir(&self) -> PathBuf {
        self.dir.join("layouts")
    }

    /// The digests tags named last (`tags/`).
    pub fn tags_dir(&self) -> PathBuf {
        self.dir.join("tags")
    }

    /// The marker of a platform manifest's layout ([`crate::store::lease`]).
    pub fn marker_path(&self, manifest_hex: &str) -> PathBuf {
        crate::store::lease::marker_of(&self.layouts_dir().join(manifest_hex))
    }

    /// Marks the layout of `manifest` and the blobs it is made of as in use by this process, before
    /// they are fetched, so that `gc` leaves them alone.
    pub fn hold(&self, manifest: &str, blobs: &[&str]) -> io::Result<()> {
        let hex = sha256_hex(manifest)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad digest"))?;
        let keeps: Vec<String> = std::iter::once(&manifest)
            .chain(blobs)
            .map(|d| d.to_string())
            .collect();
        crate::store::lease::hold(&self.marker_path(&hex), &keeps)
    }

    /// Where a blob lives, and whether it is there.
    pub fn blob_path(&self, digest: &str) -> io::Result<PathBuf> {
        let hex = sha256_hex(digest).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("bad digest {digest}"))
        })?;
        let dir = self.blobs_dir();
        fs::create_dir_all(&dir)?;
        Ok(dir.join(hex))
    }

    /// A small blob (a manifest) read back and checked against its digest; `None` when absent or
    /// damaged (a damaged one is removed).
    pub fn read_blob(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest).ok()?;
        let bytes = fs::read(&path).ok()?;
        if format!("sha256:{}", crate::digest::hex(&Sha256::digest(&bytes))) == digest {
            Some(bytes)
        } else {
            let _ = fs::remove_file(&path);
            None
        }
    }

    /// Stores bytes already checked against `digest`.
    pub fn put_blob(&self, digest: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.blob_path(digest)?;
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
        Ok(())
    }

    fn tag_path(&self, reference: &str) -> PathBuf {
        let key = crate::digest::hex(&Sha256::digest(reference.as_bytes()));
        self.tags_dir().join(key)
    }

    /// Records the digest a tag reference resolved to.
    pub fn remember_tag(&self, reference: &str, digest: &str) -> io::Result<()> {
        let path = self.tag_path(reference);
        fs::create_dir_all(path.parent().unwrap_or(&self.dir))?;
        write_atomic(&path, format!("{reference}\n{digest}\n").as_bytes())
    }

    /// The digest a tag reference resolved to last.
    pub fn recall_tag(&self, reference: &str) -> Option<String> {
        let text = fs::read_to_string(self.tag_path(reference)).ok()?;
        let mut lines = text.lines();
        (lines.next()? == reference).then_some(())?;
        lines
            .next()
            .filter(|d| sha256_hex(d).is_some())
            .map(str::to_string)
    }

    /// The layout folder of a platform manifest whose blobs are all stored, made when missing.
    pub fn layout(
        &self,
        manifest: &str,
        media_type: &str,
        size: u64,
        blobs: &[&str],
    ) -> io::Result<PathBuf> {
        let hex = sha256_hex(manifest)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad digest"))?;
        let parent = self.layouts_dir();
        let target = parent.join(&hex);
        if target.join("index.json").is_file() {
            return Ok(target);
        }
        fs::create_dir_all(&parent)?;
        let tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .tempdir_in(&parent)?;
        let blob_dir = tmp.path().join("blobs/sha256");
        fs::create_dir_all(&blob_dir)?;
        for digest in std::iter::once(&manifest).chain(blobs) {
            let from = self.blob_path(digest)?;
            let to = blob_dir.join(sha256_hex(digest).unwrap_or_default());
            if !to.exists() && fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to)?;
            }
        }
        fs::write(
            tmp.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": media_type, "digest": manifest, "size": size}],
        });
        fs::write(tmp.path().join("index.json"), index.to_string())?;
        let made = tmp.keep();
        if fs::rename(&made, &target).is_err() {
            // Another process made the same layout meanwhile: its bytes are the same.
            let _ = fs::remove_dir_all(&made);
            if !target.join("index.json").is_file() {
                return Err(io::Error::other(format!(
                    "cannot make the layout folder {}",
                    target.display()
                )));
            }
        }
        Ok(target)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
