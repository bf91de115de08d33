//! `layer.lock` on the command line: `layerc lock`, and `--locked` for `build` and `check`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use layerc::diagnostic::{Code, Diagnostic};
use layerc::emit::zip::ZipOptions;
use layerc::lock::{self, Lock};
use layerc::store::Store;
use layerc::store::stat::StatDigests;
use layerc::{Analysis, Buildable, Stores, ZipsAhead};

use super::output::{report, say};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};

/// `layer.lock` beside the spec.
pub(super) fn path(analysis: &Analysis) -> PathBuf {
    analysis.spec_dir.join(lock::FILE_NAME)
}

/// The lock of the analysis as it is now, with the digests of unchanged files from the store's
/// stat index when there is a store; a file that cannot be read is reported and gives exit 2.
pub(super) fn fresh(analysis: &Analysis, store: Option<&Store>) -> Result<Lock, i32> {
    fresh_with(analysis, store.map(|store| (store, store.digests())))
}

/// [`fresh`] with the store's stat indexes already open.
fn fresh_with(analysis: &Analysis, store: Option<(&Store, StatDigests)>) -> Result<Lock, i32> {
    let computed = match store {
        None => lock::compute(analysis),
        Some((store, mut digests)) => {
            let computed = lock::compute_with(analysis, &mut digests);
            if let Err(e) = digests.save() {
                say(format_args!(
                    "warning: cannot update the stat index in {}: {e}",
                    store.root().display()
                ));
            }
            computed
        }
    };
    computed.map_err(|e| {
        say(format_args!("error: {e}"));
        TOOL_ERROR
    })
}

/// [`fresh`], with the zips written ahead while it is computed when the stat index cannot vouch
/// for every input: hashing the inputs and compressing them then share the cores instead of taking
/// turns. Writing stops as soon as the lock shows that the store (or a remote cache) holds every
/// zip, so a build the stores can serve never waits for compression.
pub(super) fn fresh_writing_ahead(
    analysis: &Buildable<'_>,
    stores: Stores<'_>,
    out: &Path,
    zip: &ZipOptions,
) -> Result<(Lock, Option<ZipsAhead>), i32> {
    let store = stores.local;
    let mut digests = store.map(|store| (store, store.digests()));
    if let Some((_, digests)) = &mut digests
        && let Ok(lock) = lock::compute_with(analysis, &mut digests.known_only())
    {
        return Ok((lock, None));
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| layerc::write_zips_ahead(analysis, out, zip, &stop));
        let fresh = fresh_with(analysis, digests);
        if fresh
            .as_ref()
            .map_or(true, |lock| all_stored(analysis, lock, zip, stores))
        {
            stop.store(true, Ordering::Relaxed);
        }
        let ahead = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        fresh.map(|lock| (lock, Some(ahead)))
    })
}

/// Whether the store or a remote cache holds the zip of every layer, going by the lock.
fn all_stored(analysis: &Analysis, lock: &Lock, zip: &ZipOptions, stores: Stores<'_>) -> bool {
    if stores.local.is_none() && stores.remote.is_none() {
        return false;
    }
    analysis.layers.iter().all(|layer| {
        lock.layer(layer.name())
            .and_then(|locked| layerc::store::key(&layer.plan, locked, &lock.catalog, zip))
            .is_some_and(|key| {
                stores.local.is_some_and(|s| s.has(&key))
                    || stores.remote.is_some_and(|c| c.find_layer(&key).is_some())
            })
    })
}

