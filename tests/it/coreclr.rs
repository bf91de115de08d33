//! A real CoreCLR to hold the scan's .NET verdicts against: the .NET Core 3.1.23 runtime of PyPI's
//! `dotnetcore2` wheel, C# apps compiled at test time by Mono's `mcs` (Debian's `mono-mcs`; the
//! assemblies run on CoreCLR unchanged, given a runtimeconfig.json), run in a stand-in Lambda root
//! built per test: glibc and every library the catalog says the runtime provides (copied from the
//! host where it has them), the runtime at `/var/lang/bin`, the app at `/var/task`, a layer zip
//! unpacked at `/opt`, and `LD_LIBRARY_PATH` from the fragment `layerc build` writes. The root is
//! entered with `unshare --mount` (so `/proc` can be bound in for the `dotnet` host) and `chroot`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use layerc::arch::Architecture;
use layerc::runtime::Catalog;
use serde_json::Value;

use crate::app_artifacts::scan_json;
use crate::artifacts::{self, Pinned};
use crate::common::{Fixture, stderr};

/// .NET Core 3.1.23 for linux-x64, as PyPI's dotnetcore2 ships it.
const DOTNETCORE2: Pinned = Pinned {
    file: "dotnetcore2-3.1.23-py3-none-manylinux1_x86_64.whl",
    sha256: "5f076ddc39da0c685e7de20ecb91ee81185928918ec86fbeb3bffc55dd867ab5",
};

pub(crate) const FRAMEWORK: &str = "dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23";

/// The unpacked wheel (its `dotnetcore2/bin` is the runtime), or `None` after saying why (a
/// failure in CI).
pub(crate) fn runtime() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let found = artifacts::wheel("dotnetcore2==3.1.23", "manylinux1_x86_64", &DOTNETCORE2)
            .map(|(_, dir)| dir);
        artifacts::or_skip("the .NET Core 3.1.23 runtime (PyPI dotnetcore2)", found)
    })
    .as_deref()
}

/// Whether the tools the stand-in root needs are here (`mcs`, `unshare`, `chroot`, root), or `None`
/// after saying why (a failure in CI).
pub(crate) fn tools() -> Option<()> {
    crate::tier::oracle(&["mcs", "unshare", "chroot", "mount", "unzip"])?;
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if root {
        return Some(());
    }
    crate::tier::skip_or_fail(
        "a real CoreCLR run: the stand-in root needs root (chroot, mount namespaces)",
    )
}

/// Compiles `source` into `<dir>/<name>.dll` against the runtime's own reference assemblies, with
/// `<name>.runtimeconfig.json` for Microsoft.NETCore.App 3.1 (`invariant`: no ICU).
pub(crate) fn compile(dir: &Path, name: &str, source: &str, invariant: bool) -> PathBuf {
    let runtime = runtime().expect("checked by the caller");
    let fx = runtime.join(FRAMEWORK);
    fs::create_dir_all(dir).unwrap();
    let cs = dir.join(format!("{name}.cs"));
    fs::write(&cs, source).unwrap();
    let dll = dir.join(format!("{name}.dll"));
    let mut mcs = Command::new("mcs");
    mcs.args(["-nostdlib", "-noconfig", "-target:exe", "-unsafe"]);
    for reference in [
        "System.Private.CoreLib",
        "System.Runtime",
        "System.Console",
        "System.Runtime.InteropServices",
    ] {
        mcs.arg(format!(
            "-r:{}",
            fx.join(format!("{reference}.dll")).display()
        ));
    }
    let out = mcs
        .arg(format!("-out:{}", dll.display()))
        .arg(&cs)
        .output()
        .expect("mcs runs");
    assert!(
        out.status.success(),
        "mcs failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    fs::remove_file(&cs).unwrap();
    let config = serde_json::json!({"runtimeOptions": {
        "tfm": "netcoreapp3.1",
        "framework": {"name": "Microsoft.NETCore.App", "version": "3.1.0"},
        "configProperties": if invariant {
            serde_json::json!({"System.Globalization.Invariant": true})
        } else {
            serde_json::json!({})
        },
    }});
    fs::write(
        dir.join(format!("{name}.runtimeconfig.json")),
        config.to_string(),
    )
    .unwrap();
    dll
}

/// `<dir>/<name>.deps.json` for a framework-dependent app whose native assets are `native`
/// (paths below the app folder, each for RID `linux-x64`).
pub(crate) fn deps_json(dir: &Path, name: &str, native: &[&str]) {
    let target = ".NETCoreApp,Version=v3.1";
    let assets: serde_json::Map<String, serde_json::Value> = native
        .iter()
        .map(|p| {
            (
                p.to_string(),
                serde_json::json!({"rid": "linux-x64", "assetType": "native"}),
            )
        })
        .collect();
    let library = format!("{name}/1.0.0");
    let deps = serde_json::json!({
        "runtimeTarget": {"name": target, "signature": ""},
        "compilationOptions": {},
        "targets": {target: {&library: {
            "runtime": {format!("{name}.dll"): {}},
            "runtimeTargets": assets,
        }}},
        "libraries": {&library: {"type": "project", "serviceable": false, "sha512": ""}},
    });
    fs::write(dir.join(format!("{name}.deps.json")), deps.to_string()).unwrap();
}

/// Host folders the stand-in root's libraries are copied from.
const HOST_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
];

