//! Validation: pure checks over a resolved and planned layer → diagnostics.
//!
//! Invariant: no I/O here, and nothing but findings comes out. The same graph, plan, spec, catalog
//! and date give the same findings.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::NodeIndex;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::elf::VersionNeed;
use crate::plan::LayerPlan;
use crate::resolve::search::DEFAULT_DIRS;
use crate::resolve::{ExtraFile, LayerGraph, Node, Status};
use crate::rootfs::RootPath;
use crate::runtime::{Date, Lifecycle, Runtime, Version, split_symbol_version};
use crate::spec::{LayerSpec, Spanned, Target};

/// Lambda's limit on a function and all its layers, unzipped (the API's error text gives the bytes).
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// Largest zip the Lambda API takes directly; larger ones go through S3.
pub const MAX_DIRECT_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// Everything validation reads.
pub struct ValidateInputs<'a> {
    pub layer: &'a LayerSpec,
    pub target: &'a Target,
    pub graph: &'a LayerGraph,
    pub files: &'a [ExtraFile],
    pub plan: &'a LayerPlan,
    pub catalog: &'a crate::runtime::Catalog,
    pub today: Date,
}

pub fn validate_layer(check: &ValidateInputs<'_>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut over = Vec::new();
    for (idx, node) in check.graph.nodes() {
        if node.status == Status::Shipped {
            check_object(check, idx, node, &mut over, &mut diags);
            diags.extend(run_time_loads(check.graph, idx));
        }
    }
    diags.extend(ceiling_findings(check, over));
    check_lifecycle(check, &mut diags);
    check_readable(check, &mut diags);
    if check.plan.unzipped_size > MAX_UNZIPPED_BYTES {
        diags.push(
            Diagnostic::error(
                Code::LimitsUnzippedSize,
                format!(
                    "layer `{}` unzips to {} bytes; Lambda allows {MAX_UNZIPPED_BYTES} bytes for a function and all its layers",
                    check.layer.name.value, check.plan.unzipped_size
                ),
            )
            .at(check.layer.name.span)
            .label("too large")
            .help("exclude what the function never loads, or split the work across functions"),
        );
    }
    diags
}

/// A shipped object that needs a symbol version above the runtime's ceiling (the highest it
/// needs from one file in one namespace).
struct Over {
    idx: NodeIndex,
    file: String,
    namespace: String,
    /// `GLIBC_2.34`.
    name: String,
    ceiling: Version,
}

/// One shipped object: its architecture, the symbol versions it needs, its DT_RPATH.
fn check_object(
    check: &ValidateInputs<'_>,
    idx: NodeIndex,
    node: &Node,
    found_over: &mut Vec<Over>,
    diags: &mut Vec<Diagnostic>,
) {
    let g = check.graph;
    let arch = check.target.arch;
    let Some(found) = &node.found else { return };
    let elf = &found.elf;
    if !elf.matches(arch) {
        diags.push(
            g.with_chain(
                Diagnostic::error(
                    Code::AbiArchitecture,
                    format!(
                        "{} is {} but the layer is for {arch}",
                        node.name,
                        elf.describe_target()
                    ),
                )
                .at(node.root_span)
                .label(format!("{} is {}", found.real, elf.describe_target()))
                .help(format!(
                    "take the {arch} build of this library, or set `architecture` to match"
                )),
                idx,
            ),
        );
        return;
    }
    // Highest needed version per (file, namespace) above the ceiling, one finding each.
    let mut over: BTreeMap<(String, String), (Version, String, Version)> = BTreeMap::new();
    for need in &elf.verneed {
        match g.node(&need.file) {
            Some(t) if t.status == Status::Shipped => {
                missing_versions(check, idx, node, t, need, diags);
            }
            Some(t) if matches!(t.status, Status::Excluded | Status::Missing) => {}
            _ => {
                for v in &need.versions {
                    let Some((ns, version)) = split_symbol_version(v) else {
                        continue;
                    };
                    let Some(ceiling) = check.target.os.ceiling(arch, ns) else {
                        continue;
                    };
                    let key = (need.file.clone(), ns.to_string());
                    if &version > ceiling
                        && over.get(&key).is_none_or(|(seen, _, _)| version > *seen)
                    {
                        over.insert(key, (version, v.clone(), ceiling.clone()));
                    }
                }
            }
        }
    }
    for ((file, namespace), (_, name, ceiling)) in over {
        found_over.push(Over {
            idx,
            file,
            namespace,
            name,
            ceiling,
        });
    }
    check_rpath(check, idx, diags);
    check_interpreter(check, idx, diags);
}

