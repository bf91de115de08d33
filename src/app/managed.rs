//! The seam for managed code: a reader that finds, in a .NET assembly, the native libraries it
//! loads by P/Invoke (`DllImport`/`LibraryImport`), with the names the .NET loader probes on Linux.
//!
//! The walker hands every `.dll`/`.exe` that is not ELF to the [`ManagedReader`]; each import
//! becomes a need that any one of its candidate names satisfies, or a foreign name (a Windows or
//! macOS library) that is listed apart and never fails a scan.

/// One native library an assembly imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeImport {
    /// The name as the assembly writes it (`gdiplus.dll`, `libSkiaSharp`).
    pub module: String,
    pub probe: Probe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The file names the .NET loader tries on Linux, in its order (`libgdiplus.so`,
    /// `gdiplus.so`, ...). Any one found satisfies the import.
    Linux(Vec<String>),
    /// A library that exists only on Windows or macOS (`kernel32`, `*.dylib`).
    Foreign,
}

/// Reads a managed assembly's bytes: `Ok(None)` when they are not a managed assembly, `Err(why)`
/// when they are one whose metadata cannot be read (its imports are then unknown).
pub type ManagedReader = fn(&[u8]) -> Result<Option<Vec<NativeImport>>, String>;

/// The reader `layerc scan` and the spec's `app` checks use.
pub const READER: ManagedReader = dotnet_reader;

/// A reader that recognises no assembly.
pub fn no_reader(_bytes: &[u8]) -> Result<Option<Vec<NativeImport>>, String> {
    Ok(None)
}

/// Whether the walker offers a file to the reader: a `.dll` or `.exe` that starts like a PE file.
pub fn is_candidate(name: &str, prefix: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.ends_with(".dll") || lower.ends_with(".exe")) && prefix.starts_with(b"MZ")
}

/// .NET assemblies, read by [`crate::dotnet`]: each P/Invoke module with the Linux names the loader
/// probes for it ([`crate::dotnet::map_module`]). An assembly whose metadata cannot be read is an
/// error saying why: its imports are unknown, not missing.
pub fn dotnet_reader(bytes: &[u8]) -> Result<Option<Vec<NativeImport>>, String> {
    use crate::dotnet::{Mapping, map_module, pinvoke_imports};
    let Some(imports) = pinvoke_imports(bytes).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    Ok(Some(
        imports
            .into_iter()
            .map(|import| {
                let probe = match map_module(&import.module) {
                    Mapping::Linux(p) => Probe::Linux(p.names),
                    Mapping::Foreign { .. } => Probe::Foreign,
                };
                NativeImport {
                    module: import.module,
                    probe,
                }
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dotnet::fixture;

    #[test]
    fn an_assembly_whose_metadata_cannot_be_read_says_why() {
        let bytes = fixture::assembly(&[("libgdiplus", "GdipDispose", "Dispose")], false);
        let imports = dotnet_reader(&bytes).unwrap().unwrap();
        assert_eq!(imports[0].module, "libgdiplus");
        let mut broken = bytes.clone();
        // The ImplMap row's last column (ImportScope) points past the one ModuleRef row.
        let scope = broken.windows(2).rposition(|w| w == [1, 0]).unwrap();
        broken[scope] = 9;
        assert!(!dotnet_reader(&broken).unwrap_err().is_empty());
        assert_eq!(dotnet_reader(b"MZ not a PE file"), Ok(None));
    }
}
