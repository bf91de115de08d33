//! Test images written by real tools from one fixture rootfs, built once per test run: buildah
//! (vfs storage, no daemon) commits the rootfs and pushes it as an OCI layout, an oci-archive and a
//! docker-archive; podman exports a container of it as a flat tar; skopeo converts between formats
//! (zstd layers, uncompressed layers, docker-archive of a layered image); umoci adds layers (a whiteout from deleting a
//! library, an opaque folder) and an arm64 image. A few layouts are then repacked by hand into the
//! shapes no installed tool writes (legacy `docker save`, a nested multi-platform index).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{c_calls, c_fn};

pub(crate) struct Images {
    pub dir: PathBuf,
}

impl Images {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

static IMAGES: OnceLock<Images> = OnceLock::new();

/// The tools that write the test images, or `None` ([`crate::tier::oracle`]): an image test
/// starts with it.
pub(crate) fn available() -> Option<()> {
    crate::tier::oracle(&["buildah", "podman", "skopeo", "umoci", "zstd", "xz"])
}

/// The shared images (built on first use, by a test that asked [`available`]).
pub(crate) fn images() -> &'static Images {
    IMAGES.get_or_init(build)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn cc(out: &Path, soname: &str, source: &str, link: &[&Path], src_dir: &Path) {
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let src = src_dir.join(format!("{soname}.c"));
    fs::write(&src, source).unwrap();
    let mut cmd = Command::new("cc");
    cmd.args(["-shared", "-fPIC", "-O0", "-o"])
        .arg(out)
        .arg(&src)
        .arg(format!("-Wl,-soname,{soname}"))
        .args(link);
    run(&mut cmd);
}

/// The fixture rootfs: libfoo needs libbar; libqux has a hard link in /usr/lib; a data folder.
fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    let lib = root.join("usr/lib64");
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    cc(
        &lib.join("libbar.so.1"),
        "libbar.so.1",
        &c_fn("bar"),
        &[],
        &src,
    );
    let bar = lib.join("libbar.so.1");
    cc(
        &lib.join("libfoo.so.1"),
        "libfoo.so.1",
        &c_calls("foo", "bar"),
        &[&bar],
        &src,
    );
    symlink("libfoo.so.1", lib.join("libfoo.so")).unwrap();
    cc(
        &lib.join("libqux.so.1"),
        "libqux.so.1",
        &c_fn("qux"),
        &[],
        &src,
    );
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    fs::hard_link(lib.join("libqux.so.1"), root.join("usr/lib/libqux.so.1")).unwrap();
    fs::create_dir_all(root.join("opt/data")).unwrap();
    fs::write(root.join("opt/data/old.txt"), "from the base layer\n").unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/arch"), "amd64\n").unwrap();
    root
}

struct Tools {
    storage: Vec<String>,
}

impl Tools {
    fn buildah(&self, args: &[&str]) -> String {
        run(Command::new("buildah").args(&self.storage).args(args))
    }
    fn podman(&self, args: &[&str]) -> String {
        run(Command::new("podman").args(&self.storage).args(args))
    }
}

fn skopeo(from: &str, to: &str, extra: &[&str]) {
    run(Command::new("skopeo")
        .args(["copy", "-q"])
        .args(extra)
        .args([from, to]));
}

fn umoci(args: &[&str]) {
    run(Command::new("umoci").args(args));
}

