//! Root filesystems unpacked from real Debian 12 and Debian 11 packages (`apt-get download` +
//! `dpkg -x`), each built once per package list and shared by every test (and every test process)
//! through a cache folder under `target/tmp`, published with an atomic rename so parallel builders
//! never see half of it.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The libraries of every recipe in `specs/`, their Debian 12 dependencies (so `lddtree` resolves
/// everything), and `libc-bin` for `/etc/ld.so.conf`.
pub(crate) const PACKAGES: &[&str] = &[
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

/// A root filesystem to build: a name, the packages and where apt finds them.
struct Distribution {
    name: &'static str,
    packages: &'static [&'static str],
    /// `None`: the host's apt lists (Debian 12); `Some(suite)`: that suite of deb.debian.org, with
    /// apt state of its own under `target/tmp` (the host's apt configuration is not touched).
    suite: Option<&'static str>,
    /// Files written into the rootfs after unpacking: (path inside, contents).
    extra: &'static [(&'static str, &'static str)],
}

const DEBIAN12: Distribution = Distribution {
    name: "debian12",
    packages: PACKAGES,
    suite: None,
    extra: &[("etc/krb5.conf", KRB5_CONF)],
};

/// Debian 11's libgdiplus, libcups and ICU 67 (the ICU dotnet8 and dotnet10 install) with every
/// library they need: built for glibc 2.31, old enough for Amazon Linux 2023 (glibc 2.34), unlike
/// Debian 12's (2.36).
pub(crate) const BULLSEYE_GDIPLUS: &[&str] = &[
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libicu67",
    "libgdiplus",
    "libcups2",
    "libcairo2",
    "libexif12",
    "libfontconfig1",
    "fontconfig-config",
    "libfreetype6",
    "libgif7",
    "libglib2.0-0",
    "libjpeg62-turbo",
    "libpng16-16",
    "libtiff5",
    "libx11-6",
    "libavahi-client3",
    "libavahi-common3",
    "libdbus-1-3",
    "libsystemd0",
    "libgnutls30",
    "libgssapi-krb5-2",
    "libkrb5-3",
    "libk5crypto3",
    "libkrb5support0",
    "libcom-err2",
    "libkeyutils1",
    "libssl1.1",
    "libgmp10",
    "libhogweed6",
    "libnettle8",
    "libidn2-0",
    "libp11-kit0",
    "libtasn1-6",
    "libunistring2",
    "libffi7",
    "libpcre3",
    "libmount1",
    "libblkid1",
    "libselinux1",
    "libpcre2-8-0",
    "libuuid1",
    "libpixman-1-0",
    "libxcb1",
    "libxau6",
    "libxdmcp6",
    "libbsd0",
    "libmd0",
    "libxcb-render0",
    "libxcb-shm0",
    "libxext6",
    "libxrender1",
    "libexpat1",
    "libbrotli1",
    "zlib1g",
    "libjbig0",
    "libwebp6",
    "libdeflate0",
    "libzstd1",
    "liblzma5",
    "liblz4-1",
    "libgcrypt20",
    "libgpg-error0",
    "libcap2",
    "libcrypt1",
    "libbz2-1.0",
    "libacl1",
    "libattr1",
];

const BULLSEYE: Distribution = Distribution {
    name: "debian11-gdiplus",
    packages: BULLSEYE_GDIPLUS,
    suite: Some("bullseye"),
    extra: &[],
};

/// What the recipes' `debian "bullseye"` blocks unpack, as layer.lock pins it for each (the named
/// packages and their dependencies, Essential packages left out), all recipes together, and
/// `libc-bin` for `/etc/ld.so.conf`.
pub(crate) const BULLSEYE_RECIPES: &[&str] = &[
    "libc-bin",
    "libc6",
    "libcrypt1",
    "libgcc-s1",
    "gcc-10-base",
    "libstdc++6",
    "zlib1g",
    "liblzma5",
    "libzstd1",
    // gdiplus
    "libgdiplus",
    "libcairo2",
    "libpixman-1-0",
    "libglib2.0-0",
    "libffi7",
    "libpcre3",
    "libmount1",
    "libblkid1",
    "libselinux1",
    "libpcre2-8-0",
    "libexif12",
    "libgif7",
    "libjpeg62-turbo",
    "libtiff5",
    "libjbig0",
    "libdeflate0",
    "libwebp6",
    "libx11-6",
    "libx11-data",
    "libxau6",
    "libxdmcp6",
    "libbsd0",
    "libmd0",
    "libxcb1",
    "libxcb-render0",
    "libxcb-shm0",
    "libxext6",
    "libxrender1",
    // fontconfig-freetype (and gdiplus)
    "libfontconfig1",
    "fontconfig-config",
    "fonts-dejavu-core",
    "libfreetype6",
    "libpng16-16",
    "libbrotli1",
    "libexpat1",
    "libuuid1",
    "debconf",
    "ucf",
    "sensible-utils",
    // icu, libxml2-libxslt
    "libicu67",
    "libxml2",
    "libxslt1.1",
    "libgcrypt20",
    "libgpg-error0",
];

const BULLSEYE_RECIPE_PACKAGES: Distribution = Distribution {
    name: "debian11-recipes",
    packages: BULLSEYE_RECIPES,
    suite: Some("bullseye"),
    extra: &[],
};

/// The recipes' Debian 11 packages ([`BULLSEYE_RECIPES`]) unpacked, or `None` as [`rootfs`].
pub(crate) fn bullseye_recipes_rootfs() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| built(&BULLSEYE_RECIPE_PACKAGES))
        .as_deref()
}

