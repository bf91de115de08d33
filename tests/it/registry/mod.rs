//! Images by `docker://` reference against a real registry: Debian's `docker-registry` (the CNCF
//! distribution registry) started on 127.0.0.1 per test with a throw-away config, filled with the
//! image tests' real images by `skopeo copy`, and read back through layerc. Without
//! `docker-registry` or skopeo a test skips with the reason printed; with `CI=true` it fails.

mod auth;
mod failures;
mod gc;
mod pull;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Fixture, layerc_in, stderr, stdout};

/// The real registry and the tools that fill it, or `None` ([`crate::tier::oracle`]).
pub(crate) fn tools_or_skip() -> Option<()> {
    crate::images::tools::available()?;
    crate::tier::oracle(&["docker-registry", "skopeo", "openssl", "umoci"])
}

/// A free port on 127.0.0.1 (the listener is closed before the server binds it).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `docker-registry serve`, stopped when dropped.
pub(crate) struct Registry {
    pub addr: String,
    /// The storage root (`docker/registry/v2/...` below it).
    pub storage: PathBuf,
    child: Child,
}

impl Registry {
    /// Serves `storage` on a new port; `extra` is YAML added to the config (auth), `tls` the
    /// certificate and key to serve https with.
    pub(crate) fn start(
        dir: &Path,
        storage: &Path,
        extra: &str,
        tls: Option<(&Path, &Path)>,
    ) -> Registry {
        // Another test may take the free port first: this registry then exits, and another is
        // listening there; it is started again on another port.
        for _ in 0..5 {
            let mut registry = Registry::start_once(dir, storage, extra, tls);
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline && registry.child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            if registry.child.try_wait().ok().flatten().is_none() {
                return registry;
            }
        }
        panic!("docker-registry keeps exiting at start");
    }

    fn start_once(
        dir: &Path,
        storage: &Path,
        extra: &str,
        tls: Option<(&Path, &Path)>,
    ) -> Registry {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let tls = tls.map_or(String::new(), |(cert, key)| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            )
        });
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls}{extra}",
            storage.display()
        );
        let file = dir.join(format!("registry-{port}.yml"));
        fs::write(&file, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs");
        let registry = Registry {
            addr,
            storage: storage.to_path_buf(),
            child,
        };
        registry.wait_until_listening();
        registry
    }

    fn wait_until_listening(&self) {
        let start = Instant::now();
        while TcpStream::connect(&self.addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the registry does not listen on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn reference(&self, name: &str) -> String {
        format!("docker://{}/{name}", self.addr)
    }

    /// `skopeo copy` of an image (`oci:DIR:TAG`) to `name` here, every platform with `all`.
    pub(crate) fn push(&self, from: &str, name: &str, all: bool) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "-q", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        let out = cmd
            .arg(from)
            .arg(self.reference(name))
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo copy {from} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The file holding a blob in the registry's storage.
    pub(crate) fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry on a fresh storage folder with the fixture image pushed as `fx/base:1`.
pub(crate) fn with_base(fx: &Fixture) -> Registry {
    let registry = Registry::start(fx.path(), &fx.path().join("storage"), "", None);
    registry.push(&oci("oci", "base"), "fx/base:1", false);
    registry
}

/// `oci:PATH:TAG` of one of the image tests' layouts.
pub(crate) fn oci(layout: &str, tag: &str) -> String {
    let path = crate::images::tools::images().path(layout);
    if tag.is_empty() {
        format!("oci:{}", path.display())
    } else {
        format!("oci:{}:{tag}", path.display())
    }
}

/// The image tests' spec with `rootfs` replaced by `value` (a reference with its properties, or a
/// quoted path).
pub(crate) fn spec_with(rootfs: &str, arch: &str) -> String {
    crate::images::spec(Path::new("ROOTFS"), arch).replace("\"ROOTFS\"", rootfs)
}

/// The image tests' spec over a reference served without TLS.
pub(crate) fn spec_of(reference: &str, arch: &str) -> String {
    spec_with(&format!("\"{reference}\" tls-verify=#false"), arch)
}

/// Runs layerc in the fixture with its own image store and no credentials but `env`'s.
pub(crate) fn layerc(fx: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Output {
    let cache = fx.path().join("cache");
    let no_auth = fx.path().join("no-auth.json");
    let mut vars = vec![
        ("LAYERC_CACHE", cache.to_str().unwrap()),
        ("REGISTRY_AUTH_FILE", no_auth.to_str().unwrap()),
        ("LAYERC_NET_TIMEOUT", "20"),
        // Whatever proxy the machine names, the test registries are local.
        ("NO_PROXY", "127.0.0.1"),
    ];
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k, v));
    }
    layerc_in(fx.path(), args, &vars)
}

/// Builds the fixture's spec; the output and the zip.
pub(crate) fn build(fx: &Fixture, env: &[(&str, &str)]) -> (Output, Option<Vec<u8>>) {
    let out = layerc(fx, &["build", "--out", "out", "--format", "json"], env);
    let zip = fs::read(fx.path().join("out/fx.zip")).ok();
    (out, zip)
}

pub(crate) fn report(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// The zip the image tests' spec gives from a local image (an OCI folder or a `docker save` tar).
pub(crate) fn local_zip(image: &str) -> Vec<u8> {
    let path = crate::images::tools::images().path(image);
    crate::images::zip_of(&crate::images::spec(&path, "x86_64"))
}

/// Runs openssl in `dir`, insisting on success.
pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An OCI layout (tag `t`, linux/amd64) whose one layer is the folder `root`, made by tar and umoci.
pub(crate) fn umoci_image_of(root: &Path, layout: &Path) {
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("the tool runs");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let tar = layout.with_extension("tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(root)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    let image = format!("{}:t", layout.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--architecture",
        "amd64",
        "--os",
        "linux",
    ]));
    run(Command::new("umoci")
        .args(["raw", "add-layer", "--image", &image])
        .arg(&tar));
}

/// Builds the image tests' spec over `reference` (served without TLS), insisting on success.
pub(crate) fn built(fx: &Fixture, reference: &str, env: &[(&str, &str)]) -> Vec<u8> {
    fx.spec(&spec_of(reference, "x86_64"));
    let (out, zip) = build(fx, env);
    assert!(out.status.success(), "{}", report(&out));
    zip.expect("a zip")
}

/// The first `KEY="VALUE"` of layer.lock (`index`, `manifest`).
pub(crate) fn locked(fx: &Fixture, key: &str) -> String {
    let lock = fs::read_to_string(fx.path().join("layer.lock")).unwrap();
    lock.split(&format!("{key}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {key} in {lock}"))
        .to_string()
}

/// Self-signed `NAME.pem` with its key `NAME.key`, for `subject`.
pub(crate) fn self_signed(dir: &Path, name: &str, subject: &str) {
    let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &cert,
            "-days", "2", "-subj", subject,
        ],
    );
}
