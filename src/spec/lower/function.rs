//! `function "LogicalId" { ... }`: one method per child node.

use kdl::KdlNode;

use super::schema::Place;
use super::{Lowering, Seen, span_of};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::spec::{FunctionSpec, LayerRef, LdLibraryPathMode, Spanned};

impl Lowering {
    pub(super) fn function(&mut self, node: &KdlNode) -> Option<FunctionSpec> {
        let id = self.block_name(node, "logical id")?;
        let mut function = FunctionSpec {
            ld_library_path: Spanned::new(LdLibraryPathMode::Prepend, id.span),
            id,
            span: span_of(node),
            layers: Vec::new(),
            env: Vec::new(),
        };
        let mut seen = Seen::default();
        for child in node.iter_children() {
            let Some(schema) = self.child_schema(child, Place::Function, &mut seen) else {
                continue;
            };
            let Some(args) = self.leaf_args(child, schema) else {
                continue;
            };
            match schema.name {
                "layer" => self.function_layer(&mut function, args),
                "ld-library-path" => self.ld_library_path(&mut function, args),
                "env" => self.env(&mut function, args),
                other => unreachable!("`{other}` is in the function schema"),
            }
        }
        Some(function)
    }

    fn function_layer(&mut self, function: &mut FunctionSpec, mut args: Vec<Spanned<String>>) {
        let Some(a) = args.pop() else { return };
        let value = if a.value.starts_with("arn:") {
            LayerRef::Arn(a.value)
        } else {
            LayerRef::Local(a.value)
        };
        function.layers.push(Spanned::new(value, a.span));
    }

    fn ld_library_path(&mut self, function: &mut FunctionSpec, mut args: Vec<Spanned<String>>) {
        let Some(a) = args.pop() else { return };
        let value = match a.value.as_str() {
            "prepend" => LdLibraryPathMode::Prepend,
            "append" => LdLibraryPathMode::Append,
            "keep" => LdLibraryPathMode::Keep,
            _ => {
                let help = did_you_mean(&a.value, LdLibraryPathMode::NAMES)
                    .unwrap_or_else(|| "use prepend (default), append or keep".to_string());
                self.push(
                    Diagnostic::error(
                        Code::SpecUnknownValue,
                        format!("unknown `ld-library-path` mode `{}`", a.value),
                    )
                    .at(a.span)
                    .label("unknown mode")
                    .help(help),
                );
                return;
            }
        };
        function.ld_library_path = Spanned::new(value, a.span);
    }

    fn env(&mut self, function: &mut FunctionSpec, mut args: Vec<Spanned<String>>) {
        let (Some(value), Some(key)) = (args.pop(), args.pop()) else {
            return;
        };
        if key.value == "LD_LIBRARY_PATH" {
            self.push(
                Diagnostic::error(
                    Code::SpecUnknownValue,
                    "LD_LIBRARY_PATH is computed from the layers and the runtime",
                )
                .at(key.span)
                .label("set by layerc")
                .help("use `ld-library-path \"prepend\"|\"append\"|\"keep\"` instead"),
            );
        } else if let Some((first, _)) = function.env.iter().find(|(k, _)| k.value == key.value) {
            let what = format!("`env \"{}\"`", key.value);
            self.given_twice(what, key.span, first.span, "second value");
        } else {
            function.env.push((key, value));
        }
    }
}
