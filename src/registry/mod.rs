//! Images by reference: `docker://REGISTRY/REPO:TAG` or `...@sha256:...` pulled over the OCI
//! distribution API into the image store, where the image reader opens it as an OCI layout.
//!
//! A pull resolves the reference to the digest of what it names (an index or a manifest), picks
//! the layer's platform from an index, and fetches only the blobs the store lacks, in parallel,
//! each checked for size and digest while it streams. Nothing goes to the network when the store
//! already holds everything a digest names; a tag is asked of the registry each time, and when the
//! registry cannot be reached the digest it named last (or the lock's) is used from the store.

mod auth;
mod manifest;
mod pulls;
mod remote;
mod store;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::arch::Architecture;
use crate::net::{Client, Expected, NetError, Problem, Tls};
use crate::rootfs::ImageError;
use manifest::{Descriptor, Document};
use remote::Remote;

pub use crate::reference::{Reference, SCHEME, is_reference};
pub use manifest::listed_manifests;
pub use pulls::Pulls;
pub use store::ImageStore;

/// Blobs fetched at once.
const PARALLEL_BLOBS: usize = 4;
/// The largest blob accepted when its descriptor gives no size.
const MAX_BLOB: u64 = 16 << 30;

/// What the pull of one reference gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The reference as the spec wrote it.
    pub reference: String,
    /// The digest the reference named: an index (multi-platform) or the manifest itself.
    pub index: String,
    /// The platform manifest's digest.
    pub manifest: String,
    /// The OCI layout folder in the store.
    pub layout: PathBuf,
    /// Set when the registry could not be reached and the tag's digest came from the store or lock.
    pub offline: Option<String>,
}

/// How to pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `tls-verify=#false`.
    pub insecure: bool,
    /// The digest layer.lock records for the reference (`--locked`): what is pulled, whatever the
    /// tag names now (which is still asked, so that a moved tag shows as drift).
    pub pin: Option<String>,
    /// Never touch the network (`LAYERC_OFFLINE=1`).
    pub offline: bool,
    /// Remote caches asked for a blob by its digest before the registry, and given each blob the
    /// registry sent (so that a fleet fetches it from the registry once).
    pub caches: Option<std::sync::Arc<crate::cache::Caches>>,
}

/// The steps of a pull, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Credentials,
    Ping,
    Token,
    Manifest(String),
    Blob(String),
    Store,
    Offline,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Credentials => f.write_str("reading credentials"),
            Step::Ping => f.write_str("contacting the registry"),
            Step::Token => f.write_str("getting a token"),
            Step::Manifest(r) => write!(f, "fetching manifest {r}"),
            Step::Blob(d) => write!(f, "fetching blob {d}"),
            Step::Store => f.write_str("writing the image store"),
            Step::Offline => f.write_str("working offline"),
        }
    }
}

/// A pull that failed: the reference, the step, and what went wrong. The message is the step and
/// the problem; whoever reports it names the reference (`cannot open rootfs REFERENCE: ...`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step}: {problem}")]
pub struct RegistryError {
    pub reference: String,
    pub step: Step,
    pub problem: String,
    /// The network failure behind it, when there was one.
    pub net: Option<Box<Problem>>,
}

impl RegistryError {
    pub fn new(reference: &Reference, step: Step, problem: impl Into<String>) -> RegistryError {
        RegistryError {
            reference: reference.to_string(),
            step,
            problem: problem.into(),
            net: None,
        }
    }

    /// An error about a reference that could not be parsed.
    fn new_text(reference: &str, step: Step, problem: String) -> RegistryError {
        RegistryError {
            reference: reference.to_string(),
            step,
            problem,
            net: None,
        }
    }

    pub fn net(reference: &Reference, step: Step, e: NetError) -> RegistryError {
        RegistryError {
            net: Some(Box::new(e.problem.clone())),
            ..RegistryError::new(reference, step, e.to_string())
        }
    }

    fn unreachable(&self) -> bool {
        self.net
            .as_ref()
            .is_some_and(|p| NetError::new("", (**p).clone()).is_unreachable())
    }

    fn is_tls(&self) -> bool {
        self.net
            .as_deref()
            .is_some_and(|p| matches!(p, Problem::Tls(_)))
    }
}

/// Why a reference could not be pulled: the registry failed, or the image lacks the platform.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{reference}: {source}")]
    Platform {
        reference: String,
        source: ImageError,
    },
}

