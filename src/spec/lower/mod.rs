//! `KdlDocument` → [`Spec`]: names, arities and types checked against one [`schema`], spans kept.
//!
//! `mod.rs` holds the shared helpers (arguments, properties, paths); `layer.rs` and `function.rs`
//! lower one block each, with one method per child node; `checks.rs` holds the cross-node rules.

mod checks;
mod function;
mod layer;
mod packages;
mod runtime;
pub mod schema;

use std::collections::BTreeMap;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::{BadPath, LayerPath, Spanned, Spec, normalize_layer_path};
use crate::diagnostic::{Code, Diagnostic, Span, closest, did_you_mean};
use crate::runtime::Catalog;
use schema::{NodeSchema, Place};

pub use checks::MAX_LAYERS_PER_FUNCTION;

/// Lowers one spec file. The rules across nodes that imports can change (names, references) are
/// left to [`check`], which runs once on the spec with its imports.
pub(super) fn lower(doc: &KdlDocument, catalog: &'static Catalog) -> (Spec, Vec<Diagnostic>) {
    let mut cx = Lowering {
        diags: Vec::new(),
        catalog,
    };
    let mut spec = Spec::default();
    let mut seen = Seen::default();
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
            "template" => {
                if let Some(schema) = cx.child_schema(node, Place::Top, &mut seen)
                    && let Some(mut path) = cx.leaf_args(node, schema)
                {
                    spec.template = path.pop();
                }
            }
            "import" => {
                if let Some(schema) = cx.child_schema(node, Place::Top, &mut seen)
                    && let Some(path) = cx.leaf_args(node, schema)
                {
                    spec.imports.extend(path);
                }
            }
            "cache" => {
                if let Some(schema) = cx.child_schema(node, Place::Top, &mut seen)
                    && let Some(cache) = cx.cache(node, schema)
                {
                    spec.caches.push(cache);
                }
            }
            "trusted-key" => {
                if let Some(schema) = cx.child_schema(node, Place::Top, &mut seen)
                    && let Some(key) = cx.trusted_key(node, schema)
                {
                    spec.trusted_keys.push(key);
                }
            }
            other => cx.unknown_node(node, other, Place::Top),
        }
    }
    (spec, cx.diags)
}

/// The cross-node rules over a spec and everything it imports, with `empty_at` the span a spec
/// without any layer is reported at. Adds nothing when `diags` already holds an error and the spec
/// has no layer (the error explains why).
pub(super) fn check(spec: &Spec, empty_at: Span, diags: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut cx = Lowering {
        diags: Vec::new(),
        catalog: Catalog::builtin(),
    };
    let had_errors = diags.iter().any(Diagnostic::is_error);
    cx.check_spec(spec, empty_at, had_errors);
    cx.diags
}

/// Where a spec without layers is reported: the whole document, or its start when it is empty.
pub(super) fn document_span(doc: &KdlDocument) -> Span {
    if doc.nodes().is_empty() {
        Span::new(0, 0)
    } else {
        doc.span().into()
    }
}

struct Lowering {
    diags: Vec<Diagnostic>,
    catalog: &'static Catalog,
}

