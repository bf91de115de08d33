//! The .NET side of a scan: each P/Invoke searched for as CoreCLR does (`crate::dotnet::coreclr`),
//! with the folders the host gives it (`crate::dotnet::host`), the runtime's shared framework known
//! from the catalog; ICU, which CoreCLR loads at start-up unless the app is in invariant mode; and
//! the runtime's optional libraries, whose absence it ignores.

use super::loader::{self, Failure, Hit, Loader};
use super::mount::TASK;
use super::walk::{AppFiles, Assembly};
use crate::dotnet::coreclr::{self, Attempt, DotnetVersion, Place, Request};
use crate::dotnet::host::{self, RuntimeConfig};
use crate::resolve::search::DEFAULT_DIRS;
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::{Catalog, Framework, Runtime};

/// The largest `.json` file of the host read.
const MAX_JSON_BYTES: u64 = 16 << 20;

/// What the .NET host and runtime bring to this application.
pub struct Dotnet {
    pub version: DotnetVersion,
    /// The catalog's facts for that version (its shared framework's files, ICU, optional files).
    pub framework: Option<Framework>,
    /// Whether the shared framework folder is the runtime's (a framework-dependent app on a
    /// `dotnet` runtime), rather than inside the app (self-contained) or absent.
    pub framework_is_runtimes: bool,
    /// NATIVE_DLL_SEARCH_DIRECTORIES, absolute (`/var/task/runtimes/linux-x64/native`; the shared
    /// framework folder as [`Framework::shown_folder`]).
    pub search_dirs: Vec<String>,
    /// `<app>.runtimeconfig.json`, with its name, when the app has one.
    pub config: Option<(String, RuntimeConfig)>,
    /// Why a host file could not be read, for a warning.
    pub unreadable: Vec<(String, String)>,
}

/// The .NET context of an application: `None` when it is no .NET application (no assembly and no
/// runtimeconfig.json).
pub fn context(
    fs: &dyn RootFs,
    runtime: &Runtime,
    files: &AppFiles,
    rid_arch: &str,
) -> Option<Dotnet> {
    let mut unreadable = Vec::new();
    let names = fs.read_dir(&RootPath::new(TASK)).unwrap_or_default();
    let config =
        host_file(fs, &names, ".runtimeconfig.json", &mut unreadable).and_then(|(name, bytes)| {
            match host::runtime_config(&bytes) {
                Ok(c) => Some((name, c)),
                Err(why) => {
                    unreadable.push((name, why));
                    None
                }
            }
        });
    if files.assemblies.is_empty() && config.is_none() {
        return None;
    }
    let app_version = config
        .as_ref()
        .and_then(|(_, c)| c.dotnet_version())
        .and_then(|v| DotnetVersion::parse(&v));
    let self_contained = config.as_ref().is_some_and(|(_, c)| c.self_contained);
    let (version, framework, framework_is_runtimes) = match (&runtime.dotnet, app_version) {
        (Some(fx), _) if !self_contained => (
            DotnetVersion::parse(&fx.version).unwrap_or(DotnetVersion::V10),
            Some(fx.clone()),
            true,
        ),
        (_, Some(v)) => (
            v,
            Catalog::builtin().frameworks.get(v.as_str()).cloned(),
            false,
        ),
        (Some(fx), None) => (
            DotnetVersion::parse(&fx.version).unwrap_or(DotnetVersion::V10),
            Some(fx.clone()),
            false,
        ),
        (None, None) => (DotnetVersion::V10, None, false),
    };
    let mut search_dirs = match host_file(fs, &names, ".deps.json", &mut unreadable) {
        Some((name, bytes)) => {
            match host::native_asset_dirs(&bytes, &host::rid_fallbacks(rid_arch)) {
                Ok(dirs) => dirs.iter().map(|d| task_dir(d)).collect(),
                Err(why) => {
                    unreadable.push((name, why));
                    vec![TASK.to_string()]
                }
            }
        }
        // Without a deps.json, hostpolicy searches the app folder (`resolve_probe_dirs`).
        None => vec![TASK.to_string()],
    };
    if let (Some(fx), true) = (&framework, framework_is_runtimes) {
        search_dirs.push(fx.shown_folder());
    }
    Some(Dotnet {
        version,
        framework,
        framework_is_runtimes,
        search_dirs,
        config,
        unreadable,
    })
}

