//! `layerc graph` in every format, on valid specs and specs with errors.

use super::*;

#[test]
fn graph_json() {
    let fx = valid_fixture();
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        graph,
        serde_json::json!({"layers": [{
            "name": "hello",
            "nodes": [
                {"name": "libhello.so.1", "path": "/usr/lib64/libhello.so.1", "status": "shipped"},
                {"name": "libworld.so.1", "path": "/usr/lib64/libworld.so.1", "status": "shipped"},
            ],
            "edges": [{"from": "libhello.so.1", "to": "libworld.so.1"}],
        }]})
    );
}

#[test]
fn graph_works_on_a_spec_with_validation_errors() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace(
        "    library \"libhello.so.1\"\n",
        "    library \"libhello.so.1\"\n    library \"libgone.so.2\"\n    libary \"typo\"\n",
    ));
    assert_eq!(code(&fx.layerc(&["check"])), 1);
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let nodes = graph["layers"][0]["nodes"].as_array().unwrap();
    let gone = nodes
        .iter()
        .find(|n| n["name"] == "libgone.so.2")
        .expect("missing node listed");
    assert_eq!(gone["status"], "missing");
    assert_eq!(gone["path"], Value::Null);
    assert!(
        nodes
            .iter()
            .any(|n| n["name"] == "libworld.so.1" && n["status"] == "shipped")
    );
}

#[test]
fn graph_of_a_missing_dependency() {
    let fx = valid_fixture();
    fs::remove_file(fx.root("/usr/lib64/libworld.so.1")).unwrap();
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let layer = &graph["layers"][0];
    assert!(
        layer["nodes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(
                {"name": "libworld.so.1", "path": null, "status": "missing"}
            ))
    );
    assert_eq!(
        layer["edges"],
        serde_json::json!([{"from": "libhello.so.1", "to": "libworld.so.1"}])
    );
}

#[test]
fn graph_text_dot_and_mermaid() {
    let fx = valid_fixture();
    let text = fx.layerc(&["graph"]);
    assert_eq!(code(&text), 0);
    let text = stdout(&text);
    assert!(text.starts_with("layer hello"), "{text}");
    assert!(
        text.contains("libhello.so.1") && text.contains("libworld.so.1"),
        "{text}"
    );

    let dot = fx.layerc(&["graph", "--format", "dot"]);
    assert_eq!(code(&dot), 0);
    let dot = stdout(&dot);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("libworld.so.1") && dot.contains("->"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");

    let mermaid = fx.layerc(&["graph", "--format", "mermaid"]);
    assert_eq!(code(&mermaid), 0);
    let mermaid = stdout(&mermaid);
    assert!(mermaid.starts_with("flowchart"), "{mermaid}");
    assert!(
        mermaid.contains("libworld.so.1") && mermaid.contains("-->"),
        "{mermaid}"
    );
}

#[test]
fn graph_of_one_layer() {
    let fx = valid_fixture();
    fx.spec(&format!(
        "{VALID_SPEC}{}",
        VALID_SPEC
            .replace("\"hello\"", "\"other\"")
            .replace("libhello.so.1", "libworld.so.1")
    ));
    let out = fx.layerc(&["graph", "--format", "json", "--layer", "other"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let layers = graph["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["name"], "other");

    let out = fx.layerc(&["graph", "--layer", "NOPE"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("NOPE"));
    assert_eq!(stdout(&out), "");
}

#[test]

fn graph_of_a_spec_that_does_not_parse_reports_why() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n");
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("spec::syntax"), "{}", stderr(&out));
}

#[test]
fn graph_marks_the_objects_that_fail_check_and_lists_layers_for_a_wrong_name() {
    let fx = Fixture::new();
    crate::validation::glibc_234_fixture(&fx);
    fx.spec("layer \"new\" {\n    runtime \"provided.al2\"\n    rootfs \"rootfs\"\n    library \"libnew.so.1\"\n}\n");
    assert_eq!(code(&fx.layerc(&["check"])), 1);
    let out = fx.layerc(&["graph"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("libnew.so.1 [shipped]"))
        .unwrap();
    assert!(line.ends_with(" ✗ abi::symbol-version"), "{text}");
    let provided = text.lines().find(|l| l.contains("libc.so.6")).unwrap();
    assert!(!provided.contains('✗'), "{text}");
    for format in ["dot", "mermaid"] {
        let out = stdout(&fx.layerc(&["graph", "--format", format]));
        assert!(out.contains("✗ abi::symbol-version"), "{format}: {out}");
    }
    // A layer name the spec lacks: the error lists the layers there are.
    let out = fx.layerc(&["graph", "--layer", "newer"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("its layers are new; did you mean `new`?"),
        "{}",
        stderr(&out)
    );
}
