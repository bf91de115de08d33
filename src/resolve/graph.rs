//! The dependency graph of one layer: nodes with their status, edges for DT_NEEDED entries.

use std::collections::BTreeSet;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::search::Found;
use crate::arch::Architecture;
use crate::diagnostic::{Diagnostic, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Copied into the layer.
    Shipped,
    /// The runtime has it (or it is glibc): not shipped, not expanded.
    Provided,
    /// The spec says never ship it.
    Excluded,
    /// Nowhere to be found in the rootfs.
    Missing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Shipped => "shipped",
            Status::Provided => "provided",
            Status::Excluded => "excluded",
            Status::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// The soname (or, lacking one, the name it was asked for by).
    pub name: String,
    pub status: Status,
    pub found: Option<Found>,
    /// Other names the node was requested or needed by; shipped as symlinks to `name`.
    pub aliases: BTreeSet<String>,
    /// The first node that needed this one (for chains in messages and RPATH inheritance).
    pub parent: Option<NodeIndex>,
    /// The root whose request pulled this node in first.
    pub root_span: Span,
}

#[derive(Debug, Clone)]
pub struct LayerGraph {
    /// The layer's name (the one place it is stored after lowering).
    pub layer: String,
    pub arch: Architecture,
    pub graph: DiGraph<Node, ()>,
    /// Nodes of the spec's `library` requests, in spec order.
    pub roots: Vec<NodeIndex>,
}

impl LayerGraph {
    /// Nodes in a stable order: discovery order (roots first, breadth first).
    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &Node)> {
        self.graph.node_indices().map(|i| (i, &self.graph[i]))
    }

    pub fn find(&self, name: &str) -> Option<NodeIndex> {
        self.nodes()
            .find(|(_, n)| n.name == name || n.aliases.contains(name))
            .map(|(i, _)| i)
    }

    /// The node known by `name` (its soname or an alias).
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.find(name).map(|i| &self.graph[i])
    }

    /// The status of the node known by `name`.
    pub fn status_of(&self, name: &str) -> Option<Status> {
        self.node(name).map(|n| n.status)
    }

    /// A node's children in the order they were added (DT_NEEDED order; petgraph lists neighbours
    /// newest first).
    pub fn children(&self, idx: NodeIndex) -> Vec<NodeIndex> {
        let mut c: Vec<NodeIndex> = self.graph.neighbors(idx).collect();
        c.reverse();
        c
    }

    /// Edges by name, in discovery order of their source and DT_NEEDED order within it.
    pub fn edges(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (idx, node) in self.nodes() {
            for child in self.children(idx) {
                out.push((node.name.as_str(), self.graph[child].name.as_str()));
            }
        }
        out
    }

    /// Nodes from a root down to `node` along first-discovery parents.
    pub fn chain_nodes(&self, node: NodeIndex) -> Vec<NodeIndex> {
        chain_nodes(&self.graph, node)
    }

    /// Names from a root down to `node` along first-discovery parents.
    pub fn chain(&self, node: NodeIndex) -> Vec<&str> {
        self.chain_nodes(node)
            .into_iter()
            .map(|i| self.graph[i].name.as_str())
            .collect()
    }

    pub fn chain_text(&self, node: NodeIndex) -> String {
        self.chain(node).join(" → ")
    }

    /// Every path from a root to `node` (for `layerc why`), shortest first.
    pub fn all_chains(&self, node: NodeIndex) -> Vec<Vec<NodeIndex>> {
        let mut out = Vec::new();
        let mut stack = vec![vec![node]];
        while let Some(path) = stack.pop() {
            let head = *path.last().expect("paths are never empty");
            let mut parents: Vec<NodeIndex> = self
                .graph
                .edges_directed(head, Direction::Incoming)
                .map(|e| e.source())
                .filter(|p| !path.contains(p))
                .collect();
            parents.sort();
            parents.dedup();
            if self.roots.contains(&head) {
                let mut p = path.clone();
                p.reverse();
                out.push(p);
            }
            for p in parents {
                let mut next = path.clone();
                next.push(p);
                stack.push(next);
            }
        }
        out.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }

    /// Adds the spec span of every requested step of `node`'s chain as a related span.
    pub fn with_chain(&self, diag: Diagnostic, node: NodeIndex) -> Diagnostic {
        with_chain(&self.graph, &self.roots, diag, node)
    }
}

pub(super) fn chain_nodes(graph: &DiGraph<Node, ()>, node: NodeIndex) -> Vec<NodeIndex> {
    let mut nodes = vec![node];
    let mut cur = node;
    while let Some(p) = graph[cur].parent {
        nodes.push(p);
        cur = p;
    }
    nodes.reverse();
    nodes
}

/// Each step of the chain that the spec requests, as a related span: "libcairo.so.2 is requested here".
pub(super) fn with_chain(
    graph: &DiGraph<Node, ()>,
    roots: &[NodeIndex],
    mut diag: Diagnostic,
    node: NodeIndex,
) -> Diagnostic {
    for step in chain_nodes(graph, node) {
        if roots.contains(&step) {
            let n = &graph[step];
            diag = diag.related(n.root_span, format!("{} is requested here", n.name));
        }
    }
    diag
}
