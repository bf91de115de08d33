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
        let stamp = fs.stamp(path).map_err(|e| LoadError::Io(Arc::new(e)))?;
        if let Some((seen, hit)) = self.map.lock().expect("cache lock").get(path)
            && stamp.is_some()
            && *seen == stamp
        {
            return hit.clone().map_err(LoadError::Elf);
        }
        let bytes = fs.map(path).map_err(|e| LoadError::Io(Arc::new(e)))?;
        let parsed = ElfInfo::parse_file(path.file_name(), &bytes).map(Arc::new);
        self.map
            .lock()
            .expect("cache lock")
            .insert(path.clone(), (stamp, parsed.clone()));
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
