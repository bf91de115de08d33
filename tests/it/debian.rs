//! A root filesystem unpacked from real Debian 12 packages (`apt-get download` + `dpkg -x`), built
//! once per package list and shared by every test (and every test process) through a cache folder
//! under `target/tmp`, published with an atomic rename so parallel builders never see half of it.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The libraries of every recipe in `specs/`, their Debian 12 dependencies (so `lddtree` resolves
/// everything), and `libc-bin` for `/etc/ld.so.conf`.
pub const PACKAGES: &[&str] = &[
    "libc6",
    "libc-bin",
    "libgcc-s1",
    "libstdc++6",
    "zlib1g",
    // libgdiplus and its graphics stack
    "libgdiplus",
    "libcairo2",
    "libpixman-1-0",
    "libglib2.0-0",
    "libpcre2-8-0",
    "libffi8",
    "libmount1",
    "libblkid1",
    "libselinux1",
    "libpango-1.0-0",
    "libpangocairo-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz0b",
    "libgraphite2-3",
    "libfribidi0",
    "libthai0",
    "libdatrie1",
    "libjpeg62-turbo",
    "libtiff6",
    "libjbig0",
    "liblerc4",
    "libdeflate0",
    "libwebp7",
    "liblzma5",
    "libzstd1",
    "libgif7",
    "libexif12",
    "libx11-6",
    "libxcb1",
    "libxau6",
    "libxdmcp6",
    "libbsd0",
    "libmd0",
    "libxcb-render0",
    "libxcb-shm0",
    "libxext6",
    "libxrender1",
    // ICU
    "libicu72",
    // Kerberos
    "libkrb5-3",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkrb5support0",
    "libcom-err2",
    "libkeyutils1",
    "libssl3",
    // libxml2, libxslt
    "libxml2",
    "libxslt1.1",
    "libgcrypt20",
    "libgpg-error0",
    // libuuid, libcrypt
    "libuuid1",
    "libcrypt1",
    // fontconfig, FreeType
    "libfontconfig1",
    "libfreetype6",
    "fontconfig-config",
    "libpng16-16",
    "libexpat1",
    "libbrotli1",
];

/// The realm configuration a user writes into their rootfs (no Debian package ships one).
const KRB5_CONF: &str = "[libdefaults]\n    default_realm = EXAMPLE.COM\n\n[realms]\n    EXAMPLE.COM = {\n        kdc = kdc.example.com\n    }\n";

/// The shared rootfs, or `None` (with a message) when `apt-get download` cannot run here.
/// With `CI=true` that is a failure instead: CI has apt.
pub fn rootfs() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| match build() {
        Ok(dir) => Some(dir),
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("the Debian rootfs cannot be built in CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping the recipe tests: the Debian rootfs cannot be built: {why}");
            None
        }
    })
    .as_deref()
}

fn cache_key() -> u64 {
    let mut h = DefaultHasher::new();
    (PACKAGES, KRB5_CONF).hash(&mut h);
    h.finish()
}

fn build() -> Result<PathBuf, String> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = base.join(format!("debian12-rootfs-{:016x}", cache_key()));
    if dir.is_dir() {
        return Ok(dir);
    }
    let work = base.join(format!(
        ".debian12-rootfs-{:016x}-{}",
        cache_key(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&work);
    let result = download_and_unpack(&work).and_then(|root| match fs::rename(&root, &dir) {
        Ok(()) => Ok(dir.clone()),
        // Another process published the same package list first.
        Err(_) if dir.is_dir() => Ok(dir.clone()),
        Err(e) => Err(format!("cannot move {} into place: {e}", root.display())),
    });
    let _ = fs::remove_dir_all(&work);
    result
}

/// Downloads every package into `work/debs` and unpacks them into `work/root`.
fn download_and_unpack(work: &Path) -> Result<PathBuf, String> {
    let debs = work.join("debs");
    let root = work.join("root");
    fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    fs::create_dir_all(root.join("etc")).map_err(|e| e.to_string())?;
    let out = Command::new("apt-get")
        .arg("download")
        .args(PACKAGES)
        .current_dir(&debs)
        .output()
        .map_err(|e| format!("apt-get: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "apt-get download failed (run `apt-get update` first?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut count = 0;
    for deb in fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let deb = deb.map_err(|e| e.to_string())?.path();
        let status = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .status()
            .map_err(|e| format!("dpkg-deb: {e}"))?;
        if !status.success() {
            return Err(format!("dpkg-deb -x {} failed", deb.display()));
        }
        count += 1;
    }
    if count != PACKAGES.len() {
        return Err(format!(
            "{count} packages downloaded, {} asked for",
            PACKAGES.len()
        ));
    }
    fs::write(root.join("etc/krb5.conf"), KRB5_CONF).map_err(|e| e.to_string())?;
    Ok(root)
}
