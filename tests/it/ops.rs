//! `layerc::ops::build` run as a library user runs it, without the command line: the same
//! outputs `layerc build` writes, and nothing at all when it fails.

use std::fs;

use layerc::Stores;
use layerc::emit::zip::{Compression, ZipOptions};
use layerc::ops::{BuildError, BuildOptions};
use layerc::runtime::Catalog;

use crate::common::*;

const SPEC: &str = "layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n}\n";

fn options(locked: bool, warn: &dyn Fn(String)) -> BuildOptions<'_> {
    BuildOptions {
        out: None,
        zip: ZipOptions::new(layerc::emit::zip::timestamp(None), Compression::Default),
        locked,
        stores: Stores::default(),
        warn,
    }
}

#[test]
fn the_library_builds_what_the_command_line_builds() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec(SPEC);
    let warn = |w: String| panic!("unexpected warning: {w}");
    let built = layerc::ops::build(&fx.analyze(), Catalog::builtin(), &options(false, &warn))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(built.lock_written);
    assert_eq!(built.lock_path, fx.path().join("layer.lock"));
    assert_eq!(built.report.zips.len(), 1);
    let ours = fs::read(&built.report.zips[0].path).unwrap();
    // The command line, from the same spec, writes the same bytes and the same lock.
    let lock = fs::read(fx.path().join("layer.lock")).unwrap();
    let out = fx.layerc(&["build", "--out", "cli"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::read(fx.path().join("cli/hello.zip")).unwrap() == ours);
    assert!(fs::read(fx.path().join("layer.lock")).unwrap() == lock);
}

#[test]
fn a_locked_build_that_drifted_writes_nothing_and_removes_the_folders_it_made() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec(SPEC);
    let out = fx.layerc(&["lock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lock = fs::read(fx.path().join("layer.lock")).unwrap();
    // The library changes after the lock recorded it.
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello_again");
    let warn = |w: String| panic!("unexpected warning: {w}");
    let mut locked = options(true, &warn);
    locked.out = Some(fx.path().join("deep/out"));
    let analysis = fx.analyze();
    let Err(e) = layerc::ops::build(&analysis, Catalog::builtin(), &locked) else {
        panic!("a drifted --locked build succeeded");
    };
    assert!(
        matches!(e, BuildError::Drift(ref d) if !d.is_empty()),
        "{e}"
    );
    assert_eq!(e.exit_code(&analysis), 1);
    assert!(
        !fx.path().join("deep").exists(),
        "{:?}",
        files_under(fx.path())
    );
    assert!(fs::read(fx.path().join("layer.lock")).unwrap() == lock);
}
