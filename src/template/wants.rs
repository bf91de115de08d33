//! From a [`Patch`] to what layerc wants in the template: its layer resources, each function's
//! `Layers` and variables, and `LD_LIBRARY_PATH` computed from the value the function has.

use super::edit::Want;
use super::{
    ErrorKind, FunctionPatch, LAMBDA_LAYER, LayerResource, LibraryPath, MergeError, SAM_LAYER,
    Template, Value,
};

impl Template {
    pub(super) fn function_wants(
        &self,
        patch: &FunctionPatch,
    ) -> Result<Vec<(String, Want)>, MergeError> {
        let mut variables = Vec::new();
        if let Some(path) = &patch.library_path {
            variables.push((
                "LD_LIBRARY_PATH".to_string(),
                Want::Set(Value::Str(self.library_path(patch, path)?)),
            ));
        }
        for (key, value) in &patch.env {
            variables.push((key.clone(), Want::Set(Value::str(value))));
        }
        let mut wants = vec![("Layers".to_string(), Want::Append(patch.layers.clone()))];
        if !variables.is_empty() {
            wants.push((
                "Environment".into(),
                Want::Merge(vec![("Variables".into(), Want::Merge(variables))]),
            ));
        }
        Ok(wants)
    }

    fn library_path(
        &self,
        patch: &FunctionPatch,
        path: &LibraryPath,
    ) -> Result<String, MergeError> {
        const VAR: [&str; 3] = ["Environment", "Variables", "LD_LIBRARY_PATH"];
        let own = self
            .target_properties(&patch.target)
            .and_then(|p| p.at(&VAR));
        let global = if self.uses_globals(&patch.target) {
            self.globals_function().and_then(|g| g.at(&VAR))
        } else {
            None
        };
        let base: Vec<String> = match own.or(global) {
            None => path.runtime_default.clone(),
            Some(node) => match node.as_str() {
                Some(text) => text
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => {
                    return Err(MergeError {
                        kind: ErrorKind::Unmergeable,
                        message: "LD_LIBRARY_PATH is set by an intrinsic function; layerc cannot add the layer folders to it".into(),
                        line: Some(self.line(node.span.start)),
                    });
                }
            },
        };
        let ordered: Vec<&String> = if path.append {
            base.iter().chain(&path.folders).collect()
        } else {
            path.folders.iter().chain(&base).collect()
        };
        let mut out: Vec<&str> = Vec::new();
        for part in ordered {
            if !out.contains(&part.as_str()) {
                out.push(part);
            }
        }
        Ok(out.join(":"))
    }
}

pub(super) fn layer_want(layer: &LayerResource, sam: bool) -> Want {
    let list = |items: &[String]| Value::Seq(items.iter().map(Value::str).collect());
    // A name the spec sets is layerc's to write; otherwise the layer's name is only a default, and a
    // LayerName the user wrote in the template is theirs.
    let name = match &layer.layer_name {
        Some(value) => Want::Set(value.clone()),
        None => Want::Default(Value::str(&layer.name)),
    };
    let mut props = vec![
        ("LayerName".to_string(), name),
        (
            "Description".to_string(),
            Want::Set(Value::str(&layer.description)),
        ),
    ];
    let (type_name, content_key) = if sam {
        (SAM_LAYER, "ContentUri")
    } else {
        (LAMBDA_LAYER, "Content")
    };
    props.push((
        content_key.to_string(),
        Want::Set(Value::str(&layer.content)),
    ));
    props.push((
        "CompatibleRuntimes".into(),
        Want::Set(list(&layer.runtimes)),
    ));
    props.push((
        "CompatibleArchitectures".into(),
        Want::Set(list(&layer.architectures)),
    ));
    if sam {
        props.push(("RetentionPolicy".into(), Want::Set(Value::str("Retain"))));
    }
    let marker = vec![("layer".to_string(), Want::Set(Value::str(&layer.name)))];
    Want::Merge(vec![
        ("Type".into(), Want::Set(Value::str(type_name))),
        ("Properties".into(), Want::Merge(props)),
        (
            "Metadata".into(),
            Want::Merge(vec![(
                super::remove::MARKER.to_string(),
                Want::Merge(marker),
            )]),
        ),
    ])
}
