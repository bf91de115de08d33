//! The runtime catalog: what each Lambda runtime is and what its OS base provides.
//!
//! Invariant: the catalog is data (`specs/runtimes/*.kdl`, embedded at build time) with its
//! provenance; no runtime fact is written in Rust code.

pub mod compare;
pub mod describe;
pub mod interpreter;
mod load;
mod provision;
pub mod scan;
mod tree;
mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use interpreter::{Interpreter, Language};
pub use load::description;
pub use provision::Provision;
pub use version::{Date, Version};

use crate::arch::Architecture;

// `specs/runtimes/*.kdl` as node trees, and a digest of them (see build.rs).
const DATA: load::Data = load::Data {
    os_bases: include_str!(concat!(env!("OUT_DIR"), "/os-bases.json")),
    os_provides: include_str!(concat!(env!("OUT_DIR"), "/os-provides.json")),
    runtimes: include_str!(concat!(env!("OUT_DIR"), "/runtimes.json")),
    runtime_folders: include_str!(concat!(env!("OUT_DIR"), "/runtime-folders.json")),
    base_images: include_str!(concat!(env!("OUT_DIR"), "/base-images.json")),
    dotnet: include_str!(concat!(env!("OUT_DIR"), "/dotnet.json")),
    interpreters: include_str!(concat!(env!("OUT_DIR"), "/interpreters.json")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/digest.txt")),
};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The data version: the date written in the data and a digest of all of it, so a changed
    /// catalog shows (`layerc runtimes`, and anything a build records).
    pub version: String,
    pub os_bases: BTreeMap<String, OsBase>,
    pub runtimes: BTreeMap<String, Runtime>,
    /// glibc's own objects: never shipped where the base has them, whatever the spec says.
    pub glibc_sonames: BTreeSet<String>,
    /// Runtime id → the image AWS publishes for it, with the source that names its tag.
    pub base_images: BTreeMap<String, BaseImage>,
    /// The .NET shared frameworks Lambda runs, by version (`3.1`, `8`).
    pub frameworks: BTreeMap<String, Framework>,
}

/// AWS's container image of a managed runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// `public.ecr.aws/lambda/FAMILY:TAG`.
    pub reference: String,
    pub source: String,
}

/// One .NET version's shared framework (`dotnet.kdl`): where it is and which native files it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framework {
    /// `3.1`, `6`, `8`, `10`.
    pub version: String,
    /// `/var/lang/bin/shared/Microsoft.NETCore.App`: the version folder below it is not part of it.
    pub folder: String,
    pub files: BTreeSet<String>,
    /// Files the runtime loads on its own and lets fail, or only for a feature off by default:
    /// (file, why).
    pub optional: Vec<(String, String)>,
    /// The ICU major versions the runtime dlopens: from `icu_max` (or without bound) down to `icu_min`.
    pub icu_min: u32,
    pub icu_max: Option<u32>,
    pub source: String,
}

impl Framework {
    /// The folder as messages show it: `/var/lang/bin/shared/Microsoft.NETCore.App/8.*`.
    pub fn shown_folder(&self) -> String {
        format!("{}/{}.*", self.folder, self.version)
    }

    pub fn optional_reason(&self, file: &str) -> Option<&str> {
        self.optional
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, why)| why.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsBase {
    pub id: String,
    pub name: String,
    pub glibc: Version,
    pub sources: Vec<String>,
    /// Highest symbol version per namespace (`GLIBC`, `GLIBCXX`, `CXXABI`, `GCC`) per architecture.
    pub ceilings: BTreeMap<Architecture, Ceilings>,
    /// What the base's library folders hold, in the loader's default order (`/lib64` first).
    pub listings: Vec<Listing>,
}

/// The symbol-version ceilings of one base on one architecture, with where they come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ceilings {
    pub versions: BTreeMap<String, Version>,
    /// When these versions took effect (the first dump that shows them).
    pub since: Option<Date>,
    pub source: String,
}

/// The shared-object names in one folder of a base or a runtime, on some architectures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub folder: String,
    pub architectures: Vec<Architecture>,
    pub sonames: BTreeSet<String>,
    /// The data file (and, for generated data, the upstream file and commit) it comes from.
    pub source: String,
    pub upstream: Option<String>,
    /// When the listing was dumped inside Lambda; `None` for lists derived from package names.
    pub dumped: Option<Date>,
    /// True when the names were derived (from package names) rather than read off a listing.
    pub derived: bool,
}

impl Listing {
    pub fn has(&self, arch: Architecture, soname: &str) -> bool {
        self.architectures.contains(&arch) && self.sonames.contains(soname)
    }
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
    /// The runtime's own library folders (`/var/lang/lib`, ...), beyond its OS base.
    pub folders: Vec<Listing>,
    pub sources: Vec<String>,
    /// The .NET shared framework of a `dotnet` runtime (`dotnet.kdl`).
    pub dotnet: Option<Framework>,
    /// How it runs code: program interpreter, PATH, language ABI (`interpreters.kdl`).
    pub interpreter: Interpreter,
}

