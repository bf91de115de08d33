//! Real Debian 11 packages from deb.debian.org. The package set layerc resolves is apt's own
//! answer (`apt-get install --simulate` with an isolated sources list and state, on a system that
//! has Debian's Essential packages), the unpacked files are `dpkg -x`'s of the same .debs
//! (`apt-get download`), the layer zip is byte for byte the one built from that `dpkg -x` folder,
//! and `build --locked` with no network gives the same bytes from the store. Offline, the tests
//! skip with a message; with `CI=true` they fail.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::tree::assert_same;
use super::{have, prepared, run};
use crate::artifacts::or_skip;
use crate::common::{Fixture, layerc_in};

/// apt's options for an isolated bullseye state: its own sources list, lists, cache and a status
/// file listing the suite's Essential packages as installed and held (without their dependencies,
/// which a fresh install is not asked about).
fn apt_state() -> Option<&'static Vec<String>> {
    static STATE: OnceLock<Option<Vec<String>>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            if !have(&["apt-get", "dpkg-deb"]) {
                return None;
            }
            let work = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("apt-bullseye-{}", std::process::id()));
            let _ = fs::remove_dir_all(&work);
            let options = or_skip(
                "Debian 11's package lists",
                crate::debian::apt_options("bullseye", &work),
            )?;
            let status = essential_status(&options);
            fs::write(work.join("apt/status"), status).unwrap();
            Some(options)
        })
        .as_ref()
}

/// Status stanzas for every `Essential: yes` package apt knows (`apt-cache dumpavail`).
fn essential_status(options: &[String]) -> String {
    let out = run(Command::new("apt-cache").args(options).arg("dumpavail"));
    let text = String::from_utf8_lossy(&out.stdout);
    let keep = [
        "Package:",
        "Version:",
        "Architecture:",
        "Essential:",
        "Multi-Arch:",
        "Provides:",
    ];
    let mut status = String::new();
    for stanza in text.split("\n\n") {
        if !stanza.lines().any(|l| l == "Essential: yes") {
            continue;
        }
        // Held: the newer apt that runs here would otherwise "upgrade" an installed binary of a
        // source package whose other binaries are installed (its version hash differs, the
        // dependencies being left out), which apt 2.2 and layerc do not.
        status.push_str("Status: hold ok installed\n");
        for line in stanza
            .lines()
            .filter(|l| keep.iter().any(|k| l.starts_with(k)))
        {
            status.push_str(line);
            status.push('\n');
        }
        status.push('\n');
    }
    assert!(
        status.contains("Package: dpkg\n"),
        "no Essential package listed"
    );
    status
}

/// apt's answer for a fresh install of `packages`: (name, version) of each `Inst` line.
fn apt_answer(options: &[String], packages: &[&str]) -> BTreeSet<(String, String)> {
    let out = run(Command::new("apt-get")
        .args(options)
        .args([
            "-o",
            "APT::Install-Recommends=false",
            "-o",
            "Debug::NoLocking=1",
        ])
        .args(["install", "--simulate"])
        .args(packages));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .map(|l| {
            let (name, rest) = l.split_once(" (").unwrap();
            let version = rest.split_whitespace().next().unwrap();
            (name.to_string(), version.to_string())
        })
        .collect()
}

fn spec(runtime: &str, packages: &[&str], library: &str) -> String {
    let names: String = packages
        .iter()
        .map(|p| format!("            package \"{p}\"\n"))
        .collect();
    format!(
        "layer \"l\" {{\n    runtime \"{runtime}\"\n    rootfs {{\n        debian \"bullseye\" {{\n{names}        }}\n    }}\n    library \"{library}\"\n}}\n"
    )
}

fn same_set_as_apt(packages: &[&str], library: &str) {
    let Some(options) = apt_state() else { return };
    let fx = Fixture::new();
    fs::write(
        fx.path().join("layer.kdl"),
        spec("dotnet10", packages, library),
    )
    .unwrap();
    let ours: BTreeSet<(String, String)> = prepared(fx.path())
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    let theirs = apt_answer(options, packages);
    assert!(!theirs.is_empty());
    assert_eq!(
        ours, theirs,
        "layerc's set (left) differs from apt's (right)"
    );
}

#[test]
fn libgdiplus_brings_in_what_apt_installs() {
    same_set_as_apt(&["libgdiplus"], "libgdiplus.so.0");
}

#[test]
fn libxml2_and_libxslt_bring_in_what_apt_installs() {
    same_set_as_apt(&["libxml2", "libxslt1.1"], "libxslt.so.1");
}

#[test]
fn icu_brings_in_what_apt_installs() {
    same_set_as_apt(&["libicu67"], "libicuuc.so.67");
}

/// The lock's packages as `name=version`, each with its sha256.
fn locked_packages(dir: &Path) -> Vec<(String, String, String)> {
    let lock = layerc::lock::parse(&fs::read_to_string(dir.join("layer.lock")).unwrap()).unwrap();
    lock.layers[0]
        .packages
        .files
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.sha256.clone()))
        .collect()
}

