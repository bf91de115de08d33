//! .NET assemblies: whether a file is one, its identity, the native libraries it loads by P/Invoke
//! (`DllImport`/`LibraryImport`) with the search paths it sets, how CoreCLR searches for each
//! (`coreclr.rs`), what the host tells CoreCLR (`host.rs`) and the names that never load on Linux
//! (`foreign.rs`).
//!
//! Invariant: any byte string gives `Ok(None)` (not an assembly), `Ok(Some(imports))` or a
//! [`MalformedAssembly`]; never a panic, never a read past the slice, and work bounded by its
//! length. The reader is our own over ECMA-335 (PE headers, metadata root, the `#~` stream's
//! ModuleRef and ImplMap tables): the only parts layerc needs, with no other dependency.

pub mod coreclr;
mod foreign;
pub mod host;
mod pe;
mod tables;

use std::collections::BTreeMap;

pub use foreign::foreign;

/// One native module an assembly imports from, with the entry points it calls there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PInvoke {
    /// The name as written in `DllImport("...")`: `gdiplus`, `libc`, `kernel32.dll`.
    pub module: String,
    /// Sorted, without duplicates.
    pub entry_points: Vec<String>,
    /// `DefaultDllImportSearchPathsAttribute` of the methods (else of the assembly): a module whose
    /// methods differ is listed once per value.
    pub search_paths: Option<u32>,
}

/// What layerc reads from an assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssemblyInfo {
    /// The Assembly table's name (`System.Drawing.Common`); empty for a module without one.
    pub name: String,
    /// Major, minor, build, revision.
    pub version: [u16; 4],
    /// Sorted by module name.
    pub imports: Vec<PInvoke>,
}

/// A PE file with a CLI header whose metadata cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed .NET assembly: {0}")]
pub struct MalformedAssembly(pub String);

/// Whether the bytes are a managed assembly: a PE image with a CLI header.
pub fn is_assembly(bytes: &[u8]) -> bool {
    matches!(pe::cli_image(bytes), Ok(Some(_)))
}

/// The P/Invoke imports of an assembly, sorted by module name; `Ok(None)` when the bytes are not
/// a managed assembly (not PE, or a native PE without a CLI header).
pub fn pinvoke_imports(bytes: &[u8]) -> Result<Option<Vec<PInvoke>>, MalformedAssembly> {
    Ok(read_assembly(bytes)?.map(|a| a.imports))
}

/// The identity and P/Invoke imports of an assembly; `Ok(None)` when the bytes are not one.
pub fn read_assembly(bytes: &[u8]) -> Result<Option<AssemblyInfo>, MalformedAssembly> {
    let Some(image) = pe::cli_image(bytes)? else {
        return Ok(None);
    };
    let streams = pe::streams(image.metadata()?)?;
    let tables = tables::Tables::read(streams.tables)?;
    let search = SearchPaths::read(&tables, &streams)?;
    let mut modules: BTreeMap<(String, Option<u32>), Vec<String>> = BTreeMap::new();
    for row in tables.impl_maps()? {
        let Some(name) = tables.module_ref_name(row.module_ref)? else {
            return Err(MalformedAssembly(format!(
                "an ImplMap row names ModuleRef {} that does not exist",
                row.module_ref
            )));
        };
        let module = pe::string_at(streams.strings, name)?;
        let entry = entry_point(&tables, streams.strings, &row)?;
        let paths = search.of(row.method);
        modules.entry((module, paths)).or_default().extend(entry);
    }
    let imports = modules
        .into_iter()
        .map(|((module, search_paths), mut entry_points)| {
            entry_points.sort();
            entry_points.dedup();
            PInvoke {
                module,
                entry_points,
                search_paths,
            }
        })
        .collect();
    let (name, version) = match tables.assembly()? {
        Some((name, version)) => (pe::string_at(streams.strings, name)?, version),
        None => (String::new(), [0; 4]),
    };
    Ok(Some(AssemblyInfo {
        name,
        version,
        imports,
    }))
}

/// `DefaultDllImportSearchPathsAttribute` values: on the assembly, and on methods by MethodDef row.
struct SearchPaths {
    assembly: Option<u32>,
    methods: BTreeMap<u32, u32>,
}

