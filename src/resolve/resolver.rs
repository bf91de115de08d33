//! The resolver: the spec's `library` requests, then every DT_NEEDED entry, looked up in the loader's
//! order; each node's status decided by one classifier ([`Policy::status`]).

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};

use super::ahead::{Ahead, Lookups};
use super::cache::{ElfCache, LoadError};
use super::graph::{LayerGraph, Node, Status, chain_nodes};
use super::index::LibraryIndex;
use super::search::{self, Found, Lookup, SystemPaths};
use crate::arch::Architecture;
use crate::diagnostic::{Diagnostic, Span};
use crate::elf::ElfInfo;
use crate::rootfs::{self, Kind, RootFs, RootPath};
use crate::spec::{LayerSpec, LibraryRequest, Target};

/// Everything resolution reads: the layer's spec and target (what its runtimes provide) and the
/// rootfs.
pub struct ResolveInputs<'a> {
    pub layer: &'a LayerSpec,
    pub target: &'a Target,
    pub fs: &'a dyn RootFs,
    pub elf_cache: &'a ElfCache,
    pub system: &'a SystemPaths,
    /// The library names of `system`'s folders, asked for only when a library is missing.
    pub library_index: &'a dyn Fn() -> Arc<LibraryIndex>,
    /// The files of the `file` requests: the ELF objects among them are roots too.
    pub files: &'a [super::ExtraFile],
}

pub fn resolve_layer(inputs: &ResolveInputs<'_>) -> (LayerGraph, Vec<Diagnostic>) {
    let layer = inputs.layer;
    let mut r = Resolver {
        inputs,
        arch: inputs.target.arch,
        policy: Policy {
            target: inputs.target,
            overrides: layer
                .libraries
                .iter()
                .filter(|l| l.override_runtime)
                .map(|l| basename(&l.name.value).to_string())
                .collect(),
            excludes: layer.excludes.iter().map(|e| e.value.clone()).collect(),
        },
        graph: DiGraph::new(),
        by_name: HashMap::new(),
        diags: Vec::new(),
        roots: Vec::new(),
        index: OnceCell::new(),
    };
    r.add_roots();
    r.add_file_roots();
    r.expand();
    let graph = LayerGraph {
        layer: layer.name.value.clone(),
        arch: r.arch,
        graph: r.graph,
        roots: r.roots,
    };
    (graph, r.diags)
}

pub(super) fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// What the runtime and the spec say about a name, whatever the rootfs holds.
pub(super) struct Policy<'a> {
    target: &'a Target,
    /// Requested names with `override=#true`.
    overrides: BTreeSet<String>,
    excludes: BTreeSet<String>,
}

impl Policy<'_> {
    /// The one rule for a node's status. An object known by `names` (the name it was asked for by,
    /// its soname) is provided when glibc or the runtime has it under any of them (unless the
    /// request or an `override=#true` request of that name overrides the runtime), excluded when
    /// the spec excludes any of them, and otherwise shipped when the rootfs has it, missing if not.
    pub(super) fn status(&self, names: &[&str], overridden: bool, found: bool) -> Status {
        if names.iter().any(|n| self.runtime_has(n, overridden)) {
            Status::Provided
        } else if names.iter().any(|n| self.excludes.contains(*n)) {
            Status::Excluded
        } else if found {
            Status::Shipped
        } else {
            Status::Missing
        }
    }

    /// Is `name` the runtime's to provide (and not overridden)?
    pub(super) fn runtime_has(&self, name: &str, overridden: bool) -> bool {
        self.is_glibc(name)
            || (self.target.has(name) && !overridden && !self.overrides.contains(name))
    }

    /// One of glibc's own objects the base has: never shipped, whatever the spec says.
    pub(super) fn is_glibc(&self, name: &str) -> bool {
        self.target.is_glibc(name)
    }
}

