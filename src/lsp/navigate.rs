//! Go to definition (a function's `layer "name"` → that layer) and document symbols (the outline).

use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, Location, SymbolKind,
};

use super::Context;
use crate::spec::{LayerRef, Spec};

/// The spec of the current text: the worker's when it is up to date, else parsed here (no I/O).
pub fn current_spec(cx: &Context<'_>) -> Spec {
    match cx.current() {
        Some(s) => s.analysis.spec.clone(),
        None => crate::spec::parse(&cx.doc.text, cx.session.catalog).0,
    }
}

pub fn definition(
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
    Some(GotoDefinitionResponse::Scalar(Location::new(
        cx.uri.clone(),
        cx.doc.range(layer.span, cx.encoding),
    )))
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

pub fn symbols(cx: &Context<'_>, _: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let spec = current_spec(cx);
    let mut out = Vec::new();
    for layer in &spec.layers {
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
    for function in &spec.functions {
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
