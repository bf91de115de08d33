//! Hand-made hostile and broken archives: each is a clear error (or is read inside the image) and
//! nothing outside the image is read or written.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use serde_json::json;
use tar::EntryType;

use super::tools::{images, json_file, write_blob};
use super::{build, build_env, report, zip_names};
use crate::common::{Fixture, files_under};

struct Raw<'a> {
    name: &'a str,
    kind: EntryType,
    data: &'a [u8],
    link: &'a str,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        kind: EntryType::Regular,
        data,
        link: "",
    }
}

fn link<'a>(name: &'a str, kind: EntryType, target: &'a str) -> Raw<'a> {
    Raw {
        name,
        kind,
        data: b"",
        link: target,
    }
}

/// A tar written header by header, so names the `tar` crate's builder refuses get in.
fn raw_tar(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_ustar();
        let old = header.as_old_mut();
        old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        old.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        header.set_entry_type(e.kind);
        header.set_mode(0o755);
        header.set_size(e.data.len() as u64);
        header.set_mtime(0);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.data);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn spec(rootfs: &str, body: &str) -> String {
    format!("layer \"fx\" {{\n    runtime \"provided.al2023\"\n    rootfs \"{rootfs}\"\n{body}}}\n")
}

fn libfoo() -> Vec<u8> {
    fs::read(images().path("rootfs/usr/lib64/libqux.so.1")).unwrap()
}

/// Asserts exit 2 with `rootfs::image` and every one of `needles` in stderr.
fn assert_image_error(out: &std::process::Output, needles: &[&str]) {
    let err = report(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rootfs::image"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn an_entry_climbing_out_is_refused_and_writes_nothing() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let lib = libfoo();
    fx.write(
        "deep/a/image.tar",
        raw_tar(&[
            file("usr/lib64/libqux.so.1", &lib),
            file("../../escape.txt", b"x"),
        ]),
    );
    let before = files_under(fx.path());
    let (out, zip) = build(
        &fx,
        &spec("deep/a/image.tar", "    library \"libqux.so.1\"\n"),
    );
    assert_image_error(&out, &["../../escape.txt", "climbs out"]);
    assert!(zip.is_none());
    let after: Vec<String> = files_under(fx.path())
        .into_iter()
        .filter(|f| !f.starts_with("cache/") && f != "layer.kdl")
        .collect();
    assert_eq!(before, after);
}

#[test]
fn absolute_names_stay_inside_the_image() {
    let fx = Fixture::new();
    let outside = "/layerc-absolute-name-test/x.txt";
    fx.write("image.tar", raw_tar(&[file(outside, b"inside\n")]));
    let (out, zip) = build(
        &fx,
        &spec(
            "image.tar",
            &format!("    file \"{outside}\" to=\"x.txt\"\n"),
        ),
    );
    assert!(out.status.success(), "{}", report(&out));
    assert_eq!(zip_names(&zip.unwrap()), ["x.txt"]);
    assert!(!Path::new(outside).exists());
}

#[test]
fn a_symlink_escaping_the_image_never_reaches_the_host() {
    let fx = Fixture::new();
    let host = fx.lib_outside("outside/libqux.so.1", "libqux.so.1", "qux");
    let target = format!("../../../../../../../../..{}", host.display());
    fx.write(
        "image.tar",
        raw_tar(&[link("usr/lib64/libqux.so.1", EntryType::Symlink, &target)]),
    );
    let (out, zip) = build(&fx, &spec("image.tar", "    library \"libqux.so.1\"\n"));
    let err = report(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rootfs::symlink-escape") || err.contains("not-found"),
        "{err}"
    );
    assert!(zip.is_none());
}

#[test]
fn device_files_are_never_read() {
    let fx = Fixture::new();
    fx.write(
        "image.tar",
        raw_tar(&[link("dev/evil", EntryType::Char, "")]),
    );
    let (out, zip) = build(
        &fx,
        &spec("image.tar", "    file \"/dev/evil\" to=\"evil\"\n"),
    );
    // As in a folder rootfs, a device is not a file to ship: an error at the `file` node.
    let err = report(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("resolve::file-not-regular"), "{err}");
    assert!(err.contains("/dev/evil is a character device"), "{err}");
    assert!(zip.is_none());
}

#[test]
fn hard_links_out_of_the_image_are_refused() {
    for (target, needle) in [
        ("../../../etc/passwd", "climbs out"),
        ("/etc/passwd", "not a file of the image"),
    ] {
        let fx = Fixture::new();
        fx.write(
            "image.tar",
            raw_tar(&[link("usr/lib64/libx.so.1", EntryType::Link, target)]),
        );
        let (out, zip) = build(&fx, &spec("image.tar", "    library \"libx.so.1\"\n"));
        assert_image_error(&out, &["usr/lib64/libx.so.1", needle]);
        assert!(zip.is_none());
    }
}

#[test]
fn decompression_bombs_stop_at_the_caps() {
    let fx = Fixture::new();
    let zeros = vec![0u8; 64 << 20];
    fx.write("bomb.tar.gz", gzip(&raw_tar(&[file("zeros", &zeros)])));
    assert!(fs::metadata(fx.path().join("bomb.tar.gz")).unwrap().len() < 1 << 20);
    let body = "    file \"/zeros\" to=\"zeros\"\n";
    let cap = [("LAYERC_IMAGE_MAX_BYTES", "16777216")];
    let (out, _) = build_env(&fx, &spec("bomb.tar.gz", body), &cap);
    assert_image_error(
        &out,
        &[
            "bomb.tar.gz",
            "decompresses to more than",
            "LAYERC_IMAGE_MAX_BYTES",
        ],
    );
    let cap = [("LAYERC_IMAGE_MAX_ENTRY_BYTES", "1000000")];
    let (out, _) = build_env(&fx, &spec("bomb.tar.gz", body), &cap);
    assert_image_error(&out, &["entry zeros", "over the cap"]);
}

#[test]
fn a_truncated_archive_is_a_clear_error() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let whole = fs::read(images().path("export.tgz")).unwrap();
    fx.write("cut.tgz", &whole[..whole.len() / 2]);
    let (out, zip) = build(&fx, &spec("cut.tgz", "    library \"libfoo.so.1\"\n"));
    assert_image_error(&out, &["cut.tgz", "corrupt or truncated"]);
    assert!(zip.is_none());
}

