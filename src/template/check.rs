//! The spec's functions checked against the template they will be merged into. Every finding
//! points at the spec (the `function` id, or the `template` node for `Globals`) and names the
//! template line it is about.

use crate::diagnostic::{Code, Diagnostic, Span, closest};
use crate::runtime::{Catalog, Date};
use crate::spec::{FunctionSpec, LayerRef, MAX_LAYERS_PER_FUNCTION, Spanned, Spec};
use crate::validate::lifecycle_warning;

use super::{ErrorKind, MergeError, SAM_FUNCTION, Target, Template, Value, plan};

/// The template a spec is checked against, and where the spec names it.
pub struct TemplateInput<'a> {
    /// As shown to the user (the path given).
    pub name: &'a str,
    pub span: Span,
    pub template: &'a Template,
}

/// Everything the merge would get wrong or refuse, as diagnostics on the spec.
pub fn check(
    spec: &Spec,
    catalog: &Catalog,
    input: &TemplateInput,
    today: Date,
) -> Vec<Diagnostic> {
    let template = input.template;
    let mut diags = Vec::new();
    for (target, function) in plan::targets(spec) {
        let span = match &target {
            Target::Globals => input.span,
            Target::Function(_) => function.id.span,
        };
        let checked: Vec<Target> = match &target {
            Target::Globals if template.check_target(&target, true).is_err() => {
                if let Err(e) = template.check_target(&target, true) {
                    diags.push(target_error(&e, &function, input).at(input.span));
                }
                continue;
            }
            Target::Globals => template
                .resources()
                .iter()
                .filter(|e| template.resource_type(&e.value) == Some(SAM_FUNCTION))
                .map(|e| Target::Function(e.key.clone()))
                .collect(),
            Target::Function(_) => match template.check_target(&target, true) {
                Ok(()) => vec![target.clone()],
                Err(e) => {
                    diags.push(target_error(&e, &function, input));
                    continue;
                }
            },
        };
        let cx = FunctionCheck {
            spec,
            catalog,
            input,
            function: &function,
            patched: &target,
            span,
        };
        for each in &checked {
            cx.runtime(each, today, &mut diags);
            cx.architectures(each, &mut diags);
            cx.layer_count(each, &mut diags);
        }
    }
    let patch = plan::patch(spec, catalog, template, "build");
    if let Err(e) = template.merge(&patch) {
        let code = match e.kind {
            ErrorKind::UnknownFunction | ErrorKind::NotAFunction | ErrorKind::ImageFunction => {
                return diags;
            }
            ErrorKind::IdConflict => Code::TemplateIdConflict,
            ErrorKind::Syntax | ErrorKind::Unmergeable => Code::TemplateUnmergeable,
            ErrorKind::StaleReference => Code::TemplateStaleReference,
        };
        let diag = Diagnostic::error(code, format!("cannot merge into {}: {}", at(input, e.line), e.message))
            .at(input.span)
            .label("this template")
            .help(match code {
                Code::TemplateIdConflict => "rename the layer, or the template's resource",
                Code::TemplateStaleReference => "remove that reference (layerc then removes the resource), or keep the layer in the spec",
                _ => "change the template so the value is a plain list or mapping, or use `ld-library-path \"keep\"` and set LD_LIBRARY_PATH yourself",
            });
        diags.push(noted(diag, input, e.line));
    }
    diags
}

/// `serverless.template:12`, or just the name when the line is unknown.
/// The template line a finding is about, as a note: `template.yaml:9: Runtime: python3.9`.
fn noted(diag: Diagnostic, input: &TemplateInput, line: Option<usize>) -> Diagnostic {
    let Some(line) = line else {
        return diag;
    };
    match input.template.text.lines().nth(line - 1) {
        Some(text) => diag.note(format!("{}:{line}: {}", input.name, text.trim())),
        None => diag,
    }
}

fn at(input: &TemplateInput, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", input.name),
        None => input.name.to_string(),
    }
}

