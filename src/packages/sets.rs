//! The package rootfs of each layer a session analyses, prepared once, and the package files
//! layer.lock pins them to under `--locked`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::apt::{AptUniverse, DebPackage, deb};
use super::fetch::{Fetched, Fetcher, progress_bar};
use super::resolve::{self, Chosen, Unsatisfied};
use super::rpm::{self, RpmIndex, RpmRepo, RpmUniverse};
use super::source::{self, Repo};
use super::store::PackageStore;
use super::unpack::Tree;
use super::{Failure, MAX_PACKAGE, PackagesError, Prepared};
use crate::arch::Architecture;
use crate::net::Client;
use crate::spec::PackageRootfs;

/// Package files fetched at once.
const PARALLEL_FILES: usize = 4;
/// Bumped when unpacking changes what a rootfs folder holds, so older folders are not reused.
const UNPACK_VERSION: &str = "layerc-packages-rootfs 1";

/// What layer.lock records for a layer's package rootfs.
#[derive(Debug, Clone, Default)]
pub struct Pin {
    pub sources: Vec<(String, String)>,
    pub packages: Vec<Chosen>,
}

#[derive(Default)]
pub struct PackageSets {
    client: OnceLock<Client>,
    done: Mutex<BTreeMap<(String, String), Prepared>>,
    pins: Mutex<BTreeMap<String, Pin>>,
    /// Each source's index as read, by its description and architecture: an editor changing the
    /// package names resolves again without reading the indexes again.
    indexes: Mutex<BTreeMap<String, Arc<SourceIndex>>>,
    /// Remote caches asked for package files before their repository, and given what it sends.
    caches: OnceLock<Arc<crate::cache::Caches>>,
}

/// What one source's index gave.
enum SourceIndex {
    Apt {
        list: Vec<DebPackage>,
        digest: String,
        offline: Option<String>,
    },
    Rpm {
        index: RpmIndex,
        repo: RpmRepo,
    },
}

impl PackageSets {
    /// Asks `caches` for each package file before its repository, and pushes what a repository
    /// sends to those that take pushes. Only the first call counts.
    pub fn use_caches(&self, caches: Arc<crate::cache::Caches>) {
        let _ = self.caches.set(caches);
    }

    /// Under `--locked`: the layer's rootfs is made of exactly these files, unresolved.
    pub fn pin(&self, layer: &str, pin: Pin) {
        crate::lock(&self.pins).insert(layer.to_string(), pin);
    }

    /// The rootfs of a layer's `rootfs` block (`dir` is the spec's folder), prepared once per
    /// session for the same request.
    pub fn prepare(
        &self,
        layer: &str,
        rootfs: &PackageRootfs,
        dir: &Path,
        arch: Architecture,
    ) -> Result<Prepared, PackagesError> {
        let described: Vec<String> = rootfs.sources.iter().map(source::describe).collect();
        let requested: Vec<String> = rootfs.requested().into_iter().map(|p| p.value).collect();
        let key = (
            layer.to_string(),
            format!("{arch}\n{}\n{}", described.join("\n"), requested.join(" ")),
        );
        if let Some(done) = crate::lock(&self.done).get(&key) {
            return Ok(done.clone());
        }
        let store = PackageStore::from_env().ok_or_else(|| {
            PackagesError::new(
                layer,
                "opening the package store",
                Failure::Store,
                "there is no cache root (set $LAYERC_STORE or $HOME)",
            )
        })?;
        let fetcher = Fetcher {
            client: self.client.get_or_init(Client::from_env),
            store: &store,
            offline: std::env::var_os("LAYERC_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0"),
            caches: self.caches.get().map(Arc::as_ref),
        };
        let pin = crate::lock(&self.pins).get(layer).cloned();
        let pinned = pin.is_some();
        let (packages, sources, offline) = match pin {
            Some(pin) => {
                let same = pin.sources.iter().map(|(d, _)| d).eq(described.iter());
                let sources = if same {
                    pin.sources
                } else {
                    described
                        .iter()
                        .map(|d| (d.clone(), String::new()))
                        .collect()
                };
                (pin.packages, sources, None)
            }
            None => self.resolve_sources(&fetcher, rootfs, dir, arch, &requested)?,
        };
        let root = materialize(&fetcher, &packages, layer, pinned)?;
        let prepared = Prepared {
            root,
            packages,
            sources,
            requested,
            offline,
        };
        crate::lock(&self.done).insert(key, prepared.clone());
        Ok(prepared)
    }
}

type Resolved = (Vec<Chosen>, Vec<(String, String)>, Option<String>);

