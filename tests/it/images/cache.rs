//! The image cache ships nothing unchecked: a layout's blobs are checked against their digests
//! when a cached index is used (a symlink is refused, an edit in place is seen), a cached index or
//! blob that does not hold is not used, `check` and `build --dry-run` write nothing into the cache,
//! and `gc` trims it.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use super::tools::{images, json_file};
use super::{copy_image, spec};
use crate::common::{Fixture, layerc_in, stderr, stdout};

/// Bytes no image holds, written outside every image.
const SECRET: &[u8] = b"layerc-host-secret-";

/// The first layer's blob of a layout.
fn layer_blob(layout: &Path) -> PathBuf {
    let index = json_file(&layout.join("index.json"));
    let manifest = &index["manifests"][0]["digest"].as_str().unwrap()[7..];
    let manifest = json_file(&layout.join("blobs/sha256").join(manifest));
    let layer = &manifest["layers"][0]["digest"].as_str().unwrap()[7..];
    layout.join("blobs/sha256").join(layer)
}

/// A host file of `len` bytes of [`SECRET`], outside every image.
fn secret_file(fx: &Fixture, len: usize) -> PathBuf {
    let bytes: Vec<u8> = SECRET.iter().copied().cycle().take(len).collect();
    fx.write("host/secret", bytes)
}

/// `layerc ARGS` in `fx/dir` (created) with the shared cache `fx/cache`, the spec written there.
fn run_in(fx: &Fixture, dir: &str, spec: &str, args: &[&str]) -> Output {
    let at = fx.path().join(dir);
    fs::create_dir_all(&at).unwrap();
    fs::write(at.join("layer.kdl"), spec).unwrap();
    let cache = fx.path().join("cache");
    layerc_in(&at, args, &[("LAYERC_CACHE", cache.to_str().unwrap())])
}

/// Builds in `fx/dir`; the output and the zip.
fn build_in(fx: &Fixture, dir: &str, spec: &str) -> (Output, Option<Vec<u8>>) {
    let out = run_in(fx, dir, spec, &["build", "--out", "out"]);
    let zip = fs::read(fx.path().join(dir).join("out/fx.zip")).ok();
    (out, zip)
}

