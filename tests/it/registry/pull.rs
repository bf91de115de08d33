//! Pulling by reference gives the bytes of the image pushed; the lock pins it; the store serves it
//! offline.

use std::fs;

use super::{
    Registry, build, built, layerc, local_zip, locked, oci, report, spec_of, spec_with,
    tools_or_skip, with_base,
};
use crate::common::Fixture;

#[test]
fn a_reference_builds_the_zip_of_the_layout_it_was_pushed_from() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    fx.spec(&spec_of(&registry.reference("fx/base:1"), "x86_64"));
    let (out, zip) = build(&fx, &[]);
    assert!(out.status.success(), "{}", report(&out));
    let zip = zip.expect("a zip");
    assert!(
        zip == local_zip("oci"),
        "the pulled image gives another zip"
    );
    assert!(
        zip == local_zip("docker-archive.tar"),
        "docker save gives another zip"
    );
    // The lock names the reference and the digests it resolved to.
    let lock = fs::read_to_string(fx.path().join("layer.lock")).unwrap();
    let line = lock
        .lines()
        .find(|l| l.trim_start().starts_with("rootfs"))
        .unwrap();
    assert!(line.contains(&registry.reference("fx/base:1")), "{lock}");
    assert!(
        line.contains("index=\"sha256:") && line.contains("manifest=\"sha256:"),
        "{lock}"
    );
}

#[test]
fn a_warm_store_builds_with_the_registry_gone() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    let reference = registry.reference("fx/base:1");
    let first = built(&fx, &reference, &[]);
    let manifest = locked(&fx, "manifest");
    drop(registry);
    // By tag: the digest the tag named last, with a warning that the tag was not checked.
    fs::remove_dir_all(fx.path().join("out")).unwrap();
    let (out, again) = build(&fx, &[]);
    let text = report(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("rootfs::offline"), "{text}");
    assert!(again.as_ref() == Some(&first));
    // `--locked` pulls the locked digest from the store.
    let out = layerc(&fx, &["build", "--locked", "--out", "out"], &[]);
    assert!(out.status.success(), "{}", report(&out));
    // By digest nothing is asked at all; `LAYERC_OFFLINE` forbids asking.
    let by_digest = format!("{}@{manifest}", reference.rsplit_once(':').unwrap().0);
    fx.spec(&spec_of(&by_digest, "x86_64"));
    let (out, pinned) = build(&fx, &[("LAYERC_OFFLINE", "1")]);
    let text = report(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("rootfs::offline"), "{text}");
    assert!(pinned.as_ref() == Some(&first));
}

#[test]
fn a_second_spec_naming_the_image_fetches_no_blob() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    built(&fx, &registry.reference("fx/base:1"), &[]);
    // The registry's blobs are gone; its manifests stay, so only the tag can be asked.
    let blobs = registry.storage.join("docker/registry/v2/blobs/sha256");
    let layer_count = fs::read_dir(&blobs).unwrap().count();
    assert!(layer_count >= 3);
    for entry in fs::read_dir(&blobs).unwrap().flatten() {
        for blob in fs::read_dir(entry.path()).unwrap().flatten() {
            let data = blob.path().join("data");
            let bytes = fs::read(&data).unwrap();
            if !bytes.starts_with(b"{") {
                fs::remove_file(&data).unwrap();
            }
        }
    }
    let other = Fixture::new();
    let cache = fx.path().join("cache");
    let zip = built(
        &other,
        &registry.reference("fx/base:1"),
        &[("LAYERC_CACHE", cache.to_str().unwrap())],
    );
    assert!(zip == local_zip("oci"));
}