/// The same packages fetched with `apt-get download` (checked to be the same files) and unpacked
/// with `dpkg-deb -x` in name order, into `root`.
fn dpkg_x(options: &[String], packages: &[(String, String, String)], work: &Path, root: &Path) {
    let debs = work.join("debs");
    fs::create_dir_all(&debs).unwrap();
    fs::create_dir_all(root).unwrap();
    let wanted: Vec<String> = packages
        .iter()
        .map(|(n, v, _)| format!("{n}={v}"))
        .collect();
    run(Command::new("apt-get")
        .args(options)
        .arg("download")
        .args(&wanted)
        .current_dir(&debs));
    for (name, version, sha256) in packages {
        let file = fs::read_dir(&debs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{name}_"))
            })
            .unwrap_or_else(|| panic!("apt-get download fetched no {name} {version}"));
        let digest = layerc::digest::hex(&Sha256::digest(fs::read(&file).unwrap()));
        assert_eq!(
            &digest,
            sha256,
            "{} is not the file layerc fetched",
            file.display()
        );
        run(Command::new("dpkg-deb").arg("-x").arg(&file).arg(root));
    }
}

fn only_dir(dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn the_gdiplus_layer_equals_one_from_dpkg_x_and_rebuilds_locked_offline() {
    let Some(options) = apt_state() else { return };
    let fx = Fixture::new();
    let store = fx.path().join("store");
    let env = [("LAYERC_STORE", store.to_str().unwrap())];
    fs::write(
        fx.path().join("layer.kdl"),
        spec("dotnet10", &["libgdiplus"], "libgdiplus.so.0"),
    )
    .unwrap();
    let out = layerc_in(fx.path(), &["build"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = fs::read(fx.path().join("build/l.zip")).unwrap();

    // The same packages, fetched by apt and unpacked by dpkg.
    let packages = locked_packages(fx.path());
    let other = fx.path().join("from-dpkg");
    dpkg_x(options, &packages, fx.path(), &other.join("rootfs"));
    assert_same(
        &only_dir(&store.join("packages/rootfs")),
        &other.join("rootfs"),
        "dpkg -x",
    );
    let folder_spec = spec("dotnet10", &["libgdiplus"], "libgdiplus.so.0").replace(
        "rootfs {\n        debian \"bullseye\" {\n            package \"libgdiplus\"\n        }\n    }",
        "rootfs \"rootfs\"",
    );
    fs::write(other.join("layer.kdl"), folder_spec).unwrap();
    let out = layerc_in(&other, &["build"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        built == fs::read(other.join("build/l.zip")).unwrap(),
        "the zips differ"
    );

    // No network, no unpacked rootfs and no stored zip: the locked build unpacks the stored
    // package files again and gives the same bytes.
    for dir in ["zips", "stat", "packages/rootfs"] {
        fs::remove_dir_all(store.join(dir)).unwrap();
    }
    let dead = "http://127.0.0.1:9";
    let offline = [
        env[0],
        ("HTTP_PROXY", dead),
        ("HTTPS_PROXY", dead),
        ("ALL_PROXY", dead),
        ("http_proxy", dead),
        ("https_proxy", dead),
        ("LAYERC_NET_TIMEOUT", "5"),
    ];
    let out = layerc_in(
        fx.path(),
        &["build", "--locked", "--out", "again"],
        &offline,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        built == fs::read(fx.path().join("again/l.zip")).unwrap(),
        "the locked build differs"
    );
}

/// Every recipe of `specs/` that names packages builds as written, on nothing but the network:
/// no rootfs prepared, no error.
#[test]
fn every_package_recipe_builds_from_debian_11() {
    if apt_state().is_none() {
        return;
    }
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut built = 0;
    for entry in fs::read_dir(&specs).unwrap().flatten() {
        if entry.path().extension().is_none_or(|e| e != "kdl") {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        if !text.contains("rootfs {") {
            continue;
        }
        let fx = Fixture::new();
        fs::write(fx.path().join("layer.kdl"), &text).unwrap();
        let out = fx.layerc(&["build", "--quiet"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", entry.path().display());
        built += 1;
    }
    assert!(built >= 6, "only {built} recipes name packages");
}

/// The README's second example builds without Docker: its spec names Debian 11's packages.
#[test]
fn the_dotnet_example_builds_without_docker() {
    if apt_state().is_none() {
        return;
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dotnet-gdiplus");
    let fx = Fixture::new();
    for file in ["layer.kdl", "serverless.template"] {
        fs::copy(example.join(file), fx.path().join(file)).unwrap();
    }
    let out = fx.layerc(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let zip = fs::read(fx.path().join("build/gdiplus.zip")).unwrap();
    let names = String::from_utf8_lossy(&zip);
    assert!(names.contains("lib/libgdiplus.so.0"), "{stderr}");
}
