//! `layerc scan` on real artifacts no one here wrote, each scanned for an Amazon Linux 2 and an
//! Amazon Linux 2023 runtime: manylinux wheels from PyPI, a Node addon and its native library
//! from npm, Mono's System.Drawing from Debian. Symbol-version findings are checked against
//! binutils' `readelf -V`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::artifacts::{self, Pinned};
use crate::common::*;

/// Pillow 11.3.0 for CPython 3.12, built for glibc 2.28: 25 objects, its libraries bundled in
/// `pillow.libs/` and found through the extension modules' DT_RPATH.
pub(crate) const PILLOW: Pinned = Pinned {
    file: "pillow-11.3.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "676b2815362456b5b3216b4fd5bd89d362100dc6f4945154ff172e206a22c024",
};

/// pyodbc 5.2.0: a manylinux2014 wheel that leaves unixODBC's libodbc.so.2 to the system.
const PYODBC: Pinned = Pinned {
    file: "pyodbc-5.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "97d086a8f7a302b74c9c2e77bedf954a603b19168af900d4d3a97322e773df63",
};

/// sharp's Linux addon, which needs libvips-cpp.so from its sibling package.
const SHARP: Pinned = Pinned {
    file: "img-sharp-linux-x64-0.34.3.tgz",
    sha256: "39f6aef71aa470f728bf6ef1fb5a6a520f512666c6debf2d86314bdd4c97e3a0",
};
const SHARP_LIBVIPS: Pinned = Pinned {
    file: "img-sharp-libvips-linux-x64-1.2.0.tgz",
    sha256: "73e3748a4e77328f6c61c6146a431715c8107ac7f5cdcc888c24148f5b4df9e8",
};

/// `layerc scan APP --runtime RUNTIME --format json`: the exit code and the report.
pub(crate) fn scan_json(app: &Path, runtime: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["scan", app.to_str().unwrap(), "--runtime", runtime];
    args.extend(["--format", "json"]);
    args.extend(extra);
    let out = layerc_in(app.parent().unwrap(), &args, &[]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap(), report)
}

/// Each failure as `kind: chain → ... [detail]`.
pub(crate) fn failures(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let chain: Vec<&str> = f["chain"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            format!("{}: {}", f["kind"].as_str().unwrap(), chain.join(" → "))
        })
        .collect()
}

/// File names under `dir` whose `readelf -V` needs a GLIBC version above 2.`minor`.
fn readelf_over_glibc(dir: &Path, minor: u32) -> BTreeSet<String> {
    let mut over = BTreeSet::new();
    for file in files_under(dir).iter().filter(|f| f.contains(".so")) {
        let out = Command::new("readelf")
            .arg("-V")
            .arg(dir.join(file))
            .output()
            .expect("readelf runs: apt-get install binutils");
        let text = String::from_utf8_lossy(&out.stdout);
        let needs_more = text
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("GLIBC_2."))
            .filter_map(|v| v.split('.').next()?.parse::<u32>().ok())
            .any(|m| m > minor);
        if needs_more {
            over.insert(
                Path::new(file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into(),
            );
        }
    }
    over
}

#[test]
fn a_manylinux_2_28_wheel_fails_on_amazon_linux_2_naming_version_object_and_ceiling() {
    let Some((whl, dir)) = artifacts::or_skip(
        "pillow",
        artifacts::wheel("pillow==11.3.0", "manylinux_2_28_x86_64", &PILLOW),
    ) else {
        return;
    };
    // Amazon Linux 2 has glibc 2.26: provided.al2 (a custom runtime bringing its own Python).
    let (code, report) = scan_json(&whl, "provided.al2", &[]);
    assert_eq!(code, 1);
    assert_eq!(report["objects"].as_array().unwrap().len(), 25);
    let reported: BTreeSet<String> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["kind"], "symbol-version", "{f}");
            assert_eq!(f["ceiling"], "GLIBC_2.26", "{f}");
            let chain = f["chain"].as_array().unwrap();
            chain.last().unwrap().as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(reported, readelf_over_glibc(&dir, 26));
    assert!(
        reported.contains("libavif-01e67780.so.16.3.0"),
        "{reported:?}"
    );
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(
            &"libavif-01e67780.so.16.3.0 needs GLIBC_2.27 from libm.so.6; provided.al2 \
              (Amazon Linux 2) provides up to GLIBC_2.26"
        ),
        "{messages:#?}"
    );
    // Every bundled library is found (through the modules' DT_RPATH) on both OS bases.
    let (code, report) = scan_json(&whl, "python3.12", &[]);
    assert_eq!((code, failures(&report)), (0, vec![]));
}

