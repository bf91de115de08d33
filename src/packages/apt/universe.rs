//! The packages of every apt source of a rootfs block, as apt's resolver sees them: one candidate
//! per name, the highest version of the layer's architecture or `all` across the sources (the
//! first source listing it wins a tie, as all sources have apt's default pin priority 500), and
//! dependency solutions ordered as apt 2.2 orders them (`apt-pkg/depcache.cc`,
//! `getAllPossibleSolutions` with `CompareProviders`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::DebPackage;
use super::control::Relation;
use crate::packages::resolve::{Chosen, Universe};
use crate::packages::version::deb_cmp;

pub struct AptUniverse {
    packages: Vec<DebPackage>,
    chosen: Vec<Chosen>,
    by_name: BTreeMap<String, usize>,
    /// A provided name → the candidates providing it, with the version they provide.
    providers: BTreeMap<String, Vec<(usize, Option<String>)>>,
}

impl AptUniverse {
    /// The candidates of `lists` (one list per source, in spec order).
    pub fn new(lists: &[&[DebPackage]]) -> AptUniverse {
        let mut best: BTreeMap<&str, &DebPackage> = BTreeMap::new();
        for package in lists.iter().flat_map(|l| l.iter()) {
            match best.get(package.name.as_str()) {
                Some(have) if deb_cmp(&package.version, &have.version) != Ordering::Greater => {}
                _ => {
                    best.insert(&package.name, package);
                }
            }
        }
        let packages: Vec<DebPackage> = best.into_values().cloned().collect();
        let mut by_name = BTreeMap::new();
        let mut providers: BTreeMap<String, Vec<(usize, Option<String>)>> = BTreeMap::new();
        for (id, p) in packages.iter().enumerate() {
            by_name.insert(p.name.clone(), id);
            for provide in &p.provides {
                let version = provide.version.as_ref().map(|(_, v)| v.clone());
                providers
                    .entry(provide.name.clone())
                    .or_default()
                    .push((id, version));
            }
        }
        let chosen = packages
            .iter()
            .map(|p| Chosen {
                name: p.name.clone(),
                version: p.version.clone(),
                arch: p.arch.clone(),
                url: p.url.clone(),
                size: p.size,
                sha256: p.sha256.clone(),
                index: p.index.clone(),
            })
            .collect();
        AptUniverse {
            packages,
            chosen,
            by_name,
            providers,
        }
    }

    /// Whether `version` meets the relation's version constraint (apt's `CheckDep`).
    fn version_ok(rel: &Relation, version: Option<&str>) -> bool {
        match (&rel.version, version) {
            (None, _) => true,
            // An unversioned Provides satisfies only unversioned dependencies (policy 7.5).
            (Some(_), None) => false,
            (Some((op, want)), Some(have)) => op.accepts(deb_cmp(have, want)),
        }
    }

    /// The architecture qualifier a single-architecture system can satisfy: none, `:native`,
    /// its own, or `:any` on a `Multi-Arch: allowed` package.
    fn arch_ok(&self, rel: &Relation, id: usize, via_provides: bool) -> bool {
        let p = &self.packages[id];
        match rel.arch.as_deref() {
            None | Some("native") => true,
            Some("any") => !via_provides && p.multi_arch_allowed,
            Some(arch) => arch == p.arch || (p.arch == "all" && !via_provides),
        }
    }

    /// apt's `CompareProviders` as it applies here (nothing installed, one architecture): the
    /// package named by the dependency first, then Essential ones, then `Important` ones, then
    /// the more important priority; apt's last rule (the higher package id) is replaced by the
    /// name, which is stable.
    fn compare(&self, target: &str, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (&self.packages[a], &self.packages[b]);
        (pb.name == target)
            .cmp(&(pa.name == target))
            .then(pb.essential.cmp(&pa.essential))
            .then(pb.important.cmp(&pa.important))
            .then(pa.priority.cmp(&pb.priority))
            .then(pa.name.cmp(&pb.name))
    }
}

impl Universe for AptUniverse {
    type Rel = Relation;

    fn chosen(&self, id: usize) -> &Chosen {
        &self.chosen[id]
    }

    fn requested(&self, name: &str) -> Option<usize> {
        let rel = Relation {
            name: name.to_string(),
            arch: None,
            version: None,
        };
        self.by_name
            .get(name)
            .copied()
            .or_else(|| self.solutions(&[rel]).into_iter().next())
    }

    fn depends(&self, id: usize) -> &[Vec<Relation>] {
        &self.packages[id].depends
    }

    fn satisfying(&self, rel: &Relation) -> Vec<usize> {
        let mut out = Vec::new();
        if let Some(&id) = self.by_name.get(&rel.name)
            && self.arch_ok(rel, id, false)
            && Self::version_ok(rel, Some(&self.packages[id].version))
        {
            out.push(id);
        }
        for (id, version) in self.providers.get(&rel.name).into_iter().flatten() {
            if self.arch_ok(rel, *id, true) && Self::version_ok(rel, version.as_deref()) {
                out.push(*id);
            }
        }
        out
    }

    fn solutions(&self, group: &[Relation]) -> Vec<usize> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for rel in group {
            let mut ids = self.satisfying(rel);
            ids.sort_by(|&a, &b| self.compare(&rel.name, a, b));
            for id in ids {
                if seen.insert(id) {
                    out.push(id);
                }
            }
        }
        out
    }

    fn preinstalled(&self, id: usize) -> bool {
        self.packages[id].essential
    }

    fn why_not(&self, rel: &Relation) -> String {
        match self.by_name.get(&rel.name) {
            Some(&id) => format!("{} has version {}", rel.name, self.packages[id].version),
            None if self.providers.contains_key(&rel.name) => {
                format!("no package provides {rel}")
            }
            None => format!("no package named {} is in the sources", rel.name),
        }
    }

    fn names(&self) -> Vec<&str> {
        self.by_name
            .keys()
            .chain(self.providers.keys())
            .map(String::as_str)
            .collect()
    }
}
