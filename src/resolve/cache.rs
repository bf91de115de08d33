//! Parsed ELF objects of one rootfs, kept while the file's stamp (size, mtime, inode) holds.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use crate::elf::{ElfError, ElfInfo};
use crate::rootfs::{RootFs, RootPath, Stamp};

type Entry = (Option<Stamp>, Result<Arc<ElfInfo>, ElfError>);

/// Each file is read and parsed once per version: a library rebuilt in the rootfs between two
/// analyses of one session is parsed again.
#[derive(Default)]
pub struct ElfCache {
    map: Mutex<HashMap<RootPath, Entry>>,
}

impl ElfCache {
    pub fn get(&self, fs: &dyn RootFs, path: &RootPath) -> Result<Arc<ElfInfo>, LoadError> {
        let io = |e| LoadError::Io(Arc::new(e));
        let seen = crate::lock(&self.map).get(path).cloned();
        // Only a file seen before is stamped first: a new one is stamped as it is read.
        if let Some((seen, hit)) = seen
            && seen.is_some()
            && fs.stamp(path).map_err(io)? == seen
        {
            return hit.map_err(LoadError::Elf);
        }
        let (parsed, stamp) = fs.elf_info(path).map_err(io)?;
        let parsed = parsed.map(Arc::new);
        crate::lock(&self.map).insert(path.clone(), (stamp, parsed.clone()));
        parsed.map_err(LoadError::Elf)
    }
}

/// Why a candidate file could not be used: it could not be read (the cause is kept), or its bytes
/// are not a usable ELF object.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("cannot be read ({0})")]
    Io(Arc<io::Error>),
    #[error("{0}")]
    Elf(ElfError),
}
