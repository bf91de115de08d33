//! The fuzz targets' checks (`fuzz/src/lib.rs`, included here) replayed on their seeds and on the
//! inputs fuzzing kept (`fuzz/regressions/<target>/`: crashes found and fixed, and a minimised
//! corpus), so `cargo test` guards what fuzzing found without nightly or libFuzzer.

// The fuzz crate's API is public to its targets.
#[allow(unreachable_pub)]
#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target}");
}

#[test]
fn spec_front_end_inputs() {
    replay("spec", harness::spec);
}

#[test]
fn elf_reader_inputs() {
    replay("elf", harness::elf);
}

#[test]
fn rootfs_resolver_inputs() {
    replay("rootfs_resolve", harness::rootfs_resolve);
}

/// The kernel's lookup (`openat2(RESOLVE_IN_ROOT)`) and the walk on a real folder agree with the
/// walk over the in-memory tree on every resolver input: loops, `..` at the root, re-rooted
/// absolute targets.
#[test]
fn kernel_lookups_match_the_walk() {
    replay("rootfs_resolve", harness::rootfs_kernel);
}

#[test]
fn image_reader_inputs() {
    replay("image", harness::image);
}

#[test]
fn dotnet_reader_inputs() {
    replay("dotnet", harness::dotnet);
}

#[test]
fn package_payload_inputs() {
    replay("package_payload", harness::package_payload);
}

#[test]
fn package_index_inputs() {
    replay("package_index", harness::package_index);
}
