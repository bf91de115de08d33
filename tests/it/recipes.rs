//! The ready-made recipes of `specs/`, with their rootfs a folder of real packages fetched by
//! `apt-get download` and unpacked by `dpkg -x`: the recipes' own Debian 11 packages (what their
//! `debian "bullseye"` blocks name, with the dependencies layer.lock pins), and Debian 12's, whose
//! libraries are too new for some runtimes. Oracles written elsewhere decide what is right:
//! `lddtree` (pax-utils) for the libraries a recipe must ship (its closure minus what the runtime
//! provides), and `readelf` (binutils) for which of them need symbol versions above the runtime's
//! ceilings. The tests also pin the outcome that specs/README.md documents for each recipe.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use layerc::Analysis;
use layerc::arch::Architecture;
use layerc::diagnostic::Severity;
use layerc::resolve::Status;
use layerc::runtime::{Catalog, OsBase, Provision, split_symbol_version};

use crate::common::*;
use crate::debian;
use crate::lddtree::{expected, lddtree};

/// One `abi::symbol-version` finding: (object, version, needed file).
pub(crate) type Over = (String, String, String);

/// Every recipe in `specs/`; each has a test below.
pub(crate) const RECIPES: &[&str] = &[
    "fontconfig-freetype",
    "gdiplus",
    "icu",
    "krb5-gssapi",
    "libcrypt1",
    "libuuid",
    "libxml2-libxslt",
];

/// A recipe copied into a fresh folder beside `rootfs` → the Debian 12 rootfs, with `edits`
/// applied (each must match). `None` when the rootfs cannot be built here (see `debian::rootfs`).
pub(crate) fn recipe(name: &str, edits: &[(&str, &str)]) -> Option<(Fixture, &'static Path)> {
    recipe_on(debian::rootfs()?, name, edits)
}

/// A recipe as written, beside `rootfs` → its own Debian 11 packages unpacked
/// (`debian::BULLSEYE_RECIPES`, which must hold every package the recipe names).
pub(crate) fn recipe_as_written(name: &str) -> Option<(Fixture, &'static Path)> {
    let text = fs::read_to_string(recipe_path(name)).expect("recipe exists");
    for line in text.lines().map(str::trim) {
        if let Some(package) = line.strip_prefix("package \"") {
            let package = package.split('"').next().unwrap();
            let listed = debian::BULLSEYE_RECIPES.contains(&package);
            assert!(listed, "{name} names {package}, not in BULLSEYE_RECIPES");
        }
    }
    recipe_on(debian::bullseye_recipes_rootfs()?, name, &[])
}

fn recipe_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("specs/{name}.kdl"))
}

fn recipe_on(
    root: &'static Path,
    name: &str,
    edits: &[(&str, &str)],
) -> Option<(Fixture, &'static Path)> {
    assert!(RECIPES.contains(&name), "{name} is not in RECIPES");
    let path = recipe_path(name);
    let mut text = folder_rootfs(&fs::read_to_string(&path).expect("recipe exists"));
    for (from, to) in edits {
        assert!(text.contains(from), "{name}.kdl has no `{from}`");
        text = text.replace(from, to);
    }
    let fx = Fixture::new();
    fs::remove_dir(fx.path().join("rootfs")).unwrap();
    symlink(root, fx.path().join("rootfs")).unwrap();
    fx.spec(&text);
    Some((fx, root))
}

/// A recipe's text with its package rootfs block replaced by `rootfs "rootfs"`: these tests read
/// folders unpacked by dpkg (the package rootfs itself is built in `packages::debian11`).
pub(crate) fn folder_rootfs(text: &str) -> String {
    let Some(start) = text.find("    rootfs {\n") else {
        return text.to_string();
    };
    let end = start
        + text[start..]
            .find("\n    }\n")
            .expect("the rootfs block closes")
        + 7;
    format!("{}    rootfs \"rootfs\"\n{}", &text[..start], &text[end..])
}

fn os_of(runtime: &str) -> &'static OsBase {
    let catalog = Catalog::builtin();
    catalog.os(&catalog.runtime(runtime).unwrap().os).unwrap()
}

/// What the runtime provides on x86_64, from its OS base or its own folders (`/var/lang/lib`).
fn provision(runtime: &str) -> Provision<'static> {
    Provision::new(Catalog::builtin(), [runtime], Architecture::X86_64).unwrap()
}