fn target_error(e: &MergeError, function: &FunctionSpec, input: &TemplateInput) -> Diagnostic {
    let template = input.template;
    let functions: Vec<&str> = template
        .resources()
        .iter()
        .filter(|r| {
            matches!(
                template.resource_type(&r.value),
                Some(super::SAM_FUNCTION | super::LAMBDA_FUNCTION)
            )
        })
        .map(|r| r.key.as_str())
        .collect();
    let id = &function.id.value;
    let (code, message, label, help) = match e.kind {
        ErrorKind::UnknownFunction => (
            Code::TemplateUnknownFunction,
            format!("{} has no resource `{id}`", input.name),
            "not in the template",
            match closest(id, functions.iter().copied()) {
                Some(c) => format!("did you mean `{c}`?"),
                None if functions.is_empty() => "the template has no functions".to_string(),
                None => format!("the template's functions: {}", functions.join(", ")),
            },
        ),
        ErrorKind::ImageFunction => (
            Code::TemplateImageFunction,
            format!("{} ({})", e.message, at(input, e.line)),
            "image function",
            "layers do not apply to container image functions: copy the libraries into the image, and name the zip functions with `function` nodes".to_string(),
        ),
        _ => (
            Code::TemplateNotAFunction,
            format!("{} ({})", e.message, at(input, e.line)),
            "not a function",
            "a `function` node names an AWS::Serverless::Function or AWS::Lambda::Function".to_string(),
        ),
    };
    let diag = Diagnostic::error(code, message)
        .at(function.id.span)
        .label(label)
        .help(help);
    noted(diag, input, e.line)
}

struct FunctionCheck<'a> {
    spec: &'a Spec,
    catalog: &'a Catalog,
    input: &'a TemplateInput<'a>,
    function: &'a FunctionSpec,
    /// What the merge edits: this function, or `Globals.Function`.
    patched: &'a Target,
    span: Span,
}

