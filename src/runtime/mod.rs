//! The runtime catalog: what each Lambda runtime is and what its OS base provides.
//!
//! Invariant: the catalog is data (`specs/runtimes/*.kdl`, embedded at build time) with its
//! provenance; no runtime fact is written in Rust code.

mod load;
mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use version::{Date, Version};

use crate::arch::Architecture;

// `specs/runtimes/*.kdl` as node trees (see build.rs).
const OS_BASES_KDL: &str = include_str!(concat!(env!("OUT_DIR"), "/os-bases.json"));
const RUNTIMES_KDL: &str = include_str!(concat!(env!("OUT_DIR"), "/runtimes.json"));

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub os_bases: BTreeMap<String, OsBase>,
    pub runtimes: BTreeMap<String, Runtime>,
    /// glibc's own objects: never shipped, whatever the spec says.
    pub glibc_sonames: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsBase {
    pub id: String,
    pub name: String,
    pub glibc: Version,
    pub sources: Vec<String>,
    /// Highest symbol version per namespace (`GLIBC`, `GLIBCXX`, `CXXABI`, `GCC`) per architecture.
    pub ceilings: BTreeMap<Architecture, BTreeMap<String, Version>>,
    /// Sonames present in the base's library folders.
    pub provides: BTreeMap<String, ProvidedSoname>,
    /// Where each `provides` block came from; `ProvidedSoname::source` indexes into it.
    pub provides_sources: Vec<ProvidesSource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedSoname {
    pub source: usize,
    pub package: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidesSource {
    pub text: String,
    /// True when sonames were derived from package names rather than read off a file listing.
    pub derived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub id: String,
    pub family: String,
    pub os: String,
    pub architectures: Vec<Architecture>,
    pub deprecated: Option<Date>,
    pub block_create: Option<Date>,
    pub block_update: Option<Date>,
    pub successor: Option<String>,
    /// The runtime's default LD_LIBRARY_PATH, in order.
    pub ld_library_path: Vec<String>,
    pub sources: Vec<String>,
}

impl Catalog {
    /// The catalog built into the binary.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The embedded data is checked by the test suite; a failure here is a build defect.
            load::load(OS_BASES_KDL, RUNTIMES_KDL).expect("built-in runtime catalog is valid")
        })
    }

    pub fn runtime(&self, id: &str) -> Option<&Runtime> {
        self.runtimes.get(id)
    }

    pub fn runtime_ids(&self) -> impl Iterator<Item = &str> {
        self.runtimes.keys().map(String::as_str)
    }

    pub fn os(&self, id: &str) -> Option<&OsBase> {
        self.os_bases.get(id)
    }

    /// The OS base's display name, or its id when unknown.
    pub fn os_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.os(id).map_or(id, |os| os.name.as_str())
    }

    pub fn is_glibc(&self, soname: &str) -> bool {
        self.glibc_sonames.contains(soname)
    }
}

impl OsBase {
    pub fn provides(&self, soname: &str) -> bool {
        self.provides.contains_key(soname)
    }

    /// The highest version of a symbol-version namespace (`GLIBC`, ...) on `arch`.
    pub fn ceiling(&self, arch: Architecture, namespace: &str) -> Option<&Version> {
        self.ceilings.get(&arch)?.get(namespace)
    }
}

/// Splits a symbol version such as `GLIBC_2.34` into its namespace and number.
/// Returns `None` for versions without a number (`GLIBC_PRIVATE`).
pub fn split_symbol_version(name: &str) -> Option<(&str, Version)> {
    let (namespace, number) = name.rsplit_once('_')?;
    Some((namespace, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads_and_is_consistent() {
        let catalog = Catalog::builtin();
        assert!(catalog.runtimes.len() >= 40, "{}", catalog.runtimes.len());
        for rt in catalog.runtimes.values() {
            let os = catalog
                .os(&rt.os)
                .unwrap_or_else(|| panic!("{} has unknown os", rt.id));
            for arch in &rt.architectures {
                assert!(os.ceiling(*arch, "GLIBC").is_some(), "{} {arch}", rt.id);
            }
            assert!(!rt.ld_library_path.is_empty(), "{}", rt.id);
        }
        for id in [
            "dotnetcore2.1",
            "dotnet10",
            "provided",
            "provided.al2",
            "provided.al2023",
            "python3.7",
            "python3.14",
            "nodejs12.x",
            "nodejs24.x",
            "java8",
            "java25",
            "ruby2.5",
            "ruby3.4",
            "go1.x",
        ] {
            assert!(catalog.runtime(id).is_some(), "{id}");
        }
        let al2 = catalog.os("al2").unwrap();
        assert!(al2.provides("libc.so.6") && al2.provides("libstdc++.so.6"));
        assert!(!al2.provides("libuuid.so.1"));
        assert_eq!(
            al2.ceiling(Architecture::X86_64, "GLIBC")
                .unwrap()
                .to_string(),
            "2.26"
        );
        assert!(catalog.is_glibc("libpthread.so.0") && !catalog.is_glibc("libcrypt.so.1"));
    }

    #[test]
    fn symbol_versions_split() {
        let (ns, v) = split_symbol_version("GLIBC_2.34").unwrap();
        assert_eq!((ns, v.to_string().as_str()), ("GLIBC", "2.34"));
        assert_eq!(split_symbol_version("GLIBCXX_3.4.29").unwrap().0, "GLIBCXX");
        assert!(split_symbol_version("GLIBC_PRIVATE").is_none());
    }
}
