//! `build --dry-run`: the checks a build makes, where each zip would come from and the template's
//! diff, with nothing written.

use std::path::{Path, PathBuf};

use layerc::cache::Caches;
use layerc::emit;
use layerc::emit::zip::ZipOptions;
use layerc::template::files::{Merged, unified_diff};
use layerc::{Analysis, Session, Stores};

use super::build::{matches_lock, merged_template};
use super::lock;
use super::output::{print_out, report, say};
use super::{Format, SPEC_ERROR, SUCCESS};

/// `build --dry-run`: the checks a build makes, where each zip would come from (the store, a
/// remote cache, or built and pushed), then the template's diff; nothing is written.
pub(super) fn run_dry(
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
            .and_then(|locked| layerc::lock::store_key(&layer.plan, locked, &fresh.catalog, zip));
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

/// `build --dry-run`: the diff the template (or, without one, the fragment) would get.
pub(super) fn dry_run_diff(analysis: &Analysis, out: &Path, merged: Option<&Merged>) -> i32 {
    let (path, old, new) = match merged {
        Some(m) => (m.path.clone(), m.old.clone(), m.new.clone()),
        None => {
            let path = out.join("serverless.template.json");
            let limit = layerc::template::files::MAX_TEMPLATE_BYTES;
            let old = layerc::rootfs::host::read_text_if_exists(&path, limit)
                .ok()
                .flatten()
                .unwrap_or_default();
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
