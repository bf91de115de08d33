//! `layerc runtime scan` of a root filesystem built here, `runtime-file` and `target-rootfs` that
//! use its description, and `layerc runtime diff`.

use std::fs;
use std::process::Command;

use layerc::arch::Architecture;
use layerc::runtime::Catalog;

use crate::common::*;

/// Compiles a stand-in runtime library with a version script into the target rootfs (`target/`).
fn versioned_lib(fx: &Fixture, inside: &str, soname: &str, script: &str) {
    let out = fx
        .path()
        .join("target")
        .join(inside.trim_start_matches('/'));
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let map = fx.write(&format!("src/{soname}.map"), script);
    let src = fx.write(
        &format!("src/{soname}.c"),
        "int a(void){return 1;}\nint b(void){return 2;}\n",
    );
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-nostdlib", "-o"])
        .arg(&out)
        .arg(&src)
        .arg(format!("-Wl,-soname,{soname}"))
        .arg(format!("-Wl,--version-script={}", map.display()))
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {soname}");
}

/// A rootfs that imitates provided.al2023 on x86_64: every name of the catalog's listing in
/// /usr/lib64 (/lib64 links there), with real libc, libstdc++ and libgcc_s stand-ins whose version
/// definitions top out where Amazon Linux 2023's do.
pub(crate) fn al2023_lookalike(fx: &Fixture) {
    let lib64 = fx.path().join("target/usr/lib64");
    fs::create_dir_all(&lib64).unwrap();
    std::os::unix::fs::symlink("usr/lib64", fx.path().join("target/lib64")).unwrap();
    let os = Catalog::builtin().os("al2023").unwrap();
    for listing in os
        .listings
        .iter()
        .filter(|l| l.architectures.contains(&Architecture::X86_64))
    {
        for name in &listing.sonames {
            fs::write(lib64.join(name), b"").unwrap();
        }
    }
    versioned_lib(
        fx,
        "/usr/lib64/libc.so.6",
        "libc.so.6",
        "GLIBC_2.2.5 { global: a; local: *; };\nGLIBC_2.34 { global: b; } GLIBC_2.2.5;\n",
    );
    versioned_lib(
        fx,
        "/usr/lib64/libstdc++.so.6",
        "libstdc++.so.6",
        "GLIBCXX_3.4 { global: a; local: *; };\nGLIBCXX_3.4.33 { } GLIBCXX_3.4;\nCXXABI_1.3 { };\nCXXABI_1.3.15 { global: b; } CXXABI_1.3;\nCXXABI_TM_1 { };\n",
    );
    versioned_lib(
        fx,
        "/usr/lib64/libgcc_s.so.1",
        "libgcc_s.so.1",
        "GCC_3.0 { global: a; local: *; };\nGCC_14.0.0 { global: b; } GCC_3.0;\n",
    );
}

fn ld_library_path(id: &str) -> String {
    Catalog::builtin()
        .runtime(id)
        .unwrap()
        .ld_library_path
        .join(":")
}

/// Libraries whose validation depends on the runtime: one needing libnsl.so.1 (shipped on
/// Amazon Linux 2023), one needing libz.so.1 (provided), one needing GLIBCXX_3.4.34 (too new).
pub(crate) fn source_libraries(fx: &Fixture) {
    fx.lib("/usr/lib64/libnsl.so.1", "libnsl.so.1", "nsl_fn");
    fx.lib("/usr/lib64/libz.so.1", "libz.so.1", "z_fn");
    fx.cc_lib(
        "/usr/lib64/libapp.so.1",
        "libapp.so.1",
        "extern int nsl_fn(void);\nextern int z_fn(void);\nint app(void){return nsl_fn()+z_fn();}\n",
        &["/usr/lib64/libnsl.so.1", "/usr/lib64/libz.so.1"],
        &[],
    );
    fx.glibcxx_user("3.4.34");
}

/// What validation concluded, without the OS name messages carry: codes, spans, zip entries.
fn outcome(
    fx: &Fixture,
    target: &str,
) -> (Vec<(String, Option<layerc::diagnostic::Span>)>, Vec<String>) {
    fx.spec(&format!(
        "layer \"app\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libapp.so.1\"\n    library \"libcxxuser.so.1\"\n{target}}}\n"
    ));
    let a = fx.analyze();
    let diags = a
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str().to_string(), d.span))
        .collect();
    let paths = match a.layers.first() {
        Some(_) => plan_paths(&a).iter().map(|p| p.to_string()).collect(),
        None => Vec::new(),
    };
    (diags, paths)
}