impl PackageSets {
    /// A source's index, read once per session.
    fn index(
        &self,
        fetcher: &Fetcher,
        spec_source: &crate::spec::PackageSource,
        dir: &Path,
        arch: Architecture,
    ) -> Result<Arc<SourceIndex>, PackagesError> {
        let key = format!("{arch} {}", source::describe(spec_source));
        if let Some(done) = crate::lock(&self.indexes).get(&key) {
            return Ok(done.clone());
        }
        let index = Arc::new(match source::repository(spec_source, dir, arch)? {
            Repo::Apt(repo) => {
                let (list, offline) = repo.packages(fetcher, arch.oci())?;
                let digest = list.first().map(|p| p.index.clone()).unwrap_or_default();
                SourceIndex::Apt {
                    list,
                    digest,
                    offline,
                }
            }
            Repo::Rpm(repo) => SourceIndex::Rpm {
                index: repo.packages(fetcher, arch.platform())?,
                repo,
            },
        });
        crate::lock(&self.indexes).insert(key, index.clone());
        Ok(index)
    }

    /// Reads every source's index and resolves the requested packages over all of them; the
    /// packages chosen from an RPM repository whose repomd.xml is unsigned have their own
    /// signatures checked.
    fn resolve_sources(
        &self,
        fetcher: &Fetcher,
        rootfs: &PackageRootfs,
        dir: &Path,
        arch: Architecture,
        requested: &[String],
    ) -> Result<Resolved, PackagesError> {
        let mut indexes = Vec::new();
        let mut sources = Vec::new();
        let mut offline = None;
        for spec_source in &rootfs.sources {
            let index = self.index(fetcher, spec_source, dir, arch)?;
            let (digest, note) = match index.as_ref() {
                SourceIndex::Apt {
                    digest, offline, ..
                } => (digest.clone(), offline.clone()),
                SourceIndex::Rpm { index, .. } => (index.digest.clone(), index.offline.clone()),
            };
            offline = offline.or(note);
            sources.push((source::describe(spec_source), digest));
            indexes.push(index);
        }
        let apt: Vec<&[DebPackage]> = indexes
            .iter()
            .filter_map(|i| match i.as_ref() {
                SourceIndex::Apt { list, .. } => Some(list.as_slice()),
                SourceIndex::Rpm { .. } => None,
            })
            .collect();
        let rpm: Vec<&[rpm::Listed]> = indexes
            .iter()
            .filter_map(|i| match i.as_ref() {
                SourceIndex::Rpm { index, .. } => Some(index.listed.as_slice()),
                SourceIndex::Apt { .. } => None,
            })
            .collect();
        let chosen = if rpm.is_empty() {
            resolve::install(&AptUniverse::new(&apt), requested)
        } else {
            resolve::install(&RpmUniverse::new(&rpm), requested)
        };
        let label = source::label(&rootfs.sources[0]);
        let chosen = chosen.map_err(|u| unsatisfied(&label, u))?;
        verify_rpm_packages(fetcher, &indexes, &chosen, &label)?;
        Ok((chosen, sources, offline))
    }
}

/// The packages chosen from an RPM repository without a signed repomd.xml, each checked against
/// its own signature (fetched into the store now; unpacking finds them there).
fn verify_rpm_packages(
    fetcher: &Fetcher,
    indexes: &[Arc<SourceIndex>],
    chosen: &[Chosen],
    label: &str,
) -> Result<(), PackagesError> {
    for p in chosen {
        let repo = indexes.iter().find_map(|i| match i.as_ref() {
            SourceIndex::Rpm { index, repo } if index.unsigned_index && index.digest == p.index => {
                Some(repo)
            }
            _ => None,
        });
        if let Some(repo) = repo {
            let progress = indicatif::ProgressBar::hidden();
            let path = package_file(fetcher, p, &progress)
                .map_err(|e| PackagesError::net(label, &format!("fetching {}", p.name), e))?;
            repo.verify_package(&path, &format!("{} {}", p.name, p.version))?;
        }
    }
    Ok(())
}

fn unsatisfied(label: &str, u: Unsatisfied) -> PackagesError {
    let failure = match &u {
        Unsatisfied::Unknown { closest, .. } => Failure::Unknown {
            closest: closest.clone(),
        },
        Unsatisfied::Dependency { .. } => Failure::Unsatisfiable,
    };
    PackagesError {
        package: Some(u.requested().to_string()),
        ..PackagesError::new(label, "resolving the packages", failure, u.to_string())
    }
}

