//! Layers, functions and paths inside the layer.

use super::*;

// ---- layers and functions ------------------------------------------------------------------

#[test]
fn duplicate_layer_names() {
    let (analysis, _fx) = analyze(&format!("{}{}", layer_with(""), layer_with("")));
    assert_eq!(codes(&analysis), ["spec::duplicate-layer"]);
    let first = &analysis.diagnostics[0].related[0];
    assert_eq!(first.message, "first defined here");
    assert_eq!(
        analysis.sources.root().line_column(first.span.offset),
        (1, 7)
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn node_given_twice() {
    let (analysis, _fx) = analyze(&layer_with("    rootfs \"rootfs\"\n"));
    assert_eq!(codes(&analysis), ["spec::duplicate"]);
}

#[test]
fn function_naming_an_unknown_layer() {
    let text = "layer \"gdiplus\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}\n\
                function \"ImageFunction\" {\n    layer \"gdiplu\"\n}\n";
    let (analysis, _fx) = analyze(text);
    assert_eq!(codes(&analysis), ["spec::unknown-layer"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `gdiplus`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn function_with_more_than_five_layers() {
    let arns: String = (1..=6)
        .map(|i| format!("    layer \"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1\"\n"))
        .collect();
    let text = format!("{}function \"Fn\" {{\n{arns}}}\n", layer_with(""));
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::too-many-layers"]);
    // The span is the sixth layer.
    let span = analysis.diagnostics[0].span.unwrap();
    assert!(analysis.sources.root().text[span.offset..span.offset + span.length].contains(":l6:"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn function_with_exactly_five_layers_is_fine() {
    let arns: String = (1..=4)
        .map(|i| format!("    layer \"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1\"\n"))
        .collect();
    let text = format!(
        "{}function \"Fn\" {{\n    layer \"x\"\n{arns}}}\n",
        layer_with("")
    );
    let (analysis, _fx) = analyze(&text);
    assert_eq!(
        codes(&analysis),
        Vec::<&str>::new(),
        "{}",
        rendered(&analysis)
    );
}

#[test]
fn unknown_ld_library_path_mode() {
    let text = format!(
        "{}function \"Fn\" {{\n    layer \"x\"\n    ld-library-path \"prepnd\"\n}}\n",
        layer_with("")
    );
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::unknown-value"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `prepend`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn env_ld_library_path_is_refused() {
    let text = format!(
        "{}function \"Fn\" {{\n    layer \"x\"\n    env \"LD_LIBRARY_PATH\" \"/opt/lib\"\n}}\n",
        layer_with("")
    );
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::unknown-value"]);
    assert!(help_of(&analysis, 0).contains("ld-library-path"));
    insta::assert_snapshot!(rendered(&analysis));
}

// ---- paths ---------------------------------------------------------------------------------

#[test]
fn dir_under_opt_is_refused_with_the_relative_suggestion() {
    let (analysis, _fx) = analyze(&layer_with("    dir \"/opt/lib\"\n"));
    assert_eq!(codes(&analysis), ["spec::bad-path"]);
    assert!(help_of(&analysis, 0).contains("write `lib`"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn dir_climbing_out_of_the_layer_is_refused() {
    let (analysis, _fx) = analyze(&layer_with("    dir \"../lib\"\n"));
    assert_eq!(codes(&analysis), ["spec::bad-path"]);
}

#[test]
fn missing_rootfs_node() {
    let (analysis, _fx) = analyze("layer \"x\" {\n    runtime \"provided.al2023\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::missing-value"]);
    assert!(analysis.diagnostics[0].message.contains("`rootfs`"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn rootfs_folder_that_does_not_exist() {
    let (analysis, fx) = analyze(
        "layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs/amazonlinux1\"\n}\n",
    );
    assert_eq!(codes(&analysis), ["rootfs::not-found"]);
    let span = analysis.diagnostics[0].span.unwrap();
    assert_eq!(
        &analysis.sources.root().text[span.offset..span.offset + span.length],
        "\"rootfs/amazonlinux1\""
    );
    insta::assert_snapshot!(rendered_without_tmp(&analysis, &fx));

    // On the command line it is a spec error (exit 1), not a tool failure.
    let out = fx.layerc(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("rootfs::not-found"));
}

#[test]
fn relative_library_path_with_a_slash() {
    let (analysis, _fx) = analyze(&layer_with("    library \"usr/lib/libz.so.1\"\n"));
    assert_eq!(codes(&analysis), ["spec::bad-path"]);
    insta::assert_snapshot!(rendered(&analysis));
}
