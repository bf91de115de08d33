//! Turns the runtime catalog (`specs/runtimes/*.kdl`) into a plain JSON tree at build time: the
//! KDL parser keeps every byte of formatting and takes tens of milliseconds on the catalog, which
//! every command would otherwise pay at start-up. `load.rs` beside this file reads the tree.

use std::path::Path;

use kdl::KdlDocument;

#[path = "tree.rs"]
mod tree;

/// Data that no check depends on (AWS's base image per runtime): outside the catalog version, so
/// changing it changes no lock.
const UNVERSIONED: [&str; 1] = ["base-images"];
const FILES: [&str; 6] = [
    "os-bases",
    "os-provides",
    "runtimes",
    "runtime-folders",
    "dotnet",
    "interpreters",
];

pub fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // FNV-1a over the data (not the comments): any change of a fact changes the catalog version.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for name in FILES.iter().chain(&UNVERSIONED) {
        let path = format!("specs/runtimes/{name}.kdl");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc: KdlDocument = text
            .parse()
            .unwrap_or_else(|e| panic!("{path} is not valid KDL: {e:?}"));
        let tree = tree::document(&doc).to_string();
        for byte in tree.bytes().filter(|_| FILES.contains(name)) {
            digest = (digest ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        std::fs::write(Path::new(&out).join(format!("{name}.json")), tree)
            .expect("OUT_DIR is writable");
    }
    let digest = format!("{:08x}", digest >> 32);
    std::fs::write(Path::new(&out).join("digest.txt"), &digest).expect("OUT_DIR is writable");
    // The data version for `layerc --version`, as `Catalog::version` reads it at run time.
    let bases = std::fs::read_to_string("specs/runtimes/os-bases.kdl").unwrap_or_default();
    let date = bases
        .lines()
        .find_map(|l| l.strip_prefix("catalog-version \""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("unknown");
    println!("cargo:rustc-env=LAYERC_CATALOG_VERSION={date}.{digest}");
}
