//! Malformed specs: each one gives the right diagnostic codes, a span on the offending text and a
//! useful help line, and never a panic.

use crate::common::*;

/// A layer that is valid apart from `body`: an existing (empty) rootfs and a supported runtime.
fn layer_with(body: &str) -> String {
    format!("layer \"x\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n{body}}}\n")
}

/// Analyses `text` in a fresh fixture; returns the analysis and the fixture (kept alive).
fn analyze(text: &str) -> (Analysis, Fixture) {
    let fx = Fixture::new();
    fx.spec(text);
    let analysis = fx.analyze();
    (analysis, fx)
}

/// The rendered diagnostics with the fixture's temporary folder replaced by `[TMP]` in the
/// messages before rendering, so line wrapping does not depend on the temp folder's length.
fn rendered_without_tmp(analysis: &Analysis, fx: &Fixture) -> String {
    let tmp = fx.path().display().to_string();
    let diags: Vec<_> = analysis
        .diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            d.message = d.message.replace(&tmp, "[TMP]");
            d
        })
        .collect();
    let text = render_all(&diags, &analysis.source);
    assert!(!text.contains(&tmp), "{text}");
    text
}

/// Only the errors, rendered: lifecycle warnings of old runtimes are covered elsewhere.
fn rendered_errors(analysis: &Analysis) -> String {
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    render_all(&errors, &analysis.source)
}

use layerc::Analysis;

#[test]
fn the_baseline_layer_is_clean() {
    // Every other test adds one mistake to this layer; it must have no finding of its own.
    let (analysis, _fx) = analyze(&layer_with(""));
    assert_eq!(
        codes(&analysis),
        Vec::<&str>::new(),
        "{}",
        rendered(&analysis)
    );
}

// ---- KDL syntax ----------------------------------------------------------------------------

