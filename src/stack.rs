//! A function's layers together, as the loader sees `/opt`: Lambda unpacks them in `Layers` order
//! into one tree, so a later layer's file replaces an earlier one's at the same path, a library
//! one layer leaves out (`exclude`) may come from another attached layer, and the size limit holds
//! for all of them at once.
//!
//! Invariant: no I/O; the same spec and analyses give the same findings. External layer ARNs are
//! opaque: nothing about their files is known, and findings say so in a note.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::plan::{Content, LayerAnalysis};
use crate::resolve::Status;
use crate::spec::{LayerRef, Spanned, Spec};
use crate::validate::MAX_UNZIPPED_BYTES;

/// One layer as a function uses it: its analysis and the span that attaches it.
struct Attached<'a> {
    analysis: &'a LayerAnalysis,
    span: Span,
}

/// The layers one function uses, in `Layers` order (or, without `function` nodes, every layer of
/// the spec, which `Globals.Function` gives every function).
struct Stack<'a> {
    /// How messages name the function.
    who: String,
    /// Where a finding about the whole stack points.
    span: Span,
    layers: Vec<Attached<'a>>,
    arns: Vec<&'a str>,
    /// The function declares its `app`: the application check loads it with these layers, and
    /// counts it in the size (`app::check`), so what needs the application is left to it.
    app: bool,
    /// The function's `env` variables (none for `Globals.Function`).
    env: &'a [(Spanned<String>, Spanned<String>)],
    /// Every layer of the spec the function names was analysed (none is missing from `layers`).
    complete: bool,
}

/// Findings for every function's layers together.
pub fn check(spec: &Spec, layers: &[LayerAnalysis]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for mut stack in stacks(spec, layers) {
        // A layer named twice (in the spec or on the function) is an error of its own already.
        let mut seen = std::collections::BTreeSet::new();
        stack.layers.retain(|l| seen.insert(l.analysis.name()));
        same_paths(&stack, &mut diags);
        unattached(&stack, layers, &mut diags);
        if !stack.app {
            excluded_needs(spec, &stack, layers, &mut diags);
            total_size(&stack, &mut diags);
        }
        env_paths(&stack, &mut diags);
    }
    diags
}

fn stacks<'a>(spec: &'a Spec, layers: &'a [LayerAnalysis]) -> Vec<Stack<'a>> {
    let find = |name: &str| layers.iter().find(|l| l.name() == name);
    if spec.functions.is_empty() {
        let attached = spec
            .layers
            .iter()
            .filter_map(|l| {
                let analysis = find(&l.name.value)?;
                Some(Attached {
                    analysis,
                    span: l.name.span,
                })
            })
            .collect();
        let span = spec
            .layers
            .first()
            .map_or_else(Span::default, |l| l.name.span);
        let who = "every function (Globals.Function)".to_string();
        return vec![Stack {
            who,
            span,
            layers: attached,
            arns: Vec::new(),
            app: false,
            env: &[],
            complete: true,
        }];
    }
    let mut stacks = Vec::new();
    for function in &spec.functions {
        let mut stack = Stack {
            who: format!("function `{}`", function.id.value),
            span: function.id.span,
            layers: Vec::new(),
            arns: Vec::new(),
            app: function.app.is_some(),
            env: &function.env,
            complete: true,
        };
        for layer in &function.layers {
            match &layer.value {
                LayerRef::Local(name) => match find(name) {
                    Some(analysis) => stack.layers.push(Attached {
                        analysis,
                        span: layer.span,
                    }),
                    None => stack.complete = false,
                },
                LayerRef::Arn(arn) => stack.arns.push(arn),
            }
        }
        stacks.push(stack);
    }
    stacks
}

/// The note on a finding of a function that also uses external layers.
fn opaque_note(stack: &Stack<'_>, diag: Diagnostic) -> Diagnostic {
    if stack.arns.is_empty() {
        return diag;
    }
    diag.note(format!(
        "external layers are not checked (their files are unknown to layerc): {}",
        stack.arns.join(", ")
    ))
}

/// A path shipped by two of the function's layers: the later one's file is what `/opt` holds.
fn same_paths(stack: &Stack<'_>, diags: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<&str, &Attached<'_>> = BTreeMap::new();
    for layer in &stack.layers {
        for entry in &layer.analysis.plan.entries {
            if let Some(earlier) = first.insert(entry.path.as_str(), layer) {
                let (a, b) = (earlier.analysis.name(), layer.analysis.name());
                let path = format!("/opt/{}", entry.path.as_str());
                let kind = match entry.content {
                    Content::File { .. } => "file",
                    Content::Symlink { .. } => "symlink",
                };
                let diag = Diagnostic::warning(
                    Code::FunctionSamePath,
                    format!(
                        "{path} is shipped by layers `{a}` and `{b}`; {} gets `{b}`'s {kind}, the later in Layers",
                        stack.who
                    ),
                )
                .at(layer.span)
                .label(format!("`{b}` replaces {path}"))
                .related(earlier.span, format!("`{a}` ships {path} too"))
                .help(format!(
                    "ship {path} from one of the layers only (`exclude` it from the other), or make sure both copies are the same"
                ));
                diags.push(opaque_note(stack, diag));
            }
        }
    }
}

