//! Hostile and broken apt repositories served on 127.0.0.1: a wrong signature, an unsigned
//! index, a tampered Packages file, an index that promises fewer bytes than it sends, and
//! packages with `../` names or absolute symlinks. Each is refused, or (the symlink) kept inside
//! the rootfs, and nothing is written outside the store.

use std::fs;
use std::path::Path;

use super::gpg::Gpg;
use super::local_apt::{Deb, Entry, LocalApt};
use super::server::Server;
use super::{have, prepared};
use crate::common::Fixture;

fn good_deb() -> Deb {
    Deb {
        name: "bar",
        version: "1.0-1",
        depends: "",
        entries: vec![
            Entry::Dir("./etc/"),
            Entry::File("./etc/bar.conf", b"bar\n".to_vec()),
        ],
    }
}

fn spec(dir: &Path, url: &str, props: &str) {
    fs::write(
        dir.join("layer.kdl"),
        format!("layer \"bar\" {{\n    runtime \"provided.al2023\"\n    rootfs {{\n        apt \"{url}\" suite=\"test\" {props} {{\n            package \"bar\"\n        }}\n    }}\n    file \"/etc/bar.conf\" to=\"etc/bar.conf\"\n}}\n"),
    )
    .unwrap();
}

/// `layerc check`'s exit code and stderr.
fn check(fx: &Fixture) -> (Option<i32>, String) {
    let out = fx.layerc(&["check"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A repository of `debs` signed by a fresh key, served; the spec names that key.
fn served(fx: &Fixture, debs: &[Deb], size_delta: i64) -> (Server, LocalApt, Gpg) {
    let gpg = Gpg::new("apt-repo");
    gpg.export(&fx.path().join("repo.gpg"), false);
    let repo = LocalApt::write(&fx.path().join("repo"), debs, Some(&gpg), size_delta);
    let server = Server::start(&repo.root);
    spec(fx.path(), &server.url, "key=\"repo.gpg\"");
    (server, repo, gpg)
}

#[test]
fn a_signed_local_repository_builds() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let (server, _repo, _gpg) = served(&fx, &[good_deb()], 0);
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(0), "{stderr}");
    let out = fx.layerc(&["build"]);
    assert!(out.status.success(), "{}", super::unwrapped(&out.stderr));
    // `--locked` resolves nothing: the repository is not asked anything once the store has the
    // files the lock pins.
    let asked = server.requests.load(std::sync::atomic::Ordering::SeqCst);
    let out = fx.layerc(&["build", "--locked", "--out", "again"]);
    assert!(out.status.success(), "{}", super::unwrapped(&out.stderr));
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        asked
    );
    assert_eq!(
        std::fs::read(fx.path().join("build/bar.zip")).unwrap(),
        std::fs::read(fx.path().join("again/bar.zip")).unwrap()
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let (_server, _repo, _gpg) = served(&fx, &[good_deb()], 0);
    Gpg::new("someone-else").export(&fx.path().join("repo.gpg"), true);
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rootfs::package-signature"), "{stderr}");
    assert!(stderr.contains("no signature verifies"), "{stderr}");
}

#[test]
fn an_unsigned_repository_needs_trusted() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let repo = LocalApt::write(&fx.path().join("repo"), &[good_deb()], None, 0);
    let server = Server::start(&repo.root);
    Gpg::new("apt-repo").export(&fx.path().join("repo.gpg"), false);
    spec(fx.path(), &server.url, "key=\"repo.gpg\"");
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rootfs::package-signature"), "{stderr}");
    assert!(stderr.contains("unsigned"), "{stderr}");
    spec(fx.path(), &server.url, "trusted=#true");
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_tampered_packages_file_is_refused() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    // A version no other test uses: the store keeps every index it checked by sha256, and a
    // Packages file it already holds would never be fetched again.
    let deb = Deb {
        version: "1.0-tampered",
        ..good_deb()
    };
    let (_server, repo, _gpg) = served(&fx, &[deb], 0);
    let mut text = fs::read_to_string(repo.packages_path()).unwrap();
    text = text.replace("Priority: optional", "Priority: required");
    fs::write(repo.packages_path(), text).unwrap();
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rootfs::package-signature"), "{stderr}");
    assert!(stderr.contains("main/binary-amd64/Packages"), "{stderr}");
}

#[test]
fn a_package_larger_than_its_index_says_is_refused() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let deb = Deb {
        version: "1.0-oversize",
        ..good_deb()
    };
    let (_server, _repo, _gpg) = served(&fx, &[deb], -10);
    let (code, stderr) = check(&fx);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
}

