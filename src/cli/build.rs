//! `layerc build`: the zips, layer.lock, and the merged template (or the template fragment).

use std::path::{Path, PathBuf};

use layerc::cache::Caches;
use layerc::emit::EmitError;
use layerc::emit::summary::{self, BuiltLayer};
use layerc::emit::zip::{Compression, ZipOptions};
use layerc::template::files::{Merged, prepare};
use layerc::{
    Analysis, BuildReport, Buildable, BuiltZip, LockOutput, LockWrite, Origin, Session, Stores,
    TemplateChoice, emit,
};

use super::dry_run::run_dry;
use super::lock;
use super::output::{report, say};
use super::stale::{remove_stale, stale_zips};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub(super) struct BuildArgs {
    /// The spec file.
    #[arg(default_value = "layer.kdl")]
    pub spec: PathBuf,
    /// Output folder (default: build/ beside the spec).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Diagnostics format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Deflate effort: fast, default (smaller than Info-ZIP -6 and faster) or best.
    #[arg(long, value_enum, default_value_t = Compression::Default)]
    pub compression: Compression,
    /// Fail (exit 1, nothing written) when resolution, any input or the lock itself would differ
    /// from layer.lock; never writes layer.lock.
    #[arg(long)]
    pub locked: bool,
    /// Patch this template (JSON or YAML) instead of the spec's `template`.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "no_merge")]
    pub merge: Option<PathBuf>,
    /// Write the template fragment only, even when the spec names a template.
    #[arg(long)]
    pub no_merge: bool,
    /// Print a unified diff of what the template would get; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out the summary of what each layer ships (printed on stderr).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub caches: super::caches::CacheArgs,
}

/// `layerc build`: the template chosen on the command line, then the build.
pub(super) fn command(session: &Session, args: BuildArgs, color: bool) -> i32 {
    let BuildArgs {
        spec,
        out,
        format,
        compression,
        locked,
        merge,
        no_merge,
        dry_run,
        quiet,
        caches,
    } = args;
    // A `--merge` path is the command line's, relative to the current folder: a missing file is
    // the tool's problem, not one at a place in the spec.
    if let Some(path) = merge.as_ref().filter(|_| !no_merge)
        && let Err(e) = std::fs::metadata(path)
    {
        let cwd = std::env::current_dir().unwrap_or_default();
        say(format_args!(
            "error: cannot read --merge {}: {e} (relative to the current folder, {})",
            path.display(),
            cwd.display()
        ));
        return TOOL_ERROR;
    }
    let template = match (merge, no_merge) {
        (_, true) => TemplateChoice::Skip,
        (Some(path), false) => TemplateChoice::Path(path),
        (None, false) => TemplateChoice::FromSpec,
    };
    let caches = match open_caches(session, &spec, &caches) {
        Ok(caches) => caches,
        Err(code) => return code,
    };
    let options = Options {
        caches,
        out,
        format,
        color,
        dry_run,
        compression,
        locked,
        summary: !quiet && format == Format::Human,
    };
    if locked {
        let source = match super::read_spec(&spec) {
            Ok(source) => source,
            Err(code) => return code,
        };
        if let Some(code) =
            super::from_lock::run(session, (source.0, &source.1), &template, &options)
        {
            return code;
        }
    }
    super::with_analysis_of(session, &spec, &template, |analysis| {
        run(session, analysis, options)
    })
}

/// The remote caches of the spec and the command line, opened once for the run; image blobs and
/// package files are asked of them too, before their registry or repository.
fn open_caches(
    session: &Session,
    spec: &Path,
    args: &super::caches::CacheArgs,
) -> Result<Option<Arc<Caches>>, i32> {
    let (source, dir) = super::read_spec(spec)?;
    let loaded = layerc::spec::import::load(source, &dir, session.catalog);
    let caches = super::caches::open(&loaded.spec, &loaded.sources, args)?;
    if let Some(caches) = &caches {
        session.use_caches(caches.clone());
    }
    Ok(caches)
}

pub(super) struct Options {
    /// The remote caches (the spec's, `--cache`, `LAYERC_CACHES`), opened once for the run.
    pub caches: Option<Arc<Caches>>,
    pub out: Option<PathBuf>,
    pub compression: Compression,
    pub format: Format,
    pub color: bool,
    pub locked: bool,
    pub dry_run: bool,
    /// Print what each layer ships, and the totals against Lambda's limits.
    pub summary: bool,
}

