//! Resolution: requested libraries and their DT_NEEDED closure → a petgraph dependency graph.
//!
//! Invariant: the graph follows the loader's search order inside the rootfs; a node the runtime
//! provides, glibc's own objects, excluded and missing nodes are leaves (never expanded); every node
//! can be traced back to the spec span of a root that pulled it in.

mod files;
pub mod search;

pub use files::{ExtraFile, resolve_files};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::arch::Architecture;
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::elf::{ElfError, ElfInfo};
use crate::rootfs::{self, Kind, RootFs, RootPath, RootfsError};
use crate::runtime::Provision;
use crate::spec::LayerSpec;
use search::{Found, Lookup, SkipReason, SystemPaths};

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

    /// Names from a root down to `node` along first-discovery parents.
    pub fn chain(&self, node: NodeIndex) -> Vec<&str> {
        chain(&self.graph, node)
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

    pub fn chain_text(&self, node: NodeIndex) -> String {
        self.chain(node).join(" → ")
    }
}

/// Parsed ELF objects of one rootfs, by real path: each file is read and parsed once per session.
#[derive(Default)]
pub struct ElfCache {
    map: Mutex<HashMap<RootPath, Result<Arc<ElfInfo>, ElfError>>>,
}

impl ElfCache {
    pub fn get(&self, fs: &dyn RootFs, path: &RootPath) -> Result<Arc<ElfInfo>, LoadError> {
        if let Some(hit) = self.map.lock().expect("cache lock").get(path) {
            return hit.clone().map_err(LoadError::Elf);
        }
        let bytes = fs.map(path).map_err(|e| LoadError::Io(e.to_string()))?;
        let parsed = ElfInfo::parse_file(path.file_name(), &bytes).map(Arc::new);
        self.map
            .lock()
            .expect("cache lock")
            .insert(path.clone(), parsed.clone());
        parsed.map_err(LoadError::Elf)
    }
}

#[derive(Debug, Clone)]
pub enum LoadError {
    Io(String),
    Elf(ElfError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "cannot be read ({e})"),
            LoadError::Elf(e) => write!(f, "{e}"),
        }
    }
}

/// Everything resolution reads: the layer's spec, what the runtime offers, and the rootfs.
pub struct LayerInputs<'a> {
    pub layer: &'a LayerSpec,
    pub provision: &'a Provision<'a>,
    pub fs: &'a dyn RootFs,
    pub elf_cache: &'a ElfCache,
}

pub fn resolve_layer(inputs: &LayerInputs<'_>) -> (LayerGraph, Vec<Diagnostic>) {
    let mut r = Resolver {
        inputs,
        arch: inputs.layer.architecture.value,
        system: SystemPaths::read(inputs.fs, inputs.layer.architecture.value),
        graph: DiGraph::new(),
        by_name: HashMap::new(),
        diags: Vec::new(),
        overrides: inputs
            .layer
            .libraries
            .iter()
            .filter(|l| l.override_runtime)
            .map(|l| basename(&l.name.value).to_string())
            .collect(),
        excludes: inputs
            .layer
            .excludes
            .iter()
            .map(|e| e.value.clone())
            .collect(),
        roots: Vec::new(),
    };
    r.add_roots();
    r.expand();
    let graph = LayerGraph {
        layer: inputs.layer.name.value.clone(),
        arch: r.arch,
        graph: r.graph,
        roots: r.roots,
    };
    (graph, r.diags)
}

fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

struct Resolver<'a, 'b> {
    inputs: &'b LayerInputs<'a>,
    arch: Architecture,
    system: SystemPaths,
    graph: DiGraph<Node, ()>,
    by_name: HashMap<String, NodeIndex>,
    diags: Vec<Diagnostic>,
    overrides: BTreeSet<String>,
    excludes: BTreeSet<String>,
    roots: Vec<NodeIndex>,
}

impl Resolver<'_, '_> {
    fn load(&self, path: &RootPath) -> Result<Arc<ElfInfo>, LoadError> {
        self.inputs.elf_cache.get(self.inputs.fs, path)
    }

