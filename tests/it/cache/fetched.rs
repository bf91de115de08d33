//! Inputs fetched by digest go through the caches too: runner A fetches package files from an apt
//! repository and image blobs (manifests included) from a registry, and pushes them; runner B,
//! with the repository or the registry out of reach and a store of its own, gets them from the
//! cache and builds the same zip. And a package layer builds from layer.lock and a cache alone,
//! with no package store at all, until its package list changes.

use std::fs;
use std::path::Path;

use super::servers::Nginx;
use super::*;
use crate::packages::gpg::Gpg;
use crate::packages::local_apt::{Deb, Entry, LocalApt};
use crate::packages::server::Server;

/// Where nothing listens: a proxy that is down.
const DEAD: &str = "http://127.0.0.1:9";

/// A signed local repository with `hello` (a real shared library) and `base` (a data file), served;
/// the spec in `fleet`'s folder builds `hello`'s library from it (the package list `packages`).
fn package_fleet(cache_lines: &str, packages: &[&str]) -> (Fleet, Server) {
    let fleet = Fleet::new(cache_lines, 100);
    let lib = fs::read(fleet.a.root("/usr/lib64/libhello.so.1")).unwrap();
    let gpg = Gpg::new("apt-repo");
    gpg.export(&fleet.a.path().join("repo.gpg"), false);
    let debs = [
        Deb {
            name: "hello",
            version: "1.0-1",
            depends: "base",
            entries: vec![
                Entry::Dir("./usr/"),
                Entry::Dir("./usr/lib64/"),
                Entry::File("./usr/lib64/libhello.so.1", lib),
            ],
        },
        Deb {
            name: "base",
            version: "2.0-1",
            depends: "",
            entries: vec![
                Entry::Dir("./etc/"),
                Entry::File("./etc/base.conf", b"base\n".to_vec()),
            ],
        },
    ];
    let repo = LocalApt::write(&fleet.a.path().join("repo"), &debs, Some(&gpg), 0);
    let server = Server::start(&repo.root);
    fs::remove_dir_all(fleet.a.path().join("rootfs")).unwrap();
    write_package_spec(fleet.a.path(), &server.url, packages, cache_lines, &fleet);
    (fleet, server)
}

fn write_package_spec(dir: &Path, url: &str, packages: &[&str], caches: &str, fleet: &Fleet) {
    let names: String = packages
        .iter()
        .map(|p| format!("            package \"{p}\"\n"))
        .collect();
    let spec = format!(
        "layer \"hello\" {{\n    runtime \"provided.al2023\"\n    rootfs {{\n        apt \"{url}\" suite=\"test\" key=\"repo.gpg\" {{\n{names}        }}\n    }}\n    library \"libhello.so.1\"\n}}\n{caches}\n{}\n",
        fleet.trusted
    );
    fs::write(dir.join("layer.kdl"), spec).unwrap();
}

/// Runner B's folder: A's spec, lock and repository key.
fn runner_b_with_key(fleet: &Fleet) -> tempfile::TempDir {
    let b = fleet.runner_b();
    fs::copy(fleet.a.path().join("repo.gpg"), b.path().join("repo.gpg")).unwrap();
    b
}

/// The sha256 of each package file layer.lock pins.
fn locked_package_files(dir: &Path) -> Vec<String> {
    let lock = layerc::lock::parse(&fs::read_to_string(dir.join("layer.lock")).unwrap()).unwrap();
    let files: Vec<String> = lock.layers[0]
        .packages
        .files
        .iter()
        .map(|p| p.sha256.clone())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    files
}

/// The environment of a runner that cannot reach the repository: every proxy is down (but for
/// `no_proxy`, the cache's host).
fn unreachable_env(no_proxy: &str) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&str, String)> = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"]
        .into_iter()
        .map(|k| (k, DEAD.to_string()))
        .collect();
    env.push(("NO_PROXY", no_proxy.to_string()));
    env.push(("LAYERC_NET_TIMEOUT", "5".to_string()));
    env
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Runner A builds the package layer and pushes its zip and package files to `cache` (a URL whose
/// objects live under `objects`); runner B, with the repository out of reach and the layer zip
/// gone from the cache, takes the package files from the cache and builds the same zip.
fn package_files_come_from_the_cache(url: &str, objects: &Path, no_proxy: &str) {
    if !crate::packages::have(&["gpg"]) {
        return;
    }
    let (fleet, server) = package_fleet(&format!("cache \"{url}\" push=#true"), &["hello"]);
    let stores = tempfile::tempdir().unwrap();
    let a = fleet.build_a(&stores.path().join("a"));
    assert!(a.contains(&format!("pushed to {url}")), "{a}");
    for sha256 in locked_package_files(fleet.a.path()) {
        assert!(
            objects.join("blobs/sha256").join(&sha256).is_file(),
            "package file {sha256} was not pushed"
        );
    }
    drop(server);
    // Without the layer's zip in the cache, B must unpack the package files itself.
    fs::remove_dir_all(objects.join("layers")).unwrap();
    let b = runner_b_with_key(&fleet);
    let env = unreachable_env(no_proxy);
    let store_b = stores.path().join("b");
    let out = ok(&build(b.path(), &store_b, &["--locked"], &borrowed(&env)));
    assert!(
        !out.contains("refused") && !out.contains("cannot be reached"),
        "{out}"
    );
    assert_eq!(
        fs::read(fleet.a.path().join("build/hello.zip")).unwrap(),
        fs::read(b.path().join("build/hello.zip")).unwrap(),
        "the zips differ"
    );
    for sha256 in locked_package_files(b.path()) {
        assert!(store_b.join("packages/files/sha256").join(sha256).is_file());
    }
    // The same runner without the cache cannot reach the repository: the cache served the files.
    let c = runner_b_with_key(&fleet);
    let mut args = vec!["--locked", "--no-cache"];
    args.extend(["--out", "none"]);
    let out = build(c.path(), &stores.path().join("c"), &args, &borrowed(&env));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rootfs::packages"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn package_files_come_from_a_folder_cache() {
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cache.path().display());
    package_files_come_from_the_cache(&url, cache.path(), "");
}

