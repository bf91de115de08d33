//! Which packages a fresh install of the requested ones brings in, walked as apt's
//! `pkgDepCache::MarkInstall` does (apt 2.2, `apt-pkg/depcache.cc`): the requested packages are
//! marked first, then each one's dependency groups are taken in order (Pre-Depends before
//! Depends); a group already satisfied by a marked (or pre-installed) package is skipped, else its
//! possible solutions are tried in the order the repository's [`Universe`] gives, and the first
//! one that can be installed (recursively, depth first) is kept. The RPM universe orders solutions
//! its own way; the walk is the same.

use std::collections::BTreeSet;
use std::fmt;

pub use crate::package_pin::Chosen;

/// A repository's packages as the resolver asks about them.
pub trait Universe {
    type Rel: fmt::Display;
    /// The candidate of every package, by id.
    fn chosen(&self, id: usize) -> &Chosen;
    /// The candidate a requested name means (a package name, or a name only provided).
    fn requested(&self, name: &str) -> Option<usize>;
    /// A package's dependency groups (each a list of alternatives) in the order they are walked.
    fn depends(&self, id: usize) -> &[Vec<Self::Rel>];
    /// Every candidate that satisfies `rel`.
    fn satisfying(&self, rel: &Self::Rel) -> Vec<usize>;
    /// The candidates that satisfy a group, in the order they are tried.
    fn solutions(&self, group: &[Self::Rel]) -> Vec<usize>;
    /// A package taken as installed already (Debian's Essential packages): it satisfies
    /// dependencies but is neither fetched nor walked.
    fn preinstalled(&self, id: usize) -> bool;
    /// Why nothing satisfies `rel` (no such name, or only other versions).
    fn why_not(&self, rel: &Self::Rel) -> String;
    /// Every package and provided name, for "did you mean".
    fn names(&self) -> Vec<&str>;
}

/// A requested package that cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsatisfied {
    /// No package has the requested name; the closest name there is.
    Unknown {
        name: String,
        closest: Option<String>,
    },
    /// A dependency along the way has no installable solution.
    Dependency {
        /// The requested package first, each package that needs the next.
        chain: Vec<String>,
        /// The dependency group that fails, as written.
        group: String,
        why: String,
    },
}

impl Unsatisfied {
    /// The requested package the failure is about.
    pub fn requested(&self) -> &str {
        match self {
            Unsatisfied::Unknown { name, .. } => name,
            Unsatisfied::Dependency { chain, .. } => chain.first().map_or("", String::as_str),
        }
    }
}

impl fmt::Display for Unsatisfied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsatisfied::Unknown { name, .. } => {
                write!(f, "no package named `{name}` is in the sources")
            }
            Unsatisfied::Dependency { chain, group, why } => write!(
                f,
                "{} needs {group}, which cannot be installed: {why}",
                chain.join(" → ")
            ),
        }
    }
}

struct Walk<'u, U: Universe> {
    universe: &'u U,
    marked: Vec<bool>,
    order: Vec<usize>,
}

/// The packages a fresh install of `requested` brings in (pre-installed ones left out), sorted by
/// name, or the first request that cannot be installed.
pub fn install<U: Universe>(
    universe: &U,
    requested: &[String],
) -> Result<Vec<Chosen>, Unsatisfied> {
    let mut ids = Vec::new();
    for name in requested {
        match universe.requested(name) {
            Some(id) => ids.push(id),
            None => {
                return Err(Unsatisfied::Unknown {
                    name: name.clone(),
                    closest: crate::diagnostic::closest(name, universe.names()).map(str::to_string),
                });
            }
        }
    }
    let mut walk = Walk {
        universe,
        marked: Vec::new(),
        order: Vec::new(),
    };
    for &id in &ids {
        walk.mark(id);
    }
    for &id in &ids {
        if !universe.preinstalled(id) {
            walk.dependencies(id, &mut Vec::new())?;
        }
    }
    let chosen: BTreeSet<&Chosen> = walk
        .order
        .iter()
        .filter(|&&id| walk.is_marked(id) && !universe.preinstalled(id))
        .map(|&id| universe.chosen(id))
        .collect();
    Ok(chosen.into_iter().cloned().collect())
}

impl<U: Universe> Walk<'_, U> {
    fn is_marked(&self, id: usize) -> bool {
        self.marked.get(id).copied().unwrap_or(false)
    }

    fn mark(&mut self, id: usize) {
        if self.marked.len() <= id {
            self.marked.resize(id + 1, false);
        }
        if !self.marked[id] {
            self.marked[id] = true;
            self.order.push(id);
        }
    }

    fn unmark(&mut self, id: usize) {
        if let Some(m) = self.marked.get_mut(id) {
            *m = false;
        }
    }

    fn satisfied(&self, group: &[U::Rel]) -> bool {
        group.iter().any(|rel| {
            self.universe
                .satisfying(rel)
                .into_iter()
                .any(|id| self.is_marked(id) || self.universe.preinstalled(id))
        })
    }

    /// apt's `MarkInstall` for a dependency: true when `id` is (now) marked with its
    /// dependencies; a package whose dependencies fail is unmarked again
    /// (`MarkInstall_DiscardInstall`), what it marked meanwhile stays.
    fn install(&mut self, id: usize, chain: &mut Vec<usize>) -> Result<(), Unsatisfied> {
        if self.is_marked(id) || self.universe.preinstalled(id) {
            return Ok(());
        }
        self.mark(id);
        let result = self.dependencies(id, chain);
        if result.is_err() {
            self.unmark(id);
        }
        result
    }

    fn dependencies(&mut self, id: usize, chain: &mut Vec<usize>) -> Result<(), Unsatisfied> {
        chain.push(id);
        let universe = self.universe;
        for group in universe.depends(id) {
            if self.satisfied(group) {
                continue;
            }
            let mut first_failure = None;
            let mut done = false;
            for candidate in universe.solutions(group) {
                match self.install(candidate, chain) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(e) => {
                        first_failure.get_or_insert(e);
                    }
                }
            }
            if !done {
                let failure = first_failure.unwrap_or_else(|| self.failure(chain, group));
                chain.pop();
                return Err(failure);
            }
        }
        chain.pop();
        Ok(())
    }

    fn failure(&self, chain: &[usize], group: &[U::Rel]) -> Unsatisfied {
        let names = chain
            .iter()
            .map(|&id| self.universe.chosen(id).name.clone())
            .collect();
        let text: Vec<String> = group.iter().map(ToString::to_string).collect();
        let why: Vec<String> = group.iter().map(|r| self.universe.why_not(r)).collect();
        Unsatisfied::Dependency {
            chain: names,
            group: text.join(" | "),
            why: why.join("; "),
        }
    }
}
