//! The managed seam: P/Invoke imports that a `ManagedReader` reports are searched for as CoreCLR
//! does, foreign names are listed apart, and the fix ships the real soname with the name CoreCLR
//! asks for as a symlink. The reader here reads a tiny text format of the test's own (the .NET
//! metadata reader is tested on real assemblies elsewhere, and the verdicts against a real CoreCLR
//! in `app_coreclr.rs`); what is under test is the engine around it.

use std::path::Path;
use std::sync::Arc;

use layerc::app::fix::{self, Draft};
use layerc::app::{self, Environment, ManagedAssembly, NativeImport};
use layerc::diagnostic::SourceFile;
use layerc::resolve::search::SystemPaths;
use layerc::runtime::Catalog;
use layerc::{Analysis, Session};

use crate::common::*;

/// `MZ`, a first line `NAME MAJOR` (the assembly's identity), then one P/Invoke module name a
/// line; `MZbroken` is an assembly that cannot be read.
fn test_reader(bytes: &[u8]) -> Result<Option<ManagedAssembly>, String> {
    if bytes == b"MZbroken" {
        return Err("its metadata is truncated".to_string());
    }
    let Some(text) = bytes
        .strip_prefix(b"MZ")
        .and_then(|b| std::str::from_utf8(b).ok())
    else {
        return Ok(None);
    };
    let mut lines = text.lines();
    let identity = lines.next().unwrap_or_default();
    let (name, major) = identity.split_once(' ').unwrap_or((identity, "1"));
    let imports = lines
        .map(|module| NativeImport {
            module: module.trim().to_string(),
            entry_points: Vec::new(),
            search_paths: None,
        })
        .collect();
    Ok(Some(ManagedAssembly {
        name: name.to_string(),
        major: major.parse().unwrap_or(1),
        imports,
    }))
}

fn dotnet8<'a>(layers: Vec<app::LayerMount<'a>>, dirs: &[String]) -> Environment<'a> {
    let catalog = Catalog::builtin();
    let rt = catalog.runtime("dotnet8").unwrap();
    Environment {
        runtime: rt,
        os: catalog.os(&rt.os).unwrap(),
        arch: layerc::arch::Architecture::X86_64,
        layers,
        ld_library_path: app::prepended_path(rt, dirs),
    }
}

fn scan(app_dir: &Path, env: &Environment<'_>) -> app::AppScan {
    let fs = layerc::rootfs::open_app(app_dir).unwrap();
    app::scan(fs, env, test_reader).unwrap()
}

/// An app whose System.Drawing.Common imports `libgdiplus` and `kernel32`, and a rootfs with
/// `libgdiplus.so.0` (needing `libdep.so.1`) and its `libgdiplus.so` link.
fn gdiplus_app() -> Fixture {
    let fx = Fixture::new();
    fx.write(
        "rootfs/app/System.Drawing.Common.dll",
        "MZSystem.Drawing.Common 6\nlibgdiplus\nkernel32\n",
    );
    fx.lib("/usr/lib64/libdep.so.1", "libdep.so.1", "dep");
    fx.cc_lib(
        "/usr/lib64/libgdiplus.so.0",
        "libgdiplus.so.0",
        &c_calls("GdiplusStartup", "dep"),
        &["/usr/lib64/libdep.so.1"],
        &[],
    );
    fx.symlink_root("/usr/lib64/libgdiplus.so", "libgdiplus.so.0");
    fx
}

