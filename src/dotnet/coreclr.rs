//! CoreCLR's native library probing on Linux, per .NET version Lambda runs: the one home of the
//! rule from a P/Invoke (`DllImport("gdiplus")`) to the files the runtime tries, in its order.
//! Lambda runs .NET on CoreCLR, never on Mono, so Mono's dllmap (`/etc/mono/config`) plays no part.
//!
//! Sources, read at these commits (3.1 from dotnet/coreclr, the others from dotnet/runtime):
//! - 3.1: `src/vm/dllimport.cpp` @ v3.1.23 (`NDirect::LoadLibraryModule`,
//!   `LoadLibraryModuleBySearch`, `DetermineLibNameVariations`), `src/pal/src/loader/module.cpp`
//!   @ v3.1.23 (`PAL_LoadLibraryDirect`, `FixLibCName`, `LOADLoadLibraryDirect`).
//! - 6, 8, 10: `src/coreclr/vm/nativelibrary.cpp` @ 04429f93eda77650fc08101dd7e4e213c129905c
//!   (`LoadNativeLibrary`, `LoadNativeLibraryBySearch`, `DetermineLibNameVariations`), and PR
//!   dotnet/runtime#114756 (.NET 10): `DllImportSearchPath.AssemblyDirectory` alone no longer falls
//!   back to `dlopen`.
//! - The host: `src/native/corehost/hostpolicy/deps_resolver.cpp` @
//!   00b6c9865f451c40b51eb2d79f6d388541044eeb (`resolve_probe_dirs`: NATIVE_DLL_SEARCH_DIRECTORIES)
//!   and `args.cpp` @ 104034fa322a4e96762d19d89cc66064c5207380 (`--depsfile` makes its folder the
//!   app folder): see `host.rs`.

/// The .NET versions Lambda runs (`dotnet.kdl` maps each runtime id to one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DotnetVersion {
    V3_1,
    V6,
    V8,
    V10,
}

impl DotnetVersion {
    /// `3.1`, `6`, `6.0`, `8.0.10`, `10`: by the major version. Versions between those Lambda runs
    /// take the rules of the one before them, but .NET 5 takes 6's: its shared framework names its
    /// native shims `lib*.so` as 6 does (the platform manifest of Directory.Build.props keeps the
    /// 3.x names, `System.Native.so`, as past shims).
    pub fn parse(s: &str) -> Option<DotnetVersion> {
        let mut parts = s.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        Some(match major {
            0..=2 => return None,
            3 | 4 => DotnetVersion::V3_1,
            5..=7 => DotnetVersion::V6,
            8 | 9 => DotnetVersion::V8,
            _ => DotnetVersion::V10,
        })
    }

    /// The catalog's framework key.
    pub fn as_str(self) -> &'static str {
        match self {
            DotnetVersion::V3_1 => "3.1",
            DotnetVersion::V6 => "6",
            DotnetVersion::V8 => "8",
            DotnetVersion::V10 => "10",
        }
    }
}

/// `DllImportSearchPath.AssemblyDirectory` (System.Runtime.InteropServices): the one bit of
/// `DefaultDllImportSearchPathsAttribute` that means something on Linux; the others are
/// LoadLibraryEx flags, which `dlopen` ignores (`LocalLoadLibraryHelper` calls
/// `PAL_LoadLibraryDirect(name)` without them on Unix).
pub const ASSEMBLY_DIRECTORY: u32 = 0x2;

/// Where one attempt looks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// `dlopen("<folder>/<name>")`: a path, opened as it is (NATIVE_DLL_SEARCH_DIRECTORIES, the
    /// assembly's folder).
    In(String),
    /// `dlopen("<name>")`: the loader's search (LD_LIBRARY_PATH, the cache, the default folders);
    /// a name with a `/` is a path from the working folder.
    Dlopen,
}

/// One `dlopen` CoreCLR makes for a P/Invoke: the first that loads wins; one that finds a file
/// that does not load (a missing dependency) is passed over, and the search goes on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub name: String,
    pub place: Place,
}

/// What one P/Invoke's search depends on.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The name in `DllImport`.
    pub module: &'a str,
    /// The folder of the assembly that declares it.
    pub assembly_dir: &'a str,
    /// NATIVE_DLL_SEARCH_DIRECTORIES, from the host (`host::native_search_dirs`).
    pub search_dirs: &'a [String],
    /// `DefaultDllImportSearchPathsAttribute` of the method, else of the assembly.
    pub search_paths: Option<u32>,
    pub version: DotnetVersion,
}

