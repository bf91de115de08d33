//! Container images as rootfs: real images from buildah, podman, skopeo and umoci give the same
//! zip as the folder they were made from; layers, whiteouts, opaque folders and platforms follow the
//! OCI image spec; hostile and broken archives are clear errors that read nothing outside the image.

mod bombs;
mod cache;
mod formats;
mod hostile;
mod mutation;
pub(crate) mod tools;

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{Fixture, layerc_in, stderr, stdout};

/// A spec that ships libfoo (which needs libbar), libqux through a hard link, and a data folder.
pub(crate) fn spec(rootfs: &Path, arch: &str) -> String {
    format!(
        "layer \"fx\" {{\n    runtime \"provided.al2023\"\n    architecture \"{arch}\"\n    \
         rootfs \"{}\"\n    library \"libfoo.so\"\n    library \"/usr/lib/libqux.so.1\"\n    \
         file \"/opt/data\" to=\"data\"\n}}\n",
        rootfs.display()
    )
}

/// A copy of a test image (an OCI layout folder) at `name` in `fx`.
pub(crate) fn copy_image(fx: &Fixture, image: &str, name: &str) -> std::path::PathBuf {
    let copy = fx.path().join(name);
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(tools::images().path(image))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    copy
}

/// Builds `spec` in a fresh folder with its own cache; returns the output and the zip's bytes.
pub(crate) fn build(fx: &Fixture, spec: &str) -> (Output, Option<Vec<u8>>) {
    build_env(fx, spec, &[])
}

pub(crate) fn build_env(
    fx: &Fixture,
    spec: &str,
    env: &[(&str, &str)],
) -> (Output, Option<Vec<u8>>) {
    fx.spec(spec);
    let cache = fx.path().join("cache");
    let mut vars = vec![("LAYERC_CACHE", cache.to_str().unwrap())];
    vars.extend_from_slice(env);
    let out = layerc_in(
        fx.path(),
        &["build", "--out", "out", "--format", "json"],
        &vars,
    );
    let zip = fs::read(fx.path().join("out/fx.zip")).ok();
    (out, zip)
}

/// Everything a build printed: JSON diagnostics (one line each, unwrapped) and messages.
pub(crate) fn report(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// Builds and insists on success.
pub(crate) fn zip_of(spec: &str) -> Vec<u8> {
    let fx = Fixture::new();
    let (out, zip) = build(&fx, spec);
    assert!(out.status.success(), "build failed: {}", report(&out));
    zip.expect("a zip")
}

/// Names inside a zip, in their order.
pub(crate) fn zip_names(zip: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    archive
        .file_names_raw()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}
