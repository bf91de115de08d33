//! The back half of a build: each layer's zip (from the store, or written), layer.lock and the
//! template staged, then committed together, so a build changes all of its outputs or none.

use std::path::{Path, PathBuf};

use crate::analysis::{Analysis, Buildable};
use crate::diagnostic::{Code, Diagnostic};
use crate::emit::{self, EmitError};
use crate::plan::LayerAnalysis;
use crate::{cache, lock, spec, store, template, validate};

/// What `build` wrote.
pub struct BuildReport {
    pub zips: Vec<BuiltZip>,
    pub template: PathBuf,
    pub warnings: Vec<Diagnostic>,
    /// Why the store could not be read or written for a zip (which was built all the same).
    pub store_problems: Vec<String>,
}

impl BuildReport {
    /// A report with no zip yet, whose template is the merged one or the fragment in `out_dir`.
    pub(crate) fn new(out_dir: &Path, merged: Option<&template::files::Merged>) -> BuildReport {
        BuildReport {
            zips: Vec::new(),
            template: merged.map_or_else(
                || out_dir.join("serverless.template.json"),
                |m| m.path.clone(),
            ),
            warnings: Vec::new(),
            store_problems: Vec::new(),
        }
    }
}

/// One layer's zip, as written.
pub struct BuiltZip {
    pub layer: String,
    pub path: PathBuf,
    pub size: u64,
    /// Where the bytes came from.
    pub origin: Origin,
    /// In the store after this build (taken from it, or built and stored).
    pub stored: bool,
    /// The remote caches the zip was pushed to.
    pub pushed: Vec<String>,
}

/// Where a zip's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read and compressed by this build.
    Built,
    /// Linked or copied from the local store: nothing was read or compressed for it.
    Store,
    /// Downloaded from this remote cache (by its URL), checked against its signed entry.
    Cache(String),
}

impl BuiltZip {
    /// Taken from the local store or a remote cache: nothing was read or compressed for it.
    pub fn reused(&self) -> bool {
        self.origin != Origin::Built
    }
}

/// Where built zips are kept and looked up: the local store, then the remote caches.
#[derive(Clone, Copy, Default)]
pub struct Stores<'a> {
    pub local: Option<&'a store::Store>,
    pub remote: Option<&'a cache::Caches>,
}

/// Writes every layer zip and the template fragment into `out_dir`: all of them, or none (each is
/// staged in a temporary file, and they are renamed into place only once every one is written).
pub fn build(
    analysis: Buildable<'_>,
    out_dir: &Path,
    zip: &emit::zip::ZipOptions,
) -> Result<BuildReport, EmitError> {
    build_with_lock(analysis, out_dir, zip, None, None, Stores::default(), None)
}

/// [`build`], and when `lock` is given, also its file with each zip's sha256 filled in; with
/// `merged` (from [`template::files::prepare`]), the user's template replaced by the merged text
/// (its owner, group and mode kept; refused if it changed since it was read) instead of the
/// fragment (an unchanged template is not written). All are renamed into place together. With
/// `stores` (which need the lock's file digests), a zip whose key is in the local store is linked
/// from there, else one a remote cache has is downloaded (and stored); a zip built is stored and
/// pushed to the caches that take pushes. Zips written `ahead` (by [`write_zips_ahead`] into the
/// same `out_dir` with the same options) are used, not written again.
pub fn build_with_lock(
    analysis: Buildable<'_>,
    out_dir: &Path,
    zip: &emit::zip::ZipOptions,
    mut lock: Option<LockOutput<'_>>,
    merged: Option<&template::files::Merged>,
    stores: Stores<'_>,
    ahead: Option<ZipsAhead>,
) -> Result<BuildReport, EmitError> {
    let mut ahead = ahead.map_or_else(Vec::new, |a| a.0).into_iter();
    let mut report = BuildReport::new(out_dir, merged);
    let mut staged = Vec::new();
    for layer in &analysis.layers {
        let path = out_dir.join(emit::template::zip_name(layer.name()));
        let key = lock.as_ref().and_then(|out| {
            let locked = out.lock.layer(layer.name())?;
            lock::store_key(&layer.plan, locked, &out.lock.catalog, zip)
        });
        let problems = &mut report.store_problems;
        let reused = key
            .as_deref()
            .and_then(|key| reuse_zip(stores, key, &path, problems));
        let zipped = match reused {
            Some(zipped) => zipped,
            None => {
                let ahead = ahead.next().flatten();
                build_zip(layer, &path, zip, stores, key.as_deref(), problems, ahead)?
            }
        };
        if let Some(out) = &mut lock {
            record_zip_hash(&mut out.lock, layer.name(), zipped.sha256);
        }
        if zipped.size > validate::MAX_DIRECT_UPLOAD_BYTES
            && let Some(spec) = analysis.spec.layer(layer.name())
        {
            report
                .warnings
                .push(zip_size_warning(&path, zipped.size, spec));
        }
        staged.push(zipped.staged);
        report.zips.push(BuiltZip {
            layer: layer.name().to_string(),
            path,
            size: zipped.size,
            origin: zipped.origin,
            stored: zipped.stored,
            pushed: zipped.pushed,
        });
    }
    stage_rest(
        &analysis,
        merged,
        lock.as_ref(),
        &report.template,
        &mut staged,
    )?;
    emit::commit(staged)?;
    Ok(report)
}

