//! The scan's .NET verdicts against a real CoreCLR (`coreclr.rs`): for each P/Invoke case, a C#
//! app compiled by `mcs` runs on .NET Core 3.1.23 in a stand-in Lambda root with its layer at
//! `/opt`, and `layerc scan` (with the same layer) must say what the runtime did: loads, or not.

use std::path::PathBuf;
use std::process::Command;

use crate::app_artifacts::scan_json;
use crate::common::*;
use crate::coreclr::{self, app_source, draft, ready, verdicts};

/// `library` of a layer from the fixture's rootfs for dotnetcore3.1 (Amazon Linux 2, the OS of
/// the real .NET Core 3.1 on Lambda).
fn layer(libraries: &[&str]) -> String {
    let mut text =
        String::from("layer \"native\" {\n    runtime \"dotnetcore3.1\"\n    rootfs \"rootfs\"\n");
    for l in libraries {
        text.push_str(&format!("    library {l}\n"));
    }
    text.push_str("}\n");
    text
}

/// One app, `DllImport(module)` calling `foo_answer`, in `<fx>/app`.
fn app(fx: &Fixture, module: &str, before_class: &str) -> PathBuf {
    let dir = fx.path().join("app");
    coreclr::compile(
        &dir,
        "App",
        &app_source(module, "foo_answer", before_class),
        true,
    );
    dir
}

/// Each P/Invoke case: the scan's verdict is the runtime's.
fn case(module: &str, layer_libs: &[&str], expect_loads: bool, what: &str) {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfoo.so", "libfoo.so", "foo_answer");
    fx.lib("/usr/lib64/libfoo.so.1", "libfoo.so.1", "foo_answer");
    fx.lib(
        "/usr/lib64/libgdiplus.so.0",
        "libgdiplus.so.0",
        "foo_answer",
    );
    fx.lib("/usr/lib64/libX11.so.6", "libX11.so.6", "foo_answer");
    app(&fx, module, "");
    let spec = (!layer_libs.is_empty()).then(|| layer(layer_libs));
    let v = verdicts(&fx, "dotnetcore3.1", spec.as_deref());
    assert_eq!(
        (v.scan_loads(), v.runtime_loads()),
        (expect_loads, expect_loads),
        "{what}\n{}",
        v.explain()
    );
}

#[test]
fn pinvoke_cases_match_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    // The plain name: CoreCLR asks for foo.so, then libfoo.so.
    case("foo", &["\"libfoo.so\""], true, "plain name");
    case("foo", &[], false, "plain name, no layer");
    // A `lib` name: libfoo.so is its first variation.
    case("libfoo", &["\"libfoo.so\""], true, "lib name");
    // A name with `.so`: tried as it is first.
    case("libfoo.so", &["\"libfoo.so\""], true, "name with .so");
    // Only the versioned soname in the layer: never tried.
    case("foo", &["\"libfoo.so.1\""], false, "versioned-only file");
    // The names Mono's dllmap mapped, which the scan once took for loaded: CoreCLR does not.
    case(
        "libgdiplus",
        &["\"libgdiplus.so.0\""],
        false,
        "libgdiplus.so.0 only",
    );
    case("libX11", &["\"libX11.so.6\""], false, "libX11.so.6 only");
    // What the scan drafts for them: the soname with the name CoreCLR asks for as an alias.
    case(
        "libX11",
        &["\"libX11.so.6\" alias=\"libX11.so\""],
        true,
        "libX11.so.6 with the alias libX11.so",
    );
    case(
        "libgdiplus",
        &["\"libgdiplus.so.0\" alias=\"libgdiplus.so\""],
        true,
        "libgdiplus.so.0 with the alias libgdiplus.so",
    );
}

