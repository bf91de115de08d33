//! `layer.lock` on the command line: `layerc lock`, and `--locked` for `build` and `check`.

use std::path::Path;

use layerc::Analysis;
use layerc::diagnostic::Diagnostic;
use layerc::lock::{self, Lock};
use layerc::store::Store;

use super::output::{report, say};
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};

/// The lock of the analysis as it is now, with the digests of unchanged files from the store's
/// stat index when there is a store; a file that cannot be read is reported and gives exit 2.
pub(super) fn fresh(analysis: &Analysis, store: Option<&Store>) -> Result<Lock, i32> {
    let warn = |text: String| say(format_args!("warning: {text}"));
    layerc::ops::fresh_lock(analysis, store, &warn).map_err(|e| {
        say(format_args!("error: {e}"));
        TOOL_ERROR
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

/// `layerc check --locked`.
pub(super) fn check(analysis: &Analysis, format: Format, color: bool) -> i32 {
    let mut diags = analysis.diagnostics.clone();
    if !analysis.has_errors() {
        // `check` writes nothing, the store's stat index included: every shipped file is read.
        match fresh(analysis, None) {
            Ok(lock) => diags.extend(lock::drift_on_disk(analysis, &lock)),
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
    if let Ok(Some(old)) = lock::on_disk(analysis) {
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
    let path = lock::path(analysis);
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
