//! Lazy binding: CoreCLR opens a P/Invoke library with `dlopen(name, RTLD_LAZY)`
//! (`LOADLoadLibraryDirect`, dotnet/coreclr `src/pal/src/loader/module.cpp` @ v3.1.23; the same
//! call since), so a function symbol that a loaded library lacks is looked up only when first
//! called, and the process then dies with `symbol lookup error`, while a missing DT_NEEDED or
//! symbol version fails `dlopen` itself. A data symbol is bound at load all the same. The
//! P/Invoke's own entry points are looked up (`dlsym`) at its first call: a missing one is an
//! `EntryPointNotFoundException` then.
//!
//! Only what the application and the layers ship is checked: the runtime's own libraries are known
//! by name, not by their symbols.

use std::collections::HashMap;

use super::NativeImport;
use super::loader::{Failure, Loader, shown};
use crate::elf::{self, Symbols};
use crate::rootfs::RootPath;

/// The symbol failures of a P/Invoke library that loads: versioned symbols its objects need from
/// one another that are missing, and entry points no object of the application or layers defines.
pub(super) fn check(
    loader: &Loader<'_>,
    loaded: &[RootPath],
    chain: &[String],
    import: &NativeImport,
) -> Vec<Failure> {
    let objects: Vec<(&RootPath, Option<String>, Symbols)> = loaded
        .iter()
        .filter_map(|path| {
            let bytes = loader.fs.map(path).ok()?;
            let symbols = elf::symbols(&bytes).ok()?;
            let soname = loader.cache.get(loader.fs, path).ok()?.soname.clone();
            Some((path, soname, symbols))
        })
        .collect();
    let by_name: HashMap<&str, usize> = objects
        .iter()
        .enumerate()
        .flat_map(|(i, (path, soname, _))| {
            let file = path.file_name();
            [(file, i)]
                .into_iter()
                .chain(soname.as_deref().map(|s| (s, i)))
        })
        .collect();
    let mut failures = Vec::new();
    for (i, (path, _, symbols)) in objects.iter().enumerate() {
        let mut at = chain.to_vec();
        if i > 0 {
            at.push(shown(path));
        }
        for need in symbols.undefined.iter().filter(|u| !u.weak) {
            let Some((file, version)) = &need.version else {
                continue;
            };
            let Some(&p) = by_name.get(file.as_str()) else {
                continue;
            };
            if !objects[p].2.defines(&need.name, Some(version)) {
                failures.push(Failure::SymbolNotFound {
                    chain: at.clone(),
                    symbol: need.name.clone(),
                    version: Some(version.clone()),
                    provider: shown(objects[p].0),
                    lazy: need.lazy,
                });
            }
        }
    }
    if let Some((root, _, _)) = objects.first() {
        for entry in &import.entry_points {
            // `FindEntryPoint` (dotnet/coreclr src/vm/method.cpp @ v3.1.23): the name, then (unless
            // ExactSpelling) the name with `A` or `W` by its character set.
            let found = |s: &Symbols| {
                [String::new(), "A".into(), "W".into()]
                    .iter()
                    .any(|suffix| s.defines(&format!("{entry}{suffix}"), None))
            };
            if !objects.iter().any(|(_, _, s)| found(s)) {
                failures.push(Failure::SymbolNotFound {
                    chain: chain.to_vec(),
                    symbol: entry.clone(),
                    version: None,
                    provider: shown(root),
                    lazy: true,
                });
            }
        }
    }
    failures
}