#[test]
fn a_wheel_needing_a_library_no_runtime_has_fails_on_both_os_bases() {
    let Some((whl, _)) = artifacts::or_skip(
        "pyodbc",
        artifacts::wheel("pyodbc==5.2.0", "manylinux2014_x86_64", &PYODBC),
    ) else {
        return;
    };
    for runtime in ["provided.al2", "python3.12"] {
        let (code, report) = scan_json(&whl, runtime, &[]);
        assert_eq!(code, 1, "{runtime}");
        assert_eq!(
            failures(&report),
            ["needed-not-found: pyodbc.cpython-312-x86_64-linux-gnu.so → libodbc.so.2"],
            "{runtime}"
        );
    }
}

/// `node_modules/@img/<name>` for each package, from the npm tarballs.
fn node_modules(fx: &Fixture, packages: &[(&str, PathBuf)]) -> PathBuf {
    let app = fx.path().join("app");
    for (name, unpacked) in packages {
        let to = app.join("node_modules/@img").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let status = Command::new("cp")
            .arg("-r")
            .arg(unpacked.join("package"))
            .arg(&to)
            .status()
            .unwrap();
        assert!(status.success());
    }
    app
}

#[test]
fn a_node_addon_loads_with_its_native_package_on_both_os_bases_and_fails_without() {
    let Some(addon) = artifacts::or_skip(
        "sharp",
        artifacts::npm("@img/sharp-linux-x64@0.34.3", &SHARP),
    ) else {
        return;
    };
    let Some(libvips) = artifacts::or_skip(
        "sharp-libvips",
        artifacts::npm("@img/sharp-libvips-linux-x64@1.2.0", &SHARP_LIBVIPS),
    ) else {
        return;
    };
    let fx = Fixture::new();
    let app = node_modules(
        &fx,
        &[
            ("sharp-linux-x64", addon.clone()),
            ("sharp-libvips-linux-x64", libvips),
        ],
    );
    for runtime in ["nodejs18.x", "nodejs22.x"] {
        let (code, report) = scan_json(&app, runtime, &[]);
        assert_eq!((code, failures(&report)), (0, vec![]), "{runtime}");
        assert_eq!(report["objects"].as_array().unwrap().len(), 2);
    }
    let fx = Fixture::new();
    let app = node_modules(&fx, &[("sharp-linux-x64", addon)]);
    for runtime in ["nodejs18.x", "nodejs22.x"] {
        let (code, report) = scan_json(&app, runtime, &[]);
        assert_eq!(code, 1);
        assert_eq!(
            failures(&report),
            [
                "needed-not-found: node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node → libvips-cpp.so.8.17.1"
            ],
            "{runtime}"
        );
    }
}

/// A .NET application folder holding Mono's System.Drawing.dll.
pub(crate) fn system_drawing_app(fx: &Fixture) -> Option<PathBuf> {
    let package = crate::dotnet::system_drawing_package()?;
    let app = fx.path().join("publish");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(
        package.join("usr/lib/mono/4.5/System.Drawing.dll"),
        app.join("System.Drawing.dll"),
    )
    .unwrap();
    Some(app)
}