/// The kernel starts an executable with the loader its `PT_INTERP` names: on Lambda that must be
/// glibc's loader of the architecture (`interpreters.kdl`), or the program does not start at all.
fn check_interpreter(check: &ValidateInputs<'_>, idx: NodeIndex, diags: &mut Vec<Diagnostic>) {
    let g = check.graph;
    let node = &g.graph[idx];
    let Some(interp) = node.found.as_ref().and_then(|f| f.elf.interp.as_deref()) else {
        return;
    };
    let Some(loader) = check
        .target
        .runtime()
        .interpreter
        .loaders
        .get(&check.target.arch)
    else {
        return;
    };
    if interp == loader {
        return;
    }
    diags.push(
        g.with_chain(
            Diagnostic::error(
                Code::AbiProgramInterpreter,
                format!(
                    "{} is started by the program interpreter {interp}, which {} lacks: its loader is {loader}",
                    node.name,
                    check.target.describe()
                ),
            )
            .at(node.root_span)
            .label(g.chain_text(idx))
            .help("take a build of it linked against glibc for this architecture (a musl or Nix build names another loader)"),
            idx,
        ),
    );
}

/// A shipped library that loads others at run time (drivers, plugins): what is loaded is not checked.
fn run_time_loads(g: &LayerGraph, idx: NodeIndex) -> Option<Diagnostic> {
    let node = &g.graph[idx];
    let loads = crate::dlopen::run_time_loads(&node.name)?;
    Some(
        Diagnostic::info(
            Code::ResolveDlopen,
            format!(
                "{} ({}) loads {} at run time: that is not checked",
                node.name, loads.library, loads.loads
            ),
        )
        .at(node.root_span)
        .label("loads more at run time")
        .help(loads.check),
    )
}