#[test]
fn a_file_that_is_not_an_archive_is_a_clear_error() {
    let fx = Fixture::new();
    fx.write("notes.txt", "x".repeat(4096));
    let (out, _) = build(&fx, &spec("notes.txt", "    library \"libfoo.so.1\"\n"));
    assert_image_error(&out, &["notes.txt", "is not a folder, a tar archive"]);
}

/// A copy of the fixture's OCI layout and the path of its manifest's JSON.
fn oci_copy(fx: &Fixture) -> (std::path::PathBuf, serde_json::Value) {
    let copy = fx.path().join("image");
    let status = Command::new("cp")
        .arg("-r")
        .arg(images().path("oci"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let index = json_file(&copy.join("index.json"));
    let digest = index["manifests"][0]["digest"].as_str().unwrap()[7..].to_string();
    (
        copy.clone(),
        json_file(&copy.join("blobs/sha256").join(digest)),
    )
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_a_clear_error() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let (copy, manifest) = oci_copy(&fx);
    let layer = manifest["layers"][0]["digest"].as_str().unwrap()[7..].to_string();
    let blob = copy.join("blobs/sha256").join(&layer);
    // Other bytes of the same length that still decompress (gzip's OS byte): the digest tells
    // them apart.
    let mut bytes = fs::read(&blob).unwrap();
    bytes[9] ^= 1;
    fs::write(&blob, &bytes).unwrap();
    let (out, zip) = build(&fx, &spec("image", "    library \"libfoo.so.1\"\n"));
    assert_image_error(&out, &[&format!("blobs/sha256/{layer}"), "digest"]);
    assert!(zip.is_none());
    // Another length: the descriptor's size tells them apart first.
    let size = manifest["layers"][0]["size"].as_u64().unwrap();
    fs::write(&blob, gzip(&raw_tar(&[file("x", b"x")]))).unwrap();
    let (out, zip) = build(&fx, &spec("image", "    library \"libfoo.so.1\"\n"));
    let wrong_size = format!("not the {size} its descriptor says");
    assert_image_error(&out, &[&format!("blobs/sha256/{layer}"), &wrong_size]);
    assert!(zip.is_none());
}

#[test]
fn an_unknown_layer_media_type_is_a_clear_error() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let (copy, mut manifest) = oci_copy(&fx);
    manifest["layers"][0]["mediaType"] = json!("application/vnd.example.layer.v1.tar+lz4");
    let (digest, size) = write_blob(&copy, serde_json::to_vec(&manifest).unwrap());
    let mut index = json_file(&copy.join("index.json"));
    index["manifests"][0]["digest"] = json!(digest);
    index["manifests"][0]["size"] = json!(size);
    fs::write(copy.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let (out, _) = build(&fx, &spec("image", "    library \"libfoo.so.1\"\n"));
    assert_image_error(
        &out,
        &[
            "unknown media type",
            "application/vnd.example.layer.v1.tar+lz4",
        ],
    );
}

#[test]
fn fifos_among_an_image_s_files_never_block() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    use crate::hostile_input::{layerc_bounded_env, mkfifo};
    let fx = Fixture::new();
    fx.spec(&spec("image", "    library \"libfoo.so.1\"\n"));
    let (copy, manifest) = oci_copy(&fx);
    // The layout's index, then a layer blob, replaced by a FIFO no writer will ever open.
    let layer = manifest["layers"][0]["digest"].as_str().unwrap()[7..].to_string();
    for victim in [
        copy.join("index.json"),
        copy.join("blobs/sha256").join(layer),
    ] {
        let saved = fs::read(&victim).unwrap();
        fs::remove_file(&victim).unwrap();
        mkfifo(&victim);
        // A fresh cache each time, so the layer's bytes are not taken from an earlier index.
        let cache = tempfile::tempdir().unwrap();
        let env = [("LAYERC_CACHE", cache.path().to_str().unwrap())];
        let out = layerc_bounded_env(fx.path(), &["check"], &env);
        assert_eq!(out.status.code(), Some(2), "{}", report(&out));
        let name = victim.file_name().unwrap().to_str().unwrap();
        assert!(report(&out).contains(name), "{name}: {}", report(&out));
        fs::remove_file(&victim).unwrap();
        fs::write(&victim, saved).unwrap();
    }
}

#[test]
fn sparse_files_are_refused_in_every_tar_format_gnu_tar_writes() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let src = fx.path().join("src");
    fs::create_dir_all(src.join("usr/lib64")).unwrap();
    fs::write(src.join("usr/lib64/libqux.so.1"), libfoo()).unwrap();
    let sparse = fs::File::create(src.join("usr/lib64/libsparse.so.1")).unwrap();
    sparse.set_len(1 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&sparse, b"x", 500_000).unwrap();
    // GNU tar, the oracle: its GNU format, and its three pax encodings (0.0 keeps the name, 0.1
    // and 1.0 put the file under GNUSparseFile.N/ and the real name in a pax record).
    let formats: &[&[&str]] = &[
        &["--format=gnu"],
        &["--format=pax", "--sparse-version=0.0"],
        &["--format=pax", "--sparse-version=0.1"],
        &["--format=pax", "--sparse-version=1.0"],
    ];
    for (i, args) in formats.iter().enumerate() {
        let tar = format!("sparse-{i}.tar");
        let status = Command::new("tar")
            .args(*args)
            .arg("--sparse")
            .arg("-C")
            .arg(&src)
            .arg("-cf")
            .arg(fx.path().join(&tar))
            .arg("usr")
            .status()
            .unwrap();
        assert!(status.success());
        let (out, zip) = build(&fx, &spec(&tar, "    library \"libqux.so.1\"\n"));
        assert_image_error(
            &out,
            &["usr/lib64/libsparse.so.1", "sparse files are not supported"],
        );
        assert!(zip.is_none(), "{args:?}");
    }
}