/// `--locked`: each image reference is pulled by the digest layer.lock records for it (its tag is
/// still asked, so a tag pushed again shows as drift). A lock that cannot be read pins nothing; the
/// drift check reports it.
pub(super) fn pin_images(session: &layerc::Session, spec: &Path) {
    let dir = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(Some(text)) =
        layerc::rootfs::host::read_text_if_exists(&dir.join(lock::FILE_NAME), lock::MAX_BYTES)
    else {
        return;
    };
    let Ok(locked) = lock::parse(&text) else {
        return;
    };
    for image in locked.layers.iter().flat_map(|l| &l.images) {
        session.pulls.pin(&image.reference, &image.index);
    }
    for layer in &locked.layers {
        if !layer.packages.is_empty() {
            let pin = layerc::packages::Pin {
                sources: layer.packages.sources.clone(),
                packages: layer.packages.files.clone(),
            };
            session.packages.pin(&layer.name, pin);
        }
    }
}

/// The lock on disk, or the diagnostic saying why there is none to compare with.
pub(super) fn on_disk(analysis: &Analysis) -> Result<Option<Lock>, Box<Diagnostic>> {
    let path = path(analysis);
    let text = match layerc::rootfs::host::read_text_if_exists(&path, lock::MAX_BYTES) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(None),
        Err(e) => {
            return Err(Box::new(
                Diagnostic::error(
                    Code::LockMalformed,
                    format!("cannot read {}: {e}", path.display()),
                )
                .help("run `layerc lock` to write it again"),
            ));
        }
    };
    lock::parse(&text).map(Some).map_err(|e| {
        Box::new(
            Diagnostic::error(
                Code::LockMalformed,
                format!("{} cannot be read: {e}", path.display()),
            )
            .help("run `layerc lock` to write it again"),
        )
    })
}

/// `--locked`: every way the fresh lock differs from the one on disk (none when they agree).
pub(super) fn drift(analysis: &Analysis, fresh: &Lock) -> Vec<Diagnostic> {
    match on_disk(analysis) {
        Err(d) => vec![*d],
        Ok(None) => vec![
            Diagnostic::error(
                Code::LockMissing,
                format!("{} does not exist", path(analysis).display()),
            )
            .help("run `layerc lock` or `layerc build` without `--locked` to write it"),
        ],
        Ok(Some(locked)) => lock::drift(&locked, fresh, analysis),
    }
}

/// `layerc check --locked`.
pub(super) fn check(analysis: &Analysis, format: Format, color: bool) -> i32 {
    let mut diags = analysis.diagnostics.clone();
    if !analysis.has_errors() {
        // `check` writes nothing, the store's stat index included: every shipped file is read.
        match fresh(analysis, None) {
            Ok(lock) => diags.extend(drift(analysis, &lock)),
            Err(code) => return code,
        }
    }
    report(analysis, &diags, format, color);
    if diags.iter().any(Diagnostic::is_error) && !analysis.has_errors() {
        return SPEC_ERROR;
    }
    analysis.exit_code()
}

/// `layerc lock`: writes the lock without building. A layer whose inputs did not change keeps the
/// zip hash the last build recorded.
pub(super) fn run(analysis: &Analysis, format: Format, color: bool) -> i32 {
    report(analysis, &analysis.diagnostics, format, color);
    if analysis.has_errors() {
        say(format_args!(
            "error: layer.lock was not written: the spec has errors"
        ));
        return analysis.exit_code();
    }
    let mut lock = match fresh(analysis, super::store::open().as_ref()) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    if let Ok(Some(old)) = on_disk(analysis) {
        for layer in &mut lock.layers {
            let same = old.layer(&layer.name).filter(|o| {
                o.runtimes == layer.runtimes
                    && o.files == layer.files
                    && o.aliases == layer.aliases
                    && o.packages == layer.packages
            });
            layer.zip = same.and_then(|o| o.zip.clone());
        }
    }
    let path = path(analysis);
    let text = lock::render(&lock);
    let written = layerc::emit::write_atomic(&path, |file| {
        use std::io::Write;
        file.write_all(text.as_bytes())
            .map_err(layerc::emit::EmitError::write(&path))
    });
    match written {
        Ok(()) => {
            say(format_args!("wrote {}", path.display()));
            SUCCESS
        }
        Err(e) => {
            say(format_args!("error: {e}"));
            TOOL_ERROR
        }
    }
}
