//! Merging layers into the user's own template (`build --merge`): pure text in, text out.
//!
//! A template (JSON or YAML) is parsed into one [`tree::Node`] tree that keeps each value's byte
//! range. A [`Patch`] (the layer resources and what each function needs) becomes [`edit::Want`]s,
//! the planner turns those into splices, and only the spliced bytes change.
//!
//! Invariant: every byte outside the values layerc owns (its layer resources' `Type`, owned
//! `Properties` and `Metadata.layerc` marker, the layer references it adds to `Layers`,
//! `LD_LIBRARY_PATH` and the spec's `env` variables) is kept; a marked layer resource the spec no
//! longer has is removed with its `Ref`s in `Layers` (`remove.rs`); merging the result again
//! returns it unchanged; a merge that cannot be done exactly is an error, never a guess.

pub mod check;
mod edit;
pub mod files;
mod flow;
pub mod input;
mod json;
pub mod plan;
mod remove;
mod tree;
mod wants;
mod yaml;

use edit::{Planner, Syntax, Want};
pub use tree::{Entry, Kind, Lines, Node, Value};

/// The SAM transform that makes `AWS::Serverless::*` types and `Globals` available.
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";
pub const SAM_FUNCTION: &str = "AWS::Serverless::Function";
pub const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
pub const SAM_LAYER: &str = "AWS::Serverless::LayerVersion";
pub const LAMBDA_LAYER: &str = "AWS::Lambda::LayerVersion";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A parsed template and its text.
#[derive(Debug, Clone)]
pub struct Template {
    pub format: Format,
    pub text: String,
    pub root: Node,
    pub lines: Lines,
    /// The file starts with a byte-order mark (kept on merge, not part of `text`).
    pub bom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    pub kind: ErrorKind,
    pub message: String,
    /// 1-based line in the template.
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Syntax,
    UnknownFunction,
    NotAFunction,
    ImageFunction,
    IdConflict,
    Unmergeable,
    /// A layer resource layerc added, that the spec no longer has, is still referred to.
    StaleReference,
}

/// Everything layerc adds to a template.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub layers: Vec<LayerResource>,
    pub functions: Vec<FunctionPatch>,
}

