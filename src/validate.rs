//! Validation: pure checks over a resolved layer → the files to ship ([`LayerPlan`]) and diagnostics.
//!
//! Invariant: no I/O here. The same graph, spec, catalog and date give the same plan and findings.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::resolve::{ExtraFile, LayerGraph, Status};
use crate::rootfs::RootPath;
use crate::runtime::{Catalog, Date, OsBase, Runtime, Version, split_symbol_version};
use crate::spec::{LayerSpec, Spanned};

/// Lambda's limit on a function and all its layers, unzipped (the API's error text gives the bytes).
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// Largest zip the Lambda API takes directly; larger ones go through S3.
pub const MAX_DIRECT_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// What goes into one layer zip, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    pub name: String,
    pub entries: Vec<PlanEntry>,
    pub unzipped_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    /// Path inside the layer (inside /opt), `/`-separated.
    pub path: String,
    pub content: Content,
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

pub struct LayerCheck<'a> {
    pub layer: &'a LayerSpec,
    pub graph: &'a LayerGraph,
    pub files: &'a [ExtraFile],
    pub catalog: &'a Catalog,
    pub os: &'a OsBase,
    pub today: Date,
}

pub fn validate_layer(check: &LayerCheck<'_>) -> (LayerPlan, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    check_objects(check, &mut diags);
    check_lifecycle(check, &mut diags);
    let plan = plan(check, &mut diags);
    if plan.unzipped_size > MAX_UNZIPPED_BYTES {
        diags.push(
            Diagnostic::error(
                Code::LimitsUnzippedSize,
                format!(
                    "layer `{}` unzips to {} bytes; Lambda allows {MAX_UNZIPPED_BYTES} bytes for a function and all its layers",
                    check.layer.name.value, plan.unzipped_size
                ),
            )
            .at(check.layer.name.span)
            .label("too large")
            .help("exclude what the function never loads, or split the work across functions"),
        );
    }
    (plan, diags)
}

/// The runtime named first in the layer: messages speak of it.
fn first_runtime<'a>(check: &'a LayerCheck<'_>) -> Option<&'a Runtime> {
    check
        .layer
        .runtimes
        .first()
        .and_then(|r| check.catalog.runtime(&r.value))
}

fn check_objects(check: &LayerCheck<'_>, diags: &mut Vec<Diagnostic>) {
    let g = check.graph;
    let arch = check.layer.architecture.value;
    let runtime_label = first_runtime(check).map_or_else(
        || check.os.name.clone(),
        |rt| format!("{} ({})", rt.id, check.os.name),
    );
    for (idx, node) in g.nodes() {
        if node.status != Status::Shipped {
            continue;
        }
        let Some(found) = &node.found else { continue };
        let elf = &found.elf;
        let span = node.root_span;
        if !elf.matches(arch) {
            diags.push(
                Diagnostic::error(
                    Code::AbiArchitecture,
                    format!(
                        "{} is {} but the layer is for {arch}",
                        node.name,
                        elf.describe_target()
                    ),
                )
                .at(span)
                .label(format!("{} is {}", found.real, elf.describe_target()))
                .help(format!(
                    "take the {arch} build of this library, or set `architecture` to match"
                )),
            );
            continue;
        }
        // Highest needed version per (file, namespace) above the ceiling, one finding each.
        let mut over: BTreeMap<(String, String), (Version, String, Version)> = BTreeMap::new();
        for need in &elf.verneed {
            let target = g.find(&need.file).map(|i| &g.graph[i]);
            match target {
                Some(t) if t.status == Status::Shipped => {
                    let defined: BTreeSet<&str> = t
                        .found
                        .as_ref()
                        .map(|f| f.elf.verdef.iter().map(String::as_str).collect())
                        .unwrap_or_default();
                    for v in &need.versions {
                        if !defined.contains(v.as_str()) {
                            diags.push(
                                Diagnostic::error(
                                    Code::AbiMissingVersion,
                                    format!(
                                        "{} needs {v} from {}, but the shipped {} does not define it",
                                        node.name, need.file, t.name
                                    ),
                                )
                                .at(span)
                                .label(g.chain_text(idx))
                                .help(format!("ship a {} built from the same release as {}", t.name, node.name)),
                            );
                        }
                    }
                }
                Some(t) if matches!(t.status, Status::Excluded | Status::Missing) => {}
                _ => {
                    for v in &need.versions {
                        let Some((ns, version)) = split_symbol_version(v) else {
                            continue;
                        };
                        let Some(ceiling) = check.os.ceiling(arch, ns) else {
                            continue;
                        };
                        if &version > ceiling {
                            let key = (need.file.clone(), ns.to_string());
                            let higher = over.get(&key).is_none_or(|(seen, _, _)| version > *seen);
                            if higher {
                                over.insert(key, (version, v.clone(), ceiling.clone()));
                            }
                        }
                    }
                }
            }
        }
        for ((file, ns), (_, name, ceiling)) in over {
            diags.push(
                Diagnostic::error(
                    Code::AbiSymbolVersion,
                    format!(
                        "{} needs {name} from {file}; {runtime_label} provides up to {ns}_{ceiling}",
                        node.name
                    ),
                )
                .at(span)
                .label(g.chain_text(idx))
                .help(format!(
                    "take {} from a rootfs no newer than the runtime's OS ({}), or target a runtime with a newer OS base",
                    node.name, check.os.name
                )),
            );
        }
        check_rpath(check, idx, diags);
    }
}