/// `DetermineLibNameVariations` (identical in dllimport.cpp @ v3.1.23 and nativelibrary.cpp):
/// an absolute path is only itself. Otherwise, when the name contains `.so` followed by the end
/// or a `.` (the first `.so` it contains: `SString::Find`), the name, `lib` + name, name + `.so`,
/// `lib` + name + `.so`; without, name + `.so`, `lib` + name + `.so`, name, `lib` + name. A name with a
/// `/` gets no `lib` variants. The `lib` prefix is added even to a name that starts with `lib`.
pub fn variations(name: &str) -> Vec<String> {
    if name.starts_with('/') {
        return vec![name.to_string()];
    }
    let contains_suffix = name
        .find(".so")
        .is_some_and(|i| matches!(name.as_bytes().get(i + 3), None | Some(b'.')));
    let delim = name.contains('/');
    let forms: [(bool, bool); 4] = if contains_suffix {
        [(false, false), (true, false), (false, true), (true, true)]
    } else {
        [(false, true), (true, true), (false, false), (true, false)]
    };
    forms
        .iter()
        .filter(|(prefix, _)| !(*prefix && delim))
        .map(|&(prefix, suffix)| {
            format!(
                "{}{name}{}",
                if prefix { "lib" } else { "" },
                if suffix { ".so" } else { "" }
            )
        })
        .collect()
}

/// The attempts for one P/Invoke, in CoreCLR's order (`LoadLibraryModuleBySearch` in 3.1,
/// `LoadNativeLibraryBySearch` since): for each name variation, each folder of
/// NATIVE_DLL_SEARCH_DIRECTORIES, then (for a relative name, when the search includes the
/// assembly's folder: by default it does) the assembly's folder, then `dlopen` of the bare
/// variation. Since .NET 10 the last is skipped when the assembly (or method) asks for
/// `DllImportSearchPath.AssemblyDirectory` alone (dotnet/runtime#114756). An absolute name is
/// opened as it is.
pub fn attempts(req: &Request<'_>) -> Vec<Attempt> {
    let relative = !req.module.starts_with('/');
    let search_assembly_dir = req
        .search_paths
        .is_none_or(|flags| flags & ASSEMBLY_DIRECTORY != 0);
    let only_assembly_dir = req.search_paths == Some(ASSEMBLY_DIRECTORY);
    let mut out = Vec::new();
    for name in variations(req.module) {
        for dir in req.search_dirs {
            out.push(Attempt {
                name: name.clone(),
                place: Place::In(dir.clone()),
            });
        }
        if relative && search_assembly_dir {
            out.push(Attempt {
                name: name.clone(),
                place: Place::In(req.assembly_dir.to_string()),
            });
        }
        if !(only_assembly_dir && req.version >= DotnetVersion::V10) {
            out.push(Attempt {
                name: pal_name(&name),
                place: Place::Dlopen,
            });
        }
    }
    dedup(out)
}

/// `FixLibCName` (module.cpp @ v3.1.23, called by `PAL_LoadLibraryDirect`): `dlopen("libc")` opens
/// glibc's `libc.so.6` (`LIBC_SO`), since `libc.so` is a linker script.
fn pal_name(name: &str) -> String {
    if name == "libc" {
        "libc.so.6".to_string()
    } else {
        name.to_string()
    }
}

/// The same attempt twice (a folder that is both a search folder and the assembly's) opens the
/// same file twice: once is enough to model.
fn dedup(attempts: Vec<Attempt>) -> Vec<Attempt> {
    let mut seen = std::collections::HashSet::new();
    attempts
        .into_iter()
        .filter(|a| seen.insert(a.clone()))
        .collect()
}

/// An assembly that registers its own resolver (`NativeLibrary.SetDllImportResolver`), which
/// CoreCLR asks before its own search (`LoadLibraryModuleViaCallback` in 3.1,
/// `LoadNativeLibraryViaDllImportResolver` since): the names it loads for which of its imports.
struct OwnResolver {
    assembly: &'static str,
    /// Assembly versions below this major have the resolver.
    before_major: u16,
    module: &'static str,
    /// Passed to `NativeLibrary.TryLoad(name, assembly, default)`, in order: each searched like a
    /// P/Invoke of that name.
    names: &'static [&'static str],
    source: &'static str,
}

/// Assemblies with their own resolver, by identity. Nothing else gets a versioned soname.
const OWN_RESOLVERS: &[OwnResolver] = &[OwnResolver {
    assembly: "System.Drawing.Common",
    before_major: 7,
    module: "libgdiplus",
    names: &["libgdiplus.so", "libgdiplus.so.0"],
    source: "System.Drawing.Common's LibraryResolver and Gdip.LoadNativeLibrary (GdiplusNative.Unix.cs, \
             dotnet/runtime before .NET 7, when its Unix support ended): TryLoad(\"libgdiplus.so\"), \
             then TryLoad(\"libgdiplus.so.0\")",
}];

/// The names an assembly's own resolver loads for `module`, before CoreCLR's search, with the
/// source of the rule; `None` when the assembly has no resolver for it.
pub fn own_resolver(
    assembly: &str,
    major: u16,
    module: &str,
) -> Option<(&'static [&'static str], &'static str)> {
    OWN_RESOLVERS
        .iter()
        .find(|r| r.assembly == assembly && major < r.before_major && r.module == module)
        .map(|r| (r.names, r.source))
}

