//! JNI libraries inside jars: Debian's builds of sqlite-jdbc's and netty-tcnative's native
//! libraries (Maven Central is not reachable here; Debian ships the same libraries outside the
//! jars), packed at test time where the upstream jars carry them, beside a musl build that
//! sqlite-jdbc never loads on glibc. `layerc scan` must load each glibc build with the function's
//! search path, and report exactly the DT_NEEDED entries (read by binutils' `readelf -d`) that
//! the runtime does not provide.

use std::path::Path;
use std::process::Command;

use layerc::arch::Architecture;
use layerc::runtime::Catalog;

use crate::app_artifacts::{failures, scan_json};
use crate::artifacts::{self, Pinned};
use crate::common::*;

const SQLITE_JNI: Pinned = Pinned {
    file: "libxerial-sqlite-jdbc-jni_3.40.1.0+dfsg-1+deb12u1_amd64.deb",
    sha256: "7cf23831eea9669a72a55fa2afc27cb02e6320efdf5a418620de6a279ff75a41",
};
const TCNATIVE_JNI: Pinned = Pinned {
    file: "libnetty-tcnative-jni_2.0.28-1+b1_amd64.deb",
    sha256: "ea6dc1d2740356547797cc8603612389033b21e657e51aa02b015baaf087ba64",
};

/// `readelf -d`'s NEEDED entries of `file`.
fn needed(file: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(file)
        .output()
        .unwrap();
    stdout(&out)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.trim_end_matches(']').to_string()))
        .collect()
}

#[test]
fn the_glibc_builds_inside_jars_are_loaded_with_the_functions_search_path() {
    let Some(sqlite) = artifacts::or_skip(
        "sqlite-jdbc's JNI library",
        artifacts::deb(
            "libxerial-sqlite-jdbc-jni",
            "3.40.1.0+dfsg-1+deb12u1",
            &SQLITE_JNI,
        ),
    ) else {
        return;
    };
    let Some(tcnative) = artifacts::or_skip(
        "netty-tcnative's JNI library",
        artifacts::deb("libnetty-tcnative-jni", "2.0.28-1+b1", &TCNATIVE_JNI),
    ) else {
        return;
    };
    let sqlite = sqlite.join("usr/lib/x86_64-linux-gnu/jni/libsqlitejdbc.so");
    let tcnative = tcnative.join("usr/lib/x86_64-linux-gnu/jni/libnetty-tcnative.so");
    let fx = Fixture::new();
    let jar_root = fx.path().join("jar");
    let entries = [
        ("org/sqlite/native/Linux/x86_64/libsqlitejdbc.so", &sqlite),
        (
            "org/sqlite/native/Linux-Musl/x86_64/libsqlitejdbc.so",
            &sqlite,
        ),
        (
            "META-INF/native/libnetty_tcnative_linux_x86_64.so",
            &tcnative,
        ),
    ];
    for (entry, file) in entries {
        let to = jar_root.join(entry);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, to).unwrap();
    }
    fx.write("jar/org/sqlite/JDBC.class", "not a library");
    std::fs::create_dir_all(fx.path().join("app/lib")).unwrap();
    let zip = Command::new("zip")
        .args(["-q", "-r", "../app/lib/app.jar", "."])
        .current_dir(&jar_root)
        .status()
        .expect("zip runs (apt-get install zip)");
    assert!(zip.success());
    let app = fx.path().join("app");
    let catalog = Catalog::builtin();
    for runtime in ["java21", "java8.al2"] {
        let rt = catalog.runtime(runtime).unwrap();
        let os = catalog.os(&rt.os).unwrap();
        let mut expected = Vec::new();
        for (entry, file) in [(entries[2].0, &tcnative), (entries[0].0, &sqlite)] {
            for need in needed(file) {
                if rt.provider(os, Architecture::X86_64, &need).is_none() {
                    expected.push(format!("needed-not-found: lib/app.jar!/{entry} → {need}"));
                }
            }
        }
        let (code, report) = scan_json(&app, runtime, &[]);
        let mut found: Vec<String> = failures(&report)
            .into_iter()
            .filter(|f| f.starts_with("needed-not-found"))
            .collect();
        found.sort();
        expected.sort();
        assert_eq!(found, expected, "{runtime}");
        assert!(
            !expected.is_empty(),
            "libapr-1.so.0 is on no Lambda runtime"
        );
        assert_eq!(code, 1);
    }
    let out = layerc_in(fx.path(), &["scan", "app", "--runtime", "java21"], &[]);
    assert!(
        stderr(&out).contains("(with 2 native librar(ies) from jars)"),
        "{}",
        stderr(&out)
    );
}
