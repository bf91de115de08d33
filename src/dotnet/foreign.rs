//! P/Invoke names that never load on Linux and never fail a scan: Windows system libraries and API
//! sets, macOS libraries and frameworks (such calls sit behind an operating-system check), and the
//! names CoreCLR resolves inside the process (`QCall`, `__Internal`). Every other name is a Linux
//! library, searched as `coreclr.rs` says, the runtime's own ones (`libSystem.Native`) included.

/// How a name matches: the whole name (a trailing `.dll` ignored), its beginning or its end.
enum Pattern {
    Is(&'static [&'static str]),
    Prefix(&'static str),
    Suffix(&'static str),
}

struct Known {
    pattern: Pattern,
    reason: &'static str,
}

/// Lower case; first match wins.
const FOREIGN: &[Known] = &[
    Known {
        pattern: Pattern::Is(&["qcall", "__internal"]),
        reason: "resolved inside the runtime or the host executable, not a library file",
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
        reason: "a Windows system library",
    },
    Known {
        pattern: Pattern::Prefix("api-ms-win-"),
        reason: "a Windows API set",
    },
    Known {
        pattern: Pattern::Prefix("ext-ms-"),
        reason: "a Windows API set",
    },
    Known {
        pattern: Pattern::Suffix(".dylib"),
        reason: "a macOS library",
    },
    Known {
        pattern: Pattern::Prefix("/system/library/"),
        reason: "a macOS framework",
    },
    Known {
        pattern: Pattern::Suffix(".framework"),
        reason: "a macOS framework",
    },
];

/// Why `module` never loads on Linux, or `None` for a Linux library name. Matched without regard to
/// case.
pub fn foreign(module: &str) -> Option<&'static str> {
    let lower = module.to_ascii_lowercase();
    let stem = lower.strip_suffix(".dll").unwrap_or(&lower);
    FOREIGN
        .iter()
        .find(|k| match k.pattern {
            Pattern::Is(names) => names.contains(&stem),
            Pattern::Prefix(p) => lower.starts_with(p),
            Pattern::Suffix(s) => lower.ends_with(s),
        })
        .map(|k| k.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_macos_names_are_foreign() {
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
        ] {
            assert!(foreign(name).is_some(), "{name}");
        }
    }

    #[test]
    fn linux_names_and_the_runtimes_own_are_not() {
        for name in [
            "libgdiplus",
            "gdiplus",
            "libc",
            "libSystem.Native",
            "System.Native",
            "libcoreclr",
            "libX11",
        ] {
            assert_eq!(foreign(name), None, "{name}");
        }
    }
}
