//! A local signed RPM repository, built with `rpmbuild` and `createrepo_c` and served on
//! 127.0.0.1: the package set layerc resolves is dnf's (`dnf --installroot ... --downloadonly`),
//! the unpacked files are `rpm2cpio | cpio`'s, and a tampered package is refused.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::gpg::Gpg;
use super::server::Server;
use super::tree::assert_same;
use super::{have, prepared, run};
use crate::common::Fixture;

const TOOLS: &[&str] = &[
    "rpmbuild",
    "createrepo_c",
    "dnf",
    "rpm2cpio",
    "cpio",
    "gpg",
    "cc",
];

/// One test package: name, version, arch, extra spec lines, %install script, %files.
struct Pkg(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const PACKAGES: &[Pkg] = &[
    // A real shared object: rpmbuild's elfdeps gives it the soname provide libfoo.so.1()(64bit).
    Pkg(
        "libfoo",
        "1.0",
        "x86_64",
        "",
        "mkdir -p %{buildroot}/usr/lib64\ncp $LIBFOO %{buildroot}/usr/lib64/libfoo.so.1\nchmod 755 %{buildroot}/usr/lib64/libfoo.so.1\nln -s libfoo.so.1 %{buildroot}/usr/lib64/libfoo.so",
        "/usr/lib64/libfoo.so.1\n/usr/lib64/libfoo.so",
    ),
    // A file dependency's provider: primary.xml lists /etc files.
    Pkg(
        "foo-config",
        "1.0",
        "noarch",
        "",
        "mkdir -p %{buildroot}/etc\necho conf > %{buildroot}/etc/foo.conf",
        "%config /etc/foo.conf",
    ),
    // Two versions: the higher one wins.
    Pkg(
        "foo-data",
        "1.0",
        "noarch",
        "",
        "mkdir -p %{buildroot}/usr/share/foo\necho one > %{buildroot}/usr/share/foo/data",
        "/usr/share/foo",
    ),
    Pkg(
        "foo-data",
        "1.2",
        "noarch",
        "Provides: foo-content = 3",
        "mkdir -p %{buildroot}/usr/share/foo\necho two > %{buildroot}/usr/share/foo/data\nln -s /usr/share/foo/data %{buildroot}/usr/share/foo/absolute",
        "/usr/share/foo",
    ),
    // Soname, file, versioned, virtual and rich dependencies; a hard link in the payload.
    Pkg(
        "foo-tools",
        "2.0",
        "x86_64",
        "Requires: libfoo.so.1()(64bit)\nRequires: /etc/foo.conf\nRequires: foo-data >= 1.1\nRequires: foo-content >= 2\nRequires: (foo-extra or foo-data)",
        "mkdir -p %{buildroot}/usr/bin\nprintf '#!/bin/sh\\necho foo\\n' > %{buildroot}/usr/bin/footool\nchmod 755 %{buildroot}/usr/bin/footool\nln %{buildroot}/usr/bin/footool %{buildroot}/usr/bin/footool2",
        "/usr/bin/footool\n/usr/bin/footool2",
    ),
    Pkg(
        "unrelated",
        "1.0",
        "noarch",
        "",
        "mkdir -p %{buildroot}/opt\necho x > %{buildroot}/opt/x",
        "/opt/x",
    ),
];

struct Repo {
    fx: Fixture,
    gpg: Gpg,
    repo: PathBuf,
}

/// Builds the packages, signs them (`rpm --addsign`, when `sign_packages`) and the repository
/// metadata (`repomd.xml.asc`), and writes the public key beside the spec.
fn build_repo(sign_packages: bool) -> Repo {
    let fx = Fixture::new();
    let top = fx.path().join("rpmbuild");
    let libfoo = fx.path().join("libfoo.so.1");
    fs::write(fx.path().join("foo.c"), "int foo(void) { return 42; }\n").unwrap();
    run(Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-nostdlib",
            "-Wl,-soname,libfoo.so.1",
            "-o",
        ])
        .arg(&libfoo)
        .arg(fx.path().join("foo.c")));
    for Pkg(name, version, arch, extra, install, files) in PACKAGES {
        let spec = top.join(format!("{name}-{version}.spec"));
        fs::create_dir_all(&top).unwrap();
        fs::write(
            &spec,
            format!("Name: {name}\nVersion: {version}\nRelease: 1\nSummary: {name}\nLicense: MIT\nBuildArch: {arch}\nAutoReq: no\n{extra}\n%description\n{name}\n%install\n{install}\n%files\n{files}\n"),
        )
        .unwrap();
        run(Command::new("rpmbuild")
            .env("LIBFOO", &libfoo)
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args([
                "--define",
                "__strip /bin/true",
                "--define",
                "debug_package %{nil}",
            ])
            .args(["-bb", "--target", arch])
            .arg(&spec));
    }
    let repo = fx.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    let mut rpms = Vec::new();
    for arch in ["x86_64", "noarch"] {
        for f in fs::read_dir(top.join("RPMS").join(arch)).unwrap() {
            let from = f.unwrap().path();
            let to = repo.join(from.file_name().unwrap());
            fs::copy(&from, &to).unwrap();
            rpms.push(to);
        }
    }
    let gpg = Gpg::new("rpm-repo");
    if sign_packages {
        run(Command::new("rpm")
            .env("GNUPGHOME", gpg.home())
            .arg("--define")
            .arg(format!("_gpg_name {}", gpg.uid))
            // Debian's rpm names gpg2, which Debian's gnupg no longer installs.
            .args(["--define", "__gpg /usr/bin/gpg"])
            .arg("--addsign")
            .args(&rpms));
    }
    run(Command::new("createrepo_c").arg("--quiet").arg(&repo));
    let repomd = repo.join("repodata/repomd.xml");
    gpg.detach_sign(&repomd, &repo.join("repodata/repomd.xml.asc"));
    gpg.export(&fx.path().join("RPM-GPG-KEY-test"), true);
    Repo { fx, gpg, repo }
}