#[test]
fn package_files_come_from_an_http_cache() {
    let Some(nginx) = Nginx::start("") else {
        return;
    };
    let url = format!("{}/cache", nginx.url);
    package_files_come_from_the_cache(&url, &nginx.root.join("cache"), "127.0.0.1");
}

/// From layer.lock and the cache alone: no repository, no package store; a changed package list
/// stops that path (the spec no longer is the one the lock was written for).
#[test]
fn a_package_layer_builds_from_the_lock_alone_until_its_packages_change() {
    if !crate::packages::have(&["gpg"]) {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cache.path().display());
    let (fleet, server) = package_fleet(&format!("cache \"{url}\" push=#true"), &["hello"]);
    let stores = tempfile::tempdir().unwrap();
    fleet.build_a(&stores.path().join("a"));
    let b = runner_b_with_key(&fleet);
    let env = unreachable_env("");
    let store_b = stores.path().join("b");
    let out = ok(&build(b.path(), &store_b, &["--locked"], &borrowed(&env)));
    assert!(out.contains("no rootfs was opened"), "{out}");
    assert!(out.contains(&format!("from remote cache {url}")), "{out}");
    assert!(!store_b.join("packages").exists(), "{out}");
    assert_eq!(
        fs::read(fleet.a.path().join("build/hello.zip")).unwrap(),
        fs::read(b.path().join("build/hello.zip")).unwrap()
    );
    // Another package list: the lock no longer vouches for the spec, and the locked build that
    // follows refuses it.
    let lines = format!("cache \"{url}\"");
    write_package_spec(b.path(), &server.url, &["hello", "base"], &lines, &fleet);
    fs::remove_dir_all(b.path().join("build")).unwrap();
    let out = build(b.path(), &store_b, &["--locked"], &borrowed(&env));
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("layer `hello` cannot be built from layer.lock alone (the spec changed since layer.lock was written)"),
        "{err}"
    );
    assert!(err.contains("lock::packages"), "{err}");
    assert!(!b.path().join("build/hello.zip").exists());
}

/// Runner A pulls an image and pushes its blobs and manifests; with the registry gone, runner B
/// pulls the same image from the cache alone: by digest, and by tag pinned by layer.lock.
#[test]
fn image_blobs_come_from_the_cache_with_the_registry_gone() {
    let Some(()) = crate::registry::tools_or_skip() else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cache.path().display());
    let lines = format!("cache \"{url}\" push=#true");
    let fleet = Fleet::new(&lines, 100);
    let a = Fixture::new();
    let registry = crate::registry::with_base(&a);
    let reference = registry.reference("fx/base:1");
    let image_spec = |reference: &str, lines: &str| {
        let spec = crate::registry::spec_of(reference, "x86_64");
        format!("{spec}{lines}\n{}\n", fleet.trusted)
    };
    a.spec(&image_spec(&reference, &lines));
    let secret = fleet.secret();
    let args = [
        "build",
        "--out",
        "out",
        "--signing-key",
        secret.to_str().unwrap(),
    ];
    let out = crate::registry::layerc(&a, &args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let zip = fs::read(a.path().join("out/fx.zip")).unwrap();
    let manifest = crate::registry::locked(&a, "manifest");
    drop(registry);
    // By digest, with a store of its own: the manifest, config and layers all come from the cache.
    let b = Fixture::new();
    let by_digest = format!("{}@{manifest}", reference.rsplit_once(':').unwrap().0);
    b.spec(&image_spec(&by_digest, &format!("cache \"{url}\"")));
    let out = crate::registry::layerc(&b, &["build", "--out", "out"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::read(b.path().join("out/fx.zip")).unwrap() == zip);
    let pulled = files_under(&b.path().join("cache/images/registry/blobs"));
    assert!(pulled.len() >= 3, "{pulled:?}");
    // By tag under `--locked`, without the layer's zip in the cache: the lock's digest is pulled.
    fs::remove_dir_all(cache.path().join("layers")).unwrap();
    let c = Fixture::new();
    c.spec(&image_spec(&reference, &format!("cache \"{url}\"")));
    fs::copy(a.path().join("layer.lock"), c.path().join("layer.lock")).unwrap();
    let out = crate::registry::layerc(&c, &["build", "--locked", "--out", "out"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::read(c.path().join("out/fx.zip")).unwrap() == zip);
    // Without the cache, nothing can be pulled.
    let d = Fixture::new();
    d.spec(&image_spec(&by_digest, ""));
    let out = crate::registry::layerc(&d, &["build", "--out", "out"], &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rootfs::registry"),
        "{}",
        stderr(&out)
    );
}
