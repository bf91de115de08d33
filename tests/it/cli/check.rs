//! `layerc check --format json`: one object per diagnostic.

use super::*;

#[test]
fn check_json_has_one_object_per_diagnostic() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    libary \"libhello.so.1\"\n    architecture \"amd64\"\n}\n");
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&out));
    for obj in &lines {
        for key in [
            "code", "severity", "message", "file", "line", "column", "span", "help",
        ] {
            assert!(obj.get(key).is_some(), "{key} missing in {obj}");
        }
    }
    let first = &lines[0];
    assert_eq!(first["code"], "spec::unknown-node");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["message"], "unknown node `libary` in a `layer` block");
    assert_eq!(first["file"], "layer.kdl");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 5);
    let offset = VALID_SPEC.find("library").unwrap();
    assert_eq!(
        first["span"],
        serde_json::json!({"offset": offset, "length": 6})
    );
    assert_eq!(first["help"], "did you mean `library`?");

    let second = &lines[1];
    assert_eq!(second["code"], "spec::unknown-architecture");
    assert_eq!(
        (second["line"].as_u64(), second["column"].as_u64()),
        (Some(5), Some(18))
    );
    assert_eq!(second["help"], "Lambda calls it `x86_64`");
}

#[test]
fn check_json_columns_count_characters() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    /* é */ libary \"x\"\n}\n");
    let out = fx.layerc(&["check", "--format", "json"]);
    let obj: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(obj["line"], 4);
    assert_eq!(obj["column"], 13);
}

#[test]
fn check_json_on_a_valid_spec_prints_nothing() {
    let fx = valid_fixture();
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn check_json_names_the_spec_as_given() {
    let fx = valid_fixture();
    fx.write("sub/layer.kdl", "layr \"x\" {\n}\n");
    let out = fx.layerc(&["check", "--format", "json", "sub/layer.kdl"]);
    assert_eq!(code(&out), 1);
    let obj: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(obj["file"], "sub/layer.kdl");
    assert_eq!(obj["code"], "spec::unknown-node");
}