/// Stages the template (merged, or the fragment) and the lock beside the zips. The user's template
/// keeps its owner, group and mode, and is replaced only if it still holds the text the merge was
/// made from.
pub(crate) fn stage_rest(
    analysis: &Analysis,
    merged: Option<&template::files::Merged>,
    lock: Option<&LockOutput<'_>>,
    template_path: &Path,
    staged: &mut Vec<emit::Staged>,
) -> Result<(), EmitError> {
    let text = match merged {
        Some(m) => m.new.clone(),
        None => emit::template::render(&emit::template::fragment(&analysis.spec)),
    };
    if merged.is_none_or(|m| m.new != m.old) {
        let template = emit::stage(template_path, |file| {
            use std::io::Write;
            file.write_all(text.as_bytes())
                .map_err(EmitError::write(template_path))
        })?;
        staged.push(match merged {
            Some(m) => template.expecting(m.old.as_bytes()),
            None => template,
        });
    }
    if let Some(out) = lock {
        staged.extend(stage_lock(out)?);
    }
    Ok(())
}

/// The lock's file staged, when the build writes it. `--locked` never writes the lock (cargo's
/// rule): a lock that would change fails the build before anything is renamed into place.
fn stage_lock(out: &LockOutput<'_>) -> Result<Option<emit::Staged>, EmitError> {
    let text = lock::render(&out.lock);
    match &out.write {
        LockWrite::Locked(on_disk) if *on_disk != text => Err(EmitError::Write {
            path: out.path.to_path_buf(),
            source: std::io::Error::other(LockWouldChange),
        }),
        LockWrite::Locked(_) | LockWrite::Skip => Ok(None),
        LockWrite::Write => emit::stage(out.path, |file| {
            use std::io::Write;
            file.write_all(text.as_bytes())
                .map_err(EmitError::write(out.path))
        })
        .map(Some),
    }
}

/// Why a `--locked` build failed after its zips were written (and discarded): the cause inside
/// the `EmitError::Write` of layer.lock, told by its type.
#[derive(Debug, thiserror::Error)]
#[error(
    "--locked: the lock would change (a zip's sha256 differs from the one it records: \
     SOURCE_DATE_EPOCH, the compression or layerc changed); build without --locked to update it"
)]
pub struct LockWouldChange;

/// The lock of a build: its store keys are used in any case; whether its file is written.
pub struct LockOutput<'a> {
    pub path: &'a Path,
    pub lock: lock::Lock,
    pub write: LockWrite,
}

pub enum LockWrite {
    Write,
    /// `--locked`: the lock's text on disk. The lock is never written, and the build fails
    /// (nothing written) when the new lock's text differs.
    Locked(String),
    /// Not written (a build into a folder outside the spec's: the lock belongs to the spec).
    Skip,
}

/// A layer's zip, staged.
pub(crate) struct Zipped {
    pub(crate) staged: emit::Staged,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) origin: Origin,
    pub(crate) stored: bool,
    pub(crate) pushed: Vec<String>,
}

/// Layer zips written while the inputs were still being hashed, before the store could be asked
/// for them; in layer order, `None` where writing stopped or failed (that zip is then taken from
/// the store or written again, which reports the failure). Dropping it removes the files.
pub struct ZipsAhead(Vec<Option<Zipped>>);

/// Writes each layer's zip into a temporary file beside its target in `out_dir`, until `stop` is
/// set: the work a build whose input digests are being computed meanwhile does not have to wait
/// for (see [`crate::ops::build`]).
pub fn write_zips_ahead(
    analysis: &Buildable<'_>,
    out_dir: &Path,
    zip: &emit::zip::ZipOptions,
    stop: &std::sync::atomic::AtomicBool,
) -> ZipsAhead {
    let zips = analysis.layers.iter().map(|layer| {
        let path = out_dir.join(emit::template::zip_name(layer.name()));
        write_zip(layer, &path, zip, stop).ok()
    });
    ZipsAhead(zips.collect())
}

