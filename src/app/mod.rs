//! Scanning an application (`layerc scan APP`, and a function's `app` in the spec): what it will
//! fail to load on Lambda. Not to be confused with `described::scan`, which describes a runtime image.
//!
//! The application is mounted at `/var/task` and the layers' planned entries at `/opt`
//! (`mount.rs`); the walk (`walk.rs`) finds its ELF objects and the managed assemblies a
//! [`ManagedReader`] recognises (`managed.rs`, the seam for .NET P/Invoke); each object is loaded
//! as Lambda's loader would with the function's LD_LIBRARY_PATH (`loader.rs`), the runtime's folders
//! known from the catalog; each P/Invoke is searched for as CoreCLR does, and ICU checked
//! (`dotnet.rs`); `report.rs` turns the failures into diagnostics.
//!
//! Invariant: the application and the layers are read only through the `RootFs` trait (a folder, a
//! zip read in place, a layer's rootfs), so nothing outside them is ever read; the same inputs give
//! the same failures in the same order.

pub mod abi;
mod abi_report;
pub mod check;
pub mod dotnet;
pub mod fix;
pub mod loader;
pub mod managed;
pub mod mount;
pub mod report;
mod symbols;
pub mod walk;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::arch::Architecture;
use crate::plan::LayerPlan;
use crate::resolve::ElfCache;
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::{OsBase, Runtime};

pub use loader::Failure;
pub use managed::{ManagedAssembly, ManagedReader, NativeImport};
pub use walk::AppFiles;

/// One layer attached to the function: its plan, and the rootfs its files are read from.
pub struct LayerMount<'a> {
    pub name: String,
    pub plan: &'a LayerPlan,
    pub fs: Arc<dyn RootFs>,
    /// Libraries the layer excludes although an object it ships needs them.
    pub excluded: Vec<ExcludedNeed>,
}

/// A library a layer's `exclude` leaves out that one of its shipped objects needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedNeed {
    pub layer: String,
    pub name: String,
    /// `libfreetype.so.6 → libbrotlidec.so.1`.
    pub chain: String,
    /// The `exclude` value in the spec.
    pub span: Option<crate::diagnostic::Span>,
}

/// Where the application runs: the runtime, the architecture, the layers and the LD_LIBRARY_PATH.
pub struct Environment<'a> {
    pub runtime: &'a Runtime,
    pub os: &'a OsBase,
    pub arch: Architecture,
    pub layers: Vec<LayerMount<'a>>,
    /// The function's LD_LIBRARY_PATH, folder by folder.
    pub ld_library_path: Vec<String>,
}

impl Environment<'_> {
    /// "python3.11 (Amazon Linux 2)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.runtime.id, self.os.name)
    }
}

/// The LD_LIBRARY_PATH Lambda sets for a function whose layers put libraries in `layer_dirs`
/// (`/opt/lib`), in front of the runtime's default, without duplicates (what `build` writes into
/// the template for `ld-library-path "prepend"`).
pub fn prepended_path(runtime: &Runtime, layer_dirs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for dir in layer_dirs.iter().chain(&runtime.ld_library_path) {
        if !out.contains(dir) {
            out.push(dir.clone());
        }
    }
    out
}

/// What a scan found.
pub struct AppScan {
    pub files: AppFiles,
    /// Everything that will not load, by chain.
    pub failures: Vec<Failure>,
    /// Imports of managed assemblies that exist only on Windows or macOS: (assembly, name).
    pub foreign: Vec<(String, String)>,
    /// What fails in libraries the .NET runtime loads only optionally (and goes on without), with
    /// why they are optional: notes, never failures.
    pub optional: Vec<(Failure, String)>,
    /// Functions that a loaded P/Invoke library lacks: with lazy binding, only a call to one fails
    /// (which the scan cannot know will happen), so they are warnings, not failures.
    pub call_time: Vec<Failure>,
    /// .NET host files (`*.deps.json`, `*.runtimeconfig.json`) that could not be read: (file, why).
    pub unreadable_host_files: Vec<(String, String)>,
    /// The file names CoreCLR tries for each P/Invoke that is not foreign, by (assembly, module).
    pub pinvoke_names: BTreeMap<(String, String), Vec<String>>,
    /// Native code built for another interpreter, jars' natives, what was not checked.
    pub abi: abi::AbiScan,
    /// Excluded libraries that nothing on the function's search path provides.
    pub excluded: Vec<ExcludedNeed>,
}

