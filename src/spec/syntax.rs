//! KDL v2 text → `KdlDocument`, or syntax diagnostics.

use kdl::KdlDocument;

use crate::diagnostic::{Code, Diagnostic, Span};

/// Specs nest two levels deep; anything far deeper is refused before the recursive parser sees it.
const MAX_NESTING: usize = 64;

pub(super) fn parse_document(source: &str) -> Result<KdlDocument, Vec<Diagnostic>> {
    // Plain KDL is read by the fast reader (the same document, `super::fast`); the rest, and
    // every syntax error, by the `kdl` crate.
    if let Some(doc) = super::fast::parse(source) {
        return Ok(doc);
    }
    if let Some(offset) = too_deep(source) {
        return Err(vec![
            Diagnostic::error(
                Code::SpecSyntax,
                format!("the spec nests blocks more than {MAX_NESTING} levels deep"),
            )
            .at(Span::new(offset, 1))
            .label("too deep")
            .help("a spec has `layer` and `function` blocks with one level of children"),
        ]);
    }
    let Some(parsed) = parse_with_stack(source) else {
        return Err(vec![
            Diagnostic::error(Code::SpecSyntax, "the spec could not be parsed as KDL v2")
                .at(Span::new(0, 0))
                .help("specs are KDL v2 documents: https://kdl.dev"),
        ]);
    };
    parsed.map_err(|err| {
        let mut diags: Vec<Diagnostic> = err
            .diagnostics
            .iter()
            .map(|d| {
                let message = d
                    .message
                    .clone()
                    .unwrap_or_else(|| "invalid KDL syntax".to_string());
                let span: Span = d.span.into();
                let help = v1_keyword_help(source, span)
                    .or_else(|| d.help.clone())
                    .unwrap_or_else(|| "specs are KDL v2 documents: https://kdl.dev".to_string());
                Diagnostic::error(Code::SpecSyntax, format!("KDL syntax error: {message}"))
                    .at(span)
                    .label(d.label.clone().unwrap_or_else(|| "here".to_string()))
                    .help(help)
            })
            .collect();
        if diags.is_empty() {
            diags.push(
                Diagnostic::error(Code::SpecSyntax, "the spec is not a valid KDL v2 document")
                    .at(Span::new(0, 0)),
            );
        }
        diags
    })
}

/// KDL v1's bare `true`, `false` and `null` are `#true`, `#false` and `#null` in KDL v2.
fn v1_keyword_help(source: &str, span: Span) -> Option<String> {
    let text = source.get(span.offset..span.offset + span.length)?;
    let word = text.trim();
    matches!(word, "true" | "false" | "null").then(|| {
        format!("KDL v2 writes `#{word}`: a bare `{word}` is KDL v1 (specs are KDL v2 documents)")
    })
}

/// The KDL parser recurses; parse on a thread with a generous stack so that input the nesting guard
/// cannot see through still cannot overflow the caller's stack. `None` if the parser panicked.
fn parse_with_stack(source: &str) -> Option<Result<KdlDocument, kdl::KdlError>> {
    const STACK: usize = 256 * 1024 * 1024;
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(scope, || KdlDocument::parse(source))
        {
            Ok(handle) => handle.join().ok(),
            // No memory for a big stack: parse on this thread.
            Err(_) => Some(KdlDocument::parse(source)),
        }
    })
}

/// The offset of the first `{` beyond [`MAX_NESTING`], skipping strings and comments.
fn too_deep(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' | b'"' => {
                // Raw strings `#"…"#` (any number of `#`, no escapes), multi-line `"""…"""` and
                // quoted strings with `\` escapes: their braces do not nest.
                let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
                let start = i + hashes;
                if bytes.get(start) != Some(&b'"') {
                    i += hashes.max(1);
                    continue;
                }
                let triple = bytes[start..].starts_with(b"\"\"\"");
                let quote: &[u8] = if triple { b"\"\"\"" } else { b"\"" };
                let mut close = quote.to_vec();
                close.extend(std::iter::repeat_n(b'#', hashes));
                i = start + quote.len();
                while i < bytes.len() && !bytes[i..].starts_with(&close) {
                    if hashes == 0 && bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += close.len();
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}
