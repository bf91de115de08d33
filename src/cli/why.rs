//! `layerc why`: the chain(s) that pull a library into a layer.

use layerc::escape::controls;
use layerc::resolve::LayerGraph;
use layerc::{Analysis, LayerAnalysis};
use petgraph::graph::NodeIndex;

use super::output::{print_out, report, say};
use super::{Format, SPEC_ERROR};

/// Chains printed per layer: a lattice of libraries can have millions.
const MAX_CHAINS: usize = 20;

pub(super) fn run(analysis: &Analysis, name: &str, color: bool) -> i32 {
    if analysis.layers.is_empty() && analysis.has_errors() {
        report(analysis, &analysis.diagnostics, Format::Human, color);
        return analysis.exit_code();
    }
    let mut found = false;
    let mut out = String::new();
    for layer in &analysis.layers {
        let g = &layer.graph;
        for idx in matches(g, name) {
            found = true;
            chains_of(analysis, layer, idx, &mut out);
        }
    }
    if !found {
        let names: Vec<&str> = analysis
            .layers
            .iter()
            .flat_map(|l| l.graph.nodes().map(|(_, n)| n.name.as_str()))
            .collect();
        let hint = layerc::diagnostic::did_you_mean(name, names.iter().copied())
            .map_or(String::new(), |h| format!("; {h}"));
        say(format_args!(
            "error: no layer of {} pulls in `{name}`{hint}",
            analysis.sources.root().name
        ));
        return SPEC_ERROR;
    }
    print_out(&out)
}

/// The nodes `name` means: the one known by that name, else every library whose name it is
/// without the suffix (`libz` and `z` mean `libz.so.1`).
fn matches(g: &LayerGraph, name: &str) -> Vec<NodeIndex> {
    if let Some(idx) = g.find(name) {
        return vec![idx];
    }
    let bare = name.trim_end_matches(".so");
    let prefixes = [format!("{bare}.so"), format!("lib{bare}.so")];
    g.nodes()
        .filter(|(_, n)| {
            prefixes.iter().any(|p| {
                n.name
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.is_empty() || r.starts_with('.'))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

fn chains_of(analysis: &Analysis, layer: &LayerAnalysis, idx: NodeIndex, out: &mut String) {
    let g = &layer.graph;
    let node = &g.graph[idx];
    out.push_str(&format!(
        "layer {}: {} [{}]\n",
        controls(layer.name()),
        controls(&node.name),
        node.status.as_str()
    ));
    let chains = g.chains(idx, MAX_CHAINS);
    for chain in &chains.shown {
        let names: Vec<_> = chain.iter().map(|&i| controls(&g.graph[i].name)).collect();
        let (file, span) = analysis.sources.locate(g.graph[chain[0]].root_span);
        let (line, col) = file.line_column(span.offset);
        out.push_str(&format!(
            "    {}  ({}:{line}:{col})\n",
            names.join(" → "),
            controls(&file.name)
        ));
    }
    let shown = chains.shown.len();
    match chains.total.map(|t| t - shown as u128) {
        Some(0) => {}
        Some(left_out) => out.push_str(&format!(
            "    … and {left_out} more chain(s), not shown (the {shown} shortest are)\n"
        )),
        None => out.push_str(&format!(
            "    … and more chains through a cycle, not shown (the {shown} shortest are)\n"
        )),
    }
}
