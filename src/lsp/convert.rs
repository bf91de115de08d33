//! layerc's `Diagnostic` → LSP diagnostics, and file paths ↔ `file://` URIs.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    self as lsp, CodeDescription, DiagnosticRelatedInformation, Location, NumberOrString, Uri,
};

use super::text::{Document, Encoding};
use crate::diagnostic::{Code, Diagnostic, Severity, SourceMap, Span};

/// Where codes are documented: `docs/diagnostics.md`, one heading (anchor) per code.
#[derive(Debug, Clone)]
pub(super) struct DocsLink {
    base: Option<Uri>,
}

impl DocsLink {
    /// `base` from the client's `initializationOptions.diagnosticsUrl`; otherwise the
    /// `docs/diagnostics.md` of the source tree this binary was built from, when it exists.
    pub(super) fn new(base: Option<&str>) -> Self {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md");
        let base = match base {
            Some(url) => Uri::from_str(url).ok(),
            None if local.is_file() => file_uri(&local),
            None => None,
        };
        DocsLink { base }
    }

    /// The heading anchor GitHub and most renderers derive from "### `spec::unknown-node`".
    pub(super) fn href(&self, code: Code) -> Option<Uri> {
        let base = self.base.as_ref()?;
        let anchor: String = code
            .as_str()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        Uri::from_str(&format!("{}#{anchor}", base.as_str())).ok()
    }
}

/// The open document, the files it imports, and how the client counts columns.
pub(super) struct Target<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Document,
    pub sources: &'a SourceMap,
    pub enc: Encoding,
}

impl Target<'_> {
    /// Where `span` is: in the open document, or in the imported file that holds it.
    fn location(&self, span: Span) -> Location {
        if self.sources.in_root(span) {
            return Location::new(self.uri.clone(), self.doc.range(span, self.enc));
        }
        location_in(self.sources, span, self.enc).unwrap_or_else(|| {
            let at = self.sources.root_import(span);
            Location::new(self.uri.clone(), self.doc.range(at, self.enc))
        })
    }
}

/// The location of a span in an imported file (its own `file://` URI and positions).
pub(super) fn location_in(sources: &SourceMap, span: Span, enc: Encoding) -> Option<Location> {
    let (file, local) = sources.locate(span);
    let path = Path::new(&file.name);
    let uri = file_uri(path).filter(|_| path.is_absolute())?;
    let doc = Document::new(file.text.to_string(), 0);
    Some(Location::new(uri, doc.range(local, enc)))
}

/// One diagnostic of the document at `uri`: the same code, severity, message and span as
/// `layerc check`, the help and notes appended to the message, related spans as related
/// information (the dependency chain, "first defined here"). A diagnostic in an imported file is
/// shown on the document's `import` that brings that file in, its message naming the file and
/// position, and its place in that file given as related information.
pub(super) fn to_lsp(diag: &Diagnostic, at: &Target<'_>, docs: &DocsLink) -> lsp::Diagnostic {
    let (doc, enc, sources) = (at.doc, at.enc, at.sources);
    let mut message = diag.message.clone();
    let mut related = Vec::new();
    let range = match diag.span {
        None => lsp::Range::default(),
        Some(s) if sources.in_root(s) => doc.range(s, enc),
        Some(s) => {
            let (file, local) = sources.locate(s);
            let (line, column) = file.line_column(local.offset);
            message = format!("{}:{line}:{column}: {message}", file.name);
            related.push(DiagnosticRelatedInformation {
                location: at.location(s),
                message: diag.label.clone().unwrap_or_else(|| "here".to_string()),
            });
            doc.range(sources.root_import(s), enc)
        }
    };
    if let Some(help) = &diag.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    for note in &diag.notes {
        message.push_str("\nnote: ");
        message.push_str(note);
    }
    related.extend(diag.related.iter().map(|r| DiagnosticRelatedInformation {
        location: at.location(r.span),
        message: r.message.clone(),
    }));
    lsp::Diagnostic {
        range,
        severity: Some(match diag.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(diag.code.as_str().to_string())),
        code_description: docs.href(diag.code).map(|href| CodeDescription { href }),
        source: Some("layerc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The path of a `file://` URI (percent-decoded), or `None` for other schemes.
pub(super) fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` is not a local file; `file:///path` has an empty host.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// A `file://` URI for an absolute path, percent-encoding everything but unreserved bytes and `/`.
pub(super) fn file_uri(path: &Path) -> Option<Uri> {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip_with_spaces_and_non_ascii() {
        let path = Path::new("/tmp/my specs/é/layer.kdl");
        let uri = file_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/my%20specs/%C3%A9/layer.kdl");
        assert_eq!(uri_path(&uri).unwrap(), path);
        assert!(uri_path(&Uri::from_str("untitled:Untitled-1").unwrap()).is_none());
    }

    #[test]
    fn anchors_follow_the_headings() {
        let docs = DocsLink::new(Some("https://example.org/diagnostics.md"));
        let href = docs.href(Code::SpecUnknownNode).unwrap();
        assert_eq!(
            href.as_str(),
            "https://example.org/diagnostics.md#specunknown-node"
        );
    }
}