/// `DefaultDllImportSearchPaths(AssemblyDirectory)` alone: .NET Core 3.1 (and up to 9) still falls
/// back to `dlopen`, so a library in the layer loads; from .NET 10 it would not, and the scan says
/// so for dotnet10.
#[test]
fn assembly_directory_only_falls_back_to_dlopen_before_dotnet10() {
    if ready().is_none() {
        return;
    }
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfoo.so", "libfoo.so", "foo_answer");
    app(
        &fx,
        "foo",
        "[assembly: DefaultDllImportSearchPaths(DllImportSearchPath.AssemblyDirectory)]",
    );
    let v = verdicts(&fx, "dotnetcore3.1", Some(&layer(&["\"libfoo.so\""])));
    assert!(v.scan_loads() && v.runtime_loads(), "{}", v.explain());
    let spec = fx.path().join("layer.kdl");
    let ten = layer(&["\"libfoo.so\""]).replace("dotnetcore3.1", "dotnet10");
    std::fs::write(&spec, ten).unwrap();
    let (code, report) = scan_json(
        &fx.path().join("app"),
        "dotnet10",
        &["--spec", spec.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["failures"][0]["kind"], "pinvoke-not-found");
}

/// A native asset that `App.deps.json` names (`runtimes/linux-x64/native/libbar.so`) is found
/// through NATIVE_DLL_SEARCH_DIRECTORIES; the same file without that entry is not.
#[test]
fn deps_json_native_assets_match_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    for named in [true, false] {
        let fx = Fixture::new();
        let dir = app(&fx, "bar", "");
        let native = "runtimes/linux-x64/native/libbar.so";
        let out = dir.join(native);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = fx.write("src/bar.c", c_fn("foo_answer"));
        let cc = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap();
        assert!(cc.success());
        let assets: &[&str] = if named { &[native] } else { &[] };
        coreclr::deps_json(&dir, "App", assets);
        let v = verdicts(&fx, "dotnetcore3.1", None);
        assert_eq!(
            (v.scan_loads(), v.runtime_loads()),
            (named, named),
            "named in deps.json: {named}\n{}",
            v.explain()
        );
    }
}

/// A library found beside the assembly whose own DT_NEEDED is missing: `dlopen` fails, CoreCLR
/// tries the other names and gives up; the scan names the missing dependency.
#[test]
fn a_missing_dependency_of_the_library_matches_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    let fx = Fixture::new();
    let dir = app(&fx, "foo", "");
    let gone = fx.lib_outside("elsewhere/libgone.so.1", "libgone.so.1", "gone");
    let src = fx.write("src/foo.c", c_calls("foo_answer", "gone"));
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.join("libfoo.so"))
        .arg(&src)
        .arg(&gone)
        .status()
        .unwrap();
    assert!(cc.success());
    let v = verdicts(&fx, "dotnetcore3.1", None);
    assert!(!v.scan_loads() && !v.runtime_loads(), "{}", v.explain());
    assert_eq!(
        crate::app_artifacts::failures(&v.report),
        [
            "needed-not-found: App.dll → foo → libgone.so.1",
            "needed-not-found: libfoo.so → libgone.so.1"
        ]
    );
    let out = String::from_utf8_lossy(&v.run.stdout);
    assert!(out.contains("DllNotFoundException"), "{out}");
}

/// Lazy binding: libfoo.so calls bar_two@VER_2, and the libbar.so.1 beside it defines VER_2 without
/// bar_two. The library loads (another function of it runs) and the call dies then; the scan
/// says the same: it loads, with a call-time warning. A libbar.so.1 without VER_2 fails the load.
/// (Both ship in the app folder, on LD_LIBRARY_PATH: `layerc build` refuses the second pair.)
#[test]
fn lazy_binding_matches_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    for version_defined in [true, false] {
        let fx = Fixture::new();
        let new_map = fx.write(
            "src/new.map",
            "VER_1 { global: bar_one; local: *; };\nVER_2 { global: bar_two; } VER_1;\n",
        );
        let new = fx.path().join("elsewhere/libbar.so.1");
        std::fs::create_dir_all(new.parent().unwrap()).unwrap();
        let src = fx.write(
            "src/bar2.c",
            "int bar_one(void){return 1;}\nint bar_two(void){return 2;}\n",
        );
        let cc = Command::new("cc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libbar.so.1"])
            .arg(format!("-Wl,--version-script={}", new_map.display()))
            .arg("-o")
            .arg(&new)
            .arg(&src)
            .status()
            .unwrap();
        assert!(cc.success());
        let map = if version_defined {
            "VER_1 { global: bar_one; local: *; };\nVER_2 { global: bar_three; } VER_1;\n"
        } else {
            "VER_1 { global: bar_one; local: *; };\n"
        };
        let old_map = fx.write("src/old.map", map);
        fx.cc_lib(
            "/usr/lib64/libbar.so.1",
            "libbar.so.1",
            "int bar_one(void){return 1;}\nint bar_three(void){return 3;}\n",
            &[],
            &[&format!("-Wl,--version-script={}", old_map.display())],
        );
        let dir = fx.path().join("app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fx.root("/usr/lib64/libbar.so.1"), dir.join("libbar.so.1")).unwrap();
        let foo = fx.write(
            "src/foo.c",
            "extern int bar_two(void);\nint foo_plain(void){return 7;}\nint foo_answer(void){return 40 + bar_two();}\n",
        );
        let out = dir.join("libfoo.so");
        let cc = Command::new("cc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libfoo.so", "-o"])
            .arg(&out)
            .arg(&foo)
            .arg(&new)
            .status()
            .unwrap();
        assert!(cc.success());
        let source = app_source("foo", "foo_answer", "").replace(
            "static int Main() {",
            "[DllImport(\"foo\")] static extern int foo_plain();\n    static int Main() {\n        try { Console.WriteLine(\"plain \" + foo_plain()); } catch (DllNotFoundException) { return 3; }",
        );
        coreclr::compile(&dir, "App", &source, true);
        let v = verdicts(&fx, "dotnetcore3.1", None);
        let stdout = String::from_utf8_lossy(&v.run.stdout).to_string();
        if version_defined {
            // Loaded: foo_plain ran; the call of foo_answer dies in the loader (exit 127).
            assert!(stdout.contains("plain 7"), "{}", v.explain());
            assert!(!v.runtime_loads(), "{}", v.explain());
            assert!(v.scan_loads(), "{}", v.explain());
            let call_time = &v.report["call_time"];
            assert_eq!(call_time[0]["symbol"], "bar_two", "{}", v.report);
            assert_eq!(call_time[0]["when"], "first-call");
        } else {
            // Not loaded: version `VER_2' not found.
            assert!(!stdout.contains("plain 7"), "{}", v.explain());
            assert_eq!(v.run.status.code(), Some(3), "{}", v.explain());
            assert!(!v.scan_loads(), "{}", v.explain());
            assert_eq!(v.report["failures"][0]["kind"], "missing-version");
        }
    }
}

