//! Unknown names, wrong types and missing values.

use super::*;

// ---- unknown names -------------------------------------------------------------------------

#[test]
fn unknown_top_level_node() {
    let (analysis, _fx) = analyze(&format!("{}layr \"y\" {{\n}}\n", layer_with("")));
    assert_eq!(codes(&analysis), ["spec::unknown-node"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `layer`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unknown_top_level_node_without_close_name() {
    let (analysis, _fx) = analyze(&format!("{}resources {{\n}}\n", layer_with("")));
    assert_eq!(codes(&analysis), ["spec::unknown-node"]);
    let help = help_of(&analysis, 0);
    assert!(
        help.contains("layer") && help.contains("function"),
        "{help}"
    );
}

#[test]
fn unknown_child_node() {
    let (analysis, _fx) = analyze(&layer_with("    libary \"libz.so.1\"\n"));
    assert_eq!(codes(&analysis), ["spec::unknown-node"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `library`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unknown_property() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec(&layer_with("    library \"libhello.so.1\" overide=#true\n"));
    let analysis = fx.analyze();
    assert_eq!(codes(&analysis), ["spec::unknown-property"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `override`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn property_on_a_node_that_takes_none() {
    let (analysis, _fx) = analyze(&layer_with("    exclude \"libX11.so.6\" optional=#true\n"));
    assert_eq!(codes(&analysis), ["spec::unknown-property"]);
    insta::assert_snapshot!(rendered(&analysis));
}

// ---- wrong types and missing values --------------------------------------------------------

#[test]
fn library_given_a_number() {
    let (analysis, _fx) = analyze(&layer_with("    library 42\n"));
    assert_eq!(codes(&analysis), ["spec::wrong-type"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn override_given_a_string() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec(&layer_with(
        "    library \"libhello.so.1\" override=\"yes\"\n",
    ));
    let analysis = fx.analyze();
    assert_eq!(codes(&analysis), ["spec::wrong-type"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn description_given_a_boolean() {
    let (analysis, _fx) = analyze(&layer_with("    description #true\n"));
    assert_eq!(codes(&analysis), ["spec::wrong-type"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn too_many_values() {
    let (analysis, _fx) = analyze(&layer_with("    dir \"lib\" \"lib64\"\n"));
    assert_eq!(codes(&analysis), ["spec::wrong-type"]);
    let span = analysis.diagnostics[0].span.unwrap();
    assert_eq!(
        &analysis.sources.root().text[span.offset..span.offset + span.length],
        "\"lib64\""
    );
}

#[test]
fn children_on_a_leaf_node() {
    let (analysis, _fx) = analyze(&layer_with(
        "    exclude \"libX11.so.6\" {\n        optional #true\n    }\n",
    ));
    assert_eq!(codes(&analysis), ["spec::unknown-node"]);
    assert!(analysis.diagnostics[0].message.contains("no children"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn runtime_without_a_value() {
    let text = "layer \"x\" {\n    runtime\n    rootfs \"rootfs\"\n}\n";
    let (analysis, _fx) = analyze(text);
    // The bare node only: the layer is not reported a second time for lacking a runtime.
    assert_eq!(codes(&analysis), ["spec::missing-value"]);
    assert_eq!(analysis.diagnostics[0].message, "`runtime` needs a value");
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn layer_without_a_name() {
    let (analysis, _fx) =
        analyze("layer {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}\n");
    // The missing name is the finding; no second "the spec defines no layer".
    assert_eq!(codes(&analysis), ["spec::missing-value"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn layer_with_an_empty_name() {
    let (analysis, _fx) =
        analyze("layer \"\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::missing-value"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn layer_without_runtime() {
    let (analysis, _fx) = analyze("layer \"x\" {\n    rootfs \"rootfs\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::missing-value"]);
    assert!(analysis.diagnostics[0].message.contains("no `runtime`"));
}

#[test]
fn missing_runtime_is_reported_beside_another_layers_unknown_runtime() {
    let text = "layer \"a\" {\n    runtime \"bogus\"\n    rootfs \"rootfs\"\n}\n\
                layer \"b\" {\n    rootfs \"rootfs\"\n}\n";
    let (analysis, _fx) = analyze(text);
    assert_eq!(
        codes(&analysis),
        ["spec::unknown-runtime", "spec::missing-value"]
    );
}
