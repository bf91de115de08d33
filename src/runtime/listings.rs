//! The listings of a base or a runtime, read when first used: the built-in data names thousands
//! of sonames across every base and runtime, and a command needs those of the one it checks
//! (reading all of them took about half of `layerc graph`'s instructions).

use std::ops::Deref;
use std::sync::OnceLock;

use super::Listing;
use super::load::{Node, arch, one_string, prop_str, tree};
use super::node::Val;
use crate::arch::Architecture;

#[derive(Clone, Default)]
pub struct Listings {
    /// Listings given as values (a runtime's own `provides`, a description, a scan).
    known: Vec<Listing>,
    /// Built-in listing nodes (a JSON tree `build.rs` wrote), which come after `known`.
    unread: Option<&'static str>,
    all: OnceLock<Vec<Listing>>,
}

impl Listings {
    /// These listings followed by the built-in ones in `json`, read on first use.
    pub(super) fn then_builtin(mut self, json: &'static str) -> Listings {
        self.known = self.to_vec();
        self.unread = Some(json);
        self.all = OnceLock::new();
        self
    }

    pub fn push(&mut self, listing: Listing) {
        self.known = self.to_vec();
        self.unread = None;
        self.all = OnceLock::new();
        self.known.push(listing);
    }
}

impl From<Vec<Listing>> for Listings {
    fn from(known: Vec<Listing>) -> Listings {
        Listings {
            known,
            ..Listings::default()
        }
    }
}

impl Deref for Listings {
    type Target = [Listing];

    fn deref(&self) -> &[Listing] {
        let Some(json) = self.unread else {
            return &self.known;
        };
        self.all.get_or_init(|| {
            let mut all = self.known.clone();
            // The embedded data is checked by the test suite; a failure here is a build defect.
            all.extend(listings(json).expect("built-in listings are valid"));
            all
        })
    }
}

impl<'a> IntoIterator for &'a Listings {
    type Item = &'a Listing;
    type IntoIter = std::slice::Iter<'a, Listing>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// As a list of its listings, read or not: a lock hashes a runtime's entry by this text.
impl std::fmt::Debug for Listings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Listings {
    fn eq(&self, other: &Listings) -> bool {
        **self == **other
    }
}

impl Eq for Listings {}

/// The built-in listings of one base or runtime (`build.rs` groups them by owner).
pub(super) fn listings(json: &str) -> Result<Vec<Listing>, String> {
    tree("a listing file", json)?.iter().map(listing).collect()
}

/// A `provides` or `folder` block: a folder's sonames with their provenance. Without `arch=`, it
/// holds for every architecture.
pub(super) fn listing(node: &Node) -> Result<Listing, String> {
    let folder = prop_str(node, "folder")
        .or_else(|| prop_str(node, "path"))
        .ok_or("a listing needs folder=")?;
    let source = prop_str(node, "source").ok_or("a listing needs source=")?;
    let architectures = match prop_str(node, "arch") {
        Some(a) => vec![arch(a)?],
        None => Architecture::ALL.to_vec(),
    };
    let dumped = match prop_str(node, "dumped") {
        Some(d) => Some(d.parse().map_err(|()| format!("bad date `{d}`"))?),
        None => None,
    };
    let mut sonames = std::collections::BTreeSet::new();
    for s in &node.children {
        if s.name.as_ref() != "soname" {
            return Err(format!("unknown node `{}` in a listing", s.name));
        }
        sonames.insert(one_string(s)?);
    }
    Ok(Listing {
        folder: folder.to_string(),
        architectures,
        sonames,
        source: source.to_string(),
        upstream: prop_str(node, "upstream").map(str::to_string),
        dumped,
        derived: matches!(node.props.get("derived"), Some(Val::Bool(true))),
    })
}
