//! A function's `app` in the spec: its application, its layers and its runtime must load
//! completely. Every failure is an error at the `app` node, with the chain in its label and notes.

use std::io;

use super::{Environment, ManagedReader};
use crate::LayerAnalysis;
use crate::diagnostic::{Code, Diagnostic, SourceMap, Span};
use crate::spec::{FunctionSpec, LayerRef, Spanned, Spec};

/// What the check of one `app` saw, for the editor's hover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// The `app` value.
    pub span: Span,
    /// "python3.12 (Amazon Linux 2023), x86_64".
    pub runtime: String,
    pub layers: Vec<String>,
    pub objects: usize,
    pub assemblies: usize,
    pub failures: usize,
    /// Windows/macOS-only imports: (assembly, name).
    pub foreign: Vec<(String, String)>,
}

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
    let diags = super::report::diagnostics(&scan, &env)
        .into_iter()
        .map(|d| d.at(app.span))
        .collect();
    let summary = AppSummary {
        span: app.span,
        runtime: format!("{}, {}", env.describe(), env.arch),
        layers: env.layers.iter().map(|l| l.name.clone()).collect(),
        objects: scan.files.objects.len(),
        assemblies: scan.files.assemblies.len(),
        failures: scan.failures.len(),
        foreign: scan.foreign,
    };
    (diags, Some(summary))
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
