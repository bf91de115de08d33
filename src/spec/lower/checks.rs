//! Cross-node rules: at least one layer, unique names and logical ids, function references, the
//! number of layers per function.

use std::collections::BTreeMap;

use super::Lowering;
use crate::diagnostic::{Code, Diagnostic, Span, closest, did_you_mean};
use crate::spec::{FunctionSpec, LayerRef, Spec, logical_id};

/// Lambda's limit on layers attached to one function.
pub const MAX_LAYERS_PER_FUNCTION: usize = 5;

impl Lowering {
    pub(super) fn check_spec(&mut self, spec: &Spec, span: Span, had_errors: bool) {
        if spec.layers.is_empty() && !had_errors {
            self.push(
                Diagnostic::error(Code::SpecEmpty, "the spec defines no layer")
                    .at(span)
                    .label("no `layer` node")
                    .help(
                        "add `layer \"NAME\" { runtime \"...\"; rootfs \"...\"; library \"...\" }`",
                    ),
            );
        }
        self.unique_layers(spec);
        if spec.functions.is_empty() && spec.layers.len() > MAX_LAYERS_PER_FUNCTION {
            self.push(
                Diagnostic::error(
                    Code::SpecTooManyLayers,
                    format!(
                        "the spec has {} layers and no `function`: all go to Globals.Function, but Lambda allows at most {MAX_LAYERS_PER_FUNCTION} per function",
                        spec.layers.len()
                    ),
                )
                .at(spec.layers[MAX_LAYERS_PER_FUNCTION].name.span)
                .label("one layer too many")
                .help("add `function` blocks naming which layers each function uses, or merge layers"),
            );
        }
        let mut functions: BTreeMap<&str, Span> = BTreeMap::new();
        for function in &spec.functions {
            if let Some(&first) = functions.get(function.id.value.as_str()) {
                self.push(
                    Diagnostic::error(
                        Code::SpecDuplicate,
                        format!("function `{}` is given twice", function.id.value),
                    )
                    .at(function.id.span)
                    .label("second definition")
                    .help("merge the two `function` blocks")
                    .related(first, "first defined here"),
                );
            } else {
                functions.insert(&function.id.value, function.id.span);
            }
            self.function_layers(function, spec);
        }
    }

    /// Layer names, and the logical ids they become, are unique.
    fn unique_layers(&mut self, spec: &Spec) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for layer in &spec.layers {
            if let Some(first) = seen.insert(&layer.name.value, layer.name.span) {
                self.push(
                    Diagnostic::error(
                        Code::SpecDuplicateLayer,
                        format!("layer `{}` is defined twice", layer.name.value),
                    )
                    .at(layer.name.span)
                    .label("second definition")
                    .help("rename one of them")
                    .related(first, "first defined here"),
                );
            }
        }
        let mut ids: BTreeMap<String, (&str, Span)> = BTreeMap::new();
        for layer in &spec.layers {
            let id = logical_id(&layer.name.value);
            match ids.get(&id) {
                Some(&(first, span)) if first != layer.name.value => self.push(
                    Diagnostic::error(
                        Code::SpecDuplicateLayer,
                        format!(
                            "layers `{first}` and `{}` both become the template resource `{id}`",
                            layer.name.value
                        ),
                    )
                    .at(layer.name.span)
                    .label("same logical id")
                    .help("rename one of them so their names differ in more than `-`, `_` or case")
                    .related(span, format!("`{first}` is here")),
                ),
                _ => {
                    ids.insert(id, (&layer.name.value, layer.name.span));
                }
            }
        }
    }

    /// A function's layers exist and are at most [`MAX_LAYERS_PER_FUNCTION`].
    fn function_layers(&mut self, function: &FunctionSpec, spec: &Spec) {
        for layer in &function.layers {
            if let LayerRef::Local(name) = &layer.value
                && spec.layer(name).is_none()
            {
                let help = did_you_mean(name, spec.layers.iter().map(|l| l.name.value.as_str()))
                    .unwrap_or_else(|| {
                        "name a `layer` of this spec or give a full layer version ARN".to_string()
                    });
                self.push(
                    Diagnostic::error(
                        Code::SpecUnknownLayer,
                        format!(
                            "function `{}` uses unknown layer `{name}`",
                            function.id.value
                        ),
                    )
                    .at(layer.span)
                    .label("no such layer in this spec")
                    .help(help)
                    .suggest(closest(
                        name,
                        spec.layers.iter().map(|l| l.name.value.as_str()),
                    )),
                );
            }
        }
        if function.layers.len() > MAX_LAYERS_PER_FUNCTION {
            self.push(
                Diagnostic::error(
                    Code::SpecTooManyLayers,
                    format!(
                        "function `{}` has {} layers; Lambda allows at most {MAX_LAYERS_PER_FUNCTION}",
                        function.id.value,
                        function.layers.len()
                    ),
                )
                .at(function.layers[MAX_LAYERS_PER_FUNCTION].span)
                .label("one layer too many")
                .help("merge layers: one layer may hold many libraries"),
            );
        }
    }
}