fn provided(p: &Provision, name: &str) -> bool {
    p.is_glibc(name) || p.has(name)
}

/// What the layer must ship by lddtree: the closure of each requested library inside `root`, not
/// expanded below what the runtime provides, minus what it provides. Soname → host path.
fn lddtree_shipped(analysis: &Analysis, root: &Path, p: &Provision) -> BTreeMap<String, String> {
    let g = &analysis.layers[0].graph;
    let trees: Vec<_> = g
        .roots
        .iter()
        .map(|&i| {
            let node = &g.graph[i];
            let real = node
                .found
                .as_ref()
                .expect("requested library found")
                .real
                .as_str();
            (node.name.clone(), lddtree(Some(root), real))
        })
        .collect();
    let (nodes, _, paths) = expected(&trees, &|n| provided(p, n));
    let host = |n: &String| match paths.get(n) {
        Some(p) => p.clone(),
        None => {
            let i = g.find(n).unwrap();
            let real = g.graph[i].found.as_ref().unwrap().real.as_str();
            let p = root.join(real.trim_start_matches('/'));
            fs::canonicalize(p).unwrap().to_string_lossy().into_owned()
        }
    };
    nodes
        .iter()
        .filter(|n| !provided(p, n))
        .map(|n| (n.clone(), host(n)))
        .collect()
}

/// `readelf -V` of one file: (needed file, version) pairs of its `.gnu.version_r`.
fn readelf_needs(path: &str) -> Vec<(String, String)> {
    let out = Command::new("readelf")
        .args(["-V", "--wide", path])
        .output()
        .expect("readelf runs (binutils)");
    assert!(out.status.success(), "readelf failed on {path}");
    let mut file = String::new();
    let mut needs = Vec::new();
    // Only the needs section: the definitions section has `Name:` lines too.
    let mut in_needs = false;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("Version ") {
            in_needs = line.starts_with("Version needs section");
        } else if !in_needs {
            continue;
        } else if let Some(rest) = line.split_once("File: ").map(|(_, r)| r) {
            file = rest.split_whitespace().next().unwrap().to_string();
        } else if let Some(rest) = line.split_once("Name: ").map(|(_, r)| r) {
            needs.push((
                file.clone(),
                rest.split_whitespace().next().unwrap().to_string(),
            ));
        }
    }
    needs
}

/// The symbol-version findings readelf predicts: for each shipped object and each file it needs
/// that is not shipped with it, the highest version per namespace above the runtime's ceiling.
fn readelf_over(shipped: &BTreeMap<String, String>, os: &OsBase) -> BTreeSet<Over> {
    let arch = layerc::arch::Architecture::X86_64;
    let mut out = BTreeSet::new();
    for (soname, path) in shipped {
        let mut highest: BTreeMap<(String, String), (_, String)> = BTreeMap::new();
        for (file, name) in readelf_needs(path) {
            let Some((ns, version)) = split_symbol_version(&name) else {
                continue;
            };
            let over = os.ceiling(arch, ns).is_some_and(|c| &version > c);
            if shipped.contains_key(&file) || !over {
                continue;
            }
            let key = (file, ns.to_string());
            if highest.get(&key).is_none_or(|(v, _)| &version > v) {
                highest.insert(key, (version, name));
            }
        }
        for ((file, _), (_, name)) in highest {
            out.insert((soname.clone(), name, file));
        }
    }
    out
}

/// layerc's `abi::symbol-version` findings, read back from "X needs V from F; ..." (one object),
/// or from the notes "X needs V from F (chain)" of a finding that lists several.
fn layerc_over(analysis: &Analysis) -> BTreeSet<Over> {
    analysis
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str() == "abi::symbol-version")
        .flat_map(|d| match d.notes.is_empty() {
            true => vec![d.message.clone()],
            false => d.notes.clone(),
        })
        .map(|line| {
            let (object, rest) = line.split_once(" needs ").unwrap();
            let (version, rest) = rest.split_once(" from ").unwrap();
            let file = rest.split([';', ' ']).next().unwrap();
            (object.to_string(), version.to_string(), file.to_string())
        })
        .collect()
}

