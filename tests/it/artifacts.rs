//! Real artifacts no one here wrote, fetched at test time with their ordinary clients (`apt-get
//! download`, `pip download`, `npm pack`) into a cache under `target/tmp`, pinned by version and
//! checked by sha256, then unpacked. They belong to the oracle tier ([`crate::tier`]): with the
//! tier off nothing is fetched and the test skips; with it on, a failed fetch is
//! [`crate::tier::skip_or_fail`] (CI has the network).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

/// A pinned download: the client's argument, the file it writes and that file's sha256.
pub(crate) struct Pinned {
    pub file: &'static str,
    pub sha256: &'static str,
}

/// The cache folder holding unpacked artifacts.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts")
}

/// `Some(value)`, or `None` after printing why the test skips: the oracle tier is off, or (a
/// failure under `CI=true`) `what` could not be had.
pub(crate) fn or_skip<T>(what: &str, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(_) if !crate::tier::oracles() => {
            eprintln!(
                "skipped: {what} is for the oracle tier ({}=1)",
                crate::tier::SWITCH
            );
            None
        }
        Err(why) => crate::tier::skip_or_fail(format!("{what}: {why}")),
    }
}

/// A scratch folder name no other test (thread or process) uses at the same time.
fn scratch_name(pin: &Pinned) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(".{}-{}-{n}", pin.file, std::process::id())
}

/// Downloads `pin.file` with `client` into the cache unless present, and checks its sha256.
fn fetch(pin: &Pinned, client: &mut Command) -> Result<PathBuf, String> {
    if !crate::tier::oracles() {
        return Err("the oracle tier is off".into());
    }
    let dir = cache().join("downloads");
    let path = dir.join(pin.file);
    if !path.is_file() {
        let work = dir.join(scratch_name(pin));
        fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let out = client
            .current_dir(&work)
            .output()
            .map_err(|e| format!("{:?}: {e}", client.get_program()))?;
        if !out.status.success() {
            let _ = fs::remove_dir_all(&work);
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let moved = fs::rename(work.join(pin.file), &path);
        let _ = fs::remove_dir_all(&work);
        moved.map_err(|e| format!("{} was not downloaded: {e}", pin.file))?;
    }
    let bytes = fs::read(&path).map_err(|e| e.to_string())?;
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hash, pin.sha256,
        "{} changed under its pinned version",
        pin.file
    );
    Ok(path)
}

/// Unpacks a fetched file into `cache/<name>` once (published by rename), with `unpack(file, dir)`.
fn unpacked(
    pin: &Pinned,
    file: &Path,
    unpack: impl Fn(&Path, &Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let dir = cache().join(pin.file.replace('/', "_") + ".d");
    if dir.is_dir() {
        return Ok(dir);
    }
    let work = cache().join(scratch_name(pin));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    unpack(file, &work)?;
    match fs::rename(&work, &dir) {
        Ok(()) => Ok(dir),
        Err(_) if dir.is_dir() => {
            let _ = fs::remove_dir_all(&work);
            Ok(dir)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A Debian package (`name=version`), unpacked with `dpkg-deb -x`.
pub(crate) fn deb(package: &str, version: &str, pin: &Pinned) -> Result<PathBuf, String> {
    let mut client = Command::new("apt-get");
    client.arg("download").arg(format!("{package}={version}"));
    let file = fetch(pin, &mut client)?;
    unpacked(pin, &file, |deb, dir| {
        run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dir))
    })
}
/// A wheel from PyPI (`name==version` for `platform`, CPython 3.12): the file, and its contents
/// unpacked.
pub(crate) fn wheel(
    requirement: &str,
    platform: &str,
    pin: &Pinned,
) -> Result<(PathBuf, PathBuf), String> {
    wheel_for(requirement, "3.12", platform, pin)
}

/// A wheel from PyPI for CPython `python` (`3.9`): the file, and its contents unpacked.
pub(crate) fn wheel_for(
    requirement: &str,
    python: &str,
    platform: &str,
    pin: &Pinned,
) -> Result<(PathBuf, PathBuf), String> {
    let mut client = Command::new("python3");
    client.args([
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
    ]);
    client.args([
        "--python-version",
        python,
        "--platform",
        platform,
        requirement,
    ]);
    let file = fetch(pin, &mut client)?;
    let dir = unpacked(pin, &file, |whl, dir| {
        run(Command::new("unzip").arg("-q").arg(whl).arg("-d").arg(dir))
    })?;
    Ok((file, dir))
}

/// An npm package tarball (`name@version`, from `npm pack`), unpacked (its files under `package/`).
pub(crate) fn npm(spec: &str, pin: &Pinned) -> Result<PathBuf, String> {
    let mut client = Command::new("npm");
    client.args(["pack", "--silent", spec]);
    let file = fetch(pin, &mut client)?;
    unpacked(pin, &file, |tgz, dir| {
        run(Command::new("tar").arg("xzf").arg(tgz).arg("-C").arg(dir))
    })
}