/// `abi::symbol-version`: one finding per namespace (GLIBC, GLIBCXX, ...) of the layer, so a
/// rootfs newer than the runtime's OS gives one headline with every object listed, rather than one
/// error per object and library. A single object keeps its own message and chain.
fn ceiling_findings(check: &ValidateInputs<'_>, over: Vec<Over>) -> Vec<Diagnostic> {
    let g = check.graph;
    let mut by_namespace: BTreeMap<String, Vec<Over>> = BTreeMap::new();
    for o in over {
        by_namespace.entry(o.namespace.clone()).or_default().push(o);
    }
    let line = |o: &Over| format!("{} needs {} from {}", g.graph[o.idx].name, o.name, o.file);
    let help = |what: &str| {
        format!(
            "take {what} from a rootfs no newer than the runtime's OS ({}), or target a runtime with a newer OS base",
            check.target.os.name
        )
    };
    let mut diags = Vec::new();
    for (ns, found) in by_namespace {
        let ceiling = format!("{ns}_{}", found[0].ceiling);
        let runtime = check.target.describe();
        let first = &found[0];
        let node = &g.graph[first.idx];
        let objects: BTreeSet<&str> = found.iter().map(|o| g.graph[o.idx].name.as_str()).collect();
        if objects.len() == 1 {
            for o in &found {
                let message = format!("{}; {runtime} provides up to {ceiling}", line(o));
                diags.push(
                    g.with_chain(
                        Diagnostic::error(Code::AbiSymbolVersion, message)
                            .at(node.root_span)
                            .label(g.chain_text(o.idx))
                            .help(help(&node.name)),
                        o.idx,
                    ),
                );
            }
            continue;
        }
        let highest = found
            .iter()
            .filter_map(|o| Some((split_symbol_version(&o.name)?.1, &o.name)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map_or(String::new(), |(_, n)| n.clone());
        let mut diag = Diagnostic::error(
            Code::AbiSymbolVersion,
            format!(
                "{} shipped objects need {ns} versions up to {highest}; {runtime} provides up to {ceiling} (the rootfs is newer than the runtime's OS)",
                objects.len()
            ),
        )
        .at(node.root_span)
        .label(g.chain_text(first.idx))
        .help(help("these libraries"));
        let mut roots = vec![node.root_span];
        for o in &found {
            diag = diag.note(format!("{} ({})", line(o), g.chain_text(o.idx)));
            let root = g.graph[o.idx].root_span;
            if !roots.contains(&root) {
                roots.push(root);
                diag = diag.related(root, format!("pulls in {}", g.graph[o.idx].name));
            }
        }
        diags.push(diag);
    }
    diags
}

/// Versions `node` needs from the shipped `target` that it does not define.
fn missing_versions(
    check: &ValidateInputs<'_>,
    idx: NodeIndex,
    node: &Node,
    target: &Node,
    need: &VersionNeed,
    diags: &mut Vec<Diagnostic>,
) {
    let g = check.graph;
    let defined: BTreeSet<&str> = target
        .found
        .as_ref()
        .map(|f| f.elf.verdef.iter().map(String::as_str).collect())
        .unwrap_or_default();
    for v in need
        .versions
        .iter()
        .filter(|v| !defined.contains(v.as_str()))
    {
        diags.push(
            g.with_chain(
                Diagnostic::error(
                    Code::AbiMissingVersion,
                    format!(
                        "{} needs {v} from {}, but the shipped {} does not define it",
                        node.name, need.file, target.name
                    ),
                )
                .at(node.root_span)
                .label(g.chain_text(idx))
                .help(format!(
                    "ship a {} built from the same release as {}",
                    target.name, node.name
                )),
                idx,
            ),
        );
    }
}

/// DT_RPATH is searched before LD_LIBRARY_PATH: an absolute entry naming a runtime folder makes the
/// loader take the runtime's copy of a library this layer ships.
fn check_rpath(check: &ValidateInputs<'_>, idx: NodeIndex, diags: &mut Vec<Diagnostic>) {
    let g = check.graph;
    let node = &g.graph[idx];
    let Some(found) = &node.found else { return };
    if !found.elf.runpath.is_empty() {
        return;
    }
    let runtime_dirs: BTreeSet<&str> = check
        .target
        .runtime()
        .ld_library_path
        .iter()
        .map(String::as_str)
        .collect();
    let shadowing: Vec<&str> = found
        .elf
        .rpath
        .iter()
        .map(|d| d.trim_end_matches('/'))
        .filter(|d| d.starts_with('/') && !d.starts_with("/opt"))
        .filter(|d| DEFAULT_DIRS.contains(d) || runtime_dirs.contains(d))
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
    diags.push(g.with_chain(
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
        idx,
    ));
}

fn check_lifecycle(check: &ValidateInputs<'_>, diags: &mut Vec<Diagnostic>) {
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
    if rt.lifecycle(today) == Lifecycle::Supported {
        return None;
    }
    let listed: Vec<String> = rt
        .lifecycle_dates()
        .iter()
        .filter_map(|(stage, d)| {
            let what = match stage {
                Lifecycle::CreationBlocked | Lifecycle::UpdatesBlocked => {
                    format!("function {}", stage.as_str())
                }
                _ => stage.as_str().to_string(),
            };
            d.map(|d| format!("{what} {d}"))
        })
        .collect();
    let help = match &rt.successor {
        Some(s) => format!("move to `{s}`; layerc checks the layer against its OS base"),
        None => "move to a supported runtime (`layerc runtimes` shows the dates)".to_string(),
    };
    Some(
        Diagnostic::warning(
            Code::LifecycleDeprecated,
            format!(
                "runtime {} is past its end of support: {} ({})",
                rt.id,
                listed.join(", "),
                rt.origin.as_of()
            ),
        )
        .at(id.span)
        .label("deprecated runtime")
        .help(help),
    )
}

/// Files Lambda's non-root user could not read in the rootfs (the zip stores them readable).
fn check_readable(check: &ValidateInputs<'_>, diags: &mut Vec<Diagnostic>) {
    for (_, node) in check.graph.nodes() {
        // A node a `file` request places is among `check.files`.
        if node.status == Status::Shipped
            && node.placed.is_none()
            && let Some(found) = &node.found
        {
            readable(&found.real, found.mode, node.root_span, diags);
        }
    }
    for file in check.files {
        readable(&file.source, file.mode, file.span, diags);
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
