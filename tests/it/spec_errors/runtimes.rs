//! Runtimes and architectures.

use super::*;

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
    let errors = error_codes(&analysis);
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
    let errors = error_codes(&analysis);
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
        &analysis.sources.root().text[span.offset..span.offset + span.length],
        "\"dotnet8\""
    );
    insta::assert_snapshot!(rendered_errors(&analysis));
}
