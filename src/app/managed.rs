//! The seam for managed code: a reader that finds, in a .NET assembly, its identity and the native
//! libraries it loads by P/Invoke (`DllImport`/`LibraryImport`). `dotnet.rs` beside this file
//! searches for each as CoreCLR does.
//!
//! The walker hands every `.dll`/`.exe` that is not ELF to the [`ManagedReader`].

/// One native library an assembly imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeImport {
    /// The name as the assembly writes it (`gdiplus.dll`, `libSkiaSharp`).
    pub module: String,
    /// The entry points it calls there.
    pub entry_points: Vec<String>,
    /// `DefaultDllImportSearchPathsAttribute` (`DllImportSearchPath` bits), when set.
    pub search_paths: Option<u32>,
}

/// What a reader finds in one assembly: its identity (an assembly's own resolver is known by it)
/// and its imports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagedAssembly {
    pub name: String,
    pub major: u16,
    pub imports: Vec<NativeImport>,
}

/// Reads a managed assembly's bytes: `Ok(None)` when they are not a managed assembly, `Err(why)`
/// when they are one whose metadata cannot be read (its imports are then unknown).
pub type ManagedReader = fn(&[u8]) -> Result<Option<ManagedAssembly>, String>;

/// The reader `layerc scan` and the spec's `app` checks use.
pub const READER: ManagedReader = dotnet_reader;

/// A reader that recognises no assembly.
pub fn no_reader(_bytes: &[u8]) -> Result<Option<ManagedAssembly>, String> {
    Ok(None)
}

/// Whether the walker offers a file to the reader: a `.dll` or `.exe` that starts like a PE file.
pub fn is_candidate(name: &str, prefix: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.ends_with(".dll") || lower.ends_with(".exe")) && prefix.starts_with(b"MZ")
}

/// .NET assemblies, read by [`crate::dotnet`]. An assembly whose metadata cannot be read is an
/// error saying why: its imports are unknown, not missing.
pub fn dotnet_reader(bytes: &[u8]) -> Result<Option<ManagedAssembly>, String> {
    let Some(info) = crate::dotnet::read_assembly(bytes).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    Ok(Some(ManagedAssembly {
        name: info.name,
        major: info.version[0],
        imports: info
            .imports
            .into_iter()
            .map(|i| NativeImport {
                module: i.module,
                entry_points: i.entry_points,
                search_paths: i.search_paths,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dotnet::fixture;

    #[test]
    fn an_assembly_whose_metadata_cannot_be_read_says_why() {
        let bytes = fixture::assembly(&[("libgdiplus", "GdipDispose", "Dispose")], false);
        let assembly = dotnet_reader(&bytes).unwrap().unwrap();
        assert_eq!(assembly.imports[0].module, "libgdiplus");
        let mut broken = bytes.clone();
        // The ImplMap row's last column (ImportScope) points past the one ModuleRef row.
        let scope = broken.windows(2).rposition(|w| w == [1, 0]).unwrap();
        broken[scope] = 9;
        assert!(!dotnet_reader(&broken).unwrap_err().is_empty());
        assert_eq!(dotnet_reader(b"MZ not a PE file"), Ok(None));
    }
}
