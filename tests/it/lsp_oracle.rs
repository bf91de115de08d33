//! Every spec the suite analyses also goes through `layerc check --format json` and the language
//! server; both must report the same codes, severities, messages (with help and notes), spans and
//! related spans.

use std::path::Path;

use serde_json::Value;

use crate::common::layerc_in;
use crate::lsp_client::{Client, uri_of, utf16_position};

const SPEC: &str = ".lsp-oracle.kdl";

type Range = ((u32, u32), (u32, u32));

fn lsp_range(r: lsp_types::Range) -> Range {
    (
        (r.start.line, r.start.character),
        (r.end.line, r.end.character),
    )
}

/// The UTF-16 range of a JSON span (`{"offset", "length"}`), or the start of the file for none.
fn span_range(text: &str, span: &Value) -> Range {
    let Some(span) = span.as_object() else {
        return ((0, 0), (0, 0));
    };
    let offset = span["offset"].as_u64().unwrap() as usize;
    let end = offset + span["length"].as_u64().unwrap() as usize;
    let clamp = |o: usize| o.min(text.len());
    (
        utf16_position(text, clamp(offset)),
        utf16_position(text, clamp(end)),
    )
}

/// The text of the file a JSON diagnostic or related span names (`text` for the spec itself) and
/// its URI.
fn file_of(e: &Value, spec: &Path, text: &str) -> (String, lsp_types::Uri) {
    let file = Path::new(e["file"].as_str().unwrap());
    if file == spec {
        (text.to_string(), uri_of(spec))
    } else {
        (std::fs::read_to_string(file).unwrap(), uri_of(file))
    }
}

/// A `check --format json` finding's message as the server shows it: help and notes appended.
fn message_with_help_and_notes(e: &Value) -> String {
    let mut message = e["message"].as_str().unwrap().to_string();
    if let Some(help) = e["help"].as_str() {
        message = format!("{message}\nhelp: {help}");
    }
    for note in e["notes"].as_array().into_iter().flatten() {
        message = format!("{message}\nnote: {}", note.as_str().unwrap());
    }
    message
}

/// Asserts that the server's diagnostics for `text` (a spec in `dir`) equal `check`'s. A finding
/// in an imported file is shown on an `import` of the spec, its message led by the file's place,
/// and the place itself given as the first related information.
pub(crate) fn assert_lsp_matches_check(text: &str, dir: &Path) {
    let path = dir.join(SPEC);
    std::fs::write(&path, text).unwrap();
    // The absolute path, as an editor knows it: messages that name the rootfs then agree.
    let out = layerc_in(
        dir,
        &["check", "--format", "json", path.to_str().unwrap()],
        &[],
    );
    let expected: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let mut client = Client::start(None);
    let uri = uri_of(&path);
    client.open(&uri, text, 1);
    let got = client.diagnostics(&uri, 1);
    assert_eq!(client.shutdown(), 0);
    let lines: Vec<(Value, String, lsp_types::Uri)> = expected
        .iter()
        .map(|e| {
            let (file_text, file_uri) = file_of(e, &path, text);
            (e.clone(), file_text, file_uri)
        })
        .collect();
    std::fs::remove_file(&path).unwrap();

    assert_eq!(got.len(), expected.len(), "{got:#?}\n{expected:#?}");
    for (g, (e, file_text, file_uri)) in got.iter().zip(&lines) {
        let code = match &g.code {
            Some(lsp_types::NumberOrString::String(c)) => c.as_str(),
            other => panic!("code {other:?}"),
        };
        assert_eq!(code, e["code"].as_str().unwrap());
        let severity = match e["severity"].as_str().unwrap() {
            "error" => lsp_types::DiagnosticSeverity::ERROR,
            _ => lsp_types::DiagnosticSeverity::WARNING,
        };
        assert_eq!(g.severity, Some(severity));
        let mut message = message_with_help_and_notes(e);
        let mut expected_related: Vec<(String, String, Range)> = Vec::new();
        if file_uri == &uri {
            assert_eq!(
                lsp_range(g.range),
                span_range(text, &e["span"]),
                "range of {code}"
            );
        } else {
            let (file, line, column) = (&e["file"], &e["line"], &e["column"]);
            message = format!("{}:{line}:{column}: {message}", file.as_str().unwrap());
            let ((l0, c0), _) = lsp_range(g.range);
            let line_text = text.lines().nth(l0 as usize).unwrap();
            assert!(
                line_text.trim_start().starts_with("import") && c0 > 0,
                "{code} in {file} is shown on {line_text:?}"
            );
            let label = e["label"].as_str().unwrap_or("here").to_string();
            let range = span_range(file_text, &e["span"]);
            expected_related.push((label, file_uri.as_str().to_string(), range));
        }
        assert_eq!(g.message, message);
        let related: Vec<(String, String, Range)> = g
            .related_information
            .iter()
            .flatten()
            .map(|r| {
                let uri = r.location.uri.as_str().to_string();
                (r.message.clone(), uri, lsp_range(r.location.range))
            })
            .collect();
        for r in e["related"].as_array().into_iter().flatten() {
            let (related_text, related_uri) = file_of(r, &path, text);
            let message = r["message"].as_str().unwrap().to_string();
            let range = span_range(&related_text, &r["span"]);
            expected_related.push((message, related_uri.as_str().to_string(), range));
        }
        assert_eq!(related, expected_related, "related information of {code}");
    }
}