/// ICU: an app that is not in invariant mode on a runtime without ICU (provided.al2023) stops at
/// start-up, and the scan says ICU is missing; with Debian 11's ICU 67 in a layer (the version
/// dotnet8 and dotnet10 install), it runs and the scan is content. The layer is what
/// `layerc scan --rootfs` drafts.
#[test]
fn icu_matches_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    let Some(rootfs) = crate::debian::bullseye_gdiplus_rootfs() else {
        return;
    };
    let fx = Fixture::new();
    let dir = fx.path().join("app");
    let source = app_source("c", "getpid", "").replace(
        "Console.WriteLine(\"returned \" + getpid());",
        "Console.WriteLine(\"returned \" + getpid() + \" \" + DateTime.Now.ToString(\"D\"));",
    );
    coreclr::compile(&dir, "App", &source, false);
    let v = verdicts(&fx, "provided.al2023", None);
    assert!(!v.scan_loads() && !v.runtime_loads(), "{}", v.explain());
    assert_eq!(v.report["failures"][0]["kind"], "icu-not-found");
    assert!(
        String::from_utf8_lossy(&v.run.stdout).contains("Couldn't find a valid ICU package")
            || String::from_utf8_lossy(&v.run.stderr).contains("Couldn't find a valid ICU package"),
        "{}",
        v.explain()
    );
    let text = draft(&fx, "provided.al2023", rootfs);
    assert!(text.contains("library \"libicuuc.so.67\""), "{text}");
    let v = verdicts(&fx, "provided.al2023", Some(&text));
    assert!(v.scan_loads() && v.runtime_loads(), "{}", v.explain());
}