/// Every attempt for a P/Invoke, the assembly's own resolver's first.
pub fn all_attempts(req: &Request<'_>, assembly: &str, major: u16) -> Vec<Attempt> {
    let mut out = Vec::new();
    if let Some((names, _)) = own_resolver(assembly, major, req.module) {
        for name in names {
            out.extend(attempts(&Request {
                module: name,
                ..req.clone()
            }));
        }
    }
    out.extend(attempts(req));
    dedup(out)
}

/// The file names `all_attempts` tries, in order, without duplicates: what a layer may ship under.
pub fn names_tried(attempts: &[Attempt]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for a in attempts {
        if !names.contains(&a.name) {
            names.push(a.name.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variations_depend_on_a_so_suffix_and_always_add_lib() {
        assert_eq!(
            variations("libgdiplus"),
            [
                "libgdiplus.so",
                "liblibgdiplus.so",
                "libgdiplus",
                "liblibgdiplus"
            ]
        );
        assert_eq!(
            variations("libfoo.so.1"),
            [
                "libfoo.so.1",
                "liblibfoo.so.1",
                "libfoo.so.1.so",
                "liblibfoo.so.1.so"
            ]
        );
        // The first `.so` decides: `.social` is no suffix.
        assert_eq!(variations("a.social.so")[0], "a.social.so.so");
        assert_eq!(variations("sub/foo"), ["sub/foo.so", "sub/foo"]);
        assert_eq!(variations("/opt/lib/libx.so"), ["/opt/lib/libx.so"]);
    }

    fn request<'a>(dirs: &'a [String], flags: Option<u32>, v: DotnetVersion) -> Request<'a> {
        Request {
            module: "foo",
            assembly_dir: "/var/task",
            search_dirs: dirs,
            search_paths: flags,
            version: v,
        }
    }

    #[test]
    fn each_variation_tries_search_folders_then_the_assembly_folder_then_dlopen() {
        let dirs = vec!["/var/task/runtimes/linux-x64/native".to_string()];
        let got = attempts(&request(&dirs, None, DotnetVersion::V8));
        let first: Vec<(&str, &Place)> = got[..3]
            .iter()
            .map(|a| (a.name.as_str(), &a.place))
            .collect();
        assert_eq!(
            first,
            [
                ("foo.so", &Place::In(dirs[0].clone())),
                ("foo.so", &Place::In("/var/task".into())),
                ("foo.so", &Place::Dlopen),
            ]
        );
        assert_eq!(got.len(), 12);
    }

    #[test]
    fn assembly_directory_alone_stops_falling_back_to_dlopen_in_dotnet10() {
        let flags = Some(ASSEMBLY_DIRECTORY);
        let dlopens = |v| {
            attempts(&request(&[], flags, v))
                .iter()
                .filter(|a| a.place == Place::Dlopen)
                .count()
        };
        assert_eq!(dlopens(DotnetVersion::V8), 4);
        assert_eq!(dlopens(DotnetVersion::V10), 0);
        // Without AssemblyDirectory, the assembly's folder is not searched.
        let system32 = attempts(&request(&[], Some(0x800), DotnetVersion::V10));
        assert!(system32.iter().all(|a| a.place == Place::Dlopen));
    }

    #[test]
    fn libc_is_glibc_for_dlopen() {
        let got = attempts(&Request {
            module: "libc",
            ..request(&[], None, DotnetVersion::V3_1)
        });
        let dl: Vec<&str> = got
            .iter()
            .filter(|a| a.place == Place::Dlopen)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(dl, ["libc.so", "liblibc.so", "libc.so.6", "liblibc"]);
    }

    #[test]
    fn only_system_drawing_common_before_7_tries_a_versioned_gdiplus() {
        let req = Request {
            module: "libgdiplus",
            ..request(&[], None, DotnetVersion::V8)
        };
        let names = |assembly, major| names_tried(&all_attempts(&req, assembly, major));
        let drawing = names("System.Drawing.Common", 6);
        assert_eq!(&drawing[..2], ["libgdiplus.so", "liblibgdiplus.so"]);
        assert!(drawing.contains(&"libgdiplus.so.0".to_string()));
        assert!(!names("System.Drawing.Common", 7).contains(&"libgdiplus.so.0".to_string()));
        assert!(!names("MyApp", 1).contains(&"libgdiplus.so.0".to_string()));
    }

    #[test]
    fn versions_map_to_the_rules_lambda_runs() {
        assert_eq!(DotnetVersion::parse("3.1"), Some(DotnetVersion::V3_1));
        assert_eq!(DotnetVersion::parse("8.0.10"), Some(DotnetVersion::V8));
        assert_eq!(DotnetVersion::parse("10"), Some(DotnetVersion::V10));
        assert_eq!(DotnetVersion::parse("2.1"), None);
    }
}
