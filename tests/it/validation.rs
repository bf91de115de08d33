//! ABI, lifecycle and limit checks on compiled fixtures with real symbol versions.

use std::fs;

use crate::common::*;

/// A stand-in libc.so.6 defining GLIBC_2.2.5 and GLIBC_2.34 through a version script, and a library
/// that calls the 2.34 symbol: the same version needs a real glibc 2.34 build records.
pub(crate) fn glibc_234_fixture(fx: &Fixture) {
    let map = fx.write(
        "src/libc.map",
        "GLIBC_2.2.5 { global: old_fn; local: *; };\nGLIBC_2.34 { global: new_fn; } GLIBC_2.2.5;\n",
    );
    fx.cc_lib(
        "/usr/lib64/libc.so.6",
        "libc.so.6",
        "int old_fn(void) { return 1; }\nint new_fn(void) { return 2; }\n",
        &[],
        &[
            "-nostdlib",
            &format!("-Wl,--version-script={}", map.display()),
        ],
    );
    fx.cc_lib(
        "/usr/lib64/libnew.so.1",
        "libnew.so.1",
        "extern int new_fn(void);\nint uses(void) { return new_fn(); }\n",
        &["/usr/lib64/libc.so.6"],
        &["-nostdlib"],
    );
}

fn spec_for(fx: &Fixture, runtime: &str, body: &str) {
    fx.spec(&format!(
        "layer \"fx\" {{\n    runtime \"{runtime}\"\n    rootfs \"rootfs\"\n{body}}}\n"
    ));
}

