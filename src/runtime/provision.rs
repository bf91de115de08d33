//! What a layer can count on finding without shipping it: the view of the catalog that resolution
//! asks, for the layer's runtimes on the layer's architecture.

use super::{Catalog, Listing, OsBase, Runtime};
use crate::arch::Architecture;

/// The runtimes a layer is compatible with (one OS base) on one architecture: the layer's target,
/// resolved once while the spec is lowered (`LayerSpec::target`).
#[derive(Clone)]
pub struct Provision<'a> {
    pub catalog: &'a Catalog,
    pub os: &'a OsBase,
    pub runtimes: Vec<&'a Runtime>,
    pub arch: Architecture,
}

/// Two provisions are equal when they name the same base, runtimes and architecture.
impl PartialEq for Provision<'_> {
    fn eq(&self, other: &Self) -> bool {
        let ids = |p: &Self| p.runtimes.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        self.os.id == other.os.id && self.arch == other.arch && ids(self) == ids(other)
    }
}

impl Eq for Provision<'_> {}

/// Names only: the catalog behind it is large.
impl std::fmt::Debug for Provision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.runtimes.iter().map(|r| r.id.as_str()).collect();
        f.debug_struct("Provision")
            .field("os", &self.os.id)
            .field("runtimes", &ids)
            .field("arch", &self.arch)
            .finish()
    }
}

impl<'a> Provision<'a> {
    /// The runtime named first in the layer: messages speak of it.
    pub fn runtime(&self) -> &'a Runtime {
        self.runtimes[0]
    }

    /// "dotnetcore3.1 (Amazon Linux 2)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.runtime().id, self.os.name)
    }

    /// `None` when no runtime is known. Runtimes on another OS base than the first are left out
    /// (the spec check reports them).
    pub fn new<'b>(
        catalog: &'a Catalog,
        runtime_ids: impl IntoIterator<Item = &'b str>,
        arch: Architecture,
    ) -> Option<Self> {
        let mut runtimes: Vec<&Runtime> = runtime_ids
            .into_iter()
            .filter_map(|id| catalog.runtime(id))
            .collect();
        let os = catalog.os(&runtimes.first()?.os)?;
        runtimes.retain(|rt| rt.os == os.id);
        Some(Provision {
            catalog,
            os,
            runtimes,
            arch,
        })
    }

    /// Every runtime of the layer finds `soname` without the layer, so the layer must not ship it.
    pub fn has(&self, soname: &str) -> bool {
        self.runtimes
            .iter()
            .all(|rt| rt.provider(self.os, self.arch, soname).is_some())
    }

    /// One of glibc's own objects that the base has: never shipped, whatever the spec says. A glibc
    /// soname the base lacks (`libnsl.so.1` on Amazon Linux 2023) is an ordinary library.
    pub fn is_glibc(&self, soname: &str) -> bool {
        self.catalog.is_glibc(soname) && self.os.provides(self.arch, soname)
    }

    /// For each runtime whose own folder (not its base's) holds `soname`: the runtime and folder.
    pub fn own_copies(&self, soname: &str) -> Vec<(&'a Runtime, &'a Listing)> {
        self.runtimes
            .iter()
            .filter_map(|rt| Some((*rt, rt.own_provider(self.os, self.arch, soname)?)))
            .collect()
    }
}
