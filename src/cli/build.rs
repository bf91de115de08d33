//! `layerc build`: the zips, layer.lock, and the merged template (or the template fragment).

use std::path::{Path, PathBuf};

use layerc::cache::Caches;
use layerc::emit::summary::{self, BuiltLayer};
use layerc::emit::zip::{Compression, ZipOptions};
use layerc::template::files::{Merged, prepare, unified_diff};
use layerc::{Analysis, Buildable, BuiltZip, Origin, Session, Stores, emit};

use super::lock;
use super::output::{print_out, report, say};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};
use std::sync::Arc;

pub struct Options {
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
pub fn run(session: &Session, analysis: &Analysis, options: Options) -> i32 {
    let Options {
        caches,
        out,
        compression,
        format,
        color,
        locked,
        dry_run,
        summary,
    } = options;
    let Ok(buildable) = Buildable::try_from(analysis) else {
        report(analysis, &analysis.diagnostics, format, color);
        say(format_args!(
            "error: nothing was written: the spec has errors"
        ));
        return analysis.exit_code();
    };
    let caches = caches.as_deref();
    let store = super::store::open();
    let zip = ZipOptions::new(emit::zip::timestamp(source_date_epoch()), compression);
    if dry_run {
        let stores = Stores {
            local: store.as_ref(),
            remote: caches,
        };
        let code = run_dry(
            session,
            analysis,
            (locked, &zip, stores),
            (format, color),
            out,
        );
        say_cache_warnings(caches);
        return code;
    }
    let out = out.unwrap_or_else(|| analysis.spec_dir.join("build"));
    let merged = match merged_template(session, analysis, &out, (format, color)) {
        Ok(merged) => merged,
        Err(code) => return code,
    };
    if let Err(e) = emit::interrupt::install() {
        say(format_args!("warning: cannot catch SIGINT/SIGTERM: {e}"));
    }
    // Zips written ahead create the output folder: a build that fails removes what it created.
    let created = missing_folders(&out);
    let fail = |code: i32| {
        created
            .iter()
            .for_each(|dir| drop(std::fs::remove_dir(dir)));
        code
    };
    let stores = Stores {
        local: store.as_ref(),
        remote: caches,
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
    let lock = Some((lock_path.as_path(), fresh));
    let built =
        layerc::build_with_lock(buildable, &out, &zip, lock, merged.as_ref(), stores, ahead);
    match built {
        Ok(built) => {
            let mut diags = analysis.diagnostics.clone();
            diags.extend(built.warnings.iter().cloned());
            report(analysis, &diags, format, color);
            if summary {
                print_summary(analysis, &built);
            }
            say_cache_warnings(caches);
            say_written(&built, merged.as_ref(), &lock_path);
            SUCCESS
        }
        Err(e) => {
            report(analysis, &analysis.diagnostics, format, color);
            say_cache_warnings(caches);
            say(format_args!("error: nothing was written: {e}"));
            fail(TOOL_ERROR)
        }
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

/// The `wrote` lines of a build that succeeded.
pub(super) fn say_written(built: &layerc::BuildReport, merged: Option<&Merged>, lock_path: &Path) {
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
    say(format_args!("wrote {}", lock_path.display()));
}

/// `--locked`: true when the inputs are the ones the lock on disk records; otherwise the
/// differences are reported.
fn matches_lock(
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

/// `build --dry-run`: the checks a build makes, where each zip would come from (the store, a
/// remote cache, or built and pushed), then the template's diff; nothing is written.
fn run_dry(
    session: &Session,
    analysis: &Analysis,
    (locked, zip, stores): (bool, &ZipOptions, Stores<'_>),
    (format, color): (Format, bool),
    out: Option<PathBuf>,
) -> i32 {
    let fresh = match lock::fresh(analysis, None) {
        Ok(fresh) => fresh,
        Err(code) => return code,
    };
    if locked && !matches_lock(analysis, &fresh, format, color) {
        return SPEC_ERROR;
    }
    for layer in &analysis.layers {
        let key = fresh
            .layer(layer.name())
            .and_then(|locked| layerc::store::key(&layer.plan, locked, &fresh.catalog, zip));
        say_planned(layer.name(), key.as_deref(), stores);
    }
    let out = out.unwrap_or_else(|| analysis.spec_dir.join("build"));
    let merged = match merged_template(session, analysis, &out, (format, color)) {
        Ok(merged) => merged,
        Err(code) => return code,
    };
    report(analysis, &analysis.diagnostics, format, color);
    dry_run_diff(analysis, &out, merged.as_ref())
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

/// `--dry-run`: where one layer's zip would come from.
fn say_planned(layer: &str, key: Option<&str>, stores: Stores<'_>) {
    let found = key.and_then(|key| {
        if stores.local.is_some_and(|s| s.has(key)) {
            return Some("taken from the store".to_string());
        }
        let cache = stores.remote?.find_layer(key)?;
        Some(format!("fetched from remote cache {cache}"))
    });
    let push = stores.remote.map(Caches::push_targets).unwrap_or_default();
    let text = match found {
        Some(text) => text,
        None if push.is_empty() => "built".to_string(),
        None => format!("built and pushed to {}", push.join(", ")),
    };
    say(format_args!("layer `{layer}` would be {text}"));
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

/// `build --dry-run`: the diff the template (or, without one, the fragment) would get.
pub(super) fn dry_run_diff(analysis: &Analysis, out: &Path, merged: Option<&Merged>) -> i32 {
    let (path, old, new) = match merged {
        Some(m) => (m.path.clone(), m.old.clone(), m.new.clone()),
        None => {
            let path = out.join("serverless.template.json");
            let old = std::fs::read_to_string(&path).unwrap_or_default();
            let fragment = emit::template::fragment(&analysis.spec);
            (path, old, emit::template::render(&fragment))
        }
    };
    let diff = unified_diff(&path.display().to_string(), &old, &new);
    if diff.is_empty() {
        say(format_args!("{} would not change", path.display()));
        SUCCESS
    } else {
        print_out(&diff)
    }
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
