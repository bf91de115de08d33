//! From the spec to a [`Patch`]: what each function of the template gets.

use crate::runtime::Catalog;
use crate::spec::{FunctionSpec, LayerRef, LdLibraryPathMode, Spec, logical_id};

use super::{FunctionPatch, LayerResource, LibraryPath, Patch, Target, Template, Value};

/// The patch for `spec`. `zip_dir` is the output folder relative to the template's folder.
pub fn patch(spec: &Spec, catalog: &Catalog, template: &Template, zip_dir: &str) -> Patch {
    let layers = spec
        .layers
        .iter()
        .map(|layer| LayerResource {
            logical_id: logical_id(&layer.name.value),
            name: layer.name.value.clone(),
            layer_name: layer.layer_name.as_ref().map(|n| Value::from(&n.value)),
            description: crate::emit::template::description(layer),
            content: join(zip_dir, &crate::emit::template::zip_name(&layer.name.value)),
            runtimes: layer.runtimes.iter().map(|r| r.value.clone()).collect(),
            architectures: vec![layer.architecture.value.as_str().to_string()],
        })
        .collect();
    let functions = targets(spec)
        .into_iter()
        .map(|(target, function)| function_patch(spec, catalog, template, target, &function))
        .collect();
    Patch { layers, functions }
}

/// Each `function` node, or `Globals.Function` with every layer when there is none.
pub fn targets(spec: &Spec) -> Vec<(Target, FunctionSpec)> {
    if spec.functions.is_empty() {
        return crate::emit::template::globals_function(spec)
            .map(|f| (Target::Globals, f))
            .into_iter()
            .collect();
    }
    spec.functions
        .iter()
        .map(|f| (Target::Function(f.id.value.clone()), f.clone()))
        .collect()
}

fn function_patch(
    spec: &Spec,
    catalog: &Catalog,
    template: &Template,
    target: Target,
    function: &FunctionSpec,
) -> FunctionPatch {
    let mut layers = Vec::new();
    let mut folders = Vec::new();
    let mut layer_runtime = None;
    for layer in &function.layers {
        match &layer.value {
            LayerRef::Arn(arn) => layers.push(Value::str(arn)),
            LayerRef::Local(name) => {
                layers.push(Value::reference(logical_id(name)));
                if let Some(l) = spec.layer(name) {
                    folders.push(format!("/opt/{}", l.dir.value));
                    layer_runtime = layer_runtime.or(l.runtimes.first().map(|r| r.value.clone()));
                }
            }
        }
    }
    // The default search path is the function's own runtime's, when the template says which.
    let runtime = template
        .property(&target, "Runtime")
        .and_then(|p| p.strings())
        .and_then(|r| r.into_iter().next())
        .filter(|r| spec.runtime(catalog, r).is_some())
        .or(layer_runtime);
    let runtime_default = runtime
        .and_then(|r| spec.runtime(catalog, &r))
        .map(|r| r.ld_library_path.clone())
        .unwrap_or_default();
    let library_path = match function.ld_library_path.value {
        _ if folders.is_empty() => None,
        LdLibraryPathMode::Keep => None,
        mode => Some(LibraryPath {
            folders,
            append: mode == LdLibraryPathMode::Append,
            runtime_default,
        }),
    };
    FunctionPatch {
        target,
        layers,
        library_path,
        env: function
            .env
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect(),
    }
}

/// `dir/file` with `/` separators; just `file` when `dir` is empty or `.`.
fn join(dir: &str, file: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => file.to_string(),
        dir => format!("{dir}/{file}"),
    }
}