/// The merged template is computed before anything is written, so a merge that fails leaves every
/// file as it was; the zips, the lock and the template are then renamed into place together.
pub(super) fn run(session: &Session, analysis: &Analysis, options: Options) -> i32 {
    let (format, color, locked) = (options.format, options.color, options.locked);
    let Ok(buildable) = Buildable::try_from(analysis) else {
        report(analysis, &analysis.diagnostics, format, color);
        say(format_args!(
            "error: nothing was written: the spec has errors"
        ));
        return analysis.exit_code();
    };
    let caches = options.caches.as_deref();
    let store = super::store::open();
    let stores = Stores {
        local: store.as_ref(),
        remote: caches,
    };
    let zip = ZipOptions::new(
        emit::zip::timestamp(source_date_epoch()),
        options.compression,
    );
    if options.dry_run {
        let code = run_dry(
            session,
            analysis,
            (locked, &zip, stores),
            (format, color),
            options.out,
        );
        say_cache_warnings(caches);
        return code;
    }
    let out = options
        .out
        .unwrap_or_else(|| analysis.spec_dir.join("build"));
    let merged = match merged_template(session, analysis, &out, (format, color)) {
        Ok(merged) => merged,
        Err(code) => return code,
    };
    let created = guard_output(&out);
    let fail = |code: i32| {
        created
            .iter()
            .for_each(|dir| drop(std::fs::remove_dir(dir)));
        code
    };
    let (fresh, ahead) = match lock::fresh_writing_ahead(&buildable, stores, &out, &zip) {
        Ok(fresh) => fresh,
        Err(code) => return fail(code),
    };
    if locked && !matches_lock(analysis, &fresh, format, color) {
        drop(ahead);
        return fail(SPEC_ERROR);
    }
    let lock_path = lock::path(analysis);
    let write = lock_write(analysis, &out, locked, &lock_path);
    let stale = match write {
        LockWrite::Write => stale_zips(analysis, &lock_path, &out),
        _ => Vec::new(),
    };
    let writes_lock = matches!(write, LockWrite::Write);
    let lock = Some(LockOutput {
        path: &lock_path,
        lock: fresh,
        write,
    });
    let built =
        layerc::build_with_lock(buildable, &out, &zip, lock, merged.as_ref(), stores, ahead);
    let shown = Shown {
        format,
        color,
        caches,
    };
    match built {
        Ok(built) => {
            shown.built(analysis, &built, merged.as_ref(), options.summary);
            remove_stale(&stale);
            say_lock(&lock_path, writes_lock, locked);
            SUCCESS
        }
        Err(e) => fail(shown.failed(analysis, &e, &lock_path)),
    }
}

/// Makes an interrupt remove the build's temporary files and the output folders it creates (zips
/// written ahead create the output folder); those folders, which a failed build removes too.
fn guard_output(out: &Path) -> Vec<PathBuf> {
    if let Err(e) = emit::interrupt::install() {
        say(format_args!("warning: cannot catch SIGINT/SIGTERM: {e}"));
    }
    let created = missing_folders(out);
    emit::interrupt::created(&created);
    created
}

/// What became of layer.lock.
fn say_lock(lock_path: &Path, written: bool, locked: bool) {
    if written {
        say(format_args!("wrote {}", lock_path.display()));
    } else if !locked {
        say(format_args!(
            "note: {} not written: the output folder is outside the spec's folder (`layerc lock` updates it)",
            lock_path.display()
        ));
    }
}

/// How a build's outcome is shown: the format and colour of diagnostics, and the caches whose
/// problems are said.
struct Shown<'a> {
    format: Format,
    color: bool,
    caches: Option<&'a Caches>,
}

impl Shown<'_> {
    /// The diagnostics and warnings of a build that wrote its outputs, and what it wrote.
    fn built(
        &self,
        analysis: &Analysis,
        built: &BuildReport,
        merged: Option<&Merged>,
        summary: bool,
    ) {
        let mut diags = analysis.diagnostics.clone();
        diags.extend(built.warnings.iter().cloned());
        report(analysis, &diags, self.format, self.color);
        if summary {
            print_summary(analysis, built);
        }
        say_cache_warnings(self.caches);
        say_written(built, merged);
    }

    /// Why a build wrote nothing (or what it could not put back); its exit code.
    fn failed(&self, analysis: &Analysis, e: &EmitError, lock_path: &Path) -> i32 {
        report(analysis, &analysis.diagnostics, self.format, self.color);
        if let EmitError::Write { path, source } = e
            && path == lock_path
            && source.to_string() == layerc::LOCK_WOULD_CHANGE
        {
            say(format_args!("error: nothing was written: {source}"));
            return SPEC_ERROR;
        }
        say_cache_warnings(self.caches);
        if e.wrote_nothing() {
            say(format_args!("error: nothing was written: {e}"));
        } else {
            say(format_args!("error: {e}"));
        }
        TOOL_ERROR
    }
}

