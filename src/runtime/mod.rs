//! The runtime catalog: what each Lambda runtime is and what its OS base provides.
//!
//! Invariant: the catalog is data (`specs/runtimes/*.kdl`, embedded at build time) with its
//! provenance; no runtime fact is written in Rust code.

pub mod compare;
pub mod describe;
pub mod interpreter;
mod listings;
mod load;
mod node;
mod provision;
mod tree;
mod version;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

pub use interpreter::{Interpreter, Language};
pub use listings::Listings;
pub use load::description;
pub use provision::Provision;
pub use version::{Date, Version};

use crate::arch::Architecture;

// `specs/runtimes/*.kdl` as node trees, and a digest of them (see build.rs).
mod listings_data {
    include!(concat!(env!("OUT_DIR"), "/listings.rs"));
}
const DATA: load::Data = load::Data {
    os_bases: include_str!(concat!(env!("OUT_DIR"), "/os-bases.json")),
    os_provides: listings_data::OS_PROVIDES,
    runtimes: include_str!(concat!(env!("OUT_DIR"), "/runtimes.json")),
    runtime_folders: listings_data::RUNTIME_FOLDERS,
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
    /// The date of the built-in data (`catalog-version`): lifecycle findings are "as of" it.
    pub data_date: Option<Date>,
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
    pub listings: Listings,
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
    pub folders: Listings,
    pub sources: Vec<String>,
    /// The .NET shared framework of a `dotnet` runtime (`dotnet.kdl`).
    pub dotnet: Option<Framework>,
    /// How it runs code: program interpreter, PATH, language ABI (`interpreters.kdl`).
    pub interpreter: Interpreter,
    /// Where this entry comes from (`layerc runtimes` shows it; lifecycle findings name it).
    pub origin: Origin,
}

/// Where a runtime entry of the catalog comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The data built into layerc, of this date.
    Builtin(Option<Date>),
    /// An override file (`--catalog`, `LAYERC_CATALOG`), with the `catalog-version` it states.
    File { path: String, as_of: Option<Date> },
    /// A runtime description (`runtime-file`, `target-rootfs`): what it was made from.
    Described(String),
    /// An id the catalog does not know, used with the OS base the spec states (`base=`).
    Stated,
}

impl Origin {
    /// "built-in 2026-12-07", "override.kdl", ...: for tables.
    pub fn label(&self) -> String {
        match self {
            Origin::Builtin(Some(d)) => format!("built-in {d}"),
            Origin::Builtin(None) => "built-in".to_string(),
            Origin::File { path, .. } => path.clone(),
            Origin::Described(what) => what.clone(),
            Origin::Stated => "spec (base=)".to_string(),
        }
    }

    /// "as of catalog data 2026-12-07": what a lifecycle finding is true of.
    pub fn as_of(&self) -> String {
        match self {
            Origin::Builtin(Some(d)) => format!("as of catalog data {d}"),
            Origin::File {
                path,
                as_of: Some(d),
            } => format!("as of catalog data {d} in {path}"),
            Origin::File { path, as_of: None } => format!("as of {path}"),
            Origin::Builtin(None) => "as of the built-in catalog data".to_string(),
            Origin::Described(what) => format!("as of {what}"),
            Origin::Stated => "as stated in the spec".to_string(),
        }
    }
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

    /// This catalog with the entries of an override file (the catalog's KDL format, as `layerc
    /// runtime scan` writes it) added or replacing entries of the same ids; a `runtime` node
    /// without `os` changes only what it states (dates, successor, ...) of the entry it names.
    pub fn with_overrides(&self, text: &str, path: &str) -> Result<Catalog, String> {
        load::overrides(self, text, path).map_err(|e| format!("{path}: {e}"))
    }

