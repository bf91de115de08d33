//! From a P/Invoke module name to the Linux files that satisfy it: the one home of that rule.
//!
//! 1. Known names ([`KNOWN`]): Mono's dllmap conventions (`/etc/mono/config` of Debian's
//!    mono-runtime-common 6.8), names of the .NET runtime itself, and names that exist only on
//!    Windows or macOS. Matched case-insensitively, with a trailing `.dll` ignored.
//! 2. Any other name: the variations CoreCLR's loader tries on Linux (`DetermineLibNameVariations`
//!    in `src/coreclr/vm/nativelibrary.cpp`, mirrored by `LibraryNameVariation.Unix.cs` in
//!    dotnet/runtime): for a name without `.so`, `<name>.so`, `lib<name>.so`, `<name>`,
//!    `lib<name>`; for one containing `.so`, `<name>`, `lib<name>`, `<name>.so`, `lib<name>.so`
//!    (no `lib` variants when the name has a `/`). A name ending in `.dll` is also tried without
//!    it, as Mono's loader does. A versioned soname (`libfoo.so.1`) satisfies an import only where
//!    [`KNOWN`] lists it (System.Drawing.Common's own fallback to `libgdiplus.so.0`): CoreCLR never
//!    tries one, so a library present only as `libfoo.so.1` does fail `DllImport("foo")`.

/// Where a P/Invoke module is found on Linux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Files the loader tries; any one of them satisfies the import.
    Linux(Probe),
    /// A name that exists only on Windows or macOS, or inside the .NET runtime itself: listed
    /// apart, never a failure (such calls sit behind an OS check).
    Foreign { reason: &'static str },
}

/// The file names that satisfy one P/Invoke module, in the loader's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub names: Vec<String>,
    /// Why these names: the convention or loader rule they come from.
    pub rule: &'static str,
}

enum To {
    Files(&'static [&'static str]),
    Foreign,
}

