//! Moving a lowered file's spans into the shared span space of a [`SourceMap`]
//! (`crate::diagnostic::SourceMap`): every span of an imported file is shifted by the file's base.

use super::{FileRequest, FunctionSpec, LayerSpec, LibraryRequest, Spanned, Spec};
use crate::diagnostic::{Diagnostic, Span};

fn span(s: &mut Span, by: usize) {
    s.offset += by;
}

fn spanned<T>(s: &mut Spanned<T>, by: usize) {
    span(&mut s.span, by);
}

/// Shifts every span of `spec` by `by`.
pub(super) fn spec(spec: &mut Spec, by: usize) {
    spec.layers.iter_mut().for_each(|l| layer(l, by));
    spec.functions.iter_mut().for_each(|f| function(f, by));
    spec.template.iter_mut().for_each(|t| spanned(t, by));
    spec.imports.iter_mut().for_each(|i| spanned(i, by));
}

fn layer(l: &mut LayerSpec, by: usize) {
    span(&mut l.span, by);
    spanned(&mut l.name, by);
    l.description.iter_mut().for_each(|d| spanned(d, by));
    l.runtimes.iter_mut().for_each(|r| spanned(r, by));
    spanned(&mut l.architecture, by);
    l.rootfs.iter_mut().for_each(|r| spanned(r, by));
    l.described_by.iter_mut().for_each(|d| spanned(d, by));
    spanned(&mut l.dir, by);
    for LibraryRequest { name, .. } in &mut l.libraries {
        spanned(name, by);
    }
    l.excludes.iter_mut().for_each(|e| spanned(e, by));
    for FileRequest { from, to } in &mut l.files {
        spanned(from, by);
        spanned(to, by);
    }
}

fn function(f: &mut FunctionSpec, by: usize) {
    span(&mut f.span, by);
    spanned(&mut f.id, by);
    f.layers.iter_mut().for_each(|l| spanned(l, by));
    spanned(&mut f.ld_library_path, by);
    for (name, value) in &mut f.env {
        spanned(name, by);
        spanned(value, by);
    }
}

/// Shifts a diagnostic's primary and related spans by `by`.
pub(super) fn diagnostic(d: &mut Diagnostic, by: usize) {
    d.span.iter_mut().for_each(|s| span(s, by));
    d.related.iter_mut().for_each(|r| span(&mut r.span, by));
}
