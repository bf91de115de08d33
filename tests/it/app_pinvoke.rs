//! The managed seam: P/Invoke imports that a `ManagedReader` reports become needs any one of whose
//! candidate names satisfies them, foreign names are listed apart, and the fix ships the real
//! soname with the probed name as a symlink. The reader here reads a tiny text format of the
//! test's own (the .NET metadata reader is tested on real assemblies elsewhere); what is under test
//! is the engine around it.

use std::path::Path;
use std::sync::Arc;

use layerc::app::fix::{self, Draft};
use layerc::app::{self, Environment, NativeImport, Probe};
use layerc::diagnostic::SourceFile;
use layerc::resolve::search::SystemPaths;
use layerc::runtime::Catalog;
use layerc::{Analysis, Session};

use crate::common::*;

/// `MZ` then lines `linux NAME CANDIDATE...` or `foreign NAME`; `MZbroken` is an assembly that
/// cannot be read.
fn test_reader(bytes: &[u8]) -> Result<Option<Vec<NativeImport>>, String> {
    if bytes == b"MZbroken" {
        return Err("its metadata is truncated".to_string());
    }
    let Some(text) = bytes
        .strip_prefix(b"MZ")
        .and_then(|b| std::str::from_utf8(b).ok())
    else {
        return Ok(None);
    };
    let imports = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (kind, module) = (words.next()?, words.next()?.to_string());
            let probe = match kind {
                "linux" => Probe::Linux(words.map(str::to_string).collect()),
                _ => Probe::Foreign,
            };
            Some(NativeImport { module, probe })
        })
        .collect();
    Ok(Some(imports))
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

#[test]
fn a_pinvoke_import_is_fixed_by_the_soname_and_its_probed_alias() {
    let fx = Fixture::new();
    fx.write(
        "rootfs/app/System.Drawing.dll",
        "MZlinux gdiplus libgdiplus.so gdiplus.so gdiplus\nforeign kernel32\n",
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
    let app_dir = fx.root("/app");
    let before = scan(&app_dir, &dotnet8(Vec::new(), &[]));
    assert_eq!(
        before.foreign,
        [("System.Drawing.dll".to_string(), "kernel32".to_string())]
    );
    let [app::Failure::PInvokeNotFound { chain, names }] = before.failures.as_slice() else {
        panic!("{:?}", before.failures);
    };
    assert_eq!(chain, &["System.Drawing.dll", "gdiplus"]);
    assert_eq!(names, &["libgdiplus.so", "gdiplus.so", "gdiplus"]);

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
    assert_eq!(proposed.libraries, ["libgdiplus.so.0", "libgdiplus.so"]);
    let text = fix::render(&Draft {
        layer: "native",
        runtime: "dotnet8",
        arch: layerc::arch::Architecture::X86_64,
        rootfs: "rootfs",
        libraries: &proposed.libraries,
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
    fx.write("rootfs/app/Native.dll", "MZlinux native libnative.so\n");
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