/// A stand-in Lambda root for `runtime_id` in `root`: glibc and each soname the catalog says the
/// runtime provides on x86_64 that the host has, in the catalog's folder; the .NET runtime at
/// `/var/lang/bin` (hard links into the cache); the app folder at `/var/task`; `layer_zip`, when
/// given, unpacked at `/opt`.
pub(crate) fn stand_in_root(root: &Path, runtime_id: &str, app: &Path, layer_zip: Option<&Path>) {
    let catalog = Catalog::builtin();
    let rt = catalog.runtime(runtime_id).expect("a catalog runtime");
    let os = catalog.os(&rt.os).expect("its OS base");
    let arch = Architecture::X86_64;
    let mut wanted: Vec<(String, String)> = catalog
        .glibc_sonames
        .iter()
        .map(|s| ("/lib64".to_string(), s.clone()))
        .collect();
    for listing in os.listings.iter().chain(&rt.folders) {
        if listing.architectures.contains(&arch) {
            wanted.extend(
                listing
                    .sonames
                    .iter()
                    .map(|s| (listing.folder.clone(), s.clone())),
            );
        }
    }
    for (folder, soname) in wanted {
        let Some(host) = HOST_DIRS
            .iter()
            .map(|d| Path::new(d).join(&soname))
            .find(|p| p.exists())
        else {
            continue;
        };
        let to = root.join(folder.trim_start_matches('/')).join(&soname);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        if !to.exists() {
            fs::copy(&host, &to).unwrap();
        }
    }
    for dir in ["proc", "tmp", "opt", "var/task"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    let dotnet = runtime()
        .expect("checked by the caller")
        .join("dotnetcore2/bin");
    let lang = root.join("var/lang");
    fs::create_dir_all(&lang).unwrap();
    copy(&dotnet, &lang.join("bin"), true);
    copy(&app.join("."), &root.join("var/task"), false);
    if let Some(zip) = layer_zip {
        let ok = Command::new("unzip")
            .arg("-q")
            .arg(zip)
            .arg("-d")
            .arg(root.join("opt"))
            .status()
            .unwrap();
        assert!(ok.success(), "unzip {}", zip.display());
    }
}

/// `cp -a` (`link`: hard links, for the large runtime).
fn copy(from: &Path, to: &Path, link: bool) {
    let ok = Command::new("cp")
        .arg(if link { "-al" } else { "-a" })
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp {} {}", from.display(), to.display());
}

/// Runs `/var/task/<app>.dll` in `root` as Lambda's .NET bootstrap does (`dotnet exec --depsfile
/// --runtimeconfig`), with `ld_library_path`.
pub(crate) fn run(root: &Path, app: &str, ld_library_path: &str) -> Output {
    let task = root.join("var/task");
    let mut args = vec![
        "/var/lang/bin/dotnet".to_string(),
        "exec".to_string(),
        "--runtimeconfig".to_string(),
        format!("/var/task/{app}.runtimeconfig.json"),
    ];
    if task.join(format!("{app}.deps.json")).exists() {
        args.push("--depsfile".to_string());
        args.push(format!("/var/task/{app}.deps.json"));
    }
    args.push(format!("/var/task/{app}.dll"));
    let root_str = root.display().to_string();
    let script = format!("mount --bind /proc '{root_str}/proc' && exec chroot '{root_str}' \"$@\"");
    Command::new("unshare")
        .args(["--mount", "--fork", "sh", "-c", &script, "sh"])
        .args(&args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LD_LIBRARY_PATH", ld_library_path)
        .env("DOTNET_ROOT", "/var/lang/bin")
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .env("LANG", "en_US.UTF-8")
        .output()
        .expect("unshare runs")
}

/// The LD_LIBRARY_PATH of the fragment `layerc build` wrote in `build_dir`.
pub(crate) fn fragment_ld_library_path(build_dir: &Path) -> String {
    let text = fs::read_to_string(build_dir.join("serverless.template.json")).unwrap();
    let fragment: serde_json::Value = serde_json::from_str(&text).unwrap();
    fragment["Globals"]["Function"]["Environment"]["Variables"]["LD_LIBRARY_PATH"]
        .as_str()
        .unwrap_or_else(|| panic!("no LD_LIBRARY_PATH in {text}"))
        .to_string()
}

/// An app whose `Main` calls `function` from `DllImport(module)` and exits 0 when it returns, 3 on
/// `DllNotFoundException`, 4 on `EntryPointNotFoundException`; `before_class` goes above the class
/// (an assembly attribute).
pub(crate) fn app_source(module: &str, function: &str, before_class: &str) -> String {
    format!(
        r#"using System;
using System.Runtime.InteropServices;
{before_class}
static class App {{
    [DllImport("{module}")] static extern int {function}();
    static int Main() {{
        try {{ Console.WriteLine("returned " + {function}()); return 0; }}
        catch (DllNotFoundException e) {{ Console.WriteLine("DllNotFoundException: " + e.Message); return 3; }}
        catch (EntryPointNotFoundException e) {{ Console.WriteLine("EntryPointNotFoundException: " + e.Message); return 4; }}
    }}
}}
"#
    )
}

/// What the scan said and what the runtime did for one app.
pub(crate) struct Verdicts {
    pub report: Value,
    pub run: Output,
}

impl Verdicts {
    pub(crate) fn scan_loads(&self) -> bool {
        self.report["loads"] == true
    }

    pub(crate) fn runtime_loads(&self) -> bool {
        self.run.status.code() == Some(0)
    }

    pub(crate) fn explain(&self) -> String {
        format!(
            "scan: {}\nruntime ({:?}): {}{}",
            serde_json::to_string_pretty(&self.report["failures"]).unwrap(),
            self.run.status.code(),
            String::from_utf8_lossy(&self.run.stdout),
            String::from_utf8_lossy(&self.run.stderr)
        )
    }
}

/// Builds `spec` (when given) with `layerc build`, scans the app in `<fx>/app` with that spec for
/// `runtime`, and runs it in a stand-in root with the layer at `/opt` and the fragment's
/// LD_LIBRARY_PATH (the runtime's own without a layer).
pub(crate) fn verdicts(fx: &Fixture, runtime: &str, spec: Option<&str>) -> Verdicts {
    let app = fx.path().join("app");
    let mut extra = Vec::new();
    let (zip, ld) = match spec {
        Some(text) => {
            let spec = fx.spec(text);
            let out = fx.layerc(&["build", "layer.kdl"]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            extra = vec!["--spec".to_string(), spec.display().to_string()];
            let build = fx.path().join("build");
            (
                Some(build.join("native.zip")),
                fragment_ld_library_path(&build),
            )
        }
        None => {
            let catalog = layerc::runtime::Catalog::builtin();
            let rt = catalog.runtime(runtime).unwrap();
            (None, rt.ld_library_path.join(":"))
        }
    };
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (_, report) = scan_json(&app, runtime, &extra);
    let root = fx.path().join("root");
    stand_in_root(&root, runtime, &app, zip.as_deref());
    let run = run(&root, "App", &ld);
    Verdicts { report, run }
}

/// `layerc scan app --runtime RUNTIME --rootfs ROOTFS --write-spec layer.kdl`: the spec it drafts.
pub(crate) fn draft(fx: &Fixture, runtime: &str, rootfs: &Path) -> String {
    let out = fx.layerc(&[
        "scan",
        "app",
        "--runtime",
        runtime,
        "--rootfs",
        rootfs.to_str().unwrap(),
        "--write-spec",
        "layer.kdl",
    ]);
    std::fs::read_to_string(fx.path().join("layer.kdl"))
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

/// A real runtime and the tools, or `None` (skip; a failure in CI).
pub(crate) fn ready() -> Option<()> {
    runtime()?;
    tools()
}
