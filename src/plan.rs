//! The plan: what goes into one layer zip, derived from the resolved graph and `file` requests.
//!
//! Invariant: no I/O. Every entry name is a plain relative path inside the layer, and no two entries
//! claim the same path with different contents.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::resolve::{ExtraFile, LayerGraph, Status};
use crate::rootfs::RootPath;
use crate::spec::LayerSpec;

/// What goes into one layer zip, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    pub entries: Vec<PlanEntry>,
    pub unzipped_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    /// Path inside the layer (inside /opt), `/`-separated.
    pub path: String,
    pub content: Content,
    /// The spec node that put it there.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A regular file copied from the rootfs with a normalised mode (0755 or 0644).
    File {
        source: RootPath,
        size: u64,
        mode: u32,
    },
    /// A symlink entry pointing at `target` (relative, in the same folder).
    Symlink { target: String },
}

impl LayerPlan {
    /// The entry stored at `path`.
    pub fn entry(&self, path: &str) -> Option<&PlanEntry> {
        self.entries.iter().find(|e| e.path == path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.path.as_str())
    }
}

/// Everything planning reads.
pub struct PlanInputs<'a> {
    pub layer: &'a LayerSpec,
    pub graph: &'a LayerGraph,
    pub files: &'a [ExtraFile],
}

/// The layer's entries: each shipped node under its soname in `dir`, a symlink for every other name
/// it was asked for by, then the `file` requests. Collisions are diagnostics.
pub fn plan_layer(inputs: &PlanInputs<'_>) -> (LayerPlan, Vec<Diagnostic>) {
    let dir = &inputs.layer.dir.value;
    let mut planner = Planner::default();
    for (_, node) in inputs.graph.nodes() {
        if node.status != Status::Shipped {
            continue;
        }
        let Some(found) = &node.found else { continue };
        let file = Content::File {
            source: found.real.clone(),
            size: found.size,
            mode: 0o755,
        };
        planner.add(format!("{dir}/{}", node.name), file, node.root_span);
        for alias in &node.aliases {
            let link = Content::Symlink {
                target: node.name.clone(),
            };
            planner.add(format!("{dir}/{alias}"), link, node.root_span);
        }
    }
    for file in inputs.files {
        let mode = if file.executable { 0o755 } else { 0o644 };
        let content = Content::File {
            source: file.source.clone(),
            size: file.size,
            mode,
        };
        planner.add(file.to.clone(), content, file.span);
    }
    planner.finish()
}

#[derive(Default)]
struct Planner {
    entries: BTreeMap<String, (Content, Span)>,
    diags: Vec<Diagnostic>,
}

impl Planner {
    fn add(&mut self, path: String, content: Content, span: Span) {
        if let Some((existing, first)) = self.entries.get(&path) {
            if *existing != content {
                let first = *first;
                self.diags.push(
                    Diagnostic::error(
                        Code::SpecDuplicate,
                        format!("two different files would be stored at {path}"),
                    )
                    .at(span)
                    .label("collides")
                    .help("change the `to=` of one of them")
                    .related(first, "the other one"),
                );
            }
            return;
        }
        self.entries.insert(path, (content, span));
    }

    fn finish(self) -> (LayerPlan, Vec<Diagnostic>) {
        let unzipped_size = self
            .entries
            .values()
            .map(|(c, _)| match c {
                Content::File { size, .. } => *size,
                Content::Symlink { target } => target.len() as u64,
            })
            .sum();
        let entries = self
            .entries
            .into_iter()
            .map(|(path, (content, span))| PlanEntry {
                path,
                content,
                span,
            })
            .collect();
        let plan = LayerPlan {
            entries,
            unzipped_size,
        };
        (plan, self.diags)
    }
}