#[test]
fn a_pinvoke_import_is_fixed_by_the_soname_and_the_name_coreclr_asks_for() {
    let fx = gdiplus_app();
    let app_dir = fx.root("/app");
    let before = scan(&app_dir, &dotnet8(Vec::new(), &[]));
    assert_eq!(
        before.foreign,
        [(
            "System.Drawing.Common.dll".to_string(),
            "kernel32".to_string()
        )]
    );
    let [app::Failure::PInvokeNotFound { chain, names }] = before.failures.as_slice() else {
        panic!("{:?}", before.failures);
    };
    assert_eq!(chain, &["System.Drawing.Common.dll", "libgdiplus"]);
    // System.Drawing.Common's own resolver first (libgdiplus.so, then libgdiplus.so.0), then
    // CoreCLR's variations of `libgdiplus`.
    assert_eq!(
        names,
        &[
            "libgdiplus.so",
            "liblibgdiplus.so",
            "libgdiplus.so.so",
            "liblibgdiplus.so.so",
            "libgdiplus.so.0",
            "liblibgdiplus.so.0",
            "libgdiplus.so.0.so",
            "liblibgdiplus.so.0.so",
            "libgdiplus",
            "liblibgdiplus",
        ]
    );

    let session = Session::default();
    let open = session
        .rootfs(&fx.root("/"), layerc::arch::Architecture::X86_64)
        .unwrap();
    let system = SystemPaths::new(&open.ld_so_conf(), layerc::arch::Architecture::X86_64);
    let proposed = fix::propose(
        &before.failures,
        open.fs.as_ref(),
        &open.elf_cache,
        &system,
        layerc::arch::Architecture::X86_64,
    );
    assert_eq!(proposed.libraries, ["libgdiplus.so.0"]);
    assert_eq!(
        proposed.aliases,
        [("libgdiplus.so.0".to_string(), "libgdiplus.so".to_string())]
    );
    let text = fix::render(&Draft {
        layer: "native",
        runtime: "dotnet8",
        arch: layerc::arch::Architecture::X86_64,
        rootfs: "rootfs",
        libraries: &proposed.libraries,
        aliases: &proposed.aliases,
        template: None,
        functions: &[],
    });
    let analysis: Analysis = session.analyze(SourceFile::new("layer.kdl", text), fx.path(), TODAY);
    assert!(!analysis.has_errors(), "{}", rendered(&analysis));
    assert_eq!(
        plan_paths(&analysis),
        [
            "lib/libdep.so.1",
            "lib/libgdiplus.so",
            "lib/libgdiplus.so.0"
        ]
    );
    let layer = &analysis.layers[0];
    let mounts = vec![app::LayerMount {
        name: "native".into(),
        plan: &layer.plan,
        fs: Arc::clone(&layer.rootfs.fs),
        excluded: Vec::new(),
    }];
    let after = scan(&app_dir, &dotnet8(mounts, &["/opt/lib".to_string()]));
    assert!(after.loads(), "{:?}", after.failures);
}

#[test]
fn what_a_pinvoke_library_needs_must_load_too() {
    let fx = Fixture::new();
    fx.write("rootfs/app/Native.dll", "MZNative 1\nnative\n");
    fx.lib_outside("elsewhere/libgone.so.1", "libgone.so.1", "gone");
    let out = fx
        .path()
        .join("rootfs/app/runtimes/linux-x64/native/libnative.so");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(fx.write("src/native.c", c_calls("native", "gone")))
        .arg(fx.path().join("elsewhere/libgone.so.1"))
        .status()
        .unwrap();
    assert!(status.success());
    // The .NET host probes the assembly's folder, not runtimes/<rid>/native: copy it beside.
    std::fs::copy(&out, fx.path().join("rootfs/app/libnative.so")).unwrap();
    let result = scan(&fx.root("/app"), &dotnet8(Vec::new(), &[]));
    let chains: Vec<String> = result
        .failures
        .iter()
        .map(|f| f.chain().join(" → "))
        .collect();
    assert_eq!(
        chains,
        [
            "Native.dll → native → libgone.so.1",
            "libnative.so → libgone.so.1",
            "runtimes/linux-x64/native/libnative.so → libgone.so.1",
        ]
    );
}

