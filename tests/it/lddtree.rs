//! The dependency graph checked against `lddtree` (pax-utils), an oracle written elsewhere: on this
//! machine's real libraries (rootfs `/`) and on compiled fixtures (`lddtree --root`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

use layerc::resolve::Status;
use layerc::runtime::{Catalog, Provision};

use crate::common::*;

/// One line of `lddtree -a` output: depth, needed name, path (None when not found).
pub(crate) struct TreeLine {
    pub depth: usize,
    pub name: String,
    pub path: Option<String>,
}

/// Runs Debian's lddtree (it needs Debian's python with pyelftools) on one file.
pub(crate) fn lddtree(root: Option<&Path>, file: &str) -> Vec<TreeLine> {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("/usr/bin/lddtree").arg("-a");
    if let Some(root) = root {
        cmd.arg("-R").arg(root);
    }
    let out = cmd
        .arg(file)
        .output()
        .expect("lddtree runs: apt-get install pax-utils");
    assert!(
        out.status.success(),
        "lddtree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let trimmed = line.trim_start();
            let depth = (line.len() - trimmed.len()) / 4;
            let (name, path) = trimmed.split_once(" => ").expect("lddtree line");
            let path = (path != "None" && !path.starts_with("not found")).then(|| path.to_string());
            TreeLine {
                depth,
                name: name.to_string(),
                path,
            }
        })
        .collect()
}

/// Node names, edges by name, and each name's real path.
pub(crate) type Expected = (
    BTreeSet<String>,
    BTreeSet<(String, String)>,
    BTreeMap<String, String>,
);

/// The expected graph from lddtree's full tree: children of each name (from its first occurrence),
/// expanded breadth first from the roots but not below names the runtime provides.
pub(crate) fn expected(
    trees: &[(String, Vec<TreeLine>)],
    provided: &dyn Fn(&str) -> bool,
) -> Expected {
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for (root, lines) in trees {
        let mut stack: Vec<String> = vec![root.clone()];
        for l in lines {
            stack.truncate(l.depth);
            let parent = stack.last().unwrap().clone();
            let entry = children.entry(parent).or_default();
            if !entry.contains(&l.name) {
                entry.push(l.name.clone());
            }
            if let Some(p) = &l.path {
                let real = std::fs::canonicalize(p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                paths.entry(l.name.clone()).or_insert(real);
            }
            stack.push(l.name.clone());
        }
    }
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    let mut queue: VecDeque<String> = trees.iter().map(|(r, _)| r.clone()).collect();
    while let Some(n) = queue.pop_front() {
        if !nodes.insert(n.clone()) || provided(&n) {
            continue;
        }
        for c in children.get(&n).into_iter().flatten() {
            edges.insert((n.clone(), c.clone()));
            queue.push_back(c.clone());
        }
    }
    (nodes, edges, paths)
}

/// Compares layerc's graph of `layer.kdl` with lddtree's on `libs` (soname, path as lddtree takes
/// it). `root` is passed to `lddtree --root`; `prefix` is the host folder of layerc's rootfs.
fn compare(
    fx: &Fixture,
    root: Option<&Path>,
    prefix: Option<&Path>,
    libs: &[(&str, &str)],
    runtime: &str,
) {
    let analysis = fx.analyze();
    let layer = &analysis.layers[0];
    let g = &layer.graph;
    let catalog = Catalog::builtin();
    let provision = Provision::new(catalog, [runtime], layer.graph.arch).unwrap();
    let provided = |n: &str| provision.is_glibc(n) || provision.has(n);
    let trees: Vec<(String, Vec<TreeLine>)> = libs
        .iter()
        .map(|(soname, path)| (soname.to_string(), lddtree(root, path)))
        .collect();
    let (want_nodes, want_edges, mut want_paths) = expected(&trees, &provided);
    for (soname, path) in libs {
        let on_host = match root {
            Some(r) => r.join(path.trim_start_matches('/')),
            None => Path::new(path).to_path_buf(),
        };
        let real = std::fs::canonicalize(on_host)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        want_paths.insert(soname.to_string(), real);
    }

    let got_nodes: BTreeSet<String> = g.nodes().map(|(_, n)| n.name.clone()).collect();
    let got_edges: BTreeSet<(String, String)> = g
        .edges()
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got_nodes, want_nodes, "nodes differ from lddtree");
    assert_eq!(got_edges, want_edges, "edges differ from lddtree");
    let host_root = prefix.map(|r| std::fs::canonicalize(r).unwrap());
    for (_, n) in g.nodes() {
        let Some(found) = &n.found else {
            assert!(
                !want_paths.contains_key(&n.name),
                "{} found by lddtree only",
                n.name
            );
            continue;
        };
        let ours = match &host_root {
            Some(r) => format!("{}{}", r.display(), found.real),
            None => found.real.to_string(),
        };
        assert_eq!(Some(&ours), want_paths.get(&n.name), "path of {}", n.name);
        if !provided(&n.name) {
            assert_eq!(n.status, Status::Shipped, "{}", n.name);
        }
    }
}

