//! `layerc build`: the zips, layer.lock, and the merged template (or the template fragment).

use std::path::{Path, PathBuf};

use layerc::cache::Caches;
use layerc::emit::zip::{Compression, ZipOptions};
use layerc::ops::summary::{self, BuiltLayer};
use layerc::ops::{BuildError, BuildOptions, Built};
use layerc::template::files::{Merged, prepare};
use layerc::{Analysis, Buildable, BuiltZip, Origin, Session, Stores, TemplateChoice, emit};

use super::dry_run::run_dry;
use super::output::{report, say};
use super::{Format, SUCCESS, TOOL_ERROR};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub(super) struct BuildArgs {
    /// The spec file.
    #[arg(default_value = "layer.kdl")]
    pub spec: PathBuf,
    /// Output folder (default: build/ beside the spec).
    #[arg(long, value_name = "DIR")]
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

/// The build (`layerc::ops::build`), or the dry run; what it wrote or why it wrote nothing.
pub(super) fn run(session: &Session, analysis: &Analysis, options: Options) -> i32 {
    let (format, color, locked) = (options.format, options.color, options.locked);
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
    let shown = Shown {
        format,
        color,
        caches,
        locked,
    };
    if options.dry_run {
        if Buildable::try_from(analysis).is_err() {
            return shown.failed(analysis, &BuildError::HasErrors);
        }
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
    // An interrupt removes the build's temporary files and the output folders it created.
    if let Err(e) = emit::interrupt::install() {
        say(format_args!("warning: cannot catch SIGINT/SIGTERM: {e}"));
    }
    let warn = |text: String| say(format_args!("warning: {text}"));
    let build = BuildOptions {
        out: options.out,
        zip,
        locked,
        stores,
        warn: &warn,
    };
    match layerc::ops::build(analysis, session.catalog, &build) {
        Ok(built) => {
            shown.built(analysis, &built, options.summary);
            SUCCESS
        }
        Err(e) => shown.failed(analysis, &e),
    }
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
    /// `--locked`: layer.lock is never written, so that is not worth a note.
    locked: bool,
}

impl Shown<'_> {
    /// The diagnostics and warnings of a build that wrote its outputs, and what it wrote.
    fn built(&self, analysis: &Analysis, built: &Built, summary: bool) {
        let mut diags = analysis.diagnostics.clone();
        diags.extend(built.report.warnings.iter().cloned());
        report(analysis, &diags, self.format, self.color);
        if summary {
            print_summary(analysis, &built.report);
        }
        say_cache_warnings(self.caches);
        say_written(&built.report, built.merged.as_ref());
        for (layer, zip, removed) in &built.stale {
            match removed {
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
        say_lock(&built.lock_path, built.lock_written, self.locked);
    }

    /// Why a build wrote nothing (or what it could not put back); its exit code.
    fn failed(&self, analysis: &Analysis, e: &BuildError) -> i32 {
        let code = e.exit_code(analysis);
        if let BuildError::Read(e) = e {
            say(format_args!("error: {e}"));
            return code;
        }
        let mut diags = analysis.diagnostics.clone();
        if let BuildError::Drift(drift) = e {
            diags.extend(drift.iter().cloned());
        }
        report(analysis, &diags, self.format, self.color);
        match e {
            BuildError::Emit(e) if layerc::ops::lock_would_change(e) => say(format_args!(
                "error: nothing was written: {}",
                layerc::LockWouldChange
            )),
            BuildError::Emit(e) => {
                say_cache_warnings(self.caches);
                if e.wrote_nothing() {
                    say(format_args!("error: nothing was written: {e}"));
                } else {
                    say(format_args!("error: {e}"));
                }
            }
            _ => say(format_args!("error: nothing was written: {e}")),
        }
        code
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
    let drift = layerc::lock::drift_on_disk(analysis, fresh);
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
    prepare(
        analysis.template.as_ref(),
        &analysis.spec,
        session.catalog,
        out,
    )
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

pub(super) use layerc::ops::missing_folders;