fn task_dir(rel: &str) -> String {
    if rel.is_empty() {
        TASK.to_string()
    } else {
        format!("{TASK}/{rel}")
    }
}

/// The first `*SUFFIX` file directly in `/var/task` (in name order), with its bytes.
fn host_file(
    fs: &dyn RootFs,
    names: &[String],
    suffix: &str,
    unreadable: &mut Vec<(String, String)>,
) -> Option<(String, Vec<u8>)> {
    let mut names: Vec<&String> = names.iter().filter(|n| n.ends_with(suffix)).collect();
    names.sort();
    let name = names.first()?;
    match fs.read(&RootPath::new(TASK).join(name), MAX_JSON_BYTES) {
        Ok(bytes) => Some(((*name).clone(), bytes)),
        Err(e) => {
            unreadable.push(((*name).clone(), e.to_string()));
            None
        }
    }
}

/// What the P/Invoke imports of the application's assemblies come to.
#[derive(Default)]
pub struct Imports {
    pub failures: Vec<Failure>,
    /// Windows/macOS-only imports: (assembly, name).
    pub foreign: Vec<(String, String)>,
    /// The file names tried for each other import, by (assembly, module).
    pub names: std::collections::BTreeMap<(String, String), Vec<String>>,
}

/// Searches for every P/Invoke of every assembly as CoreCLR does; what the library it finds loads
/// is checked in turn.
pub fn imports(loader: &Loader<'_>, files: &AppFiles, dotnet: &Dotnet) -> Imports {
    let mut out = Imports::default();
    for assembly in &files.assemblies {
        let shown = loader::shown(&assembly.path);
        for import in &assembly.managed.imports {
            if crate::dotnet::foreign(&import.module).is_some() {
                out.foreign.push((shown.clone(), import.module.clone()));
                continue;
            }
            let attempts = attempts_for(assembly, import, dotnet);
            out.names.insert(
                (shown.clone(), import.module.clone()),
                coreclr::names_tried(&attempts),
            );
            let chain = vec![shown.clone(), import.module.clone()];
            out.failures
                .extend(search(loader, dotnet, &attempts, chain, import));
        }
    }
    out
}

/// CoreCLR's attempts for one import of `assembly`.
pub fn attempts_for(
    assembly: &Assembly,
    import: &super::NativeImport,
    dotnet: &Dotnet,
) -> Vec<Attempt> {
    let dir = assembly.path.parent();
    let req = Request {
        module: &import.module,
        assembly_dir: dir.as_str(),
        search_dirs: &dotnet.search_dirs,
        search_paths: import.search_paths,
        version: dotnet.version,
    };
    coreclr::all_attempts(&req, &assembly.managed.name, assembly.managed.major)
}

/// Runs the attempts in order: the first file that loads whole wins. A file that is found but does
/// not load is passed over, as `dlopen` fails for it; when none loads, the first such file's
/// failures are the import's, else nothing was found.
fn search(
    loader: &Loader<'_>,
    dotnet: &Dotnet,
    attempts: &[Attempt],
    chain: Vec<String>,
    import: &super::NativeImport,
) -> Vec<Failure> {
    let mut broken: Option<Vec<Failure>> = None;
    for attempt in attempts {
        match find(loader, dotnet, attempt) {
            Some(Hit::Runtime(_)) => return Vec::new(),
            Some(Hit::File { path, real, elf }) => {
                let process = loader.load(path, real, elf, chain.clone());
                if process.failures.is_empty() {
                    return super::symbols::check(loader, &process.loaded, &chain, import);
                }
                broken.get_or_insert(process.failures);
            }
            None => {}
        }
    }
    broken.unwrap_or_else(|| {
        vec![Failure::PInvokeNotFound {
            chain,
            names: coreclr::names_tried(attempts),
        }]
    })
}

