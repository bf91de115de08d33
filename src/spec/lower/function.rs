//! `function "LogicalId" { ... }`: one method per child node.

use kdl::KdlNode;

use super::schema::Place;
use super::{Lowering, Seen, span_of};
use crate::diagnostic::{Code, Diagnostic, closest, did_you_mean};
use crate::spec::{FunctionSpec, LayerRef, LdLibraryPathMode, Spanned};

/// CloudFormation logical ids: alphanumeric, at most 255 characters.
const MAX_LOGICAL_ID: usize = 255;

fn valid_logical_id(id: &str) -> bool {
    id.len() <= MAX_LOGICAL_ID && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Variables Lambda reserves: a function configuration that sets one is refused. From the AWS Lambda
/// Developer Guide, "Defined runtime environment variables" (`TZ`, `LANG`, `PATH`,
/// `LD_LIBRARY_PATH` and `AWS_LAMBDA_EXEC_WRAPPER` are not reserved).
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's pattern for variable names, `[a-zA-Z]([a-zA-Z0-9_])+`: why `name` breaks it.
fn env_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some("it is empty"),
        Some(c) if !c.is_ascii_alphabetic() => Some("it must start with a letter"),
        _ if name.len() < 2 => Some("it must have at least two characters"),
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some("only letters, digits and `_` are allowed")
        }
        _ => None,
    }
}

impl Lowering {
    pub(super) fn function(&mut self, node: &KdlNode) -> Option<FunctionSpec> {
        let id = self.block_name(node, "logical id")?;
        if !valid_logical_id(&id.value) {
            self.push(
                Diagnostic::error(
                    Code::SpecBadName,
                    format!("`{}` is not a valid logical id", id.value.escape_debug()),
                )
                .at(id.span)
                .label("invalid logical id")
                .help(format!(
                    "CloudFormation logical ids are letters and digits only (at most {MAX_LOGICAL_ID}), like `ImageFunction`"
                )),
            );
            return None;
        }
        let mut function = FunctionSpec {
            ld_library_path: Spanned::new(LdLibraryPathMode::Prepend, id.span),
            id,
            span: span_of(node),
            layers: Vec::new(),
            env: Vec::new(),
            app: None,
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
                "app" => function.app = args.into_iter().next(),
                other => unreachable!("`{other}` is in the function schema"),
            }
        }
        Some(function)
    }

    fn function_layer(&mut self, function: &mut FunctionSpec, mut args: Vec<Spanned<String>>) {
        let Some(a) = args.pop() else { return };
        let first = function.layers.iter().find(|l| match &l.value {
            LayerRef::Arn(v) | LayerRef::Local(v) => *v == a.value,
        });
        if let Some(first) = first {
            let what = format!("layer `{}`", a.value);
            self.given_twice(what, a.span, first.span, "second occurrence");
            return;
        }
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
                    .help(help)
                    .suggest(closest(&a.value, LdLibraryPathMode::NAMES)),
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
        if let Some(why) = env_name_problem(&key.value) {
            self.push(
                Diagnostic::error(
                    Code::SpecBadName,
                    format!("`{}` is not a name Lambda takes: {why}", key.value.escape_debug()),
                )
                .at(key.span)
                .label("invalid variable name")
                .help("Lambda variable names start with a letter, have at least two characters, and use only letters, digits and `_`"),
            );
        } else if RESERVED_ENV.contains(&key.value.as_str()) {
            self.push(
                Diagnostic::error(
                    Code::SpecBadName,
                    format!("`{}` is reserved by Lambda and cannot be set", key.value),
                )
                .at(key.span)
                .label("reserved variable")
                .help("Lambda sets it for every function; remove this line"),
            );
        } else if key.value == "LD_LIBRARY_PATH" {
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
