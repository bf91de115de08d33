//! A rootfs opened for resolution, with what has been read from it (parsed objects,
//! `/etc/ld.so.conf`, the listings of its library folders), each kept while its files are
//! unchanged.

use std::sync::{Arc, Mutex};

use super::search::{LdSoConf, SystemPaths};
use super::{ElfCache, LibraryIndex};
use crate::rootfs::{RootFs, RootfsId};

/// An opened rootfs and what has been read from it, kept while its files are unchanged.
#[derive(Clone)]
pub struct OpenRootfs {
    pub id: RootfsId,
    pub fs: Arc<dyn RootFs>,
    pub elf_cache: Arc<ElfCache>,
    ld_so_conf: Arc<Mutex<Option<Arc<LdSoConf>>>>,
    library_index: Arc<Mutex<Option<Arc<LibraryIndex>>>>,
}

impl OpenRootfs {
    /// A rootfs just opened, with nothing read from it yet.
    pub fn new(id: RootfsId, fs: Arc<dyn RootFs>) -> OpenRootfs {
        OpenRootfs {
            id,
            fs,
            elf_cache: Arc::new(ElfCache::default()),
            ld_so_conf: Arc::default(),
            library_index: Arc::default(),
        }
    }

    /// `/etc/ld.so.conf` with its includes: read again only when one of its files changed.
    pub fn ld_so_conf(&self) -> Arc<LdSoConf> {
        let mut slot = crate::lock(&self.ld_so_conf);
        if let Some(conf) = slot.as_ref()
            && conf.is_current(self.fs.as_ref())
        {
            return conf.clone();
        }
        let conf = Arc::new(LdSoConf::read(self.fs.as_ref()));
        *slot = Some(conf.clone());
        conf
    }

    /// The library names in `system`'s folders: listed again only when one of them changed.
    pub fn library_index(&self, system: &SystemPaths) -> Arc<LibraryIndex> {
        let mut slot = crate::lock(&self.library_index);
        if let Some(index) = slot.as_ref()
            && index.is_current(self.fs.as_ref(), system)
        {
            return index.clone();
        }
        let index = Arc::new(LibraryIndex::read(self.fs.as_ref(), system));
        *slot = Some(index.clone());
        index
    }
}