fn build() -> Images {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("images");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let root = rootfs(&dir);
    let d = |name: &str| dir.join(name).display().to_string();
    let tools = Tools {
        storage: vec![
            format!("--root={}", d("storage")),
            format!("--runroot={}", d("run")),
            "--storage-driver=vfs".to_string(),
        ],
    };
    let ctr = tools.buildah(&["from", "scratch"]);
    tools.buildah(&["copy", &ctr, &format!("{}/", root.display()), "/"]);
    tools.buildah(&["commit", "-q", &ctr, "localhost/layerc-fixture"]);
    let image = "localhost/layerc-fixture";
    tools.buildah(&["push", "-q", image, &format!("oci:{}:base", d("oci"))]);
    tools.buildah(&[
        "push",
        "-q",
        image,
        &format!("oci-archive:{}", d("oci-archive.tar")),
    ]);
    let docker = format!("docker-archive:{}:fixture:latest", d("docker-archive.tar"));
    tools.buildah(&["push", "-q", image, &docker]);
    let exported = tools.podman(&["create", image, "/bin/true"]);
    tools.podman(&["export", "-o", &d("export.tar"), &exported]);
    tools.podman(&["rm", &exported]);
    compressed_exports(&dir);
    skopeo(
        &format!("oci:{}:base", d("oci")),
        &format!("oci:{}:base", d("oci-zstd")),
        &["--dest-compress-format", "zstd"],
    );
    // Uncompressed layers: a file's bytes are read in place in the layer blob.
    skopeo(
        &format!("oci:{}:base", d("oci")),
        &format!("dir:{}", d("dir-tar")),
        &["--dest-decompress"],
    );
    skopeo(
        &format!("dir:{}", d("dir-tar")),
        &format!("oci:{}:base", d("oci-tar")),
        &["--dest-oci-accept-uncompressed-layers"],
    );
    layered(&dir, &d);
    multi_platform(&dir, &d);
    legacy_docker_save(&dir);
    docker_save_with_blobs(&dir);
    Images { dir }
}

/// The podman export compressed by gzip, xz and zstd, and once under a name that says nothing.
fn compressed_exports(dir: &Path) {
    let tar = dir.join("export.tar");
    run(Command::new("gzip").args(["-k", "-n"]).arg(&tar));
    fs::rename(dir.join("export.tar.gz"), dir.join("export.tgz")).unwrap();
    run(Command::new("xz").args(["-k", "-T1"]).arg(&tar));
    run(Command::new("zstd").args(["-q", "-k"]).arg(&tar));
    fs::copy(
        dir.join("export.tar.zst"),
        dir.join("export-without-extension"),
    )
    .unwrap();
}

/// `deleted`: libbar removed in a second layer (umoci writes the whiteout); `opaque`: a third layer
/// that replaces /opt/data (hand-written layer tar with the opaque marker, added by umoci).
fn layered(dir: &Path, d: &dyn Fn(&str) -> String) {
    let layout = d("layered");
    skopeo(
        &format!("oci:{}:base", d("oci")),
        &format!("oci:{layout}:base"),
        &[],
    );
    let bundle = dir.join("bundle");
    umoci(&[
        "unpack",
        "--image",
        &format!("{layout}:base"),
        &bundle.display().to_string(),
    ]);
    fs::remove_file(bundle.join("rootfs/usr/lib64/libbar.so.1")).unwrap();
    umoci(&[
        "repack",
        "--image",
        &format!("{layout}:deleted"),
        &bundle.display().to_string(),
    ]);
    let opaque = dir.join("opaque-layer");
    fs::create_dir_all(opaque.join("opt/data")).unwrap();
    fs::write(opaque.join("opt/data/.wh..wh..opq"), "").unwrap();
    fs::write(opaque.join("opt/data/new.txt"), "from the top layer\n").unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&opaque)
        .args(["-cf", &d("opaque-layer.tar"), "opt"]));
    umoci(&[
        "raw",
        "add-layer",
        "--image",
        &format!("{layout}:base"),
        &d("opaque-layer.tar"),
        "--tag",
        "opaque",
    ]);
    skopeo(
        &format!("oci:{layout}:deleted"),
        &format!("oci:{}:deleted", d("deleted")),
        &[],
    );
    skopeo(
        &format!("oci:{layout}:deleted"),
        &format!("docker-archive:{}:deleted:latest", d("deleted-docker.tar")),
        &[],
    );
    skopeo(
        &format!("oci:{layout}:opaque"),
        &format!("oci-archive:{}", d("opaque.tar")),
        &[],
    );
}

