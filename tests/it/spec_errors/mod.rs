//! Malformed specs: each one gives the right diagnostic codes, a span on the offending text and a
//! useful help line, and never a panic.

pub(crate) use crate::common::*;

mod layers;
mod many;
mod names_and_types;
mod packages;
mod runtimes;
mod syntax;

/// A layer that is valid apart from `body`: an existing (empty) rootfs and a supported runtime.
pub(crate) fn layer_with(body: &str) -> String {
    format!("layer \"x\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n{body}}}\n")
}

/// Analyses `text` in a fresh fixture; returns the analysis and the fixture (kept alive).
pub(crate) fn analyze(text: &str) -> (Analysis, Fixture) {
    let fx = Fixture::new();
    fx.spec(text);
    let analysis = fx.analyze();
    (analysis, fx)
}

/// The rendered diagnostics with the fixture's temporary folder replaced by `[TMP]` in the
/// messages before rendering, so line wrapping does not depend on the temp folder's length.
pub(crate) fn rendered_without_tmp(analysis: &Analysis, fx: &Fixture) -> String {
    let tmp = fx.path().display().to_string();
    let diags: Vec<_> = analysis
        .diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            d.message = d.message.replace(&tmp, "[TMP]");
            d
        })
        .collect();
    let text = render_all(&diags, &analysis.sources);
    assert!(!text.contains(&tmp), "{text}");
    text
}

/// Only the errors, rendered: lifecycle warnings of old runtimes are covered elsewhere.
pub(crate) fn rendered_errors(analysis: &Analysis) -> String {
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    render_all(&errors, &analysis.sources)
}

pub(crate) use layerc::Analysis;

#[test]
fn the_baseline_layer_is_clean() {
    // Every other test adds one mistake to this layer; it must have no finding of its own.
    let (analysis, _fx) = analyze(&layer_with(""));
    assert_eq!(
        codes(&analysis),
        Vec::<&str>::new(),
        "{}",
        rendered(&analysis)
    );
}
