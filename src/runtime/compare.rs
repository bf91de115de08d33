//! `layerc runtime diff`: what one runtime provides and another lacks, and how their ceilings differ.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{OsBase, Runtime};
use crate::arch::Architecture;

/// A runtime with its OS base, from the catalog or a description file.
pub struct Described<'a> {
    pub os: &'a OsBase,
    pub runtime: &'a Runtime,
}

impl Described<'_> {
    /// Every soname the runtime's loader finds without a layer on `arch`.
    pub fn provided(&self, arch: Architecture) -> BTreeSet<&str> {
        let own = self
            .runtime
            .folders
            .iter()
            .filter(|l| self.runtime.ld_library_path.contains(&l.folder));
        own.chain(&self.os.listings)
            .filter(|l| l.architectures.contains(&arch))
            .flat_map(|l| l.sonames.iter().map(String::as_str))
            .collect()
    }

    fn label(&self) -> String {
        format!("{} ({})", self.runtime.id, self.os.name)
    }
}

/// The comparison on each architecture both runtimes support.
pub fn diff(a: &Described, b: &Described) -> String {
    let mut out = String::new();
    let archs: Vec<Architecture> = a
        .runtime
        .architectures
        .iter()
        .copied()
        .filter(|x| b.runtime.architectures.contains(x))
        .collect();
    if archs.is_empty() {
        let _ = writeln!(out, "{} and {} share no architecture", a.label(), b.label());
    }
    for arch in archs {
        let _ = writeln!(out, "{} vs {} on {}", a.label(), b.label(), arch.as_str());
        let (pa, pb) = (a.provided(arch), b.provided(arch));
        for (have, other, has, lacks) in [(&pa, &pb, a, b), (&pb, &pa, b, a)] {
            let only: Vec<&&str> = have.difference(other).collect();
            let _ = writeln!(
                out,
                "\n  provided by {}, lacking in {} ({}):",
                has.runtime.id,
                lacks.runtime.id,
                only.len()
            );
            for s in only {
                let _ = writeln!(out, "    {s}");
            }
        }
        let _ = writeln!(out, "\n  ceilings ({} | {}):", a.runtime.id, b.runtime.id);
        let ceil = |d: &Described, ns: &str| {
            d.os.ceiling(arch, ns)
                .map_or("-".to_string(), |v| v.to_string())
        };
        let mut namespaces: BTreeSet<&str> = BTreeSet::new();
        for d in [a, b] {
            if let Some(c) = d.os.ceilings.get(&arch) {
                namespaces.extend(c.versions.keys().map(String::as_str));
            }
        }
        for ns in namespaces {
            let (va, vb) = (ceil(a, ns), ceil(b, ns));
            let mark = if va == vb { "same" } else { "differs" };
            let _ = writeln!(out, "    {ns:<8} {va:<10} {vb:<10} {mark}");
        }
        out.push('\n');
    }
    out
}
