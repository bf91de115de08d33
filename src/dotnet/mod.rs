//! .NET assemblies: whether a file is one, the native libraries it loads by P/Invoke
//! (`DllImport`/`LibraryImport`), and the Linux file names the .NET loader probes for each.
//!
//! Invariant: any byte string gives `Ok(None)` (not an assembly), `Ok(Some(imports))` or a
//! [`MalformedAssembly`]; never a panic, never a read past the slice, and work bounded by its
//! length. The reader is our own over ECMA-335 (PE headers, metadata root, the `#~` stream's
//! ModuleRef and ImplMap tables): the only parts layerc needs, with no other dependency.

mod pe;
mod probe;
mod tables;

use std::collections::BTreeMap;

pub use probe::{Mapping, Probe, map_module};

/// One native module an assembly imports from, with the entry points it calls there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PInvoke {
    /// The name as written in `DllImport("...")`: `gdiplus`, `libc`, `kernel32.dll`.
    pub module: String,
    /// Sorted, without duplicates.
    pub entry_points: Vec<String>,
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
    let Some(image) = pe::cli_image(bytes)? else {
        return Ok(None);
    };
    let streams = pe::streams(image.metadata()?)?;
    let tables = tables::Tables::read(streams.tables)?;
    let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in tables.impl_maps()? {
        let Some(name) = tables.module_ref_name(row.module_ref)? else {
            return Err(MalformedAssembly(format!(
                "an ImplMap row names ModuleRef {} that does not exist",
                row.module_ref
            )));
        };
        let module = pe::string_at(streams.strings, name)?;
        let entry = entry_point(&tables, streams.strings, &row)?;
        modules.entry(module).or_default().extend(entry);
    }
    Ok(Some(
        modules
            .into_iter()
            .map(|(module, mut entry_points)| {
                entry_points.sort();
                entry_points.dedup();
                PInvoke {
                    module,
                    entry_points,
                }
            })
            .collect(),
    ))
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
