//! The recipes of `specs/` as written: each that names packages, with its rootfs the Debian 11
//! packages its block names (and the dependencies layer.lock pins for them) fetched by
//! `apt-get download` and unpacked by `dpkg -x`, checked against `lddtree` and `readelf` as
//! `recipes.rs` checks the Debian 12 rootfs. specs/README.md says what each ships.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::recipes::{RECIPES, check, recipe_as_written, shipped};

/// Each recipe that names packages, as written: its default runtime and what it ships from its
/// Debian 11 packages. Every one passes: no library needs a symbol version above the runtime's.
const AS_WRITTEN: &[(&str, &str, &[&str])] = &[
    (
        "fontconfig-freetype",
        "provided.al2023",
        &[
            "libbrotlicommon.so.1",
            "libbrotlidec.so.1",
            "libexpat.so.1",
            "libfontconfig.so.1",
            "libfreetype.so.6",
            "libpng16.so.16",
        ],
    ),
    (
        "gdiplus",
        "dotnet10",
        &[
            "libX11.so.6",
            "libXau.so.6",
            "libXdmcp.so.6",
            "libXext.so.6",
            "libXrender.so.1",
            "libbrotlicommon.so.1",
            "libbrotlidec.so.1",
            "libbsd.so.0",
            "libcairo.so.2",
            "libdeflate.so.0",
            "libexif.so.12",
            "libexpat.so.1",
            "libfontconfig.so.1",
            "libfreetype.so.6",
            "libgdiplus.so.0",
            "libgif.so.7",
            "libjbig.so.0",
            "libjpeg.so.62",
            "libmd.so.0",
            "libpixman-1.so.0",
            "libpng16.so.16",
            "libtiff.so.5",
            "libwebp.so.6",
            "libxcb-render.so.0",
            "libxcb-shm.so.0",
            "libxcb.so.1",
        ],
    ),
    (
        "icu",
        "provided.al2023",
        &["libicudata.so.67", "libicui18n.so.67", "libicuuc.so.67"],
    ),
    ("libcrypt1", "nodejs22.x", &["libcrypt.so.1"]),
    ("libuuid", "provided.al2", &[]),
    (
        "libxml2-libxslt",
        "python3.13",
        &["libexslt.so.0", "libxslt.so.1"],
    ),
];

#[test]
fn every_package_recipe_passes_with_its_debian_11_packages() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    for name in RECIPES {
        let text = fs::read_to_string(specs.join(format!("{name}.kdl"))).unwrap();
        let listed = AS_WRITTEN.iter().any(|(n, _, _)| n == name);
        assert_eq!(listed, text.contains("rootfs {"), "{name}");
    }
    for (name, runtime, ships) in AS_WRITTEN {
        let Some((fx, root)) = recipe_as_written(name) else {
            return;
        };
        let text = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
        assert!(text.contains(&format!("runtime \"{runtime}\"")), "{name}");
        let (analysis, over) = check(&fx, root, runtime);
        assert!(over.is_empty(), "{name}: {over:?}");
        let want: BTreeSet<&str> = ships.iter().copied().collect();
        assert_eq!(shipped(&analysis), want, "{name}");
    }
}
