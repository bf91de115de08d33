//! What layer.lock pins of a package file a package rootfs was made from: the package resolvers
//! choose them, the lock records them, a locked build fetches exactly them.

/// A package file a resolution chose: what the lock pins of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chosen {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
    /// The digest (`sha256:HEX`) of the signed index the package was listed in.
    pub index: String,
}
