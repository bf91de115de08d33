//! A merge cleans up after itself: renaming a layer in the spec and building again leaves one
//! layer per function and no resource layerc added that the spec no longer has (nor its zip),
//! and a `LayerName` the user wrote in the template, or the spec's `layer-name`, is kept. Judged by
//! cfn-lint and the SAM translator.

use std::fs;
use std::path::Path;

use crate::common::*;
use crate::merge::{ICU, TEMPLATES, assert_no_new_findings, build_ok, project, translate};

/// The spec of `project` with the layer renamed to `glyphs` (and the functions following it).
fn rename(fx: &Fixture, to: &str) {
    let spec = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    fx.spec(&spec.replace("\"fonts\"", &format!("\"{to}\"")));
}

#[test]
fn renaming_a_layer_replaces_it_in_a_json_template() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let functions = format!(
        "function \"PreviewFunction\" {{\n    layer \"fonts\"\n}}\n\
         function \"ResizeFunction\" {{\n    layer \"{ICU}\"\n    layer \"fonts\"\n}}\n"
    );
    let (fx, path) = project("thumbnails.serverless.template", "dotnet10", &functions);
    let original = Path::new(TEMPLATES).join("thumbnails.serverless.template");
    build_ok(&fx, &[]);
    assert!(fx.path().join("build/fonts.zip").exists());
    rename(&fx, "glyphs");
    // The dry run shows the old resource and its references going; nothing is written.
    let before = fs::read_to_string(&path).unwrap();
    let dry = fx.layerc(&["build", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let diff = stdout(&dry);
    assert!(diff.contains("-    \"FontsLayer\": {"), "{diff}");
    assert!(diff.contains("+    \"GlyphsLayer\": {"), "{diff}");
    assert_eq!(fs::read_to_string(&path).unwrap(), before);

    let said = build_ok(&fx, &[]);
    assert!(said.contains("removed "), "{said}");
    let merged = fs::read_to_string(&path).unwrap();
    assert!(!merged.contains("FontsLayer"), "{merged}");
    assert!(!fx.path().join("build/fonts.zip").exists());
    assert!(fx.path().join("build/glyphs.zip").exists());
    assert_no_new_findings(&[(original, path.clone())]);
    let functions = translate(&path);
    assert_eq!(
        functions["PreviewFunction"],
        serde_json::json!(["layer:glyphs"])
    );
    assert_eq!(
        functions["ResizeFunction"],
        serde_json::json!([ICU, "layer:glyphs"])
    );
    // Stable: the next build changes nothing.
    assert!(build_ok(&fx, &[]).contains("is up to date"));
    assert_eq!(fs::read_to_string(&path).unwrap(), merged);
}

#[test]
fn renaming_a_layer_in_globals_keeps_one_layer_and_the_users_layer_name() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project("reports.template.yaml", "python3.12", "");
    let original = Path::new(TEMPLATES).join("reports.template.yaml");
    build_ok(&fx, &[]);
    // The user names the layer per stage in the template.
    let merged = fs::read_to_string(&path).unwrap();
    assert!(merged.contains("      LayerName: fonts\n"), "{merged}");
    let named = merged.replace(
        "      LayerName: fonts\n",
        "      LayerName: !Sub \"fonts-${Environment}\"\n",
    );
    fs::write(&path, &named).unwrap();
    build_ok(&fx, &[]);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        named,
        "the user's LayerName is kept"
    );

    rename(&fx, "glyphs");
    build_ok(&fx, &[]);
    let renamed = fs::read_to_string(&path).unwrap();
    assert!(!renamed.contains("FontsLayer"), "{renamed}");
    assert!(renamed.contains("      - !Ref GlyphsLayer\n"), "{renamed}");
    assert_no_new_findings(&[(original, path.clone())]);
    let functions = translate(&path);
    for id in ["RenderFunction", "ExportFunction"] {
        let layers: Vec<&str> = functions[id]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str())
            .filter(|l| l.starts_with("layer:") && *l != "layer:SharedCodeLayer")
            .collect();
        assert_eq!(layers, ["layer:glyphs"], "{id}: {}", functions[id]);
    }
}

#[test]
fn the_spec_sets_layer_name_with_a_substitution() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project("reports.template.yaml", "python3.12", "");
    let spec = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    fx.spec(&spec.replace(
        "    runtime",
        "    layer-name \"fonts-${Environment}\"\n    runtime",
    ));
    let original = Path::new(TEMPLATES).join("reports.template.yaml");
    build_ok(&fx, &[]);
    let merged = fs::read_to_string(&path).unwrap();
    assert!(
        merged.contains("      LayerName:\n        Fn::Sub: \"fonts-${Environment}\"\n"),
        "{merged}"
    );
    assert_no_new_findings(&[(original, path.clone())]);
    let functions = translate(&path);
    let render = functions["RenderFunction"].as_array().unwrap();
    assert!(
        render.contains(&r#"layer:{"Fn::Sub": "fonts-staging"}"#.into()),
        "{render:?}"
    );
    // A stale resource that something else still refers to is not removed silently.
    let referred = merged.replace("Outputs:", "Outputs:\n  Fonts:\n    Value: !Ref FontsLayer");
    let referred = if referred == merged {
        format!("{merged}\nOutputs:\n  Fonts:\n    Value: !Ref FontsLayer\n")
    } else {
        referred
    };
    fs::write(&path, &referred).unwrap();
    rename(&fx, "glyphs");
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("template::stale-reference"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Value: !Ref FontsLayer"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), referred);
}
