//! `KdlDocument` → [`Spec`]: names, arities and types checked, spans kept.

use std::collections::BTreeMap;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::{
    DEFAULT_DIR, FileRequest, FunctionSpec, LayerRef, LayerSpec, LdLibraryPathMode, LibraryRequest,
    Spanned, Spec, normalize_layer_path,
};
use crate::arch::Architecture;
use crate::diagnostic::{Code, Diagnostic, Span, did_you_mean};
use crate::runtime::Catalog;

/// Lambda's limit on layers attached to one function.
pub const MAX_LAYERS_PER_FUNCTION: usize = 5;

/// Lambda's `LayerName` allows up to 140 characters; the zip is named after it too.
const MAX_LAYER_NAME: usize = 140;

fn valid_layer_name(name: &str) -> bool {
    name.len() <= MAX_LAYER_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

const TOP_LEVEL: &[&str] = &["layer", "function"];
const LAYER_CHILDREN: &[&str] = &[
    "description",
    "runtime",
    "architecture",
    "rootfs",
    "dir",
    "library",
    "exclude",
    "file",
];
const FUNCTION_CHILDREN: &[&str] = &["layer", "ld-library-path", "env"];

pub fn lower(doc: &KdlDocument, source: &str, catalog: &Catalog) -> (Spec, Vec<Diagnostic>) {
    let mut cx = Lowering {
        diags: Vec::new(),
        catalog,
        source,
    };
    let mut spec = Spec::default();
    for node in doc.nodes() {
        match node.name().value() {
            "layer" => {
                if let Some(layer) = cx.layer(node) {
                    spec.layers.push(layer);
                }
            }
            "function" => {
                if let Some(function) = cx.function(node) {
                    spec.functions.push(function);
                }
            }
            other => cx.unknown_node(node, other, TOP_LEVEL, "the spec's top level"),
        }
    }
    cx.check_spec(&spec, doc);
    (spec, cx.diags)
}

struct Lowering<'a> {
    diags: Vec<Diagnostic>,
    catalog: &'a Catalog,
    source: &'a str,
}

fn span_of(node: &KdlNode) -> Span {
    node.span().into()
}

fn name_span(node: &KdlNode) -> Span {
    node.name().span().into()
}

