//! Resolution: requested libraries and their DT_NEEDED closure → a petgraph dependency graph.
//!
//! Invariant: the graph follows the loader's search order inside the rootfs; a node the runtime
//! provides, glibc's own objects, excluded and missing nodes are leaves (never expanded); every node
//! can be traced back to the spec span of a root that pulled it in.
//!
//! `graph.rs` (the graph), `cache.rs` (parsed ELF objects), `index.rs` (library names per rootfs
//! generation, for "did you mean"), `resolver.rs` (the walk and the one
//! status rule), `diagnostics.rs` (its findings), `search.rs` (the loader's search order) and
//! `files.rs` (`file` requests), `programs.rs` (the ELF objects `file` requests ship, as roots).

mod ahead;
mod cache;
mod diagnostics;
mod files;
mod graph;
mod index;
mod open;
mod programs;
mod resolver;
pub mod search;

pub use cache::{ElfCache, LoadError};
pub use diagnostics::{bad_name, rootfs_error};
pub use files::{ExtraFile, resolve_files};
pub use graph::{LayerGraph, Node, Status};
pub use index::LibraryIndex;
pub use open::OpenRootfs;
pub use resolver::{ResolveInputs, resolve_layer};
