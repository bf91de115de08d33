//! apt repositories (Debian, Ubuntu and any repository in their layout): the signed `InRelease`
//! (or `Release` + `Release.gpg`) of a suite, its `Packages` index per component checked against
//! the signed SHA256 list, and the packages of the layer's architecture (and `all`) in them.

pub mod control;
pub mod deb;
mod universe;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::fetch::{Fetched, Fetcher};
use super::openpgp::Keyring;
use super::{Failure, PackagesError};
use control::Relation;

pub use universe::AptUniverse;

/// The largest signed index accepted (bullseye's InRelease is 75 KB; Ubuntu's are larger).
const MAX_RELEASE: u64 = 16 << 20;
/// The largest package index accepted, compressed or not.
const MAX_INDEX: u64 = 1 << 30;

/// One suite of an apt repository.
pub struct AptRepo {
    /// The archive root, without a trailing `/` (`https://deb.debian.org/debian`).
    pub url: String,
    pub suite: String,
    pub components: Vec<String>,
    /// The keys its index must be signed with; `None` for `trusted=#true`.
    pub keyring: Option<Keyring>,
    /// How messages name the source (`debian "bullseye"`).
    pub label: String,
}

/// A binary package as a `Packages` index lists it.
#[derive(Debug, Clone)]
pub struct DebPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// `Multi-Arch: allowed` (a `name:any` dependency accepts it).
    pub multi_arch_allowed: bool,
    pub essential: bool,
    pub important: bool,
    /// apt's priority number: required 1, important 2, standard 3, optional 4, extra 5, none 0.
    pub priority: u8,
    /// Pre-Depends, then Depends.
    pub depends: Vec<Vec<Relation>>,
    pub provides: Vec<Relation>,
    pub url: String,
    pub size: u64,
    pub sha256: String,
    /// `sha256:HEX` of the signed index it came from.
    pub index: String,
}

/// What a suite's signed index says: its digest, and the SHA256 of each file it lists.
struct Release {
    digest: String,
    by_hash: bool,
    files: BTreeMap<String, (u64, String)>,
}

impl AptRepo {
    fn fail(&self, step: &str, failure: Failure, problem: impl Into<String>) -> PackagesError {
        PackagesError::new(&self.label, step, failure, problem)
    }

    fn dists(&self) -> String {
        format!("{}/dists/{}", self.url, self.suite)
    }

    /// Every package of `arch` (and `all`) in the suite's components, with the digest of the
    /// signed index, and a note when the index came from the store because the mirror could not
    /// be reached.
    pub fn packages(
        &self,
        fetcher: &Fetcher,
        arch: &str,
    ) -> Result<(Vec<DebPackage>, Option<String>), PackagesError> {
        let (release, offline) = self.release(fetcher)?;
        let mut out = Vec::new();
        for component in &self.components {
            let text = self.index(fetcher, &release, component, arch)?;
            self.parse_packages(&text, arch, &release.digest, &mut out)?;
        }
        Ok((out, offline))
    }