fn type_name(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

impl Lowering<'_> {
    fn push(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    fn unknown_node(&mut self, node: &KdlNode, name: &str, allowed: &[&str], place: &str) {
        let help = did_you_mean(name, allowed.iter().copied())
            .unwrap_or_else(|| format!("{place} takes: {}", allowed.join(", ")));
        self.push(
            Diagnostic::error(
                Code::SpecUnknownNode,
                format!("unknown node `{name}` in {place}"),
            )
            .at(name_span(node))
            .label("unknown node")
            .help(help),
        );
    }

    /// Positional string arguments of a node; reports properties not in `props`, wrong types,
    /// children on a leaf, and the wrong number of arguments (`min..=max`).
    fn leaf_args(
        &mut self,
        node: &KdlNode,
        min: usize,
        max: usize,
        props: &[&str],
    ) -> Option<Vec<Spanned<String>>> {
        let name = node.name().value();
        if let Some(children) = node.children() {
            self.push(
                Diagnostic::error(
                    Code::SpecUnknownNode,
                    format!("`{name}` takes no children block"),
                )
                .at(children.span().into())
                .label("unexpected block")
                .help(format!("write `{name}` with its values on one line")),
            );
        }
        let mut ok = true;
        let mut args = Vec::new();
        for entry in node.entries() {
            match entry.name() {
                Some(key) => {
                    if !props.contains(&key.value()) {
                        let help =
                            did_you_mean(key.value(), props.iter().copied()).unwrap_or_else(|| {
                                if props.is_empty() {
                                    format!("`{name}` takes no properties")
                                } else {
                                    format!("`{name}` takes the properties: {}", props.join(", "))
                                }
                            });
                        self.push(
                            Diagnostic::error(
                                Code::SpecUnknownProperty,
                                format!("unknown property `{}` on `{name}`", key.value()),
                            )
                            .at(key.span().into())
                            .label("unknown property")
                            .help(help),
                        );
                        ok = false;
                    }
                }
                None => match entry.value() {
                    KdlValue::String(s) => {
                        args.push(Spanned::new(s.clone(), entry.span().into()));
                    }
                    other => {
                        self.push(wrong_type(entry, name, "a string", type_name(other)));
                        ok = false;
                    }
                },
            }
        }
        if args.len() < min && ok {
            let what = if min == 1 { "a value" } else { "values" };
            self.push(
                Diagnostic::error(Code::SpecMissingValue, format!("`{name}` needs {what}"))
                    .at(name_span(node))
                    .label("missing value")
                    .help(arity_help(name)),
            );
            return None;
        }
        if args.len() > max {
            self.push(
                Diagnostic::error(
                    Code::SpecWrongType,
                    format!(
                        "`{name}` takes {} value{}, found {}",
                        max,
                        if max == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .at(args[max].span)
                .label("extra value")
                .help(arity_help(name)),
            );
            return None;
        }
        ok.then_some(args)
    }

    /// A boolean property such as `override=#true`.
    fn bool_prop(&mut self, node: &KdlNode, key: &str) -> bool {
        let Some(entry) = node.entry(key) else {
            return false;
        };
        match entry.value() {
            KdlValue::Bool(b) => *b,
            other => {
                self.push(wrong_type(entry, key, "#true or #false", type_name(other)));
                false
            }
        }
    }

    fn string_prop(&mut self, node: &KdlNode, key: &str) -> Option<Spanned<String>> {
        let entry = node.entry(key)?;
        match entry.value() {
            KdlValue::String(s) => Some(Spanned::new(s.clone(), entry.span().into())),
            other => {
                self.push(wrong_type(entry, key, "a string", type_name(other)));
                None
            }
        }
    }

    /// Reports a second occurrence of a node that may appear once.
    fn once<T>(&mut self, slot: &Option<T>, node: &KdlNode) -> bool {
        if slot.is_some() {
            self.push(
                Diagnostic::error(
                    Code::SpecDuplicate,
                    format!("`{}` is given twice", node.name().value()),
                )
                .at(name_span(node))
                .label("second occurrence")
                .help("keep one of them"),
            );
            return false;
        }
        true
    }

    /// `node "name" { ... }`: the single name argument, with properties and children checks left
    /// to the caller.
    fn block_name(&mut self, node: &KdlNode, what: &str) -> Option<Spanned<String>> {
        let kind = node.name().value();
        let mut name = None;
        for entry in node.entries() {
            if let Some(key) = entry.name() {
                self.push(
                    Diagnostic::error(
                        Code::SpecUnknownProperty,
                        format!("unknown property `{}` on `{kind}`", key.value()),
                    )
                    .at(key.span().into())
                    .label("unknown property")
                    .help(format!("`{kind}` takes only its {what}")),
                );
            } else if name.is_some() {
                self.push(
                    Diagnostic::error(Code::SpecWrongType, format!("`{kind}` takes one {what}"))
                        .at(entry.span().into())
                        .label("extra value")
                        .help(format!("write `{kind} \"NAME\" {{ ... }}`")),
                );
            } else {
                match entry.value() {
                    KdlValue::String(s) if !s.is_empty() => {
                        name = Some(Spanned::new(s.clone(), entry.span().into()))
                    }
                    KdlValue::String(_) => self.push(
                        Diagnostic::error(Code::SpecMissingValue, format!("the {what} is empty"))
                            .at(entry.span().into())
                            .label("empty")
                            .help(format!("write `{kind} \"NAME\" {{ ... }}`")),
                    ),
                    other => self.push(wrong_type(entry, kind, "a string", type_name(other))),
                }
            }
        }
        if name.is_none() && !node.entries().iter().any(|e| e.name().is_none()) {
            self.push(
                Diagnostic::error(Code::SpecMissingValue, format!("`{kind}` needs a {what}"))
                    .at(name_span(node))
                    .label("missing name")
                    .help(format!("write `{kind} \"NAME\" {{ ... }}`")),
            );
        }
        name
    }

    fn layer(&mut self, node: &KdlNode) -> Option<LayerSpec> {
        let name = self.block_name(node, "layer name")?;
        if !valid_layer_name(&name.value) {
            self.push(
                Diagnostic::error(
                    Code::SpecBadName,
                    format!("`{}` is not a valid layer name", name.value),
                )
                .at(name.span)
                .label("invalid name")
                .help(format!(
                    "Lambda layer names use letters, digits, `-` and `_` (at most {MAX_LAYER_NAME} characters); it also names the zip file"
                )),
            );
            return None;
        }
        let mut description = None;
        let mut runtimes = Vec::new();
        // A `runtime` node with only unknown ids already has its diagnostic.
        let mut runtime_seen = false;
        let mut rootfs_seen = false;
        let mut architecture: Option<Spanned<Architecture>> = None;
        let mut arch_seen = false;
        let mut rootfs = None;
        let mut dir: Option<Spanned<String>> = None;
        let mut libraries = Vec::new();
        let mut excludes = Vec::new();
        let mut files = Vec::new();

        for child in node.iter_children() {
            match child.name().value() {
                "description" => {
                    if self.once(&description, child)
                        && let Some(mut a) = self.leaf_args(child, 1, 1, &[])
                    {
                        description = a.pop();
                    }
                }
                "runtime" => {
                    runtime_seen = true;
                    if let Some(ids) = self.leaf_args(child, 1, usize::MAX, &[]) {
                        for id in ids {
                            if runtimes
                                .iter()
                                .any(|r: &Spanned<String>| r.value == id.value)
                            {
                                self.push(
                                    Diagnostic::error(
                                        Code::SpecDuplicate,
                                        format!("runtime `{}` is given twice", id.value),
                                    )
                                    .at(id.span)
                                    .label("second occurrence")
                                    .help("keep one of them"),
                                );
                            } else if self.catalog.runtime(&id.value).is_some() {
                                runtimes.push(id);
                            } else {
                                self.unknown_runtime(&id);
                            }
                        }
                    }
                }
                "architecture" => {
                    if arch_seen {
                        self.once(&Some(()), child);
                        continue;
                    }
                    arch_seen = true;
                    if let Some(mut a) = self.leaf_args(child, 1, 1, &[]) {
                        let a = a.pop()?;
                        match a.value.parse::<Architecture>() {
                            Ok(arch) => architecture = Some(Spanned::new(arch, a.span)),
                            Err(()) => self.unknown_architecture(&a),
                        }
                    }
                }
                "rootfs" => {
                    rootfs_seen = true;
                    if self.once(&rootfs, child)
                        && let Some(mut a) = self.leaf_args(child, 1, 1, &[])
                    {
                        rootfs = a.pop();
                    }
                }
                "dir" => {
                    if self.once(&dir, child)
                        && let Some(mut a) = self.leaf_args(child, 1, 1, &[])
                    {
                        let a = a.pop()?;
                        dir = self.layer_path(a, "dir");
                    }
                }
                "library" => {
                    if let Some(mut a) = self.leaf_args(child, 1, 1, &["override", "optional"]) {
                        let name = a.pop()?;
                        let override_runtime = self.bool_prop(child, "override");
                        let optional = self.bool_prop(child, "optional");
                        if name.value.is_empty() {
                            self.empty_value(&name, "library");
                        } else if name.value.contains('/') && !name.value.starts_with('/') {
                            let base = name.value.rsplit('/').next().unwrap_or_default();
                            self.push(
                                Diagnostic::error(
                                    Code::SpecBadPath,
                                    format!("`{}` is a relative path", name.value),
                                )
                                .at(name.span)
                                .label("relative path")
                                .help(format!(
                                    "give a soname (`{base}`) or an absolute path inside the rootfs (`/{}`)",
                                    name.value
                                )),
                            );
                        } else {
                            libraries.push(LibraryRequest {
                                name,
                                override_runtime,
                                optional,
                            });
                        }
                    }
                }
                "exclude" => {
                    if let Some(names) = self.leaf_args(child, 1, usize::MAX, &[]) {
                        excludes.extend(names);
                    }
                }
                "file" => {
                    if let Some(mut a) = self.leaf_args(child, 1, 1, &["to"]) {
                        let from = a.pop()?;
                        let to = match self.string_prop(child, "to") {
                            Some(to) => self.layer_path(to, "to"),
                            None => {
                                self.push(
                                    Diagnostic::error(
                                        Code::SpecMissingValue,
                                        "`file` needs a `to=` destination inside the layer",
                                    )
                                    .at(name_span(child))
                                    .label("no destination")
                                    .help(format!(
                                        "write `file \"{}\" to=\"etc/NAME\"`",
                                        from.value
                                    )),
                                );
                                None
                            }
                        };
                        if from.value.is_empty() {
                            self.empty_value(&from, "file");
                        } else if let Some(to) = to {
                            files.push(FileRequest { from, to });
                        }
                    }
                }
                other => self.unknown_node(child, other, LAYER_CHILDREN, "a `layer` block"),
            }
        }

        if rootfs.is_none() && !rootfs_seen {
            self.push(
                Diagnostic::error(
                    Code::SpecMissingValue,
                    format!("layer `{}` names no `rootfs`", name.value),
                )
                .at(name.span)
                .label("no rootfs")
                .help("add `rootfs \"PATH\"`: the root filesystem the libraries are copied from"),
            );
        }
        if runtimes.is_empty() && !runtime_seen {
            self.push(
                Diagnostic::error(
                    Code::SpecMissingValue,
                    format!("layer `{}` names no `runtime`", name.value),
                )
                .at(name.span)
                .label("no runtime")
                .help("add `runtime \"provided.al2023\"` (see `layerc runtimes` for every id)"),
            );
        }
        let architecture = architecture.unwrap_or(Spanned::new(Architecture::X86_64, name.span));
        self.check_runtimes(&name, &runtimes, &architecture);

        Some(LayerSpec {
            dir: dir.unwrap_or(Spanned::new(DEFAULT_DIR.to_string(), name.span)),
            name,
            span: span_of(node),
            description,
            runtimes,
            architecture,
            rootfs,
            libraries,
            excludes,
            files,
        })
    }

    fn function(&mut self, node: &KdlNode) -> Option<FunctionSpec> {
        let id = self.block_name(node, "logical id")?;
        let mut layers = Vec::new();
        let mut mode: Option<Spanned<LdLibraryPathMode>> = None;
        let mut mode_seen = false;
        let mut env = Vec::new();
        for child in node.iter_children() {
            match child.name().value() {
                "layer" => {
                    if let Some(mut a) = self.leaf_args(child, 1, 1, &[]) {
                        let a = a.pop()?;
                        let value = if a.value.starts_with("arn:") {
                            LayerRef::Arn(a.value)
                        } else {
                            LayerRef::Local(a.value)
                        };
                        layers.push(Spanned::new(value, a.span));
                    }
                }
                "ld-library-path" => {
                    if mode_seen {
                        self.once(&Some(()), child);
                        continue;
                    }
                    mode_seen = true;
                    if let Some(mut a) = self.leaf_args(child, 1, 1, &[]) {
                        let a = a.pop()?;
                        let value = match a.value.as_str() {
                            "prepend" => Some(LdLibraryPathMode::Prepend),
                            "append" => Some(LdLibraryPathMode::Append),
                            "keep" => Some(LdLibraryPathMode::Keep),
                            _ => None,
                        };
                        match value {
                            Some(v) => mode = Some(Spanned::new(v, a.span)),
                            None => self.push(
                                Diagnostic::error(
                                    Code::SpecUnknownValue,
                                    format!("unknown `ld-library-path` mode `{}`", a.value),
                                )
                                .at(a.span)
                                .label("unknown mode")
                                .help(
                                    did_you_mean(&a.value, LdLibraryPathMode::NAMES)
                                        .unwrap_or_else(|| {
                                            "use prepend (default), append or keep".to_string()
                                        }),
                                ),
                            ),
                        }
                    }
                }
                "env" => {
                    if let Some(mut a) = self.leaf_args(child, 2, 2, &[]) {
                        let value = a.pop()?;
                        let key = a.pop()?;
                        if key.value == "LD_LIBRARY_PATH" {
                            self.push(
                                Diagnostic::error(
                                    Code::SpecUnknownValue,
                                    "LD_LIBRARY_PATH is computed from the layers and the runtime",
                                )
                                .at(key.span)
                                .label("set by layerc")
                                .help(
                                    "use `ld-library-path \"prepend\"|\"append\"|\"keep\"` instead",
                                ),
                            );
                        } else if env
                            .iter()
                            .any(|(k, _): &(Spanned<String>, _)| k.value == key.value)
                        {
                            self.push(
                                Diagnostic::error(
                                    Code::SpecDuplicate,
                                    format!("`env \"{}\"` is given twice", key.value),
                                )
                                .at(key.span)
                                .label("second value")
                                .help("keep one of them"),
                            );
                        } else {
                            env.push((key, value));
                        }
                    }
                }
                other => self.unknown_node(child, other, FUNCTION_CHILDREN, "a `function` block"),
            }
        }
        Some(FunctionSpec {
            ld_library_path: mode.unwrap_or(Spanned::new(LdLibraryPathMode::Prepend, id.span)),
            id,
            span: span_of(node),
            layers,
            env,
        })
    }

    fn layer_path(&mut self, value: Spanned<String>, what: &str) -> Option<Spanned<String>> {
        match normalize_layer_path(&value.value) {
            Some(p) => Some(Spanned::new(p, value.span)),
            None => {
                let suggestion = value
                    .value
                    .strip_prefix("/opt/")
                    .and_then(normalize_layer_path)
                    .map(|p| {
                        format!("write `{p}`: layers unpack at /opt, so `{p}` becomes /opt/{p}")
                    })
                    .unwrap_or_else(|| {
                        "a path inside the layer is relative, like `lib` or `etc/fonts`".to_string()
                    });
                self.push(
                    Diagnostic::error(
                        Code::SpecBadPath,
                        format!(
                            "`{what}` must be a relative path inside the layer, not `{}`",
                            value.value
                        ),
                    )
                    .at(value.span)
                    .label("not a path inside the layer")
                    .help(suggestion),
                );
                None
            }
        }
    }

    fn empty_value(&mut self, value: &Spanned<String>, what: &str) {
        self.push(
            Diagnostic::error(Code::SpecMissingValue, format!("`{what}` is empty"))
                .at(value.span)
                .label("empty")
                .help("give a soname, a file name or an absolute path inside the rootfs"),
        );
    }

    fn unknown_runtime(&mut self, id: &Spanned<String>) {
        let help = did_you_mean(&id.value, self.catalog.runtime_ids())
            .unwrap_or_else(|| "`layerc runtimes` lists every runtime id".to_string());
        self.push(
            Diagnostic::error(
                Code::SpecUnknownRuntime,
                format!("unknown Lambda runtime `{}`", id.value),
            )
            .at(id.span)
            .label("unknown runtime")
            .help(help),
        );
    }

    fn unknown_architecture(&mut self, value: &Spanned<String>) {
        let help = match value.value.as_str() {
            "amd64" | "x86-64" | "x64" => "Lambda calls it `x86_64`".to_string(),
            "aarch64" | "arm" | "armv8" => "Lambda calls it `arm64`".to_string(),
            v => did_you_mean(v, Architecture::ALL.iter().map(|a| a.as_str()))
                .unwrap_or_else(|| "use `x86_64` or `arm64`".to_string()),
        };
        self.push(
            Diagnostic::error(
                Code::SpecUnknownArchitecture,
                format!("unknown architecture `{}`", value.value),
            )
            .at(value.span)
            .label("unknown architecture")
            .help(help),
        );
    }

    /// All runtimes of a layer share one OS base and support the layer's architecture.
    fn check_runtimes(
        &mut self,
        layer: &Spanned<String>,
        runtimes: &[Spanned<String>],
        arch: &Spanned<Architecture>,
    ) {
        let Some(first) = runtimes.first() else {
            return;
        };
        let first_rt = self
            .catalog
            .runtime(&first.value)
            .expect("checked on lowering");
        for id in &runtimes[1..] {
            let rt = self
                .catalog
                .runtime(&id.value)
                .expect("checked on lowering");
            if rt.os != first_rt.os {
                let os_name = |os: &str| self.catalog.os_name(os).to_string();
                self.push(
                    Diagnostic::error(
                        Code::SpecMixedOs,
                        format!(
                            "layer `{}` mixes runtimes of different OS bases: `{}` runs on {}, `{}` on {}",
                            layer.value,
                            first.value,
                            os_name(&first_rt.os),
                            id.value,
                            os_name(&rt.os)
                        ),
                    )
                    .at(id.span)
                    .label(format!("{} runtime", os_name(&rt.os)))
                    .help("libraries are checked against one OS base: split the layer in two"),
                );
            }
        }
        for id in runtimes {
            let rt = self
                .catalog
                .runtime(&id.value)
                .expect("checked on lowering");
            if !rt.architectures.contains(&arch.value) {
                let supported: Vec<&str> = rt.architectures.iter().map(|a| a.as_str()).collect();
                self.push(
                    Diagnostic::error(
                        Code::SpecUnsupportedArchitecture,
                        format!("runtime `{}` does not run on {}", id.value, arch.value),
                    )
                    .at(id.span)
                    .label(format!("{} only", supported.join(", ")))
                    .help(format!(
                        "set `architecture \"{}\"` or pick a runtime that supports {}",
                        supported[0], arch.value
                    )),
                );
            }
        }
    }

    /// Cross-node rules: at least one layer, unique names, function references.
    fn check_spec(&mut self, spec: &Spec, doc: &KdlDocument) {
        if spec.layers.is_empty() && !self.diags.iter().any(|d| d.is_error()) {
            let span = if doc.nodes().is_empty() {
                Span::new(0, 0)
            } else {
                doc.span().into()
            };
            self.push(
                Diagnostic::error(Code::SpecEmpty, "the spec defines no layer")
                    .at(span)
                    .label("no `layer` node")
                    .help(
                        "add `layer \"NAME\" { runtime \"...\"; rootfs \"...\"; library \"...\" }`",
                    ),
            );
        }
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for layer in &spec.layers {
            if let Some(first) = seen.insert(&layer.name.value, layer.name.span) {
                let line = self.source[..first.offset.min(self.source.len())]
                    .matches('\n')
                    .count()
                    + 1;
                self.push(
                    Diagnostic::error(
                        Code::SpecDuplicateLayer,
                        format!("layer `{}` is defined twice", layer.name.value),
                    )
                    .at(layer.name.span)
                    .label("second definition")
                    .help(format!("first defined on line {line}; rename one of them")),
                );
            }
        }
        let mut ids: BTreeMap<String, &str> = BTreeMap::new();
        for layer in &spec.layers {
            let id = super::logical_id(&layer.name.value);
            match ids.get(&id) {
                Some(first) if *first != layer.name.value => self.push(
                    Diagnostic::error(
                        Code::SpecDuplicateLayer,
                        format!(
                            "layers `{first}` and `{}` both become the template resource `{id}`",
                            layer.name.value
                        ),
                    )
                    .at(layer.name.span)
                    .label("same logical id")
                    .help("rename one of them so their names differ in more than `-`, `_` or case"),
                ),
                _ => {
                    ids.insert(id, &layer.name.value);
                }
            }
        }
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
            if functions
                .insert(&function.id.value, function.id.span)
                .is_some()
            {
                self.push(
                    Diagnostic::error(
                        Code::SpecDuplicate,
                        format!("function `{}` is given twice", function.id.value),
                    )
                    .at(function.id.span)
                    .label("second definition")
                    .help("merge the two `function` blocks"),
                );
            }
            for layer in &function.layers {
                if let LayerRef::Local(name) = &layer.value
                    && spec.layer(name).is_none()
                {
                    let help =
                        did_you_mean(name, spec.layers.iter().map(|l| l.name.value.as_str()))
                            .unwrap_or_else(|| {
                                "name a `layer` of this spec or give a full layer version ARN"
                                    .to_string()
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
                        .help(help),
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
}

fn wrong_type(entry: &KdlEntry, name: &str, expected: &str, found: &str) -> Diagnostic {
    Diagnostic::error(
        Code::SpecWrongType,
        format!("`{name}` expects {expected}, found {found}"),
    )
    .at(entry.span().into())
    .label(format!("expected {expected}"))
    .help(match expected {
        "a string" => "quote the value: `\"...\"`".to_string(),
        _ => format!("write {expected}"),
    })
}

fn arity_help(name: &str) -> String {
    match name {
        "description" => "write `description \"TEXT\"`",
        "runtime" => "write `runtime \"provided.al2023\"` (one or more ids)",
        "architecture" => "write `architecture \"x86_64\"` or `architecture \"arm64\"`",
        "rootfs" => "write `rootfs \"PATH\"` (relative to the spec's folder)",
        "dir" => "write `dir \"lib\"`",
        "library" => "write `library \"libNAME.so.N\"`",
        "exclude" => "write `exclude \"libNAME.so.N\"`",
        "file" => "write `file \"/etc/PATH\" to=\"etc/PATH\"`",
        "layer" => "write `layer \"NAME\"` or `layer \"arn:aws:lambda:...\"`",
        "ld-library-path" => "write `ld-library-path \"prepend\"`",
        "env" => "write `env \"NAME\" \"VALUE\"`",
        _ => "see docs/spec-language.md",
    }
    .to_string()
}