#[test]
fn system_drawing_misses_libgdiplus_on_dotnet8_and_lists_windows_names_apart() {
    let fx = Fixture::new();
    let Some(app) = system_drawing_app(&fx) else {
        return;
    };
    for runtime in ["dotnet8", "dotnet6"] {
        let (code, report) = scan_json(&app, runtime, &[]);
        assert_eq!(code, 1);
        let found = failures(&report);
        assert!(
            found.contains(&"pinvoke-not-found: System.Drawing.dll → gdiplus".to_string()),
            "{runtime}: {found:?}"
        );
        let foreign: Vec<&str> = report["foreign"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["module"].as_str().unwrap())
            .collect();
        for name in ["kernel32", "gdi32", "user32.dll", "libobjc.dylib"] {
            assert!(foreign.contains(&name), "{name} in {foreign:?}");
            assert!(!found.iter().any(|f| f.ends_with(&format!("→ {name}"))));
        }
    }
    // CoreCLR's names for `gdiplus`: no dllmap, no libgdiplus.so.0.
    let (_, report) = scan_json(&app, "dotnet8", &[]);
    let gdiplus = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["chain"][1] == "gdiplus")
        .unwrap();
    assert_eq!(
        gdiplus["names"],
        serde_json::json!(["gdiplus.so", "libgdiplus.so", "gdiplus", "libgdiplus"])
    );
    let out = layerc_in(fx.path(), &["scan", "publish", "--runtime", "dotnet8"], &[]);
    assert!(
        stderr(&out).contains("System.Drawing.dll loads `gdiplus` by P/Invoke"),
        "{}",
        stderr(&out)
    );
}

/// The whole fix for a .NET application on dotnet8: the scan names libgdiplus; with a rootfs
/// that has it (Debian 11's, built for a glibc Amazon Linux 2023 has), `--write-spec` writes a
/// spec, `layerc build` turns it into a layer zip (checked by `unzip -t`), and a second scan with
/// that spec finds only what no layer can give: Mono's System.Drawing also imports `gdiplus.dll`,
/// for which CoreCLR tries `gdiplus.dll.so` and the like, names no package ships (Mono's dllmap
/// mapped it; CoreCLR has none).
#[test]
fn system_drawing_on_dotnet8_is_fixed_by_the_spec_scan_writes() {
    let fx = Fixture::new();
    let Some(app) = system_drawing_app(&fx) else {
        return;
    };
    let Some(rootfs) = crate::debian::bullseye_gdiplus_rootfs() else {
        return;
    };
    let (code, report) = scan_json(&app, "dotnet8", &[]);
    assert_eq!(code, 1);
    assert!(failures(&report).contains(&"pinvoke-not-found: System.Drawing.dll → gdiplus".into()));

    let rootfs = rootfs.to_str().unwrap();
    let with_rootfs = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "publish",
            "--runtime",
            "dotnet8",
            "--rootfs",
            rootfs,
        ];
        args.extend(extra);
        layerc_in(fx.path(), &args, &[])
    };
    let out = with_rootfs(&[]);
    let spec = fx.path().join("layer.kdl");
    assert!(!spec.exists(), "a scan without --write-spec writes nothing");
    assert!(
        stderr(&out).contains("with this layer, 1 problem(s) remain"),
        "{}",
        stderr(&out)
    );
    let out = with_rootfs(&["--write-spec", "layer.kdl"]);
    let text = std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(
        text.contains("library \"libgdiplus.so.0\" alias=\"libgdiplus.so\""),
        "{text}"
    );

    let out = layerc_in(fx.path(), &["build", "layer.kdl"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zip = fx.path().join("build/native.zip");
    let test = Command::new("unzip").arg("-t").arg(&zip).output().unwrap();
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let listing = Command::new("unzip").arg("-Z1").arg(&zip).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for entry in ["lib/libgdiplus.so.0", "lib/libgdiplus.so", "lib/libX11.so"] {
        assert!(listing.lines().any(|l| l == entry), "{entry}: {listing}");
    }

    let (code, report) = scan_json(&app, "dotnet8", &["--spec", spec.to_str().unwrap()]);
    assert_eq!(
        (code, failures(&report)),
        (
            1,
            vec!["pinvoke-not-found: System.Drawing.dll → gdiplus.dll".to_string()]
        )
    );
}