#[test]
fn an_assembly_whose_metadata_cannot_be_read_is_a_warning_naming_it() {
    let fx = Fixture::new();
    fx.write("rootfs/app/Broken.dll", "MZbroken");
    let env = dotnet8(Vec::new(), &[]);
    let result = scan(&fx.root("/app"), &env);
    assert!(result.failures.is_empty());
    let diags = app::report::diagnostics(&result, &env);
    let found: Vec<(&str, String)> = diags
        .iter()
        .map(|d| (d.code.as_str(), d.message.clone()))
        .collect();
    assert_eq!(
        found,
        [(
            "app::malformed-assembly",
            "Broken.dll is a .NET assembly whose metadata cannot be read (its metadata is truncated): the native libraries it loads are unknown".to_string()
        )]
    );
    assert_eq!(diags[0].severity, layerc::diagnostic::Severity::Warning);
}

/// A layer with only `libX11.so.6` does not satisfy `DllImport("libX11")`: CoreCLR asks for
/// `libX11.so`, `liblibX11.so`, `libX11` and `liblibX11`, never a versioned soname. The draft
/// adds `libX11.so`, a name CoreCLR tries, found as the versioned file in the rootfs.
#[test]
fn a_versioned_soname_alone_does_not_satisfy_a_pinvoke_and_the_draft_adds_the_tried_name() {
    let fx = Fixture::new();
    fx.write("rootfs/app/App.dll", "MZApp 1\nlibX11\n");
    fx.lib("/usr/lib64/libX11.so.6", "libX11.so.6", "x11");
    let session = Session::default();
    let arch = layerc::arch::Architecture::X86_64;
    let layer_with = |libraries: &[String], aliases: &[(String, String)]| {
        let text = fix::render(&Draft {
            layer: "native",
            runtime: "dotnet8",
            arch,
            rootfs: "rootfs",
            libraries,
            aliases,
            template: None,
            functions: &[],
        });
        session.analyze(SourceFile::new("layer.kdl", text), fx.path(), TODAY)
    };
    let scan_with = |analysis: &Analysis| {
        let layer = &analysis.layers[0];
        let mounts = vec![app::LayerMount {
            name: "native".into(),
            plan: &layer.plan,
            fs: Arc::clone(&layer.rootfs.fs),
            excluded: Vec::new(),
        }];
        scan(
            &fx.root("/app"),
            &dotnet8(mounts, &["/opt/lib".to_string()]),
        )
    };
    let only_soname = layer_with(&["libX11.so.6".to_string()], &[]);
    assert!(!only_soname.has_errors(), "{}", rendered(&only_soname));
    let result = scan_with(&only_soname);
    let [app::Failure::PInvokeNotFound { names, .. }] = result.failures.as_slice() else {
        panic!("{:?}", result.failures);
    };
    assert_eq!(names, &["libX11.so", "liblibX11.so", "libX11", "liblibX11"]);

    let open = session.rootfs(&fx.root("/"), arch).unwrap();
    let system = SystemPaths::new(&open.ld_so_conf(), arch);
    let proposed = fix::propose(
        &result.failures,
        open.fs.as_ref(),
        &open.elf_cache,
        &system,
        arch,
    );
    assert_eq!(proposed.libraries, ["libX11.so.6"]);
    assert_eq!(
        proposed.aliases,
        [("libX11.so.6".to_string(), "libX11.so".to_string())]
    );
    for (_, alias) in &proposed.aliases {
        assert!(names.contains(alias), "{alias} is not a name CoreCLR tries");
    }
    // The rootfs has no libX11.so: the draft's `alias=` ships the symlink all the same.
    let fixed = layer_with(&proposed.libraries, &proposed.aliases);
    assert!(!fixed.has_errors(), "{}", rendered(&fixed));
    assert_eq!(plan_paths(&fixed), ["lib/libX11.so", "lib/libX11.so.6"]);
    let after = scan_with(&fixed);
    assert!(after.loads(), "{:?}", after.failures);
}