/// The file one attempt opens, if any.
fn find(loader: &Loader<'_>, dotnet: &Dotnet, attempt: &Attempt) -> Option<Hit> {
    match &attempt.place {
        Place::In(dir) => {
            if let Some(fx) = dotnet
                .framework
                .as_ref()
                .filter(|_| dotnet.framework_is_runtimes)
                && *dir == fx.shown_folder()
            {
                return fx
                    .files
                    .contains(&attempt.name)
                    .then(|| Hit::Runtime(dir.clone()));
            }
            let path = RootPath::new(dir).join(&attempt.name);
            loader.find(&[path.parent()], path.file_name()).ok()
        }
        Place::Dlopen => loader.find(&dlopen_dirs(loader), &attempt.name).ok(),
    }
}

/// The folders `dlopen` of a bare name searches from CoreCLR (libcoreclr.so has no DT_RUNPATH):
/// LD_LIBRARY_PATH, then the default folders.
fn dlopen_dirs(loader: &Loader<'_>) -> Vec<RootPath> {
    let mut dirs = loader.ld_library_path.clone();
    dirs.extend(DEFAULT_DIRS.iter().map(|d| RootPath::new(d)));
    dirs
}

/// ICU: unless `System.Globalization.Invariant` is true, System.Globalization.Native dlopens
/// `libicuuc.so.N` and then `libicui18n.so.N`, N from the highest version it supports down to the
/// lowest (`FindLibWithMajorVersion`, pal_icushim.c), and the runtime stops when none loads
/// ("Couldn't find a valid ICU package"). Major-and-minor names (`libicuuc.so.67.1`) are its later
/// fallbacks, also tried here.
pub fn icu(loader: &Loader<'_>, dotnet: &Dotnet) -> Option<Failure> {
    if dotnet.config.as_ref().is_some_and(|(_, c)| c.invariant) {
        return None;
    }
    let fx = dotnet.framework.as_ref()?;
    let majors = icu_majors(fx);
    let dirs = dlopen_dirs(loader);
    let loads = |name: &str| match loader.find(&dirs, name) {
        Ok(Hit::Runtime(_)) => true,
        Ok(Hit::File { path, real, elf }) => {
            loader.load(path, real, elf, Vec::new()).failures.is_empty()
        }
        Err(_) => false,
    };
    for &major in &majors {
        let minors = std::iter::once(String::new()).chain((1..=5).rev().map(|m| format!(".{m}")));
        for minor in minors {
            if loads(&format!("libicuuc.so.{major}{minor}"))
                && loads(&format!("libicui18n.so.{major}{minor}"))
            {
                return None;
            }
        }
    }
    let who = dotnet
        .config
        .as_ref()
        .map_or_else(|| "the .NET runtime".to_string(), |(name, _)| name.clone());
    Some(Failure::IcuNotFound {
        chain: vec![who],
        names: majors.iter().map(|m| format!("libicuuc.so.{m}")).collect(),
    })
}

/// The ICU majors the runtime tries, highest first. Without a known upper bound, up to a version far
/// past any ICU released.
pub fn icu_majors(fx: &Framework) -> Vec<u32> {
    const NO_BOUND: u32 = 99;
    (fx.icu_min..=fx.icu_max.unwrap_or(NO_BOUND))
        .rev()
        .collect()
}

/// Whether a failure lies on a library the runtime loads only optionally: any file of its chain
/// (or a P/Invoke name whose variation is such a file) is one of the framework's optional files.
pub fn optional_reason<'a>(dotnet: &'a Dotnet, failure: &Failure) -> Option<&'a str> {
    let fx = dotnet.framework.as_ref()?;
    let chain = failure.chain();
    chain[..chain.len().saturating_sub(1)]
        .iter()
        .find_map(|link| {
            let base = link.rsplit('/').next().unwrap_or(link);
            coreclr::variations(base)
                .iter()
                .find_map(|v| fx.optional_reason(v))
        })
}