    fn lookup(&self, dirs: &[RootPath], name: &str) -> Lookup {
        let load = |p: &RootPath| self.load(p);
        search::find_in(
            self.inputs.fs,
            dirs.iter().chain(self.system.all()),
            name,
            self.arch,
            &load,
        )
    }

    /// Is `name` the runtime's to provide (and not overridden by the spec)?
    fn runtime_has(&self, name: &str) -> bool {
        self.inputs.provision.is_glibc(name)
            || (self.inputs.provision.has(name) && !self.overrides.contains(name))
    }

    fn add_node(
        &mut self,
        name: &str,
        status: Status,
        found: Option<Found>,
        parent: Option<NodeIndex>,
        root_span: Span,
    ) -> NodeIndex {
        let idx = self.graph.add_node(Node {
            name: name.to_string(),
            status,
            found,
            aliases: BTreeSet::new(),
            parent,
            root_span,
        });
        self.by_name.insert(name.to_string(), idx);
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
        let layer = self.inputs.layer;
        for request in &layer.libraries {
            let name = request.name.value.as_str();
            let span = request.name.span;
            let base = basename(name);
            if self.inputs.provision.is_glibc(base) {
                self.diags.push(glibc_request(base, span));
                continue;
            }
            if self.by_name.contains_key(base) {
                continue;
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
                let status = if self.runtime_has(base) {
                    Status::Provided
                } else {
                    Status::Missing
                };
                let idx = self.add_node(base, status, None, None, span);
                self.roots.push(idx);
                continue;
            };
            let soname = found
                .elf
                .soname
                .clone()
                .unwrap_or_else(|| found.path.file_name().to_string());
            if self.inputs.provision.is_glibc(&soname) {
                self.diags.push(glibc_request(&soname, span));
                continue;
            }
            let idx = match self.by_name.get(&soname) {
                Some(&idx) => idx,
                None => {
                    // `override=#true` on the request covers the soname it resolves to.
                    let provided = !request.override_runtime
                        && (self.inputs.provision.has(&soname) || self.inputs.provision.has(base));
                    let status = if provided {
                        self.diags.push(self.provided_warning(&soname, span));
                        Status::Provided
                    } else if self.excludes.contains(&soname) || self.excludes.contains(base) {
                        Status::Excluded
                    } else {
                        Status::Shipped
                    };
                    self.add_node(&soname, status, Some(found), None, span)
                }
            };
            self.alias(idx, base);
            if !self.roots.contains(&idx) {
                self.roots.push(idx);
            }
        }
    }

    /// A `library` given as an absolute path inside the rootfs.
    fn find_path(&mut self, name: &str, span: Span) -> Option<Found> {
        let path = RootPath::new(name);
        let resolved = match rootfs::resolve(self.inputs.fs, &path) {
            Ok(r) => r,
            Err(e) => {
                self.diags.push(rootfs_error(&e, span));
                return None;
            }
        };
        self.escape_warnings(&resolved.escapes, span);
        if resolved.meta.kind != Kind::File {
            self.diags.push(
                Diagnostic::error(Code::ResolveNotElf, format!("{name} is not a file"))
                    .at(span)
                    .label("not a shared object")
                    .help("name a shared object; use `file` for folders"),
            );
            return None;
        }
        match self.inputs.elf_cache.get(self.inputs.fs, &resolved.path) {
            Ok(elf) => Some(Found {
                path,
                real: resolved.path,
                size: resolved.meta.len,
                mode: resolved.meta.mode,
                elf,
            }),
            Err(e) => {
                self.diags.push(load_error(name, &resolved.path, &e, span));
                None
            }
        }
    }

