//! The repository a source of a `rootfs` block means: the catalog of distributions (their
//! archive URLs and keyrings) and the keyring a source is checked with.

use std::path::Path;

use super::apt::AptRepo;
use super::openpgp::Keyring;
use super::rpm::{RpmLocation, RpmRepo};
use super::{Failure, PackagesError};
use crate::arch::Architecture;
use crate::spec::{PackageSource, SourceKind};

/// Debian's archive (the `deb.debian.org` CDN that Debian's installer writes into sources.list),
/// and its security archive for `*-security` suites.
const DEBIAN_MIRROR: &str = "https://deb.debian.org/debian";
const DEBIAN_SECURITY_MIRROR: &str = "https://deb.debian.org/debian-security";
/// Ubuntu's archive (x86_64) and its ports archive (arm64), as Ubuntu's sources.list names them.
const UBUNTU_MIRROR: &str = "http://archive.ubuntu.com/ubuntu";
const UBUNTU_PORTS_MIRROR: &str = "http://ports.ubuntu.com/ubuntu-ports";
/// The keyrings of the `debian-archive-keyring` and `ubuntu-keyring` packages.
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const UBUNTU_KEYRING: &str = "/usr/share/keyrings/ubuntu-archive-keyring.gpg";

/// The mirror list of an Amazon Linux release's core repository, as its own repository file
/// names it: Amazon Linux 2023's `/etc/yum.repos.d/amazonlinux.repo` (`cdn.amazonlinux.com`,
/// `$releasever` `latest`) and Amazon Linux 2's `/etc/yum.repos.d/amzn2-core.repo`
/// (`amazonlinux.$awsregion.$awsdomain/$releasever/$product/$target/$basearch/mirror.list` with
/// the variables of `/etc/yum/vars`: region `default`, domain `amazonaws.com`, product `core`,
/// target `latest`).
fn amazon_linux_mirror_list(release: &str, arch: Architecture) -> String {
    let arch = arch.platform();
    match release {
        "2" => format!("http://amazonlinux.default.amazonaws.com/2/core/latest/{arch}/mirror.list"),
        _ => format!("https://cdn.amazonlinux.com/al2023/core/mirrors/latest/{arch}/mirror.list"),
    }
}

/// How messages name a source: `debian "bullseye"`.
pub(super) fn label(source: &PackageSource) -> String {
    format!("{} \"{}\"", source.kind.name(), source.value.value)
}

/// A source as layer.lock records it: everything that decides which index is read.
pub fn describe(source: &PackageSource) -> String {
    let mut text = label(source);
    if let Some(suite) = &source.suite {
        text.push_str(&format!(" suite=\"{suite}\""));
    }
    if !source.components.is_empty() {
        text.push_str(&format!(" component=\"{}\"", source.components.join(" ")));
    }
    if let Some(mirror) = &source.mirror {
        text.push_str(&format!(" mirror=\"{mirror}\""));
    }
    if let Some(key) = &source.key {
        text.push_str(&format!(" key=\"{}\"", key.value));
    }
    if source.trusted {
        text.push_str(" trusted=#true");
    }
    text
}

/// The repository of a source.
pub(super) enum Repo {
    Apt(AptRepo),
    Rpm(RpmRepo),
}

/// The repository `source` names, with its keyring read (`dir` is the spec's folder).
pub(super) fn repository(
    source: &PackageSource,
    dir: &Path,
    arch: Architecture,
) -> Result<Repo, PackagesError> {
    let label = label(source);
    let keyring = keyring(source, dir, &label)?;
    let value = source.value.value.trim_end_matches('/').to_string();
    let mirror = source
        .mirror
        .as_ref()
        .map(|m| m.trim_end_matches('/').to_string());
    let components = if source.components.is_empty() {
        vec!["main".to_string()]
    } else {
        source.components.clone()
    };
    let apt = |url: String, suite: String| {
        Repo::Apt(AptRepo {
            url,
            suite,
            components: components.clone(),
            keyring: None,
            label: label.clone(),
        })
    };
    let mut repo = match source.kind {
        SourceKind::Debian => {
            let default = if value.ends_with("-security") {
                DEBIAN_SECURITY_MIRROR
            } else {
                DEBIAN_MIRROR
            };
            apt(mirror.unwrap_or_else(|| default.into()), value)
        }
        SourceKind::Ubuntu => {
            let default = match arch {
                Architecture::X86_64 => UBUNTU_MIRROR,
                Architecture::Arm64 => UBUNTU_PORTS_MIRROR,
            };
            apt(mirror.unwrap_or_else(|| default.into()), value)
        }
        SourceKind::Apt => apt(value, source.suite.clone().unwrap_or_default()),
        SourceKind::AmazonLinux => Repo::Rpm(RpmRepo {
            location: match mirror {
                Some(url) => RpmLocation::Base(url),
                None => RpmLocation::MirrorList(amazon_linux_mirror_list(&value, arch)),
            },
            keyring: None,
            label: label.clone(),
        }),
        SourceKind::Rpm => Repo::Rpm(RpmRepo {
            location: RpmLocation::Base(value),
            keyring: None,
            label: label.clone(),
        }),
    };
    match &mut repo {
        Repo::Apt(r) => r.keyring = keyring,
        Repo::Rpm(r) => r.keyring = keyring,
    }
    Ok(repo)
}

