//! Rendering a diagnostic for people (miette's graphical report) and for tools (JSON), with its
//! spans placed in the file of the [`SourceMap`] each points into.

use std::borrow::Cow;
use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
use serde::Serialize;

use super::{Code, Diagnostic, Related, Severity, SourceFile, SourceMap, Span};

/// Renders diagnostics for people: miette's graphical report, drawn on the file the primary span
/// points into; related spans in other files are drawn after it, each on its own file.
pub fn render_human(diag: &Diagnostic, sources: &SourceMap, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let local = Localized::new(&shown(diag), sources);
    let source = shown_source(local.source);
    let others: Vec<(Cow<SourceFile>, &Related)> = local
        .elsewhere
        .iter()
        .map(|(source, related)| (shown_source(source), related))
        .collect();
    let elsewhere: Vec<Elsewhere> = others
        .iter()
        .map(|(source, related)| Elsewhere { source, related })
        .collect();
    let report = MietteView {
        diag: &local.diag,
        source: &source,
        elsewhere: &elsewhere,
    };
    let mut out = String::new();
    // Rendering into a String cannot fail except through fmt errors of our own Display impls.
    let _ = handler.render_report(&mut out, &report);
    out
}

/// The diagnostic as people see it: control characters in its texts escapes
/// ([`crate::escape`]), its own line breaks kept.
fn shown(diag: &Diagnostic) -> Diagnostic {
    use crate::escape::{controls, controls_but_lines};
    let own = |text: &String| controls_but_lines(text).into_owned();
    Diagnostic {
        message: own(&diag.message),
        label: diag.label.as_ref().map(|l| controls(l).into_owned()),
        help: diag.help.as_ref().map(own),
        notes: diag.notes.iter().map(own).collect(),
        related: diag
            .related
            .iter()
            .map(|r| Related {
                message: controls(&r.message).into_owned(),
                span: r.span,
            })
            .collect(),
        ..diag.clone()
    }
}

/// A spec file as a snippet shows it: control characters replaced in place, its name escaped.
fn shown_source(source: &SourceFile) -> Cow<'_, SourceFile> {
    use crate::escape::{controls, controls_in_place};
    match (controls_in_place(&source.text), controls(&source.name)) {
        (Cow::Borrowed(_), Cow::Borrowed(_)) => Cow::Borrowed(source),
        (text, name) => Cow::Owned(SourceFile::new(name.into_owned(), text.into_owned())),
    }
}

/// One JSON object per diagnostic, for editors and CI.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: Code,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub span: Option<Span>,
    pub label: Option<&'a str>,
    pub help: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<JsonRelated<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated<'a> {
    pub message: &'a str,
    /// The spec file the span points into.
    pub file: &'a str,
    pub span: Span,
    pub line: usize,
    pub column: usize,
}

/// The JSON form of a diagnostic: `file`, `line`, `column` and `span` are those of the file the
/// span points into (an imported spec, or the spec itself).
pub fn to_json<'a>(diag: &'a Diagnostic, sources: &'a SourceMap) -> JsonDiagnostic<'a> {
    let located = diag.span.map(|s| sources.locate(s));
    let source = located.map_or(sources.root(), |(file, _)| file);
    let position = located.map(|(file, s)| file.line_column(s.offset));
    JsonDiagnostic {
        code: diag.code,
        severity: diag.severity,
        message: &diag.message,
        file: &source.name,
        line: position.map(|p| p.0),
        column: position.map(|p| p.1),
        span: located.map(|(_, s)| s),
        label: diag.label.as_deref(),
        help: diag.help.as_deref(),
        related: diag
            .related
            .iter()
            .map(|r| {
                let (file, span) = sources.locate(r.span);
                let (line, column) = file.line_column(span.offset);
                JsonRelated {
                    message: &r.message,
                    file: &file.name,
                    span,
                    line,
                    column,
                }
            })
            .collect(),
        notes: &diag.notes,
        suggestion: diag.suggestion.as_deref(),
    }
}

/// A diagnostic with its spans made local to the file of its primary span.
struct Localized<'a> {
    diag: Diagnostic,
    source: &'a SourceFile,
    /// Related spans in other files than the primary span's, local to their file.
    elsewhere: Vec<(&'a SourceFile, Related)>,
}

impl<'a> Localized<'a> {
    fn new(diag: &Diagnostic, sources: &'a SourceMap) -> Self {
        let Some(span) = diag.span else {
            return Localized {
                diag: diag.clone(),
                source: sources.root(),
                elsewhere: Vec::new(),
            };
        };
        let (source, primary) = sources.locate(span);
        let mut local = Diagnostic {
            span: Some(primary),
            related: Vec::new(),
            ..diag.clone()
        };
        let mut elsewhere = Vec::new();
        for r in &diag.related {
            let (file, at) = sources.locate(r.span);
            let related = Related {
                message: r.message.clone(),
                span: at,
            };
            if std::ptr::eq(file, source) {
                local.related.push(related);
            } else {
                elsewhere.push((file, related));
            }
        }
        Localized {
            diag: local,
            source,
            elsewhere,
        }
    }
}

struct MietteView<'a> {
    diag: &'a Diagnostic,
    source: &'a SourceFile,
    elsewhere: &'a [Elsewhere<'a>],
}

/// A related span in another spec file than the diagnostic's, drawn as a report of its own.
struct Elsewhere<'a> {
    source: &'a SourceFile,
    related: &'a Related,
}

impl fmt::Debug for Elsewhere<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.related, f)
    }
}

impl fmt::Display for Elsewhere<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in {}", self.source.name)
    }
}

impl std::error::Error for Elsewhere<'_> {}

impl miette::Diagnostic for Elsewhere<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.source.label_span(self.related.span);
        let label = LabeledSpan::new_primary_with_span(Some(self.related.message.clone()), span);
        Some(Box::new(std::iter::once(label)))
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diag, f)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut lines: Vec<String> = self.diag.help.iter().cloned().collect();
        lines.extend(self.diag.notes.iter().map(|n| format!("note: {n}")));
        (!lines.is_empty()).then(|| Box::new(lines.join("\n")) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diag.span.map(|_| self.source as &dyn SourceCode)
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.elsewhere.is_empty() {
            return None;
        }
        let items = self.elsewhere.iter().map(|e| e as &dyn miette::Diagnostic);
        Some(Box::new(items))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diag.span?;
        let source = self.source;
        let primary =
            LabeledSpan::new_primary_with_span(self.diag.label.clone(), source.label_span(span));
        let related = self.diag.related.iter().map(move |r| {
            LabeledSpan::new_with_span(Some(r.message.clone()), source.label_span(r.span))
        });
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
