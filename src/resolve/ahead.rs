//! The loader's lookups, apart from the graph they feed, so that the lookups of one level of the
//! breadth-first walk can be made ahead of it on two threads. A lookup only reads (the rootfs, the
//! listed search folders, the shared [`ElfCache`]), and its answer depends only on the folders and
//! the name, so making it early changes nothing but when it is made.

use std::collections::HashMap;

use super::cache::ElfCache;
use super::index::LibraryIndex;
use super::search::{self, Lookup, SystemPaths};
use crate::arch::Architecture;
use crate::rootfs::{RootFs, RootPath};

/// Answers made ahead, by the folders searched before the system ones and the name.
pub(super) type Ahead = HashMap<(Vec<RootPath>, String), Lookup>;

/// Fewer lookups than this are made on one thread: a thread costs about as much as two lookups.
const PARALLEL_FROM: usize = 6;

/// Everything one lookup reads.
pub(super) struct Lookups<'a> {
    pub(super) fs: &'a dyn RootFs,
    pub(super) elf_cache: &'a ElfCache,
    pub(super) system: &'a SystemPaths,
    pub(super) listed: &'a LibraryIndex,
    pub(super) arch: Architecture,
}

impl Lookups<'_> {
    /// Looks `name` up in `dirs`, then the system folders, in the loader's order.
    pub(super) fn find(&self, dirs: &[RootPath], name: &str) -> Lookup {
        let load = |p: &RootPath| self.elf_cache.get(self.fs, p);
        search::find_in(
            self.fs,
            dirs.iter().chain(self.system.all()),
            name,
            self.arch,
            Some(self.listed),
            &load,
        )
    }

    /// The lookups `wanted` asks for, shared between this thread and one more when there are
    /// enough of them and a second core.
    pub(super) fn ahead(&self, wanted: Vec<(Vec<RootPath>, String)>) -> Ahead {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if wanted.len() < PARALLEL_FROM || cores < 2 {
            return HashMap::new();
        }
        let (mine, theirs): (Vec<_>, Vec<_>) = wanted
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let answer = |list: Vec<(usize, (Vec<RootPath>, String))>| -> Vec<_> {
            list.into_iter()
                .map(|(_, (dirs, name))| {
                    let lookup = self.find(&dirs, &name);
                    ((dirs, name), lookup)
                })
                .collect()
        };
        std::thread::scope(|scope| {
            let other = scope.spawn(|| answer(theirs));
            let mut ahead: Ahead = answer(mine).into_iter().collect();
            // A panic on the other thread is a bug: raise it here.
            match other.join() {
                Ok(theirs) => ahead.extend(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            ahead
        })
    }
}
