//! Go to definition (a function's `layer "name"` → that layer) and document symbols (the outline).

use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, Location, SymbolKind,
};

use super::Context;
use crate::spec::{LayerRef, Spec};

/// The spec of the current text: the worker's when it is up to date (with the layers and functions
/// of the files it imports), else parsed here (no I/O).
pub(super) fn current_spec(cx: &Context<'_>) -> Spec {
    match cx.current() {
        Some(s) => s.analysis.spec.clone(),
        None => crate::spec::parse(&cx.doc.text, cx.session.catalog).0,
    }
}

/// True when `span` is in the open document rather than in a file it imports.
fn in_document(cx: &Context<'_>, span: crate::diagnostic::Span) -> bool {
    cx.current()
        .is_none_or(|s| s.analysis.sources.in_root(span))
}

pub(super) fn definition(
    cx: &Context<'_>,
    params: GotoDefinitionParams,
) -> Option<GotoDefinitionResponse> {
    let offset = cx
        .doc
        .offset(params.text_document_position_params.position, cx.encoding);
    let spec = current_spec(cx);
    let name = spec
        .functions
        .iter()
        .flat_map(|f| &f.layers)
        .find(|l| l.span.offset <= offset && offset <= l.span.offset + l.span.length)
        .and_then(|l| match &l.value {
            LayerRef::Local(name) => Some(name.clone()),
            LayerRef::Arn(_) => None,
        })?;
    let layer = spec.layer(&name)?;
    let location = match cx.current() {
        Some(s) if !in_document(cx, layer.span) => {
            super::convert::location_in(&s.analysis.sources, layer.span, cx.encoding)?
        }
        _ => Location::new(cx.uri.clone(), cx.doc.range(layer.span, cx.encoding)),
    };
    Some(GotoDefinitionResponse::Scalar(location))
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out; it is `None`.
fn symbol(
    cx: &Context<'_>,
    name: &str,
    kind: SymbolKind,
    span: crate::diagnostic::Span,
    name_span: crate::diagnostic::Span,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range: cx.doc.range(span, cx.encoding),
        selection_range: cx.doc.range(name_span, cx.encoding),
        children: Some(children),
    }
}

pub(super) fn symbols(cx: &Context<'_>, _: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let spec = current_spec(cx);
    let mut out = Vec::new();
    for layer in spec.layers.iter().filter(|l| in_document(cx, l.span)) {
        let libraries = layer
            .libraries
            .iter()
            .map(|l| {
                let s = l.name.span;
                symbol(cx, &l.name.value, SymbolKind::FILE, s, s, Vec::new())
            })
            .collect();
        out.push(symbol(
            cx,
            &layer.name.value,
            SymbolKind::MODULE,
            layer.span,
            layer.name.span,
            libraries,
        ));
    }
    for function in spec.functions.iter().filter(|f| in_document(cx, f.span)) {
        out.push(symbol(
            cx,
            &function.id.value,
            SymbolKind::FUNCTION,
            function.span,
            function.id.span,
            Vec::new(),
        ));
    }
    Some(DocumentSymbolResponse::Nested(out))
}
