//! Code actions: each "did you mean" suggestion, `override=#true` for a library the runtime
//! provides, and a deprecated runtime's successor.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Range, TextEdit,
    WorkspaceEdit,
};

use super::Context;
use super::convert::to_lsp;
use crate::diagnostic::{Code, Diagnostic};

// `WorkspaceEdit::changes` is keyed by `Uri`, whose parser caches make clippy wary; keys are never mutated.
#[allow(clippy::mutable_key_type)]
pub(super) fn code_actions(
    cx: &Context<'_>,
    params: CodeActionParams,
) -> Option<Vec<CodeActionOrCommand>> {
    let snapshot = cx.current()?;
    let wanted = params.range;
    let docs = super::convert::DocsLink::new(None);
    let target = super::convert::Target {
        uri: cx.uri,
        doc: cx.doc,
        sources: &snapshot.analysis.sources,
        enc: cx.encoding,
    };
    let mut out = Vec::new();
    for diag in &snapshot.analysis.diagnostics {
        let Some(span) = diag.span else { continue };
        // A fix edits the open document only: findings in imported files have none here.
        if !snapshot.analysis.sources.in_root(span) {
            continue;
        }
        let range = cx.doc.range(span, cx.encoding);
        if !overlaps(range, wanted) {
            continue;
        }
        let Some((title, edit)) = fix(cx, diag) else {
            continue;
        };
        let mut changes = HashMap::new();
        changes.insert(cx.uri.clone(), vec![edit]);
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![to_lsp(diag, &target, &docs)]),
            edit: Some(WorkspaceEdit {
                changes: Some(changes),
                ..Default::default()
            }),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    Some(out)
}

/// The edit that fixes one diagnostic, if there is one.
fn fix(cx: &Context<'_>, diag: &Diagnostic) -> Option<(String, TextEdit)> {
    let span = diag.span?;
    let range = cx.doc.range(span, cx.encoding);
    let written = cx.doc.slice(span);
    let replace = |value: &str| {
        let text = if written.starts_with('"') || written.starts_with('#') {
            quoted(value)
        } else {
            value.to_string()
        };
        TextEdit::new(range, text)
    };
    if let Some(s) = &diag.suggestion {
        return Some((format!("Replace with `{s}`"), replace(s)));
    }
    match diag.code {
        Code::ResolveProvided => {
            let end = cx.doc.position(span.offset + span.length, cx.encoding);
            Some((
                "Ship it anyway: add `override=#true`".to_string(),
                TextEdit::new(Range::new(end, end), " override=#true".to_string()),
            ))
        }
        Code::LifecycleDeprecated => {
            let id: String = serde_json::from_str(written).ok()?;
            let successor = cx.session.catalog.runtime(&id)?.successor.clone()?;
            Some((format!("Move to `{successor}`"), replace(&successor)))
        }
        _ => None,
    }
}

/// A KDL quoted string (its escapes are JSON's for the characters that need one).
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

fn overlaps(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}