#[test]
fn a_multi_platform_reference_gives_each_architecture_its_manifest() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = Registry::start(fx.path(), &fx.path().join("storage"), "", None);
    registry.push(&oci("multi", ""), "fx/multi:1", true);
    let reference = registry.reference("fx/multi:1");
    assert!(built(&fx, &reference, &[]) == local_zip("oci"));
    // arm64 reads the arm64 image, as the local multi-platform layout does.
    let outcome = |rootfs: &str| {
        fx.spec(&spec_with(rootfs, "arm64"));
        let out = layerc(&fx, &["check", "--format", "json"], &[]);
        let codes: Vec<String> = super::stdout(&out)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|d| d["code"].as_str().map(str::to_string))
            .collect();
        (out.status.code(), codes)
    };
    let local = crate::images::tools::images().path("multi");
    let from_registry = outcome(&format!("\"{reference}\" tls-verify=#false"));
    assert_eq!(from_registry, outcome(&format!("\"{}\"", local.display())));
    assert_eq!(from_registry.0, Some(1), "{from_registry:?}");
    assert_ne!(
        locked(&fx, "index"),
        locked(&fx, "manifest"),
        "an index and its platform manifest"
    );
}

#[test]
fn a_tag_pushed_again_is_lock_drift_naming_both_digests() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = with_base(&fx);
    built(&fx, &registry.reference("fx/base:1"), &[]);
    let locked = locked(&fx, "index");
    let zip_before = fs::read(fx.path().join("out/fx.zip")).unwrap();
    // The tag now names the image whose second layer deletes libbar.
    registry.push(&oci("deleted", "deleted"), "fx/base:1", false);
    let out = layerc(
        &fx,
        &["build", "--locked", "--out", "out", "--format", "json"],
        &[],
    );
    let text = report(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("lock::image"), "{text}");
    assert!(text.contains(&locked), "{text}");
    let moved = text
        .split("now names ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap();
    assert!(moved.starts_with("sha256:") && moved != locked, "{text}");
    assert_eq!(fs::read(fx.path().join("out/fx.zip")).unwrap(), zip_before);
    // `layerc lock` takes the new image: it has errors (libbar is gone), so nothing is written.
    let out = layerc(&fx, &["lock"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    // Pushed back, the tag names the locked digest again.
    registry.push(&oci("oci", "base"), "fx/base:1", false);
    let out = layerc(&fx, &["build", "--locked", "--out", "out"], &[]);
    assert!(out.status.success(), "{}", report(&out));
}

#[test]
fn a_target_rootfs_reference_validates_like_its_folder() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    crate::runtime_scan::al2023_lookalike(&fx);
    crate::runtime_scan::source_libraries(&fx);
    let layout = fx.path().join("target-image");
    super::umoci_image_of(&fx.path().join("target"), &layout);
    let registry = Registry::start(fx.path(), &fx.path().join("storage"), "", None);
    registry.push(
        &format!("oci:{}:t", layout.display()),
        "lambda/al2023:1",
        false,
    );
    let reference = registry.reference("lambda/al2023:1");
    let outcome = |target: &str| {
        fx.spec(&format!(
            "layer \"app\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libapp.so.1\"\n    library \"libcxxuser.so.1\"\n    target-rootfs {target}\n}}\n"
        ));
        let check = layerc(&fx, &["check", "--format", "json"], &[]);
        let codes: Vec<String> = super::stdout(&check)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|d| d["code"].as_str().map(str::to_string))
            .collect();
        let graph = layerc(&fx, &["graph", "--format", "json"], &[]);
        (check.status.code(), codes, super::stdout(&graph))
    };
    let folder = outcome("\"target\"");
    let pulled = outcome(&format!("\"{reference}\" tls-verify=#false"));
    assert_eq!(pulled, folder);
    assert_eq!(folder.1, ["abi::symbol-version"]);
    // What the target provides is not shipped: libz is in its listing, libnsl is not.
    assert!(folder.2.contains("\"provided\""), "{}", folder.2);
    // `runtime scan` and `runtime diff` take the reference as they take the folder.
    let scan = |from: &str| {
        let out = layerc(
            &fx,
            &["runtime", "scan", from, "--name", "x", "--tls-verify=false"],
            &[],
        );
        assert!(out.status.success(), "{}", report(&out));
        super::stdout(&out).replace(from, "ROOTFS")
    };
    assert_eq!(scan(&reference), scan("target"));
    let diff = |b: &str| {
        let out = layerc(
            &fx,
            &[
                "runtime",
                "diff",
                "provided.al2023",
                b,
                "--tls-verify=false",
            ],
            &[],
        );
        assert!(out.status.success(), "{}", report(&out));
        super::stdout(&out).replace(b, "B")
    };
    assert_eq!(diff(&reference), diff("target"));
}