#[derive(Debug, Clone)]
pub struct LayerResource {
    pub logical_id: String,
    pub name: String,
    /// The `LayerName` the spec sets (`layer-name`): a string or an intrinsic function.
    pub layer_name: Option<Value>,
    pub description: String,
    /// The zip's path relative to the template's folder.
    pub content: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FunctionPatch {
    pub target: Target,
    /// `{"Ref": id}` for a layer of the spec, a string for an external ARN; in spec order.
    pub layers: Vec<Value>,
    pub library_path: Option<LibraryPath>,
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Function(String),
    /// `Globals.Function`: every `AWS::Serverless::Function`.
    Globals,
}

/// `LD_LIBRARY_PATH`: the layer folders before (or after) the value the function would otherwise
/// have: its own, the one from `Globals`, or the runtime's default.
#[derive(Debug, Clone)]
pub struct LibraryPath {
    pub folders: Vec<String>,
    pub append: bool,
    pub runtime_default: Vec<String>,
}

impl Template {
    /// JSON when the text starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<Template, MergeError> {
        let bom = text.starts_with('\u{feff}');
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let format = if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Yaml
        };
        let root = match format {
            Format::Json => json::parse(text)?,
            Format::Yaml => yaml::parse(text)?,
        };
        if !matches!(root.kind, Kind::Map(_)) {
            return Err(MergeError {
                kind: ErrorKind::Syntax,
                message: "a template is a mapping of sections (Resources, ...)".into(),
                line: Some(1),
            });
        }
        let lines = Lines::new(text);
        if let Some(dup) = root.duplicate_key() {
            let at = |span: &std::ops::Range<usize>| {
                let line = lines.line(span.start);
                format!(
                    "line {line}, column {}",
                    span.start - lines.line_start(span.start) + 1
                )
            };
            return Err(MergeError {
                kind: ErrorKind::Syntax,
                message: format!(
                    "`{}` is a key twice in one mapping, at {} and at {}; readers disagree on which \
                     counts (SAM's keep the last), so remove one",
                    crate::escape::controls(&dup.key),
                    at(&dup.first),
                    at(&dup.second)
                ),
                line: Some(lines.line(dup.second.start)),
            });
        }
        Ok(Template {
            format,
            text: text.to_string(),
            lines,
            root,
            bom,
        })
    }

    pub fn line(&self, offset: usize) -> usize {
        self.lines.line(offset)
    }

    pub fn resources(&self) -> &[Entry] {
        self.root.get("Resources").map_or(&[], Node::entries)
    }

    pub fn resource(&self, id: &str) -> Option<&Entry> {
        self.root.get("Resources")?.entry(id)
    }

    pub fn resource_type<'a>(&self, resource: &'a Node) -> Option<&'a str> {
        resource.get("Type").and_then(Node::as_str)
    }

    /// `Transform` names the SAM transform (alone or in a list).
    pub fn has_sam_transform(&self) -> bool {
        match self.root.get("Transform") {
            Some(node) => match node.items() {
                Some(items) => items.iter().any(|i| i.as_str() == Some(SAM_TRANSFORM)),
                None => node.as_str() == Some(SAM_TRANSFORM),
            },
            None => false,
        }
    }

    /// `Globals.Function`, when there is one.
    pub fn globals_function(&self) -> Option<&Node> {
        self.root.at(&["Globals", "Function"])
    }

    /// The template with the patch merged in.
    /// The template with the patch merged in. The result is parsed and merged again before it is
    /// returned: a result that does not parse, or that a second merge would change, is refused.
    pub fn merge(&self, patch: &Patch) -> Result<String, MergeError> {
        let merged = self.merge_once(patch)?;
        let refused = |why: String, line| MergeError {
            kind: ErrorKind::Unmergeable,
            message: format!("the merged template {why}; nothing was changed"),
            line,
        };
        let reparsed = Template::parse(&merged)
            .map_err(|e| refused(format!("would not parse ({})", e.message), e.line))?;
        if reparsed.merge_once(patch)? != merged {
            return Err(refused(
                "would not be stable under a second merge".into(),
                None,
            ));
        }
        Ok(merged)
    }

    /// Removes what layerc added and the spec no longer has, then merges the patch in.
    fn merge_once(&self, patch: &Patch) -> Result<String, MergeError> {
        match self.without_stale(patch)? {
            Some(text) => {
                let mut cleaned = Template::parse(&text)?;
                cleaned.bom = self.bom;
                cleaned.add(patch)
            }
            None => self.add(patch),
        }
    }

    fn add(&self, patch: &Patch) -> Result<String, MergeError> {
        let sam = self.has_sam_transform();
        for function in &patch.functions {
            self.check_target(&function.target, sam)?;
        }
        let layer_type = if sam { SAM_LAYER } else { LAMBDA_LAYER };
        let mut resources = Vec::new();
        for layer in &patch.layers {
            self.check_layer_id(&layer.logical_id, layer_type)?;
            resources.push((layer.logical_id.clone(), wants::layer_want(layer, sam)));
        }
        let mut globals = Vec::new();
        for function in &patch.functions {
            let props = self.function_wants(function)?;
            match &function.target {
                Target::Function(id) => resources.push((
                    id.clone(),
                    Want::Existing(vec![("Properties".into(), Want::Merge(props))]),
                )),
                Target::Globals => globals.push(("Function".to_string(), Want::Merge(props))),
            }
        }
        let mut root = Vec::new();
        if !globals.is_empty() {
            root.push(("Globals".to_string(), Want::Merge(globals)));
        }
        root.push(("Resources".to_string(), Want::Existing(resources)));
        let splices = {
            let json;
            let yaml;
            let syntax: &dyn Syntax = match self.format {
                Format::Json => {
                    json = json::JsonSyntax::new(&self.text, &self.lines, &self.root);
                    &json
                }
                Format::Yaml => {
                    yaml = yaml::YamlSyntax::new(&self.text, &self.lines, &self.root);
                    &yaml
                }
            };
            let mut planner = Planner {
                syntax,
                lines: &self.lines,
                splices: Vec::new(),
            };
            planner.merge_map(&self.root, "", &root)?;
            planner.splices
        };
        let merged = edit::apply(&self.text, splices);
        Ok(if self.bom {
            format!("\u{feff}{merged}")
        } else {
            merged
        })
    }

    pub fn check_target(&self, target: &Target, sam: bool) -> Result<(), MergeError> {
        let id = match target {
            Target::Globals if sam => return self.check_globals(),
            Target::Globals => {
                return Err(MergeError {
                    kind: ErrorKind::Unmergeable,
                    message: format!(
                        "Globals needs the SAM transform ({SAM_TRANSFORM}); name each function with a `function` node"
                    ),
                    line: None,
                });
            }
            Target::Function(id) => id,
        };
        let error = |kind, message: String, node: Option<&Node>| MergeError {
            kind,
            message,
            line: node.map(|n| self.line(n.span.start)),
        };
        let Some(entry) = self.resource(id) else {
            return Err(error(
                ErrorKind::UnknownFunction,
                format!("the template has no resource `{id}`"),
                None,
            ));
        };
        match self.resource_type(&entry.value) {
            Some(SAM_FUNCTION | LAMBDA_FUNCTION) => {}
            other => {
                let kind = other.unwrap_or("no Type");
                return Err(error(
                    ErrorKind::NotAFunction,
                    format!("`{id}` is {kind}, not a function"),
                    Some(&entry.value),
                ));
            }
        }
        let image = entry.value.at(&["Properties", "PackageType"]);
        if let Some(node) = image.filter(|n| n.as_str() == Some("Image")) {
            return Err(error(
                ErrorKind::ImageFunction,
                format!(
                    "`{id}` is a container image function (PackageType: Image); layers do not apply to it"
                ),
                Some(node),
            ));
        }
        Ok(())
    }

    /// The functions layers can attach to (`AWS::Serverless::Function` or `AWS::Lambda::Function`,
    /// not `PackageType: Image`), in template order, each with its runtime and its `CodeUri` (or
    /// `Code`) when they are plain strings.
    pub fn zip_functions(&self) -> Vec<ZipFunction> {
        let mut out = Vec::new();
        for entry in self.resources() {
            let kind = self.resource_type(&entry.value);
            let image = entry
                .value
                .at(&["Properties", "PackageType"])
                .and_then(Node::as_str);
            if !matches!(kind, Some(SAM_FUNCTION | LAMBDA_FUNCTION)) || image == Some("Image") {
                continue;
            }
            let target = Target::Function(entry.key.clone());
            let string = |key: &str| {
                self.property(&target, key)
                    .and_then(|p| p.strings())
                    .and_then(|s| s.into_iter().next())
            };
            out.push(ZipFunction {
                id: entry.key.clone(),
                runtime: string("Runtime"),
                code_uri: string("CodeUri").or_else(|| string("Code")),
            });
        }
        out
    }

    /// Layers in `Globals.Function` reach every SAM function, and the transform refuses them on
    /// container image functions.
    fn check_globals(&self) -> Result<(), MergeError> {
        let image = self.resources().iter().find(|e| {
            self.resource_type(&e.value) == Some(SAM_FUNCTION)
                && e.value
                    .at(&["Properties", "PackageType"])
                    .and_then(Node::as_str)
                    == Some("Image")
        });
        match image {
            Some(entry) => Err(MergeError {
                kind: ErrorKind::ImageFunction,
                message: format!(
                    "Globals.Function would give layers to `{}`, a container image function (PackageType: Image), which the SAM transform refuses",
                    entry.key
                ),
                line: Some(self.line(entry.key_span.start)),
            }),
            None => Ok(()),
        }
    }

    fn check_layer_id(&self, id: &str, layer_type: &str) -> Result<(), MergeError> {
        match self.resource(id) {
            Some(entry) if self.resource_type(&entry.value) != Some(layer_type) => {
                Err(MergeError {
                    kind: ErrorKind::IdConflict,
                    message: format!(
                        "`{id}` is already a resource of type {}, where layerc would write its {layer_type}",
                        self.resource_type(&entry.value).unwrap_or("(none)")
                    ),
                    line: Some(self.line(entry.key_span.start)),
                })
            }
            _ => Ok(()),
        }
    }

    /// The properties node a patch edits: a function's `Properties` or `Globals.Function`.
    pub fn target_properties(&self, target: &Target) -> Option<&Node> {
        match target {
            Target::Function(id) => self.resource(id)?.value.get("Properties"),
            Target::Globals => self.globals_function(),
        }
    }

    /// Whether `Globals.Function` applies to the target (it does to SAM functions only).
    pub fn uses_globals(&self, target: &Target) -> bool {
        match target {
            Target::Globals => false,
            Target::Function(id) => self
                .resource(id)
                .is_some_and(|e| self.resource_type(&e.value) == Some(SAM_FUNCTION)),
        }
    }

    /// A function property as the function will see it: its own, else `Globals.Function`'s
    /// (SAM functions only); a `Ref` to a parameter gives the parameter's default.
    pub fn property(&self, target: &Target, key: &str) -> Option<Property<'_>> {
        let own = self.target_properties(target).and_then(|p| p.get(key));
        let (node, from_globals) = match own {
            Some(node) => (node, false),
            None if self.uses_globals(target) => (self.globals_function()?.get(key)?, true),
            None => return None,
        };
        let parameter = node.value().as_ref_target().map(str::to_string);
        let value = match &parameter {
            Some(name) => self
                .root
                .at(&["Parameters", name.as_str(), "Default"])
                .map(Node::value),
            None => Some(node.value()),
        };
        Some(Property {
            node,
            from_globals,
            parameter,
            value,
        })
    }
}

/// A function of the template that takes layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipFunction {
    pub id: String,
    pub runtime: Option<String>,
    /// Where its code is, relative to the template (a folder or a zip), when a plain string.
    pub code_uri: Option<String>,
}

/// Where a function property comes from, and its value when layerc can know it.
#[derive(Debug, Clone)]
pub struct Property<'a> {
    pub node: &'a Node,
    pub from_globals: bool,
    /// The parameter a `Ref` names.
    pub parameter: Option<String>,
    /// `None` for a parameter without a default.
    pub value: Option<Value>,
}

impl Property<'_> {
    /// The value as strings: a scalar, or each scalar of a list; `None` for intrinsics.
    pub fn strings(&self) -> Option<Vec<String>> {
        match self.value.as_ref()? {
            Value::Str(s) => Some(vec![s.clone()]),
            Value::Seq(items) => items
                .iter()
                .map(|i| match i {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}
