//! `layerc scan APP`: applications built from `cc` fixtures, scanned as folders and as zips written
//! by Info-ZIP, with glibc's own loader (`ld.so --list`) as the oracle for DT_RPATH inheritance.

use std::path::{Path, PathBuf};
use std::process::Command;

use layerc::app::{self, AppScan, Environment, managed};
use layerc::diagnostic::SourceFile;
use layerc::runtime::Catalog;

use crate::common::*;

/// A function on `runtime` (x86_64) without layers.
fn env_for(runtime: &str) -> Environment<'static> {
    let catalog = Catalog::builtin();
    let rt = catalog.runtime(runtime).expect("known runtime");
    Environment {
        runtime: rt,
        os: catalog.os(&rt.os).unwrap(),
        arch: layerc::arch::Architecture::X86_64,
        layers: Vec::new(),
        ld_library_path: app::prepended_path(rt, &[]),
    }
}

/// Scans `app` for `runtime` on x86_64 with no layers, through the library API.
pub(crate) fn scan_dir(app: &Path, runtime: &str) -> (AppScan, String) {
    let env = env_for(runtime);
    let fs = layerc::rootfs::open_app(app).expect("app opens");
    let scan = app::scan(fs, &env, managed::no_reader).expect("scan runs");
    let diags = app::report::diagnostics(&scan, &env);
    let text = render_all(&diags, &SourceFile::new("app", "").into());
    (scan, text)
}

/// Asserts that a `layerc scan` run found everything loads (exit 0).
pub(crate) fn assert_loads(out: &std::process::Output) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("everything loads"), "{err}");
}

/// The chains of every failure, joined, for short assertions.
fn chains(scan: &AppScan) -> Vec<String> {
    scan.failures
        .iter()
        .map(|f| f.chain().join(" → "))
        .collect()
}

/// A wheel's layout as auditwheel writes it: `pkg/mod.so` with `$ORIGIN/../pkg.libs` as DT_RPATH
/// (or, with `runpath`, DT_RUNPATH) loads `liba.so.1`, which needs `libb.so.1`; both bundled in
/// `pkg.libs`, `libb` found by no path of `liba`'s own.
pub(crate) fn wheel(fx: &Fixture, runpath: bool) -> PathBuf {
    fx.lib("/app/pkg.libs/libb.so.1", "libb.so.1", "b");
    fx.cc_lib(
        "/app/pkg.libs/liba.so.1",
        "liba.so.1",
        &c_calls("a", "b"),
        &["/app/pkg.libs/libb.so.1"],
        &[],
    );
    let tags = if runpath {
        "-Wl,--enable-new-dtags"
    } else {
        "-Wl,--disable-new-dtags"
    };
    fx.cc_lib(
        "/app/pkg/mod.so",
        "mod.so",
        &c_calls("init", "a"),
        &["/app/pkg.libs/liba.so.1"],
        &["-Wl,-rpath,$ORIGIN/../pkg.libs", tags],
    );
    fx.root("/app")
}

