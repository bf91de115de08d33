//! The rootfs library index for completion: the shared-object names in each loader folder, listed
//! once and listed again only when the folder's stamp (size, mtime, inode) changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::rootfs::{self, RootFs, RootPath, RootfsId, Stamp};

type Key = (RootfsId, RootPath);
/// A folder's names, with the stamp the folder had when they were listed.
type Listing = (Option<Stamp>, Arc<Vec<String>>);

#[derive(Default)]
pub(crate) struct LibraryIndex {
    folders: Mutex<HashMap<Key, Listing>>,
}

impl LibraryIndex {
    /// Names containing `.so` in the folder `dir` of the rootfs `root`.
    pub(crate) fn names(
        &self,
        root: &RootfsId,
        fs: &dyn RootFs,
        dir: &RootPath,
    ) -> Arc<Vec<String>> {
        let Ok(resolved) = rootfs::resolve(fs, dir) else {
            return Arc::default();
        };
        let stamp = fs.stamp(&resolved.path).ok().flatten();
        let key = (root.clone(), resolved.path.clone());
        let mut folders = crate::lock(&self.folders);
        if let Some((seen, names)) = folders.get(&key)
            && stamp.is_some()
            && *seen == stamp
        {
            return names.clone();
        }
        let names: Vec<String> = fs
            .read_dir(&resolved.path)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.contains(".so"))
            .collect();
        let names = Arc::new(names);
        folders.insert(key, (stamp, names.clone()));
        names
    }
}
