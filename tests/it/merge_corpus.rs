//! The merge over real templates written by others (`../shared/data/sam-templates/`, or the
//! folder in `LAYERC_SAM_TEMPLATES`); skipped when neither exists. Each template is merged twice:
//! into `Globals.Function`, and into every zip function by name.

use std::fs;
use std::path::{Path, PathBuf};

use layerc::template::{ErrorKind, FunctionPatch, LibraryPath, Patch, Target, Template, Value};

use crate::merge::{assert_no_new_findings, assert_rest_unchanged, translate_all};
use crate::merge_text::fonts_layer;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERC_SAM_TEMPLATES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sam-templates")
        });
    dir.is_dir().then_some(dir)
}

const DEFAULT_PATH: [&str; 4] = ["/var/lang/lib", "/lib64", "/usr/lib64", "/opt/lib"];

fn function_patch(target: Target) -> FunctionPatch {
    FunctionPatch {
        target,
        layers: vec![Value::reference("FontsLayer")],
        library_path: Some(LibraryPath {
            folders: vec!["/opt/lib".into()],
            append: false,
            runtime_default: DEFAULT_PATH.iter().map(|s| s.to_string()).collect(),
        }),
        env: vec![("FONTCONFIG_PATH".into(), "/opt/etc/fonts".into())],
    }
}

fn patch(functions: Vec<FunctionPatch>) -> Patch {
    Patch {
        layers: vec![fonts_layer()],
        functions,
    }
}

/// The zip functions a merge by name can patch (not container images).
fn zip_functions(template: &Template) -> Vec<String> {
    template
        .resources()
        .iter()
        .filter(|e| {
            template
                .check_target(&Target::Function(e.key.clone()), true)
                .is_ok()
        })
        .map(|e| e.key.clone())
        .collect()
}

/// Every deletion the merge made is inside a line that sets `LD_LIBRARY_PATH` (a value layerc
/// owns and may rewrite); everything else is only ever inserted around.
fn assert_only_insertions(original: &str, merged: &str, name: &str) {
    let diff = similar::TextDiff::from_chars(original, merged);
    let mut at = 0;
    for change in diff.iter_all_changes() {
        let len = change.value().len();
        match change.tag() {
            similar::ChangeTag::Insert => continue,
            similar::ChangeTag::Equal => {}
            similar::ChangeTag::Delete => {
                let start = original[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = original[at..].find('\n').map_or(original.len(), |i| at + i);
                let line = &original[start..end];
                assert!(
                    line.contains("LD_LIBRARY_PATH"),
                    "{name}: the merge removed bytes from {line:?}"
                );
            }
        }
        at += len;
    }
}

#[test]
fn real_templates_merge_cleanly_and_idempotently() {
    let Some(()) = crate::tier::oracle(&["python3", "cfn-lint"]) else {
        return;
    };
    let Some(dir) = corpus() else {
        eprintln!("skipped: no ../shared/data/sam-templates");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    let mut owned = Vec::new();
    let mut expected = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    names.sort();
    for path in &names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = fs::read_to_string(path).unwrap();
        let template = Template::parse(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let functions = zip_functions(&template);
        let by_name = functions
            .iter()
            .map(|f| function_patch(Target::Function(f.clone())))
            .collect();
        for (mode, patch, targets) in [
            (
                "globals",
                patch(vec![function_patch(Target::Globals)]),
                vec!["Globals".to_string()],
            ),
            ("functions", patch(by_name), functions.clone()),
        ] {
            let merged = match template.merge(&patch) {
                Ok(merged) => merged,
                // Globals would reach container image functions: refused, and rightly so.
                Err(e) if mode == "globals" && e.kind == ErrorKind::ImageFunction => continue,
                Err(e) => panic!("{name} ({mode}): {e:?}"),
            };
            let again = Template::parse(&merged).unwrap().merge(&patch).unwrap();
            assert_eq!(
                again, merged,
                "{name} ({mode}): a second merge changed the template"
            );
            assert_only_insertions(&text, &merged, &format!("{name} ({mode})"));
            let out = work.path().join(mode).join(&name);
            fs::create_dir_all(out.parent().unwrap()).unwrap();
            fs::write(&out, &merged).unwrap();
            pairs.push((path.clone(), out.clone()));
            owned.push((
                path.clone(),
                out.clone(),
                serde_json::json!({
                    "layers": ["FontsLayer"],
                    "targets": targets,
                    "refs": [{"Ref": "FontsLayer"}],
                    "variables": ["LD_LIBRARY_PATH", "FONTCONFIG_PATH"],
                }),
            ));
            let carriers = if mode == "globals" {
                sam_functions(&template)
            } else {
                functions.clone()
            };
            expected.push((path.clone(), out, carriers));
        }
    }
    assert_rest_unchanged(&owned);
    assert_no_new_findings(&pairs);
    assert_layer_after_transform(&expected);
}

fn sam_functions(template: &Template) -> Vec<String> {
    let sam: Vec<&String> = template
        .resources()
        .iter()
        .filter(|e| template.resource_type(&e.value) == Some(layerc::template::SAM_FUNCTION))
        .map(|e| &e.key)
        .collect();
    zip_functions(template)
        .into_iter()
        .filter(|id| sam.contains(&id))
        .collect()
}

/// Where the SAM translator accepts the original, the merged functions carry the layer.
fn assert_layer_after_transform(cases: &[(PathBuf, PathBuf, Vec<String>)]) {
    let paths: Vec<PathBuf> = cases
        .iter()
        .flat_map(|(o, m, _)| [o.clone(), m.clone()])
        .collect();
    let translated = translate_all(&paths);
    for (i, (original, merged, functions)) in cases.iter().enumerate() {
        if translated[2 * i].get("error").is_some() {
            continue;
        }
        let after = &translated[2 * i + 1];
        assert!(
            after.get("error").is_none(),
            "{}: {after}",
            merged.display()
        );
        for id in functions {
            let layers = after[id]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no {id}", merged.display()));
            assert!(
                layers.contains(&"layer:fonts".into()),
                "{} ({}): {id} has {layers:?}",
                merged.display(),
                original.display()
            );
        }
    }
}
