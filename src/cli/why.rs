//! `layerc why`: the chain(s) that pull a library into a layer.

use layerc::Analysis;
use layerc::escape::controls;

use super::output::{print_out, report, say};
use super::{Format, SPEC_ERROR};

/// Chains printed per layer: a lattice of libraries can have millions.
const MAX_CHAINS: usize = 20;

pub fn run(analysis: &Analysis, name: &str, color: bool) -> i32 {
    if analysis.layers.is_empty() && analysis.has_errors() {
        report(analysis, &analysis.diagnostics, Format::Human, color);
        return analysis.exit_code();
    }
    let mut found = false;
    let mut out = String::new();
    for layer in &analysis.layers {
        let g = &layer.graph;
        let Some(idx) = g.find(name) else { continue };
        found = true;
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
    if !found {
        say(format_args!(
            "error: no layer of {} pulls in `{name}`",
            analysis.sources.root().name
        ));
        return SPEC_ERROR;
    }
    print_out(&out)
}
