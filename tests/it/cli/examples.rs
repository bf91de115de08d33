//! The repository's examples, run as a user runs them.

use super::*;

/// The repository's own examples, run as a user would.
fn example(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn quickstart_builds_a_non_empty_layer() {
    // The README's first command: it takes FreeType and libpng from this machine, as it says.
    let needs = ["libfreetype.so.6", "libpng16.so.16", "libpng16.so"];
    let lib = std::path::Path::new("/usr/lib/x86_64-linux-gnu");
    if let Some(missing) = needs.iter().find(|name| !lib.join(name).exists()) {
        crate::tier::skip_or_fail::<()>(format!(
            "the quickstart needs {missing} (apt-get install libfreetype6 libpng-dev)"
        ));
        return;
    }
    let fx = Fixture::new();
    // A copy, so that the lock written beside the spec stays out of the repository.
    let spec = fx.write(
        "layer.kdl",
        fs::read(example("examples/quickstart/layer.kdl")).unwrap(),
    );
    let out_dir = fx.path().join("out");
    let out = fx.layerc(&[
        "build",
        spec.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // No finding at all: in particular no variable naming an /opt path the layer lacks.
    assert!(
        !stderr(&out).contains("function::env-path"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains('⚠'), "{}", stderr(&out));
    let zip = std::fs::read(out_dir.join("fonts.zip")).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names_raw()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    let names = names.join("\n");
    assert!(
        names.lines().any(|l| l == "lib/libfreetype.so.6"),
        "{names}"
    );
    assert!(names.lines().any(|l| l == "lib/libpng16.so"), "{names}");
    assert!(out_dir.join("serverless.template.json").exists());
}

#[test]
fn dotnet_example_spec_targets_its_templates_runtime() {
    let spec = fs::read_to_string(example("examples/dotnet-gdiplus/layer.kdl")).unwrap();
    let (parsed, diags) = layerc::spec::parse(&spec, layerc::runtime::Catalog::builtin());
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let template =
        fs::read_to_string(example("examples/dotnet-gdiplus/serverless.template")).unwrap();
    let template: Value = serde_json::from_str(&template).unwrap();
    let runtime = &template["Resources"]["ImageFunction"]["Properties"]["Runtime"];
    assert_eq!(
        runtime.as_str(),
        Some(parsed.layers[0].runtimes[0].value.as_str())
    );
}
