//! Turns the runtime catalog (`specs/runtimes/*.kdl`) into a plain JSON tree at build time: the
//! KDL parser keeps every byte of formatting and takes tens of milliseconds on the catalog, which
//! every command would otherwise pay at start-up. `load.rs` beside this file reads the tree.
//! The listings (`os-provides`, `runtime-folders`: thousands of sonames) are grouped by the base or
//! runtime they belong to (`listings.rs`), so a command reads those of the runtime it uses.

use std::path::Path;

use kdl::KdlDocument;

#[path = "tree.rs"]
mod tree;

/// Data that no check depends on (AWS's base image per runtime): outside the catalog version, so
/// changing it changes no lock.
const UNVERSIONED: [&str; 1] = ["base-images"];
/// The files of listings, with the property naming each listing's owner.
const LISTINGS: [(&str, &str); 2] = [("os-provides", "os"), ("runtime-folders", "runtime")];
const FILES: [&str; 6] = [
    "os-bases",
    "os-provides",
    "runtimes",
    "runtime-folders",
    "dotnet",
    "interpreters",
];

pub(crate) fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // FNV-1a over the data (not the comments): any change of a fact changes the catalog version.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut grouped = String::new();
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
        match LISTINGS.iter().find(|(file, _)| file == name) {
            Some((_, key)) => grouped.push_str(&by_owner(name, key, &doc)),
            None => std::fs::write(Path::new(&out).join(format!("{name}.json")), tree)
                .expect("OUT_DIR is writable"),
        }
    }
    std::fs::write(Path::new(&out).join("listings.rs"), grouped).expect("OUT_DIR is writable");
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

/// `pub(super) const OS_PROVIDES: &[(&str, &str)]`: each owner (in the order first named) with the
/// JSON tree of its listings, in the order written.
fn by_owner(name: &str, key: &str, doc: &KdlDocument) -> String {
    let mut owners: Vec<(String, Vec<&kdl::KdlNode>)> = Vec::new();
    for node in doc.nodes() {
        let owner = node
            .get(key)
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| panic!("{name}.kdl: `{}` needs {key}=", node.name().value()));
        match owners.iter_mut().find(|(o, _)| o == owner) {
            Some((_, nodes)) => nodes.push(node),
            None => owners.push((owner.to_string(), vec![node])),
        }
    }
    let constant = name.replace('-', "_").to_uppercase();
    let mut rs = format!("pub(super) const {constant}: &[(&str, &str)] = &[\n");
    for (owner, nodes) in owners {
        let tree = serde_json::Value::Array(nodes.into_iter().map(tree::node).collect());
        rs.push_str(&format!("    ({owner:?}, {:?}),\n", tree.to_string()));
    }
    rs.push_str("];\n");
    rs
}