    fn escape_warnings(&mut self, escapes: &[rootfs::Escape], span: Span) {
        for e in escapes {
            self.diags.push(
                Diagnostic::warning(
                    Code::RootfsSymlinkEscape,
                    format!("symlink {} → {} points above the rootfs", e.link, e.target),
                )
                .at(span)
                .label("resolved through it")
                .help("it was resolved inside the rootfs (`..` stops at its root), as in a chroot"),
            );
        }
    }

    fn provided_warning(&self, soname: &str, span: Span) -> Diagnostic {
        let p = self.inputs.provision;
        let rt = p.runtimes.first().map_or("the runtime", |r| r.id.as_str());
        let place = match p.own_copies(soname).first() {
            Some((_, own)) => format!("{}/{soname}", own.folder),
            None => p.os.name.clone(),
        };
        Diagnostic::warning(
            Code::ResolveProvided,
            format!("{soname} is provided by {rt} ({place}); it is not shipped"),
        )
        .at(span)
        .label("already in the runtime")
        .help("add `override=#true` to ship this copy and shadow the runtime's")
    }

    fn root_not_found(
        &mut self,
        request: &crate::spec::LibraryRequest,
        skipped: &[search::Skipped],
    ) {
        let name = request.name.value.as_str();
        let span = request.name.span;
        for s in skipped {
            if let SkipReason::Unloadable(e) = &s.reason {
                self.diags
                    .push(load_error(s.path.as_str(), &s.path, e, span));
                return;
            }
        }
        if let Some((wrong, target)) = skipped.iter().find_map(|s| match &s.reason {
            SkipReason::WrongTarget(t) => Some((s, t)),
            SkipReason::Unloadable(_) => None,
        }) {
            self.diags.push(
                Diagnostic::error(
                    Code::AbiArchitecture,
                    format!(
                        "{name} in the rootfs is {target} but the layer is {}",
                        self.arch
                    ),
                )
                .at(span)
                .label(format!("found {} for another architecture", wrong.path))
                .help(format!(
                    "use a rootfs built for {}, or set `architecture` to match",
                    self.arch
                )),
            );
            return;
        }
        if self.runtime_has(name) {
            // The runtime has it and the rootfs does not: nothing to ship, nothing missing.
            self.diags.push(self.provided_warning(name, span));
            return;
        }
        let mut help = self
            .close_names(name)
            .map(|c| format!("did you mean `{c}`? It is in the rootfs"))
            .unwrap_or_else(|| format!("searched {}", self.searched_dirs()));
        if let Some(s) = skipped.first() {
            help = format!("{help}; {} was passed over: {}", s.path, s.reason);
        }
        let diag = if request.optional {
            Diagnostic::warning(
                Code::ResolveOptionalMissing,
                format!("optional library {name} is not in the rootfs; it is left out"),
            )
        } else {
            Diagnostic::error(
                Code::ResolveNotFound,
                format!("{name} is not in the rootfs `{}`", self.rootfs_name()),
            )
        };
        self.diags.push(diag.at(span).label("not found").help(help));
    }

    /// The rootfs as the spec writes it (stable in messages, unlike the host path).
    fn rootfs_name(&self) -> &str {
        self.inputs
            .layer
            .rootfs
            .as_ref()
            .map_or("/", |r| r.value.as_str())
    }

    fn searched_dirs(&self) -> String {
        let dirs: Vec<&str> = self.system.all().map(RootPath::as_str).collect();
        dirs.join(", ")
    }

    /// A file in the search folders whose name is close to `name`: another version of the same
    /// library first, then a library whose name (without `lib` and `.so…`) is a near spelling.
    fn close_names(&self, name: &str) -> Option<String> {
        let mut names = BTreeSet::new();
        for dir in self.system.all() {
            if let Ok(r) = rootfs::resolve(self.inputs.fs, dir)
                && let Ok(list) = self.inputs.fs.read_dir(&r.path)
            {
                names.extend(list.into_iter().filter(|n| n.contains(".so") && n != name));
            }
        }
        let stem = library_stem(name);
        names
            .iter()
            .find(|n| library_stem(n) == stem)
            .or_else(|| {
                names
                    .iter()
                    .map(|n| {
                        (
                            strsim::normalized_damerau_levenshtein(stem, library_stem(n)),
                            n,
                        )
                    })
                    .filter(|(score, _)| *score >= 0.7)
                    .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
                    .map(|(_, n)| n)
            })
            .cloned()
    }

