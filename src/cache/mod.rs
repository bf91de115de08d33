//! Remote binary caches shared by a fleet of builders: layer zips by store key, and any input by
//! sha256 ("blobs"), on S3, an HTTP server or a shared folder.
//!
//! Layout under a cache's root: `layers/KEY.entry` (a signed [`entry::Entry`] naming the zip's
//! sha256 and size) and `blobs/sha256/HEX` (the bytes whose sha256 is HEX: layer zips, image
//! blobs, package files). A consumer reads the entry, checks its signature against the trusted
//! keys, then downloads the blob, checked against the entry's sha256 and size while it streams;
//! a pusher uploads the blob first and the entry last, each to a name that becomes visible whole,
//! so an entry never names a blob that is not there.
//!
//! Invariants: nothing from a cache is used unless its bytes have the sha256 that a trusted
//! signature (or, for a blob, the caller) vouches for; a cache that fails never fails a build:
//! each problem is a warning, and a cache that cannot be reached (refused, timed out) is not asked
//! again during the run. Caches are read in the order given; the first good answer wins.

pub mod backend;
pub mod entry;
mod file;
mod http;
pub mod keys;
pub mod location;
mod parallel;
pub mod s3;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backend::{Backend, CacheError};
use entry::{Entry, MAX_ENTRY_BYTES, Verdict};
use keys::{SecretKey, TrustedKey};
use location::{CacheSpec, Kind};

use crate::net::{Body, Client, Expected};

/// The largest object a cache may serve: Lambda's unzipped limit bounds any layer zip.
pub const MAX_OBJECT_BYTES: u64 = 262_144_000;
/// Seconds without progress before a cache request counts as hung (`LAYERC_CACHE_TIMEOUT`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the caches of a build are, once the spec, the flags and the environment are read.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub caches: Vec<CacheSpec>,
    pub trusted: Vec<TrustedKey>,
    pub signing: Option<SecretKey>,
}

struct Remote {
    spec: CacheSpec,
    backend: Box<dyn Backend>,
    /// Set when the cache could not be reached: it is not asked again.
    down: OnceLock<String>,
}

/// The remote caches of one run.
pub struct Caches {
    remotes: Vec<Remote>,
    client: Arc<Client>,
    trusted: Vec<TrustedKey>,
    signing: Option<SecretKey>,
    warnings: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.remotes.iter().map(|r| r.spec.name.as_str()).collect();
        f.debug_struct("Caches").field("remotes", &names).finish()
    }
}

/// A layer zip found in a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerHit {
    /// The cache's name (its URL).
    pub cache: String,
    pub sha256: String,
    pub size: u64,
}

