//! `layerc why`: the chain(s) that pull a library into a layer.

use layerc::Analysis;

use super::output::{print_out, report};
use super::{Format, SPEC_ERROR};

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
            layer.name(),
            node.name,
            node.status.as_str()
        ));
        for chain in g.all_chains(idx) {
            let names: Vec<&str> = chain.iter().map(|&i| g.graph[i].name.as_str()).collect();
            let (line, col) = analysis
                .source
                .line_column(g.graph[chain[0]].root_span.offset);
            out.push_str(&format!(
                "    {}  ({}:{line}:{col})\n",
                names.join(" → "),
                analysis.source.name
            ));
        }
    }
    if !found {
        eprintln!(
            "error: no layer of {} pulls in `{name}`",
            analysis.source.name
        );
        return SPEC_ERROR;
    }
    print_out(&out)
}