/// A library a layer excludes that another layer of the spec ships: fine when that layer is
/// attached too, an error when it is not (the library will not be found at run time).
fn unattached(stack: &Stack<'_>, layers: &[LayerAnalysis], diags: &mut Vec<Diagnostic>) {
    for layer in &stack.layers {
        let graph = &layer.analysis.graph;
        for (idx, node) in graph.nodes() {
            if node.status != Status::Excluded {
                continue;
            }
            let ships = |l: &LayerAnalysis| l.graph.status_of(&node.name) == Some(Status::Shipped);
            if stack.layers.iter().any(|a| ships(a.analysis)) {
                continue;
            }
            let Some(other) = layers.iter().find(|l| ships(l)) else {
                continue; // The user vouches that it is provided elsewhere.
            };
            let (name, other) = (layer.analysis.name(), other.name());
            let diag = Diagnostic::error(
                Code::FunctionUnattachedLayer,
                format!(
                    "{} uses layer `{name}`, which leaves out {} for layer `{other}` to ship, but not layer `{other}`: {}",
                    stack.who,
                    node.name,
                    graph.chain_text(idx)
                ),
            )
            .at(layer.span)
            .label(format!("needs {} from layer `{other}`", node.name))
            .help(format!("add `layer \"{other}\"` to the function, or ship {} in `{name}`", node.name))
            .related(node.root_span, format!("pulls in {}", node.name));
            diags.push(opaque_note(stack, diag));
        }
    }
}

/// A library a layer excludes although an object it ships needs it, which no layer of the function
/// ships (and the runtime lacks: it would be `provided` otherwise): that object will not load,
/// unless something layerc does not see (an external layer, the application) brings it.
fn excluded_needs(
    spec: &Spec,
    stack: &Stack<'_>,
    layers: &[LayerAnalysis],
    diags: &mut Vec<Diagnostic>,
) {
    for layer in &stack.layers {
        for (idx, name, need) in layer.analysis.graph.excluded_needs() {
            let ships = |l: &LayerAnalysis| l.graph.status_of(name) == Some(Status::Shipped);
            if stack.layers.iter().any(|a| ships(a.analysis)) || layers.iter().any(ships) {
                continue; // Shipped by an attached layer, or `unattached` reports it.
            }
            let layer_name = layer.analysis.name();
            let graph = &layer.analysis.graph;
            let span = spec
                .layer(layer_name)
                .and_then(|l| l.excludes.iter().find(|e| e.value == name))
                .map_or(graph.graph[idx].root_span, |e| e.span);
            let diag = Diagnostic::warning(
                Code::FunctionExcludedNeeded,
                format!(
                    "{need} needs {name}, which layer `{layer_name}` excludes and no layer of {} ships: {need} will not load unless something else brings {name}",
                    stack.who
                ),
            )
            .at(span)
            .label(format!("{} (excluded)", graph.chain_text(idx)))
            .help(format!(
                "remove this `exclude` so that {name} is shipped, or attach the layer that has it; declare the function's `app` to have layerc check whether the application brings it"
            ));
            diags.push(opaque_note(stack, graph.with_chain(diag, idx)));
        }
    }
}

/// All the function's layers unzipped, against the limit for a function and its layers.
fn total_size(stack: &Stack<'_>, diags: &mut Vec<Diagnostic>) {
    if stack.layers.len() < 2 {
        return; // One layer over the limit is reported by the layer's own validation.
    }
    let sizes: Vec<String> = stack
        .layers
        .iter()
        .map(|l| format!("`{}` {}", l.analysis.name(), l.analysis.plan.unzipped_size))
        .collect();
    let total: u64 = stack
        .layers
        .iter()
        .map(|l| l.analysis.plan.unzipped_size)
        .sum();
    if total <= MAX_UNZIPPED_BYTES {
        return;
    }
    let diag = Diagnostic::error(
        Code::FunctionUnzippedSize,
        format!(
            "the layers of {} unzip to {total} bytes together; Lambda allows {MAX_UNZIPPED_BYTES} bytes for a function and all its layers",
            stack.who
        ),
    )
    .at(stack.span)
    .label("layers too large together")
    .help("move some libraries out, or split the functions so that each uses fewer layers")
    .note(format!("unzipped sizes in bytes: {}", sizes.join(", ")));
    diags.push(opaque_note(stack, diag));
}

/// An `env` value that names a path under `/opt` (`FONTCONFIG_PATH=/opt/etc/fonts`) that none of
/// the function's layers ships: the program reading the variable finds nothing there. Skipped when
/// the function also uses external layers (their files are unknown) or a layer was not analysed.
fn env_paths(stack: &Stack<'_>, diags: &mut Vec<Diagnostic>) {
    if !stack.arns.is_empty() || !stack.complete {
        return;
    }
    for (name, value) in stack.env {
        for path in value.value.split(':').filter(|p| p.starts_with("/opt/")) {
            let inside = path.trim_start_matches("/opt/").trim_end_matches('/');
            let shipped = stack.layers.iter().any(|l| {
                l.analysis.plan.entries.iter().any(|e| {
                    let entry = e.path.as_str();
                    inside.is_empty()
                        || entry == inside
                        || entry
                            .strip_prefix(inside)
                            .is_some_and(|r| r.starts_with('/'))
                })
            });
            if shipped {
                continue;
            }
            let names: Vec<&str> = stack.layers.iter().map(|l| l.analysis.name()).collect();
            diags.push(
                Diagnostic::warning(
                    Code::FunctionEnvPath,
                    format!(
                        "{} sets {}={}, but none of its layers ({}) ships {path}",
                        stack.who,
                        name.value,
                        value.value,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                )
                .at(value.span)
                .label(format!("nothing at {path}"))
                .help(format!(
                    "ship what belongs there in one of the function's layers (for example `file \"/{inside}\" to=\"{inside}\"`, from the rootfs), or remove the variable"
                )),
            );
        }
    }
}