/// Every file's bytes in a zip, as `unzip -p` gives them.
fn unzipped(fx: &Fixture, zip: &[u8]) -> Vec<u8> {
    let path = fx.write("check.zip", zip);
    Command::new("unzip")
        .arg("-p")
        .arg(&path)
        .output()
        .unwrap()
        .stdout
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_refused(out: &Output, needles: &[&str]) {
    let err = format!("{}{}", stdout(out), stderr(out));
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rootfs::image"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn a_copied_layout_whose_layer_blob_is_a_symlink_is_refused() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let genuine = copy_image(&fx, "oci-tar", "image");
    let (out, zip) = build_in(&fx, "a", &spec(&genuine, "x86_64"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(zip.is_some());
    // The same index.json (so the same cache key) and JSON blobs; the layer a symlink to a host
    // file, then to the genuine blob itself. Read uncompressed in place, either would be shipped.
    let forged = copy_image(&fx, "oci-tar", "forged");
    let blob = layer_blob(&forged);
    let secret = secret_file(&fx, fs::metadata(&blob).unwrap().len() as usize);
    for (i, target) in [secret, layer_blob(&genuine)].iter().enumerate() {
        fs::remove_file(&blob).unwrap();
        symlink(target, &blob).unwrap();
        let dir = format!("forged-{i}");
        let (out, zip) = build_in(&fx, &dir, &spec(&forged, "x86_64"));
        let name = blob.file_name().unwrap().to_str().unwrap();
        assert_refused(&out, &[name, "symlink"]);
        assert!(zip.is_none());
    }
    // With a cache of its own (nothing to hit), the scan refuses it too.
    let (out, _) = build_in(&fx, "fresh", &spec(&forged, "x86_64"));
    assert!(!out.status.success());
    let fresh = layerc_in(
        &fx.path().join("fresh"),
        &["build", "--out", "out2"],
        &[("LAYERC_CACHE", fx.path().join("other").to_str().unwrap())],
    );
    assert_refused(&fresh, &["symlink"]);
}

#[test]
fn a_layer_blob_edited_in_place_after_indexing_is_refused() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let image = copy_image(&fx, "oci-tar", "image");
    let (out, first) = build_in(&fx, "a", &spec(&image, "x86_64"));
    assert!(out.status.success(), "{}", stderr(&out));
    // The data file's bytes changed in place, the size kept and the mtime set back.
    let blob = layer_blob(&image);
    let mtime = fs::metadata(&blob).unwrap().modified().unwrap();
    let mut bytes = fs::read(&blob).unwrap();
    let at = bytes
        .windows(19)
        .position(|w| w == b"from the base layer")
        .unwrap();
    bytes[at..at + 4].copy_from_slice(b"FROM");
    {
        use std::io::{Seek, Write};
        let mut file = fs::OpenOptions::new().write(true).open(&blob).unwrap();
        file.seek(std::io::SeekFrom::Start(at as u64)).unwrap();
        file.write_all(b"FROM").unwrap();
        file.set_modified(mtime).unwrap();
    }
    let (out, zip) = build_in(&fx, "a", &spec(&image, "x86_64"));
    let name = blob.file_name().unwrap().to_str().unwrap();
    assert_refused(&out, &[name, "digest"]);
    assert_eq!(zip, first, "the zip of the first build stays");
    assert!(!holds(&unzipped(&fx, &zip.unwrap()), b"FROM the base"));
}

/// Builds the compressed test layout once, then again after `forge` changed the cached index
/// (or the cache): the second zip is the first one's, byte for byte, and holds no host byte.
fn forged_cache_gives_the_same_zip(forge: impl Fn(&Fixture, &mut Value)) {
    let fx = Fixture::new();
    let image = copy_image(&fx, "oci", "image");
    let (out, first) = build_in(&fx, "a", &spec(&image, "x86_64"));
    assert!(out.status.success(), "{}", stderr(&out));
    let indexes: Vec<PathBuf> = fs::read_dir(fx.path().join("cache/images/index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(indexes.len(), 1);
    let mut index = json_file(&indexes[0]);
    forge(&fx, &mut index);
    fs::write(&indexes[0], serde_json::to_vec(&index).unwrap()).unwrap();
    let (out, zip) = build_in(&fx, "a", &spec(&image, "x86_64"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(zip == first, "another zip from a forged cache");
    assert!(!holds(&unzipped(&fx, &zip.unwrap()), SECRET));
}

#[test]
fn a_cached_index_naming_a_host_file_is_not_used() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    forged_cache_gives_the_same_zip(|fx, index| {
        let secret = secret_file(fx, 1 << 16);
        let climb = format!("../../../../../../..{}", secret.display());
        index["streams"][0] = json!({ "Decoded": { "of": { "Member": climb }, "codec": "Gzip" } });
    });
}

#[test]
fn a_cached_index_with_a_climbing_path_or_a_bad_blob_name_is_not_used() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    forged_cache_gives_the_same_zip(|_, index| {
        let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
        let node = nodes["/usr/lib64/libqux.so.1"].clone();
        nodes.insert("/usr/lib64/../../../etc/x".to_string(), node);
    });
    forged_cache_gives_the_same_zip(|_, index| {
        let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
        nodes["/usr/lib64/libqux.so.1"]["cached"] = json!("../../../../../etc/passwd");
    });
    forged_cache_gives_the_same_zip(|_, index| {
        let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
        nodes["/usr/lib64/libqux.so.1"]["at"] = json!([7, 0]);
    });
}

#[test]
fn a_kept_blob_that_is_a_symlink_or_was_changed_is_not_used() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    // A well-formed index whose kept copy is a symlink (named by the digest of what it points at).
    forged_cache_gives_the_same_zip(|fx, index| {
        let secret = secret_file(fx, 4096);
        let digest = sha256_hex(&fs::read(&secret).unwrap());
        symlink(&secret, fx.path().join("cache/images/blobs").join(&digest)).unwrap();
        let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
        nodes["/usr/lib64/libqux.so.1"]["cached"] = json!(digest);
        nodes["/usr/lib64/libqux.so.1"]["size"] = json!(4096);
    });
    // The kept copy itself overwritten with host bytes.
    forged_cache_gives_the_same_zip(|fx, index| {
        let nodes = index["tree"]["nodes"].as_object_mut().unwrap();
        let digest = nodes["/usr/lib64/libqux.so.1"]["cached"].as_str().unwrap();
        let blob = fx.path().join("cache/images/blobs").join(digest);
        let len = fs::metadata(&blob).unwrap().len() as usize;
        let bytes: Vec<u8> = SECRET.iter().copied().cycle().take(len).collect();
        fs::write(&blob, bytes).unwrap();
    });
}

/// Every file under `dir`, relative to it (none when it does not exist).
fn files(dir: &Path) -> Vec<String> {
    crate::common::files_under(dir)
}

#[test]
fn check_and_dry_run_write_nothing_into_the_cache() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    // Compressed layers: their shared objects are kept while indexing.
    let spec = spec(&images().path("oci"), "x86_64");
    let cache = fx.path().join("cache");
    for args in [&["check"][..], &["build", "--dry-run"]] {
        let out = run_in(&fx, "a", &spec, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(files(&cache), Vec::<String>::new(), "{args:?}");
    }
    let out = run_in(&fx, "a", &spec, &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = files(&cache);
    assert!(
        written.iter().any(|f| f.starts_with("images/index/")),
        "{written:?}"
    );
    let stamps = |files: &[String]| -> Vec<_> {
        files
            .iter()
            .map(|f| fs::metadata(cache.join(f)).unwrap().modified().unwrap())
            .collect()
    };
    let before = stamps(&written);
    for args in [&["check"][..], &["build", "--dry-run"]] {
        let out = run_in(&fx, "a", &spec, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(files(&cache), written, "{args:?}");
        assert_eq!(stamps(&written), before, "{args:?} touched the cache");
    }
}

#[test]
fn gc_trims_the_image_cache_least_recently_used_first() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let cache = fx.path().join("cache");
    for (dir, image) in [("a", "oci"), ("b", "oci-zstd")] {
        let out = run_in(&fx, dir, &spec(&images().path(image), "x86_64"), &["build"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let indexes = files(&cache.join("images/index"));
    assert_eq!(indexes.len(), 2, "{indexes:?}");
    let blobs_before = files(&cache.join("images/blobs")).len();
    assert!(blobs_before > 0);
    // The zstd image's index is the older one now.
    let zstd_index = indexes
        .iter()
        .find(|name| {
            let text = fs::read_to_string(cache.join("images/index").join(name)).unwrap();
            text.contains("Zstd")
        })
        .unwrap()
        .clone();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::options()
        .append(true)
        .open(cache.join("images/index").join(&zstd_index))
        .unwrap()
        .set_modified(hours_ago)
        .unwrap();
    // One zip (both images give the same) and two image indexes: keep the two most recently used.
    let out = layerc_in(
        fx.path(),
        &["gc", "--keep", "2", "--store", cache.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let key = zstd_index.strip_suffix(".json").unwrap();
    assert!(
        text.contains(&format!("removed image index {key}")),
        "{text}"
    );
    assert_eq!(files(&cache.join("images/index")).len(), 1);
    // Both images keep the same shared objects (same bytes): the blobs stay for the other.
    assert_eq!(files(&cache.join("images/blobs")).len(), blobs_before);
    let out = layerc_in(
        fx.path(),
        &["gc", "--keep", "0", "--store", cache.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files(&cache.join("images/index")), Vec::<String>::new());
    assert_eq!(files(&cache.join("images/blobs")), Vec::<String>::new());
}
