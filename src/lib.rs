//! layerc compiles a KDL spec of native libraries into AWS Lambda layers.
//!
//! The pipeline, shared by the command line and the language server:
//! `spec::parse` → `resolve::resolve_layer` → `plan::plan_layer` → `validate::validate_layer` →
//! `emit`. [`Session::analyze`] runs the front half and returns data plus diagnostics; [`build`]
//! writes, and takes only a [`Buildable`] analysis (one without errors).

pub mod app;
pub mod arch;
pub mod described;
pub mod diagnostic;
pub mod dotnet;
pub mod elf;
pub mod emit;
pub mod layer_path;
pub mod lock;
pub mod lsp;
pub mod net;
pub mod packages;
pub mod plan;
pub mod registry;
pub mod resolve;
pub mod rootfs;
pub mod runtime;
pub mod shadow;
pub mod spec;
pub mod stack;
pub mod store;
pub mod template;
pub mod validate;

mod session;

use std::path::{Path, PathBuf};

use diagnostic::{Code, Diagnostic, SourceMap};
use emit::EmitError;
use plan::LayerPlan;
use resolve::LayerGraph;
use spec::Spec;

pub use session::{OpenRootfs, Session};
pub use template::input::TemplateChoice;

/// The front half's result for one spec.
pub struct Analysis {
    /// The spec and every file it imports; spans point into this map.
    pub sources: SourceMap,
    pub spec_dir: PathBuf,
    pub spec: Spec,
    pub layers: Vec<LayerAnalysis>,
    /// What each function's `app` check saw.
    pub apps: Vec<app::check::AppSummary>,
    /// The template the spec is merged into, when it names one (or `--merge` does) and it parses.
    pub template: Option<template::input::LoadedTemplate>,
    /// The images pulled by reference for each layer, for layer.lock.
    pub images: Vec<ImageUse>,
    /// The package rootfs of each layer that names one, for layer.lock.
    pub packages: Vec<PackageUse>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An image a layer names by reference, as pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    pub layer: String,
    /// `rootfs` or `target-rootfs`.
    pub node: &'static str,
    pub pulled: registry::Pulled,
}

/// A layer's rootfs made of distribution packages, as prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUse {
    pub layer: String,
    pub prepared: packages::Prepared,
}

pub struct LayerAnalysis {
    pub graph: LayerGraph,
    pub plan: LayerPlan,
    pub rootfs: OpenRootfs,
}

impl LayerAnalysis {
    /// The layer's name, as the spec gives it.
    pub fn name(&self) -> &str {
        &self.graph.layer
    }
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// 2 when an input could not be read, 1 for any other error, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.code.is_tool_failure())
        {
            2
        } else if self.has_errors() {
            1
        } else {
            0
        }
    }

    pub fn layer(&self, name: &str) -> Option<&LayerAnalysis> {
        self.layers.iter().find(|l| l.name() == name)
    }
}

/// An analysis without errors: the only thing [`build`] accepts.
#[derive(Clone, Copy)]
pub struct Buildable<'a>(&'a Analysis);

/// The analysis has errors; nothing may be built from it.
#[derive(Debug, thiserror::Error)]
#[error("the spec has errors")]
pub struct HasErrors;

impl<'a> TryFrom<&'a Analysis> for Buildable<'a> {
    type Error = HasErrors;
    fn try_from(analysis: &'a Analysis) -> Result<Self, HasErrors> {
        if analysis.has_errors() {
            Err(HasErrors)
        } else {
            Ok(Buildable(analysis))
        }
    }
}

impl std::ops::Deref for Buildable<'_> {
    type Target = Analysis;
    fn deref(&self) -> &Analysis {
        self.0
    }
}

/// What `build` wrote.
pub struct BuildReport {
    pub zips: Vec<BuiltZip>,
    pub template: PathBuf,
    pub warnings: Vec<Diagnostic>,
    /// Why the store could not be read or written for a zip (which was built all the same).
    pub store_problems: Vec<String>,
}

/// One layer's zip, as written.
pub struct BuiltZip {
    pub layer: String,
    pub path: PathBuf,
    pub size: u64,
    /// Linked or copied from the store: nothing was read or compressed for it.
    pub from_store: bool,
    /// In the store after this build (taken from it, or built and stored).
    pub stored: bool,
}

/// Writes every layer zip and the template fragment into `out_dir`: all of them, or none (each is
/// staged in a temporary file, and they are renamed into place only once every one is written).
pub fn build(
    analysis: Buildable<'_>,
    out_dir: &Path,
    zip: &emit::zip::ZipOptions,
) -> Result<BuildReport, EmitError> {
    build_with_lock(analysis, out_dir, zip, None, None, None, None)
}