/// DT_RPATH is searched before LD_LIBRARY_PATH: an absolute entry naming a runtime folder makes the
/// loader take the runtime's copy of a library this layer ships.
fn check_rpath(
    check: &LayerCheck<'_>,
    idx: petgraph::graph::NodeIndex,
    diags: &mut Vec<Diagnostic>,
) {
    let g = check.graph;
    let node = &g.graph[idx];
    let Some(found) = &node.found else { return };
    if !found.elf.runpath.is_empty() {
        return;
    }
    let runtime_dirs: BTreeSet<&str> = first_runtime(check)
        .map(|rt| rt.ld_library_path.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let system = ["/lib64", "/usr/lib64", "/lib", "/usr/lib"];
    let shadowing: Vec<&str> = found
        .elf
        .rpath
        .iter()
        .map(|d| d.trim_end_matches('/'))
        .filter(|d| d.starts_with('/') && !d.starts_with("/opt"))
        .filter(|d| system.contains(d) || runtime_dirs.contains(d))
        .collect();
    if shadowing.is_empty() {
        return;
    }
    let shipped_deps: Vec<&str> = g
        .graph
        .neighbors(idx)
        .filter(|&c| g.graph[c].status == Status::Shipped)
        .map(|c| g.graph[c].name.as_str())
        .collect();
    if shipped_deps.is_empty() {
        return;
    }
    diags.push(
        Diagnostic::warning(
            Code::AbiRpathShadow,
            format!(
                "{} has DT_RPATH {}, searched before LD_LIBRARY_PATH: the runtime's copies there win over the layer's {}",
                node.name,
                shadowing.join(":"),
                shipped_deps.join(", ")
            ),
        )
        .at(node.root_span)
        .label(g.chain_text(idx))
        .help("rebuild it with DT_RUNPATH (`-Wl,--enable-new-dtags`) or `$ORIGIN`, or make sure the runtime lacks those libraries"),
    );
}

fn check_lifecycle(check: &LayerCheck<'_>, diags: &mut Vec<Diagnostic>) {
    for id in &check.layer.runtimes {
        let Some(rt) = check.catalog.runtime(&id.value) else {
            continue;
        };
        if let Some(diag) = lifecycle_warning(rt, id, check.today) {
            diags.push(diag);
        }
    }
}

/// A warning (never an error: a build must not depend on the day it runs) once a runtime is past
/// any of its deprecation dates.
pub fn lifecycle_warning(rt: &Runtime, id: &Spanned<String>, today: Date) -> Option<Diagnostic> {
    let dates = [
        ("deprecated", rt.deprecated),
        ("function creation blocked", rt.block_create),
        ("function updates blocked", rt.block_update),
    ];
    if !dates.iter().any(|(_, d)| d.is_some_and(|d| d <= today)) {
        return None;
    }
    let listed: Vec<String> = dates
        .iter()
        .filter_map(|(what, d)| d.map(|d| format!("{what} {d}")))
        .collect();
    let help = match &rt.successor {
        Some(s) => format!("move to `{s}`; layerc checks the layer against its OS base"),
        None => "move to a supported runtime (`layerc runtimes` shows the dates)".to_string(),
    };
    Some(
        Diagnostic::warning(
            Code::LifecycleDeprecated,
            format!(
                "runtime {} is past its end of support: {}",
                rt.id,
                listed.join(", ")
            ),
        )
        .at(id.span)
        .label("deprecated runtime")
        .help(help),
    )
}

fn plan(check: &LayerCheck<'_>, diags: &mut Vec<Diagnostic>) -> LayerPlan {
    let dir = &check.layer.dir.value;
    let mut entries: BTreeMap<String, (Content, Span)> = BTreeMap::new();
    let mut add = |path: String, content: Content, span: Span, diags: &mut Vec<Diagnostic>| {
        if let Some((existing, _)) = entries.get(&path) {
            if *existing != content {
                diags.push(
                    Diagnostic::error(
                        Code::SpecDuplicate,
                        format!("two different files would be stored at {path}"),
                    )
                    .at(span)
                    .label("collides")
                    .help("change the `to=` of one of them"),
                );
            }
            return;
        }
        entries.insert(path, (content, span));
    };
    for (_, node) in check.graph.nodes() {
        if node.status != Status::Shipped {
            continue;
        }
        let Some(found) = &node.found else { continue };
        add(
            format!("{dir}/{}", node.name),
            Content::File {
                source: found.real.clone(),
                size: found.size,
                mode: 0o755,
            },
            node.root_span,
            diags,
        );
        readable(&found.real, found.mode, node.root_span, diags);
        for alias in &node.aliases {
            add(
                format!("{dir}/{alias}"),
                Content::Symlink {
                    target: node.name.clone(),
                },
                node.root_span,
                diags,
            );
        }
    }
    for file in check.files {
        let mode = if file.executable { 0o755 } else { 0o644 };
        readable(&file.source, file.mode, file.span, diags);
        add(
            file.to.clone(),
            Content::File {
                source: file.source.clone(),
                size: file.size,
                mode,
            },
            file.span,
            diags,
        );
    }
    let unzipped_size = entries
        .values()
        .map(|(c, _)| match c {
            Content::File { size, .. } => *size,
            Content::Symlink { target } => target.len() as u64,
        })
        .sum();
    LayerPlan {
        name: check.layer.name.value.clone(),
        entries: entries
            .into_iter()
            .map(|(path, (content, _))| PlanEntry { path, content })
            .collect(),
        unzipped_size,
    }
}

fn readable(path: &RootPath, mode: u32, span: Span, diags: &mut Vec<Diagnostic>) {
    if mode & 0o004 == 0 {
        diags.push(
            Diagnostic::warning(
                Code::LimitsNotWorldReadable,
                format!("{path} is not world-readable in the rootfs (mode {mode:04o})"),
            )
            .at(span)
            .label("restricted file")
            .help("Lambda runs functions as a non-root user; the zip stores it world-readable (0644/0755)"),
        );
    }
}
