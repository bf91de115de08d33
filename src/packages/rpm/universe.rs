//! The packages of every RPM source of a rootfs block as the resolver sees them: one candidate
//! per name (the highest version of the layer's architecture or `noarch`, rpm's `rpmverCmp`),
//! its provides (the package's own name and version included, as rpm adds it), and the files
//! primary.xml lists, which satisfy file dependencies (`/bin/sh`). A requirement is met by a
//! provide whose range overlaps it (rpm's `rpmdsCompare`). When several packages provide what is
//! required, the one named like the requirement is taken first, then the others by name: layerc's
//! rule, which agrees with dnf's choice whenever one provider is named like the requirement.

use std::collections::BTreeMap;

use super::Listed;
use super::primary::Dep;
use crate::packages::resolve::{Chosen, Universe};
use crate::packages::version::{Evr, Op, rpm_overlap};

pub struct RpmUniverse {
    packages: Vec<Listed>,
    chosen: Vec<Chosen>,
    by_name: BTreeMap<String, usize>,
    providers: BTreeMap<String, Vec<(usize, Option<Op>, Evr)>>,
    files: BTreeMap<String, Vec<usize>>,
}

impl RpmUniverse {
    pub fn new(lists: &[&[Listed]]) -> RpmUniverse {
        let mut best: BTreeMap<&str, &Listed> = BTreeMap::new();
        for listed in lists.iter().flat_map(|l| l.iter()) {
            let newer = best.get(listed.package.name.as_str()).is_none_or(|have| {
                listed.package.evr.compare(&have.package.evr) == std::cmp::Ordering::Greater
            });
            if newer {
                best.insert(&listed.package.name, listed);
            }
        }
        let packages: Vec<Listed> = best.into_values().cloned().collect();
        let mut by_name = BTreeMap::new();
        let mut providers: BTreeMap<String, Vec<(usize, Option<Op>, Evr)>> = BTreeMap::new();
        let mut files: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (id, l) in packages.iter().enumerate() {
            let p = &l.package;
            by_name.insert(p.name.clone(), id);
            providers
                .entry(p.name.clone())
                .or_default()
                .push((id, Some(Op::Eq), p.evr.clone()));
            for d in &p.provides {
                providers
                    .entry(d.name.clone())
                    .or_default()
                    .push((id, d.op, d.evr.clone()));
            }
            for f in &p.files {
                files.entry(f.clone()).or_default().push(id);
            }
        }
        let chosen = packages
            .iter()
            .map(|l| Chosen {
                name: l.package.name.clone(),
                version: l.package.evr.to_string(),
                arch: l.package.arch.clone(),
                url: l.url.clone(),
                size: l.package.size,
                sha256: l.package.sha256.clone(),
                index: l.index.clone(),
            })
            .collect();
        RpmUniverse {
            packages,
            chosen,
            by_name,
            providers,
            files,
        }
    }
}

impl Universe for RpmUniverse {
    type Rel = Dep;

    fn chosen(&self, id: usize) -> &Chosen {
        &self.chosen[id]
    }

    fn requested(&self, name: &str) -> Option<usize> {
        let dep = Dep {
            name: name.to_string(),
            op: None,
            evr: Evr::default(),
        };
        self.by_name
            .get(name)
            .copied()
            .or_else(|| self.solutions(&[dep]).into_iter().next())
    }

    fn depends(&self, id: usize) -> &[Vec<Dep>] {
        &self.packages[id].package.requires
    }

    fn satisfying(&self, dep: &Dep) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for (id, op, evr) in self.providers.get(&dep.name).into_iter().flatten() {
            let ok = match (dep.op, op) {
                (Some(want), Some(have)) => rpm_overlap(evr, *have, &dep.evr, want),
                // An unversioned requirement or provide always overlaps (rpmdsCompare).
                _ => true,
            };
            if ok && !out.contains(id) {
                out.push(*id);
            }
        }
        if dep.name.starts_with('/') {
            for id in self.files.get(&dep.name).into_iter().flatten() {
                if !out.contains(id) {
                    out.push(*id);
                }
            }
        }
        out
    }

    fn solutions(&self, group: &[Dep]) -> Vec<usize> {
        let mut out = Vec::new();
        for dep in group {
            let mut ids = self.satisfying(dep);
            ids.sort_by(|&a, &b| {
                let (na, nb) = (
                    &self.packages[a].package.name,
                    &self.packages[b].package.name,
                );
                (nb == &dep.name).cmp(&(na == &dep.name)).then(na.cmp(nb))
            });
            for id in ids {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// Nothing is installed before: a fresh install brings in the whole closure.
    fn preinstalled(&self, _id: usize) -> bool {
        false
    }

    fn why_not(&self, dep: &Dep) -> String {
        match self.providers.get(&dep.name) {
            Some(found) => {
                let versions: Vec<String> = found.iter().map(|(_, _, e)| e.to_string()).collect();
                format!(
                    "{} is provided only as version {}",
                    dep.name,
                    versions.join(", ")
                )
            }
            None => format!("nothing provides {}", dep.name),
        }
    }

    fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}