/// Where a runtime stands in its end of support on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lifecycle {
    Supported,
    Deprecated,
    CreationBlocked,
    UpdatesBlocked,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Supported => "supported",
            Lifecycle::Deprecated => "deprecated",
            Lifecycle::CreationBlocked => "creation blocked",
            Lifecycle::UpdatesBlocked => "updates blocked",
        }
    }
}

impl Runtime {
    /// The runtime's end-of-support dates, each with what happens on it, in order.
    pub fn lifecycle_dates(&self) -> [(Lifecycle, Option<Date>); 3] {
        [
            (Lifecycle::Deprecated, self.deprecated),
            (Lifecycle::CreationBlocked, self.block_create),
            (Lifecycle::UpdatesBlocked, self.block_update),
        ]
    }

    /// The furthest stage of end of support reached on `today`.
    pub fn lifecycle(&self, today: Date) -> Lifecycle {
        self.lifecycle_dates()
            .into_iter()
            .filter(|(_, d)| d.is_some_and(|d| d <= today))
            .map(|(stage, _)| stage)
            .max()
            .unwrap_or(Lifecycle::Supported)
    }
}

impl Catalog {
    /// The catalog built into the binary.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The embedded data is checked by the test suite; a failure here is a build defect.
            load::load(&DATA).expect("built-in runtime catalog is valid")
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

    /// This catalog with one more OS base and runtime (a description file or a scanned rootfs),
    /// replacing entries of the same ids. A description says nothing of how the runtime runs
    /// code, so a runtime it replaces keeps that.
    pub fn with_description(&self, os: OsBase, mut runtime: Runtime) -> Catalog {
        if let Some(known) = self.runtimes.get(&runtime.id)
            && runtime.interpreter == Interpreter::default()
        {
            runtime.interpreter = known.interpreter.clone();
        }
        let mut catalog = self.clone();
        catalog.os_bases.insert(os.id.clone(), os);
        catalog.runtimes.insert(runtime.id.clone(), runtime);
        catalog
    }

    /// A soname of glibc's own objects (whether or not a given base has it).
    pub fn is_glibc(&self, soname: &str) -> bool {
        self.glibc_sonames.contains(soname)
    }
}

impl OsBase {
    /// The listing of the base's folders that holds `soname` on `arch`, first folder first.
    pub fn provider(&self, arch: Architecture, soname: &str) -> Option<&Listing> {
        self.listings.iter().find(|l| l.has(arch, soname))
    }

    pub fn provides(&self, arch: Architecture, soname: &str) -> bool {
        self.provider(arch, soname).is_some()
    }

    /// The highest version of a symbol-version namespace (`GLIBC`, ...) on `arch`.
    pub fn ceiling(&self, arch: Architecture, namespace: &str) -> Option<&Version> {
        self.ceilings.get(&arch)?.versions.get(namespace)
    }
}

impl Runtime {
    /// Where this runtime's loader finds `soname` without any layer: its own folders and its
    /// base's, in the order of its default LD_LIBRARY_PATH, then the base's default folders.
    pub fn provider<'a>(
        &'a self,
        os: &'a OsBase,
        arch: Architecture,
        soname: &str,
    ) -> Option<&'a Listing> {
        let system = ["/lib64", "/usr/lib64"];
        for dir in &self.ld_library_path {
            if let Some(own) = self
                .folders
                .iter()
                .find(|l| &l.folder == dir && l.has(arch, soname))
            {
                return Some(own);
            }
            if system.contains(&dir.as_str())
                && let Some(base) = os.provider(arch, soname)
            {
                return Some(base);
            }
        }
        os.provider(arch, soname)
    }

    /// The runtime's own folder (not its base's) that the loader takes `soname` from, if any.
    pub fn own_provider<'a>(
        &'a self,
        os: &'a OsBase,
        arch: Architecture,
        soname: &str,
    ) -> Option<&'a Listing> {
        self.provider(os, arch, soname)
            .filter(|l| self.folders.contains(l))
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
        let x86 = Architecture::X86_64;
        assert!(al2.provides(x86, "libc.so.6") && al2.provides(x86, "libstdc++.so.6"));
        // Amazon Linux 2 has carried libuuid since 2023 (the 2026 dumps).
        assert!(al2.provides(x86, "libuuid.so.1"));
        assert_eq!(al2.ceiling(x86, "GLIBC").unwrap().to_string(), "2.26");
        assert!(catalog.version.starts_with("20"), "{}", catalog.version);
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
