//! `layerc gc` trims the package store least recently used first: an unpacked folder goes with the
//! package files only it was made of, a package file two folders share is counted and kept once, a
//! repository's signed index goes with the files it names, and a folder a running process holds
//! stays.

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::gpg::Gpg;
use super::have;
use super::local_apt::{Deb, Entry, LocalApt};
use super::server::Server;
use crate::common::{Fixture, files_under, layerc_in, stderr};
use crate::gc_tools::{Editor, freed, gc, inodes, removed_size, used_ago};

fn deb(name: &'static str, depends: &'static str, file: &'static str) -> Deb {
    Deb {
        name,
        version: "1.0-1",
        depends,
        entries: vec![
            Entry::Dir("./etc/"),
            Entry::File(file, format!("{name}\n").into_bytes()),
        ],
    }
}

/// A signed repository where `one` and `two` both depend on `base`, served.
fn repository(fx: &Fixture) -> Server {
    let gpg = Gpg::new("apt-repo");
    gpg.export(&fx.path().join("repo.gpg"), false);
    let debs = [
        deb("base", "", "./etc/base.conf"),
        deb("one", "base", "./etc/one.conf"),
        deb("two", "base", "./etc/two.conf"),
    ];
    let repo = LocalApt::write(&fx.path().join("repo"), &debs, Some(&gpg), 0);
    Server::start(&repo.root)
}

/// A folder whose spec asks for `package` from `url` and ships its configuration file.
fn spec_for(fx: &Fixture, url: &str, package: &str) -> std::path::PathBuf {
    let dir = fx.path().join(package);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(fx.path().join("repo.gpg"), dir.join("repo.gpg")).unwrap();
    fs::write(
        dir.join("layer.kdl"),
        format!("layer \"{package}\" {{\n    runtime \"provided.al2023\"\n    rootfs {{\n        apt \"{url}\" suite=\"test\" key=\"repo.gpg\" {{\n            package \"{package}\"\n        }}\n    }}\n    file \"/etc/{package}.conf\" to=\"etc/{package}.conf\"\n}}\n"),
    )
    .unwrap();
    dir
}

fn build(dir: &Path, store: &Path) {
    let out = layerc_in(
        dir,
        &["build"],
        &[("LAYERC_STORE", store.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The unpacked folder of the only layer of the spec in `dir` (the store key its lock gives).
fn folder_key(store: &Path, sha256: &str) -> String {
    let rootfs = store.join("packages/rootfs");
    files_under(&rootfs)
        .iter()
        .filter_map(|f| f.strip_suffix(".used"))
        .find(|key| {
            fs::read_to_string(rootfs.join(format!("{key}.used")))
                .unwrap()
                .contains(sha256)
        })
        .unwrap_or_else(|| panic!("no folder keeps {sha256}"))
        .to_string()
}

/// The sha256 of the package file named `name` that the lock in `dir` pins.
fn locked(dir: &Path, name: &str) -> String {
    let lock = layerc::lock::parse(&fs::read_to_string(dir.join("layer.lock")).unwrap()).unwrap();
    lock.layers[0]
        .packages
        .files
        .iter()
        .find(|p| p.name == name)
        .unwrap()
        .sha256
        .clone()
}

#[test]
fn gc_trims_unpacked_folders_and_counts_a_shared_package_once() {
    if !have(&["gpg"]) {
        return;
    }
    let fx = Fixture::new();
    let server = repository(&fx);
    let store = fx.path().join("store");
    let (one, two) = (
        spec_for(&fx, &server.url, "one"),
        spec_for(&fx, &server.url, "two"),
    );
    build(&one, &store);
    build(&two, &store);
    let files = store.join("packages/files/sha256");
    let (one_deb, base_deb) = (locked(&one, "one"), locked(&one, "base"));
    assert_eq!(base_deb, locked(&two, "base"));
    let key = folder_key(&store, &one_deb);
    let rootfs = store.join("packages/rootfs");
    used_ago(
        &rootfs.join(format!("{key}.used")),
        Duration::from_secs(7200),
    );
    let before = inodes(&store.join("packages"));
    // Two zips, two unpacked folders and the repository's index: keep four.
    let report = gc(&store, &["--keep", "4"]);
    assert!(report.contains(": 1 entries and"), "{report}");
    let size = removed_size(&report, &format!("package rootfs {key}"));
    // Its size is what leaving it freed: its folder and `one`'s file, not the shared `base`.
    assert_eq!(size, freed(&before, &inodes(&store.join("packages"))));
    assert!(!rootfs.join(&key).exists() && !files.join(&one_deb).exists());
    assert!(files.join(&base_deb).is_file());
    // The index goes with the files it names; `two`'s folder and files stay while it is in use.
    let editor = Editor::open(&two, &[("LAYERC_STORE", store.to_str().unwrap())]);
    let report = gc(&store, &["--keep", "0"]);
    assert!(
        report.contains(&format!("removed package index {}", server.url)),
        "{report}"
    );
    assert!(report.contains("kept package rootfs "), "{report}");
    let mut left = files_under(&files);
    left.sort();
    let mut kept = vec![base_deb.clone(), locked(&two, "two")];
    kept.sort();
    assert_eq!(left, kept);
    // A folder nobody holds goes, with everything it kept.
    drop(editor);
    let report = gc(&store, &["--keep", "0"]);
    assert!(report.contains("removed package rootfs "), "{report}");
    for dir in ["files", "rootfs", "signed"] {
        let left = files_under(&store.join("packages").join(dir));
        assert_eq!(left, Vec::<String>::new(), "{dir}: {report}");
    }
}