#[test]
fn an_empty_file_or_tar_is_not_an_image() {
    let fx = Fixture::new();
    fx.write("empty.tar", "");
    let (out, _) = build(&fx, &spec("empty.tar", "    library \"libqux.so.1\"\n"));
    assert_image_error(&out, &["empty.tar", "is empty (0 bytes)"]);
    fx.write("no-entries.tar", [0u8; 10240]);
    let (out, _) = build(
        &fx,
        &spec("no-entries.tar", "    library \"libqux.so.1\"\n"),
    );
    assert_image_error(&out, &["no-entries.tar", "a tar archive with no entries"]);
}

#[test]
fn whiteouts_that_name_no_file_are_refused_and_aufs_metadata_is_skipped() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let lib = libfoo();
    for bad in [".wh.", ".wh..", ".wh...", "usr/.wh.."] {
        let fx = Fixture::new();
        fx.write(
            "image.tar",
            raw_tar(&[file("usr/lib64/libqux.so.1", &lib), file(bad, b"")]),
        );
        let (out, zip) = build(&fx, &spec("image.tar", "    library \"libqux.so.1\"\n"));
        assert_image_error(&out, &[bad, "is not a valid whiteout"]);
        assert!(zip.is_none());
    }
    // AUFS keeps hard-link targets in /.wh..wh.plnk: not part of the image's tree.
    let fx = Fixture::new();
    fx.write(
        "image.tar",
        raw_tar(&[
            file("usr/lib64/libqux.so.1", &lib),
            file(".wh..wh.plnk/1234.5678", b"aufs"),
            file(".wh..wh.aufs", b""),
        ]),
    );
    let body = "    library \"libqux.so.1\"\n    file \"/.wh..wh.plnk/1234.5678\" to=\"x\"\n";
    let (out, _) = build(&fx, &spec("image.tar", body));
    let err = report(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/.wh..wh.plnk/1234.5678"), "{err}");
}