#[test]
fn unclosed_brace() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n");
    let codes = codes(&analysis);
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| *c == "spec::syntax"), "{codes:?}");
    // The first finding points at the brace that is never closed.
    let first = analysis.diagnostics[0].span.expect("span");
    assert_eq!(first.offset, "layer \"x\" ".len());
    assert!(analysis.spec.layers.is_empty());
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unclosed_string() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"provided.al2023\n    rootfs \"rootfs\"\n}\n");
    let codes = codes(&analysis);
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| *c == "spec::syntax"), "{codes:?}");
    // The first finding points at the string that is never closed.
    let first = analysis.diagnostics[0].span.expect("span");
    assert_eq!(first.offset, "layer \"x\" {\n    runtime ".len());
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn stray_closing_brace() {
    let (analysis, _fx) = analyze(&format!("{}}}\n", layer_with("")));
    assert!(!codes(&analysis).is_empty());
    assert!(codes(&analysis).iter().all(|c| *c == "spec::syntax"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn empty_spec() {
    let (analysis, _fx) = analyze("");
    assert_eq!(codes(&analysis), ["spec::empty"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn whitespace_and_comments_only() {
    let (analysis, _fx) =
        analyze("\n   \n// a layer will go here\n/* layer \"x\" { } */\n/-layer \"y\" { }\n\n");
    assert_eq!(codes(&analysis), ["spec::empty"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn binary_garbage_is_refused_without_a_panic() {
    let fx = Fixture::new();
    // A fixed pseudo-random byte string with NULs and invalid UTF-8 sequences.
    let mut bytes = Vec::new();
    let mut state: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.push((state >> 24) as u8);
    }
    bytes.extend_from_slice(b"\0\0\xff\xfe\xc3\x28\x80");
    assert!(std::str::from_utf8(&bytes).is_err());
    fx.write("layer.kdl", &bytes);
    for cmd in ["check", "build", "graph"] {
        let out = fx.layerc(&[cmd]);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{cmd}: {err}");
        let code = out.status.code().expect("exits, not killed by a signal");
        assert!(code == 1 || code == 2, "{cmd}: exit {code}");
        assert!(
            err.contains("layer.kdl") && err.contains("UTF-8"),
            "{cmd}: {err}"
        );
    }
    assert_eq!(files_under(fx.path()), ["layer.kdl"]);
}

#[test]
fn nul_byte_in_valid_utf8_is_a_syntax_error() {
    let (analysis, _fx) = analyze("layer \"x\" \0 {\n}\n");
    assert!(!codes(&analysis).is_empty());
    assert!(
        codes(&analysis).iter().all(|c| *c == "spec::syntax"),
        "{:?}",
        codes(&analysis)
    );
}

#[test]
fn deep_nesting_is_refused_without_stack_overflow() {
    let text = format!("{}{}", "a {\n".repeat(10_000), "}\n".repeat(10_000));
    let (analysis, fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::syntax"]);
    // The finding points at the first block past the limit, on line 65.
    let span = analysis.diagnostics[0].span.expect("span");
    assert_eq!(analysis.source.line_column(span.offset), (65, 3));
    insta::assert_snapshot!(rendered(&analysis));

    let out = fx.layerc(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("spec::syntax"));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn deep_nesting_on_one_line() {
    let fx = Fixture::new();
    fx.spec(&format!("{}{}", "a {".repeat(10_000), "}".repeat(10_000)));
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"spec::syntax\""));
}

/// Raw strings may contain `"` and end in `\`: the nesting guard must not lose track of them,
/// or the deeply nested blocks after them reach the recursive parser.
#[test]
fn deep_nesting_after_a_raw_string_is_refused() {
    for raw in [r##"#"a"b"#"##, r##"#"\"#"##] {
        let fx = Fixture::new();
        fx.spec(&format!(
            "x {raw}\n{}{}",
            "a {\n".repeat(10_000),
            "}\n".repeat(10_000)
        ));
        let out = fx.layerc(&["check"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "raw string {raw}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("spec::syntax"));
    }
}

#[test]
fn raw_strings_with_quotes_are_read_correctly() {
    let (analysis, _fx) = analyze(&layer_with("    description #\"a \"quoted\" word\"#\n"));
    assert_eq!(
        codes(&analysis),
        Vec::<&str>::new(),
        "{}",
        rendered(&analysis)
    );
    let layer = &analysis.spec.layers[0];
    assert_eq!(
        layer.description.as_ref().unwrap().value,
        "a \"quoted\" word"
    );
}

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
        &analysis.source.text[span.offset..span.offset + span.length],
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

// ---- runtimes and architectures ------------------------------------------------------------

#[test]
fn unknown_runtime_close_to_a_dotnet_id() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"dotnetcore31\"\n    rootfs \"rootfs\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::unknown-runtime"]);
    assert_eq!(
        analysis.diagnostics[0].help.as_deref(),
        Some("did you mean `dotnetcore3.1`?")
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unknown_runtime_close_to_a_provided_id() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"provided.al2024\"\n    rootfs \"rootfs\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::unknown-runtime"]);
    let help = help_of(&analysis, 0);
    assert!(help.starts_with("did you mean `provided.al2"), "{help}");
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unknown_runtime_far_from_every_id() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"cobol\"\n    rootfs \"rootfs\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::unknown-runtime"]);
    assert!(help_of(&analysis, 0).contains("layerc runtimes"));
}

#[test]
fn unknown_architecture_amd64() {
    let (analysis, _fx) = analyze(&layer_with("    architecture \"amd64\"\n"));
    assert_eq!(codes(&analysis), ["spec::unknown-architecture"]);
    assert!(help_of(&analysis, 0).contains("Lambda calls it `x86_64`"));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn unknown_architecture_aarch64() {
    let (analysis, _fx) = analyze(&layer_with("    architecture \"aarch64\"\n"));
    assert_eq!(codes(&analysis), ["spec::unknown-architecture"]);
    assert!(help_of(&analysis, 0).contains("`arm64`"));
}

#[test]
fn runtime_without_the_architecture() {
    let (analysis, _fx) = analyze(
        "layer \"x\" {\n    runtime \"dotnetcore2.1\"\n    architecture \"arm64\"\n    rootfs \"rootfs\"\n}\n",
    );
    // dotnetcore2.1 is also past its dates: a warning, listed after the error.
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(errors, ["spec::unsupported-architecture"]);
    assert_eq!(
        codes(&analysis),
        ["spec::unsupported-architecture", "lifecycle::deprecated"]
    );
    insta::assert_snapshot!(rendered_errors(&analysis));
}

#[test]
fn runtimes_of_different_os_bases() {
    let (analysis, _fx) = analyze(
        "layer \"x\" {\n    runtime \"dotnetcore3.1\" \"dotnet8\"\n    rootfs \"rootfs\"\n}\n",
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(errors, ["spec::mixed-os"]);
    // Both runtimes are past their dates on TODAY: warnings, not errors.
    assert_eq!(
        codes(&analysis),
        [
            "spec::mixed-os",
            "lifecycle::deprecated",
            "lifecycle::deprecated"
        ]
    );
    let mixed = &analysis.diagnostics[0];
    assert!(
        mixed.message.contains("Amazon Linux 2") && mixed.message.contains("Amazon Linux 2023")
    );
    // The span is the second runtime, the one that disagrees with the first.
    let span = mixed.span.unwrap();
    assert_eq!(
        &analysis.source.text[span.offset..span.offset + span.length],
        "\"dotnet8\""
    );
    insta::assert_snapshot!(rendered_errors(&analysis));
}

// ---- layers and functions ------------------------------------------------------------------

#[test]
fn duplicate_layer_names() {
    let (analysis, _fx) = analyze(&format!("{}{}", layer_with(""), layer_with("")));
    assert_eq!(codes(&analysis), ["spec::duplicate-layer"]);
    assert!(help_of(&analysis, 0).contains("line 1"));
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
    assert!(analysis.source.text[span.offset..span.offset + span.length].contains(":l6:"));
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
        &analysis.source.text[span.offset..span.offset + span.length],
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

// ---- many findings at once -----------------------------------------------------------------

#[test]
fn every_finding_is_reported_not_only_the_first() {
    let text = "layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    libary \"a\"\n    \
                architecture \"amd64\"\n    dir \"/opt/lib\"\n}\nlayr \"y\" {\n}\n";
    let (analysis, _fx) = analyze(text);
    assert_eq!(
        codes(&analysis),
        [
            "spec::unknown-node",
            "spec::unknown-architecture",
            "spec::bad-path",
            "spec::unknown-node"
        ]
    );
}

#[test]
fn braces_inside_strings_do_not_count_as_nesting() {
    let braces = "{".repeat(100);
    let body = format!(
        "    description #\"{braces} \"quoted\" {braces}\"#\n    exclude \"{braces}\" \"\\\"{braces}\"\n    file \"\"\"\n        {braces}\n        \"\"\" to=\"etc/x\"\n"
    );
    let (analysis, _fx) = analyze(&layer_with(&body));
    assert!(
        !codes(&analysis).contains(&"spec::syntax"),
        "{}",
        rendered(&analysis)
    );
    let layer = &analysis.spec.layers[0];
    assert_eq!(layer.excludes.len(), 2);
}

#[test]
fn layer_names_must_be_valid_lambda_names() {
    for bad in ["../escaped", "my fonts", "a/b"] {
        let text = format!(
            "layer \"{bad}\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}}\n"
        );
        let (analysis, _fx) = analyze(&text);
        assert_eq!(codes(&analysis), ["spec::bad-name"], "{bad}");
    }
    let (analysis, _fx) = analyze(
        "layer \"../escaped\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}\n",
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn layers_with_the_same_logical_id_are_refused() {
    let text = format!(
        "{}{}",
        layer_with("").replace("\"x\"", "\"img-libs\""),
        layer_with("").replace("\"x\"", "\"img_libs\"")
    );
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::duplicate-layer"]);
    assert!(analysis.diagnostics[0].message.contains("ImgLibsLayer"));
}

#[test]
fn more_than_five_layers_without_functions_are_refused() {
    let text: String = (1..=6)
        .map(|i| layer_with("").replace("\"x\"", &format!("\"l{i}\"")))
        .collect();
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::too-many-layers"]);
    assert!(analysis.diagnostics[0].message.contains("Globals.Function"));
}

#[test]
fn repeated_runtimes_and_env_keys_are_refused() {
    let text = format!(
        "{}function \"F\" {{\n    layer \"x\"\n    env \"X\" \"1\"\n    env \"X\" \"2\"\n}}\n",
        layer_with("    runtime \"provided.al2023\"\n")
    );
    let (analysis, _fx) = analyze(&text);
    assert_eq!(codes(&analysis), ["spec::duplicate", "spec::duplicate"]);
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn rootfs_with_two_values_is_one_error() {
    let (analysis, _fx) =
        analyze("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"a\" \"b\"\n}\n");
    assert_eq!(codes(&analysis), ["spec::wrong-type"]);
}

#[test]
fn thousands_of_mangled_specs_never_panic() {
    // Deterministic mutations (deletions, duplications, replacements with KDL punctuation) of a
    // full spec: every one must come back as data plus diagnostics.
    let base = "layer \"gdiplus\" {\n    description \"d\"\n    runtime \"dotnetcore3.1\" \"dotnet8\"\n    architecture \"x86_64\"\n    rootfs \"rootfs\"\n    dir \"lib\"\n    library \"libgdiplus.so.0\" override=#true optional=#false\n    exclude \"libX11.so.6\"\n    file \"/etc/fonts/fonts.conf\" to=\"etc/fonts/fonts.conf\"\n}\nfunction \"F\" {\n    layer \"gdiplus\"\n    ld-library-path \"append\"\n    env \"A\" \"B\"\n}\n";
    let fx = Fixture::new();
    let punctuation = [
        '{', '}', '"', '=', '#', '/', '*', '\\', ';', '(', ')', '\n', ' ', 'x',
    ];
    let mut state = 0x1234_5678_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let chars: Vec<char> = base.chars().collect();
    for _ in 0..3000 {
        let mut text = chars.clone();
        for _ in 0..(1 + next() % 4) {
            let at = next() % text.len();
            match next() % 3 {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, punctuation[next() % punctuation.len()]),
                _ => {
                    let end = (at + next() % 12).min(text.len());
                    let copy: Vec<char> = text[at..end].to_vec();
                    text.splice(at..at, copy);
                }
            }
        }
        let text: String = text.into_iter().collect();
        let analysis = analyze_text(&text, fx.path());
        // Rendering must not panic either, whatever the spans.
        let _ = rendered(&analysis);
    }
}