impl FunctionCheck<'_> {
    fn layers(&self) -> impl Iterator<Item = &crate::spec::LayerSpec> {
        self.function.layers.iter().filter_map(|l| match &l.value {
            LayerRef::Local(name) => self.spec.layer(name),
            LayerRef::Arn(_) => None,
        })
    }

    fn name(target: &Target) -> &str {
        match target {
            Target::Function(id) => id,
            Target::Globals => "Globals.Function",
        }
    }

    fn runtime(&self, target: &Target, today: Date, diags: &mut Vec<Diagnostic>) {
        let template = self.input.template;
        let Some(property) = template.property(target, "Runtime") else {
            return;
        };
        let Some(id) = property.strings().and_then(|r| r.into_iter().next()) else {
            return;
        };
        let Some(runtime) = self.spec.runtime(self.catalog, &id) else {
            return;
        };
        let line = Some(template.line(property.node.span.start));
        let whose = format!(
            "Runtime of {} ({})",
            Self::name(target),
            at(self.input, line)
        );
        for layer in self.layers() {
            let runtimes: Vec<&str> = layer.runtimes.iter().map(|r| r.value.as_str()).collect();
            if runtimes.contains(&id.as_str()) {
                continue;
            }
            let layer_os = layer
                .runtimes
                .first()
                .and_then(|r| self.spec.runtime(self.catalog, &r.value))
                .map(|r| r.os.as_str());
            let other_os = layer_os.is_some_and(|os| os != runtime.os);
            let (message, help) = if other_os {
                (
                    format!(
                        "{whose} is {id}, on {}; layer {} is built for {}",
                        self.catalog.os_name(&runtime.os),
                        layer.name.value,
                        self.catalog.os_name(layer_os.unwrap_or_default())
                    ),
                    format!(
                        "a layer is checked against one OS base: write a second layer with `runtime \"{id}\"` for this function, or change its Runtime"
                    ),
                )
            } else {
                (
                    format!(
                        "{whose} is {id}, which is not among the runtimes of layer {} ({})",
                        layer.name.value,
                        runtimes.join(", ")
                    ),
                    format!(
                        "add `runtime \"{id}\"` to layer {}, or change the function's Runtime",
                        layer.name.value
                    ),
                )
            };
            let diag = Diagnostic::error(Code::TemplateRuntimeMismatch, message)
                .at(self.span)
                .label("runtime mismatch")
                .help(help)
                .related(layer.name.span, "the layer");
            diags.push(noted(diag, self.input, line));
        }
        // A runtime a layer of the spec names is already warned about there.
        let in_spec = self
            .spec
            .layers
            .iter()
            .flat_map(|l| &l.runtimes)
            .any(|r| r.value == id);
        if !in_spec
            && let Some(mut warning) =
                lifecycle_warning(runtime, &Spanned::new(id.clone(), self.span), today)
        {
            warning.message = format!("{} ({whose})", warning.message);
            diags.push(noted(warning, self.input, line));
        }
    }

    fn architectures(&self, target: &Target, diags: &mut Vec<Diagnostic>) {
        let template = self.input.template;
        let property = template.property(target, "Architectures");
        let (archs, line) = match &property {
            None => (vec!["x86_64".to_string()], None),
            Some(p) => match p.strings() {
                Some(a) => (a, Some(template.line(p.node.span.start))),
                None => return,
            },
        };
        for layer in self.layers() {
            let arch = layer.architecture.value.as_str();
            if archs.iter().all(|a| a == arch) {
                continue;
            }
            let whose = match line {
                Some(_) => format!(
                    "Architectures of {} ({})",
                    Self::name(target),
                    at(self.input, line)
                ),
                None => format!("{} (no Architectures: x86_64)", Self::name(target)),
            };
            let diag = Diagnostic::error(
                Code::TemplateArchitectureMismatch,
                format!(
                    "{whose} is {}; layer {} is for {arch}",
                    archs.join(", "),
                    layer.name.value
                ),
            )
            .at(self.span)
            .label("architecture mismatch")
            .help(format!(
                "set `architecture \"{}\"` on layer {}, or change the function's Architectures",
                archs.join(", "),
                layer.name.value
            ))
            .related(layer.architecture.span, "the layer's architecture");
            diags.push(noted(diag, self.input, line));
        }
    }

    fn layer_count(&self, target: &Target, diags: &mut Vec<Diagnostic>) {
        let template = self.input.template;
        let ours: Vec<Value> = self
            .function
            .layers
            .iter()
            .map(|l| match &l.value {
                LayerRef::Local(name) => Value::reference(crate::spec::logical_id(name)),
                LayerRef::Arn(arn) => Value::str(arn),
            })
            .collect();
        let list = |node: Option<&super::Node>| -> Vec<Value> {
            node.and_then(|n| n.items())
                .map(|items| items.iter().map(super::Node::value).collect())
                .unwrap_or_default()
        };
        let own_node = template
            .target_properties(target)
            .and_then(|p| p.get("Layers"));
        let mut own = list(own_node);
        let mut globals = if template.uses_globals(target) {
            list(template.globals_function().and_then(|g| g.get("Layers")))
        } else {
            Vec::new()
        };
        let merged_into = if *self.patched == Target::Globals {
            &mut globals
        } else {
            &mut own
        };
        for layer in ours {
            if !merged_into.contains(&layer) {
                merged_into.push(layer);
            }
        }
        let total = own.len() + globals.len();
        if total > MAX_LAYERS_PER_FUNCTION {
            let line = own_node.map(|n| template.line(n.span.start));
            diags.push(
                Diagnostic::error(
                    Code::TemplateTooManyLayers,
                    format!("{} would have {total} layers after the merge ({} of its own, {} from Globals); Lambda allows {MAX_LAYERS_PER_FUNCTION}", Self::name(target), own.len(), globals.len()),
                )
                .at(self.span)
                .label("too many layers")
                .help(format!("merge layers into one, or remove some from the template ({})", at(self.input, line))),
            );
        }
    }
}
