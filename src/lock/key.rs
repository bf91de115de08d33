//! The key a layer zip is kept under in the store (`store::Store`): the sha256 of everything its
//! bytes depend on, from the plan and the digests the lock records.
//!
//! The zip writer reads only the plan (entry paths, modes, sizes, symlink targets), the shipped
//! files' bytes and its options, so those make the key: the plan is the spec's meaning for the
//! layer after resolution (a comment or a reordered node that plans the same entries is the same
//! key), the files enter by their sha256, and the writer's own version, chunk size, compression
//! level and entry time (`SOURCE_DATE_EPOCH`) are written out. The catalog's data version and each
//! runtime's entry hash are added too, so a new catalog never reuses an older build.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::LockedLayer;
use crate::emit::zip::{self, ZipOptions};
use crate::plan::{Content, LayerPlan};

/// Bumped when the key's text changes meaning.
const KEY_VERSION: u32 = 1;

/// One zip entry as the key sees it.
enum KeyEntry<'a> {
    File {
        path: &'a str,
        mode: u32,
        size: u64,
        sha256: &'a str,
    },
    Link {
        path: &'a str,
        target: &'a str,
    },
}

impl KeyEntry<'_> {
    fn path(&self) -> &str {
        match self {
            KeyEntry::File { path, .. } | KeyEntry::Link { path, .. } => path,
        }
    }
}

/// The key of the zip of `plan`, whose files `locked` gives the digests of (`None` when it misses
/// one: such a zip is not stored).
pub fn store_key(
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
    let entries = plan
        .entries
        .iter()
        .map(|entry| {
            let path = entry.path.as_str();
            Some(match &entry.content {
                Content::File { size, mode, .. } => KeyEntry::File {
                    path,
                    mode: *mode,
                    size: *size,
                    sha256: digests.get(path)?,
                },
                Content::Symlink { target } => KeyEntry::Link {
                    path,
                    target: target.as_str(),
                },
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(key_of(entries, &locked.runtimes, catalog, options))
}

/// The same key as [`store_key`], from the lock alone (no plan, no rootfs): the lock records every
/// entry's path, mode, size and sha256 and every symlink. `None` for a lock written before modes
/// were recorded.
pub fn store_key_from_lock(
    locked: &LockedLayer,
    catalog: &str,
    options: &ZipOptions,
) -> Option<String> {
    let files = locked.files.iter().map(|f| {
        Some(KeyEntry::File {
            path: &f.path,
            mode: f.mode?,
            size: f.size,
            sha256: &f.sha256,
        })
    });
    let links = locked
        .aliases
        .iter()
        .map(|(path, target)| Some(KeyEntry::Link { path, target }));
    let entries = files.chain(links).collect::<Option<Vec<_>>>()?;
    Some(key_of(entries, &locked.runtimes, catalog, options))
}

/// The key's text, hashed: entries in path order (the plan's own order).
fn key_of(
    mut entries: Vec<KeyEntry<'_>>,
    runtimes: &[(String, String)],
    catalog: &str,
    options: &ZipOptions,
) -> String {
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    let mut text = format!(
        "layerc-store-key {KEY_VERSION}\nzip-format {}\nchunk {}\ncompression {}\ntime {} {}\ncatalog {catalog}\n",
        zip::FORMAT_VERSION,
        zip::CHUNK,
        options.compression.level(),
        options.time.datepart(),
        options.time.timepart(),
    );
    for (id, hash) in runtimes {
        text.push_str(&format!("runtime {id} {hash}\n"));
    }
    for entry in &entries {
        match entry {
            KeyEntry::File {
                path,
                mode,
                size,
                sha256,
            } => text.push_str(&format!("file {path}\t{mode:o}\t{size}\t{sha256}\n")),
            KeyEntry::Link { path, target } => text.push_str(&format!("link {path}\t{target}\n")),
        }
    }
    crate::digest::hex(&Sha256::digest(text.as_bytes()))
}