/// [`build`], and when `lock` is given, also its file with each zip's sha256 filled in; with
/// `merged` (from [`template::files::prepare`]), the user's template replaced by the merged text
/// (its permissions kept) instead of the fragment (an unchanged template is not written). All are
/// renamed into place together. With a `store` (which needs the lock's file digests), a zip whose
/// key is stored is linked from there, and a zip built is stored. Zips written `ahead` (by
/// [`write_zips_ahead`] into the same `out_dir` with the same options) are used, not written again.
pub fn build_with_lock(
    analysis: Buildable<'_>,
    out_dir: &Path,
    zip: &emit::zip::ZipOptions,
    mut lock: Option<(&Path, lock::Lock)>,
    merged: Option<&template::files::Merged>,
    store: Option<&store::Store>,
    ahead: Option<ZipsAhead>,
) -> Result<BuildReport, EmitError> {
    let mut ahead = ahead.map_or_else(Vec::new, |a| a.0).into_iter();
    let mut report = BuildReport {
        zips: Vec::new(),
        template: merged.map_or_else(
            || out_dir.join("serverless.template.json"),
            |m| m.path.clone(),
        ),
        warnings: Vec::new(),
        store_problems: Vec::new(),
    };
    let mut staged = Vec::new();
    for layer in &analysis.layers {
        let path = out_dir.join(emit::template::zip_name(layer.name()));
        let key = lock.as_ref().and_then(|(_, lock)| {
            let locked = lock.layer(layer.name())?;
            store::key(&layer.plan, locked, &lock.catalog, zip)
        });
        let stored = store.zip(key.as_deref());
        let problems = &mut report.store_problems;
        let zipped = stage_zip(layer, &path, zip, stored, problems, ahead.next().flatten())?;
        if let Some((_, lock)) = &mut lock {
            record_zip_hash(lock, layer.name(), zipped.sha256);
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
            from_store: zipped.from_store,
            stored: zipped.stored,
        });
    }
    let (text, mode) = match merged {
        Some(m) => (m.new.clone(), m.mode),
        None => (
            emit::template::render(&emit::template::fragment(&analysis.spec)),
            0o644,
        ),
    };
    if merged.is_none_or(|m| m.new != m.old) {
        staged.push(emit::stage_with_mode(&report.template, mode, |file| {
            use std::io::Write;
            file.write_all(text.as_bytes())
                .map_err(EmitError::write(&report.template))
        })?);
    }
    if let Some((path, lock)) = &lock {
        let text = lock::render(lock);
        staged.push(emit::stage(path, |file| {
            use std::io::Write;
            file.write_all(text.as_bytes())
                .map_err(EmitError::write(path))
        })?);
    }
    emit::commit(staged)?;
    Ok(report)
}

/// A layer's zip, staged.
struct Zipped {
    staged: emit::Staged,
    size: u64,
    sha256: String,
    from_store: bool,
    stored: bool,
}

/// Layer zips written while the inputs were still being hashed, before the store could be asked
/// for them; in layer order, `None` where writing stopped or failed (that zip is then taken from
/// the store or written again, which reports the failure). Dropping it removes the files.
pub struct ZipsAhead(Vec<Option<Zipped>>);

/// Writes each layer's zip into a temporary file beside its target in `out_dir`, until `stop` is
/// set: the work a build whose input digests are being computed meanwhile does not have to wait
/// for (see `cli/lock.rs`).
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

/// Stages a layer's zip at `path`: linked from the store when it holds the key, else the one
/// written `ahead` or one written now (and then stored). Zips are read-only, since one may share
/// its bytes with the store entry.
fn stage_zip(
    layer: &LayerAnalysis,
    path: &Path,
    options: &emit::zip::ZipOptions,
    stored: Option<(&store::Store, &str)>,
    problems: &mut Vec<String>,
    ahead: Option<Zipped>,
) -> Result<Zipped, EmitError> {
    if let Some((store, key)) = stored {
        match store.lookup(key) {
            // A link that fails (gc removed the entry meanwhile) falls back to building.
            Ok(Some(hit)) => {
                if let Ok(staged) = emit::stage_copy(&hit.path, path) {
                    return Ok(Zipped {
                        staged,
                        size: hit.size,
                        sha256: hit.sha256,
                        from_store: true,
                        stored: true,
                    });
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("cannot read store entry {key}: {e}")),
        }
    }
    let mut zipped = match ahead {
        Some(zipped) => zipped,
        None => write_zip(layer, path, options, &Default::default())?,
    };
    let inserted = stored.map(|(store, key)| {
        store
            .insert(key, zipped.staged.path(), &zipped.sha256)
            .map_err(|e| {
                format!(
                    "cannot store {} in {}: {e}",
                    path.display(),
                    store.root().display()
                )
            })
    });
    problems.extend(inserted.clone().and_then(Result::err));
    zipped.stored = inserted.is_some_and(|r| r.is_ok());
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
        let syncing = emit::SyncAhead::new(file);
        let plan = &layer.plan;
        drop(emit::zip::write_layer_zip_until(
            plan, fs, options, syncing, path, stop,
        )?);
        size = file.metadata().map_err(EmitError::write(path))?.len();
        sha256 = emit::sha256_from_start(file).map_err(EmitError::write(path))?;
        Ok(())
    })?;
    Ok(Zipped {
        staged,
        size,
        sha256,
        from_store: false,
        stored: false,
    })
}

/// Records the sha256 of a layer's zip in the lock.
fn record_zip_hash(lock: &mut lock::Lock, layer: &str, hash: String) {
    if let Some(locked) = lock.layers.iter_mut().find(|l| l.name == layer) {
        locked.zip = Some(hash);
    }
}

fn zip_size_warning(path: &Path, size: u64, spec: &spec::LayerSpec) -> Diagnostic {
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