/// Stages the zip of `key` at `path` from the local store, else from a remote cache (and then
/// stores it); `None` when neither has it. Problems with either are recorded, never fatal.
pub(crate) fn reuse_zip(
    stores: Stores<'_>,
    key: &str,
    path: &Path,
    problems: &mut Vec<String>,
) -> Option<Zipped> {
    if let Some(store) = stores.local {
        match store.lookup(key) {
            // A link that fails (gc removed the entry meanwhile) falls back to the next source.
            Ok(Some(hit)) => {
                if let Ok(staged) = emit::stage_copy(&hit.path, path) {
                    return Some(Zipped {
                        staged,
                        size: hit.size,
                        sha256: hit.sha256,
                        origin: Origin::Store,
                        stored: true,
                        pushed: Vec::new(),
                    });
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("cannot read store entry {key}: {e}")),
        }
    }
    let caches = stores.remote.filter(|c| !c.is_empty())?;
    let fetched = caches.download_layer(key, path);
    let (downloaded, hit) = match fetched {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => {
            problems.push(e.to_string());
            return None;
        }
    };
    let staged = emit::stage_copy(downloaded.path(), path).ok()?;
    let stored = stores.local.is_some_and(|store| {
        store
            .insert(key, downloaded.path(), &hit.sha256)
            .map_err(|e| problems.push(format!("cannot store {}: {e}", path.display())))
            .is_ok()
    });
    Some(Zipped {
        staged,
        size: hit.size,
        sha256: hit.sha256,
        origin: Origin::Cache(hit.cache),
        stored,
        pushed: Vec::new(),
    })
}

/// Stages a layer's zip written `ahead` or written now, then stores it and pushes it to the
/// caches that take pushes. Zips are read-only, since one may share its bytes with the store entry.
fn build_zip(
    layer: &LayerAnalysis,
    path: &Path,
    options: &emit::zip::ZipOptions,
    stores: Stores<'_>,
    key: Option<&str>,
    problems: &mut Vec<String>,
    ahead: Option<Zipped>,
) -> Result<Zipped, EmitError> {
    let mut zipped = match ahead {
        Some(zipped) => zipped,
        None => write_zip(layer, path, options, &Default::default())?,
    };
    let Some(key) = key else {
        return Ok(zipped);
    };
    if let Some(store) = stores.local {
        match store.insert(key, zipped.staged.path(), &zipped.sha256) {
            Ok(()) => zipped.stored = true,
            Err(e) => problems.push(format!(
                "cannot store {} in {}: {e}",
                path.display(),
                store.root().display()
            )),
        }
    }
    if let Some(caches) = stores.remote {
        zipped.pushed = caches.push_layer(key, zipped.staged.path(), &zipped.sha256, zipped.size);
    }
    Ok(zipped)
}

/// Writes a layer's zip into a temporary file beside `path`, unless `stop` is set meanwhile.
fn write_zip(
    layer: &LayerAnalysis,
    path: &Path,
    options: &emit::zip::ZipOptions,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Zipped, EmitError> {
    let (mut size, mut sha256) = (0, String::new());
    let staged = emit::stage_with_mode(path, 0o444, |file| {
        let fs = layer.rootfs.fs.as_ref();
        let syncing = crate::sync_ahead::SyncAhead::new(file);
        let plan = &layer.plan;
        drop(emit::zip::write_layer_zip_until(
            plan, fs, options, syncing, path, stop,
        )?);
        size = file.metadata().map_err(EmitError::write(path))?.len();
        sha256 = crate::digest::sha256_from_start(file).map_err(EmitError::write(path))?;
        Ok(())
    })?;
    Ok(Zipped {
        staged,
        size,
        sha256,
        origin: Origin::Built,
        stored: false,
        pushed: Vec::new(),
    })
}

/// Records the sha256 of a layer's zip in the lock.
pub(crate) fn record_zip_hash(lock: &mut lock::Lock, layer: &str, hash: String) {
    if let Some(locked) = lock.layers.iter_mut().find(|l| l.name == layer) {
        locked.zip = Some(hash);
    }
}

pub(crate) fn zip_size_warning(path: &Path, size: u64, spec: &spec::LayerSpec) -> Diagnostic {
    Diagnostic::warning(
        Code::LimitsZipSize,
        format!(
            "{} is {size} bytes, over the 50 MB the Lambda API takes directly",
            path.display()
        ),
    )
    .at(spec.name.span)
    .label("large layer")
    .help("upload it through S3: `sam deploy`/`sam package` do that for ContentUri files")
}