/// Pulls one reference for `arch` into `store`.
pub fn pull(
    client: &Client,
    store: &ImageStore,
    text: &str,
    arch: Architecture,
    options: &PullOptions,
) -> Result<Pulled, PullError> {
    let reference = Reference::parse(text).map_err(|problem| RegistryError {
        reference: text.to_string(),
        step: Step::Manifest(text.to_string()),
        problem,
        net: None,
    })?;
    let puller = Puller {
        client,
        store,
        reference: &reference,
        tls: if options.insecure {
            Tls::Insecure
        } else {
            Tls::Verify
        },
        offline: options.offline,
        caches: options.caches.as_deref(),
        remote: OnceLock::new(),
    };
    let (index, offline) = puller.resolve(options.pin.as_deref())?;
    let pulled_digest = options.pin.clone().unwrap_or_else(|| index.clone());
    let top = puller.document(&pulled_digest)?;
    let (manifest, doc) =
        match manifest::parse(&top, "").map_err(|p| puller.bad(&pulled_digest, p))? {
            Document::Index(entries) => {
                let chosen =
                    manifest::choose(&entries, arch).map_err(|source| PullError::Platform {
                        reference: reference.to_string(),
                        source,
                    })?;
                let bytes = puller.document(&chosen.digest)?;
                let doc = manifest::parse(&bytes, &chosen.media_type)
                    .map_err(|p| puller.bad(&chosen.digest, p))?;
                (chosen.digest.clone(), (doc, bytes.len()))
            }
            doc => (pulled_digest.clone(), (doc, top.len())),
        };
    let (
        Document::Image {
            media_type,
            config,
            layers,
        },
        size,
    ) = doc
    else {
        return Err(puller
            .bad(
                &manifest,
                "an index names another index as a platform manifest".into(),
            )
            .into());
    };
    let blobs: Vec<&Descriptor> = std::iter::once(&config).chain(&layers).collect();
    let digests: Vec<&str> = blobs.iter().map(|d| d.digest.as_str()).collect();
    // Held before the blobs are fetched: `gc` then keeps them, and the layout, while this runs.
    // A store that cannot be written (mounted read-only) cannot be trimmed either.
    let _ = store.hold(&manifest, &digests);
    puller.fetch_blobs(&blobs)?;
    let layout = store
        .layout(&manifest, &media_type, size as u64, &digests)
        .map_err(|e| RegistryError::new(&reference, Step::Store, e.to_string()))?;
    Ok(Pulled {
        reference: text.to_string(),
        index,
        manifest,
        layout,
        offline,
    })
}

/// What the tag of `text` names now, asked of its registry; `None` when the reference names a
/// digest or the registry cannot be reached (which says nothing about the tag).
pub fn tag_now(
    client: &Client,
    store: &ImageStore,
    text: &str,
    insecure: bool,
) -> Result<Option<String>, RegistryError> {
    let reference = Reference::parse(text).map_err(|problem| {
        RegistryError::new_text(text, Step::Manifest(text.to_string()), problem)
    })?;
    if reference.digest.is_some() {
        return Ok(None);
    }
    let puller = Puller {
        client,
        store,
        reference: &reference,
        tls: if insecure { Tls::Insecure } else { Tls::Verify },
        offline: false,
        caches: None,
        remote: OnceLock::new(),
    };
    match puller.resolve(None) {
        Ok((digest, None)) => Ok(Some(digest)),
        Ok((_, Some(_))) => Ok(None),
        Err(e) if e.unreachable() => Ok(None),
        Err(e) => Err(e),
    }
}

struct Puller<'a> {
    client: &'a Client,
    store: &'a ImageStore,
    reference: &'a Reference,
    tls: Tls,
    offline: bool,
    caches: Option<&'a crate::cache::Caches>,
    /// Connected on first need: a pull the store can serve never touches the network.
    remote: OnceLock<Result<Remote<'a>, RegistryError>>,
}

impl<'a> Puller<'a> {
    fn remote(&self) -> Result<&Remote<'a>, RegistryError> {
        if self.offline {
            return Err(RegistryError::new(
                self.reference,
                Step::Offline,
                "the image store lacks parts of this image, and LAYERC_OFFLINE forbids fetching them",
            ));
        }
        self.remote
            .get_or_init(|| Remote::connect(self.client, self.reference, self.tls))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn bad(&self, digest: &str, problem: String) -> RegistryError {
        RegistryError::new(self.reference, Step::Manifest(digest.to_string()), problem)
    }