    /// This catalog with `id`, a runtime it does not know, on the OS base `base`: the
    /// `ld-library-path` of the newest runtime of the same family on that base (or of the base's
    /// newest runtime), no folders of its own, every architecture the base has ceilings for.
    /// `None` when `base` is not a known OS base.
    pub fn with_stated(&self, id: &str, base: &str) -> Option<Catalog> {
        let os = self.os(base)?;
        let family: String = id.chars().take_while(char::is_ascii_alphabetic).collect();
        let mut on_base: Vec<&Runtime> =
            self.runtimes.values().filter(|rt| rt.os == os.id).collect();
        on_base.sort_by(|a, b| natural_cmp(&a.id, &b.id));
        let model = on_base
            .iter()
            .rev()
            .find(|rt| rt.family == family)
            .or(on_base.last())?;
        let runtime = Runtime {
            id: id.to_string(),
            family,
            os: os.id.clone(),
            architectures: os.ceilings.keys().copied().collect(),
            deprecated: None,
            block_create: None,
            block_update: None,
            successor: None,
            ld_library_path: model.ld_library_path.clone(),
            folders: Listings::default(),
            sources: vec![format!(
                "stated in the spec (base=\"{base}\"); ld-library-path taken from {}",
                model.id
            )],
            dotnet: None,
            // The loader and PATH are the base's; the language's ABI is unknown for a new id.
            interpreter: Interpreter {
                language: None,
                ..model.interpreter.clone()
            },
            origin: Origin::Stated,
        };
        let mut catalog = self.clone();
        catalog.runtimes.insert(id.to_string(), runtime);
        Some(catalog)
    }

    /// [`Catalog::with_stated`], made once per catalog, id and base for the whole program (a
    /// layer's `Target` borrows its catalog for `'static`; an editor re-analyses on every key).
    pub fn stated(&'static self, id: &str, base: &str) -> Option<&'static Catalog> {
        type Key = (usize, String, String);
        static MADE: OnceLock<Mutex<HashMap<Key, &'static Catalog>>> = OnceLock::new();
        let key = (
            self as *const Catalog as usize,
            id.to_string(),
            base.to_string(),
        );
        let mut made = crate::lock(MADE.get_or_init(Mutex::default));
        if let Some(catalog) = made.get(&key) {
            return Some(catalog);
        }
        let catalog: &'static Catalog = Box::leak(Box::new(self.with_stated(id, base)?));
        made.insert(key, catalog);
        Some(catalog)
    }

    /// The runtime ids in natural order (`python3.6` before `python3.14`).
    pub fn sorted_runtimes(&self) -> Vec<&Runtime> {
        let mut all: Vec<&Runtime> = self.runtimes.values().collect();
        all.sort_by(|a, b| natural_cmp(&a.id, &b.id));
        all
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

/// Compares ids with their digit runs as numbers: `dotnet5.0` < `dotnet10`, `python3.6` <
/// `python3.14`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let key = |s| {
        chunks(s)
            .into_iter()
            .map(|(digits, c)| match digits {
                true => (c.trim_start_matches('0').len(), c.to_string()),
                false => (0, c.to_string()),
            })
            .collect::<Vec<_>>()
    };
    // Digit runs compare by length (leading zeros dropped), then text: a numeric comparison.
    let (ka, kb) = (key(a), key(b));
    for ((da, ca), (db, cb)) in ka.iter().zip(&kb) {
        let o = if ca.as_bytes()[0].is_ascii_digit() && cb.as_bytes()[0].is_ascii_digit() {
            da.cmp(db).then_with(|| ca.cmp(cb))
        } else {
            ca.cmp(cb)
        };
        if o.is_ne() {
            return o;
        }
    }
    ka.len().cmp(&kb.len()).then_with(|| a.cmp(b))
}

/// Splits a symbol version such as `GLIBC_2.34` into its namespace and number.
/// Returns `None` for versions without a number (`GLIBC_PRIVATE`).
pub fn split_symbol_version(name: &str) -> Option<(&str, Version)> {
    let (namespace, number) = name.rsplit_once('_')?;
    Some((namespace, number.parse().ok()?))
}

#[cfg(test)]
mod tests;
