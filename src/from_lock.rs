//! Building from layer.lock alone: each layer's store key computed from the spec and the lock
//! (which records every entry's path, mode, size and sha256, every symlink, the runtime entries
//! and the catalog), and every zip taken from the local store or a remote cache, without opening
//! any rootfs. A deploy job that has the spec, the lock and a cache, and no image, Docker or
//! packages, writes the same zips and template a full build writes.
//!
//! A layer is served from the lock only when the lock was written for the spec as it is now (the
//! layer's [`lock::spec_hash`]) and for this catalog; otherwise, or when no store has its key, the
//! build needs the rootfs, and [`NeedsRootfs`] names each such layer and why.

use std::path::Path;

use crate::analysis::{Analysis, Buildable};
use crate::emit::{self, EmitError, zip::ZipOptions};
use crate::lock::{self, Lock};
use crate::pipeline::{BuildReport, BuiltZip, Origin, Stores};
use crate::template;

/// The layers that cannot be built from the lock alone, each with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsRootfs {
    pub layers: Vec<(String, String)>,
}

/// Each layer's key from the spec and the lock, or why the lock cannot give it.
pub fn locked_keys(
    analysis: &Analysis,
    lock: &Lock,
    zip: &ZipOptions,
) -> Vec<(String, Result<String, String>)> {
    analysis
        .spec
        .layers
        .iter()
        .map(|spec| {
            let name = spec.name.value.clone();
            (name, locked_key(spec, lock, zip))
        })
        .collect()
}

fn locked_key(
    spec: &crate::spec::LayerSpec,
    lock: &Lock,
    zip: &ZipOptions,
) -> Result<String, String> {
    let locked = lock
        .layer(&spec.name.value)
        .ok_or("it is not in layer.lock")?;
    if locked.spec.as_deref() != Some(lock::spec_hash(spec).as_str()) {
        return Err("the spec changed since layer.lock was written".into());
    }
    // A layer checked against the catalog must be locked against this catalog's entries (a
    // described runtime's hashes are the lock's to vouch for: its description is not read).
    if spec.described_by.is_none() {
        let target = spec.target.as_ref().ok_or("it names no known runtime")?;
        if lock.catalog != target.catalog.version || locked.runtimes != lock::runtime_hashes(target)
        {
            return Err("the runtime catalog changed since layer.lock was written".into());
        }
    }
    crate::lock::store_key_from_lock(locked, &lock.catalog, zip)
        .ok_or_else(|| "layer.lock does not record file modes yet (run `layerc lock`)".into())
}

/// Where each layer would come from in a build from the lock: the local store, a cache (named),
/// or nowhere (with the reason). Nothing is downloaded or written; for `build --dry-run`.
pub fn plan_from_lock(
    analysis: &Analysis,
    lock: &Lock,
    zip: &ZipOptions,
    stores: Stores<'_>,
) -> Vec<(String, Result<Origin, String>)> {
    locked_keys(analysis, lock, zip)
        .into_iter()
        .map(|(layer, key)| {
            let origin = key.and_then(|key| {
                if stores.local.is_some_and(|s| s.has(&key)) {
                    return Ok(Origin::Store);
                }
                stores
                    .remote
                    .and_then(|caches| caches.find_layer(&key))
                    .map(Origin::Cache)
                    .ok_or_else(|| format!("key {key} is in no store or cache"))
            });
            (layer, origin)
        })
        .collect()
}

/// Writes every layer's zip from the stores, the template and the lock, without opening any
/// rootfs: all of them, or nothing when a layer cannot be served ([`NeedsRootfs`]).
pub fn build_from_lock(
    analysis: Buildable<'_>,
    out_dir: &Path,
    zip: &ZipOptions,
    (lock_path, mut lock): (&Path, Lock),
    merged: Option<&template::files::Merged>,
    stores: Stores<'_>,
) -> Result<Result<BuildReport, NeedsRootfs>, EmitError> {
    // `--locked` never writes the lock: it must already record what is written.
    let on_disk = crate::lock::render(&lock);
    let mut report = BuildReport::new(out_dir, merged);
    let mut staged = Vec::new();
    let mut missing = Vec::new();
    for (layer, key) in locked_keys(&analysis, &lock, zip) {
        let path = out_dir.join(emit::template::zip_name(&layer));
        let problems = &mut report.store_problems;
        let zipped = match key {
            Ok(key) => crate::pipeline::reuse_zip(stores, &key, &path, problems)
                .ok_or_else(|| format!("key {key} is in no store or cache")),
            Err(why) => Err(why),
        };
        let zipped = match zipped {
            Ok(zipped) => zipped,
            Err(why) => {
                missing.push((layer, why));
                continue;
            }
        };
        crate::pipeline::record_zip_hash(&mut lock, &layer, zipped.sha256);
        if zipped.size > crate::validate::MAX_DIRECT_UPLOAD_BYTES
            && let Some(spec) = analysis.spec.layer(&layer)
        {
            let warning = crate::pipeline::zip_size_warning(&path, zipped.size, spec);
            report.warnings.push(warning);
        }
        staged.push(zipped.staged);
        report.zips.push(BuiltZip {
            layer,
            path,
            size: zipped.size,
            origin: zipped.origin,
            stored: zipped.stored,
            pushed: Vec::new(),
        });
    }
    if !missing.is_empty() {
        return Ok(Err(NeedsRootfs { layers: missing }));
    }
    let lock = crate::pipeline::LockOutput {
        path: lock_path,
        lock,
        write: crate::pipeline::LockWrite::Locked(on_disk),
    };
    crate::pipeline::stage_rest(
        &analysis,
        merged,
        Some(&lock),
        &report.template,
        &mut staged,
    )?;
    emit::commit(staged)?;
    Ok(Ok(report))
}
