//! One process as Lambda's dynamic loader builds it: an object, then its DT_NEEDED entries breadth
//! first, each looked up as glibc does: DT_RPATH of the object and of the objects that loaded it
//! (only while the object has no DT_RUNPATH), the function's LD_LIBRARY_PATH, the object's
//! DT_RUNPATH, then the default folders. A name already loaded in the process is not looked up
//! again. Folders under `/var/task` and `/opt` are read; the runtime's folders are the catalog's.

use std::collections::HashMap;
use std::sync::Arc;

use super::mount::{OPT, TASK};
use crate::arch::Architecture;
use crate::elf::ElfInfo;
use crate::resolve::ElfCache;
use crate::resolve::search::{self, DEFAULT_DIRS, Lookup, Skipped};
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::{OsBase, Runtime, Version, split_symbol_version};

/// Objects loaded into one process before the walk stops: real processes load a few hundred.
const MAX_LOADED: usize = 4096;

/// The function's environment: what every lookup reads.
pub struct Loader<'a> {
    pub fs: &'a dyn RootFs,
    pub cache: &'a ElfCache,
    pub arch: Architecture,
    pub runtime: &'a Runtime,
    pub os: &'a OsBase,
    /// The function's LD_LIBRARY_PATH.
    pub ld_library_path: Vec<RootPath>,
}

/// Who satisfies a name.
#[derive(Debug, Clone)]
pub enum Hit {
    /// A file of the application or of a layer: the path the loader opened, and the real file.
    File {
        path: RootPath,
        real: RootPath,
        elf: Arc<ElfInfo>,
    },
    /// The runtime's folder that holds it.
    Runtime(String),
}

/// Something that will not load, with the chain of names from the file the application starts
/// from (`pkg/mod.so`, `liba.so`, `libb.so`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A DT_NEEDED entry (or a P/Invoke import) nothing satisfies.
    NotFound {
        chain: Vec<String>,
        /// Candidate names, any one of which would do (one for a DT_NEEDED entry).
        names: Vec<String>,
        /// Files looked at and passed over, with why.
        skipped: Vec<(String, String)>,
    },
    /// A P/Invoke import of a managed assembly for which CoreCLR finds no file; the chain is the
    /// assembly and the import, `names` the file names it tries, in its order.
    PInvokeNotFound {
        chain: Vec<String>,
        names: Vec<String>,
    },
    /// A symbol a P/Invoke library (or one it loads) needs, missing from the file that should define
    /// it: with `lazy`, bound only when first called (CoreCLR opens P/Invoke libraries with
    /// `RTLD_LAZY`), so the function fails then; otherwise `dlopen` itself fails. The chain ends at
    /// the object that needs it; `version` is the one it asks for.
    SymbolNotFound {
        chain: Vec<String>,
        symbol: String,
        version: Option<String>,
        provider: String,
        lazy: bool,
    },
    /// No ICU the .NET runtime accepts loads; the chain names the app's runtimeconfig.json,
    /// `names` the `libicuuc` sonames tried.
    IcuNotFound {
        chain: Vec<String>,
        names: Vec<String>,
    },
    /// A symbol version newer than the runtime's ceiling (`GLIBC_2.28` over `GLIBC_2.26`).
    TooNew {
        chain: Vec<String>,
        file: String,
        version: String,
        ceiling: String,
    },
    /// A symbol version that the loaded file (of the app or a layer) does not define.
    Undefined {
        chain: Vec<String>,
        file: String,
        version: String,
        provider: String,
    },
}

impl Failure {
    pub fn chain(&self) -> &[String] {
        match self {
            Failure::NotFound { chain, .. }
            | Failure::PInvokeNotFound { chain, .. }
            | Failure::IcuNotFound { chain, .. }
            | Failure::SymbolNotFound { chain, .. }
            | Failure::TooNew { chain, .. }
            | Failure::Undefined { chain, .. } => chain,
        }
    }
}

struct Loaded {
    path: RootPath,
    real: RootPath,
    elf: Arc<ElfInfo>,
    loader: Option<usize>,
    /// The chain of names that led here.
    chain: Vec<String>,
}

#[derive(Clone)]
enum Slot {
    Object(usize),
    Runtime,
    Missing,
}

