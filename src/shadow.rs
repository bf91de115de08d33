//! Shadowing by the runtime: a library a layer ships that the runtime's loader takes from one of the
//! runtime's own folders first, for a function whose `ld-library-path` mode puts those folders
//! ahead of the layer's. The layer's copy then never loads.
//!
//! Invariant: no I/O; the same spec, graphs and catalog give the same findings.

use crate::diagnostic::{Code, Diagnostic};
use crate::plan::LayerAnalysis;
use crate::resolve::Status;
use crate::runtime::Runtime;
use crate::spec::{FunctionSpec, LayerRef, LayerSpec, LdLibraryPathMode, Spec};

/// Findings for every function that uses a layer of this spec.
pub fn check(spec: &Spec, layers: &[LayerAnalysis]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for function in &spec.functions {
        for layer_ref in &function.layers {
            let LayerRef::Local(name) = &layer_ref.value else {
                continue;
            };
            if let (Some(layer), Some(analysis)) =
                (spec.layer(name), layers.iter().find(|l| l.name() == name))
            {
                check_layer(function, layer, analysis, &mut diags);
            }
        }
    }
    diags
}

fn check_layer(
    function: &FunctionSpec,
    layer: &LayerSpec,
    analysis: &LayerAnalysis,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(target) = &layer.target else { return };
    let (arch, os) = (target.arch, target.os);
    let layer_dir = format!("/opt/{}", layer.dir.value);
    for (_, node) in analysis.graph.nodes() {
        if node.status != Status::Shipped {
            continue;
        }
        let mut winners = Vec::new();
        for rt in &target.runtimes {
            let mut names = std::iter::once(&node.name).chain(&node.aliases);
            let Some((name, listing)) = names.find_map(|n| Some((n, rt.provider(os, arch, n)?)))
            else {
                continue;
            };
            if runtime_wins(
                function.ld_library_path.value,
                rt,
                &listing.folder,
                &layer_dir,
            ) {
                winners.push((rt.id.as_str(), format!("{}/{name}", listing.folder)));
            }
        }
        let Some((_, path)) = winners.first() else {
            continue;
        };
        let ids: Vec<&str> = winners.iter().map(|(id, _)| *id).collect();
        diags.push(shadowed(function, &layer_dir, &node.name, path, &ids).at(node.root_span));
    }
}

/// Does the runtime's `folder` come before the layer's folder on the function's LD_LIBRARY_PATH?
fn runtime_wins(mode: LdLibraryPathMode, rt: &Runtime, folder: &str, layer_dir: &str) -> bool {
    match mode {
        LdLibraryPathMode::Prepend => false,
        LdLibraryPathMode::Append => true,
        // The runtime's default path: the layer's folder wins only where it comes first.
        LdLibraryPathMode::Keep => {
            let at = |dir: &str| rt.ld_library_path.iter().position(|d| d == dir);
            match (at(folder), at(layer_dir)) {
                (Some(f), Some(l)) => f < l,
                _ => true,
            }
        }
    }
}

fn shadowed(
    function: &FunctionSpec,
    layer_dir: &str,
    name: &str,
    runtime_path: &str,
    runtimes: &[&str],
) -> Diagnostic {
    let mode = match function.ld_library_path.value {
        LdLibraryPathMode::Prepend => "prepend",
        LdLibraryPathMode::Append => "append",
        LdLibraryPathMode::Keep => "keep",
    };
    Diagnostic::warning(
        Code::AbiRuntimeShadow,
        format!(
            "{layer_dir}/{name} never loads for function `{}`: {} {} {runtime_path} first (ld-library-path \"{mode}\")",
            function.id.value,
            runtimes.join(", "),
            if runtimes.len() == 1 { "loads" } else { "load" },
        ),
    )
    .label(format!("shadowed by {runtime_path}"))
    .help(format!(
        "set `ld-library-path \"prepend\"` on `{}` so {layer_dir} comes first, or leave {name} out and use the runtime's copy",
        function.id.value
    ))
}
