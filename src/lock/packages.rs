//! A layer's package rootfs in the lock: each source with the digest of the signed index read
//! from it, the packages the spec names, and every package file (name, version, architecture,
//! URL, size, sha256, and the signed index that listed it). Under `--locked` those files are
//! used as they are; a spec whose sources or package names changed since is drift.

use crate::analysis::{Analysis, PackageUse};
use crate::diagnostic::{Code, Diagnostic};

use super::LockedLayer;
use crate::package_pin::Chosen;

/// What the lock records of a layer's package rootfs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockedPackages {
    /// Each source as described, with the digest (`sha256:HEX`) of its signed index.
    pub sources: Vec<(String, String)>,
    /// The packages the spec names.
    pub requested: Vec<String>,
    pub files: Vec<Chosen>,
}

impl LockedPackages {
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.requested.is_empty() && self.files.is_empty()
    }
}

/// The package rootfs `layer` was analysed with.
pub(super) fn locked(analysis: &Analysis, layer: &str) -> LockedPackages {
    analysis
        .packages
        .iter()
        .find(|u| u.layer == layer)
        .map(|PackageUse { prepared, .. }| LockedPackages {
            sources: prepared.sources.clone(),
            requested: prepared.requested.clone(),
            files: prepared.packages.clone(),
        })
        .unwrap_or_default()
}

/// Every way a layer's package rootfs differs from the lock.
pub(super) fn drift(
    old: &LockedLayer,
    new: &LockedLayer,
    analysis: &Analysis,
    out: &mut Vec<Diagnostic>,
) {
    let (old, new, layer) = (&old.packages, &new.packages, &new.name);
    let span = analysis
        .spec
        .layer(layer)
        .and_then(|l| l.packages.as_ref())
        .map(|p| p.span);
    let mut error = |message: String, label: &str| {
        let mut d = Diagnostic::error(Code::LockPackages, message).help(super::drift::HELP);
        if let Some(span) = span {
            d = d.at(span).label(label);
        }
        out.push(d);
    };
    let described = |s: &[(String, String)]| s.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>();
    if described(&old.sources) != described(&new.sources) {
        error(
            format!(
                "layer `{layer}`: the package sources are now {}, layer.lock has {}",
                list(&described(&new.sources)),
                list(&described(&old.sources))
            ),
            "sources changed",
        );
    } else if old.sources != new.sources {
        error(
            format!(
                "layer `{layer}`: a source's signed index is not the one layer.lock records (the repository was updated)"
            ),
            "index changed",
        );
    }
    if old.requested != new.requested {
        error(
            format!(
                "layer `{layer}`: the spec now names the packages {}, layer.lock has {}",
                list(&new.requested),
                list(&old.requested)
            ),
            "packages changed",
        );
    }
    for f in &new.files {
        match old.files.iter().find(|o| o.name == f.name) {
            None => error(
                format!(
                    "layer `{layer}`: package {} {} is not in layer.lock",
                    f.name, f.version
                ),
                "new package",
            ),
            Some(o) if o != f => error(
                format!(
                    "layer `{layer}`: package {} is now {} ({}), layer.lock has {} ({})",
                    f.name, f.version, f.sha256, o.version, o.sha256
                ),
                "package changed",
            ),
            Some(_) => {}
        }
    }
    for o in &old.files {
        if !new.files.iter().any(|f| f.name == o.name) {
            error(
                format!(
                    "layer `{layer}`: package {} {} is no longer needed, but layer.lock lists it",
                    o.name, o.version
                ),
                "package gone",
            );
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
