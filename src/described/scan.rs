//! A runtime description read off a real root filesystem (`layerc runtime scan`, `target-rootfs`):
//! the shared objects in its library folders and the symbol-version ceilings of its glibc,
//! libstdc++ and libgcc_s, written in the catalog's own KDL format.

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::Architecture;
use crate::elf::ElfInfo;
use crate::resolve::search::{LdSoConf, SystemPaths};
use crate::rootfs::{self, Kind, RootFs, RootPath};
use crate::runtime::{Catalog, Ceilings, Listing, OsBase, Runtime, Version, split_symbol_version};

/// What to call the scanned runtime and how its loader is set up.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub name: String,
    /// The id of the OS base written; `<name>-os` when not given.
    pub base_id: Option<String>,
    pub arch: Architecture,
    /// The runtime's default LD_LIBRARY_PATH; `None` takes the catalog's most common one.
    pub ld_library_path: Option<Vec<String>>,
    /// How the source is named in `source` nodes (the ROOTFS argument).
    pub origin: String,
}

/// The objects whose version definitions give the ceilings, and the namespaces each one sets.
const CEILING_OBJECTS: [(&str, &[&str]); 3] = [
    ("libc.so.6", &["GLIBC"]),
    ("libstdc++.so.6", &["GLIBCXX", "CXXABI"]),
    ("libgcc_s.so.1", &["GCC"]),
];

/// Scans `fs` into an OS base and a runtime on it. Fails when the rootfs has no libc.so.6 of the
/// architecture (no ceilings can be read without it).
pub fn scan(fs: &dyn RootFs, opts: &ScanOptions) -> Result<(OsBase, Runtime), String> {
    let ld_library_path = opts
        .ld_library_path
        .clone()
        .unwrap_or_else(|| common_ld_library_path(Catalog::builtin()));
    let source = format!("layerc runtime scan of {}", opts.origin);
    let system = SystemPaths::new(&LdSoConf::read(fs), opts.arch);
    let mut seen = BTreeSet::new();
    let listing = |dir: &RootPath, seen: &mut BTreeSet<RootPath>| {
        let real = rootfs::resolve(fs, dir).ok()?;
        (real.meta.kind == Kind::Dir && seen.insert(real.path.clone()))
            .then(|| folder_listing(fs, dir, &real.path, opts.arch, &source))
            .filter(|l| !l.sonames.is_empty())
    };
    let listings: Vec<Listing> = system
        .all()
        .filter_map(|dir| listing(dir, &mut seen))
        .collect();
    // The runtime's own folders: those of its path outside the system folders, the function's
    // (/var/task) and the layers' (/opt).
    let own: Vec<Listing> = ld_library_path
        .iter()
        .filter(|d| !d.starts_with("/opt") && !d.starts_with("/var/task"))
        .filter_map(|d| listing(&RootPath::new(d), &mut seen))
        .collect();
    let search: Vec<RootPath> = own
        .iter()
        .map(|l| RootPath::new(&l.folder))
        .chain(system.all().cloned())
        .collect();
    let versions = ceilings(fs, &search, opts.arch)?;
    let os_id = opts
        .base_id
        .clone()
        .unwrap_or_else(|| format!("{}-os", opts.name));
    let os = OsBase {
        id: os_id.clone(),
        name: os_id.clone(),
        glibc: versions["GLIBC"].clone(),
        sources: vec![source.clone()],
        ceilings: BTreeMap::from([(
            opts.arch,
            Ceilings {
                versions,
                since: None,
                source: format!(
                    "{source}: version definitions of libc.so.6, libstdc++.so.6, libgcc_s.so.1"
                ),
            },
        )]),
        listings: listings.into(),
    };
    let rt = Runtime {
        id: opts.name.clone(),
        family: "custom".into(),
        os: os_id,
        architectures: vec![opts.arch],
        deprecated: None,
        block_create: None,
        block_update: None,
        successor: None,
        ld_library_path,
        folders: own.into(),
        origin: super::Origin::Described(source.clone()),
        sources: vec![source],
        dotnet: None,
        interpreter: Default::default(),
    };
    Ok((os, rt))
}

/// The default LD_LIBRARY_PATH most runtimes of the catalog share.
fn common_ld_library_path(catalog: &Catalog) -> Vec<String> {
    let mut counts: BTreeMap<&Vec<String>, usize> = BTreeMap::new();
    for rt in catalog.runtimes.values() {
        *counts.entry(&rt.ld_library_path).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(p, _)| p.clone())
        .unwrap_or_default()
}

/// The names in one folder that the loader can open as shared objects: `*.so` and `*.so.N...`
/// entries that resolve (through symlinks) to a regular file.
fn folder_listing(
    fs: &dyn RootFs,
    dir: &RootPath,
    real: &RootPath,
    arch: Architecture,
    source: &str,
) -> Listing {
    let names = fs.read_dir(real).unwrap_or_default();
    let sonames = names
        .into_iter()
        .filter(|n| is_shared_object_name(n))
        .filter(|n| rootfs::resolve(fs, &real.join(n)).is_ok_and(|r| r.meta.kind == Kind::File))
        .collect();
    Listing {
        folder: dir.as_str().to_string(),
        architectures: vec![arch],
        sonames: loader_names(sonames),
        source: source.to_string(),
        upstream: None,
        dumped: None,
        derived: false,
    }
}

