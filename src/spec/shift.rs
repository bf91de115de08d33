//! Moving a lowered file's spans into the shared span space of a [`SourceMap`]
//! (`crate::diagnostic::SourceMap`): every span of an imported file is shifted by the file's base.

use super::{
    FileRequest, FunctionSpec, LayerSpec, LibraryRequest, PackageRootfs, PackageSource, Spanned,
    Spec,
};
use crate::diagnostic::{Diagnostic, Span};

fn span(s: &mut Span, by: usize) {
    s.offset += by;
}

fn spanned<T>(s: &mut Spanned<T>, by: usize) {
    span(&mut s.span, by);
}

/// Shifts every span of `spec` by `by`.
pub(super) fn spec(spec: &mut Spec, by: usize) {
    let Spec {
        layers,
        functions,
        template,
        imports,
        caches,
        trusted_keys,
    } = spec;
    caches.iter_mut().for_each(|c| spanned(&mut c.url, by));
    trusted_keys.iter_mut().for_each(|k| spanned(k, by));
    layers.iter_mut().for_each(|l| layer(l, by));
    functions.iter_mut().for_each(|f| function(f, by));
    template.iter_mut().for_each(|t| spanned(t, by));
    imports.iter_mut().for_each(|i| spanned(i, by));
}

// Every field is named (no `..`), so that a new spanned field cannot be forgotten here.
fn layer(l: &mut LayerSpec, by: usize) {
    let LayerSpec {
        name,
        layer_name,
        span: whole,
        description,
        runtimes,
        architecture,
        target: _,
        rootfs,
        packages,
        described_by,
        unverified_tls: _,
        dir,
        libraries,
        excludes,
        files,
    } = l;
    span(whole, by);
    spanned(name, by);
    layer_name.iter_mut().for_each(|n| spanned(n, by));
    description.iter_mut().for_each(|d| spanned(d, by));
    runtimes.iter_mut().for_each(|r| spanned(r, by));
    spanned(architecture, by);
    rootfs.iter_mut().for_each(|r| spanned(r, by));
    packages.iter_mut().for_each(|p| package_rootfs(p, by));
    described_by.iter_mut().for_each(|d| spanned(d, by));
    spanned(dir, by);
    for LibraryRequest {
        name,
        override_runtime: _,
        optional: _,
        alias,
    } in libraries
    {
        spanned(name, by);
        alias.iter_mut().for_each(|a| spanned(a, by));
    }
    excludes.iter_mut().for_each(|e| spanned(e, by));
    for FileRequest { from, to } in files {
        spanned(from, by);
        spanned(to, by);
    }
}

fn package_rootfs(p: &mut PackageRootfs, by: usize) {
    let PackageRootfs {
        span: whole,
        sources,
    } = p;
    span(whole, by);
    for PackageSource {
        kind: _,
        span: node,
        value,
        suite: _,
        components: _,
        key,
        mirror: _,
        trusted: _,
        packages,
    } in sources
    {
        span(node, by);
        spanned(value, by);
        key.iter_mut().for_each(|k| spanned(k, by));
        packages.iter_mut().for_each(|p| spanned(p, by));
    }
}

fn function(f: &mut FunctionSpec, by: usize) {
    let FunctionSpec {
        id,
        span: whole,
        layers,
        ld_library_path,
        env,
        app,
    } = f;
    span(whole, by);
    spanned(id, by);
    layers.iter_mut().for_each(|l| spanned(l, by));
    spanned(ld_library_path, by);
    for (name, value) in env {
        spanned(name, by);
        spanned(value, by);
    }
    app.iter_mut().for_each(|a| spanned(a, by));
}

/// Shifts a diagnostic's primary and related spans by `by`.
pub(super) fn diagnostic(d: &mut Diagnostic, by: usize) {
    d.span.iter_mut().for_each(|s| span(s, by));
    d.related.iter_mut().for_each(|r| span(&mut r.span, by));
}