/// Checks a recipe against both oracles and returns the analysis and its symbol-version findings.
/// Every error must be one of those findings.
pub(crate) fn check(fx: &Fixture, root: &Path, runtime: &str) -> (Analysis, BTreeSet<Over>) {
    let analysis = fx.analyze();
    let os = os_of(runtime);
    let want = lddtree_shipped(&analysis, root, &provision(runtime));
    let g = &analysis.layers[0].graph;
    let got: BTreeSet<&String> = g
        .nodes()
        .filter(|(_, n)| n.status == Status::Shipped)
        .map(|(_, n)| &n.name)
        .collect();
    assert_eq!(
        got,
        want.keys().collect(),
        "shipped sonames differ from lddtree's"
    );
    let over = layerc_over(&analysis);
    assert_eq!(
        over,
        readelf_over(&want, os),
        "symbol-version findings differ from readelf's"
    );
    let errors: Vec<&str> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.code.as_str())
        .collect();
    assert!(
        errors.iter().all(|c| *c == "abi::symbol-version"),
        "unexpected errors:\n{}",
        rendered(&analysis)
    );
    (analysis, over)
}

/// The objects named by symbol-version findings.
fn over_objects(over: &BTreeSet<Over>) -> BTreeSet<&str> {
    over.iter().map(|(o, _, _)| o.as_str()).collect()
}

/// Builds with the real binary and lists the zip with unzip (another oracle).
pub(crate) fn build_entries(fx: &Fixture) -> Vec<String> {
    let out = fx.layerc(&["build"]);
    assert!(out.status.success(), "build failed:\n{}", stderr(&out));
    let zip = fs::read_dir(fx.path().join("build"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .unwrap();
    let listing = Command::new("unzip").arg("-Z1").arg(&zip).output().unwrap();
    stdout(&listing).lines().map(str::to_string).collect()
}

fn lib_entries(want: &BTreeSet<&str>) -> Vec<String> {
    let mut v: Vec<String> = want.iter().map(|s| format!("lib/{s}")).collect();
    v.insert(0, "lib/".to_string());
    v
}

pub(crate) fn shipped(analysis: &Analysis) -> BTreeSet<&str> {
    let g = &analysis.layers[0].graph;
    g.nodes()
        .filter(|(_, n)| n.status == Status::Shipped)
        .map(|(_, n)| n.name.as_str())
        .collect()
}

#[test]
fn gdiplus_from_debian12_is_too_new_for_al2023() {
    let Some((fx, root)) = recipe("gdiplus", &[]) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "dotnet10");
    assert_eq!(
        over_objects(&over),
        BTreeSet::from(["libcairo.so.2", "libexpat.so.1"])
    );
    let g = &analysis.layers[0].graph;
    let gdiplus = &g.graph[g.find("libgdiplus.so.0").unwrap()];
    assert!(
        gdiplus.aliases.contains("libgdiplus.so"),
        "{:?}",
        gdiplus.aliases
    );
    for lib in [
        "libcairo.so.2",
        "libpixman-1.so.0",
        "libX11.so.6",
        "libexpat.so.1",
        "libpango-1.0.so.0",
        "libharfbuzz.so.0",
    ] {
        assert!(shipped(&analysis).contains(lib), "{lib} is not shipped");
    }
}

#[test]
fn icu_from_debian12_fits_al2023_since_gcc_14() {
    let Some((fx, root)) = recipe("icu", &[(".so.67", ".so.72")]) else {
        return;
    };
    // ICU 72 needs GLIBCXX_3.4.30; Amazon Linux 2023 has had GLIBCXX_3.4.33 since 2025-06-04.
    let (analysis, over) = check(&fx, root, "provided.al2023");
    assert!(over.is_empty(), "{over:?}");
    let libs = BTreeSet::from(["libicudata.so.72", "libicui18n.so.72", "libicuuc.so.72"]);
    assert_eq!(shipped(&analysis), libs);
}

#[test]
fn krb5_gssapi_ships_only_the_configuration() {
    let Some((fx, root)) = recipe("krb5-gssapi", &[]) else {
        return;
    };
    let (_, over) = check(&fx, root, "dotnet10");
    assert!(over.is_empty());
    assert_eq!(build_entries(&fx), ["etc/", "etc/krb5.conf"]);
    // Why no library: its whole closure is provided by the runtime (lddtree, catalog).
    let edit = (
        "    file \"/etc/krb5.conf\"",
        "    library \"libgssapi_krb5.so.2\"\n    file \"/etc/krb5.conf\"",
    );
    let Some((fx, root)) = recipe("krb5-gssapi", &[edit]) else {
        return;
    };
    let (analysis, _) = check(&fx, root, "dotnet10");
    assert!(shipped(&analysis).is_empty(), "{:?}", shipped(&analysis));
    assert_eq!(codes(&analysis)[0], "resolve::provided");
}

#[test]
fn libxml2_libxslt_from_debian12_passes_al2023() {
    let Some((fx, root)) = recipe("libxml2-libxslt", &[]) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "python3.13");
    assert!(over.is_empty(), "{over:?}");
    assert_eq!(
        shipped(&analysis),
        BTreeSet::from(["libexslt.so.0", "libxslt.so.1"])
    );
    assert_eq!(build_entries(&fx), lib_entries(&shipped(&analysis)));
}

