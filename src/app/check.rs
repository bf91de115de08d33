//! A function's `app` in the spec: its application, its layers and its runtime must load
//! completely. Every failure is an error at the `app` node, with the chain in its label and notes.

use std::io;

use super::{Environment, ManagedReader};
use crate::LayerAnalysis;
use crate::diagnostic::{Code, Diagnostic, SourceMap};
use crate::spec::{FunctionSpec, LayerRef, Spanned, Spec};

/// Findings for every function of `spec` that names an `app` (a path relative to the spec file
/// that writes it). A function is checked against the runtime (and architecture) of its first
/// layer of this spec; without one, there is nothing to check it against.
pub fn check_functions(
    spec: &Spec,
    layers: &[LayerAnalysis],
    sources: &SourceMap,
    reader: ManagedReader,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for function in &spec.functions {
        if let Some(app) = &function.app {
            let dir = sources.dir_of(app.span);
            diags.extend(check_function(spec, layers, dir, function, app, reader));
        }
    }
    diags
}

fn check_function(
    spec: &Spec,
    layers: &[LayerAnalysis],
    spec_dir: &std::path::Path,
    function: &FunctionSpec,
    app: &Spanned<String>,
    reader: ManagedReader,
) -> Vec<Diagnostic> {
    let target = function.layers.iter().find_map(|l| match &l.value {
        LayerRef::Local(name) => spec.layer(name)?.target.as_ref(),
        LayerRef::Arn(_) => None,
    });
    let Some(target) = target else {
        return Vec::new();
    };
    let fs = match crate::rootfs::open_app(&spec_dir.join(&app.value)) {
        Ok(fs) => fs,
        Err(e) => return vec![unreadable(app, &e.source)],
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
    match super::scan(fs, &env, reader) {
        Ok(scan) => super::report::diagnostics(&scan, &env)
            .into_iter()
            .map(|d| d.at(app.span))
            .collect(),
        Err(e) => vec![unreadable(app, &e)],
    }
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
