//! The SAM template fragment: one `AWS::Serverless::LayerVersion` per layer, and the `Layers` and
//! `LD_LIBRARY_PATH` each function (or `Globals.Function`) needs.

use serde_json::{Map, Value, json};

use crate::spec::{
    FunctionSpec, LayerRef, LayerSpec, LdLibraryPathMode, Spanned, Spec, logical_id,
};

/// Lambda caps a layer version's description at 256 characters.
const MAX_DESCRIPTION: usize = 256;

/// The fragment as JSON, keys in a fixed order.
pub fn fragment(spec: &Spec) -> Value {
    let mut resources = Map::new();
    for layer in &spec.layers {
        resources.insert(logical_id(&layer.name.value), layer_resource(layer));
    }
    let mut root = Map::new();
    if let Some(all) = globals_function(spec) {
        root.insert(
            "Globals".into(),
            json!({ "Function": function_properties(&all, spec) }),
        );
    } else {
        for function in &spec.functions {
            resources.insert(
                function.id.value.clone(),
                json!({ "Properties": function_properties(function, spec) }),
            );
        }
    }
    root.insert("Resources".into(), Value::Object(resources));
    Value::Object(root)
}

/// With no `function` node, `Globals.Function` gets every layer, as if one function named them all.
pub fn globals_function(spec: &Spec) -> Option<FunctionSpec> {
    let first = spec.layers.first()?;
    if !spec.functions.is_empty() {
        return None;
    }
    Some(FunctionSpec {
        id: first.name.clone(),
        span: first.span,
        layers: spec
            .layers
            .iter()
            .map(|l| Spanned::new(LayerRef::Local(l.name.value.clone()), l.name.span))
            .collect(),
        ld_library_path: Spanned::new(LdLibraryPathMode::Prepend, first.name.span),
        env: Vec::new(),
        app: None,
    })
}

/// The zip's file name in the output folder (the fragment's `ContentUri` is relative to it).
pub fn zip_name(layer: &str) -> String {
    format!("{layer}.zip")
}

/// The layer version's description: the spec's, or the libraries it ships, within Lambda's limit.
pub fn description(layer: &LayerSpec) -> String {
    let description = match &layer.description {
        Some(d) => d.value.clone(),
        None => {
            let libs: Vec<&str> = layer
                .libraries
                .iter()
                .map(|l| l.name.value.as_str())
                .collect();
            if libs.is_empty() {
                format!("Layer {}", layer.name.value)
            } else {
                format!("Native libraries: {}", libs.join(", "))
            }
        }
    };
    description.chars().take(MAX_DESCRIPTION).collect()
}

fn layer_resource(layer: &LayerSpec) -> Value {
    let description = description(layer);
    let runtimes: Vec<&str> = layer.runtimes.iter().map(|r| r.value.as_str()).collect();
    json!({
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": layer.layer_name.as_ref().map_or_else(|| serde_json::json!(layer.name.value), |n| n.value.to_json()),
            "Description": description,
            "ContentUri": zip_name(&layer.name.value),
            "CompatibleRuntimes": runtimes,
            "CompatibleArchitectures": [layer.architecture.value.as_str()],
            "RetentionPolicy": "Retain",
        },
        // The marker a later `build --merge` recognises: a resource layerc added.
        "Metadata": { "layerc": { "layer": layer.name.value } }
    })
}

fn function_properties(function: &FunctionSpec, spec: &Spec) -> Value {
    let mut layers = Vec::new();
    let mut folders: Vec<String> = Vec::new();
    let mut runtime_path: Vec<String> = Vec::new();
    for layer in &function.layers {
        match &layer.value {
            LayerRef::Arn(arn) => layers.push(Value::String(arn.clone())),
            LayerRef::Local(name) => {
                layers.push(json!({ "Ref": logical_id(name) }));
                if let Some(l) = spec.layer(name) {
                    folders.push(format!("/opt/{}", l.dir.value));
                    if runtime_path.is_empty()
                        && let Some(target) = &l.target
                    {
                        runtime_path = target.runtime().ld_library_path.clone();
                    }
                }
            }
        }
    }
    let mut variables = Map::new();
    let path = match function.ld_library_path.value {
        LdLibraryPathMode::Prepend => dedup(folders.iter().chain(&runtime_path)),
        LdLibraryPathMode::Append => dedup(runtime_path.iter().chain(&folders)),
        LdLibraryPathMode::Keep => Vec::new(),
    };
    if !path.is_empty() && !folders.is_empty() {
        variables.insert("LD_LIBRARY_PATH".into(), Value::String(path.join(":")));
    }
    for (key, value) in &function.env {
        variables.insert(key.value.clone(), Value::String(value.value.clone()));
    }
    let mut props = Map::new();
    props.insert("Layers".into(), Value::Array(layers));
    if !variables.is_empty() {
        props.insert("Environment".into(), json!({ "Variables": variables }));
    }
    Value::Object(props)
}

fn dedup<'a>(items: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i.as_str()) {
            out.push(i);
        }
    }
    out
}

/// The fragment as text: two-space indented JSON with a final newline.
pub fn render(fragment: &Value) -> String {
    let mut text = serde_json::to_string_pretty(fragment).expect("JSON values always serialise");
    text.push('\n');
    text
}