impl AppScan {
    /// Nothing fails to load, and the application was walked whole.
    pub fn loads(&self) -> bool {
        self.failures.is_empty()
            && self.excluded.is_empty()
            && !self.abi.has_errors()
            && !self.files.truncated
    }
}

/// Scans the application in `app` for `env`. `Err` only when the application cannot be listed.
pub fn scan(
    app: Arc<dyn RootFs>,
    env: &Environment<'_>,
    reader: ManagedReader,
) -> std::io::Result<AppScan> {
    let mounts: Vec<(&LayerPlan, Arc<dyn RootFs>)> =
        env.layers.iter().map(|l| (l.plan, l.fs.clone())).collect();
    let fs = mount::FunctionFs::new(app, &mounts);
    let cache = ElfCache::default();
    let files = walk::walk(&fs, env.arch, &cache, reader)?;
    let loader = loader::Loader {
        fs: &fs,
        cache: &cache,
        arch: env.arch,
        runtime: env.runtime,
        os: env.os,
        ld_library_path: env
            .ld_library_path
            .iter()
            .map(|d| RootPath::new(d))
            .collect(),
    };
    let mut failures = objects(&loader, &files);
    let mut foreign = Vec::new();
    let mut pinvoke_names = BTreeMap::new();
    let rid_arch = match env.arch {
        Architecture::X86_64 => "x64",
        Architecture::Arm64 => "arm64",
    };
    let context = dotnet::context(&fs, env.runtime, &files, rid_arch);
    if let Some(context) = &context {
        let imports = dotnet::imports(&loader, &files, context);
        failures.extend(imports.failures);
        foreign = imports.foreign;
        pinvoke_names = imports.names;
        failures.extend(dotnet::icu(&loader, context));
    }
    let abi = abi::check(&loader, &files);
    failures.extend(abi.failures.iter().cloned());
    failures.retain(|f| !abi.explains(f));
    let excluded = unprovided_excludes(&loader, env);
    let mut optional = Vec::new();
    let mut unreadable_host_files = Vec::new();
    let mut kept = Vec::new();
    let mut call_time = Vec::new();
    for failure in distinct(failures) {
        match context
            .as_ref()
            .and_then(|c| dotnet::optional_reason(c, &failure))
        {
            Some(why) => optional.push((failure, why.to_string())),
            None if matches!(failure, Failure::SymbolNotFound { lazy: true, .. }) => {
                call_time.push(failure)
            }
            None => kept.push(failure),
        }
    }
    if let Some(context) = context {
        unreadable_host_files = context.unreadable;
    }
    Ok(AppScan {
        files,
        failures: kept,
        foreign,
        optional,
        call_time,
        unreadable_host_files,
        pinvoke_names,
        abi,
        excluded,
    })
}

/// The layers' excluded needs that nothing on the function's search path (the application, the
/// layers, the runtime) provides.
fn unprovided_excludes(loader: &loader::Loader<'_>, env: &Environment<'_>) -> Vec<ExcludedNeed> {
    let mut dirs = loader.ld_library_path.clone();
    dirs.extend(
        crate::resolve::search::DEFAULT_DIRS
            .iter()
            .map(|d| RootPath::new(d)),
    );
    env.layers
        .iter()
        .flat_map(|l| &l.excluded)
        .filter(|e| loader.find(&dirs, &e.name).is_err())
        .cloned()
        .collect()
}

/// Loads every object of the application. An object some other object loads is checked there,
/// with its loader's DT_RPATH (a wheel's bundled library needs its extension module's); the
/// others (and any left unreached, in a cycle) are the processes' starting points.
fn objects(loader: &loader::Loader<'_>, files: &AppFiles) -> Vec<Failure> {
    let processes: Vec<loader::Process> = files
        .objects
        .iter()
        .map(|o| {
            let name = loader::shown(&o.path);
            loader.load(o.path.clone(), o.path.clone(), o.elf.clone(), vec![name])
        })
        .collect();
    let loaded_by_other: BTreeSet<&RootPath> = processes
        .iter()
        .flat_map(|p| p.loaded.iter().skip(1))
        .collect();
    let mut reached: BTreeSet<&RootPath> = BTreeSet::new();
    let mut failures = Vec::new();
    let pairs = || files.objects.iter().zip(&processes);
    // Starting points first; then whatever they never reached.
    let roots = pairs().filter(|(o, _)| !loaded_by_other.contains(&o.path));
    let roots: Vec<_> = roots.collect();
    for (_, process) in &roots {
        failures.extend(process.failures.iter().cloned());
        reached.extend(process.loaded.iter());
    }
    for (object, process) in pairs() {
        if !reached.contains(&object.path) {
            failures.extend(process.failures.iter().cloned());
            reached.extend(process.loaded.iter());
        }
    }
    failures
}

