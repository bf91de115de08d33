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
    /// Every soname the runtime's loader finds without a layer on `arch` (real file names such as
    /// `ld-2.17.so` behind a soname are left out: no `DT_NEEDED` names them).
    pub fn provided(&self, arch: Architecture) -> BTreeSet<&str> {
        let own = self
            .runtime
            .folders
            .iter()
            .filter(|l| self.runtime.ld_library_path.contains(&l.folder));
        own.chain(&self.os.listings)
            .filter(|l| l.architectures.contains(&arch))
            .flat_map(|l| l.sonames.iter().map(String::as_str))
            .filter(|s| !is_versioned_file_name(s))
            .collect()
    }

    fn label(&self) -> String {
        format!("{} ({})", self.runtime.id, self.os.name)
    }
}

/// `ld-2.17.so`, `libc-2.26.so`, `libpthread-2.17.so`: a file name with its version before `.so`
/// (glibc's real files), which a soname link (`libc.so.6`) stands in front of.
fn is_versioned_file_name(name: &str) -> bool {
    name.strip_suffix(".so")
        .and_then(|stem| stem.rsplit_once('-'))
        .is_some_and(|(_, version)| {
            version.starts_with(|c: char| c.is_ascii_digit())
                && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
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

#[cfg(test)]
mod tests {
    #[test]
    fn glibc_file_names_are_not_sonames() {
        for name in ["ld-2.17.so", "libc-2.26.so", "libpthread-2.17.so"] {
            assert!(super::is_versioned_file_name(name), "{name}");
        }
        for name in [
            "libc.so.6",
            "ld-linux-x86-64.so.2",
            "libfoo-bar.so",
            "libicu-67.so.1",
            "libz.so",
        ] {
            assert!(!super::is_versioned_file_name(name), "{name}");
        }
    }
}