    /// The digest the reference names now, and, when the registry could not be asked, where the
    /// digest came from instead.
    fn resolve(&self, pin: Option<&str>) -> Result<(String, Option<String>), RegistryError> {
        if let Some(digest) = &self.reference.digest {
            return Ok((digest.clone(), None));
        }
        let key = self.reference.to_string();
        let asked = self.remote().and_then(|remote| {
            let tag = self.reference.manifest_ref();
            let fetched = remote.manifest(tag)?;
            let digest = format!(
                "sha256:{}",
                crate::digest::hex(&Sha256::digest(&fetched.bytes))
            );
            manifest::parse(&fetched.bytes, &fetched.media_type).map_err(|p| self.bad(tag, p))?;
            self.keep(&digest, &fetched.bytes)?;
            Ok(digest)
        });
        match asked {
            Ok(digest) => {
                // Only speed is lost when the tag cannot be remembered.
                let _ = self.store.remember_tag(&key, &digest);
                Ok((digest, None))
            }
            Err(e) if e.unreachable() || e.step == Step::Offline => {
                if let Some(pin) = pin {
                    return Ok((
                        pin.to_string(),
                        Some(format!("{e}; using the digest layer.lock records")),
                    ));
                }
                match self.store.recall_tag(&key) {
                    Some(digest) => Ok((
                        digest,
                        Some(format!(
                            "{e}; using the digest the tag named when last pulled"
                        )),
                    )),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Stores a manifest or index the registry sent (checked against `digest`), and pushes it to
    /// the remote caches, so that a runner without the registry can pull by digest.
    fn keep(&self, digest: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        self.store
            .put_blob(digest, bytes)
            .map_err(|e| RegistryError::new(self.reference, Step::Store, e.to_string()))?;
        if let (Some(caches), Some(sha256)) = (self.caches, manifest::sha256_hex(digest))
            && let Ok(path) = self.store.blob_path(digest)
        {
            caches.push_blob(&sha256, &path);
        }
        Ok(())
    }

    /// A manifest or index by digest: from the store, else from the remote caches, else fetched
    /// from the registry; checked against the digest in each case.
    fn document(&self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        if let Some(bytes) = self.store.read_blob(digest) {
            return Ok(bytes);
        }
        if let Ok(path) = self.store.blob_path(digest)
            && self.fetch_from_caches(digest, None, remote::MAX_DOCUMENT, &path)
            && let Some(bytes) = self.store.read_blob(digest)
        {
            return Ok(bytes);
        }
        let fetched = self.remote()?.manifest(digest)?;
        let actual = format!(
            "sha256:{}",
            crate::digest::hex(&Sha256::digest(&fetched.bytes))
        );
        if actual != digest {
            return Err(self.bad(
                digest,
                format!("the registry sent a manifest whose digest is {actual}"),
            ));
        }
        self.keep(digest, &fetched.bytes)?;
        Ok(fetched.bytes)
    }

    /// Fetches the blobs the store lacks, `PARALLEL_BLOBS` at a time, with one progress bar.
    fn fetch_blobs(&self, blobs: &[&Descriptor]) -> Result<(), RegistryError> {
        let mut missing = Vec::new();
        for d in blobs {
            let path = self
                .store
                .blob_path(&d.digest)
                .map_err(|e| self.bad(&d.digest, e.to_string()))?;
            if !path.is_file() && !self.fetch_from_caches(&d.digest, d.size, MAX_BLOB, &path) {
                missing.push((*d, path));
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let fetched: Vec<(String, PathBuf)> = missing
            .iter()
            .filter_map(|(d, path)| Some((manifest::sha256_hex(&d.digest)?, path.clone())))
            .collect();
        let remote = self.remote()?;
        let total = missing.iter().filter_map(|(d, _)| d.size).sum();
        let progress = progress_bar(&self.reference.to_string(), total);
        let queue = Mutex::new(missing);
        let failed: Mutex<Option<RegistryError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..PARALLEL_BLOBS {
                scope.spawn(|| {
                    while crate::lock(&failed).is_none() {
                        let Some((d, path)) = crate::lock(&queue).pop() else {
                            break;
                        };
                        if let Err(e) = self.fetch_blob(remote, d, &path, &progress) {
                            crate::lock(&failed).get_or_insert(e);
                        }
                    }
                });
            }
        });
        progress.finish_and_clear();
        match failed
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(e) => Err(e),
            None => {
                for (sha256, path) in &fetched {
                    self.caches.inspect(|c| c.push_blob(sha256, path));
                }
                Ok(())
            }
        }
    }

    /// Takes a blob from the remote caches into the store, checked against its digest and size
    /// (else at most `limit` bytes).
    fn fetch_from_caches(
        &self,
        digest: &str,
        size: Option<u64>,
        limit: u64,
        path: &std::path::Path,
    ) -> bool {
        let (Some(caches), Some(sha256)) = (self.caches, manifest::sha256_hex(digest)) else {
            return false;
        };
        caches.fetch_blob(&sha256, size, limit, path).is_some()
    }

    fn fetch_blob(
        &self,
        remote: &Remote,
        d: &Descriptor,
        path: &std::path::Path,
        progress: &indicatif::ProgressBar,
    ) -> Result<(), RegistryError> {
        let step = || Step::Blob(d.digest.clone());
        let expected = Expected {
            sha256: manifest::sha256_hex(&d.digest)
                .ok_or_else(|| RegistryError::new(self.reference, step(), "not a sha256 digest"))?,
            size: d.size,
            limit: MAX_BLOB,
        };
        let attempt = || {
            crate::net::download(
                self.client,
                &remote.blob_request(&d.digest),
                path,
                &expected,
                progress,
            )
        };
        match attempt() {
            Err(e) if matches!(e.problem, Problem::Status { code: 401, .. }) => {
                remote.reauthenticate(&d.digest)?;
                attempt()
            }
            other => other,
        }
        .map_err(|e| RegistryError::net(self.reference, step(), e))
    }
}

/// A progress bar on stderr while blobs are fetched; hidden when stderr is not a terminal.
fn progress_bar(label: &str, total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("pulling {msg} {wide_bar} {bytes}/{total_bytes}")
    {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar
}