pub(super) struct Resolver<'a, 'b> {
    pub(super) inputs: &'b ResolveInputs<'a>,
    pub(super) arch: Architecture,
    pub(super) policy: Policy<'b>,
    graph: DiGraph<Node, ()>,
    pub(super) by_name: HashMap<String, NodeIndex>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) roots: Vec<NodeIndex>,
    index: OnceCell<Arc<LibraryIndex>>,
}

impl Resolver<'_, '_> {
    /// A library in the search folders whose name is close to `name` ("did you mean").
    pub(super) fn close_name(&self, name: &str) -> Option<String> {
        self.listed()
            .close_name(self.inputs.fs, name)
            .map(str::to_string)
    }

    pub(super) fn load(&self, path: &RootPath) -> Result<Arc<ElfInfo>, LoadError> {
        self.inputs.elf_cache.get(self.inputs.fs, path)
    }

    fn lookup(&self, dirs: &[RootPath], name: &str) -> Lookup {
        self.lookups().find(dirs, name)
    }

    /// What a lookup reads, apart from the graph.
    fn lookups(&self) -> Lookups<'_> {
        Lookups {
            fs: self.inputs.fs,
            elf_cache: self.inputs.elf_cache,
            system: self.inputs.system,
            listed: self.listed(),
            arch: self.arch,
        }
    }

    /// The names of the search folders, listed once.
    fn listed(&self) -> &LibraryIndex {
        self.index.get_or_init(|| (self.inputs.library_index)())
    }

    pub(super) fn add_node(&mut self, node: Node) -> NodeIndex {
        let name = node.name.clone();
        let idx = self.graph.add_node(node);
        self.by_name.insert(name, idx);
        idx
    }

    fn alias(&mut self, idx: NodeIndex, alias: &str) {
        self.by_name.insert(alias.to_string(), idx);
        // A DT_NEEDED path (`/usr/lib/x.so`) is loaded by that path, never from the layer's folder.
        if self.graph[idx].name != alias && !alias.contains('/') {
            self.graph[idx].aliases.insert(alias.to_string());
        }
    }

    fn add_roots(&mut self) {
        for request in &self.inputs.layer.libraries {
            self.add_root(request);
        }
    }

    fn add_root(&mut self, request: &LibraryRequest) {
        let name = request.name.value.as_str();
        let span = request.name.span;
        let base = basename(name);
        if self.policy.is_glibc(base) {
            self.diags
                .push(super::diagnostics::glibc_request(base, span));
            return;
        }
        if let Some(&idx) = self.by_name.get(base) {
            self.request_alias(idx, request);
            return;
        }
        let found = if name.starts_with('/') {
            self.find_path(name, span)
        } else {
            match self.lookup(&[], name) {
                Lookup::Found(f) => Some(f),
                Lookup::NotFound { skipped } => {
                    self.root_not_found(request, &skipped);
                    None
                }
            }
        };
        let Some(found) = found else {
            let status = self.policy.status(&[base], request.override_runtime, false);
            let idx = self.add_node(node(base, status, None, None, span));
            self.roots.push(idx);
            return;
        };
        let soname = found
            .elf
            .soname
            .clone()
            .unwrap_or_else(|| found.path.file_name().to_string());
        if self.policy.is_glibc(&soname) {
            self.diags
                .push(super::diagnostics::glibc_request(&soname, span));
            return;
        }
        let idx = match self.by_name.get(&soname) {
            Some(&idx) => idx,
            None => {
                // `override=#true` on the request covers the soname it resolves to.
                let status = self
                    .policy
                    .status(&[&soname, base], request.override_runtime, true);
                if status == Status::Provided {
                    self.diags.push(self.provided_warning(&soname, span));
                }
                self.add_node(node(&soname, status, Some(found), None, span))
            }
        };
        self.alias(idx, base);
        self.request_alias(idx, request);
        if !self.roots.contains(&idx) {
            self.roots.push(idx);
        }
    }

    /// A request's `alias=`: one more name of the node it resolved to.
    fn request_alias(&mut self, idx: NodeIndex, request: &LibraryRequest) {
        if let Some(alias) = &request.alias {
            self.alias(idx, &alias.value);
        }
    }

    /// A `library` given as an absolute path inside the rootfs.
    fn find_path(&mut self, name: &str, span: Span) -> Option<Found> {
        let path = RootPath::new(name);
        let resolved = match rootfs::resolve(self.inputs.fs, &path) {
            Ok(r) => r,
            Err(e) => {
                self.diags.push(super::diagnostics::rootfs_error(&e, span));
                return None;
            }
        };
        self.escape_warnings(&resolved.escapes, span);
        if resolved.meta.kind != Kind::File {
            self.diags.push(super::diagnostics::not_a_file(name, span));
            return None;
        }
        match self.load(&resolved.path) {
            Ok(elf) => Some(Found {
                path,
                real: resolved.path,
                size: resolved.meta.len,
                mode: resolved.meta.mode,
                elf,
            }),
            Err(e) => {
                self.diags.push(super::diagnostics::load_error(
                    name,
                    &resolved.path,
                    &e,
                    span,
                ));
                None
            }
        }
    }

    /// Breadth-first over shipped nodes, adding each DT_NEEDED entry. Each level's lookups are
    /// made first, on two cores ([`Lookups::ahead`]); the graph then grows one need at a time in
    /// the same order as without them, so it is the same graph.
    fn expand(&mut self) {
        let mut queue: VecDeque<NodeIndex> = self
            .roots
            .iter()
            .copied()
            .filter(|&i| self.graph[i].status == Status::Shipped)
            .collect();
        let mut expanded = BTreeSet::new();
        while !queue.is_empty() {
            let level: Vec<NodeIndex> = queue.drain(..).collect();
            let mut ahead = self.look_ahead(&level, &expanded);
            for idx in level {
                self.expand_node(idx, &mut expanded, &mut queue, &mut ahead);
            }
        }
    }

    /// The lookups a level's needs will make, made now.
    fn look_ahead(&self, level: &[NodeIndex], expanded: &BTreeSet<NodeIndex>) -> Ahead {
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        for &idx in level.iter().filter(|i| !expanded.contains(i)) {
            let Some(found) = &self.graph[idx].found else {
                continue;
            };
            let dirs = self.rpath_dirs(idx);
            for needed in found.elf.needed.iter().filter(|n| !n.contains('/')) {
                if !self.by_name.contains_key(needed) && seen.insert((dirs.clone(), needed)) {
                    wanted.push((dirs.clone(), needed.clone()));
                }
            }
        }
        self.lookups().ahead(wanted)
    }

    fn expand_node(
        &mut self,
        idx: NodeIndex,
        expanded: &mut BTreeSet<NodeIndex>,
        queue: &mut VecDeque<NodeIndex>,
        ahead: &mut Ahead,
    ) {
        if !expanded.insert(idx) {
            return;
        }
        let Some(found) = self.graph[idx].found.clone() else {
            return;
        };
        let rpath_dirs = self.rpath_dirs(idx);
        for needed in &found.elf.needed {
            let child = self.needed(idx, needed, &rpath_dirs, ahead);
            if !self.graph.contains_edge(idx, child) {
                self.graph.add_edge(idx, child, ());
            }
            if self.graph[child].status == Status::Shipped && !expanded.contains(&child) {
                queue.push_back(child);
            }
        }
    }

    /// DT_RPATH of the object and its loaders (only while the object has no DT_RUNPATH), then its
    /// own DT_RUNPATH: the folders searched before the system ones.
    fn rpath_dirs(&self, idx: NodeIndex) -> Vec<RootPath> {
        let mut dirs = Vec::new();
        let Some(found) = &self.graph[idx].found else {
            return dirs;
        };
        // Each folder once, in first-seen order: the loader would find nothing new in a repeat.
        let mut seen = HashSet::new();
        let expand = |f: &Found, entries: &[String]| -> Vec<RootPath> {
            let origin = f.path.parent();
            entries
                .iter()
                .filter_map(|e| search::expand(e, &origin, self.arch))
                .collect()
        };
        if found.elf.runpath.is_empty() {
            let mut cur = Some(idx);
            while let Some(i) = cur {
                if let Some(f) = &self.graph[i].found
                    && f.elf.runpath.is_empty()
                {
                    dirs.extend(
                        expand(f, &f.elf.rpath)
                            .into_iter()
                            .filter(|d| seen.insert(d.clone())),
                    );
                }
                cur = self.graph[i].parent;
            }
        }
        dirs.extend(
            expand(found, &found.elf.runpath)
                .into_iter()
                .filter(|d| seen.insert(d.clone())),
        );
        dirs
    }

    fn needed(
        &mut self,
        parent: NodeIndex,
        needed: &str,
        rpath_dirs: &[RootPath],
        ahead: &mut Ahead,
    ) -> NodeIndex {
        if let Some(&idx) = self.by_name.get(needed) {
            return idx;
        }
        let root_span = self.graph[parent].root_span;
        let lookup = if needed.contains('/') {
            // A DT_NEEDED with a slash is a path, used as is.
            let path = RootPath::new(needed);
            let load = |p: &RootPath| self.load(p);
            let dir = path.parent();
            let listed = Some(self.listed());
            search::find_in(
                self.inputs.fs,
                [&dir],
                path.file_name(),
                self.arch,
                listed,
                &load,
            )
        } else {
            match ahead.remove(&(rpath_dirs.to_vec(), needed.to_string())) {
                Some(lookup) => lookup,
                None => self.lookup(rpath_dirs, needed),
            }
        };
        let (found, skipped) = match lookup {
            Lookup::Found(f) => (Some(f), Vec::new()),
            Lookup::NotFound { skipped } => (None, skipped),
        };
        // Provided or excluded by the name it is needed by: a leaf under that name.
        let by_need = self.policy.status(&[needed], false, found.is_some());
        if matches!(by_need, Status::Provided | Status::Excluded) {
            return self.add_node(node(needed, by_need, found, Some(parent), root_span));
        }
        let Some(found) = found else {
            let idx = self.add_node(node(needed, Status::Missing, None, Some(parent), root_span));
            let diag = self.needed_not_found(idx, needed, &skipped, root_span);
            self.diags.push(diag);
            return idx;
        };
        let soname = found
            .elf
            .soname
            .clone()
            .unwrap_or_else(|| basename(needed).to_string());
        if let Some(&idx) = self.by_name.get(&soname) {
            self.alias(idx, needed);
            return idx;
        }
        let status = self.policy.status(&[&soname], false, true);
        let idx = self.add_node(node(&soname, status, Some(found), Some(parent), root_span));
        self.alias(idx, needed);
        idx
    }

    /// The chain of first-discovery parents from a root to `idx`, as names.
    pub(super) fn chain_text(&self, idx: NodeIndex) -> String {
        let names: Vec<&str> = chain_nodes(&self.graph, idx)
            .into_iter()
            .map(|i| self.graph[i].name.as_str())
            .collect();
        names.join(" → ")
    }

    pub(super) fn with_chain(&self, diag: Diagnostic, idx: NodeIndex) -> Diagnostic {
        super::graph::with_chain(&self.graph, &self.roots, diag, idx)
    }
}

pub(super) fn node(
    name: &str,
    status: Status,
    found: Option<Found>,
    parent: Option<NodeIndex>,
    root_span: Span,
) -> Node {
    Node {
        name: name.to_string(),
        status,
        found,
        aliases: BTreeSet::new(),
        parent,
        root_span,
        placed: None,
    }
}