/// How a name matches: the whole name (`.dll` ignored), its beginning or its end.
enum Pattern {
    Is(&'static [&'static str]),
    Prefix(&'static str),
    Suffix(&'static str),
}

struct Known {
    pattern: Pattern,
    to: To,
    reason: &'static str,
}

const MONO_DLLMAP: &str = "Mono's dllmap (/etc/mono/config)";

/// Names with a fixed meaning. Lower case; first match wins.
const KNOWN: &[Known] = &[
    Known {
        pattern: Pattern::Is(&["gdiplus", "libgdiplus"]),
        to: To::Files(&["libgdiplus.so.0", "libgdiplus.so"]),
        reason: "Mono's dllmap maps gdiplus and gdiplus.dll to libgdiplus.so.0; \
                 System.Drawing.Common loads libgdiplus.so, then libgdiplus.so.0",
    },
    Known {
        pattern: Pattern::Is(&["libc", "msvcrt", "intl", "libintl", "cygwin1"]),
        to: To::Files(&["libc.so.6"]),
        reason: "Mono's dllmap and CoreCLR's PAL map libc (and msvcrt, intl, cygwin1 in Mono) to libc.so.6",
    },
    Known {
        pattern: Pattern::Is(&["sqlite3"]),
        to: To::Files(&["libsqlite3.so.0"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["odbc32"]),
        to: To::Files(&["libodbc.so.2"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["libxslt"]),
        to: To::Files(&["libxslt.so"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["libcairo-2"]),
        to: To::Files(&["libcairo.so.2"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["libx11"]),
        to: To::Files(&["libX11.so.6"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["libcups"]),
        to: To::Files(&["libcups.so.2"]),
        reason: MONO_DLLMAP,
    },
    Known {
        pattern: Pattern::Is(&["qcall", "__internal"]),
        to: To::Foreign,
        reason: "resolved inside the runtime or the host executable, not a library file",
    },
    Known {
        pattern: Pattern::Is(&[
            "libsystem.native",
            "system.native",
            "libsystem.globalization.native",
            "system.globalization.native",
            "libsystem.io.compression.native",
            "system.io.compression.native",
            "libsystem.net.security.native",
            "system.net.security.native",
            "libsystem.security.cryptography.native.openssl",
            "system.security.cryptography.native.openssl",
            "libcoreclr",
            "libclrjit",
            "libhostfxr",
            "libhostpolicy",
            "libmono-native",
            "monoposixhelper",
        ]),
        to: To::Foreign,
        reason: "shipped with the .NET (or Mono) runtime itself",
    },
    Known {
        pattern: Pattern::Is(&[
            "kernel32",
            "kernelbase",
            "user32",
            "gdi32",
            "advapi32",
            "ole32",
            "oleaut32",
            "ntdll",
            "shell32",
            "shlwapi",
            "ws2_32",
            "winmm",
            "crypt32",
            "secur32",
            "sspicli",
            "bcrypt",
            "ncrypt",
            "iphlpapi",
            "version",
            "comctl32",
            "comdlg32",
            "winspool.drv",
            "dwmapi",
            "uxtheme",
            "psapi",
            "dbghelp",
            "netapi32",
            "wininet",
            "winhttp",
            "userenv",
            "wtsapi32",
            "rpcrt4",
            "setupapi",
            "hid",
            "mscoree",
            "msi",
            "imm32",
            "credui",
            "dnsapi",
            "mpr",
            "activeds",
            "wldap32",
            "fusion",
            "ucrtbase",
            "vcruntime140",
            "d3d11",
            "dxgi",
            "opengl32",
            "mswsock",
            "powrprof",
            "wintrust",
        ]),
        to: To::Foreign,
        reason: "a Windows system library",
    },
    Known {
        pattern: Pattern::Prefix("api-ms-win-"),
        to: To::Foreign,
        reason: "a Windows API set",
    },
    Known {
        pattern: Pattern::Prefix("ext-ms-"),
        to: To::Foreign,
        reason: "a Windows API set",
    },
    Known {
        pattern: Pattern::Suffix(".dylib"),
        to: To::Foreign,
        reason: "a macOS library",
    },
    Known {
        pattern: Pattern::Prefix("/system/library/"),
        to: To::Foreign,
        reason: "a macOS framework",
    },
    Known {
        pattern: Pattern::Suffix(".framework"),
        to: To::Foreign,
        reason: "a macOS framework",
    },
];

/// The Linux files (or the foreign reason) for a P/Invoke module name.
pub fn map_module(module: &str) -> Mapping {
    let lower = module.to_ascii_lowercase();
    let stem = lower.strip_suffix(".dll").unwrap_or(&lower);
    let known = KNOWN.iter().find(|k| match k.pattern {
        Pattern::Is(names) => names.contains(&stem),
        Pattern::Prefix(p) => lower.starts_with(p),
        Pattern::Suffix(s) => lower.ends_with(s),
    });
    match known {
        Some(Known {
            to: To::Foreign,
            reason,
            ..
        }) => Mapping::Foreign { reason },
        Some(Known {
            to: To::Files(files),
            reason,
            ..
        }) => Mapping::Linux(Probe {
            names: files.iter().map(|f| f.to_string()).collect(),
            rule: reason,
        }),
        None => Mapping::Linux(Probe {
            names: loader_variations(module),
            rule: "the .NET loader's name variations on Linux",
        }),
    }
}

/// CoreCLR's variations of `name`, then those of `name` without a trailing `.dll` (Mono).
fn loader_variations(name: &str) -> Vec<String> {
    let mut names = coreclr_variations(name);
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".dll") && name.len() > 4 {
        names.extend(coreclr_variations(&name[..name.len() - 4]));
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn coreclr_variations(name: &str) -> Vec<String> {
    if name.starts_with('/') {
        return vec![name.to_string()];
    }
    let contains_suffix = name
        .match_indices(".so")
        .any(|(i, _)| matches!(name.as_bytes().get(i + 3), None | Some(b'.')));
    let lib = !name.contains('/');
    let mut out = Vec::new();
    let mut push = |with_lib: bool, suffix: &str| {
        if with_lib && !lib {
            return;
        }
        out.push(format!(
            "{}{name}{suffix}",
            if with_lib { "lib" } else { "" }
        ));
    };
    if contains_suffix {
        push(false, "");
        push(true, "");
        push(false, ".so");
        push(true, ".so");
    } else {
        push(false, ".so");
        push(true, ".so");
        push(false, "");
        push(true, "");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(module: &str) -> Vec<String> {
        match map_module(module) {
            Mapping::Linux(p) => p.names,
            Mapping::Foreign { reason } => panic!("{module} is foreign: {reason}"),
        }
    }

    #[test]
    fn coreclr_order_depends_on_a_so_suffix() {
        assert_eq!(
            names("foo"),
            ["foo.so", "libfoo.so", "foo", "libfoo"].map(String::from)
        );
        assert_eq!(
            names("libfoo.so.1"),
            [
                "libfoo.so.1",
                "liblibfoo.so.1",
                "libfoo.so.1.so",
                "liblibfoo.so.1.so"
            ]
            .map(String::from)
        );
        assert_eq!(
            names("sub/foo"),
            ["sub/foo.so", "sub/foo"].map(String::from)
        );
        assert_eq!(
            names("/opt/lib/libx.so"),
            ["/opt/lib/libx.so"].map(String::from)
        );
    }

    #[test]
    fn a_dll_suffix_is_also_tried_without_it() {
        let n = names("Foo.dll");
        assert_eq!(
            &n[..4],
            ["Foo.dll.so", "libFoo.dll.so", "Foo.dll", "libFoo.dll"]
        );
        assert_eq!(&n[4..], ["Foo.so", "libFoo.so", "Foo", "libFoo"]);
    }

    #[test]
    fn mono_dllmap_names() {
        assert_eq!(names("gdiplus"), names("GdiPlus.dll"));
        assert_eq!(names("gdiplus")[0], "libgdiplus.so.0");
        assert_eq!(names("libc"), ["libc.so.6"]);
    }

    #[test]
    fn foreign_names_are_apart() {
        for name in [
            "kernel32",
            "KERNEL32.DLL",
            "user32.dll",
            "gdi32",
            "ole32.dll",
            "api-ms-win-core-file-l1-1-0.dll",
            "/usr/lib/libSystem.dylib",
            "libobjc.dylib",
            "__Internal",
            "QCall",
            "libSystem.Native",
        ] {
            assert!(
                matches!(map_module(name), Mapping::Foreign { .. }),
                "{name}"
            );
        }
    }
}
