//! KDL syntax errors, nesting guards and hostile bytes.

use super::*;

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
    assert_eq!(analysis.sources.root().line_column(span.offset), (65, 3));
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