    /// Breadth-first over shipped nodes, adding each DT_NEEDED entry.
    fn expand(&mut self) {
        let mut queue: VecDeque<NodeIndex> = self
            .roots
            .iter()
            .copied()
            .filter(|&i| self.graph[i].status == Status::Shipped)
            .collect();
        let mut expanded = BTreeSet::new();
        while let Some(idx) = queue.pop_front() {
            if !expanded.insert(idx) {
                continue;
            }
            let Some(found) = self.graph[idx].found.clone() else {
                continue;
            };
            let rpath_dirs = self.rpath_dirs(idx);
            for needed in &found.elf.needed {
                let child = self.needed(idx, needed, &rpath_dirs);
                if !self.graph.contains_edge(idx, child) {
                    self.graph.add_edge(idx, child, ());
                }
                if self.graph[child].status == Status::Shipped && !expanded.contains(&child) {
                    queue.push_back(child);
                }
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
        if found.elf.runpath.is_empty() {
            let mut cur = Some(idx);
            while let Some(i) = cur {
                if let Some(f) = &self.graph[i].found
                    && f.elf.runpath.is_empty()
                {
                    let origin = f.path.parent();
                    dirs.extend(
                        f.elf
                            .rpath
                            .iter()
                            .filter_map(|e| search::expand(e, &origin, self.arch)),
                    );
                }
                cur = self.graph[i].parent;
            }
        }
        let origin = found.path.parent();
        dirs.extend(
            found
                .elf
                .runpath
                .iter()
                .filter_map(|e| search::expand(e, &origin, self.arch)),
        );
        dirs
    }

    fn needed(&mut self, parent: NodeIndex, needed: &str, rpath_dirs: &[RootPath]) -> NodeIndex {
        if let Some(&idx) = self.by_name.get(needed) {
            return idx;
        }
        let root_span = self.graph[parent].root_span;
        let lookup = if needed.contains('/') {
            // A DT_NEEDED with a slash is a path, used as is.
            let path = RootPath::new(needed);
            let load = |p: &RootPath| self.load(p);
            search::find_in(
                self.inputs.fs,
                [&path.parent()],
                path.file_name(),
                self.arch,
                &load,
            )
        } else {
            self.lookup(rpath_dirs, needed)
        };
        if self.runtime_has(needed) {
            let found = match lookup {
                Lookup::Found(f) => Some(f),
                Lookup::NotFound { .. } => None,
            };
            return self.add_node(needed, Status::Provided, found, Some(parent), root_span);
        }
        if self.excludes.contains(needed) {
            let found = match lookup {
                Lookup::Found(f) => Some(f),
                Lookup::NotFound { .. } => None,
            };
            return self.add_node(needed, Status::Excluded, found, Some(parent), root_span);
        }
        match lookup {
            Lookup::Found(found) => {
                let soname = found
                    .elf
                    .soname
                    .clone()
                    .unwrap_or_else(|| basename(needed).to_string());
                if let Some(&idx) = self.by_name.get(&soname) {
                    self.alias(idx, needed);
                    return idx;
                }
                let status = if self.runtime_has(&soname) {
                    Status::Provided
                } else if self.excludes.contains(&soname) {
                    Status::Excluded
                } else {
                    Status::Shipped
                };
                let idx = self.add_node(&soname, status, Some(found), Some(parent), root_span);
                self.alias(idx, needed);
                idx
            }
            Lookup::NotFound { skipped } => {
                let idx = self.add_node(needed, Status::Missing, None, Some(parent), root_span);
                if let Some((path, e)) = skipped.iter().find_map(|s| match &s.reason {
                    SkipReason::Unloadable(e @ LoadError::Io(_)) => Some((&s.path, e)),
                    _ => None,
                }) {
                    self.diags
                        .push(load_error(path.as_str(), path, e, root_span));
                    return idx;
                }
                let chain = chain(&self.graph, idx).join(" → ");
                let mut diag = Diagnostic::error(
                    Code::ResolveNeededNotFound,
                    format!("{needed} is needed but not in the rootfs: {chain} (not found)"),
                )
                .at(root_span)
                .label(format!("pulls in {needed}"));
                diag = match skipped.first() {
                    Some(s) => diag.help(format!("{} was passed over: {}", s.path, s.reason)),
                    None => diag.help(format!(
                        "install the package that provides {needed} in the rootfs, or `exclude \"{needed}\"` if the function never loads it"
                    )),
                };
                self.diags.push(diag);
                idx
            }
        }
    }
}

/// Names from a root down to `node` along first-discovery parents.
fn chain(graph: &DiGraph<Node, ()>, node: NodeIndex) -> Vec<&str> {
    let mut names = vec![graph[node].name.as_str()];
    let mut cur = node;
    while let Some(p) = graph[cur].parent {
        names.push(&graph[p].name);
        cur = p;
    }
    names.reverse();
    names
}

/// `libgdiplus.so.0.0.0` → `gdiplus`: the part of a library file name that says which library it is.
fn library_stem(name: &str) -> &str {
    let name = name.strip_prefix("lib").unwrap_or(name);
    name.split(".so").next().unwrap_or(name)
}

fn glibc_request(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ResolveGlibc,
        format!("{name} is part of glibc and is never shipped in a layer"),
    )
    .at(span)
    .label("glibc object")
    .help("every Lambda runtime has its own glibc; a second copy would break the process. Remove this line")
}

pub fn rootfs_error(e: &RootfsError, span: Span) -> Diagnostic {
    match e {
        RootfsError::NotFound(p) => {
            Diagnostic::error(Code::ResolveNotFound, format!("{p} is not in the rootfs"))
                .at(span)
                .label("not found")
                .help("paths are read inside the rootfs, as if it were `/`")
        }
        RootfsError::Loop(p) => Diagnostic::error(
            Code::RootfsSymlinkLoop,
            format!("symlink loop while resolving {p}"),
        )
        .at(span)
        .label("loops")
        .help("fix the symlinks in the rootfs"),
        RootfsError::Io(p, err) => Diagnostic::error(
            Code::RootfsIo,
            format!("cannot read {p} in the rootfs: {err}"),
        )
        .at(span)
        .label("unreadable")
        .help("check the permissions of the rootfs"),
    }
}

fn load_error(name: &str, real: &RootPath, e: &LoadError, span: Span) -> Diagnostic {
    let shown = if name == real.as_str() {
        name.to_string()
    } else {
        format!("{name} ({real})")
    };
    match e {
        LoadError::Io(err) => Diagnostic::error(Code::RootfsIo, format!("cannot read {shown}: {err}"))
            .at(span)
            .label("unreadable")
            .help("check the permissions of the rootfs"),
        LoadError::Elf(ElfError::LinkerScript) => Diagnostic::error(
            Code::ResolveLinkerScript,
            format!("{shown} is a linker script, not a shared object"),
        )
        .at(span)
        .label("linker script")
        .help("the loader never reads it: name the real library's soname (e.g. `libc.so.6`, not `libc.so`)"),
        LoadError::Elf(ElfError::Malformed(why)) => Diagnostic::error(
            Code::ResolveMalformedElf,
            format!("{shown} is a malformed ELF file: {why}"),
        )
        .at(span)
        .label("malformed ELF")
        .help("the file may be truncated or corrupt; copy it again from its package"),
        LoadError::Elf(other) => Diagnostic::error(Code::ResolveNotElf, format!("{shown} is not a shared object: {other}"))
            .at(span)
            .label("not ELF")
            .help("`library` names shared objects; use `file` for other files"),
    }
}