fn write_spec(dir: &Path, url: &str, package: &str) {
    fs::write(
        dir.join("layer.kdl"),
        format!(
            "layer \"foo\" {{\n    runtime \"provided.al2023\"\n    rootfs {{\n        rpm \"{url}\" key=\"RPM-GPG-KEY-test\" {{\n            package \"{package}\"\n        }}\n    }}\n    library \"libfoo.so.1\"\n}}\n"
        ),
    )
    .unwrap();
}

/// dnf's answer: the packages `dnf install --downloadonly` fetches into an empty installroot.
fn dnf_set(r: &Repo, url: &str, package: &str) -> BTreeSet<(String, String)> {
    let work = r.fx.path().join("dnf");
    let repos = work.join("repos.d");
    fs::create_dir_all(&repos).unwrap();
    fs::write(
        repos.join("local.repo"),
        format!(
            "[local]\nname=local\nbaseurl={url}/\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{}\n",
            r.fx.path().join("RPM-GPG-KEY-test").display()
        ),
    )
    .unwrap();
    let dest = work.join("downloads");
    run(Command::new("dnf")
        .args([
            "-y",
            "-q",
            "--releasever=1",
            "--setopt=install_weak_deps=False",
        ])
        .arg(format!("--installroot={}", work.join("root").display()))
        .arg(format!("--setopt=reposdir={}", repos.display()))
        .arg(format!(
            "--setopt=cachedir={}",
            work.join("cache").display()
        ))
        .arg("--downloadonly")
        .arg(format!("--destdir={}", dest.display()))
        .args(["install", package]));
    fs::read_dir(&dest)
        .unwrap()
        .map(|f| {
            let out = run(Command::new("rpm")
                .args([
                    "-qp",
                    "--nosignature",
                    "--qf",
                    "%{NAME} %{VERSION}-%{RELEASE}",
                ])
                .arg(f.unwrap().path()));
            let text = String::from_utf8(out.stdout).unwrap();
            let (n, v) = text.split_once(' ').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect()
}

/// The files of the packages unpacked with `rpm2cpio | cpio -idm`, in name order.
fn rpm2cpio_tree(r: &Repo, files: &[String], into: &Path) {
    fs::create_dir_all(into).unwrap();
    for file in files {
        let rpm = r.repo.join(file);
        run(Command::new("sh")
            .arg("-c")
            .arg("rpm2cpio \"$1\" | cpio -idm --quiet --no-absolute-filenames")
            .arg("sh")
            .arg(&rpm)
            .current_dir(into));
    }
}

#[test]
fn a_signed_rpm_repository_resolves_as_dnf_does_and_unpacks_as_rpm2cpio() {
    if !have(TOOLS) {
        return;
    }
    let r = build_repo(true);
    let server = Server::start(&r.repo);
    write_spec(r.fx.path(), &server.url, "foo-tools");
    let ours = prepared(r.fx.path());
    let got: BTreeSet<(String, String)> = ours
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, dnf_set(&r, &server.url, "foo-tools"));
    assert!(ours.sources[0].1.starts_with("sha256:"));
    let files: Vec<String> = ours
        .packages
        .iter()
        .map(|p| p.url.rsplit('/').next().unwrap().to_string())
        .collect();
    let theirs = r.fx.path().join("rpm2cpio");
    rpm2cpio_tree(&r, &files, &theirs);
    assert_same(&ours.root, &theirs, "rpm2cpio | cpio");
    // The whole command: the layer ships libfoo.so.1 from the package rootfs, and the lock pins
    // every package file.
    let out = r.fx.layerc(&["build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = fs::read_to_string(r.fx.path().join("layer.lock")).unwrap();
    assert!(
        lock.contains("package \"libfoo\" version=\"1.0-1\" arch=\"x86_64\""),
        "{lock}"
    );
    assert!(lock.contains("request \"foo-tools\""), "{lock}");
    drop(r.gpg);
}

#[test]
fn a_tampered_rpm_is_refused() {
    if !have(TOOLS) {
        return;
    }
    let r = build_repo(true);
    let rpm = fs::read_dir(&r.repo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("libfoo")
        })
        .unwrap();
    let mut bytes = fs::read(&rpm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&rpm, bytes).unwrap();
    let server = Server::start(&r.repo);
    write_spec(r.fx.path(), &server.url, "foo-tools");
    let out = r.fx.layerc(&["check"]);
    let stderr = super::unwrapped(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("rootfs::package-signature"), "{stderr}");
    assert!(stderr.contains("libfoo-1.0-1.x86_64.rpm"), "{stderr}");
}

#[test]
fn without_a_signed_repomd_each_package_signature_is_checked() {
    if !have(TOOLS) {
        return;
    }
    for signed in [true, false] {
        let r = build_repo(signed);
        fs::remove_file(r.repo.join("repodata/repomd.xml.asc")).unwrap();
        let server = Server::start(&r.repo);
        write_spec(r.fx.path(), &server.url, "foo-tools");
        let out = r.fx.layerc(&["check"]);
        let stderr = super::unwrapped(&out.stderr);
        if signed {
            assert_eq!(out.status.code(), Some(0), "{stderr}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("carries no OpenPGP signature"), "{stderr}");
        }
    }
}
