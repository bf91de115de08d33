//! The plan: what goes into one layer zip, derived from the resolved graph and `file` requests.
//!
//! Invariant: no I/O. Every entry name is a [`LayerPath`] (a plain relative path inside the layer),
//! every symlink target one file name in the same folder; no two entries claim the same path with
//! different contents, and no file stands where another entry needs a folder.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::layer_path::LayerPath;
use crate::resolve::{ExtraFile, LayerGraph, Status, bad_name};
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
    pub path: LayerPath,
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
    /// A symlink entry pointing at `target`, one file name in the same folder.
    Symlink { target: LayerPath },
}

impl LayerPlan {
    /// The entry stored at `path` (entries are sorted by path).
    pub fn entry(&self, path: &str) -> Option<&PlanEntry> {
        let at = self
            .entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()?;
        self.entries.get(at)
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
    for (idx, node) in inputs.graph.nodes() {
        // A node a `file` request places is stored by that request, below.
        if node.status == Status::Shipped && node.placed.is_none() {
            planner.node(inputs.graph, idx, dir);
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
    entries: BTreeMap<LayerPath, (Content, Span)>,
    diags: Vec<Diagnostic>,
}

impl Planner {
    /// A shipped node: the file under its soname in `dir`, a symlink for every other name. Names
    /// come from the rootfs (DT_SONAME, DT_NEEDED) or the spec: each must be one file name.
    fn node(&mut self, graph: &LayerGraph, idx: NodeIndex, dir: &LayerPath) {
        let node = &graph.graph[idx];
        let Some(found) = &node.found else { return };
        let mut refuse = |name: &str, why| {
            let diag = bad_name(&found.real, name, &why, node.root_span);
            self.diags.push(graph.with_chain(diag, idx));
        };
        let (path, target) = match (dir.join(&node.name), LayerPath::name(&node.name)) {
            (Ok(path), Ok(target)) => (path, target),
            (Err(why), _) | (_, Err(why)) => return refuse(&node.name, why),
        };
        let mut links = Vec::new();
        for alias in &node.aliases {
            match dir.join(alias) {
                Ok(link) => links.push(link),
                Err(why) => refuse(alias, why),
            }
        }
        let file = Content::File {
            source: found.real.clone(),
            size: found.size,
            mode: 0o755,
        };
        self.add(path, file, node.root_span);
        for link in links {
            let content = Content::Symlink {
                target: target.clone(),
            };
            self.add(link, content, node.root_span);
        }
    }

    fn add(&mut self, path: LayerPath, content: Content, span: Span) {
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

    /// A file entry where another entry needs a folder (`lib` beside `lib/libz.so.1`): no zip
    /// tool could extract both. Each such file is reported once, naming an entry below it. Each
    /// folder of each entry is looked up in the sorted entries: n·depth·log n, not n².
    fn file_folder_conflicts(&mut self) {
        for (path, (_, span)) in &self.entries {
            for folder in path.ancestors() {
                let Some((file, (_, file_span))) = self.entries.get_key_value(folder) else {
                    continue;
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::SpecPathConflict,
                        format!("{file} would be a file and also the folder holding {path}"),
                    )
                    .at(*span)
                    .label(format!("needs the folder {file}"))
                    .help("change the `to=` or `dir` of one of them so no file stands where a folder must be")
                    .related(*file_span, format!("{file} is a file here")),
                );
                break;
            }
        }
    }

    fn finish(mut self) -> (LayerPlan, Vec<Diagnostic>) {
        self.file_folder_conflicts();
        let unzipped_size = self
            .entries
            .values()
            .map(|(c, _)| match c {
                Content::File { size, .. } => *size,
                Content::Symlink { target } => target.as_str().len() as u64,
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

/// One layer resolved and planned, with the rootfs it was resolved in.
pub struct LayerAnalysis {
    pub graph: LayerGraph,
    pub plan: LayerPlan,
    pub rootfs: crate::resolve::OpenRootfs,
}

impl LayerAnalysis {
    /// The layer's name, as the spec gives it.
    pub fn name(&self) -> &str {
        &self.graph.layer
    }
}
