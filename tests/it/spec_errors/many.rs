//! Several findings at once, and mangled specs that must never panic.

use super::*;

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
        "{}function \"F\" {{\n    layer \"x\"\n    env \"XY\" \"1\"\n    env \"XY\" \"2\"\n}}\n",
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
    for round in 0..3000 {
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
        // Every 150th mangled spec also goes through the language server and `check`.
        let analysis = if round % 150 == 0 {
            analyze_text(&text, fx.path())
        } else {
            analyze_only(&text, fx.path())
        };
        // Rendering must not panic either, whatever the spans.
        let _ = rendered(&analysis);
    }
}
