//! The P/Invoke reader on real assemblies (Mono's, from Debian 12), checked against dnfile (a
//! .NET metadata reader written elsewhere, from PyPI), and what CoreCLR makes of what they import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use layerc::dotnet::coreclr::variations;
use layerc::dotnet::{foreign, pinvoke_imports, read_assembly};

use crate::artifacts::{self, Pinned};

const MONO: &str = "6.8.0.105+dfsg-3.3+deb12u1";

/// Mono class libraries with P/Invokes: (package, pinned .deb).
const ASSEMBLY_PACKAGES: &[(&str, Pinned)] = &[
    (
        "libmono-system-drawing4.0-cil",
        Pinned {
            file: "libmono-system-drawing4.0-cil_6.8.0.105+dfsg-3.3+deb12u1_all.deb",
            sha256: "a927f0889f92b98671d41dfb5791f0e96a410acdbd32963043fbecaf121a61bb",
        },
    ),
    (
        "libmono-posix4.0-cil",
        Pinned {
            file: "libmono-posix4.0-cil_6.8.0.105+dfsg-3.3+deb12u1_all.deb",
            sha256: "8e470fa35e2ab4e3c33564e748bbd1a0eac66f475772229275eda2a9a93de3cc",
        },
    ),
    (
        "libmono-sqlite4.0-cil",
        Pinned {
            file: "libmono-sqlite4.0-cil_6.8.0.105+dfsg-3.3+deb12u1_all.deb",
            sha256: "1faa8344e99f5c41b44ce5d07767a0e6abc32a223dd8133803df9276b17518df",
        },
    ),
    (
        "libmono-system4.0-cil",
        Pinned {
            file: "libmono-system4.0-cil_6.8.0.105+dfsg-3.3+deb12u1_all.deb",
            sha256: "73710cff9cfd72487d331374fa63cfdd578336a0366a41efe42a5d5167edc60c",
        },
    ),
];

/// The unpacked System.Drawing package, or `None` (skip) offline.
pub(crate) fn system_drawing_package() -> Option<PathBuf> {
    let (name, pin) = &ASSEMBLY_PACKAGES[0];
    artifacts::or_skip(name, artifacts::deb(name, MONO, pin))
}

/// Every regular `.dll` file under `dir` (the GAC copies; `4.5/` holds symlinks to them).
fn assemblies(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            assemblies(&entry.path(), out);
        } else if kind.is_file() && entry.file_name().to_string_lossy().ends_with(".dll") {
            out.push(entry.path());
        }
    }
}

/// What dnfile reads: module → entry points (sorted), or `None` when dnfile is not installed.
fn dnfile(path: &Path) -> Option<BTreeMap<String, Vec<String>>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/oracles/pinvoke.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("No module named 'dnfile'"),
            "dnfile failed: {err}"
        );
        return None;
    }
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .map(|line| {
                let (module, entries) = line.split_once('\t').unwrap();
                let entries = entries.split(',').filter(|e| !e.is_empty());
                (module.to_string(), entries.map(str::to_string).collect())
            })
            .collect(),
    )
}

#[test]
fn pinvoke_imports_match_dnfile_on_mono_assemblies() {
    let mut files = Vec::new();
    for (name, pin) in ASSEMBLY_PACKAGES {
        let Some(dir) = artifacts::or_skip(name, artifacts::deb(name, MONO, pin)) else {
            return;
        };
        assemblies(&dir, &mut files);
    }
    assert_eq!(files.len(), 4, "{files:?}");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let ours: BTreeMap<String, Vec<String>> = pinvoke_imports(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .expect("an assembly")
            .into_iter()
            .map(|p| (p.module, p.entry_points))
            .collect();
        let Some(theirs) = dnfile(file) else {
            crate::tier::skip_or_fail::<()>("the dnfile comparison needs `pip install dnfile`");
            return;
        };
        assert_eq!(ours, theirs, "{}", file.display());
    }
}

#[test]
fn system_drawing_needs_libgdiplus_and_lists_windows_and_macos_apart() {
    let Some(dir) = system_drawing_package() else {
        return;
    };
    let dll = dir.join("usr/lib/mono/4.5/System.Drawing.dll");
    let assembly = read_assembly(&std::fs::read(dll).unwrap())
        .unwrap()
        .unwrap();
    // Mono's System.Drawing, not System.Drawing.Common: no resolver of its own on CoreCLR.
    assert_eq!(
        (assembly.name.as_str(), assembly.version),
        ("System.Drawing", [4, 0, 0, 0])
    );
    let imports = assembly.imports;
    let (mut linux, mut windows_macos) = (BTreeMap::new(), Vec::new());
    for import in &imports {
        match foreign(&import.module) {
            None => {
                linux.insert(
                    import.module.as_str(),
                    variations(&import.module)[0].clone(),
                );
            }
            Some(_) => windows_macos.push(import.module.as_str()),
        }
    }
    let gdiplus = imports.iter().find(|i| i.module == "gdiplus").unwrap();
    assert!(
        gdiplus
            .entry_points
            .contains(&"GdipCreateBitmapFromScan0".to_string())
    );
    // The first name CoreCLR tries for each: no dllmap, no versioned soname.
    assert_eq!(
        linux,
        BTreeMap::from([
            ("gdiplus", "gdiplus.so".to_string()),
            ("gdiplus.dll", "gdiplus.dll.so".to_string()),
            ("libX11", "libX11.so".to_string()),
            ("libc", "libc.so".to_string()),
            ("libcups", "libcups.so".to_string()),
        ])
    );
    assert_eq!(
        windows_macos,
        [
            "/System/Library/Frameworks/Carbon.framework/Versions/Current/Carbon",
            "comdlg32.dll",
            "gdi32",
            "gdi32.dll",
            "kernel32",
            "libobjc.dylib",
            "oleaut32.dll",
            "shell32.dll",
            "user32",
            "user32.dll",
            "winspool.drv",
        ]
    );
}