/// What glibc's loader says about `object`: `name => path` for each dependency it loads, or the
/// error naming the first one it cannot.
fn ld_so_list(object: &Path) -> String {
    let out = Command::new("/lib64/ld-linux-x86-64.so.2")
        .arg("--list")
        .arg(object)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("ld.so runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_wheels_bundled_libraries_load_through_the_modules_rpath() {
    let fx = Fixture::new();
    let app = wheel(&fx, false);
    let oracle = ld_so_list(&app.join("pkg/mod.so"));
    assert!(
        oracle.contains("libb.so.1 => ") && !oracle.contains("cannot open"),
        "{oracle}"
    );
    let (scan, text) = scan_dir(&app, "python3.12");
    assert!(scan.loads(), "{text}");
    assert_eq!(scan.files.objects.len(), 3);
}

#[test]
fn runpath_serves_only_its_own_object() {
    let fx = Fixture::new();
    let app = wheel(&fx, true);
    let oracle = ld_so_list(&app.join("pkg/mod.so"));
    assert!(
        oracle.contains("libb.so.1: cannot open shared object file"),
        "{oracle}"
    );
    let (scan, text) = scan_dir(&app, "python3.12");
    assert_eq!(
        chains(&scan),
        ["pkg/mod.so → liba.so.1 → libb.so.1"],
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn var_task_lib_is_on_the_functions_path() {
    let fx = Fixture::new();
    fx.lib("/app/lib/libhelper.so.2", "libhelper.so.2", "helper");
    fx.cc_lib(
        "/app/bin/tool.so",
        "tool.so",
        &c_calls("tool", "helper"),
        &["/app/lib/libhelper.so.2"],
        &[],
    );
    let (scan, text) = scan_dir(&fx.root("/app"), "provided.al2023");
    assert!(scan.loads(), "{text}");
}

/// A library built against this machine's glibc (2.36) that calls `dlopen`, versioned GLIBC_2.34.
fn glibc_234_user(fx: &Fixture) -> PathBuf {
    fx.cc_lib(
        "/app/native/libuser.so",
        "libuser.so",
        "#include <dlfcn.h>\nvoid *user(void) { return dlopen(\"x\", RTLD_NOW); }\n",
        &[],
        &[],
    );
    let readelf = Command::new("readelf")
        .args(["--version-info", "-W"])
        .arg(fx.root("/app/native/libuser.so"))
        .output()
        .expect("readelf runs");
    let versions = String::from_utf8_lossy(&readelf.stdout).into_owned();
    assert!(versions.contains("GLIBC_2.34"), "{versions}");
    fx.root("/app")
}

#[test]
fn symbol_versions_over_the_runtimes_glibc_name_the_object_and_the_ceiling() {
    let fx = Fixture::new();
    let app = glibc_234_user(&fx);
    let (scan, text) = scan_dir(&app, "python3.11");
    assert!(!scan.loads());
    let env = env_for("python3.11");
    assert_eq!(
        app::report::diagnostics(&scan, &env)[0].message,
        "native/libuser.so needs GLIBC_2.34 from libc.so.6; python3.11 (Amazon Linux 2) provides up to GLIBC_2.26"
    );
    insta::assert_snapshot!(text);
    let (scan, text) = scan_dir(&app, "python3.12");
    assert!(scan.loads(), "{text}");
}

#[test]
fn a_missing_library_fails_the_scan_with_exit_1_and_json_names_the_chain() {
    let fx = Fixture::new();
    let app = wheel(&fx, true);
    let out = fx.layerc(&[
        "scan",
        app.to_str().unwrap(),
        "--runtime",
        "python3.12",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["loads"], false);
    assert_eq!(
        report["failures"][0]["chain"],
        serde_json::json!(["pkg/mod.so", "liba.so.1", "libb.so.1"])
    );
    assert_eq!(report["diagnostics"][0]["code"], "app::needed-not-found");

    let other = Fixture::new();
    let ok = wheel(&other, false);
    let out = fx.layerc(&["scan", ok.to_str().unwrap(), "--runtime", "python3.12"]);
    assert_loads(&out);
}

#[test]
fn a_zip_written_by_info_zip_scans_like_its_folder() {
    let Some(()) = crate::tier::oracle(&["zip"]) else {
        return;
    };
    let fx = Fixture::new();
    let app = wheel(&fx, true);
    fx.symlink_root("/app/pkg.libs/liba.so", "liba.so.1");
    let zip = fx.path().join("app.zip");
    let status = Command::new("zip")
        .args(["-q", "-r", "-y"])
        .arg(&zip)
        .arg(".")
        .current_dir(&app)
        .status()
        .expect("zip runs");
    assert!(status.success());
    let (from_dir, dir_text) = scan_dir(&app, "python3.12");
    let (from_zip, zip_text) = scan_dir(&zip, "python3.12");
    assert_eq!(from_dir.failures, from_zip.failures);
    assert_eq!(dir_text, zip_text);
    assert_eq!(from_zip.files.objects.len(), 3);
}

#[test]
fn unusable_arguments_exit_2() {
    let fx = Fixture::new();
    let missing = fx.layerc(&["scan", "nothing-here", "--runtime", "python3.12"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot open the application nothing-here"));
    fx.write("app/readme.txt", "no code");
    let unknown = fx.layerc(&["scan", "app", "--runtime", "python3.99"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown runtime `python3.99`"));
    let not_zip = fx.layerc(&["scan", "app/readme.txt", "--runtime", "python3.12"]);
    assert_eq!(not_zip.status.code(), Some(2), "{}", stderr(&not_zip));
    assert!(stderr(&not_zip).contains("not a readable zip archive"));
}

/// A zip written by Python's `zipfile` with names and links that point outside the archive, and an
/// entry that inflates past any deployment package: none escapes, nothing is inflated past the
/// limit.
#[test]
fn a_hostile_zip_cannot_escape_or_hang() {
    let Some(()) = crate::tier::oracle(&["python3"]) else {
        return;
    };
    let fx = Fixture::new();
    // The real file a `..` name or an escaping link would reach, were they followed on the host.
    fx.lib("/outside/libgone.so.1", "libgone.so.1", "gone");
    let app = fx.root("/app");
    fx.cc_lib(
        "/app/mod.so",
        "mod.so",
        &c_calls("init", "gone"),
        &["/outside/libgone.so.1"],
        &["-Wl,-rpath,$ORIGIN/lib:$ORIGIN/../outside"],
    );
    let zip = fx.path().join("hostile.zip");
    let script = r#"
import sys, zipfile, stat
app, out, outside = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(app + "/mod.so", "mod.so")
    z.write(outside, "../../outside/libgone.so.1")
    z.write(outside, "lib/../../libgone.so.1")
    link = zipfile.ZipInfo("lib/libgone.so.1")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(link, "../../../../outside/libgone.so.1")
    loop = zipfile.ZipInfo("lib/loop")
    loop.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(loop, "loop")
    with z.open("zz-bomb.so", "w", force_zip64=True) as bomb:
        bomb.write(b"\x7fELF")
        chunk = bytes(1 << 20)
        for _ in range(251):
            bomb.write(chunk)
"#;
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&app)
        .arg(&zip)
        .arg(fx.root("/outside/libgone.so.1"))
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let started = std::time::Instant::now();
    let (scan, text) = scan_dir(&zip, "provided.al2023");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(chains(&scan), ["mod.so → libgone.so.1"], "{text}");
    // The entry that unzips past Lambda's limit stops the walk before a byte of it is inflated.
    assert!(
        scan.files.truncated && scan.files.broken.is_empty(),
        "{text}"
    );
    // The CLI says the same, exit 1, and names the entries it left out.
    let out = fx.layerc(&["scan", "hostile.zip", "--runtime", "provided.al2023"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("app::too-large"), "{err}");
    assert!(
        err.contains("warning: hostile.zip: 2 entries left out of the scan")
            && err.contains("`../../outside/libgone.so.1`, `../libgone.so.1`"),
        "{err}"
    );
}

#[test]
fn the_layers_of_a_spec_are_unpacked_at_opt_and_fix_the_scan() {
    let fx = Fixture::new();
    let app = wheel(&fx, true);
    // The rootfs of the layer has the library the application misses.
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    fx.spec(
        "layer \"bundled\" {\n    runtime \"python3.12\"\n    rootfs \"rootfs\"\n    library \"libb.so.1\"\n}\n\nfunction \"Render\" {\n    layer \"bundled\"\n    ld-library-path \"keep\"\n}\n",
    );
    let app = app.to_str().unwrap();
    let args = ["scan", app, "--runtime", "python3.12", "--format", "json"];
    let out = fx.layerc(&[&args[..], &["--spec", "layer.kdl"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["layers"], serde_json::json!(["bundled"]));
    assert_eq!(report["ld_library_path"][0], "/opt/lib");
    // A function whose mode keeps the runtime's path: /opt/lib is on it anyway (the runtime's
    // default ends with it), so the layer still serves.
    let out = fx.layerc(&[&args[..], &["--spec", "layer.kdl", "--function", "Render"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["ld_library_path"][0], "/var/lang/lib");
    // Without the spec, the same application does not load.
    let out = fx.layerc(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = fx.layerc(&[&args[..], &["--spec", "layer.kdl", "--function", "Rendr"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `Render`?"),
        "{}",
        stderr(&out)
    );
}

/// A FIFO where an object could be, and a symlink loop where a need is looked for: the walk and
/// the loader pass them over (the loader names the loop), never blocking on them.
#[test]
fn fifos_and_symlink_loops_in_an_application_never_block() {
    let fx = Fixture::new();
    fx.lib("/gone/libloop.so.1", "libloop.so.1", "looped");
    fx.cc_lib(
        "/app/mod.so",
        "mod.so",
        &c_calls("init", "looped"),
        &["/gone/libloop.so.1"],
        &[],
    );
    fx.symlink_root("/app/lib/libloop.so.1", "libloop.so.1");
    let fifo = fx.root("/app/lib/fifo.so");
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let (scan, text) = scan_dir(&fx.root("/app"), "provided.al2023");
    assert_eq!(chains(&scan), ["mod.so → libloop.so.1"], "{text}");
    assert!(text.contains("it is a symlink loop"), "{text}");
    assert_eq!(scan.files.objects.len(), 1);
}
