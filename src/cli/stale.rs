//! The zips a build wrote for layers the spec no longer has: found through the lock on disk,
//! removed only when their bytes are the ones the lock records.

use std::path::{Path, PathBuf};

use layerc::Analysis;
use layerc::emit;

use super::output::say;

/// The zips in `out` of layers the lock on disk records and the spec no longer has, each only
/// when its bytes are the ones the lock records: a file layerc wrote, never one of the user's.
pub(super) fn stale_zips(
    analysis: &Analysis,
    lock_path: &Path,
    out: &Path,
) -> Vec<(String, PathBuf)> {
    let Some(previous) = layerc::rootfs::host::read_text(lock_path, layerc::lock::MAX_BYTES)
        .ok()
        .and_then(|text| layerc::lock::parse(&text).ok())
    else {
        return Vec::new();
    };
    previous
        .layers
        .iter()
        .filter(|l| analysis.spec.layer(&l.name).is_none())
        .filter_map(|l| {
            let zip = out.join(emit::template::zip_name(&l.name));
            // Only a regular file can be a zip layerc wrote: a FIFO or device is never read.
            let file = layerc::rootfs::host::open_regular_nofollow(&zip).ok()?;
            let ours = layerc::digest::sha256_of(file).ok() == l.zip;
            ours.then(|| (l.name.clone(), zip))
        })
        .collect()
}

/// Removes the zips of layers the spec no longer has (see [`stale_zips`]).
pub(super) fn remove_stale(stale: &[(String, PathBuf)]) {
    for (layer, zip) in stale {
        match std::fs::remove_file(zip) {
            Ok(()) => say(format_args!(
                "removed {} (layer `{layer}` is no longer in the spec)",
                zip.display()
            )),
            Err(e) => say(format_args!(
                "warning: cannot remove {}: {e}",
                zip.display()
            )),
        }
    }
}
