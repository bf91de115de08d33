//! Several layers on one function: the same path in two layers, a library left out of one layer
//! for another to ship, and the size of all of a function's layers together.

use crate::common::*;

const LAYERS: &str = r#"layer "hello" {
    runtime "provided.al2023"
    rootfs "rootfs"
    library "libhello.so.1"
    exclude "libworld.so.1"
}
layer "world" {
    runtime "provided.al2023"
    rootfs "rootfs"
    library "libworld.so.1"
}
layer "both" {
    runtime "provided.al2023"
    rootfs "rootfs"
    library "libhello.so.1"
}
"#;

/// `libhello.so.1` needs `libworld.so.1`, both in /usr/lib64.
fn fixture() -> Fixture {
    crate::cli::valid_fixture()
}

#[test]
fn a_library_left_out_for_another_layer_needs_that_layer_attached() {
    let fx = fixture();
    let spec = format!(
        "{LAYERS}function \"Alone\" {{\n    layer \"hello\"\n}}\nfunction \"Together\" {{\n    layer \"world\"\n    layer \"hello\"\n}}\n"
    );
    let analysis = analyze_text(&spec, fx.path());
    assert_eq!(
        codes(&analysis),
        ["function::unattached-layer"],
        "{}",
        rendered(&analysis)
    );
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn the_later_layer_wins_a_path_both_ship() {
    let fx = fixture();
    let spec = format!(
        "{LAYERS}function \"F\" {{\n    layer \"both\"\n    layer \"arn:aws:lambda:us-east-1:123456789012:layer:icu:2\"\n    layer \"world\"\n}}\n"
    );
    let analysis = analyze_text(&spec, fx.path());
    assert_eq!(codes(&analysis), ["function::same-path"]);
    let d = &analysis.diagnostics[0];
    assert!(
        d.message
            .starts_with("/opt/lib/libworld.so.1 is shipped by layers `both` and `world`"),
        "{}",
        d.message
    );
    assert!(d.notes[0].contains("arn:aws:lambda:us-east-1:123456789012:layer:icu:2"));
    insta::assert_snapshot!(rendered(&analysis));
    assert_eq!(analysis.exit_code(), 0);
}

#[test]
fn without_functions_every_layer_is_on_every_function() {
    let fx = fixture();
    let analysis = analyze_text(LAYERS, fx.path());
    // `hello` leaves libworld out and `world` ships it: fine, both are on every function. `both`
    // ships libhello and libworld, which `hello` and `world` ship too.
    assert_eq!(
        codes(&analysis),
        ["function::same-path", "function::same-path"],
        "{}",
        rendered(&analysis)
    );
    assert!(
        analysis.diagnostics[0]
            .message
            .contains("every function (Globals.Function)")
    );
}

#[test]
fn the_size_limit_holds_for_all_layers_of_a_function() {
    let fx = fixture();
    // Sparse files: 140,000,000 bytes each, under the limit alone, over it together.
    for name in ["a", "b"] {
        let file =
            std::fs::File::create(fx.root(&format!("/data/{name}.bin"))).unwrap_or_else(|_| {
                std::fs::create_dir_all(fx.root("/data")).unwrap();
                std::fs::File::create(fx.root(&format!("/data/{name}.bin"))).unwrap()
            });
        file.set_len(140_000_000).unwrap();
    }
    let spec = r#"layer "a" {
    runtime "provided.al2023"
    rootfs "rootfs"
    file "/data/a.bin" to="data/a.bin"
}
layer "b" {
    runtime "provided.al2023"
    rootfs "rootfs"
    file "/data/b.bin" to="data/b.bin"
}
function "Big" {
    layer "a"
    layer "b"
}
function "Small" {
    layer "a"
}
"#;
    let analysis = analyze_text(spec, fx.path());
    assert_eq!(codes(&analysis), ["function::unzipped-size"]);
    insta::assert_snapshot!(rendered(&analysis));
}