#[test]
fn a_scanned_lookalike_round_trips_and_validates_like_the_builtin_entry() {
    let fx = Fixture::new();
    al2023_lookalike(&fx);
    source_libraries(&fx);
    let path = ld_library_path("provided.al2023");
    let out = fx.layerc(&[
        "runtime",
        "scan",
        "target",
        "--name",
        "provided.al2023",
        "--base-id",
        "al2023",
        "--ld-library-path",
        &path,
        "--out",
        "al2023.kdl",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(fx.path().join("al2023.kdl")).unwrap();
    assert!(
        text.contains("GLIBCXX \"3.4.33\"") && text.contains("CXXABI \"1.3.15\""),
        "{text}"
    );
    assert!(!text.contains("CXXABI_TM"), "{text}");
    // The description provides exactly what the catalog entry does, with the same ceilings.
    let diff = stdout(&fx.layerc(&["runtime", "diff", "provided.al2023", "al2023.kdl"]));
    assert_eq!(diff.matches("(0):").count(), 2, "{diff}");
    assert!(!diff.contains("differs"), "{diff}");
    // Validation against the built-in entry, the file and the rootfs itself agree.
    let builtin = outcome(&fx, "");
    assert_eq!(
        builtin.0.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        ["abi::symbol-version"]
    );
    assert!(
        builtin.1.contains(&"lib/libnsl.so.1".to_string()),
        "{:?}",
        builtin.1
    );
    assert!(!builtin.1.contains(&"lib/libz.so.1".to_string()));
    assert_eq!(outcome(&fx, "    runtime-file \"al2023.kdl\"\n"), builtin);
    assert_eq!(outcome(&fx, "    target-rootfs \"target\"\n"), builtin);
}

#[test]
fn an_image_scans_like_its_folder() {
    let fx = Fixture::new();
    al2023_lookalike(&fx);
    // A flat export, as `docker export` writes it, made by GNU tar from the same folder.
    let status = Command::new("tar")
        .args(["-czf", "target.tar.gz", "-C", "target", "."])
        .current_dir(fx.path())
        .status()
        .expect("tar runs");
    assert!(status.success());
    let scan = |from: &str| {
        let out = fx.layerc(&["runtime", "scan", from, "--name", "x"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        // Only the `source` lines name what was scanned.
        stdout(&out).replace(from, "ROOTFS")
    };
    let folder = scan("target");
    assert!(folder.contains("soname \"libz.so.1\""), "{folder}");
    assert_eq!(scan("target.tar.gz"), folder);
}

#[test]
fn a_description_decides_what_is_provided() {
    let fx = Fixture::new();
    al2023_lookalike(&fx);
    source_libraries(&fx);
    // This image has libnsl.so.1 after all: with its description, the layer does not ship it.
    fs::write(fx.path().join("target/usr/lib64/libnsl.so.1"), b"").unwrap();
    let (_, paths) = outcome(&fx, "    target-rootfs \"target\"\n");
    assert!(!paths.contains(&"lib/libnsl.so.1".to_string()), "{paths:?}");
}

#[test]
fn unusable_descriptions_are_errors_at_their_node() {
    let fx = Fixture::new();
    source_libraries(&fx);
    fx.write("broken.kdl", "os \"x\" {\n    glibc \"2.34\"\n}\n");
    for (target, needle) in [
        ("    runtime-file \"missing.kdl\"\n", "cannot read"),
        (
            "    runtime-file \"broken.kdl\"\n",
            "needs one `os` and one `runtime` node",
        ),
        (
            "    target-rootfs \"rootfs/usr\"\n",
            "no libc.so.6 for x86_64",
        ),
    ] {
        let (diags, paths) = outcome(&fx, target);
        assert_eq!(diags.len(), 1, "{target}: {diags:?}");
        assert_eq!(diags[0].0, "spec::runtime-description");
        assert!(paths.is_empty());
        let a = fx.analyze();
        assert!(
            a.diagnostics[0].message.contains(needle),
            "{}",
            a.diagnostics[0].message
        );
        assert_eq!(a.exit_code(), 1);
    }
    insta::assert_snapshot!(rendered(&{
        outcome(&fx, "    runtime-file \"missing.kdl\"\n");
        fx.analyze()
    }));
}

#[test]
fn scan_refuses_a_rootfs_without_libc() {
    let fx = Fixture::new();
    let out = fx.layerc(&["runtime", "scan", "rootfs", "--name", "x"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no libc.so.6 for x86_64"),
        "{}",
        stderr(&out)
    );
    let out = fx.layerc(&[
        "runtime", "scan", "nowhere", "--name", "x", "--out", "x.kdl",
    ]);
    assert_eq!(code(&out), 2);
    assert!(!fx.path().join("x.kdl").exists());
}

#[test]
fn diff_of_amazon_linux_1_and_2_runtimes() {
    let fx = Fixture::new();
    let out = fx.layerc(&["runtime", "diff", "dotnetcore2.1", "dotnetcore3.1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let (al2_lacks, rest) = text
        .split_once("provided by dotnetcore3.1, lacking in dotnetcore2.1")
        .unwrap();
    let lacks = |s: &str| al2_lacks.lines().any(|l| l.trim() == s);
    assert!(lacks("libcairo.so.2"), "{text}");
    // The listings dumped inside Lambda show fontconfig on Amazon Linux 2 since 2023 (2026 dump),
    // so it is not among what Amazon Linux 2 lacks, although the 2019 listing lacked it.
    assert!(!lacks("libfontconfig.so.1"), "{text}");
    assert!(
        rest.contains("GLIBC    2.17       2.26       differs"),
        "{text}"
    );
    let unknown = fx.layerc(&["runtime", "diff", "dotnetcore2.1", "dotnetcore3.2"]);
    assert_eq!(code(&unknown), 2);
    assert!(stderr(&unknown).contains("did you mean `dotnetcore3.1`?"));
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}