fn leftovers(store: &Path) -> Vec<String> {
    let dir = store.join("packages/rootfs");
    fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".layerc-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_package_with_dot_dot_names_is_refused_and_writes_nothing() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let store = fx.path().join("store");
    let deb = Deb {
        entries: vec![
            Entry::File("./etc/bar.conf", b"bar\n".to_vec()),
            Entry::File("./../../../escaped", b"x".to_vec()),
        ],
        ..good_deb()
    };
    let (_server, _repo, _gpg) = served(&fx, &[deb], 0);
    let out = crate::common::layerc_in(
        fx.path(),
        &["check"],
        &[("LAYERC_STORE", store.to_str().unwrap())],
    );
    let stderr = super::unwrapped(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("climbs out"), "{stderr}");
    assert!(leftovers(&store).is_empty());
    for dir in [fx.path(), &store, &store.join("packages")] {
        assert!(!dir.join("escaped").exists());
    }
}

#[test]
fn an_absolute_symlink_in_a_package_is_never_followed_outside() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().display().to_string();
    let deb = Deb {
        entries: vec![
            Entry::File("./etc/bar.conf", b"bar\n".to_vec()),
            Entry::Symlink("./usr/lib/evil", target.clone()),
            Entry::File("./usr/lib/evil/pwned", b"x".to_vec()),
        ],
        ..good_deb()
    };
    let (_server, _repo, _gpg) = served(&fx, &[deb], 0);
    let root = prepared(fx.path()).root;
    assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
    assert_eq!(
        fs::read_link(root.join("usr/lib/evil"))
            .unwrap()
            .display()
            .to_string(),
        target
    );
    assert!(
        root.join(target.trim_start_matches('/'))
            .join("pwned")
            .is_file()
    );
}

#[test]
fn a_locked_package_that_is_gone_or_changed_is_named() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let store = fx.path().join("store");
    let env = [("LAYERC_STORE", store.to_str().unwrap())];
    let deb = Deb {
        version: "1.0-relocked",
        ..good_deb()
    };
    let (_server, repo, _gpg) = served(&fx, &[deb], 0);
    let out = crate::common::layerc_in(fx.path(), &["lock"], &env);
    assert!(out.status.success(), "{}", super::unwrapped(&out.stderr));
    let pool = repo.root.join("pool/bar_1.0-relocked_amd64.deb");
    let changed = Deb {
        version: "1.0-relocked",
        entries: vec![Entry::File("./etc/bar.conf", b"changed\n".to_vec())],
        ..good_deb()
    };
    for gone in [false, true] {
        if gone {
            fs::remove_file(&pool).unwrap();
        } else {
            fs::write(&pool, changed.bytes()).unwrap();
        }
        fs::remove_dir_all(store.join("packages")).unwrap();
        let out = crate::common::layerc_in(fx.path(), &["build", "--locked"], &env);
        let stderr = super::unwrapped(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("lock::packages"), "{stderr}");
        assert!(
            stderr.contains("fetching bar 1.0-relocked (amd64)"),
            "{stderr}"
        );
        assert!(!fx.path().join("build").exists());
    }
}

/// An editor's session: the same spec analysed again with another package name resolves again
/// (the indexes it read are kept, the resolution is not).
#[test]
fn a_session_resolves_again_when_the_names_change() {
    let fx = Fixture::new();
    let other = Deb {
        name: "baz",
        entries: vec![Entry::File("./etc/baz.conf", b"baz\n".to_vec())],
        ..good_deb()
    };
    let repo = LocalApt::write(&fx.path().join("repo"), &[good_deb(), other], None, 0);
    let server = Server::start(&repo.root);
    layerc::cache_dir::choose(crate::common::test_store());
    let session = layerc::Session::default();
    let mut names = Vec::new();
    for package in ["bar", "baz"] {
        spec(fx.path(), &server.url, "trusted=#true");
        let text = fs::read_to_string(fx.path().join("layer.kdl"))
            .unwrap()
            .replace("package \"bar\"", &format!("package \"{package}\""));
        let source = layerc::diagnostic::SourceFile::new("layer.kdl", text);
        let analysis = session.analyze(source, fx.path(), crate::common::TODAY);
        let prepared = &analysis.packages[0].prepared;
        names.push(prepared.packages[0].name.clone());
    }
    assert_eq!(names, ["bar", "baz"]);
}
