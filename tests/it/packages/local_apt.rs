//! Local apt repositories for tests: `.deb` files written entry by entry (so that hostile names
//! can be written too), a `Packages` index, and a `Release` signed as `InRelease` with gpg.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::gpg::Gpg;

/// An entry of a data.tar: a name as written in the archive and what it is.
pub(crate) enum Entry {
    File(&'static str, Vec<u8>),
    Dir(&'static str),
    Symlink(&'static str, String),
}

pub(crate) struct Deb {
    pub name: &'static str,
    pub version: &'static str,
    pub depends: &'static str,
    pub entries: Vec<Entry>,
}

fn tar_header(name: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_old();
    // Written raw: the tar crate refuses `..` in names, which hostile packages need.
    let bytes = name.as_bytes();
    h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_600_000_000);
    h.set_cksum();
    h
}

fn data_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let (h, body): (tar::Header, &[u8]) = match e {
            Entry::File(name, body) => (
                tar_header(name, tar::EntryType::Regular, body.len() as u64, 0o644),
                body.as_slice(),
            ),
            Entry::Dir(name) => (tar_header(name, tar::EntryType::Directory, 0, 0o755), b""),
            Entry::Symlink(name, target) => {
                let mut h = tar_header(name, tar::EntryType::Symlink, 0, 0o777);
                h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                h.set_cksum();
                (h, b"")
            }
        };
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn ar_member(out: &mut Vec<u8>, name: &str, body: &[u8]) {
    out.extend(
        format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            "100644",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(b'\n');
    }
}

impl Deb {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let control = format!(
            "Package: {}\nVersion: {}\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: test\n",
            self.name, self.version
        );
        let control_tar = data_tar(&[Entry::File("./control", control.into_bytes())]);
        let mut out = b"!<arch>\n".to_vec();
        ar_member(&mut out, "debian-binary", b"2.0\n");
        ar_member(&mut out, "control.tar.gz", &gz(&control_tar));
        ar_member(&mut out, "data.tar.gz", &gz(&data_tar(&self.entries)));
        out
    }
}

/// A repository at `root/dists/test` with one component `main` for amd64.
pub(crate) struct LocalApt {
    pub root: PathBuf,
}

impl LocalApt {
    /// Writes the packages, the index (each size off by `size_delta`) and the Release, signed as
    /// InRelease with `gpg` (unless `None`).
    pub(crate) fn write(root: &Path, debs: &[Deb], gpg: Option<&Gpg>, size_delta: i64) -> LocalApt {
        let pool = root.join("pool");
        let dists = root.join("dists/test/main/binary-amd64");
        fs::create_dir_all(&pool).unwrap();
        fs::create_dir_all(&dists).unwrap();
        let mut packages = String::new();
        for d in debs {
            let bytes = d.bytes();
            let file = format!("{}_{}_amd64.deb", d.name, d.version);
            fs::write(pool.join(&file), &bytes).unwrap();
            let depends = if d.depends.is_empty() {
                String::new()
            } else {
                format!("Depends: {}\n", d.depends)
            };
            packages.push_str(&format!(
                "Package: {}\nVersion: {}\nArchitecture: amd64\nPriority: optional\n{depends}Filename: pool/{file}\nSize: {}\nSHA256: {}\n\n",
                d.name,
                d.version,
                bytes.len() as i64 + size_delta,
                layerc::digest::hex(&Sha256::digest(&bytes))
            ));
        }
        fs::write(dists.join("Packages"), &packages).unwrap();
        let release = format!(
            "Origin: test\nSuite: test\nCodename: test\nArchitectures: amd64\nComponents: main\nSHA256:\n {} {} main/binary-amd64/Packages\n",
            layerc::digest::hex(&Sha256::digest(packages.as_bytes())),
            packages.len()
        );
        let release_path = root.join("dists/test/Release");
        fs::write(&release_path, release).unwrap();
        if let Some(gpg) = gpg {
            gpg.clearsign(&release_path, &root.join("dists/test/InRelease"));
        }
        LocalApt {
            root: root.to_path_buf(),
        }
    }

    /// The Packages file, to tamper with after signing.
    pub(crate) fn packages_path(&self) -> PathBuf {
        self.root.join("dists/test/main/binary-amd64/Packages")
    }
}