/// First occurrences of the nodes of one block, to report a repeated once-only node.
#[derive(Default)]
struct Seen(BTreeMap<&'static str, Span>);

impl Seen {
    fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
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

impl Lowering {
    fn push(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    fn unknown_node(&mut self, node: &KdlNode, name: &str, place: Place) {
        let allowed = schema::names(place);
        let help = did_you_mean(name, allowed.clone()).unwrap_or_else(|| {
            let list: Vec<&str> = allowed.collect();
            format!("{} takes: {}", place.describe(), list.join(", "))
        });
        self.push(
            Diagnostic::error(
                Code::SpecUnknownNode,
                format!("unknown node `{name}` in {}", place.describe()),
            )
            .at(name_span(node))
            .label("unknown node")
            .help(help)
            .suggest(closest(name, schema::names(place))),
        );
    }

    /// The schema of a child node, once the node is known and (for once-only nodes) not repeated.
    /// Unknown and repeated nodes are reported here.
    fn child_schema(
        &mut self,
        child: &KdlNode,
        place: Place,
        seen: &mut Seen,
    ) -> Option<&'static NodeSchema> {
        let name = child.name().value();
        let Some(schema) = schema::find(place, name) else {
            self.unknown_node(child, name, place);
            return None;
        };
        if schema.once
            && let Some(&first) = seen.0.get(schema.name)
        {
            self.given_twice(
                format!("`{name}`"),
                name_span(child),
                first,
                "second occurrence",
            );
            return None;
        }
        seen.0.entry(schema.name).or_insert(name_span(child));
        Some(schema)
    }

    /// `what` is given a second time at `span`; `first` is where it was first given.
    fn given_twice(&mut self, what: String, span: Span, first: Span, label: &str) {
        self.push(
            Diagnostic::error(Code::SpecDuplicate, format!("{what} is given twice"))
                .at(span)
                .label(label)
                .help("keep one of them")
                .related(first, "first given here"),
        );
    }

    /// Positional string arguments of a leaf node; reports properties the schema lacks, wrong
    /// types, children on a leaf, and the wrong number of arguments.
    fn leaf_args(&mut self, node: &KdlNode, schema: &NodeSchema) -> Option<Vec<Spanned<String>>> {
        let name = schema.name;
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
                Some(key) => ok &= self.known_property(name, key, schema.props),
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
        if !self.arity(node, schema, &args, ok) {
            return None;
        }
        ok.then_some(args)
    }

    /// Reports a property `props` lacks; true when it is known.
    fn known_property(&mut self, node: &str, key: &kdl::KdlIdentifier, props: &[&str]) -> bool {
        if props.contains(&key.value()) {
            return true;
        }
        let help = did_you_mean(key.value(), props.iter().copied()).unwrap_or_else(|| {
            if props.is_empty() {
                format!("`{node}` takes no properties")
            } else {
                format!("`{node}` takes the properties: {}", props.join(", "))
            }
        });
        self.push(
            Diagnostic::error(
                Code::SpecUnknownProperty,
                format!("unknown property `{}` on `{node}`", key.value()),
            )
            .at(key.span().into())
            .label("unknown property")
            .help(help)
            .suggest(closest(key.value(), props.iter().copied())),
        );
        false
    }

    /// Checks the number of values; false (with a diagnostic) when it is wrong. Too few values are
    /// not reported when a value was refused already (`ok` false).
    fn arity(
        &mut self,
        node: &KdlNode,
        schema: &NodeSchema,
        args: &[Spanned<String>],
        ok: bool,
    ) -> bool {
        let (name, min, max) = (schema.name, schema.min, schema.max);
        if args.len() < min && ok {
            let what = if min == 1 { "a value" } else { "values" };
            self.push(
                Diagnostic::error(Code::SpecMissingValue, format!("`{name}` needs {what}"))
                    .at(name_span(node))
                    .label("missing value")
                    .help(schema.help),
            );
            return false;
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
                .help(schema.help),
            );
            return false;
        }
        true
    }

    /// A boolean property such as `override=#true`.
    fn bool_prop(&mut self, node: &KdlNode, key: &str) -> bool {
        self.bool_prop_or(node, key, false)
    }

    /// A boolean property, `default` when it is not written (or not a boolean).
    fn bool_prop_or(&mut self, node: &KdlNode, key: &str, default: bool) -> bool {
        let Some(entry) = node.entry(key) else {
            return default;
        };
        match entry.value() {
            KdlValue::Bool(b) => *b,
            other => {
                self.push(wrong_type(entry, key, "#true or #false", type_name(other)));
                default
            }
        }
    }

    /// `cache "URL" push=#true check-signatures=#false`, its URL checked.
    fn cache(&mut self, node: &KdlNode, schema: &NodeSchema) -> Option<super::CacheNode> {
        let url = self.leaf_args(node, schema)?.pop()?;
        if let Err(why) =
            crate::cache::location::CacheSpec::parse(&url.value, std::path::Path::new("/"))
        {
            self.push(
                Diagnostic::error(
                    Code::SpecCache,
                    format!("`cache` names no usable cache: {why}"),
                )
                .at(url.span)
                .label("cache URL")
                .help(schema.help),
            );
            return None;
        }
        Some(super::CacheNode {
            push: self.bool_prop(node, "push"),
            check_signatures: self.bool_prop_or(node, "check-signatures", true),
            url,
        })
    }

    /// `trusted-key "NAME:BASE64"`, checked to be an ed25519 public key.
    fn trusted_key(&mut self, node: &KdlNode, schema: &NodeSchema) -> Option<Spanned<String>> {
        let key = self.leaf_args(node, schema)?.pop()?;
        if let Err(why) = crate::cache::keys::TrustedKey::parse(&key.value) {
            self.push(
                Diagnostic::error(
                    Code::SpecTrustedKey,
                    format!("`trusted-key` is not a public key: {why}"),
                )
                .at(key.span)
                .label("public key")
                .help("give the content of the NAME.public file `layerc cache keygen NAME` writes"),
            );
            return None;
        }
        Some(key)
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

    /// A path inside the layer (`dir`, `to=`), normalised, or a diagnostic.
    fn layer_path(&mut self, value: Spanned<String>, what: &str) -> Option<Spanned<LayerPath>> {
        let why = match normalize_layer_path(&value.value) {
            Ok(p) => return Some(Spanned::new(p, value.span)),
            Err(why) => why,
        };
        let suggestion = value
            .value
            .strip_prefix("/opt/")
            .and_then(|p| normalize_layer_path(p).ok())
            .map(|p| format!("write `{p}`: layers unpack at /opt, so `{p}` becomes /opt/{p}"))
            .unwrap_or_else(|| {
                "a path inside the layer is relative, like `lib` or `etc/fonts`".to_string()
            });
        let shown = value.value.escape_debug();
        let message = match why {
            BadPath::Empty | BadPath::Absolute | BadPath::Dots => {
                format!("`{what}` must be a relative path inside the layer, not `{shown}`")
            }
            other => format!("`{what}` must be a path inside the layer, not `{shown}`: {other}"),
        };
        self.push(
            Diagnostic::error(Code::SpecBadPath, message)
                .at(value.span)
                .label("not a path inside the layer")
                .help(suggestion),
        );
        None
    }

    /// A name or path read inside the rootfs (`library`, `file`): no control character and within
    /// Linux's limits, or an error (no file could have it, and it must not reach a message or the
    /// file system as is).
    fn rootfs_name(&mut self, value: &Spanned<String>, what: &str) -> bool {
        use crate::layer_path::{NAME_MAX, PATH_MAX};
        let why = if let Some(c) = value.value.chars().find(|c| c.is_control()) {
            format!("it holds the control character {c:?}")
        } else if value.value.split('/').any(|p| p.len() > NAME_MAX) {
            format!("a file name in it is longer than {NAME_MAX} bytes")
        } else if value.value.len() > PATH_MAX {
            format!("it is longer than {PATH_MAX} bytes")
        } else {
            return true;
        };
        self.push(
            Diagnostic::error(
                Code::SpecBadName,
                format!("`{what}` names no possible file: {why}"),
            )
            .at(value.span)
            .label("impossible name")
            .help("write the file's name as it is in the rootfs"),
        );
        false
    }

    fn empty_value(&mut self, value: &Spanned<String>, what: &str) {
        self.push(
            Diagnostic::error(Code::SpecMissingValue, format!("`{what}` is empty"))
                .at(value.span)
                .label("empty")
                .help("give a soname, a file name or an absolute path inside the rootfs"),
        );
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
