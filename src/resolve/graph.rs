//! The dependency graph of one layer: nodes with their status, edges for DT_NEEDED entries.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

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
    /// A file a `file` request ships at this path in the layer (an executable, a plugin): its
    /// entry is the request's, and its DT_NEEDED closure is resolved like a library's.
    pub placed: Option<crate::layer_path::LayerPath>,
}

/// Paths searched by [`LayerGraph::chains`] before it stops, whatever the graph.
const MAX_CHAIN_WORK: usize = 100_000;

/// Some chains that pull a node in, and how many exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chains {
    /// Shortest first, then by node order.
    pub shown: Vec<Vec<NodeIndex>>,
    /// All chains from a root (at least `shown.len()`; saturating), or `None` when the graph has
    /// a cycle and the search stopped early: the count is then unknown.
    pub total: Option<u128>,
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

    /// The shortest chains from a root to `node` (for `layerc why`), at most `limit`, shortest
    /// first, and how many there are in all. A lattice of libraries has exponentially many chains:
    /// they are searched best first (length so far plus the distance to the nearest root), so
    /// the work grows with what is shown, not with what exists.
    pub fn chains(&self, node: NodeIndex, limit: usize) -> Chains {
        let depth = self.depths();
        let mut shown = Vec::new();
        let mut heap = BinaryHeap::from([Reverse((depth[node.index()], vec![node]))]);
        let mut work = 0;
        while let Some(Reverse((_, path))) = heap.pop() {
            work += 1;
            if shown.len() == limit || work > MAX_CHAIN_WORK {
                break;
            }
            let head = *path.last().expect("paths are never empty");
            if self.roots.contains(&head) {
                shown.push(path.iter().rev().copied().collect());
            }
            for parent in self.parents(head).filter(|p| !path.contains(p)) {
                let mut next = path.clone();
                next.push(parent);
                heap.push(Reverse((
                    depth[parent.index()].saturating_add(next.len() - 1),
                    next,
                )));
            }
        }
        shown.sort_by(|a: &Vec<NodeIndex>, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        let stopped = shown.len() == limit || work > MAX_CHAIN_WORK;
        let total = match self.count_chains(node) {
            Some(n) => Some(n),
            None if stopped => None,
            None => Some(shown.len() as u128),
        };
        Chains { shown, total }
    }

    /// Distinct nodes that need `node`, sorted.
    fn parents(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> {
        let mut parents: Vec<NodeIndex> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .map(|e| e.source())
            .collect();
        parents.sort();
        parents.dedup();
        parents.into_iter()
    }

    /// For each node, the fewest edges from a root down to it (breadth first from every root).
    fn depths(&self) -> Vec<usize> {
        let mut depth = vec![usize::MAX; self.graph.node_count()];
        let mut queue: VecDeque<NodeIndex> = self.roots.iter().copied().collect();
        for r in &self.roots {
            depth[r.index()] = 0;
        }
        while let Some(n) = queue.pop_front() {
            for child in self.graph.neighbors(n) {
                if depth[child.index()] == usize::MAX {
                    depth[child.index()] = depth[n.index()] + 1;
                    queue.push_back(child);
                }
            }
        }
        depth
    }

    /// How many chains lead from a root to `node` (saturating), counted once per node; `None` when
    /// the graph has a cycle, where only the search could count them.
    fn count_chains(&self, node: NodeIndex) -> Option<u128> {
        let order = petgraph::algo::toposort(&self.graph, None).ok()?;
        let mut count = vec![0u128; self.graph.node_count()];
        for n in order {
            let own = u128::from(self.roots.contains(&n));
            let from_parents = self
                .parents(n)
                .fold(0u128, |sum, p| sum.saturating_add(count[p.index()]));
            count[n.index()] = own.saturating_add(from_parents);
            if n == node {
                break;
            }
        }
        Some(count[node.index()])
    }

    /// Excluded nodes that a shipped object needs: (the excluded node, its name, the first shipped
    /// object that needs it), in discovery order.
    pub fn excluded_needs(&self) -> Vec<(NodeIndex, &str, &str)> {
        let mut out = Vec::new();
        for (idx, node) in self.nodes() {
            if node.status != Status::Excluded {
                continue;
            }
            let needer = self
                .parents(idx)
                .find(|&p| self.graph[p].status == Status::Shipped);
            if let Some(p) = needer {
                out.push((idx, node.name.as_str(), self.graph[p].name.as_str()));
            }
        }
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