#[test]
fn host_libraries_match_lddtree() {
    let Some(()) = crate::tier::oracle(&["/usr/bin/python3", "/usr/bin/lddtree"]) else {
        return;
    };
    let multiarch = "/usr/lib/x86_64-linux-gnu";
    let libs: Vec<(&str, String)> = [
        "libfreetype.so.6",
        "libxml2.so.2",
        "libcurl.so.4",
        "libgssapi_krb5.so.2",
        "libsqlite3.so.0",
        "libicui18n.so.72",
    ]
    .iter()
    .map(|s| (*s, format!("{multiarch}/{s}")))
    .filter(|(_, p)| Path::new(p).exists())
    .collect();
    assert!(
        libs.len() >= 4,
        "this machine lacks the libraries the test reads: {libs:?}"
    );
    let fx = Fixture::new();
    let lines: String = libs
        .iter()
        .map(|(s, _)| format!("    library \"{s}\"\n"))
        .collect();
    fx.spec(&format!(
        "layer \"host\" {{\n    runtime \"provided.al2023\"\n    rootfs \"/\"\n{lines}}}\n"
    ));
    let pairs: Vec<(&str, &str)> = libs.iter().map(|(s, p)| (*s, p.as_str())).collect();
    compare(&fx, None, None, &pairs, "provided.al2023");
}

#[test]
fn fixture_rpath_and_runpath_match_lddtree() {
    let Some(()) = crate::tier::oracle(&["/usr/bin/python3", "/usr/bin/lddtree"]) else {
        return;
    };
    let fx = Fixture::new();
    // libleaf only in a private folder named by libmid's DT_RUNPATH; libmid by libtop's DT_RPATH.
    fx.lib("/opt/app/private/libleaf.so.1", "libleaf.so.1", "leaf");
    fx.cc_lib(
        "/opt/app/mid/libmid.so.2",
        "libmid.so.2",
        &c_calls("mid", "leaf"),
        &["/opt/app/private/libleaf.so.1"],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/app/private"],
    );
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "mid"),
        &["/opt/app/mid/libmid.so.2"],
        &["-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/app/mid"],
    );
    fx.spec(
        "layer \"fx\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libtop.so.1\"\n}\n",
    );
    let root = fx.path().join("rootfs");
    compare(
        &fx,
        Some(&root),
        Some(&root),
        &[("libtop.so.1", "/usr/lib64/libtop.so.1")],
        "provided.al2023",
    );
    let analysis = fx.analyze();
    assert_eq!(
        real_of(&analysis, "libleaf.so.1").unwrap(),
        "/opt/app/private/libleaf.so.1"
    );
}

#[test]
fn fixture_origin_matches_lddtree() {
    let Some(()) = crate::tier::oracle(&["/usr/bin/python3", "/usr/bin/lddtree"]) else {
        return;
    };
    // $ORIGIN needs no --root: lddtree expands it from the file's own folder, as the loader does.
    let fx = Fixture::new();
    fx.lib("/opt/app/private/libleaf.so.1", "libleaf.so.1", "leaf");
    fx.cc_lib(
        "/opt/app/lib/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "leaf"),
        &["/opt/app/private/libleaf.so.1"],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/../private"],
    );
    fx.spec(
        "layer \"fx\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"/opt/app/lib/libtop.so.1\"\n}\n",
    );
    let root = fx.path().join("rootfs");
    let host = root.join("opt/app/lib/libtop.so.1");
    compare(
        &fx,
        None,
        Some(&root),
        &[("libtop.so.1", host.to_str().unwrap())],
        "provided.al2023",
    );
}