/// The framework folder of the real runtime, scanned as an application (as a self-contained app
/// ships it): its optional libraries (the LTTng tracepoint provider, 3.1's libcurl handler) are
/// warnings, not errors, and none of the runtime's own libraries is taken for a Windows or macOS
/// one. The same runtime runs an app in a root without liblttng-ust.so.0 or libcurl.so.4.
#[test]
fn the_framework_folder_reports_no_error_for_its_optional_libraries() {
    if ready().is_none() {
        return;
    }
    let framework = coreclr::runtime().unwrap().join(coreclr::FRAMEWORK);
    let (code, report) = scan_json(&framework, "dotnetcore3.1", &[]);
    assert_eq!(
        (code, report["failures"].clone()),
        (0, serde_json::json!([]))
    );
    let optional: Vec<String> = report["optional"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let chain = o["failure"]["chain"].as_array().unwrap();
            chain
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect();
    assert_eq!(
        optional,
        [
            "System.Net.Http.Native.so → libcurl.so.4",
            "libcoreclrtraceptprovider.so → liblttng-ust.so.0"
        ]
    );
    let foreign: Vec<&str> = report["foreign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["module"].as_str().unwrap())
        .collect();
    assert_eq!(foreign, ["QCall", "kernel32.dll", "ole32.dll"]);
    for own in [
        "System.Native",
        "System.Globalization.Native",
        "libSystem.Native",
    ] {
        assert!(!foreign.contains(&own));
    }
    // The runtime itself goes on without them.
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfoo.so", "libfoo.so", "foo_answer");
    app(&fx, "foo", "");
    let v = verdicts(&fx, "dotnetcore3.1", Some(&layer(&["\"libfoo.so\""])));
    let root = fx.path().join("root");
    for absent in ["liblttng-ust.so.0", "libcurl.so.4"] {
        assert!(!root.join("lib64").join(absent).exists());
        assert!(!root.join("usr/lib64").join(absent).exists());
    }
    assert!(v.runtime_loads(), "{}", v.explain());
}

/// What System.Drawing does underneath on Linux: GdiplusStartup, a bitmap, saved as PNG to
/// /tmp/out.png, all from `DllImport("libgdiplus")`.
const DRAWING: &str = r#"using System;
using System.Runtime.InteropServices;
[StructLayout(LayoutKind.Sequential)]
struct StartupInput {
    public int GdiplusVersion;
    public IntPtr DebugEventCallback;
    public int SuppressBackgroundThread;
    public int SuppressExternalCodecs;
}
static class App {
    [DllImport("libgdiplus")] static extern int GdiplusStartup(out IntPtr token, ref StartupInput input, IntPtr output);
    [DllImport("libgdiplus")] static extern int GdipCreateBitmapFromScan0(int width, int height, int stride, int format, IntPtr scan0, out IntPtr bitmap);
    [DllImport("libgdiplus", CharSet = CharSet.Unicode)] static extern int GdipSaveImageToFile(IntPtr image, string file, ref Guid encoder, IntPtr parameters);
    static int Main() {
        try {
            var input = new StartupInput { GdiplusVersion = 1 };
            IntPtr token, bitmap;
            int status = GdiplusStartup(out token, ref input, IntPtr.Zero);
            status |= GdipCreateBitmapFromScan0(64, 32, 0, 0x26200A, IntPtr.Zero, out bitmap);
            Guid png = new Guid("557cf406-1a04-11d3-9a73-0000f81ef32e");
            status |= GdipSaveImageToFile(bitmap, "/tmp/out.png", ref png, IntPtr.Zero);
            Console.WriteLine("status " + status);
            return status == 0 ? 0 : 5;
        }
        catch (DllNotFoundException e) { Console.WriteLine("DllNotFoundException: " + e.Message); return 3; }
    }
}
"#;

/// The story this project began with, on a real CoreCLR: an app with `DllImport("libgdiplus")`
/// fails on dotnet10 without a layer, and the scan says so; `layerc scan --rootfs <Debian 11>
/// --write-spec` drafts the layer (libgdiplus.so.0 with the alias libgdiplus.so, the name CoreCLR
/// asks for), `layerc build` builds it, the scan with it finds nothing missing, and the app, run
/// with the layer at /opt and the fragment's LD_LIBRARY_PATH, loads libgdiplus from the layer and
/// writes its PNG.
#[test]
fn system_drawing_style_app_is_fixed_by_the_drafted_layer_on_a_real_coreclr() {
    if ready().is_none() {
        return;
    }
    let Some(rootfs) = crate::debian::bullseye_gdiplus_rootfs() else {
        return;
    };
    let fx = Fixture::new();
    let dir = fx.path().join("app");
    coreclr::compile(&dir, "App", DRAWING, true);
    let before = verdicts(&fx, "dotnet10", None);
    assert!(
        !before.scan_loads() && !before.runtime_loads(),
        "{}",
        before.explain()
    );
    assert_eq!(
        crate::app_artifacts::failures(&before.report),
        ["pinvoke-not-found: App.dll → libgdiplus"]
    );
    assert_eq!(before.run.status.code(), Some(3), "{}", before.explain());

    let spec = draft(&fx, "dotnet10", rootfs);
    assert!(
        spec.contains("library \"libgdiplus.so.0\" alias=\"libgdiplus.so\""),
        "{spec}"
    );
    std::fs::remove_dir_all(fx.path().join("root")).unwrap();
    let after = verdicts(&fx, "dotnet10", Some(&spec));
    assert!(after.scan_loads(), "{}", after.explain());
    assert!(after.runtime_loads(), "{}", after.explain());
    let png = std::fs::read(fx.path().join("root/tmp/out.png")).expect("the app wrote its PNG");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width 64, height 32.
    assert_eq!(&png[16..24], &[0, 0, 0, 64, 0, 0, 0, 32]);
    let loaded = String::from_utf8_lossy(&after.run.stdout);
    assert!(loaded.contains("status 0"), "{loaded}");
}