/// One failure per object and cause, with the shortest chain (then the first in order), sorted.
fn distinct(failures: Vec<Failure>) -> Vec<Failure> {
    let mut best: BTreeMap<(u8, String, String), Failure> = BTreeMap::new();
    for f in failures {
        let chain = f.chain();
        let object = chain[..chain.len().saturating_sub(1)].last().cloned();
        let key = match &f {
            Failure::NotFound { names, .. } => (0, object.unwrap_or_default(), names.join(" ")),
            Failure::PInvokeNotFound { chain, .. } => (1, chain[0].clone(), chain[1].clone()),
            Failure::IcuNotFound { .. } => (4, String::new(), String::new()),
            Failure::SymbolNotFound {
                chain,
                symbol,
                version,
                ..
            } => (
                5,
                chain.last().cloned().unwrap_or_default(),
                format!("{symbol} {}", version.as_deref().unwrap_or_default()),
            ),
            Failure::TooNew { chain, file, .. } => {
                (2, chain.last().cloned().unwrap_or_default(), file.clone())
            }
            Failure::Undefined {
                chain,
                file,
                version,
                ..
            } => (
                3,
                chain.last().cloned().unwrap_or_default(),
                format!("{file} {version}"),
            ),
        };
        match best.get(&key) {
            Some(seen) if seen.chain().len() <= f.chain().len() => {}
            _ => {
                best.insert(key, f);
            }
        }
    }
    let mut out: Vec<Failure> = best.into_values().collect();
    out.sort_by(|a, b| a.chain().cmp(b.chain()));
    out
}

/// The layers of `spec` a function has, mounted in its order, and its LD_LIBRARY_PATH for
/// `runtime`: with `function`, that function's local layers and its `ld-library-path` mode; without,
/// every layer of the spec, prepended. Layers that could not be analysed are left out.
pub fn spec_layers<'a>(
    spec: &crate::spec::Spec,
    analysed: &'a [crate::plan::LayerAnalysis],
    function: Option<&crate::spec::FunctionSpec>,
    runtime: &Runtime,
) -> (Vec<LayerMount<'a>>, Vec<String>) {
    use crate::spec::{LayerRef, LdLibraryPathMode};
    let names: Vec<&str> = match function {
        Some(f) => f
            .layers
            .iter()
            .filter_map(|l| match &l.value {
                LayerRef::Local(name) => Some(name.as_str()),
                LayerRef::Arn(_) => None,
            })
            .collect(),
        None => spec.layers.iter().map(|l| l.name.value.as_str()).collect(),
    };
    let mut mounts = Vec::new();
    let mut dirs = Vec::new();
    for name in names {
        let (Some(layer), Some(analysis)) =
            (spec.layer(name), analysed.iter().find(|a| a.name() == name))
        else {
            continue;
        };
        let excluded = analysis
            .graph
            .excluded_needs()
            .into_iter()
            .map(|(idx, need, _)| ExcludedNeed {
                layer: name.to_string(),
                name: need.to_string(),
                chain: analysis.graph.chain_text(idx),
                span: layer
                    .excludes
                    .iter()
                    .find(|e| e.value == need)
                    .map(|e| e.span),
            })
            .collect();
        mounts.push(LayerMount {
            name: name.to_string(),
            plan: &analysis.plan,
            fs: analysis.rootfs.fs.clone(),
            excluded,
        });
        dirs.push(format!("/opt/{}", layer.dir.value));
    }
    let path = match function.map(|f| f.ld_library_path.value) {
        Some(LdLibraryPathMode::Keep) => runtime.ld_library_path.clone(),
        Some(LdLibraryPathMode::Append) => {
            let mut tail: Vec<String> = runtime.ld_library_path.clone();
            tail.extend(
                dirs.iter()
                    .filter(|d| !runtime.ld_library_path.contains(d))
                    .cloned(),
            );
            tail
        }
        _ => prepended_path(runtime, &dirs),
    };
    (mounts, path)
}