/// The keyring a source is checked with: `key=`, else the distribution's installed keyring;
/// `None` for `trusted=#true`.
fn keyring(
    source: &PackageSource,
    dir: &Path,
    label: &str,
) -> Result<Option<Keyring>, PackagesError> {
    let fail =
        |problem: String| PackagesError::new(label, "reading the keyring", Failure::Key, problem);
    let path = match (&source.key, source.kind) {
        (Some(key), _) => dir.join(&key.value),
        (None, _) if source.trusted => return Ok(None),
        (None, SourceKind::Debian) => DEBIAN_KEYRING.into(),
        (None, SourceKind::Ubuntu) => UBUNTU_KEYRING.into(),
        (None, kind) => {
            return Err(fail(format!(
                "a `{}` source needs `key=`: the file of the key its repository is signed with",
                kind.name()
            )));
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    Keyring::parse(&path.display().to_string(), &bytes)
        .map(Some)
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Span;
    use crate::spec::Spanned;

    fn source(kind: SourceKind, value: &str, mirror: Option<&str>) -> PackageSource {
        PackageSource {
            kind,
            span: Span::default(),
            value: Spanned::new(value.to_string(), Span::default()),
            suite: None,
            components: Vec::new(),
            key: None,
            mirror: mirror.map(str::to_string),
            trusted: true,
            packages: Vec::new(),
        }
    }

    #[test]
    fn a_snapshot_is_just_another_mirror() {
        let snapshot = "https://snapshot.debian.org/archive/debian/20250520T000000Z/";
        let s = source(SourceKind::Debian, "bullseye", Some(snapshot));
        let Ok(Repo::Apt(repo)) = repository(&s, Path::new("."), Architecture::X86_64) else {
            panic!("an apt repository");
        };
        assert_eq!(repo.url, snapshot.trim_end_matches('/'));
        assert_eq!(
            (repo.suite.as_str(), repo.components.as_slice()),
            ("bullseye", &["main".to_string()][..])
        );
        assert!(describe(&s).contains(&format!("mirror=\"{snapshot}\"")));
    }

    #[test]
    fn the_catalog_names_each_distribution_archive() {
        let url = |kind, value: &str, arch| match repository(
            &source(kind, value, None),
            Path::new("."),
            arch,
        ) {
            Ok(Repo::Apt(r)) => r.url,
            Ok(Repo::Rpm(r)) => match r.location {
                RpmLocation::Base(u) | RpmLocation::MirrorList(u) => u,
            },
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            url(SourceKind::Debian, "bullseye", Architecture::X86_64),
            DEBIAN_MIRROR
        );
        assert_eq!(
            url(
                SourceKind::Debian,
                "bullseye-security",
                Architecture::X86_64
            ),
            DEBIAN_SECURITY_MIRROR
        );
        assert_eq!(
            url(SourceKind::Ubuntu, "jammy", Architecture::Arm64),
            UBUNTU_PORTS_MIRROR
        );
        assert!(
            url(SourceKind::AmazonLinux, "2023", Architecture::Arm64)
                .ends_with("/al2023/core/mirrors/latest/aarch64/mirror.list")
        );
        assert!(
            url(SourceKind::AmazonLinux, "2", Architecture::X86_64)
                .ends_with("/2/core/latest/x86_64/mirror.list")
        );
    }
}
