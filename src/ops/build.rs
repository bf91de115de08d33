//! `layerc build` as one operation: an analysis and [`BuildOptions`] in, the zips, layer.lock and
//! the merged template (or the fragment) written together, and a [`Built`] report out; or a
//! [`BuildError`] with every file as it was. The command line maps its arguments onto the options
//! and prints the report; the dry run and the build from layer.lock alone are its own.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::analysis::{Analysis, Buildable};
use crate::diagnostic::Diagnostic;
use crate::emit::EmitError;
use crate::emit::zip::ZipOptions;
use crate::lock::{self, Lock, ReadError};
use crate::pipeline::{BuildReport, LockOutput, LockWouldChange, LockWrite, Stores, ZipsAhead};
use crate::runtime::Catalog;
use crate::store::Store;
use crate::template::files::{Merged, prepare};

/// What a build is asked for.
pub struct BuildOptions<'a> {
    /// The output folder; `build/` beside the spec when `None`.
    pub out: Option<PathBuf>,
    pub zip: ZipOptions,
    /// `--locked`: fail, with nothing written, when the inputs or the lock itself differ from
    /// layer.lock, which is never written.
    pub locked: bool,
    /// The local store and the remote caches zips are taken from and put into.
    pub stores: Stores<'a>,
    /// Told what the build could not do that does not stop it (a stat index it cannot update).
    pub warn: &'a dyn Fn(String),
}

/// What a build wrote.
pub struct Built {
    pub report: BuildReport,
    /// The user's template with the layers merged in, when the analysis has one.
    pub merged: Option<Merged>,
    pub lock_path: PathBuf,
    /// Whether layer.lock was written: not under `--locked`, nor for an output folder outside the
    /// spec's folder (the lock belongs to the spec, whose usual builds it records).
    pub lock_written: bool,
    /// The zips of layers the spec no longer has, each removed or why not (only zips whose bytes
    /// are the ones the previous lock records: files layerc wrote).
    pub stale: Vec<(String, PathBuf, io::Result<()>)>,
}

/// Why nothing was written (or, for [`EmitError::Partial`], what could not be put back).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the spec has errors")]
    HasErrors,
    /// The user's template cannot take the layers.
    #[error("{0}")]
    Template(String),
    /// An input the lock hashes cannot be read.
    #[error(transparent)]
    Read(ReadError),
    /// `--locked`: how the inputs differ from layer.lock.
    #[error("the inputs differ from layer.lock")]
    Drift(Vec<Diagnostic>),
    #[error(transparent)]
    Emit(EmitError),
}

impl BuildError {
    /// The process exit code: 1 for what the spec or layer.lock must change, 2 when an input or
    /// an output could not be read or written.
    pub fn exit_code(&self, analysis: &Analysis) -> i32 {
        match self {
            BuildError::HasErrors => analysis.exit_code(),
            BuildError::Drift(_) => 1,
            BuildError::Emit(e) if lock_would_change(e) => 1,
            BuildError::Template(_) | BuildError::Read(_) | BuildError::Emit(_) => 2,
        }
    }
}

/// `--locked` refused a lock whose text would change (a zip's sha256 differs from layer.lock's).
pub fn lock_would_change(e: &EmitError) -> bool {
    let cause = |source: &io::Error| source.get_ref().is_some_and(|c| c.is::<LockWouldChange>());
    matches!(e, EmitError::Write { source, .. } if cause(source))
}

/// Builds every layer of `analysis` (see the module's note): the merged template is computed
/// before anything is written, the zips are written ahead while the lock is computed when the
/// stat index cannot vouch for every input, and the output folders a failed build created are
/// removed again.
pub fn build(
    analysis: &Analysis,
    catalog: &Catalog,
    options: &BuildOptions<'_>,
) -> Result<Built, BuildError> {
    let buildable = Buildable::try_from(analysis).map_err(|_| BuildError::HasErrors)?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| analysis.spec_dir.join("build"));
    let merged = prepare(analysis.template.as_ref(), &analysis.spec, catalog, &out)
        .transpose()
        .map_err(BuildError::Template)?;
    let created = missing_folders(&out);
    crate::emit::interrupt::created(&created);
    let result = write(buildable, &out, merged, options);
    if result.is_err() {
        crate::emit::interrupt::remove_empty(&created);
    }
    result
}

/// The lock, then the outputs, all renamed into place together.
fn write(
    buildable: Buildable<'_>,
    out: &Path,
    merged: Option<Merged>,
    options: &BuildOptions<'_>,
) -> Result<Built, BuildError> {
    let analysis: &Analysis = &buildable;
    let (fresh, ahead) = fresh_writing_ahead(&buildable, options, out)?;
    if options.locked {
        let drift = lock::drift_on_disk(analysis, &fresh);
        if !drift.is_empty() {
            drop(ahead);
            return Err(BuildError::Drift(drift));
        }
    }
    let lock_path = lock::path(analysis);
    let write = lock_write(analysis, out, options.locked, &lock_path);
    let lock_written = matches!(write, LockWrite::Write);
    let stale = if lock_written {
        stale_zips(analysis, &lock_path, out)
    } else {
        Vec::new()
    };
    let lock = Some(LockOutput {
        path: &lock_path,
        lock: fresh,
        write,
    });
    let report = crate::pipeline::build_with_lock(
        buildable,
        out,
        &options.zip,
        lock,
        merged.as_ref(),
        options.stores,
        ahead,
    )
    .map_err(BuildError::Emit)?;
    let stale = stale
        .into_iter()
        .map(|(layer, zip)| {
            let removed = crate::emit::remove_output(&zip);
            (layer, zip, removed)
        })
        .collect();
    Ok(Built {
        report,
        merged,
        lock_path,
        lock_written,
        stale,
    })
}

