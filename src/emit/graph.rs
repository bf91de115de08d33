//! Renderings of the dependency graph: JSON (the contract's shape), text, Graphviz dot, Mermaid.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::escape::controls;
use crate::resolve::{LayerGraph, Status};

#[derive(Serialize)]
struct JsonGraph<'a> {
    layers: Vec<JsonLayer<'a>>,
}

#[derive(Serialize)]
struct JsonLayer<'a> {
    name: &'a str,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    path: Option<&'a str>,
    status: Status,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    from: &'a str,
    to: &'a str,
}

/// The nodes that fail `check`, per layer and node name, with the codes of their errors.
pub type Failing = BTreeMap<(String, String), Vec<&'static str>>;

/// The errors of an analysis (its `diagnostics` and `layers`) that are about one object of a
/// layer: a finding whose message (or, for a finding that lists several objects, a note) starts
/// with the object's name.
pub fn failing(
    diagnostics: &[crate::diagnostic::Diagnostic],
    layers: &[crate::plan::LayerAnalysis],
) -> Failing {
    let mut out = Failing::new();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        let lines = std::iter::once(&d.message).chain(&d.notes);
        for first in lines.filter_map(|l| l.split(' ').next()) {
            for layer in layers {
                if layer.graph.find(first).is_some() {
                    let codes = out
                        .entry((layer.name().to_string(), first.to_string()))
                        .or_default();
                    if !codes.contains(&d.code.as_str()) {
                        codes.push(d.code.as_str());
                    }
                }
            }
        }
    }
    out
}

/// " ✗ abi::symbol-version": the mark of a node that fails `check`.
fn mark(failing: &Failing, layer: &str, node: &str) -> String {
    failing
        .get(&(layer.to_string(), node.to_string()))
        .map_or(String::new(), |codes| format!(" ✗ {}", codes.join(", ")))
}

pub fn json(graphs: &[&LayerGraph]) -> String {
    let layers = graphs
        .iter()
        .map(|g| JsonLayer {
            name: &g.layer,
            nodes: g
                .nodes()
                .map(|(_, n)| JsonNode {
                    name: &n.name,
                    path: n.found.as_ref().map(|f| f.real.as_str()),
                    status: n.status,
                })
                .collect(),
            edges: g
                .edges()
                .into_iter()
                .map(|(from, to)| JsonEdge { from, to })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&JsonGraph { layers }).expect("serialisable");
    text.push('\n');
    text
}

/// A tree like lddtree's: each node expanded once, repeats marked, and objects that fail `check`
/// marked with the codes of their errors. Names are shown with their control characters escaped.
pub fn text(graphs: &[&LayerGraph], failing: &Failing) -> String {
    let mut out = String::new();
    for g in graphs {
        let _ = writeln!(out, "layer {} ({})", controls(&g.layer), g.arch);
        let mut seen = BTreeSet::new();
        for &root in &g.roots {
            tree(g, root, 1, (&mut seen, failing), &mut out);
        }
    }
    out
}

fn tree(
    g: &LayerGraph,
    idx: NodeIndex,
    depth: usize,
    (seen, failing): (&mut BTreeSet<NodeIndex>, &Failing),
    out: &mut String,
) {
    let node = &g.graph[idx];
    let path = node.found.as_ref().map_or("not found".to_string(), |f| {
        controls(f.real.as_str()).into_owned()
    });
    let again = !seen.insert(idx);
    let _ = writeln!(
        out,
        "{}{} [{}] {}{}{}",
        "    ".repeat(depth),
        controls(&node.name),
        node.status.as_str(),
        path,
        if again && node.status == Status::Shipped {
            " (see above)"
        } else {
            ""
        },
        if again {
            String::new()
        } else {
            mark(failing, &g.layer, &node.name)
        }
    );
    if again {
        return;
    }
    for child in g.children(idx) {
        tree(g, child, depth + 1, (seen, failing), out);
    }
}

pub fn dot(graphs: &[&LayerGraph], failing: &Failing) -> String {
    let mut out = String::from("digraph layerc {\n    rankdir=LR;\n    node [shape=box];\n");
    for g in graphs {
        let _ = writeln!(
            out,
            "    subgraph \"cluster_{}\" {{\n        label=\"{}\";",
            esc(&g.layer),
            esc(&g.layer)
        );
        for (_, n) in g.nodes() {
            let fails = mark(failing, &g.layer, &n.name);
            let style = match n.status {
                _ if !fails.is_empty() => "bold\", color=\"red",
                Status::Shipped => "solid",
                Status::Provided => "dashed",
                Status::Excluded => "dotted",
                Status::Missing => "bold\", color=\"red",
            };
            let _ = writeln!(
                out,
                "        \"{}/{}\" [label=\"{}\\n{}{}\", style=\"{}\"];",
                esc(&g.layer),
                esc(&n.name),
                esc(&n.name),
                n.status.as_str(),
                esc(&fails),
                style
            );
        }
        for (from, to) in g.edges() {
            let _ = writeln!(
                out,
                "        \"{0}/{1}\" -> \"{0}/{2}\";",
                esc(&g.layer),
                esc(from),
                esc(to)
            );
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

/// A dot string's content: no raw line break or other control character, quotes escaped.
fn esc(s: &str) -> String {
    controls(s).replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Mermaid label's content: no raw line break or other control character, no `"`.
fn mermaid_label(s: &str) -> String {
    controls(s).replace('"', "'")
}

pub fn mermaid(graphs: &[&LayerGraph], failing: &Failing) -> String {
    let mut out = String::from("flowchart LR\n");
    for (li, g) in graphs.iter().enumerate() {
        let _ = writeln!(out, "    subgraph L{li}[\"{}\"]", mermaid_label(&g.layer));
        for (i, n) in g.nodes() {
            let _ = writeln!(
                out,
                "        L{li}N{}[\"{} ({}){}\"]",
                i.index(),
                mermaid_label(&n.name),
                n.status.as_str(),
                mark(failing, &g.layer, &n.name)
            );
        }
        for (i, _) in g.nodes() {
            for c in g.children(i) {
                let _ = writeln!(out, "        L{li}N{} --> L{li}N{}", i.index(), c.index());
            }
        }
        out.push_str("    end\n");
    }
    out
}
