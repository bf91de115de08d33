//! `layerc gc` trims pulled images least recently used first: a layout goes with the blobs, index
//! and tag only it keeps, a blob two images share is counted and kept once, and an image a
//! running process holds stays.

use std::time::Duration;

use super::{Registry, built, oci, tools_or_skip};
use crate::common::{Fixture, files_under};
use crate::gc_tools::{Editor, freed, gc, inodes, removed_size, used_ago};

/// Two images that share their base layer (`fx/base:1`, and `fx/opaque:1` with a layer more),
/// each built from its own folder into one store. The store's root and the two manifest digests.
fn two_images(fx: &Fixture, registry: &Registry) -> (std::path::PathBuf, String, String) {
    let store = fx.path().join("store");
    let env = [("LAYERC_CACHE", store.to_str().unwrap())];
    let mut manifests = Vec::new();
    for (name, from) in [
        ("fx/base:1", oci("oci", "base")),
        (
            "fx/opaque:1",
            format!("oci-archive:{}", oci_archive("opaque.tar")),
        ),
    ] {
        registry.push(&from, name, false);
        let dir = Fixture::new();
        built(&dir, &registry.reference(name), &env);
        manifests.push(super::locked(&dir, "manifest"));
    }
    (store, manifests.remove(0), manifests.remove(0))
}

fn oci_archive(name: &str) -> String {
    crate::images::tools::images()
        .path(name)
        .display()
        .to_string()
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

#[test]
fn gc_trims_pulled_images_and_counts_a_shared_blob_once() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = Registry::start(fx.path(), &fx.path().join("storage"), "", None);
    let (store, base, opaque) = two_images(&fx, &registry);
    let pulled = store.join("images/registry");
    let layouts = pulled.join("layouts");
    let blobs_of = |digest: &str| files_under(&layouts.join(hex(digest)).join("blobs"));
    let shared: Vec<String> = blobs_of(&base)
        .into_iter()
        .filter(|b| blobs_of(&opaque).contains(b))
        .collect();
    assert_eq!(shared.len(), 1, "the images share their base layer");
    // The base image is the least recently used entry of the store.
    used_ago(
        &layouts.join(format!("{}.used", hex(&base))),
        Duration::from_secs(7200),
    );
    let before = inodes(&pulled);
    // Two zips, two image indexes and two pulled images: keep five.
    let report = gc(&store, &["--keep", "5"]);
    let size = removed_size(&report, &format!("pulled image {base}"));
    assert!(report.contains(": 1 entries and"), "{report}");
    // Its size is what leaving it freed: its manifest, config and tag, not the shared layer.
    assert_eq!(size, freed(&before, &inodes(&pulled)), "{report}");
    assert!(!layouts.join(hex(&base)).exists());
    let left = files_under(&pulled.join("blobs"));
    assert!(left.contains(&shared[0]), "{left:?}");
    assert!(!left.iter().any(|b| b.ends_with(hex(&base))), "{left:?}");
    // The other image still builds from what is left, with the registry gone.
    let reference = registry.reference("fx/opaque:1");
    drop(registry);
    built(
        &Fixture::new(),
        &reference,
        &[("LAYERC_CACHE", store.to_str().unwrap())],
    );
    // Everything goes with --keep 0: no blob, tag or layout is left.
    let report = gc(&store, &["--keep", "0"]);
    assert!(
        report.contains(&format!("removed pulled image {opaque}")),
        "{report}"
    );
    for dir in ["blobs", "layouts", "tags"] {
        assert_eq!(
            files_under(&pulled.join(dir)),
            Vec::<String>::new(),
            "{dir}"
        );
    }
}

#[test]
fn gc_keeps_a_pulled_image_a_running_process_holds() {
    let Some(()) = tools_or_skip() else { return };
    let fx = Fixture::new();
    let registry = super::with_base(&fx);
    let store = fx.path().join("store");
    fx.spec(&super::spec_of(&registry.reference("fx/base:1"), "x86_64"));
    let env = [
        ("LAYERC_CACHE", store.to_str().unwrap()),
        ("NO_PROXY", "127.0.0.1"),
    ];
    let editor = Editor::open(fx.path(), &env);
    let layouts = store.join("images/registry/layouts");
    let held = files_under(&layouts);
    assert!(held.iter().any(|f| f.ends_with(".used")), "{held:?}");
    let report = gc(&store, &["--keep", "0"]);
    assert!(report.contains("kept pulled image sha256:"), "{report}");
    assert!(report.contains("in use by a running process"), "{report}");
    assert_eq!(files_under(&layouts), held);
    assert!(!files_under(&store.join("images/registry/blobs")).is_empty());
    drop(editor);
    let report = gc(&store, &["--keep", "0"]);
    assert!(report.contains("removed pulled image sha256:"), "{report}");
    assert_eq!(files_under(&layouts), Vec::<String>::new());
    assert_eq!(
        files_under(&store.join("images/registry/blobs")),
        Vec::<String>::new()
    );
}