/// What one process loaded (real paths) and what failed in it.
pub struct Process {
    pub loaded: Vec<RootPath>,
    pub failures: Vec<Failure>,
}

impl Loader<'_> {
    /// Loads `root` (found at `path`) and everything it needs. `chain` names `root` (and, for a
    /// library loaded by P/Invoke, the assembly before it).
    pub fn load(
        &self,
        path: RootPath,
        real: RootPath,
        elf: Arc<ElfInfo>,
        chain: Vec<String>,
    ) -> Process {
        let mut by_name: HashMap<String, Slot> = HashMap::new();
        let mut loaded: Vec<Loaded> = Vec::new();
        let mut by_real: HashMap<RootPath, usize> = HashMap::new();
        let mut failures = Vec::new();
        if let Some(soname) = &elf.soname {
            by_name.insert(soname.clone(), Slot::Object(0));
        }
        by_real.insert(real.clone(), 0);
        loaded.push(Loaded {
            path,
            real,
            elf,
            loader: None,
            chain,
        });
        let mut i = 0;
        while i < loaded.len() && loaded.len() < MAX_LOADED {
            let elf = loaded[i].elf.clone();
            for need in &elf.needed {
                if by_name.contains_key(need) {
                    continue;
                }
                let dirs = self.search_dirs(&loaded, i);
                let slot = match self.find(&dirs, need) {
                    Ok(Hit::Runtime(_)) => Slot::Runtime,
                    Ok(Hit::File { path, real, elf }) => match by_real.get(&real) {
                        Some(&j) => Slot::Object(j),
                        None => {
                            let j = loaded.len();
                            by_real.insert(real.clone(), j);
                            if let Some(soname) = &elf.soname {
                                by_name.entry(soname.clone()).or_insert(Slot::Object(j));
                            }
                            let mut chain = loaded[i].chain.clone();
                            chain.push(need.clone());
                            loaded.push(Loaded {
                                path,
                                real,
                                elf,
                                loader: Some(i),
                                chain,
                            });
                            Slot::Object(j)
                        }
                    },
                    Err(skipped) => {
                        let mut chain = loaded[i].chain.clone();
                        chain.push(need.clone());
                        failures.push(Failure::NotFound {
                            chain,
                            names: vec![need.clone()],
                            skipped,
                        });
                        Slot::Missing
                    }
                };
                by_name.insert(need.clone(), slot);
            }
            self.check_versions(&loaded, i, &by_name, &mut failures);
            i += 1;
        }
        Process {
            loaded: loaded.into_iter().map(|l| l.real).collect(),
            failures,
        }
    }

    /// The folders searched for the needs of object `i`, in the loader's order (duplicates kept;
    /// [`Loader::find`] skips them).
    fn search_dirs(&self, loaded: &[Loaded], i: usize) -> Vec<RootPath> {
        let arch = self.arch;
        let mut dirs = Vec::new();
        if loaded[i].elf.runpath.is_empty() {
            // DT_RPATH of the object, then of each object that loaded it (one with DT_RUNPATH has
            // none: the loader ignores DT_RPATH there).
            let mut at = Some(i);
            while let Some(l) = at {
                let obj = &loaded[l];
                if obj.elf.runpath.is_empty() {
                    let origin = obj.path.parent();
                    dirs.extend(
                        obj.elf
                            .rpath
                            .iter()
                            .filter_map(|e| search::expand(e, &origin, arch)),
                    );
                }
                at = obj.loader;
            }
        }
        dirs.extend(self.ld_library_path.iter().cloned());
        let origin = loaded[i].path.parent();
        dirs.extend(
            loaded[i]
                .elf
                .runpath
                .iter()
                .filter_map(|e| search::expand(e, &origin, arch)),
        );
        dirs.extend(DEFAULT_DIRS.iter().map(|d| RootPath::new(d)));
        dirs
    }

    /// Looks `name` up in `dirs`: the first folder that has it wins. A name with a `/` is a path
    /// (relative ones from the working folder, `/var/task`). `Err` carries the files passed over.
    pub fn find(&self, dirs: &[RootPath], name: &str) -> Result<Hit, Vec<(String, String)>> {
        if name.contains('/') {
            let path = if name.starts_with('/') {
                RootPath::new(name)
            } else {
                RootPath::new(TASK).join(name)
            };
            return self.find(&[path.parent()], path.file_name());
        }
        let load = |p: &RootPath| self.cache.get(self.fs, p);
        let mut skipped: Vec<Skipped> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for dir in dirs {
            if !seen.insert(dir) {
                continue;
            }
            if is_mounted(dir) {
                match search::find_in(self.fs, [dir], name, self.arch, None, &load) {
                    Lookup::Found(f) => {
                        return Ok(Hit::File {
                            path: f.path,
                            real: f.real,
                            elf: f.elf,
                        });
                    }
                    Lookup::NotFound { skipped: s } => skipped.extend(s),
                }
            } else if let Some(folder) = self.runtime_has(dir, name) {
                return Ok(Hit::Runtime(folder));
            }
        }
        Err(skipped
            .into_iter()
            .map(|s| (s.path.to_string(), s.reason.to_string()))
            .collect())
    }

    /// The runtime's folder (as the catalog lists it) that gives `name` when the loader looks in
    /// `dir`: the runtime's own folders (`/var/lang/lib`), or its OS base's for the default ones.
    fn runtime_has(&self, dir: &RootPath, name: &str) -> Option<String> {
        let arch = self.arch;
        if let Some(own) = self
            .runtime
            .folders
            .iter()
            .find(|l| l.folder == dir.as_str() && l.has(arch, name))
        {
            return Some(own.folder.clone());
        }
        DEFAULT_DIRS
            .contains(&dir.as_str())
            .then(|| self.os.provider(arch, name))
            .flatten()
            .map(|l| l.folder.clone())
    }

    /// Symbol versions object `i` needs: from the runtime, within its ceilings; from a loaded file,
    /// defined by it.
    fn check_versions(
        &self,
        loaded: &[Loaded],
        i: usize,
        by_name: &HashMap<String, Slot>,
        failures: &mut Vec<Failure>,
    ) {
        let obj = &loaded[i];
        for need in &obj.elf.verneed {
            // The loader itself (`ld-linux-x86-64.so.2`) is in every process without a DT_NEEDED.
            let implicit = || {
                self.os
                    .provides(self.arch, &need.file)
                    .then_some(&Slot::Runtime)
            };
            match by_name.get(&need.file).or_else(implicit) {
                Some(Slot::Runtime) => {
                    if let Some((version, ceiling)) = self.over_ceiling(&need.versions) {
                        failures.push(Failure::TooNew {
                            chain: obj.chain.clone(),
                            file: need.file.clone(),
                            version,
                            ceiling,
                        });
                    }
                }
                Some(Slot::Object(j)) => {
                    let provider = &loaded[*j];
                    for v in &need.versions {
                        if !provider.elf.verdef.contains(v) {
                            failures.push(Failure::Undefined {
                                chain: obj.chain.clone(),
                                file: need.file.clone(),
                                version: v.clone(),
                                provider: shown(&provider.path),
                            });
                        }
                    }
                }
                Some(Slot::Missing) | None => {}
            }
        }
    }

    /// The highest of `versions` above the OS base's ceiling for its namespace, with that ceiling.
    fn over_ceiling(&self, versions: &[String]) -> Option<(String, String)> {
        let mut worst: Option<(Version, String, String)> = None;
        for v in versions {
            let Some((ns, version)) = split_symbol_version(v) else {
                continue;
            };
            let Some(ceiling) = self.os.ceiling(self.arch, ns) else {
                continue;
            };
            if &version > ceiling && worst.as_ref().is_none_or(|(w, _, _)| version > *w) {
                worst = Some((version, v.clone(), format!("{ns}_{ceiling}")));
            }
        }
        worst.map(|(_, v, c)| (v, c))
    }
}

/// Whether the function's file system holds `dir` (the application's and the layers' folders).
fn is_mounted(dir: &RootPath) -> bool {
    [TASK, OPT].iter().any(|m| {
        dir.as_str() == *m
            || dir
                .as_str()
                .strip_prefix(m)
                .is_some_and(|r| r.starts_with('/'))
    })
}

/// How messages show a file of the function: relative to `/var/task` for the application's,
/// absolute for a layer's.
pub fn shown(path: &RootPath) -> String {
    match path
        .as_str()
        .strip_prefix(TASK)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rel) => rel.to_string(),
        None => path.to_string(),
    }
}
