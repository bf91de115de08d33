//! HTTP caches against Debian's nginx with WebDAV: uploads go to a temporary name and are moved
//! into place, so no reader sees half an object, and no temporary name is left behind.

use std::fs;

use super::servers::{Nginx, Silent};
use super::*;

#[test]
fn nginx_with_webdav_serves_a_runner_without_rootfs() {
    let Some(nginx) = Nginx::start("") else {
        return;
    };
    let url = format!("{}/cache", nginx.url);
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 300_000);
    a_pushes_b_fetches(&fleet, &[], &[], &url);
    let mut files = files_under(&nginx.root);
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].starts_with("cache/blobs/sha256/"), "{files:?}");
    assert!(
        files[1].starts_with("cache/layers/") && files[1].ends_with(".entry"),
        "{files:?}"
    );
}

/// A server without `MOVE` (nginx answers 405 where only PUT is enabled) gets plain PUTs.
#[test]
fn nginx_without_move_gets_plain_puts() {
    let Some(nginx) = Nginx::start(
        "    location /put-only/ {\n      dav_methods PUT DELETE;\n      create_full_put_path on;\n    }",
    ) else {
        return;
    };
    let url = format!("{}/put-only", nginx.url);
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 1000);
    a_pushes_b_fetches(&fleet, &[], &[], &url);
    let files = files_under(&nginx.root.join("put-only"));
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().all(|f| !f.contains(".tmp-")), "{files:?}");
}

#[test]
fn an_http_cache_that_hangs_is_given_up_once() {
    let silent = Silent::start();
    let url = format!("http://127.0.0.1:{}/cache", silent.port);
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 1000);
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let args = ["--signing-key", secret.to_str().unwrap()];
    let out = ok(&build(
        fleet.a.path(),
        stores.path(),
        &args,
        &[("LAYERC_CACHE_TIMEOUT", "1")],
    ));
    assert!(
        out.contains(&format!("remote cache {url} cannot be reached")),
        "{out}"
    );
    assert!(out.contains("timed out"), "{out}");
    assert!(!out.contains("pushed to"), "{out}");
    unzip_ok(&fleet.a.path().join("build/hello.zip"));
}

#[test]
fn nginx_keeps_blobs_by_digest() {
    let Some(nginx) = Nginx::start("") else {
        return;
    };
    blobs_round_trip(&format!("{}/blobs", nginx.url));
}

/// Two runners building the same key at the same time: both succeed (each pushes, or takes what
/// the other pushed first), the cache holds one whole zip and one entry, and a third runner without
/// rootfs gets the same bytes.
#[test]
fn two_runners_pushing_one_key_at_once_is_harmless() {
    let Some(nginx) = Nginx::start("") else {
        return;
    };
    let url = format!("{}/cache", nginx.url);
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 3_000_000);
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let runners: Vec<_> = ["one", "two"]
        .iter()
        .map(|name| {
            let dir = tempfile::tempdir().unwrap();
            let copy = std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", fleet.a.path().display()))
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(copy.success());
            (dir, stores.path().join(name))
        })
        .collect();
    std::thread::scope(|scope| {
        for (dir, store) in &runners {
            let (secret, url) = (secret.to_str().unwrap(), url.as_str());
            scope.spawn(move || {
                let out = ok(&build(dir.path(), store, &["--signing-key", secret], &[]));
                let pushed = out.contains(&format!("pushed to {url}"));
                assert!(
                    pushed || out.contains(&format!("from remote cache {url}")),
                    "{out}"
                );
            });
        }
    });
    let files = files_under(&nginx.root);
    assert_eq!(files.len(), 2, "{files:?}");
    let lock = |n: usize| fs::read(runners[n].0.path().join("layer.lock")).unwrap();
    assert_eq!(lock(0), lock(1));
    fs::write(fleet.a.path().join("layer.lock"), lock(0)).unwrap();
    let b = fleet.runner_b();
    let out = ok(&build(
        b.path(),
        &stores.path().join("b"),
        &["--locked"],
        &[],
    ));
    assert!(out.contains(&format!("from remote cache {url}")), "{out}");
    assert_eq!(
        fs::read(runners[0].0.path().join("build/hello.zip")).unwrap(),
        fs::read(b.path().join("build/hello.zip")).unwrap()
    );
}