#[test]
fn glibc_234_is_refused_for_amazon_linux_2_and_accepted_for_al2023() {
    let fx = Fixture::new();
    glibc_234_fixture(&fx);
    spec_for(&fx, "provided.al2", "    library \"libnew.so.1\"\n");
    let a = fx.analyze();
    // provided.al2 is past its deprecation date on the fixed test date: a warning beside the error.
    assert_eq!(codes(&a), ["abi::symbol-version", "lifecycle::deprecated"]);
    let message = &a.diagnostics[0].message;
    assert!(
        message.contains("GLIBC_2.34") && message.contains("GLIBC_2.26"),
        "{message}"
    );
    insta::assert_snapshot!(rendered(&a));

    spec_for(&fx, "provided.al2023", "    library \"libnew.so.1\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(plan_paths(&a), ["lib/libnew.so.1"]);
}

#[test]
fn glibcxx_ceiling_is_checked() {
    let fx = Fixture::new();
    fx.glibcxx_user("3.4.34");
    spec_for(&fx, "provided.al2023", "    library \"libcxxuser.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["abi::symbol-version"]);
    assert!(a.diagnostics[0].message.contains("needs GLIBCXX_3.4.34 from libstdc++.so.6; provided.al2023 (Amazon Linux 2023) provides up to GLIBCXX_3.4.33"), "{}", a.diagnostics[0].message);
}

#[test]
fn versions_between_shipped_objects_are_checked() {
    let fx = Fixture::new();
    // Link against a libdep that defines DEP_2.0, then ship an older libdep with DEP_1.0 only.
    let new_map = fx.write(
        "src/dep2.map",
        "DEP_1.0 { global: one; local: *; };\nDEP_2.0 { global: two; } DEP_1.0;\n",
    );
    let old_map = fx.write("src/dep1.map", "DEP_1.0 { global: one; two; local: *; };\n");
    fx.cc_lib(
        "/build/libdep.so.1",
        "libdep.so.1",
        "int one(void){return 1;}\nint two(void){return 2;}\n",
        &[],
        &[&format!("-Wl,--version-script={}", new_map.display())],
    );
    fx.cc_lib(
        "/usr/lib64/libuser.so.1",
        "libuser.so.1",
        &c_calls("user", "two"),
        &["/build/libdep.so.1"],
        &[],
    );
    fx.cc_lib(
        "/usr/lib64/libdep.so.1",
        "libdep.so.1",
        "int one(void){return 1;}\nint two(void){return 2;}\n",
        &[],
        &[&format!("-Wl,--version-script={}", old_map.display())],
    );
    spec_for(&fx, "provided.al2023", "    library \"libuser.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["abi::missing-version"], "{}", rendered(&a));
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn wrong_architecture_is_refused_naming_both() {
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libarm.so.1", "libarm.so.1", "arm");
    let mut bytes = fs::read(&lib).unwrap();
    bytes[18] = 183; // EM_AARCH64
    bytes[19] = 0;
    fs::write(&lib, bytes).unwrap();
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"/usr/lib64/libarm.so.1\"\n",
    );
    let a = fx.analyze();
    assert_eq!(codes(&a), ["abi::architecture"]);
    let m = &a.diagnostics[0].message;
    assert!(m.contains("arm64") && m.contains("x86_64"), "{m}");
    insta::assert_snapshot!("arch_by_path", rendered(&a));

    // By soname the arm64 copy is passed over by the search and reported the same way.
    spec_for(&fx, "provided.al2023", "    library \"libarm.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["abi::architecture"]);
    insta::assert_snapshot!("arch_by_soname", rendered(&a));

    // And it is accepted for an arm64 layer.
    spec_for(
        &fx,
        "provided.al2023",
        "    architecture \"arm64\"\n    library \"libarm.so.1\"\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
}

#[test]
fn absolute_rpath_shadowing_the_runtime_is_reported() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libdep.so.1", "libdep.so.1", "dep");
    fx.cc_lib(
        "/usr/lib64/libuser.so.1",
        "libuser.so.1",
        &c_calls("user", "dep"),
        &["/usr/lib64/libdep.so.1"],
        &["-Wl,--disable-new-dtags", "-Wl,-rpath,/usr/lib64"],
    );
    spec_for(&fx, "provided.al2023", "    library \"libuser.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["abi::rpath-shadow"]);
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn deprecated_runtimes_warn_with_dates_and_successor_but_never_fail() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libgdiplus.so.0", "libgdiplus.so.0", "gdip");
    spec_for(&fx, "dotnetcore3.1", "    library \"libgdiplus.so.0\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["lifecycle::deprecated"]);
    assert_eq!(a.exit_code(), 0);
    insta::assert_snapshot!(rendered(&a));
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fx.path().join("build/fx.zip").exists());
}

#[test]
fn unzipped_size_limit_is_an_error() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    // A sparse 300 MB file: no disk used, but its size counts.
    let big = fs::File::create(fx.root("/data/big.bin")).or_else(|_| {
        fs::create_dir_all(fx.root("/data")).unwrap();
        fs::File::create(fx.root("/data/big.bin"))
    });
    big.unwrap().set_len(300_000_000).unwrap();
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libhello.so.1\"\n    file \"/data/big.bin\" to=\"data/big.bin\"\n",
    );
    let a = fx.analyze();
    assert_eq!(codes(&a), ["limits::unzipped-size"]);
    // The exact total depends on the compiler's output size for the small library.
    insta::with_settings!({filters => vec![(r"unzips to \d+ bytes", "unzips to [SIZE] bytes")]}, {
        insta::assert_snapshot!(rendered(&a));
    });
}

#[test]
fn unreadable_files_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o750)).unwrap();
    spec_for(&fx, "provided.al2023", "    library \"libhello.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["limits::not-world-readable"]);
    assert!(a.diagnostics[0].message.contains("0750"));
}

#[test]
fn a_real_host_library_built_against_glibc_234_is_refused_for_amazon_linux_2() {
    // Debian 12's libxml2 needs GLIBC_2.34 symbols; Amazon Linux 2 has glibc 2.26 and no libxml2.
    // A real library no one here built: the oracle tier's.
    let Some(()) = crate::tier::oracle(&[]) else {
        return;
    };
    let lib = "/usr/lib/x86_64-linux-gnu/libxml2.so.2";
    assert!(
        std::path::Path::new(lib).exists(),
        "this machine lacks {lib}"
    );
    let fx = Fixture::new();
    fx.spec(&format!(
        "layer \"xml\" {{\n    runtime \"python3.11\"\n    rootfs \"/\"\n    library \"{lib}\"\n}}\n"
    ));
    let a = fx.analyze();
    // The host's rootfs is newer than Amazon Linux 2: one headline for the namespace, each object
    // and the version it needs listed in a note.
    let refusal = a
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "abi::symbol-version" && d.message.contains("GLIBC versions"))
        .unwrap_or_else(|| panic!("{}", rendered(&a)));
    assert!(
        refusal
            .message
            .contains("python3.11 (Amazon Linux 2) provides up to GLIBC_2.26"),
        "{}",
        refusal.message
    );
    let note = refusal
        .notes
        .iter()
        .find(|n| n.starts_with("libxml2.so.2 needs GLIBC_"))
        .unwrap_or_else(|| panic!("{:?}", refusal.notes));
    assert!(note.contains("from libc.so.6"), "{note}");
    let codes: Vec<&str> = a.diagnostics.iter().map(|d| d.code.as_str()).collect();
    let glibc = a
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str() == "abi::symbol-version" && d.message.contains("GLIBC_"))
        .count();
    assert_eq!(glibc, 1, "one GLIBC headline: {codes:?}");
}

#[test]
fn zips_over_50_mb_warn_about_s3_upload() {
    let fx = Fixture::new();
    // 52 MB that deflate cannot shrink: a xorshift stream.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut data = vec![0u8; 52 * 1024 * 1024];
    for chunk in data.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    fx.write_root("/data/blob.bin", &data);
    fx.spec("layer \"big\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    file \"/data/blob.bin\" to=\"data/blob.bin\"\n}\n");
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("limits::zip-size"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("S3"), "{}", stderr(&out));
}
