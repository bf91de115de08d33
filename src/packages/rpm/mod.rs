//! RPM repositories (Amazon Linux, RHEL-likes, any createrepo_c output): `repodata/repomd.xml`
//! checked with its detached signature `repomd.xml.asc` against the source's key, the primary
//! metadata it lists fetched and checked against its sha256, and the packages of the layer's
//! architecture (and `noarch`) in it.

pub mod file;
pub mod primary;
mod universe;

use std::io::BufReader;

use sha2::{Digest, Sha256};

use super::fetch::{Fetched, Fetcher};
use super::openpgp::Keyring;
use super::{Failure, PackagesError};
use primary::RpmPackage;

pub use universe::RpmUniverse;

const MAX_REPOMD: u64 = 16 << 20;
const MAX_PRIMARY: u64 = 1 << 30;

/// Where a repository is.
pub enum RpmLocation {
    /// The folder holding `repodata/`.
    Base(String),
    /// A mirror list: its first URL is the folder.
    MirrorList(String),
}

pub struct RpmRepo {
    pub location: RpmLocation,
    /// The key `repomd.xml` must be signed with; `None` for `trusted=#true`.
    pub keyring: Option<Keyring>,
    pub label: String,
}

/// What a repository lists.
pub struct RpmIndex {
    pub listed: Vec<Listed>,
    /// `sha256:HEX` of repomd.xml.
    pub digest: String,
    /// Set when the index came from the store because the repository could not be reached.
    pub offline: Option<String>,
    /// repomd.xml has no signature: each package's own signature must be checked against the key.
    pub unsigned_index: bool,
}

/// A package as listed, with the URL of its file and the digest of the signed index.
#[derive(Debug, Clone)]
pub struct Listed {
    pub package: RpmPackage,
    pub url: String,
    pub index: String,
}

impl RpmRepo {
    fn fail(&self, step: &str, failure: Failure, problem: impl Into<String>) -> PackagesError {
        PackagesError::new(&self.label, step, failure, problem)
    }

    /// The repository's folder URL (with a trailing `/`).
    fn base(&self, fetcher: &Fetcher) -> Result<String, PackagesError> {
        let url = match &self.location {
            RpmLocation::Base(url) => url.clone(),
            RpmLocation::MirrorList(list) => {
                let step = "fetching the mirror list";
                let text = fetcher
                    .get(list, 1 << 20)
                    .map_err(|e| PackagesError::net(&self.label, step, e))?
                    .ok_or_else(|| {
                        self.fail(step, Failure::Index, format!("{list} does not exist"))
                    })?;
                String::from_utf8_lossy(&text)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .ok_or_else(|| {
                        self.fail(step, Failure::Index, format!("{list} names no mirror"))
                    })?
                    .to_string()
            }
        };
        Ok(format!("{}/", url.trim_end_matches('/')))
    }

    /// Every package of `arch` (and `noarch`), the digest of the signed `repomd.xml`, and a note
    /// when it came from the store because the repository could not be reached.
    pub fn packages(&self, fetcher: &Fetcher, arch: &str) -> Result<RpmIndex, PackagesError> {
        let (base, repomd, offline, unsigned_index) = self.repomd(fetcher)?;
        let digest = format!("sha256:{}", crate::digest::hex(&Sha256::digest(&repomd)));
        let text = String::from_utf8_lossy(&repomd);
        let files = primary::repomd(&text)
            .map_err(|e| self.fail("reading repomd.xml", Failure::Index, e))?;
        let Some(entry) = files.iter().find(|f| f.kind == "primary") else {
            return Err(self.fail(
                "reading repomd.xml",
                Failure::Index,
                "it lists no primary metadata",
            ));
        };
        if entry.sha256.len() != 64 {
            return Err(self.fail(
                "reading repomd.xml",
                Failure::Index,
                "its primary metadata has no sha256 checksum",
            ));
        }
        let step = format!("fetching {}", entry.location);
        let url = format!("{base}{}", entry.location);
        let progress = indicatif::ProgressBar::hidden();
        let path = fetcher
            .file(
                (&url, Fetched::Index),
                &entry.sha256,
                entry.size,
                MAX_PRIMARY,
                &progress,
            )
            .map_err(|e| PackagesError::net(&self.label, &step, e))?;
        let packages = read_primary(&path, &entry.location, arch)
            .map_err(|e| self.fail(&step, Failure::Index, format!("{url}: {e}")))?;
        let listed = packages
            .into_iter()
            .map(|package| {
                let root = package.base.clone().unwrap_or_else(|| base.clone());
                Listed {
                    url: format!("{}/{}", root.trim_end_matches('/'), package.location),
                    package,
                    index: digest.clone(),
                }
            })
            .collect();
        Ok(RpmIndex {
            listed,
            digest,
            offline,
            unsigned_index,
        })
    }

