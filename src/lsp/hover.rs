//! Hover: what a `library` resolves to, what a `runtime` is, and a summary of a function's layer.

use std::fmt::Write as _;

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use super::Context;
use super::navigate::current_spec;
use crate::diagnostic::Span;
use crate::plan::Content;
use crate::resolve::Status;
use crate::runtime::Catalog;
use crate::spec::{LayerRef, Spanned};

pub(super) fn hover(cx: &Context<'_>, params: HoverParams) -> Option<Hover> {
    let offset = cx
        .doc
        .offset(params.text_document_position_params.position, cx.encoding);
    let spec = current_spec(cx);
    let hit = |s: Span| s.offset <= offset && offset <= s.offset + s.length;
    let mut found: Option<(Span, String)> = None;
    for layer in &spec.layers {
        if let Some(lib) = layer.libraries.iter().find(|l| hit(l.name.span)) {
            found = Some((lib.name.span, library(cx, &layer.name.value, &lib.name)));
        } else if let Some(rt) = layer.runtimes.iter().find(|r| hit(r.span)) {
            found = runtime(cx.session.catalog, &rt.value).map(|text| (rt.span, text));
        }
    }
    for function in &spec.functions {
        for layer in function.layers.iter().filter(|l| hit(l.span)) {
            if let LayerRef::Local(name) = &layer.value {
                found = Some((layer.span, layer_summary(cx, name)));
            }
        }
        if let Some(app) = function.app.as_ref().filter(|a| hit(a.span)) {
            found = Some((app.span, app_summary(cx, app)));
        }
    }
    let (span, text) = found?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(cx.doc.range(span, cx.encoding)),
    })
}

fn library(cx: &Context<'_>, layer: &str, name: &Spanned<String>) -> String {
    let mut out = format!("**library** `{}`\n\n", name.value);
    let analysis = cx.snapshot.as_deref().map(|s| &s.analysis);
    let Some(layer) = analysis.and_then(|a| a.layer(layer)) else {
        out.push_str("not resolved yet: the layer needs a known runtime and a readable rootfs");
        return out;
    };
    let graph = &layer.graph;
    let Some(index) = graph.find(&name.value) else {
        out.push_str("not resolved yet");
        return out;
    };
    let node = &graph.graph[index];
    let _ = writeln!(out, "- status: {}", node.status.as_str());
    if node.status == Status::Provided {
        out.push_str("- the runtime provides it: it is not shipped\n");
    }
    let Some(found) = &node.found else {
        return out;
    };
    let _ = writeln!(out, "- path in the rootfs: `{}`", found.path.as_str());
    if found.real != found.path {
        let _ = writeln!(out, "- real file: `{}`", found.real.as_str());
    }
    let elf = &found.elf;
    if let Some(soname) = &elf.soname {
        let _ = writeln!(out, "- soname: `{soname}`");
    }
    let _ = writeln!(out, "- size: {} bytes", found.size);
    if !elf.needed.is_empty() {
        let _ = writeln!(out, "- DT_NEEDED: {}", code_list(elf.needed.iter()));
    }
    let versions: Vec<&String> = elf.verneed.iter().flat_map(|v| &v.versions).collect();
    if !versions.is_empty() {
        let mut versions: Vec<&String> = versions.into_iter().collect();
        versions.sort();
        versions.dedup();
        let _ = writeln!(
            out,
            "- symbol versions needed: {}",
            code_list(versions.into_iter())
        );
    }
    out
}

fn code_list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A runtime's OS base, glibc, symbol-version ceilings, lifecycle dates and successor.
pub(super) fn runtime(catalog: &Catalog, id: &str) -> Option<String> {
    let rt = catalog.runtime(id)?;
    let os = catalog.os(&rt.os)?;
    let date = |d: Option<crate::runtime::Date>| d.map_or("-".to_string(), |d| d.to_string());
    let mut out = format!("**runtime** `{}`\n\n", rt.id);
    let _ = writeln!(out, "- OS base: {} (glibc {})", os.name, os.glibc);
    let archs: Vec<&str> = rt.architectures.iter().map(|a| a.as_str()).collect();
    let _ = writeln!(out, "- architectures: {}", archs.join(", "));
    for arch in &rt.architectures {
        if let Some(c) = os.ceilings.get(arch) {
            let list: Vec<String> = c
                .versions
                .iter()
                .map(|(ns, v)| format!("{ns}_{v}"))
                .collect();
            let _ = writeln!(out, "- ceilings ({}): {}", arch.as_str(), list.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "- deprecated: {}, block create: {}, block update: {}",
        date(rt.deprecated),
        date(rt.block_create),
        date(rt.block_update)
    );
    if let Some(s) = &rt.successor {
        let _ = writeln!(out, "- successor: `{s}`");
    }
    Some(out)
}

fn layer_summary(cx: &Context<'_>, name: &str) -> String {
    let mut out = format!("**layer** `{name}`\n\n");
    let analysis = cx.snapshot.as_deref().map(|s| &s.analysis);
    let Some(layer) = analysis.and_then(|a| a.layer(name)) else {
        out.push_str("not resolved yet");
        return out;
    };
    let plan = &layer.plan;
    let files = plan
        .entries
        .iter()
        .filter(|e| matches!(e.content, Content::File { .. }))
        .count();
    let links = plan.entries.len() - files;
    let _ = writeln!(out, "- {files} files, {links} symlinks");
    let _ = writeln!(out, "- unzipped size: {} bytes", plan.unzipped_size);
    for entry in plan.entries.iter().take(20) {
        let _ = writeln!(out, "- `/opt/{}`", entry.path);
    }
    if plan.entries.len() > 20 {
        let _ = writeln!(out, "- … and {} more", plan.entries.len() - 20);
    }
    out
}

/// What the check of a function's `app` saw.
fn app_summary(cx: &Context<'_>, app: &Spanned<String>) -> String {
    let mut out = format!("**app** `{}`\n\n", app.value);
    let analysis = cx.snapshot.as_deref().map(|s| &s.analysis);
    let Some(summary) = analysis.and_then(|a| a.apps.iter().find(|s| s.span == app.span)) else {
        out.push_str("not checked: the function needs a layer of this spec with a known runtime, and the application must be readable");
        return out;
    };
    let _ = writeln!(out, "- runtime: {}", summary.runtime);
    if !summary.layers.is_empty() {
        let _ = writeln!(
            out,
            "- layers at /opt: {}",
            code_list(summary.layers.iter())
        );
    }
    let _ = writeln!(
        out,
        "- {} ELF objects, {} managed assemblies",
        summary.objects, summary.assemblies
    );
    if summary.failures == 0 {
        out.push_str("- everything loads\n");
    } else {
        let _ = writeln!(
            out,
            "- {} problem(s): it will fail to load",
            summary.failures
        );
    }
    for (assembly, name) in &summary.foreign {
        let _ = writeln!(
            out,
            "- `{name}` ({assembly}): Windows/macOS only, never loaded"
        );
    }
    out
}
