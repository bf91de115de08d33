//! `layerc build`: the zips, layer.lock, and the merged template (or the template fragment).

use std::path::{Path, PathBuf};

use layerc::emit::summary::{self, BuiltLayer};
use layerc::emit::zip::{Compression, ZipOptions};
use layerc::template::files::{Merged, prepare, unified_diff};
use layerc::{Analysis, Buildable, Session, emit};

use super::lock;
use super::output::{print_out, report, say};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};

pub struct Options {
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
    let store = if dry_run { None } else { super::store::open() };
    let fresh = match lock::fresh(analysis, store.as_ref()) {
        Ok(fresh) => fresh,
        Err(code) => return code,
    };
    if locked {
        let drift = lock::drift(analysis, &fresh);
        if !drift.is_empty() {
            let mut diags = analysis.diagnostics.clone();
            diags.extend(drift);
            report(analysis, &diags, format, color);
            say(format_args!(
                "error: nothing was written: the inputs differ from layer.lock"
            ));
            return SPEC_ERROR;
        }
    }
    let out = out.unwrap_or_else(|| analysis.spec_dir.join("build"));
    let merged = match prepare(analysis, session.catalog, &out).transpose() {
        Ok(merged) => merged,
        Err(message) => {
            report(analysis, &analysis.diagnostics, format, color);
            say(format_args!("error: nothing was written: {message}"));
            return TOOL_ERROR;
        }
    };
    if dry_run {
        report(analysis, &analysis.diagnostics, format, color);
        return dry_run_diff(analysis, &out, merged.as_ref());
    }
    if let Err(e) = emit::interrupt::install() {
        say(format_args!("warning: cannot catch SIGINT/SIGTERM: {e}"));
    }
    let zip = ZipOptions::new(emit::zip::timestamp(source_date_epoch()), compression);
    let lock_path = lock::path(analysis);
    let lock = Some((lock_path.as_path(), fresh));
    let built =
        layerc::build_with_lock(buildable, &out, &zip, lock, merged.as_ref(), store.as_ref());
    match built {
        Ok(built) => {
            let mut diags = analysis.diagnostics.clone();
            diags.extend(built.warnings.iter().cloned());
            report(analysis, &diags, format, color);
            if summary {
                print_summary(analysis, &built);
            }
            for problem in &built.store_problems {
                say(format_args!("warning: {problem}"));
            }
            for zip in &built.zips {
                let from = if zip.from_store {
                    ", from the store"
                } else {
                    ""
                };
                say(format_args!(
                    "wrote {} ({} bytes{from})",
                    zip.path.display(),
                    zip.size
                ));
            }
            match &merged {
                None => say(format_args!("wrote {}", built.template.display())),
                Some(m) if m.old == m.new => {
                    say(format_args!("{} is up to date", m.path.display()))
                }
                Some(m) => say(format_args!("merged into {}", m.path.display())),
            }
            say(format_args!("wrote {}", lock_path.display()));
            SUCCESS
        }
        Err(e) => {
            report(analysis, &analysis.diagnostics, format, color);
            say(format_args!("error: nothing was written: {e}"));
            TOOL_ERROR
        }
    }
}

/// The table of what each layer ships, and whether each zip came from the store.
fn print_summary(analysis: &Analysis, built: &layerc::BuildReport) {
    let layers: Vec<BuiltLayer> = analysis
        .layers
        .iter()
        .zip(&built.zips)
        .map(|(layer, zip)| BuiltLayer {
            name: layer.name().to_string(),
            zip: zip.path.clone(),
            zip_size: zip.size,
            from_store: match (zip.from_store, zip.stored) {
                (true, _) => Some(true),
                (false, true) => Some(false),
                (false, false) => None,
            },
        })
        .collect();
    let text = summary::render(analysis, &layers);
    say(format_args!("{}", text.trim_end()));
}

/// `build --dry-run`: the diff the template (or, without one, the fragment) would get.
fn dry_run_diff(analysis: &Analysis, out: &Path, merged: Option<&Merged>) -> i32 {
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

fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}