impl SearchPaths {
    fn read(
        tables: &tables::Tables<'_>,
        streams: &pe::Streams<'_>,
    ) -> Result<Self, MalformedAssembly> {
        let mut out = SearchPaths {
            assembly: None,
            methods: BTreeMap::new(),
        };
        for row in tables.attributes()? {
            let Some((namespace, name)) = tables.attribute_type(row.constructor)? else {
                continue;
            };
            if pe::string_at(streams.strings, name)? != "DefaultDllImportSearchPathsAttribute"
                || pe::string_at(streams.strings, namespace)? != "System.Runtime.InteropServices"
            {
                continue;
            }
            // The value: prolog 0x0001, then the DllImportSearchPath argument as an int32 (II.23.3).
            let blob = pe::blob_at(streams.blobs, row.value)?;
            let (Some(1), Some(flags)) = (pe::u16_at(blob, 0), pe::u32_at(blob, 2)) else {
                return Err(MalformedAssembly(
                    "a DefaultDllImportSearchPaths value is not a prolog and an int32".into(),
                ));
            };
            match (row.parent & 0x1F, row.parent >> 5) {
                (tables::PARENT_ASSEMBLY, _) => out.assembly = Some(flags),
                (tables::PARENT_METHOD_DEF, method) => {
                    out.methods.insert(method, flags);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The method's own value, else the assembly's (`GetDllImportSearchPathFlags`).
    fn of(&self, method: Option<u32>) -> Option<u32> {
        method
            .and_then(|m| self.methods.get(&m).copied())
            .or(self.assembly)
    }
}

/// The ImplMap row's import name, or the method's own name when the import name is empty
/// (`DllImport` without `EntryPoint` may leave it so).
fn entry_point(
    tables: &tables::Tables<'_>,
    strings: &[u8],
    row: &tables::ImplMapRow,
) -> Result<Option<String>, MalformedAssembly> {
    let name = pe::string_at(strings, row.import_name)?;
    if !name.is_empty() {
        return Ok(Some(name));
    }
    match row.method.map(|m| tables.method_name(m)).transpose()? {
        Some(Some(index)) => pe::string_at(strings, index).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(bytes: &[u8]) -> Vec<(String, Vec<String>)> {
        pinvoke_imports(bytes)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|p| (p.module, p.entry_points))
            .collect()
    }

    const IMPORTS: &[(&str, &str, &str)] = &[
        ("libgdiplus", "GdipCreateBitmap", "CreateBitmap"),
        ("libgdiplus", "GdipDispose", "Dispose"),
        ("kernel32.dll", "", "GetTickCount"),
    ];

    #[test]
    fn reads_module_refs_and_entry_points() {
        for wide in [false, true] {
            let bytes = fixture::assembly(IMPORTS, wide);
            assert!(is_assembly(&bytes));
            assert_eq!(
                imports(&bytes),
                [
                    ("kernel32.dll".into(), vec!["GetTickCount".into()]),
                    (
                        "libgdiplus".into(),
                        vec!["GdipCreateBitmap".into(), "GdipDispose".into()]
                    ),
                ],
                "wide string indexes: {wide}"
            );
        }
    }

    #[test]
    fn other_files_are_not_assemblies() {
        assert_eq!(pinvoke_imports(b""), Ok(None));
        assert_eq!(pinvoke_imports(b"\x7fELF\x02\x01\x01"), Ok(None));
        let mut native = fixture::assembly(IMPORTS, false);
        let cli_dir = 0x98 + 96 + 14 * 8;
        native[cli_dir..cli_dir + 4].fill(0);
        assert_eq!(pinvoke_imports(&native), Ok(None));
        assert!(!is_assembly(&native));
    }

    #[test]
    fn every_truncation_is_an_error_or_not_an_assembly() {
        let bytes = fixture::assembly(IMPORTS, false);
        for len in 0..bytes.len() {
            if let Ok(Some(found)) = pinvoke_imports(&bytes[..len]) {
                // Only the padding after the last string may go.
                assert_eq!(found.len(), 2, "truncated at {len}");
            }
        }
    }

    #[test]
    fn an_import_scope_past_module_ref_is_malformed() {
        let mut bytes = fixture::assembly(&IMPORTS[..1], false);
        // The ImplMap row's last column (ImportScope) is the end of the #~ table rows.
        let scope = bytes
            .windows(2)
            .rposition(|w| w == [1, 0])
            .expect("scope column");
        bytes[scope] = 9;
        assert!(pinvoke_imports(&bytes).is_err());
    }
}