/// The ceiling check on a whole closure: Debian 12 (glibc 2.36) against Amazon Linux 2 (2.26).
#[test]
fn libxml2_libxslt_from_debian12_exceeds_al2_ceilings() {
    let edit = [("runtime \"python3.13\"", "runtime \"python3.11\"")];
    let Some((fx, root)) = recipe("libxml2-libxslt", &edit) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "python3.11");
    assert!(
        shipped(&analysis).contains("libxml2.so.2"),
        "Amazon Linux 2 lacks libxml2"
    );
    for lib in [
        "libxslt.so.1",
        "libexslt.so.0",
        "libxml2.so.2",
        "libicuuc.so.72",
    ] {
        assert!(over_objects(&over).contains(lib), "{lib}: {over:?}");
    }
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!fx.path().join("build").exists());
}

#[test]
fn libuuid_from_debian12_is_provided_on_al2() {
    let Some((fx, root)) = recipe("libuuid", &[]) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "provided.al2");
    assert!(over.is_empty(), "{over:?}");
    // The listings dumped inside Lambda show libuuid.so.1 on Amazon Linux 2 since 2023: provided,
    // so the layer ships nothing and says why.
    assert!(shipped(&analysis).is_empty());
    assert_eq!(codes(&analysis)[0], "resolve::provided");
}

#[test]
fn libcrypt1_from_debian12_needs_glibc_2_36() {
    let Some((fx, root)) = recipe("libcrypt1", &[]) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "nodejs22.x");
    let want = (
        "libcrypt.so.1".to_string(),
        "GLIBC_2.36".to_string(),
        "libc.so.6".to_string(),
    );
    assert_eq!(over, BTreeSet::from([want]));
    assert_eq!(shipped(&analysis), BTreeSet::from(["libcrypt.so.1"]));
}

#[test]
fn fontconfig_freetype_from_debian12_fails_on_expat() {
    let Some((fx, root)) = recipe("fontconfig-freetype", &[]) else {
        return;
    };
    let (analysis, over) = check(&fx, root, "provided.al2023");
    assert_eq!(over_objects(&over), BTreeSet::from(["libexpat.so.1"]));
    // The configuration: conf.d's links into /usr/share/fontconfig are followed inside the rootfs.
    let paths = plan_paths(&analysis);
    assert!(paths.contains(&"etc/fonts/fonts.conf"), "{paths:?}");
    let conf_d = paths
        .iter()
        .filter(|p| p.starts_with("etc/fonts/conf.d/"))
        .count();
    let on_disk = fs::read_dir(root.join("etc/fonts/conf.d")).unwrap().count();
    assert!(
        conf_d > 10 && conf_d <= on_disk,
        "{conf_d} of {on_disk} conf.d files"
    );
}

/// A new recipe needs a test here and a section in specs/README.md; a recipe's layer is named after
/// its file, so recipes combine in one spec without clashing.
#[test]
fn every_recipe_is_tested_and_documented() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut found: Vec<String> = fs::read_dir(&specs)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".kdl").map(str::to_string))
        .collect();
    found.sort();
    assert_eq!(found, RECIPES);
    let readme = fs::read_to_string(specs.join("README.md")).unwrap();
    for name in RECIPES {
        assert!(
            readme.contains(&format!("[{name}.kdl]({name}.kdl)")),
            "{name} not in the table"
        );
        assert!(
            readme.contains(&format!("\n## {name}\n")),
            "{name} has no section"
        );
        let text = fs::read_to_string(specs.join(format!("{name}.kdl"))).unwrap();
        assert!(
            text.contains(&format!("layer \"{name}\"")),
            "{name}.kdl names its layer otherwise"
        );
        assert!(
            text.contains("rootfs \"rootfs\"")
                || text.contains("rootfs {\n        debian \"bullseye\""),
            "{name}.kdl reads neither ./rootfs nor Debian 11's packages"
        );
    }
}
