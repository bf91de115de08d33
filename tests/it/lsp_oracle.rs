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

/// Asserts that the server's diagnostics for `text` (a spec in `dir`) equal `check`'s.
pub fn assert_lsp_matches_check(text: &str, dir: &Path) {
    let path = dir.join(SPEC);
    std::fs::write(&path, text).unwrap();
    // The absolute path, as an editor knows it: messages that name the rootfs then agree.
    let out = layerc_in(
        dir,
        &["check", "--format", "json", path.to_str().unwrap()],
        &[],
    );
    std::fs::remove_file(&path).unwrap();
    let expected: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let mut client = Client::start(None);
    let uri = uri_of(&path);
    client.open(&uri, text, 1);
    let got = client.diagnostics(&uri, 1);
    assert_eq!(client.shutdown(), 0);

    assert_eq!(got.len(), expected.len(), "{got:#?}\n{expected:#?}");
    for (g, e) in got.iter().zip(&expected) {
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
        let mut message = e["message"].as_str().unwrap().to_string();
        if let Some(help) = e["help"].as_str() {
            message = format!("{message}\nhelp: {help}");
        }
        for note in e["notes"].as_array().into_iter().flatten() {
            message = format!("{message}\nnote: {}", note.as_str().unwrap());
        }
        assert_eq!(g.message, message);
        assert_eq!(
            lsp_range(g.range),
            span_range(text, &e["span"]),
            "range of {code}"
        );
        let related: Vec<(String, Range)> = g
            .related_information
            .iter()
            .flatten()
            .map(|r| {
                assert_eq!(r.location.uri.as_str(), uri.as_str());
                (r.message.clone(), lsp_range(r.location.range))
            })
            .collect();
        let expected_related: Vec<(String, Range)> = e["related"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let message = r["message"].as_str().unwrap().to_string();
                (message, span_range(text, &r["span"]))
            })
            .collect();
        assert_eq!(related, expected_related, "related information of {code}");
    }
}