    /// The signed index: fetched (InRelease, else Release + Release.gpg) and checked; when the
    /// mirror cannot be reached, the one it served last, from the store.
    fn release(&self, fetcher: &Fetcher) -> Result<(Release, Option<String>), PackagesError> {
        let in_release = format!("{}/InRelease", self.dists());
        let fetched = self.fetch_release(fetcher, &in_release);
        let (bytes, offline) = match fetched {
            Ok(bytes) => {
                let digest = crate::digest::hex(&Sha256::digest(&bytes));
                // Only the offline fallback is lost when the store cannot keep it.
                let _ = fetcher.store.put_file(&digest, &bytes);
                let _ = fetcher.store.remember(&in_release, &digest);
                (bytes, None)
            }
            Err(e) if e.failure == Failure::Unreachable => {
                let stored = fetcher
                    .store
                    .recall(&in_release)
                    .and_then(|d| fetcher.store.read_file(&d, MAX_RELEASE));
                match stored {
                    Some(bytes) => (
                        bytes,
                        Some(format!("{e}; using the index the mirror served last")),
                    ),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let text = self.verified(&bytes)?;
        let digest = format!("sha256:{}", crate::digest::hex(&Sha256::digest(&bytes)));
        Ok((parse_release(&text, digest), offline))
    }

    /// The bytes of the signed index as one cleartext-signed file (a `Release` with a detached
    /// `Release.gpg` is wrapped so that both forms are stored and checked alike).
    fn fetch_release(&self, fetcher: &Fetcher, in_release: &str) -> Result<Vec<u8>, PackagesError> {
        let step = "fetching InRelease";
        let net = |e: crate::net::NetError| PackagesError::net(&self.label, step, e);
        if let Some(bytes) = fetcher.get(in_release, MAX_RELEASE).map_err(net)? {
            return Ok(bytes);
        }
        let release_url = format!("{}/Release", self.dists());
        let step = "fetching Release";
        let release = fetcher
            .get(&release_url, MAX_RELEASE)
            .map_err(|e| PackagesError::net(&self.label, step, e))?
            .ok_or_else(|| {
                self.fail(
                    step,
                    Failure::Index,
                    format!("{in_release} and {release_url} do not exist: is `{}` a suite of this repository?", self.suite),
                )
            })?;
        let gpg_url = format!("{release_url}.gpg");
        let signature = fetcher
            .get(&gpg_url, MAX_RELEASE)
            .map_err(|e| PackagesError::net(&self.label, "fetching Release.gpg", e))?;
        Ok(detached_bundle(&release, signature.as_deref()))
    }

    /// The index's text once its signature checks out (or as it is, for `trusted=#true`).
    fn verified(&self, bytes: &[u8]) -> Result<String, PackagesError> {
        let step = "checking the signature of InRelease";
        let (release, signature) = split_bundle(bytes);
        let Some(keyring) = &self.keyring else {
            let text = release.unwrap_or_else(|| strip_cleartext(bytes));
            return Ok(String::from_utf8_lossy(&text).into_owned());
        };
        let checked = match (release, signature) {
            (Some(release), Some(signature)) => keyring
                .verify_detached(&release, &signature)
                .map(|()| String::from_utf8_lossy(&release).into_owned()),
            (Some(_), None) => Err("Release has no Release.gpg: the repository is unsigned".into()),
            _ => keyring.verify_cleartext(&String::from_utf8_lossy(bytes)),
        };
        checked.map_err(|problem| {
            self.fail(
                step,
                Failure::Signature,
                format!("{}: {problem}", self.dists()),
            )
        })
    }

    /// A component's `Packages` text: `Packages.xz`, else `Packages.gz`, else `Packages`, as the
    /// signed index lists them, fetched by hash and checked.
    fn index(
        &self,
        fetcher: &Fetcher,
        release: &Release,
        component: &str,
        arch: &str,
    ) -> Result<String, PackagesError> {
        let base = format!("{component}/binary-{arch}/Packages");
        let found = ["xz", "gz", ""].iter().find_map(|ext| {
            let name = if ext.is_empty() {
                base.clone()
            } else {
                format!("{base}.{ext}")
            };
            release.files.get(&name).map(|entry| (name, entry))
        });
        let Some((name, (size, sha256))) = found else {
            return Err(self.fail(
                "reading InRelease",
                Failure::Index,
                format!(
                    "the signed index lists no {base}: is `{component}` a component of `{}` with packages for {arch}?",
                    self.suite
                ),
            ));
        };
        let step = format!("fetching {name}");
        let url = if release.by_hash {
            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{}/{dir}/by-hash/SHA256/{sha256}", self.dists())
        } else {
            format!("{}/{name}", self.dists())
        };
        let progress = indicatif::ProgressBar::hidden();
        let path = fetcher
            .file(
                (&url, Fetched::Index),
                sha256,
                Some(*size),
                MAX_INDEX,
                &progress,
            )
            .map_err(|e| PackagesError::net(&self.label, &step, e))?;
        super::decompress_file(&path, &name, MAX_INDEX)
            .map_err(|e| self.fail(&step, Failure::Index, format!("{url}: {e}")))
    }

    fn parse_packages(
        &self,
        text: &str,
        arch: &str,
        digest: &str,
        out: &mut Vec<DebPackage>,
    ) -> Result<(), PackagesError> {
        for p in control::paragraphs(text) {
            let (Some(name), Some(version), Some(pkg_arch)) =
                (p.get("Package"), p.get("Version"), p.get("Architecture"))
            else {
                continue;
            };
            if pkg_arch != arch && pkg_arch != "all" {
                continue;
            }
            let bad = |what: &str, e: String| {
                self.fail(
                    "reading Packages",
                    Failure::Index,
                    format!("{name} {version}: {what}: {e}"),
                )
            };
            let mut depends = Vec::new();
            for field in ["Pre-Depends", "Depends"] {
                if let Some(v) = p.get(field) {
                    depends.extend(control::relations(v).map_err(|e| bad(field, e))?);
                }
            }
            let provides = match p.get("Provides") {
                Some(v) => control::relations(v)
                    .map_err(|e| bad("Provides", e))?
                    .into_iter()
                    .flatten()
                    .collect(),
                None => Vec::new(),
            };
            let (Some(filename), Some(sha256)) = (p.get("Filename"), p.get("SHA256")) else {
                return Err(bad("Filename and SHA256", "missing".into()));
            };
            let size = p
                .get("Size")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("Size", "missing or not a number".into()))?;
            if filename.split('/').any(|c| c == "..") {
                return Err(bad("Filename", "it climbs out of the archive".into()));
            }
            let yes = |f: &str| p.get(f).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
            out.push(DebPackage {
                name: name.to_string(),
                version: version.to_string(),
                arch: pkg_arch.to_string(),
                multi_arch_allowed: p.get("Multi-Arch") == Some("allowed"),
                essential: yes("Essential"),
                important: yes("Important") || yes("Protected"),
                priority: priority(p.get("Priority")),
                depends,
                provides,
                url: format!("{}/{filename}", self.url),
                size,
                sha256: sha256.to_ascii_lowercase(),
                index: digest.to_string(),
            });
        }
        Ok(())
    }
}

/// apt's `pkgCache::State::VerPriority` numbers (apt-pkg/pkgcache.h).
fn priority(value: Option<&str>) -> u8 {
    match value {
        Some("required") => 1,
        Some("important") => 2,
        Some("standard") => 3,
        Some("optional") => 4,
        Some("extra") => 5,
        _ => 0,
    }
}

fn parse_release(text: &str, digest: String) -> Release {
    let paragraph = control::paragraphs(text)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut files = BTreeMap::new();
    for line in paragraph.get("SHA256").unwrap_or("").lines() {
        let mut parts = line.split_whitespace();
        if let (Some(hash), Some(size), Some(name)) = (parts.next(), parts.next(), parts.next())
            && let Ok(size) = size.parse()
        {
            files.insert(name.to_string(), (size, hash.to_ascii_lowercase()));
        }
    }
    Release {
        digest,
        by_hash: paragraph
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        files,
    }
}

const BUNDLE_MAGIC: &[u8] = b"layerc-release-bundle\n";

/// `Release` and its detached signature, stored as one file: the magic line, the Release length,
/// the Release, then the signature.
fn detached_bundle(release: &[u8], signature: Option<&[u8]>) -> Vec<u8> {
    let mut out = BUNDLE_MAGIC.to_vec();
    out.extend(format!("{}\n", release.len()).as_bytes());
    out.extend(release);
    out.extend(signature.unwrap_or_default());
    out
}

/// The Release and signature of a bundle; `(None, None)` for an InRelease file.
fn split_bundle(bytes: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let Some(rest) = bytes.strip_prefix(BUNDLE_MAGIC) else {
        return (None, None);
    };
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        return (None, None);
    };
    let Some(len) = std::str::from_utf8(&rest[..newline])
        .ok()
        .and_then(|l| l.parse::<usize>().ok())
    else {
        return (None, None);
    };
    let body = &rest[newline + 1..];
    if body.len() < len {
        return (None, None);
    }
    let signature = (body.len() > len).then(|| body[len..].to_vec());
    (Some(body[..len].to_vec()), signature)
}

/// The text of an InRelease file without its signature (for `trusted=#true`).
fn strip_cleartext(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let Some(start) = text.find("\n\n") else {
        return bytes.to_vec();
    };
    let body = &text[start + 2..];
    let end = body
        .find("\n-----BEGIN PGP SIGNATURE-----")
        .unwrap_or(body.len());
    body[..end]
        .lines()
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_lists_files_by_sha256() {
        let text = "Origin: Debian\nAcquire-By-Hash: yes\nSHA256:\n 0a1b 123 main/binary-amd64/Packages.xz\n ffee 9 main/binary-amd64/Release\n";
        let r = parse_release(text, "sha256:x".into());
        assert!(r.by_hash);
        assert_eq!(
            r.files.get("main/binary-amd64/Packages.xz"),
            Some(&(123, "0a1b".to_string()))
        );
    }

    #[test]
    fn bundles_round_trip() {
        let b = detached_bundle(b"Release text", Some(b"SIG"));
        assert_eq!(
            split_bundle(&b),
            (Some(b"Release text".to_vec()), Some(b"SIG".to_vec()))
        );
        assert_eq!(
            split_bundle(b"-----BEGIN PGP SIGNED MESSAGE-----"),
            (None, None)
        );
    }
}