/// Whether the build writes layer.lock: never with `--locked` (it must already be right), and not
/// for an output folder outside the spec's folder (the lock belongs to the spec, whose usual
/// builds it records).
fn lock_write(analysis: &Analysis, out: &Path, locked: bool, lock_path: &Path) -> LockWrite {
    if locked {
        let text = layerc::rootfs::host::read_text(lock_path, layerc::lock::MAX_BYTES);
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

/// The warnings the remote caches gathered (refused entries, unreachable caches).
pub(super) fn say_cache_warnings(caches: Option<&Caches>) {
    for warning in caches.map(Caches::take_warnings).unwrap_or_default() {
        say(format_args!("warning: {warning}"));
    }
}

/// Where each zip came from, as the summary and the `wrote` lines say it.
pub(super) fn origin_text(zip: &BuiltZip) -> String {
    let mut text = match (&zip.origin, zip.stored) {
        (Origin::Store, _) => "from the store".to_string(),
        (Origin::Cache(name), _) => format!("from remote cache {name}"),
        (Origin::Built, true) => "built, stored".to_string(),
        (Origin::Built, false) => "built".to_string(),
    };
    if !zip.pushed.is_empty() {
        text.push_str(&format!(", pushed to {}", zip.pushed.join(", ")));
    }
    text
}

/// The `wrote` lines of a build that succeeded (the lock's is the caller's).
pub(super) fn say_written(built: &layerc::BuildReport, merged: Option<&Merged>) {
    for problem in &built.store_problems {
        say(format_args!("warning: {problem}"));
    }
    for zip in &built.zips {
        let from = match zip.origin {
            Origin::Built if zip.pushed.is_empty() => String::new(),
            Origin::Built => format!(", pushed to {}", zip.pushed.join(", ")),
            _ => format!(", {}", origin_text(zip)),
        };
        say(format_args!(
            "wrote {} ({} bytes{from})",
            zip.path.display(),
            zip.size
        ));
    }
    match merged {
        None => say(format_args!("wrote {}", built.template.display())),
        Some(m) if m.old == m.new => say(format_args!("{} is up to date", m.path.display())),
        Some(m) => say(format_args!("merged into {}", m.path.display())),
    }
}

/// `--locked`: true when the inputs are the ones the lock on disk records; otherwise the
/// differences are reported.
pub(super) fn matches_lock(
    analysis: &Analysis,
    fresh: &layerc::lock::Lock,
    format: Format,
    color: bool,
) -> bool {
    let drift = lock::drift(analysis, fresh);
    if drift.is_empty() {
        return true;
    }
    let mut diags = analysis.diagnostics.clone();
    diags.extend(drift);
    report(analysis, &diags, format, color);
    say(format_args!(
        "error: nothing was written: the inputs differ from layer.lock"
    ));
    false
}

/// The user's template with the layers merged in (`None` without a template), or the exit code
/// once the reason it cannot be merged is reported.
pub(super) fn merged_template(
    session: &Session,
    analysis: &Analysis,
    out: &Path,
    (format, color): (Format, bool),
) -> Result<Option<Merged>, i32> {
    prepare(analysis, session.catalog, out)
        .transpose()
        .map_err(|message| {
            report(analysis, &analysis.diagnostics, format, color);
            say(format_args!("error: nothing was written: {message}"));
            TOOL_ERROR
        })
}

/// The table of what each layer ships, and where each zip came from.
fn print_summary(analysis: &Analysis, built: &layerc::BuildReport) {
    let layers: Vec<BuiltLayer> = analysis
        .layers
        .iter()
        .zip(&built.zips)
        .map(|(layer, zip)| BuiltLayer {
            name: layer.name().to_string(),
            zip: zip.path.clone(),
            zip_size: zip.size,
            origin: origin_text(zip),
        })
        .collect();
    let text = summary::render(analysis, &layers);
    say(format_args!("{}", text.trim_end()));
}

pub(super) fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// The folders of `out` that do not exist yet, deepest first.
pub(super) fn missing_folders(out: &Path) -> Vec<PathBuf> {
    out.ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .map(Path::to_path_buf)
        .collect()
}