    /// Checks a package file's own signature (for a repository whose repomd.xml is unsigned).
    pub fn verify_package(&self, path: &std::path::Path, name: &str) -> Result<(), PackagesError> {
        let Some(keyring) = &self.keyring else {
            return Ok(());
        };
        let step = format!("checking the signature of {name}");
        let file = std::fs::File::open(path)
            .map_err(|e| self.fail(&step, Failure::Store, e.to_string()))?;
        file::verify(&mut BufReader::new(file), keyring)
            .map_err(|problem| self.fail(&step, Failure::Signature, problem))
    }

    /// The repository's folder and `repomd.xml`, its signature checked (or `true` when it has
    /// none, so that the packages' own signatures must be); offline, the one the store kept.
    fn repomd(
        &self,
        fetcher: &Fetcher,
    ) -> Result<(String, Vec<u8>, Option<String>, bool), PackagesError> {
        let key = match &self.location {
            RpmLocation::Base(url) | RpmLocation::MirrorList(url) => url.clone(),
        };
        let fetched = self.base(fetcher).and_then(|base| {
            let url = format!("{base}repodata/repomd.xml");
            let step = "fetching repomd.xml";
            let bytes = fetcher
                .get(&url, MAX_REPOMD)
                .map_err(|e| PackagesError::net(&self.label, step, e))?
                .ok_or_else(|| self.fail(step, Failure::Index, format!("{url} does not exist")))?;
            let unsigned = self.verify(fetcher, &url, &bytes)?;
            Ok((base, bytes, unsigned))
        });
        match fetched {
            Ok((base, bytes, unsigned)) => {
                let digest = crate::digest::hex(&Sha256::digest(&bytes));
                let _ = fetcher.store.put_file(&digest, &bytes);
                let _ = fetcher
                    .store
                    .remember(&key, &format!("{digest} {unsigned} {base}"));
                Ok((base, bytes, None, unsigned))
            }
            Err(e) if e.failure == Failure::Unreachable => {
                let stored = fetcher.store.recall(&key).and_then(|line| {
                    let mut parts = line.splitn(3, ' ');
                    let (digest, unsigned, base) = (parts.next()?, parts.next()?, parts.next()?);
                    let bytes = fetcher.store.read_file(digest, MAX_REPOMD)?;
                    Some((base.to_string(), bytes, unsigned == "true"))
                });
                match stored {
                    Some((base, bytes, unsigned)) => Ok((
                        base,
                        bytes,
                        Some(format!(
                            "{e}; using the repomd.xml the repository served last"
                        )),
                        unsigned,
                    )),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `repomd.xml.asc` against the key (unless `trusted=#true`). A repository without it (as
    /// Amazon Linux's and EPEL's, which sign their packages instead) gives `true`: every package
    /// chosen from it then has its own signature checked, as dnf's `gpgcheck` does.
    fn verify(&self, fetcher: &Fetcher, url: &str, repomd: &[u8]) -> Result<bool, PackagesError> {
        let Some(keyring) = &self.keyring else {
            return Ok(false);
        };
        let step = "checking the signature of repomd.xml";
        let asc_url = format!("{url}.asc");
        let Some(signature) = fetcher
            .get(&asc_url, 1 << 20)
            .map_err(|e| PackagesError::net(&self.label, "fetching repomd.xml.asc", e))?
        else {
            return Ok(true);
        };
        keyring
            .verify_detached(repomd, &signature)
            .map(|()| false)
            .map_err(|problem| self.fail(step, Failure::Signature, format!("{url}: {problem}")))
    }
}

fn read_primary(path: &std::path::Path, name: &str, arch: &str) -> Result<Vec<RpmPackage>, String> {
    let reader = super::open_decompressed(path, name)?;
    let limited = std::io::Read::take(reader, MAX_PRIMARY);
    let packages = primary::primary(BufReader::new(limited), |a| a == arch || a == "noarch")?;
    for p in &packages {
        if p.sha256.len() != 64 || p.location.split('/').any(|c| c == "..") {
            return Err(format!(
                "package {} has no sha256 checksum or a location outside the repository",
                p.name
            ));
        }
    }
    Ok(packages)
}
