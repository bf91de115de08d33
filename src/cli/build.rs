//! `layerc build`: the zips and the template fragment.

use std::path::PathBuf;

use layerc::emit::zip::{Compression, ZipOptions};
use layerc::{Analysis, Buildable, emit};

use super::lock;
use super::output::{report, say};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};

pub fn run(
    analysis: &Analysis,
    out: Option<PathBuf>,
    compression: Compression,
    format: Format,
    color: bool,
    locked: bool,
) -> i32 {
    let Ok(buildable) = Buildable::try_from(analysis) else {
        report(analysis, &analysis.diagnostics, format, color);
        say(format_args!(
            "error: nothing was written: the spec has errors"
        ));
        return analysis.exit_code();
    };
    let fresh = match lock::fresh(analysis) {
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
    if let Err(e) = emit::interrupt::install() {
        say(format_args!("warning: cannot catch SIGINT/SIGTERM: {e}"));
    }
    let zip = ZipOptions::new(emit::zip::timestamp(source_date_epoch()), compression);
    let lock_path = lock::path(analysis);
    match layerc::build_with_lock(buildable, &out, &zip, Some((&lock_path, fresh))) {
        Ok(built) => {
            let mut diags = analysis.diagnostics.clone();
            diags.extend(built.warnings.iter().cloned());
            report(analysis, &diags, format, color);
            for (path, size) in &built.zips {
                say(format_args!("wrote {} ({size} bytes)", path.display()));
            }
            say(format_args!("wrote {}", built.template.display()));
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

fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}
