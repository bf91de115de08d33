//! `layerc build`: what is written, where, and that nothing is written on failure.

use super::*;

#[test]
fn check_writes_nothing() {
    for spec in [
        VALID_SPEC.to_string(),
        VALID_SPEC.replace("libhello", "libnope"),
    ] {
        let fx = valid_fixture();
        fx.spec(&spec);
        let before = files_under(fx.path());
        for format in ["human", "json"] {
            let out = fx.layerc(&["check", "--format", format]);
            assert!(code(&out) <= 1, "{}", stderr(&out));
        }
        assert_eq!(files_under(fx.path()), before);
    }
}

#[test]
fn build_with_errors_writes_nothing_and_says_why() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libnope.so.1"));
    let before = files_under(fx.path());
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("resolve::not-found"));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_under(fx.path()), before);
    assert!(!fx.path().join("build").exists());

    // Also with an explicit output folder.
    let out = fx.layerc(&["build", "--out", "dist"]);
    assert_eq!(code(&out), 1);
    assert!(!fx.path().join("dist").exists());
    assert_eq!(files_under(fx.path()), before);
}

#[test]
fn build_writes_the_zip_and_the_template() {
    let fx = valid_fixture();
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        written(&fx),
        [
            "build/hello.zip",
            "build/serverless.template.json",
            "layer.lock"
        ]
    );
    let err = stderr(&out);
    assert!(
        err.contains("hello.zip") && err.contains("serverless.template.json"),
        "{err}"
    );

    let zip = fs::read(fx.path().join("build/hello.zip")).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "lib/libhello.so.1"), "{names:?}");
    assert!(names.iter().any(|n| n == "lib/libworld.so.1"), "{names:?}");

    let template: Value = serde_json::from_str(
        &fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap(),
    )
    .unwrap();
    let layer = &template["Resources"]["HelloLayer"];
    assert_eq!(layer["Type"], "AWS::Serverless::LayerVersion");
    assert_eq!(layer["Properties"]["LayerName"], "hello");
    assert_eq!(layer["Properties"]["ContentUri"], "hello.zip");
    assert_eq!(
        layer["Properties"]["CompatibleRuntimes"],
        serde_json::json!(["provided.al2023"])
    );
}

#[test]
fn build_twice_gives_the_same_bytes() {
    let fx = valid_fixture();
    assert_eq!(code(&fx.layerc(&["build"])), 0);
    let first = fs::read(fx.path().join("build/hello.zip")).unwrap();
    let first_template = fs::read(fx.path().join("build/serverless.template.json")).unwrap();
    assert_eq!(code(&fx.layerc(&["build"])), 0);
    assert_eq!(fs::read(fx.path().join("build/hello.zip")).unwrap(), first);
    assert_eq!(
        fs::read(fx.path().join("build/serverless.template.json")).unwrap(),
        first_template
    );
    // No temporary files are left beside the outputs.
    assert_eq!(
        written(&fx),
        [
            "build/hello.zip",
            "build/serverless.template.json",
            "layer.lock"
        ]
    );
}

#[test]
fn build_out_dir() {
    let fx = valid_fixture();
    let out = fx.layerc(&["build", "--out", "dist/layers"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        written(&fx),
        [
            "dist/layers/hello.zip",
            "dist/layers/serverless.template.json",
            "layer.lock"
        ]
    );
}

#[test]
fn spec_in_another_folder_builds_beside_the_spec() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    // The spec lives in project/, its rootfs path is relative to that folder.
    fs::rename(fx.path().join("rootfs"), fx.path().join("project-rootfs")).unwrap();
    fx.write(
        "project/layer.kdl",
        VALID_SPEC.replace("\"rootfs\"", "\"../project-rootfs\""),
    );
    let out = fx.layerc(&["build", "project/layer.kdl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(fx.path().join("project/build/hello.zip").is_file());
    assert!(
        fx.path()
            .join("project/build/serverless.template.json")
            .is_file()
    );
    assert!(!fx.path().join("build").exists());
}

#[test]
fn build_into_a_file_exits_2_and_leaves_no_temporary_file() {
    let fx = valid_fixture();
    fx.write("taken", "not a folder");
    let before = files_under(fx.path());
    let out = fx.layerc(&["build", "--out", "taken"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert_no_panic(&out);
    assert_eq!(files_under(fx.path()), before);
}

#[test]
fn build_over_a_folder_named_like_an_output_exits_2() {
    let fx = valid_fixture();
    fs::create_dir_all(fx.path().join("build/serverless.template.json")).unwrap();
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_no_panic(&out);
    // Whatever was written is whole: no temporary file is left behind.
    assert!(
        written(&fx)
            .iter()
            .all(|f| !f.contains(".layerc-") && !f.ends_with(".tmp")),
        "{:?}",
        written(&fx)
    );
}
