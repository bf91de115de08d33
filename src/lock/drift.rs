//! `--locked`: how a fresh lock differs from the one on disk, as diagnostics at the spec nodes
//! concerned.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::analysis::Analysis;
use crate::diagnostic::{Code, Diagnostic, Span};

use super::{Lock, LockedFile, LockedLayer};

/// `layer.lock` beside the spec.
pub fn path(analysis: &Analysis) -> PathBuf {
    analysis.spec_dir.join(super::FILE_NAME)
}

/// The lock on disk, or the diagnostic saying why there is none to compare with.
pub fn on_disk(analysis: &Analysis) -> Result<Option<Lock>, Box<Diagnostic>> {
    let path = path(analysis);
    let unreadable = |message: String| {
        Box::new(
            Diagnostic::error(Code::LockMalformed, message)
                .help("run `layerc lock` to write it again"),
        )
    };
    let text = match crate::rootfs::host::read_text_if_exists(&path, super::MAX_BYTES) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(None),
        Err(e) => return Err(unreadable(format!("cannot read {}: {e}", path.display()))),
    };
    super::parse(&text)
        .map(Some)
        .map_err(|e| unreadable(format!("{} cannot be read: {e}", path.display())))
}

/// `--locked`: every way the fresh lock differs from the one on disk (none when they agree).
pub fn drift_on_disk(analysis: &Analysis, fresh: &Lock) -> Vec<Diagnostic> {
    match on_disk(analysis) {
        Err(d) => vec![*d],
        Ok(None) => vec![
            Diagnostic::error(
                Code::LockMissing,
                format!("{} does not exist", path(analysis).display()),
            )
            .help("run `layerc lock` or `layerc build` without `--locked` to write it"),
        ],
        Ok(Some(locked)) => drift(&locked, fresh, analysis),
    }
}

pub(super) const HELP: &str = "if the change is intended, run `layerc lock` (or build without `--locked`) and review the new layer.lock";

/// Every difference between the lock on disk and the fresh one, as errors.
pub fn drift(locked: &Lock, fresh: &Lock, analysis: &Analysis) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let layer_span = |name: &str| analysis.spec.layer(name).map(|l| l.name.span);
    if locked.catalog != fresh.catalog {
        out.push(error(
            Code::LockRuntime,
            format!(
                "the runtime catalog changed: locked {}, now {}",
                locked.catalog, fresh.catalog
            ),
            None,
            "catalog changed",
        ));
    }
    for layer in &fresh.layers {
        let span = layer_span(&layer.name);
        match locked.layer(&layer.name) {
            None => out.push(error(
                Code::LockLayer,
                format!("layer `{}` is not in layer.lock", layer.name),
                span,
                "new layer",
            )),
            Some(old) => layer_drift(old, layer, analysis, span, &mut out),
        }
    }
    for old in &locked.layers {
        if fresh.layer(&old.name).is_none() {
            out.push(error(
                Code::LockLayer,
                format!("layer `{}` is in layer.lock but not in the spec", old.name),
                None,
                "",
            ));
        }
    }
    out
}

fn layer_drift(
    old: &LockedLayer,
    new: &LockedLayer,
    analysis: &Analysis,
    span: Option<Span>,
    out: &mut Vec<Diagnostic>,
) {
    let name = &new.name;
    if old.runtimes != new.runtimes {
        let ids = |l: &LockedLayer| {
            l.runtimes
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(error(
            Code::LockRuntime,
            format!(
                "layer `{name}`: the runtime entries differ from the lock (locked: {}; now: {})",
                ids(old),
                ids(new)
            ),
            span,
            "runtime entry changed",
        ));
    }
    super::images::drift(name, &old.images, &new.images, analysis, out);
    super::packages::drift(old, new, analysis, out);
    let entry_span = |path: &str| {
        analysis
            .layers
            .iter()
            .find(|l| l.name() == name)
            .and_then(|l| l.plan.entry(path))
            .map(|e| e.span)
            .or(span)
    };
    let old_files: BTreeMap<&str, &LockedFile> =
        old.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for f in &new.files {
        let at = entry_span(&f.path);
        match old_files.get(f.path.as_str()) {
            None => out.push(error(
                Code::LockNewFile,
                format!(
                    "layer `{name}` now ships {} ({}), which is not in layer.lock",
                    f.path, f.source
                ),
                at,
                "new file",
            )),
            Some(o) => file_drift(name, o, f, at, out),
        }
    }
    for o in &old.files {
        if !new.files.iter().any(|f| f.path == o.path) {
            out.push(error(
                Code::LockGoneFile,
                format!(
                    "layer `{name}` no longer ships {} ({}), which layer.lock lists",
                    o.path, o.source
                ),
                span,
                "file gone",
            ));
        }
    }
    if old.aliases != new.aliases {
        out.push(error(
            Code::LockAlias,
            format!("layer `{name}`: the symlinks differ from layer.lock"),
            span,
            "symlinks changed",
        ));
    }
}

fn file_drift(
    layer: &str,
    old: &LockedFile,
    new: &LockedFile,
    at: Option<Span>,
    out: &mut Vec<Diagnostic>,
) {
    let file = &new.path;
    if old.source != new.source {
        out.push(error(
            Code::LockPath,
            format!(
                "layer `{layer}`: {file} now comes from {}, locked from {}",
                new.source, old.source
            ),
            at,
            "other source",
        ));
    }
    if old.size != new.size {
        out.push(error(
            Code::LockSize,
            format!(
                "layer `{layer}`: {file} ({}) is {} bytes, locked at {}",
                new.source, new.size, old.size
            ),
            at,
            "size changed",
        ));
    }
    if let (Some(locked), Some(now)) = (old.mode, new.mode)
        && locked != now
    {
        out.push(error(
            Code::LockMode,
            format!(
                "layer `{layer}`: {file} ({}) is now shipped with mode {now:04o}, locked {locked:04o}",
                new.source
            ),
            at,
            "mode changed",
        ));
    }
    if old.sha256 != new.sha256 {
        out.push(error(
            Code::LockHash,
            format!(
                "layer `{layer}`: {file} ({}) has sha256 {}, locked {}",
                new.source, new.sha256, old.sha256
            ),
            at,
            "content changed",
        ));
    }
}

fn error(code: Code, message: String, span: Option<Span>, label: &str) -> Diagnostic {
    let mut d = Diagnostic::error(code, message).help(HELP);
    if let Some(span) = span {
        d = d.at(span).label(label);
    }
    d
}