/// `multi`: an index (nested in index.json) of the fixture as linux/amd64 and an arm64 image whose
/// /etc/arch says arm64; `arm-only`: the arm64 image alone.
fn multi_platform(dir: &Path, d: &dyn Fn(&str) -> String) {
    let arm = d("arm");
    umoci(&["init", "--layout", &arm]);
    umoci(&["new", "--image", &format!("{arm}:arm")]);
    umoci(&[
        "config",
        "--image",
        &format!("{arm}:arm"),
        "--architecture",
        "arm64",
        "--os",
        "linux",
    ]);
    let layer = dir.join("arm-layer");
    fs::create_dir_all(layer.join("etc")).unwrap();
    fs::write(layer.join("etc/arch"), "arm64\n").unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&layer)
        .args(["-cf", &d("arm-layer.tar"), "etc"]));
    umoci(&[
        "raw",
        "add-layer",
        "--image",
        &format!("{arm}:arm"),
        &d("arm-layer.tar"),
    ]);
    skopeo(
        &format!("oci:{arm}:arm"),
        &format!("oci:{}:arm", d("arm-only")),
        &[],
    );
    let multi = d("multi");
    skopeo(
        &format!("oci:{}:base", d("oci")),
        &format!("oci:{multi}:amd64"),
        &[],
    );
    skopeo(
        &format!("oci:{arm}:arm"),
        &format!("oci:{multi}:arm64"),
        &[],
    );
    let multi = dir.join("multi");
    let index: Value =
        serde_json::from_slice(&fs::read(multi.join("index.json")).unwrap()).unwrap();
    let mut manifests = Vec::new();
    for m in index["manifests"].as_array().unwrap() {
        let arch = m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap();
        let mut m = m.clone();
        m["platform"] = json!({"architecture": arch, "os": "linux"});
        manifests.push(m);
    }
    let inner = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let (digest, size) = write_blob(&multi, serde_json::to_vec(&inner).unwrap());
    let outer = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size}]});
    fs::write(
        multi.join("index.json"),
        serde_json::to_vec(&outer).unwrap(),
    )
    .unwrap();
}

/// Writes a blob into an OCI layout; returns its digest and size.
pub(crate) fn write_blob(layout: &Path, bytes: Vec<u8>) -> (String, usize) {
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fs::write(layout.join("blobs/sha256").join(&hex), &bytes).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

pub(crate) fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The buildah docker-archive repacked as older Docker wrote it: each layer a real
/// `<id>/layer.tar`, listed so in manifest.json.
fn legacy_docker_save(dir: &Path) {
    let work = dir.join("legacy");
    fs::create_dir_all(&work).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&work)
        .arg("-xf")
        .arg(dir.join("docker-archive.tar")));
    let mut manifest = json_file(&work.join("manifest.json"));
    let layers = manifest[0]["Layers"].as_array().unwrap().clone();
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        fs::create_dir_all(work.join(format!("layer{i}"))).unwrap();
        let _ = fs::remove_file(work.join(&name));
        fs::rename(work.join(layer.as_str().unwrap()), work.join(&name)).unwrap();
        names.push(json!(name));
    }
    manifest[0]["Layers"] = json!(names);
    fs::write(
        work.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    for e in fs::read_dir(&work).unwrap().flatten() {
        let p = e.path();
        if p.is_dir()
            && !p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("layer")
        {
            fs::remove_dir_all(p).unwrap();
        }
    }
    run(Command::new("tar")
        .arg("-C")
        .arg(&work)
        .arg("-cf")
        .arg(dir.join("docker-legacy.tar"))
        .arg("."));
}

/// The OCI layout repacked as Docker 25+ `docker save` names layers: `blobs/sha256/HEX`, listed in
/// manifest.json, without the OCI index.
fn docker_save_with_blobs(dir: &Path) {
    let oci = dir.join("oci");
    let index = json_file(&oci.join("index.json"));
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest = json_file(&oci.join("blobs/sha256").join(&digest[7..]));
    let blob = |d: &Value| format!("blobs/sha256/{}", &d.as_str().unwrap()[7..]);
    let save = json!([{
        "Config": blob(&manifest["config"]["digest"]),
        "RepoTags": ["fixture:latest"],
        "Layers": manifest["layers"].as_array().unwrap().iter().map(|l| blob(&l["digest"])).collect::<Vec<_>>(),
    }]);
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&save).unwrap(),
    )
    .unwrap();
    run(Command::new("tar")
        .arg("-cf")
        .arg(dir.join("docker-blobs.tar"))
        .arg("-C")
        .arg(dir)
        .arg("manifest.json")
        .arg("-C")
        .arg(&oci)
        .arg("blobs"));
}
