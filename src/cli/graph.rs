//! `layerc graph`: the dependency graph of each layer, as text, dot, Mermaid or JSON.

use std::path::Path;

use layerc::{Analysis, emit};

use super::output::{print_out, report, say};
use super::{Format, GraphFormat, TOOL_ERROR};

pub(super) fn run(
    analysis: &Analysis,
    spec: &Path,
    layer: Option<&str>,
    format: GraphFormat,
    color: bool,
) -> i32 {
    if analysis.layers.is_empty() && analysis.has_errors() {
        report(analysis, &analysis.diagnostics, Format::Human, color);
        return analysis.exit_code();
    }
    let graphs: Vec<_> = analysis
        .layers
        .iter()
        .filter(|l| layer.is_none_or(|n| l.name() == n))
        .map(|l| &l.graph)
        .collect();
    if let Some(name) = layer
        && graphs.is_empty()
    {
        let names: Vec<&str> = analysis.layers.iter().map(|l| l.name()).collect();
        let hint = layerc::diagnostic::did_you_mean(name, names.iter().copied())
            .map_or(String::new(), |h| format!("; {h}"));
        say(format_args!(
            "error: no resolved layer named `{name}` in {}; its layers are {}{hint}",
            spec.display(),
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            },
        ));
        return TOOL_ERROR;
    }
    let failing = emit::graph::failing(&analysis.diagnostics, &analysis.layers);
    print_out(&match format {
        GraphFormat::Json => emit::graph::json(&graphs),
        GraphFormat::Text => emit::graph::text(&graphs, &failing),
        GraphFormat::Dot => emit::graph::dot(&graphs, &failing),
        GraphFormat::Mermaid => emit::graph::mermaid(&graphs, &failing),
    })
}
