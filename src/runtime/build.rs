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
    std::fs::write(
        Path::new(&out).join("digest.txt"),
        format!("{:08x}", digest >> 32),
    )
    .expect("OUT_DIR is writable");
}
