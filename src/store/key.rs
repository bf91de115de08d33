//! A layer zip's store key: the sha256 of everything its bytes depend on.
//!
//! The zip writer reads only the plan (entry paths, modes, sizes, symlink targets), the shipped
//! files' bytes and its options, so those make the key: the plan is the spec's meaning for the
//! layer after resolution (a comment or a reordered node that plans the same entries is the same
//! key), the files enter by their sha256, and the writer's own version, chunk size, compression
//! level and entry time (`SOURCE_DATE_EPOCH`) are written out. The catalog's data version and each
//! runtime's entry hash are added too, so a new catalog never reuses an older build.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::emit::zip::{self, ZipOptions};
use crate::lock::{self, LockedLayer};
use crate::plan::{Content, LayerPlan};

/// Bumped when the key's text changes meaning.
const KEY_VERSION: u32 = 1;

/// The key of the zip of `plan`, whose files `locked` gives the digests of (`None` when it misses
/// one: such a zip is not stored).
pub fn key(
    plan: &LayerPlan,
    locked: &LockedLayer,
    catalog: &str,
    options: &ZipOptions,
) -> Option<String> {
    let digests: HashMap<&str, &str> = locked
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let mut text = format!(
        "layerc-store-key {KEY_VERSION}\nzip-format {}\nchunk {}\ncompression {}\ntime {} {}\ncatalog {catalog}\n",
        zip::FORMAT_VERSION,
        zip::CHUNK,
        options.compression.level(),
        options.time.datepart(),
        options.time.timepart(),
    );
    for (id, hash) in &locked.runtimes {
        text.push_str(&format!("runtime {id} {hash}\n"));
    }
    for entry in &plan.entries {
        let path = &entry.path;
        match &entry.content {
            Content::File { size, mode, .. } => {
                let sha256 = digests.get(path.as_str())?;
                text.push_str(&format!("file {path}\t{mode:o}\t{size}\t{sha256}\n"));
            }
            Content::Symlink { target } => text.push_str(&format!("link {path}\t{target}\n")),
        }
    }
    Some(lock::hex(&Sha256::digest(text.as_bytes())))
}
