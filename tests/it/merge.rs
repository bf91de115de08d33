//! `build --merge` on realistic templates, judged by oracles layerc did not write: cfn-lint (no
//! finding the original lacked), the SAM translator (the functions carry the layer) and cfn-lint's
//! own decoder (everything outside what layerc owns is unchanged).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/oracles/sam.py");
pub(crate) const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/templates");
pub(crate) const ICU: &str = "arn:aws:lambda:us-east-1:123456789012:layer:icu:2";

/// cfn-lint's findings per file, as (rule, path in the template): stable when lines move.
pub(crate) fn lint(files: &[PathBuf]) -> Vec<BTreeSet<(String, String)>> {
    let out = Command::new("cfn-lint")
        .args(["--format", "json", "--"])
        .args(files)
        .output()
        .expect("cfn-lint must be installed (.ci/run installs it with pip)");
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("cfn-lint: {}", String::from_utf8_lossy(&out.stderr)));
    files
        .iter()
        .map(|file| {
            findings
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| Path::new(f["Filename"].as_str().unwrap()) == file.as_path())
                .map(|f| {
                    (
                        f["Rule"]["Id"].to_string(),
                        f["Location"]["Path"].to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Asserts cfn-lint finds nothing in each merged file that it did not find in its original.
pub(crate) fn assert_no_new_findings(pairs: &[(PathBuf, PathBuf)]) {
    assert_no_new_findings_but(pairs, &[]);
}

/// Like [`assert_no_new_findings`], allowing the (rule, path) findings in `expected`.
fn assert_no_new_findings_but(pairs: &[(PathBuf, PathBuf)], expected: &[(&str, &str)]) {
    let files: Vec<PathBuf> = pairs
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    let found = lint(&files);
    let expected: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(rule, path)| (format!("\"{rule}\""), path.to_string()))
        .collect();
    for (i, (original, merged)) in pairs.iter().enumerate() {
        let new: Vec<_> = found[2 * i + 1]
            .difference(&found[2 * i])
            .filter(|f| !expected.contains(f))
            .collect();
        assert!(
            new.is_empty(),
            "cfn-lint finds in {} what {} lacked: {new:?}\n{}",
            merged.display(),
            original.display(),
            fs::read_to_string(merged).unwrap()
        );
    }
}

/// Each template's functions after the SAM transform, with their layers (or `{"error": ...}`).
pub(crate) fn translate_all(paths: &[PathBuf]) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .args([ORACLE, "translate"])
        .args(paths)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "samtranslator: {}", stderr(&out));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    paths
        .iter()
        .map(|p| all[p.to_str().unwrap()].clone())
        .collect()
}

pub(crate) fn translate(path: &Path) -> serde_json::Value {
    let functions = translate_all(&[path.to_path_buf()]).remove(0);
    assert!(
        functions.get("error").is_none(),
        "samtranslator: {functions}"
    );
    functions
}

/// Asserts that, once layerc's owned values are taken out, each merged file equals its original.
/// `cases` holds (original, merged, owned) where owned is the JSON `sam.py unmerge` reads.
pub(crate) fn assert_rest_unchanged(cases: &[(PathBuf, PathBuf, serde_json::Value)]) {
    let mut args = Vec::new();
    for (original, merged, owned) in cases {
        let owned_file = merged.with_extension("owned.json");
        fs::write(&owned_file, owned.to_string()).unwrap();
        args.extend([original.clone(), merged.clone(), owned_file]);
    }
    let out = Command::new("python3")
        .args([ORACLE, "unmerge"])
        .args(&args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "changed outside what layerc owns:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// A fixture with a one-library layer for `runtime`, the template copied in, and `functions`.
pub(crate) fn project(template: &str, runtime: &str, functions: &str) -> (Fixture, PathBuf) {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libfonts.so.1", "libfonts.so.1", "render_glyph");
    let path = fx.path().join(template);
    fs::copy(Path::new(TEMPLATES).join(template), &path).unwrap();
    fx.spec(&format!(
        "layer \"fonts\" {{\n    runtime \"{runtime}\"\n    rootfs \"rootfs\"\n    library \"libfonts.so.1\"\n}}\n\ntemplate \"{template}\"\n{functions}"
    ));
    (fx, path)
}

pub(crate) fn build_ok(fx: &Fixture, args: &[&str]) -> String {
    let out = fx.layerc(&[&["build"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn dotnet_json_template_gets_the_layer_on_each_named_function() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project(
        "thumbnails.serverless.template",
        "dotnet10",
        &format!(
            "function \"PreviewFunction\" {{\n    layer \"fonts\"\n    env \"FONTCONFIG_PATH\" \"/opt/etc/fonts\"\n}}\n\
             function \"ResizeFunction\" {{\n    layer \"fonts\"\n    layer \"{ICU}\"\n}}\n"
        ),
    );
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let original = Path::new(TEMPLATES).join("thumbnails.serverless.template");
    assert!(build_ok(&fx, &[]).contains("merged into thumbnails.serverless.template"));
    assert!(!fx.path().join("build/serverless.template.json").exists());
    assert!(fx.path().join("build/fonts.zip").exists());
    let merged = fs::read_to_string(&path).unwrap();
    assert!(
        merged.contains("\"ContentUri\": \"build/fonts.zip\""),
        "{merged}"
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );

    assert_no_new_findings(&[(original.clone(), path.clone())]);
    let functions = translate(&path);
    assert_eq!(
        functions["PreviewFunction"],
        serde_json::json!(["layer:fonts"])
    );
    assert_eq!(
        functions["ResizeFunction"],
        serde_json::json!(["layer:fonts", ICU])
    );
    assert_rest_unchanged(&[(
        original,
        path.clone(),
        serde_json::json!({
            "layers": ["FontsLayer"],
            "targets": ["PreviewFunction", "ResizeFunction"],
            "refs": [{"Ref": "FontsLayer"}, ICU],
            "variables": ["LD_LIBRARY_PATH", "FONTCONFIG_PATH"],
        }),
    )]);

    assert!(build_ok(&fx, &[]).contains("is up to date"));
    assert_eq!(fs::read_to_string(&path).unwrap(), merged);
}

#[test]
fn sam_yaml_template_without_function_nodes_gets_the_layer_in_globals() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project("reports.template.yaml", "python3.12", "");
    let original = Path::new(TEMPLATES).join("reports.template.yaml");
    build_ok(&fx, &[]);
    let merged = fs::read_to_string(&path).unwrap();
    // Comments, tags and quoting outside the edits are kept byte for byte.
    for kept in [
        "    Default: python3.12   # the export job pins its runtime here\n",
        "      # The logging extension, pinned.\n",
        "        TABLE: !Ref ReportTable   # written by every function\n",
        "      MemorySize: !FindInMap [Sizes, !Ref Environment, Memory]\n",
        "          BUCKET: !If [IsProduction, \"reports-prod\", \"reports-staging\"]\n",
    ] {
        assert!(merged.contains(kept), "lost {kept:?}:\n{merged}");
    }
    assert!(merged.contains(
        "      - !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:123456789012:layer:log-shipper:7\n      - !Ref FontsLayer\n"
    ), "{merged}");

    assert_no_new_findings(&[(original.clone(), path.clone())]);
    let functions = translate(&path);
    for id in ["RenderFunction", "ExportFunction"] {
        let layers = functions[id].as_array().unwrap();
        assert!(layers.contains(&"layer:fonts".into()), "{id}: {layers:?}");
    }
    assert_rest_unchanged(&[(
        original,
        path.clone(),
        serde_json::json!({
            "layers": ["FontsLayer"],
            "targets": ["Globals"],
            "refs": [{"Ref": "FontsLayer"}],
            "variables": ["LD_LIBRARY_PATH"],
        }),
    )]);
    build_ok(&fx, &[]);
    assert_eq!(fs::read_to_string(&path).unwrap(), merged);
}

#[test]
fn runtime_from_a_parameter_default_and_an_existing_layers_list() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project(
        "reports.template.yaml",
        "python3.12",
        "function \"ExportFunction\" {\n    layer \"fonts\"\n    ld-library-path \"append\"\n}\n",
    );
    let original = Path::new(TEMPLATES).join("reports.template.yaml");
    let dry = fx.layerc(&["build", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(fs::read(&path).unwrap(), fs::read(&original).unwrap());
    assert!(!fx.path().join("build").exists(), "--dry-run wrote outputs");
    let diff = String::from_utf8(dry.stdout).unwrap();
    assert!(diff.contains("+        - !Ref FontsLayer\n"), "{diff}");

    build_ok(&fx, &[]);
    let merged = fs::read_to_string(&path).unwrap();
    assert!(
        merged
            .contains("      Layers:\n        - !Ref SharedCodeLayer\n        - !Ref FontsLayer\n"),
        "{merged}"
    );
    // append: the runtime's default search path, then the layer's folder.
    assert!(
        merged.contains("LD_LIBRARY_PATH: /var/lang/lib:"),
        "{merged}"
    );
    assert!(merged.contains(":/var/task/lib:/opt/lib\n"), "{merged}");
    assert_no_new_findings(&[(original.clone(), path.clone())]);
    let functions = translate(&path);
    assert!(
        functions["ExportFunction"]
            .as_array()
            .unwrap()
            .contains(&"layer:fonts".into())
    );
    assert_eq!(
        functions["RenderFunction"].as_array().unwrap().len(),
        1,
        "only ExportFunction gets it"
    );
    let dry = fx.layerc(&["build", "--dry-run"]);
    assert!(
        dry.stdout.is_empty(),
        "a merged template has nothing left to change"
    );
}

#[test]
fn a_failing_merge_leaves_the_template_untouched() {
    let (fx, path) = project(
        "reports.template.yaml",
        "python3.12",
        "function \"ExportFunction\" {\n    layer \"fonts\"\n}\n",
    );
    // LD_LIBRARY_PATH given by an intrinsic: layerc cannot prepend to it and says so.
    let text = fs::read_to_string(&path).unwrap().replace(
        "          BUCKET: !If",
        "          LD_LIBRARY_PATH: !Sub \"${AWS::Region}\"\n          BUCKET: !If",
    );
    fs::write(&path, &text).unwrap();
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("template::unmergeable"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(!fx.path().join("build").exists());
}

#[test]
fn no_merge_writes_the_fragment_and_merge_overrides_the_spec() {
    let (fx, path) = project(
        "thumbnails.serverless.template",
        "dotnet10",
        "function \"ResizeFunction\" {\n    layer \"fonts\"\n}\n",
    );
    let before = fs::read(&path).unwrap();
    build_ok(&fx, &["--no-merge"]);
    assert!(fx.path().join("build/serverless.template.json").exists());
    assert_eq!(fs::read(&path).unwrap(), before);

    let other = fx.path().join("deploy/copy.template");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::write(&other, &before).unwrap();
    build_ok(&fx, &["--merge", "deploy/copy.template", "--out", "out"]);
    assert_eq!(fs::read(&path).unwrap(), before);
    let merged = fs::read_to_string(&other).unwrap();
    assert!(
        merged.contains("\"ContentUri\": \"../out/fonts.zip\""),
        "{merged}"
    );
}

#[test]
fn plain_cloudformation_gets_a_lambda_layer_version_to_package() {
    let Some(()) = crate::tier::oracle(&["cfn-lint", "python3"]) else {
        return;
    };
    let (fx, path) = project(
        "worker.template.json",
        "python3.12",
        "function \"WorkerFunction\" {\n    layer \"fonts\"\n}\n",
    );
    let original = Path::new(TEMPLATES).join("worker.template.json");
    build_ok(&fx, &[]);
    let merged = fs::read_to_string(&path).unwrap();
    assert!(
        merged.contains("\"Type\": \"AWS::Lambda::LayerVersion\""),
        "{merged}"
    );
    assert!(
        merged.contains("\"Content\": \"build/fonts.zip\""),
        "{merged}"
    );
    // The same warning the function's own `Code: src/` has: a local path needs `package`.
    assert_no_new_findings_but(
        &[(original.clone(), path.clone())],
        &[(
            "W3002",
            r#"["Resources","FontsLayer","Properties","Content"]"#,
        )],
    );
    assert_rest_unchanged(&[(
        original,
        path,
        serde_json::json!({
            "layers": ["FontsLayer"],
            "targets": ["WorkerFunction"],
            "refs": [{"Ref": "FontsLayer"}],
            "variables": ["LD_LIBRARY_PATH"],
        }),
    )]);
}