/// Debian 11's fontconfig (`fc-match`) with the libraries it needs and the DejaVu fonts: built for
/// glibc 2.31, old enough for Amazon Linux 2023. `/etc/layer-fonts/fonts.conf` is a configuration
/// a user writes for the layer: fonts under /opt, the cache in /tmp.
pub(crate) const BULLSEYE_FONTCONFIG: &[&str] = &[
    "libc6",
    "fontconfig",
    "fontconfig-config",
    "libfontconfig1",
    "libfreetype6",
    "libpng16-16",
    "libexpat1",
    "libbrotli1",
    "zlib1g",
    "libuuid1",
    "fonts-dejavu-core",
];

const LAYER_FONTS_CONF: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\n  <dir>/opt/share/fonts</dir>\n  <cachedir>/tmp/fontconfig</cachedir>\n</fontconfig>\n";

const BULLSEYE_FONTS: Distribution = Distribution {
    name: "debian11-fontconfig",
    packages: BULLSEYE_FONTCONFIG,
    suite: Some("bullseye"),
    extra: &[("etc/layer-fonts/fonts.conf", LAYER_FONTS_CONF)],
};

/// A Debian 11 rootfs with fontconfig's `fc-match` ([`BULLSEYE_FONTCONFIG`]), or `None` as [`rootfs`].
pub(crate) fn bullseye_fontconfig_rootfs() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| built(&BULLSEYE_FONTS)).as_deref()
}

/// The shared rootfs, or `None` (with a message) when `apt-get download` cannot run here.
/// With `CI=true` that is a failure instead: CI has apt.
pub(crate) fn rootfs() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| built(&DEBIAN12)).as_deref()
}

/// A Debian 11 rootfs with libgdiplus and libcups ([`BULLSEYE_GDIPLUS`]), or `None` as [`rootfs`].
pub(crate) fn bullseye_gdiplus_rootfs() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| built(&BULLSEYE)).as_deref()
}

fn built(distribution: &Distribution) -> Option<PathBuf> {
    crate::tier::oracle(&["apt-get", "dpkg-deb"])?;
    match build(distribution) {
        Ok(dir) => Some(dir),
        Err(why) => crate::tier::skip_or_fail(format!(
            "the {} rootfs cannot be built: {why}",
            distribution.name
        )),
    }
}

fn cache_key(d: &Distribution) -> u64 {
    let mut h = DefaultHasher::new();
    (d.packages, d.suite, d.extra).hash(&mut h);
    h.finish()
}

fn build(d: &Distribution) -> Result<PathBuf, String> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let key = cache_key(d);
    let dir = base.join(format!("{}-rootfs-{key:016x}", d.name));
    if dir.is_dir() {
        return Ok(dir);
    }
    let work = base.join(format!(
        ".{}-rootfs-{key:016x}-{}",
        d.name,
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&work);
    let result = download_and_unpack(d, &work).and_then(|root| match fs::rename(&root, &dir) {
        Ok(()) => Ok(dir.clone()),
        // Another process published the same package list first.
        Err(_) if dir.is_dir() => Ok(dir.clone()),
        Err(e) => Err(format!("cannot move {} into place: {e}", root.display())),
    });
    let _ = fs::remove_dir_all(&work);
    result
}

/// apt options that read `suite` from lists of its own in `work/apt`, after fetching them.
pub(crate) fn apt_options(suite: &str, work: &Path) -> Result<Vec<String>, String> {
    let apt = work.join("apt");
    for sub in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(apt.join(sub)).map_err(|e| e.to_string())?;
    }
    let sources = apt.join("sources.list");
    let line = format!(
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {suite} main\n"
    );
    fs::write(&sources, line).map_err(|e| e.to_string())?;
    fs::write(apt.join("status"), "").map_err(|e| e.to_string())?;
    let options: Vec<String> = [
        ("Dir::Etc::SourceList", sources.display().to_string()),
        (
            "Dir::Etc::SourceParts",
            apt.join("none").display().to_string(),
        ),
        ("Dir::State::Lists", apt.join("lists").display().to_string()),
        ("Dir::Cache", apt.join("cache").display().to_string()),
        (
            "Dir::State::Status",
            apt.join("status").display().to_string(),
        ),
    ]
    .iter()
    .flat_map(|(k, v)| ["-o".to_string(), format!("{k}={v}")])
    .collect();
    apt_get(&options, &["update"], work)?;
    Ok(options)
}

fn apt_get(options: &[String], args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new("apt-get")
        .args(options)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("apt-get: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "apt-get {} failed (run `apt-get update` first?): {}",
            args[0],
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Downloads every package into `work/debs` and unpacks them into `work/root`.
fn download_and_unpack(d: &Distribution, work: &Path) -> Result<PathBuf, String> {
    let debs = work.join("debs");
    let root = work.join("root");
    fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    fs::create_dir_all(root.join("etc")).map_err(|e| e.to_string())?;
    let options = match d.suite {
        Some(suite) => apt_options(suite, work)?,
        None => Vec::new(),
    };
    let mut args = vec!["download"];
    args.extend(d.packages);
    apt_get(&options, &args, &debs)?;
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
    if count != d.packages.len() {
        return Err(format!(
            "{count} packages downloaded, {} asked for",
            d.packages.len()
        ));
    }
    for (path, contents) in d.extra {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a file in a folder"))
            .map_err(|e| e.to_string())?;
        fs::write(path, contents).map_err(|e| e.to_string())?;
    }
    Ok(root)
}
