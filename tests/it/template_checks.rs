//! `check` against the template a spec names: each problem is a diagnostic on the spec's span,
//! naming the template line it is about.

use std::fs;

use layerc::Analysis;

use crate::common::*;

/// Analyses a spec with one `fonts` layer for `runtime` (plus `rest`) and `template.yaml`.
fn check(runtime: &str, template: &str, rest: &str) -> (Analysis, Fixture) {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfonts.so.1", "libfonts.so.1", "render_glyph");
    fx.write("template.yaml", template);
    fx.spec(&format!(
        "layer \"fonts\" {{\n    runtime \"{runtime}\"\n    rootfs \"rootfs\"\n    library \"libfonts.so.1\"\n}}\ntemplate \"template.yaml\"\n{rest}"
    ));
    let analysis = fx.analyze();
    (analysis, fx)
}

const HEADER: &str =
    "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n";

fn sam(resources: &str) -> String {
    format!("{HEADER}Resources:\n{resources}")
}

const RENDER: &str = "  RenderFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n      CodeUri: src/\n      Runtime: python3.12\n";

#[test]
fn a_mistyped_function_id_is_an_error_on_its_span() {
    let (analysis, _fx) = check(
        "python3.12",
        &sam(RENDER),
        "function \"RenderFuncton\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::unknown-function"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn a_resource_that_is_not_a_function() {
    let template = sam(&format!("{RENDER}  Uploads:\n    Type: AWS::S3::Bucket\n"));
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"Uploads\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::not-a-function"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn image_functions_take_no_layers() {
    let image = "  Worker:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      ImageUri: worker:latest\n";
    let (analysis, _fx) = check(
        "python3.12",
        &sam(&format!("{RENDER}{image}")),
        "function \"Worker\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::image-function"]);
    insta::assert_snapshot!(rendered(&analysis));
    // Without `function` nodes the layer would go to Globals, and so to the image function too.
    let (analysis, _fx) = check("python3.12", &sam(&format!("{RENDER}{image}")), "");
    assert_eq!(codes(&analysis), ["template::image-function"]);
}

#[test]
fn runtimes_of_another_os_or_not_in_the_layer() {
    let template = sam(&format!(
        "{RENDER}  LegacyFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n      CodeUri: src/\n      Runtime: python3.9\n"
    ));
    let (analysis, _fx) = check(
        "python3.13",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\nfunction \"LegacyFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(
        codes(&analysis),
        [
            "template::runtime-mismatch",
            "template::runtime-mismatch",
            "lifecycle::deprecated"
        ]
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn a_runtime_from_globals_or_a_parameter_default_is_checked_too() {
    let template = format!(
        "{HEADER}Parameters:\n  Py:\n    Type: String\n    Default: python3.9\nGlobals:\n  Function:\n    Runtime: python3.13\nResources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: a.h\n      CodeUri: a/\n  B:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: b.h\n      CodeUri: b/\n      Runtime: !Ref Py\n"
    );
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"A\" { layer \"fonts\"; }\nfunction \"B\" { layer \"fonts\"; }\n",
    );
    let messages: Vec<&str> = analysis
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        codes(&analysis),
        [
            "template::runtime-mismatch",
            "template::runtime-mismatch",
            "lifecycle::deprecated"
        ]
    );
    assert!(
        messages[0].contains("Runtime of A (template.yaml:9) is python3.13"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("Runtime of B (template.yaml:21) is python3.9"),
        "{messages:?}"
    );
}

#[test]
fn architectures_must_match_the_layer() {
    let template = sam(&RENDER.replace(
        "      Runtime: python3.12\n",
        "      Runtime: python3.12\n      Architectures: [arm64]\n",
    ));
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::architecture-mismatch"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn more_than_five_layers_counting_globals() {
    let arn = |n: usize| format!("      - arn:aws:lambda:us-east-1:123456789012:layer:l{n}:1\n");
    let template = format!(
        "{HEADER}Globals:\n  Function:\n    Layers:\n{}{}{}Resources:\n{RENDER}      Layers:\n{}{}",
        arn(1),
        arn(2),
        arn(3),
        arn(4),
        arn(5)
    );
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::too-many-layers"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn a_deprecated_runtime_is_a_warning_reported_once() {
    let template = sam(&RENDER.replace("python3.12", "python3.8"));
    // The layer names python3.8 too: the warning is on the layer's `runtime` only.
    let (analysis, _fx) = check(
        "python3.8",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert!(!analysis.has_errors(), "{}", rendered(&analysis));
    assert_eq!(codes(&analysis), ["lifecycle::deprecated"]);
    // A function runtime the spec does not name gets its own warning, with the template line.
    let template = sam(&RENDER.replace("python3.12", "python3.9"));
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    let warning = analysis.diagnostics.iter().find(|d| !d.is_error()).unwrap();
    insta::assert_snapshot!(render_all(std::slice::from_ref(warning), &analysis.sources));
}

#[test]
fn a_layer_id_taken_by_another_resource() {
    let template = sam(&format!(
        "{RENDER}  FontsLayer:\n    Type: AWS::S3::Bucket\n"
    ));
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::id-conflict"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn ld_library_path_from_an_intrinsic_cannot_be_extended() {
    let template = sam(&format!(
        "{RENDER}      Environment:\n        Variables:\n          LD_LIBRARY_PATH: !Sub \"/opt/${{Stage}}\"\n"
    ));
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::unmergeable"]);
    insta::assert_snapshot!(rendered(&analysis));
    // `keep` leaves LD_LIBRARY_PATH to the user, so the merge can go ahead.
    let (analysis, _fx) = check(
        "python3.12",
        &template,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n    ld-library-path \"keep\"\n}\n",
    );
    assert!(codes(&analysis).is_empty(), "{}", rendered(&analysis));
}

#[test]
fn a_missing_or_broken_template() {
    let (analysis, fx) = check("python3.12", &sam(RENDER), "");
    assert!(codes(&analysis).is_empty(), "{}", rendered(&analysis));
    fs::remove_file(fx.path().join("template.yaml")).unwrap();
    assert_eq!(codes(&fx.analyze()), ["template::not-found"]);
    fs::write(
        fx.path().join("template.yaml"),
        "Resources:\n  A: [unclosed\n",
    )
    .unwrap();
    let analysis = fx.analyze();
    assert_eq!(codes(&analysis), ["template::syntax"]);
    insta::assert_snapshot!(rendered(&analysis));
    fs::write(
        fx.path().join("template.yaml"),
        "{\n  \"Resources\": {,}\n}\n",
    )
    .unwrap();
    assert_eq!(codes(&fx.analyze()), ["template::syntax"]);
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1));
}

/// What Python's json and PyYAML (the readers SAM's tools use) make of `text`: the function's
/// runtime they keep.
fn python_reads(text: &str, yaml: bool) -> String {
    let script = "import sys, json\ntext = open(sys.argv[1]).read()\nif sys.argv[2] == 'yaml':\n    import yaml\n    class L(yaml.SafeLoader): pass\n    L.add_multi_constructor('!', lambda l, s, n: None)\n    doc = yaml.load(text, Loader=L)\nelse:\n    doc = json.loads(text)\nprint(doc['Resources']['RenderFunction']['Properties']['Runtime'])\n";
    let fx = Fixture::new();
    let path = fx.write("t", text);
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .arg(if yaml { "yaml" } else { "json" })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_key_twice_in_one_mapping_is_refused_naming_both() {
    // The function twice: layerc would edit the first, SAM's readers keep the second.
    let twice = format!(
        "{RENDER}{}",
        RENDER.replace("Runtime: python3.12", "Runtime: python3.13")
    );
    let yaml = sam(&twice);
    if crate::tier::oracle_check(&["python3"]) {
        assert_eq!(python_reads(&yaml, true), "python3.13");
    }
    let (analysis, _fx) = check(
        "python3.12",
        &yaml,
        "function \"RenderFunction\" {\n    layer \"fonts\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["template::syntax"]);
    let message = &analysis.diagnostics[0].message;
    assert!(
        message.contains("`RenderFunction` is a key twice in one mapping, at line 4, column 3 and at line 10, column 3"),
        "{message}"
    );
    // `Resources` twice, in JSON.
    let json = "{\"Resources\": {\"RenderFunction\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": {\"Runtime\": \"python3.12\"}}},\n \"Resources\": {\"RenderFunction\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": {\"Runtime\": \"python3.13\"}}}}\n";
    if crate::tier::oracle_check(&["python3"]) {
        assert_eq!(python_reads(json, false), "python3.13");
    }
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfonts.so.1", "libfonts.so.1", "render_glyph");
    fx.write("template.json", json);
    fx.spec("layer \"fonts\" {\n    runtime \"python3.12\"\n    rootfs \"rootfs\"\n    library \"libfonts.so.1\"\n}\ntemplate \"template.json\"\n");
    let out = fx.layerc(&["build", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stdout(&out);
    assert!(err.contains("template::syntax"), "{err}");
    assert!(
        err.contains("line 1, column 2") && err.contains("line 2, column 2"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(fx.path().join("template.json")).unwrap(),
        json
    );
}