/// A zip downloaded from a cache into a temporary folder, removed on drop.
pub struct Downloaded {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Downloaded {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn layer_name(key: &str) -> String {
    format!("layers/{key}.entry")
}

fn blob_name(sha256: &str) -> String {
    format!("blobs/sha256/{sha256}")
}

impl Caches {
    pub fn new(settings: Settings) -> Caches {
        let timeout =
            crate::net::seconds_from_env("LAYERC_CACHE_TIMEOUT").unwrap_or(DEFAULT_TIMEOUT);
        let client = Arc::new(Client::with_timeout(timeout));
        let remotes = settings
            .caches
            .into_iter()
            .map(|spec| {
                let backend: Box<dyn Backend> = match &spec.kind {
                    Kind::S3(location) => {
                        Box::new(s3::S3Cache::new(location.clone(), client.clone()))
                    }
                    Kind::Http(base) => {
                        Box::new(http::HttpCache::new(base.clone(), client.clone()))
                    }
                    Kind::File(dir) => Box::new(file::FileCache::new(dir.clone())),
                };
                Remote {
                    spec,
                    backend,
                    down: OnceLock::new(),
                }
            })
            .collect();
        Caches {
            remotes,
            client,
            trusted: settings.trusted,
            signing: settings.signing,
            warnings: Mutex::new(Vec::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.remotes.is_empty()
    }

    /// The caches a build pushes to (for `--dry-run`).
    pub fn push_targets(&self) -> Vec<String> {
        self.remotes
            .iter()
            .filter(|r| r.spec.push)
            .map(|r| r.spec.name.clone())
            .collect()
    }

    /// The warnings gathered so far (each once), emptied.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *crate::lock(&self.warnings))
    }

    fn warn(&self, message: String) {
        let mut warnings = crate::lock(&self.warnings);
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// Records a failure of `remote`; one that could not be reached is left alone from now on.
    fn failed(&self, remote: &Remote, what: &str, e: CacheError) {
        let name = &remote.spec.name;
        if e.is_unreachable() {
            if remote.down.set(e.to_string()).is_ok() {
                self.warn(format!(
                    "remote cache {name} cannot be reached ({e}); it is not asked again in this run, and what it would give is built locally"
                ));
            }
        } else {
            self.warn(format!("remote cache {name}: {what}: {e}"));
        }
    }

    fn reachable(&self) -> impl Iterator<Item = &Remote> {
        self.remotes.iter().filter(|r| r.down.get().is_none())
    }

    /// The entry for `key` in `remote` that may be used, or `None` (with the warning saying why).
    fn entry(&self, remote: &Remote, key: &str) -> Option<Entry> {
        let name = &remote.spec.name;
        let bytes = match remote.backend.read(&layer_name(key), MAX_ENTRY_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(e) => {
                self.failed(remote, &format!("cannot read the entry of {key}"), e);
                return None;
            }
        };
        let entry = match Entry::parse(&String::from_utf8_lossy(&bytes), key) {
            Ok(entry) if entry.size <= MAX_OBJECT_BYTES => entry,
            Ok(entry) => {
                self.warn(format!("remote cache {name}: the entry of {key} names a zip of {} bytes, more than a layer can be: refused", entry.size));
                return None;
            }
            Err(why) => {
                self.warn(format!(
                    "remote cache {name}: the entry of {key} is damaged ({why}): refused"
                ));
                return None;
            }
        };
        if !remote.spec.check_signatures {
            return Some(entry);
        }
        let refused = match entry.verify(&self.trusted) {
            Verdict::Trusted(_) => return Some(entry),
            Verdict::Unsigned => "it is not signed".to_string(),
            Verdict::Untrusted(names) => format!(
                "it is signed by {}, which no `trusted-key` names",
                names.join(", ")
            ),
            Verdict::Forged(name) => format!(
                "its signature under the name {name} is not that trusted key's: the entry was changed or forged"
            ),
        };
        self.warn(format!(
            "remote cache {name}: refused the zip of {key}: {refused}; it is built locally (trust its key with `trusted-key`, or mark a cache only trusted writers reach `check-signatures=#false`)"
        ));
        None
    }

    /// Downloads the zip of `key` to `target` from the first cache whose entry is trusted and whose
    /// bytes match it. `None` when no cache has it (or none could be used: see the warnings).
    pub fn fetch_layer(&self, key: &str, target: &Path) -> Option<LayerHit> {
        for remote in self.reachable() {
            let Some(entry) = self.entry(remote, key) else {
                continue;
            };
            let expected = Expected {
                sha256: entry.sha256.clone(),
                size: Some(entry.size),
                limit: entry.size,
            };
            match self.download(remote, &blob_name(&entry.sha256), &expected, target) {
                Ok(true) => {
                    return Some(LayerHit {
                        cache: remote.spec.name.clone(),
                        sha256: entry.sha256,
                        size: entry.size,
                    });
                }
                Ok(false) => self.warn(format!(
                    "remote cache {}: the entry of {key} names blob {}, which is not there",
                    remote.spec.name, entry.sha256
                )),
                Err(e) => self.failed(remote, &format!("refused the zip of {key}"), e),
            }
        }
        None
    }

    /// Downloads an object, in ranges over several connections when it is large and the cache
    /// answers ranges, else in one stream.
    fn download(
        &self,
        remote: &Remote,
        name: &str,
        expected: &Expected,
        target: &Path,
    ) -> Result<bool, CacheError> {
        if expected.size.is_some_and(|s| s >= parallel::PARALLEL_FROM)
            && parallel::connections() > 1
            && let Some((request, label)) = remote.backend.get_request(name)?
        {
            match parallel::download(&self.client, (&request, &label), expected, target) {
                Ok(()) => return Ok(true),
                Err(parallel::Ranged::Absent) => return Ok(false),
                Err(parallel::Ranged::Failed(e)) => return Err(e),
                Err(parallel::Ranged::NoRanges) => {}
            }
        }
        remote.backend.download(name, expected, target)
    }

    /// [`Caches::fetch_layer`] into a temporary folder beside `out` (an output path), the zip
    /// made read-only like every zip; `Ok(None)` when no cache has a trusted copy.
    pub fn download_layer(
        &self,
        key: &str,
        out: &Path,
    ) -> std::io::Result<Option<(Downloaded, LayerHit)>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(".layerc-")
            .tempdir_in(dir)?;
        let path = tmp.path().join(format!("{key}.zip"));
        let Some(hit) = self.fetch_layer(key, &path) else {
            return Ok(None);
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))?;
        Ok(Some((Downloaded { _dir: tmp, path }, hit)))
    }

