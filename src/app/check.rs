//! A function's `app` in the spec: its application, its layers and its runtime must load
//! completely. Every failure is an error at the `app` node, with the chain in its label and notes.

use std::io;

use super::{Environment, ManagedReader};
use crate::diagnostic::{Code, Diagnostic, SourceMap};
use crate::plan::LayerAnalysis;
use crate::spec::{FunctionSpec, LayerRef, Spanned, Spec};

pub use crate::analysis::AppSummary;

/// Findings for every function of `spec` that names an `app` (a path relative to the spec file
/// that writes it), and a summary of each application scanned. A function is checked against the
/// runtime (and architecture) of its first layer of this spec; without one, there is nothing to
/// check it against.
pub fn check_functions(
    spec: &Spec,
    layers: &[LayerAnalysis],
    sources: &SourceMap,
    reader: ManagedReader,
) -> (Vec<Diagnostic>, Vec<AppSummary>) {
    let mut diags = Vec::new();
    let mut summaries = Vec::new();
    for function in &spec.functions {
        if let Some(app) = &function.app {
            let dir = sources.dir_of(app.span);
            let (found, summary) = check_function(spec, layers, dir, function, app, reader);
            diags.extend(found);
            summaries.extend(summary);
        }
    }
    (diags, summaries)
}

fn check_function(
    spec: &Spec,
    layers: &[LayerAnalysis],
    spec_dir: &std::path::Path,
    function: &FunctionSpec,
    app: &Spanned<String>,
    reader: ManagedReader,
) -> (Vec<Diagnostic>, Option<AppSummary>) {
    let target = function.layers.iter().find_map(|l| match &l.value {
        LayerRef::Local(name) => spec.layer(name)?.target.as_ref(),
        LayerRef::Arn(_) => None,
    });
    let Some(target) = target else {
        return (Vec::new(), None);
    };
    let fs = match crate::rootfs::open_app(&spec_dir.join(&app.value)) {
        Ok(fs) => fs,
        Err(e) => return (vec![unreadable(app, &e.source)], None),
    };
    let runtime = target.runtime();
    let (mounts, path) = super::spec_layers(spec, layers, Some(function), runtime);
    let env = Environment {
        runtime,
        os: target.os,
        arch: target.arch,
        layers: mounts,
        ld_library_path: path,
    };
    let scan = match super::scan(fs, &env, reader) {
        Ok(scan) => scan,
        Err(e) => return (vec![unreadable(app, &e)], None),
    };
    let mut diags: Vec<Diagnostic> = super::report::diagnostics(&scan, &env)
        .into_iter()
        .map(|d| d.at(app.span))
        .collect();
    // Each excluded need also points at its `exclude` (the findings come in `scan.excluded` order).
    let excluded = diags
        .iter_mut()
        .filter(|d| d.code == Code::FunctionExcludedNeeded);
    for (d, need) in excluded.zip(&scan.excluded) {
        if let Some(span) = need.span {
            *d = d
                .clone()
                .related(span, format!("{} is excluded here", need.name));
        }
    }
    diags.extend(total_size(function, &env, scan.files.bytes));
    let summary = AppSummary {
        span: app.span,
        runtime: format!("{}, {}", env.describe(), env.arch),
        layers: env.layers.iter().map(|l| l.name.clone()).collect(),
        objects: scan.files.objects.len(),
        assemblies: scan.files.assemblies.len(),
        failures: scan.failures.len(),
        foreign: scan.foreign,
        bytes: scan.files.bytes,
    };
    (diags, Some(summary))
}

/// The application and the function's layers unzipped, against Lambda's limit for them together.
fn total_size(function: &FunctionSpec, env: &Environment<'_>, app: u64) -> Option<Diagnostic> {
    let limit = crate::validate::MAX_UNZIPPED_BYTES;
    let layers: u64 = env.layers.iter().map(|l| l.plan.unzipped_size).sum();
    let total = app.saturating_add(layers);
    if total <= limit {
        return None;
    }
    let mut sizes = vec![format!("the application {app}")];
    sizes.extend(
        env.layers
            .iter()
            .map(|l| format!("`{}` {}", l.name, l.plan.unzipped_size)),
    );
    Some(
        Diagnostic::error(
            Code::FunctionUnzippedSize,
            format!(
                "function `{}` and its layers unzip to {total} bytes together; Lambda allows {limit} bytes for a function and all its layers",
                function.id.value
            ),
        )
        .at(function.id.span)
        .label("function and layers too large together")
        .help("make the application smaller (leave out what it never loads), or move libraries out of its layers")
        .note(format!("unzipped sizes in bytes: {}", sizes.join(", "))),
    )
}

fn unreadable(app: &Spanned<String>, e: &io::Error) -> Diagnostic {
    let missing = matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    );
    let (code, label) = if missing {
        (Code::AppNotFound, "not found")
    } else {
        (Code::AppIo, "cannot be read")
    };
    Diagnostic::error(
        code,
        format!("cannot read the application {}: {e}", app.value),
    )
    .at(app.span)
    .label(label)
    .help(
        "`app` names the function's application: a folder or a zip, relative to the spec's folder",
    )
}
