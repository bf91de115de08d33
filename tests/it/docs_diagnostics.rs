//! docs/diagnostics.md: its code tables are the ones `codes!` gives (rust-analyzer's sourcegen
//! pattern: `LAYERC_REGENERATE=1` rewrites them), and it has one section per code.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use layerc::diagnostic::Code;
use layerc::diagnostic::reference::{self, BEGIN, END};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md")
}

/// Each `### \`code\`` heading with the first bold words of its section.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(code) = line.strip_prefix("### `").and_then(|l| l.strip_suffix('`')) else {
            continue;
        };
        let first = lines.by_ref().find(|l| !l.trim().is_empty()).unwrap_or("");
        let label = first
            .trim_start_matches("**")
            .split("**")
            .next()
            .unwrap_or("");
        out.push((code.to_string(), label.to_string()));
    }
    out
}

#[test]
fn the_code_tables_are_generated_from_the_codes() {
    let path = doc_path();
    let doc = fs::read_to_string(&path).unwrap();
    let start = doc
        .find(BEGIN)
        .expect("docs/diagnostics.md has the generated part's start");
    let end = doc
        .find(END)
        .expect("docs/diagnostics.md has the generated part's end")
        + END.len();
    let fresh = reference::markdown();
    if std::env::var_os("LAYERC_REGENERATE").is_some() {
        fs::write(&path, format!("{}{fresh}{}", &doc[..start], &doc[end..])).unwrap();
        return;
    }
    assert!(
        doc[start..end] == fresh,
        "docs/diagnostics.md's code tables are stale: run LAYERC_REGENERATE=1 cargo test --test it docs"
    );
}

#[test]
fn every_code_has_one_section_that_states_its_severity() {
    let doc = fs::read_to_string(doc_path()).unwrap();
    let sections = sections(&doc);
    let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let named: BTreeSet<&str> = sections.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(named.len(), sections.len(), "a code has two sections");
    let missing: Vec<_> = codes.difference(&named).collect();
    let unknown: Vec<_> = named.difference(&codes).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "undocumented codes: {missing:?}; sections for no code: {unknown:?}"
    );
    for (name, label) in &sections {
        let code = Code::ALL.iter().find(|c| c.as_str() == name).unwrap();
        let usual = format!("{:?}", code.severities()[0]);
        assert!(
            label.starts_with(&usual),
            "{name}: the section says `{label}`, the code is reported as {usual} first"
        );
    }
}
