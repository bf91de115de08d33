//! Where layerc keeps what it caches (the store and the image cache alike): the one rule for
//! finding that folder, and whether this run may write under it.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The folder `--store` named, when it did.
static CHOSEN: OnceLock<PathBuf> = OnceLock::new();

/// Set by commands that promise to write nothing (`check`, `build --dry-run`).
static READ_ONLY: AtomicBool = AtomicBool::new(false);

/// From now on, caches under the root are read but never written (nor created): the image cache
/// keeps what it would have stored in memory instead.
pub fn read_only() {
    READ_ONLY.store(true, Ordering::Relaxed);
}

/// Whether [`read_only`] was called.
pub fn is_read_only() -> bool {
    READ_ONLY.load(Ordering::Relaxed)
}

/// Sets the cache root for the rest of the process (`--store DIR`); it wins over the environment.
/// Only the first call counts.
pub fn choose(dir: PathBuf) {
    let _ = CHOSEN.set(dir);
}

/// The cache root: `--store`, else `$LAYERC_STORE`, else `$LAYERC_CACHE` (its older name), else
/// `$XDG_CACHE_HOME/layerc`, else `~/.cache/layerc`; `None` when none of them is set. Empty
/// variables count as unset.
pub fn root() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    CHOSEN
        .get()
        .cloned()
        .or_else(|| var("LAYERC_STORE"))
        .or_else(|| var("LAYERC_CACHE"))
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("layerc")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/layerc")))
}
