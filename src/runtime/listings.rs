//! The listings of a base or a runtime, read when first used: the built-in data names thousands
//! of sonames across every base and runtime, and a command needs those of the one it checks
//! (reading all of them took about half of `layerc graph`'s instructions).

use std::ops::Deref;
use std::sync::OnceLock;

use super::Listing;

#[derive(Debug, Clone, Default)]
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
            all.extend(super::load::listings(json).expect("built-in listings are valid"));
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

impl PartialEq for Listings {
    fn eq(&self, other: &Listings) -> bool {
        **self == **other
    }
}

impl Eq for Listings {}