/// The lock of the analysis as it is now, with the digests of unchanged files from the store's
/// stat index when there is a store.
pub fn fresh_lock(
    analysis: &Analysis,
    store: Option<&Store>,
    warn: &dyn Fn(String),
) -> Result<Lock, ReadError> {
    fresh_with(analysis, store.map(|store| (store, store.digests())), warn)
}

/// [`fresh_lock`] with the store's stat indexes already open.
fn fresh_with(
    analysis: &Analysis,
    store: Option<(&Store, crate::store::stat::StatDigests)>,
    warn: &dyn Fn(String),
) -> Result<Lock, ReadError> {
    let Some((store, mut digests)) = store else {
        return lock::compute(analysis);
    };
    let computed = lock::compute_with(analysis, &mut digests);
    if let Err(e) = digests.save() {
        warn(format!(
            "cannot update the stat index in {}: {e}",
            store.root().display()
        ));
    }
    computed
}

/// [`fresh_lock`], with the zips written ahead while it is computed when the stat index cannot
/// vouch for every input: hashing the inputs and compressing them then share the cores instead of
/// taking turns. Writing stops as soon as the lock shows that the store (or a remote cache) holds
/// every zip, so a build the stores can serve never waits for compression.
fn fresh_writing_ahead(
    analysis: &Buildable<'_>,
    options: &BuildOptions<'_>,
    out: &Path,
) -> Result<(Lock, Option<ZipsAhead>), BuildError> {
    let (stores, zip) = (options.stores, &options.zip);
    let mut digests = stores.local.map(|store| (store, store.digests()));
    if let Some((_, digests)) = &mut digests
        && let Ok(lock) = lock::compute_with(analysis, &mut digests.known_only())
    {
        return Ok((lock, None));
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| crate::pipeline::write_zips_ahead(analysis, out, zip, &stop));
        let fresh = fresh_with(analysis, digests, options.warn);
        if fresh
            .as_ref()
            .map_or(true, |lock| all_stored(analysis, lock, zip, stores))
        {
            stop.store(true, Ordering::Relaxed);
        }
        let ahead = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        fresh
            .map(|lock| (lock, Some(ahead)))
            .map_err(BuildError::Read)
    })
}

/// Whether the store or a remote cache holds the zip of every layer, going by the lock.
fn all_stored(analysis: &Analysis, lock: &Lock, zip: &ZipOptions, stores: Stores<'_>) -> bool {
    if stores.local.is_none() && stores.remote.is_none() {
        return false;
    }
    analysis.layers.iter().all(|layer| {
        lock.layer(layer.name())
            .and_then(|locked| crate::lock::store_key(&layer.plan, locked, &lock.catalog, zip))
            .is_some_and(|key| {
                stores.local.is_some_and(|s| s.has(&key))
                    || stores.remote.is_some_and(|c| c.find_layer(&key).is_some())
            })
    })
}

/// Whether the build writes layer.lock: never with `--locked` (it must already be right), and not
/// for an output folder outside the spec's folder.
fn lock_write(analysis: &Analysis, out: &Path, locked: bool, lock_path: &Path) -> LockWrite {
    if locked {
        let text = crate::rootfs::host::read_text(lock_path, lock::MAX_BYTES);
        return LockWrite::Locked(text.unwrap_or_default());
    }
    let absolute = |p: &Path| {
        let joined = std::env::current_dir().unwrap_or_default().join(p);
        let mut clean = PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::ParentDir => {
                    clean.pop();
                }
                std::path::Component::CurDir => {}
                other => clean.push(other),
            }
        }
        clean
    };
    if absolute(out).starts_with(absolute(&analysis.spec_dir)) {
        LockWrite::Write
    } else {
        LockWrite::Skip
    }
}

/// The zips in `out` of layers the lock on disk records and the spec no longer has, each only
/// when its bytes are the ones the lock records: a file layerc wrote, never one of the user's.
fn stale_zips(analysis: &Analysis, lock_path: &Path, out: &Path) -> Vec<(String, PathBuf)> {
    let Some(previous) = crate::rootfs::host::read_text(lock_path, lock::MAX_BYTES)
        .ok()
        .and_then(|text| lock::parse(&text).ok())
    else {
        return Vec::new();
    };
    previous
        .layers
        .iter()
        .filter(|l| analysis.spec.layer(&l.name).is_none())
        .filter_map(|l| {
            let zip = out.join(crate::emit::template::zip_name(&l.name));
            // Only a regular file can be a zip layerc wrote: a FIFO or device is never read.
            let file = crate::rootfs::host::open_regular_nofollow(&zip).ok()?;
            let ours = crate::digest::sha256_of(file).ok() == l.zip;
            ours.then(|| (l.name.clone(), zip))
        })
        .collect()
}

/// The folders of `out` that do not exist yet, deepest first.
pub fn missing_folders(out: &Path) -> Vec<PathBuf> {
    out.ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .map(Path::to_path_buf)
        .collect()
}