/// The store folder holding `packages` unpacked, fetched and made when missing.
fn materialize(
    fetcher: &Fetcher,
    packages: &[Chosen],
    layer: &str,
    pinned: bool,
) -> Result<PathBuf, PackagesError> {
    let mut hasher = Sha256::new();
    hasher.update(UNPACK_VERSION.as_bytes());
    for p in packages {
        hasher.update(format!("\n{} {} {} {}", p.name, p.version, p.arch, p.sha256).as_bytes());
    }
    let key = crate::digest::hex(&hasher.finalize());
    let store_error = |e: std::io::Error| {
        PackagesError::new(
            layer,
            "writing the package store",
            Failure::Store,
            e.to_string(),
        )
    };
    // Held before the files are fetched: `gc` then keeps them, and the folder, while this runs.
    // A store that cannot be written (mounted read-only) cannot be trimmed either.
    let files: Vec<String> = packages.iter().map(|p| p.sha256.clone()).collect();
    let _ = fetcher.store.hold_rootfs(&key, &files);
    if let Some(done) = fetcher.store.existing_rootfs(&key) {
        return Ok(done);
    }
    let files = fetch_all(fetcher, packages, layer, pinned)?;
    fetcher.store.rootfs(
        &key,
        |dir| {
            let mut tree = Tree::new(dir);
            for (p, path) in packages.iter().zip(&files) {
                unpack_one(p, path, &mut tree, layer)?;
            }
            tree.finish()
                .map_err(|e| PackagesError::new(layer, "unpacking", Failure::Index, e.to_string()))
        },
        store_error,
    )
}

/// Every package file in the store, fetching the missing ones `PARALLEL_FILES` at a time.
fn fetch_all(
    fetcher: &Fetcher,
    packages: &[Chosen],
    layer: &str,
    pinned: bool,
) -> Result<Vec<PathBuf>, PackagesError> {
    let total = packages.iter().map(|p| p.size).sum();
    let progress = progress_bar(&format!("packages of layer {layer}"), total);
    let slots: Vec<Mutex<Option<Result<PathBuf, PackagesError>>>> =
        packages.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_FILES.min(packages.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(p) = packages.get(i) else { break };
                    let got = package_file(fetcher, p, &progress)
                        .map_err(|e| fetch_error(layer, p, e, pinned));
                    let failed = got.is_err();
                    *crate::lock(&slots[i]) = Some(got);
                    if failed {
                        break;
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .unwrap_or_else(|| {
                    Err(PackagesError::new(
                        layer,
                        "fetching",
                        Failure::Network,
                        "stopped after an earlier failure",
                    ))
                })
        })
        .collect()
}

/// A chosen package's file in the store: asked of the remote caches, else of its repository.
fn package_file(
    fetcher: &Fetcher,
    p: &Chosen,
    progress: &indicatif::ProgressBar,
) -> Result<PathBuf, crate::net::NetError> {
    let url = (p.url.as_str(), Fetched::Package);
    fetcher.file(url, &p.sha256, Some(p.size), MAX_PACKAGE, progress)
}

/// A package file that could not be fetched, named with its version; under `--locked`, a file
/// that is gone or differs is the lock's problem.
fn fetch_error(layer: &str, p: &Chosen, e: crate::net::NetError, pinned: bool) -> PackagesError {
    let step = format!("fetching {} {} ({})", p.name, p.version, p.arch);
    let mut error = PackagesError::net(layer, &step, e.clone());
    if !pinned {
        return error;
    }
    let gone = matches!(
        e.problem,
        crate::net::Problem::Status {
            code: 404 | 410,
            ..
        }
    );
    let differs = matches!(
        e.problem,
        crate::net::Problem::Digest { .. }
            | crate::net::Problem::Short { .. }
            | crate::net::Problem::TooLarge { .. }
    );
    if gone || differs {
        error.failure = Failure::Pinned;
        error.package = Some(p.name.clone());
    }
    error
}

/// Unpacks one package file, its sha256 checked again as it is read.
fn unpack_one(p: &Chosen, path: &Path, tree: &mut Tree, layer: &str) -> Result<(), PackagesError> {
    let step = format!("unpacking {} {}", p.name, p.version);
    let fail = |failure, problem: String| PackagesError::new(layer, &step, failure, problem);
    let file = File::open(path).map_err(|e| fail(Failure::Store, e.to_string()))?;
    let mut reader = HashingReader {
        inner: BufReader::new(file),
        hasher: Sha256::new(),
    };
    let result = if p.url.ends_with(".rpm") {
        rpm::file::unpack(&mut reader, tree)
    } else {
        deb::unpack(&mut reader, tree)
    };
    result.map_err(|e| fail(Failure::Index, format!("{}: {e}", p.url)))?;
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| fail(Failure::Store, e.to_string()))?;
    let actual = crate::digest::hex(&reader.hasher.finalize());
    if actual != p.sha256 {
        return Err(fail(
            Failure::Store,
            format!(
                "the stored file {} has sha256 {actual}, not {}",
                path.display(),
                p.sha256
            ),
        ));
    }
    Ok(())
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