fn is_shared_object_name(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    let Some(at) = name.find(".so") else {
        return false;
    };
    let rest = &name[at + 3..];
    rest.is_empty()
        || (rest.starts_with('.')
            && rest[1..]
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// Drops the real file names behind a soname link, as the catalog's generator does
/// (`libz.so.1.2.13` behind `libz.so.1`, `libc-2.36.so` behind `libc.so.6`).
fn loader_names(names: BTreeSet<String>) -> BTreeSet<String> {
    let behind_link = |name: &String| {
        let (stem, versions) = match name.find(".so.") {
            Some(at) => (&name[..at + 3], &name[at + 4..]),
            None => (name.as_str(), ""),
        };
        let parts: Vec<&str> = versions.split('.').filter(|p| !p.is_empty()).collect();
        let long = parts.len() >= 2 && names.contains(&format!("{stem}.{}", parts[0]));
        let dashed = name.starts_with("lib")
            && name.split_once('-').is_some_and(|(base, after)| {
                after.starts_with(|c: char| c.is_ascii_digit())
                    && names.iter().any(|n| n.starts_with(&format!("{base}.so")))
            });
        long || dashed
    };
    names.iter().filter(|n| !behind_link(n)).cloned().collect()
}

/// The highest version each namespace's object defines, searched like the loader would.
fn ceilings(
    fs: &dyn RootFs,
    search: &[RootPath],
    arch: Architecture,
) -> Result<BTreeMap<String, Version>, String> {
    let mut out: BTreeMap<String, Version> = BTreeMap::new();
    for (file, namespaces) in CEILING_OBJECTS {
        let Some(elf) = find_object(fs, search, file, arch) else {
            if file == "libc.so.6" {
                return Err(format!(
                    "no {file} for {arch} in the library folders ({})",
                    search
                        .iter()
                        .map(RootPath::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            continue;
        };
        for name in &elf.verdef {
            if let Some((ns, v)) = split_symbol_version(name)
                && namespaces.contains(&ns)
                && out.get(ns).is_none_or(|have| &v > have)
            {
                out.insert(ns.to_string(), v);
            }
        }
    }
    if !out.contains_key("GLIBC") {
        return Err("libc.so.6 defines no GLIBC_ version".into());
    }
    Ok(out)
}

fn find_object(
    fs: &dyn RootFs,
    search: &[RootPath],
    file: &str,
    arch: Architecture,
) -> Option<ElfInfo> {
    search.iter().find_map(|dir| {
        let real = rootfs::resolve(fs, &dir.join(file)).ok()?;
        let bytes = fs.map(&real.path).ok()?;
        ElfInfo::parse_file(file, &bytes)
            .ok()
            .filter(|e| e.matches(arch))
    })
}

/// The description in the catalog's KDL format: one `os` and one `runtime` node.
pub fn to_kdl(os: &OsBase, rt: &Runtime) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!(
        "// A runtime description in layerc's catalog format. Use it in a layer with\n// `runtime-file \"PATH\"`, or compare it with `layerc runtime diff`.\n\nos {} {{\n    name {}\n    glibc {}\n",
        q(&os.id),
        q(&os.name),
        q(&os.glibc.to_string())
    );
    for s in &os.sources {
        out.push_str(&format!("    source {}\n", q(s)));
    }
    for (arch, c) in &os.ceilings {
        out.push_str(&format!(
            "    ceilings arch={} source={} {{\n",
            q(arch.as_str()),
            q(&c.source)
        ));
        for (ns, v) in &c.versions {
            out.push_str(&format!("        {ns} {}\n", q(&v.to_string())));
        }
        out.push_str("    }\n");
    }
    for l in &os.listings {
        listing_kdl(&mut out, l, &q);
    }
    out.push_str(&format!(
        "}}\n\nruntime {} {{\n    family {}\n    os {}\n",
        q(&rt.id),
        q(&rt.family),
        q(&rt.os)
    ));
    let archs: Vec<String> = rt.architectures.iter().map(|a| q(a.as_str())).collect();
    let path: Vec<String> = rt.ld_library_path.iter().map(|d| q(d)).collect();
    out.push_str(&format!("    architectures {}\n", archs.join(" ")));
    out.push_str(&format!("    ld-library-path {}\n", path.join(" ")));
    for s in &rt.sources {
        out.push_str(&format!("    source {}\n", q(s)));
    }
    for l in &rt.folders {
        listing_kdl(&mut out, l, &q);
    }
    out.push_str("}\n");
    out
}

fn listing_kdl(out: &mut String, l: &Listing, q: &dyn Fn(&str) -> String) {
    for arch in &l.architectures {
        out.push_str(&format!(
            "    provides arch={} folder={} source={} {{\n",
            q(arch.as_str()),
            q(&l.folder),
            q(&l.source)
        ));
        for s in &l.sonames {
            out.push_str(&format!("        soname {}\n", q(s)));
        }
        out.push_str("    }\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_object_names() {
        for yes in [
            "libc.so.6",
            "libz.so.1.2.13",
            "libSegFault.so",
            "ld-linux-x86-64.so.2",
        ] {
            assert!(is_shared_object_name(yes), "{yes}");
        }
        for no in [
            ".libcrypto.so.10.hmac",
            "libfoo.so.1.chk",
            "gconv",
            "libfoo.a",
            "x.so.1a",
        ] {
            assert!(!is_shared_object_name(no), "{no}");
        }
        let names: BTreeSet<String> = ["libz.so.1", "libz.so.1.2.13", "libc.so.6", "libc-2.36.so"]
            .map(String::from)
            .into();
        let kept: Vec<String> = loader_names(names).into_iter().collect();
        assert_eq!(kept, ["libc.so.6", "libz.so.1"]);
    }
}
