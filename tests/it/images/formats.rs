//! Images written by real tools.

use std::fs;
use std::process::Command;

use super::tools::images;
use super::{build, report, spec, zip_names, zip_of};
use crate::common::Fixture;

const FORMATS: &[&str] = &[
    "oci",                      // OCI layout folder, gzip layers (buildah push oci:)
    "oci-zstd", // OCI layout folder, zstd layers (skopeo copy --dest-compress-format zstd)
    "oci-tar", // OCI layout folder, uncompressed layers (skopeo --dest-oci-accept-uncompressed-layers)
    "oci-archive.tar", // OCI layout in a tar (buildah push oci-archive:)
    "docker-archive.tar", // docker save format (buildah push docker-archive:)
    "docker-legacy.tar", // docker save, layers as <id>/layer.tar
    "docker-blobs.tar", // docker save, layers as blobs/sha256/HEX
    "export.tar", // podman export
    "export.tgz", // ... gzip
    "export.tar.xz", // ... xz
    "export.tar.zst", // ... zstd
    "export-without-extension", // ... zstd, recognised by its magic bytes
];

#[test]
fn every_image_format_gives_the_folder_zip() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    let folder = zip_of(&spec(&images.path("rootfs"), "x86_64"));
    let names = zip_names(&folder);
    assert!(names.contains(&"lib/libfoo.so.1".to_string()), "{names:?}");
    assert!(names.contains(&"lib/libbar.so.1".to_string()), "{names:?}");
    assert!(names.contains(&"lib/libqux.so.1".to_string()), "{names:?}");
    assert!(names.contains(&"data/old.txt".to_string()), "{names:?}");
    for format in FORMATS {
        let zip = zip_of(&spec(&images.path(format), "x86_64"));
        assert!(
            zip == folder,
            "{format} gives another zip: {:?}",
            zip_names(&zip)
        );
    }
}

#[test]
fn a_whiteout_in_a_later_layer_removes_the_library() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    for image in ["deleted", "deleted-docker.tar"] {
        let fx = Fixture::new();
        let (out, zip) = build(&fx, &spec(&images.path(image), "x86_64"));
        let err = report(&out);
        assert_eq!(out.status.code(), Some(1), "{image}: {err}");
        assert!(err.contains("resolve::needed-not-found"), "{image}: {err}");
        assert!(err.contains("libbar.so.1"), "{image}: {err}");
        assert!(zip.is_none());
    }
}

#[test]
fn an_opaque_folder_hides_what_lower_layers_put_in_it() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    let zip = zip_of(&spec(&images.path("opaque.tar"), "x86_64"));
    let names = zip_names(&zip);
    assert!(names.contains(&"data/new.txt".to_string()), "{names:?}");
    assert!(!names.contains(&"data/old.txt".to_string()), "{names:?}");
    // The opaque layer changed nothing else.
    assert!(names.contains(&"lib/libbar.so.1".to_string()), "{names:?}");
}

fn arch_spec(rootfs: &std::path::Path, arch: &str) -> String {
    format!(
        "layer \"fx\" {{\n    runtime \"provided.al2023\"\n    architecture \"{arch}\"\n    \
         rootfs \"{}\"\n    file \"/etc/arch\" to=\"arch\"\n}}\n",
        rootfs.display()
    )
}

fn unzip_file(zip: &[u8], name: &str) -> String {
    let fx = Fixture::new();
    let path = fx.write("l.zip", zip);
    let out = Command::new("unzip")
        .arg("-p")
        .arg(&path)
        .arg(name)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_architecture_picks_the_manifest_of_a_multi_platform_index() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    let multi = images.path("multi");
    let arm = zip_of(&arch_spec(&multi, "arm64"));
    assert_eq!(unzip_file(&arm, "arch"), "arm64\n");
    let amd = zip_of(&arch_spec(&multi, "x86_64"));
    assert_eq!(unzip_file(&amd, "arch"), "amd64\n");
    assert_eq!(
        zip_of(&spec(&multi, "x86_64")),
        zip_of(&spec(&images.path("rootfs"), "x86_64"))
    );
}

#[test]
fn an_image_without_the_architecture_is_a_clear_error() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    let fx = Fixture::new();
    let (out, zip) = build(&fx, &arch_spec(&images.path("arm-only"), "x86_64"));
    let err = report(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rootfs::platform"), "{err}");
    assert!(err.contains("linux/arm64"), "{err}");
    assert!(err.contains("x86_64 (amd64)"), "{err}");
    assert!(zip.is_none());
}

#[test]
fn a_second_build_reads_the_cached_index_and_a_missing_layer_is_an_error() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let images = images();
    let fx = Fixture::new();
    let copy = fx.path().join("image");
    let status = Command::new("cp")
        .arg("-r")
        .arg(images.path("oci"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let (out, first) = build(&fx, &spec(&copy, "x86_64"));
    assert!(out.status.success(), "{}", report(&out));
    let indexes: Vec<_> = fs::read_dir(fx.path().join("cache/images/index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(indexes.len(), 1);
    // The second build takes the tree from the cached index: a file dropped from it (the index
    // is well formed, so it is used) is not in the zip.
    let text = fs::read_to_string(&indexes[0]).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
    assert!(nodes.remove("/opt/data/old.txt").is_some());
    fs::write(&indexes[0], serde_json::to_vec(&index).unwrap()).unwrap();
    let (out, second) = build(&fx, &spec(&copy, "x86_64"));
    assert!(out.status.success(), "{}", report(&out));
    let names = super::zip_names(&second.unwrap());
    assert!(!names.contains(&"data/old.txt".to_string()), "{names:?}");
    assert!(super::zip_names(&first.unwrap()).contains(&"data/old.txt".to_string()));
    // A cached index is valid only with the bytes it was made from: without its layer, the image
    // is an error naming the blob, even for files the cache kept a copy of.
    let manifest = super::tools::json_file(&copy.join("index.json"));
    let digest = manifest["manifests"][0]["digest"].as_str().unwrap()[7..].to_string();
    let manifest = super::tools::json_file(&copy.join("blobs/sha256").join(digest));
    let layer = manifest["layers"][0]["digest"].as_str().unwrap()[7..].to_string();
    fs::remove_file(copy.join("blobs/sha256").join(&layer)).unwrap();
    let spec_without_data =
        spec(&copy, "x86_64").replace("    file \"/opt/data\" to=\"data\"\n", "");
    let (out, _) = build(&fx, &spec_without_data);
    let err = report(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rootfs::image") && err.contains(&layer),
        "{err}"
    );
}