    /// The first cache with a usable entry for `key` (its signature checked, its zip not
    /// downloaded): what `--dry-run` reports.
    pub fn find_layer(&self, key: &str) -> Option<String> {
        self.reachable().find_map(|remote| {
            let entry = self.entry(remote, key)?;
            match remote.backend.exists(&blob_name(&entry.sha256)) {
                Ok(true) => Some(remote.spec.name.clone()),
                Ok(false) => None,
                Err(e) => {
                    self.failed(remote, "cannot check a zip", e);
                    None
                }
            }
        })
    }

    /// Uploads the zip built for `key` to every cache that takes pushes: the blob (unless there),
    /// then the signed entry. Returns the caches it reached.
    pub fn push_layer(&self, key: &str, zip: &Path, sha256: &str, size: u64) -> Vec<String> {
        let mut entry = Entry::new(key, sha256, size);
        if let Some(secret) = &self.signing {
            entry.sign(secret);
        }
        let text: Arc<[u8]> = entry.render().into_bytes().into();
        let mut pushed = Vec::new();
        for remote in self.reachable().filter(|r| r.spec.push) {
            if self.signing.is_none() && remote.spec.check_signatures {
                self.warn(format!(
                    "not pushed to remote cache {}: no signing key (--signing-key FILE or LAYERC_SIGNING_KEY), and readers refuse unsigned entries",
                    remote.spec.name
                ));
                continue;
            }
            let pushed_blob = self.put_blob(remote, sha256, zip, size);
            let result = pushed_blob.and_then(|()| {
                remote
                    .backend
                    .upload(&layer_name(key), &Body::Bytes(text.clone()))
            });
            match result {
                Ok(()) => pushed.push(remote.spec.name.clone()),
                Err(e) => self.failed(remote, &format!("cannot push the zip of {key}"), e),
            }
        }
        pushed
    }

    fn put_blob(
        &self,
        remote: &Remote,
        sha256: &str,
        path: &Path,
        size: u64,
    ) -> Result<(), CacheError> {
        let name = blob_name(sha256);
        if remote.backend.exists(&name)? {
            return Ok(());
        }
        let body = Body::File {
            path: path.to_path_buf(),
            offset: 0,
            len: size,
        };
        remote.backend.upload(&name, &body)
    }

    /// Downloads the blob with this sha256 to `target` from the first cache that has it, checked
    /// against `sha256` (and `size` when known, else at most `limit` bytes). The name of the cache
    /// that served it, or `None`. For any input fetched by digest (image blobs, package files).
    pub fn fetch_blob(
        &self,
        sha256: &str,
        size: Option<u64>,
        limit: u64,
        target: &Path,
    ) -> Option<String> {
        let expected = Expected {
            sha256: sha256.to_string(),
            size,
            limit,
        };
        for remote in self.reachable() {
            match self.download(remote, &blob_name(sha256), &expected, target) {
                Ok(true) => return Some(remote.spec.name.clone()),
                Ok(false) => {}
                Err(e) => self.failed(remote, &format!("refused blob {sha256}"), e),
            }
        }
        None
    }

    /// Uploads the file at `path`, whose sha256 the caller checked, to every cache that takes
    /// pushes and lacks it. A blob needs no signature: readers check it against the digest they
    /// ask for.
    pub fn push_blob(&self, sha256: &str, path: &Path) {
        let Ok(size) = std::fs::metadata(path).map(|m| m.len()) else {
            return;
        };
        for remote in self.reachable().filter(|r| r.spec.push) {
            if let Err(e) = self.put_blob(remote, sha256, path, size) {
                self.failed(remote, &format!("cannot push blob {sha256}"), e);
            }
        }
    }
}
