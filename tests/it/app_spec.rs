//! `app` in a function: `check` (and the language server, through `analyze_text`) verifies that the
//! application, the function's layers and the runtime load completely.

use crate::app_scan::wheel;
use crate::common::*;

/// A spec whose function `Render` names the application `rootfs/app` and, with `with_layer`, a
/// layer shipping the library the application lacks.
fn spec(fx: &Fixture, app: &str, with_layer: bool) -> String {
    let layer = if with_layer {
        "    layer \"bundled\"\n"
    } else {
        ""
    };
    let text = format!(
        "layer \"bundled\" {{\n    runtime \"python3.12\"\n    rootfs \"rootfs\"\n    library \"libb.so.1\"\n}}\n\nlayer \"other\" {{\n    runtime \"python3.12\"\n    rootfs \"rootfs\"\n    library \"libother.so.1\"\n}}\n\nfunction \"Render\" {{\n    layer \"other\"\n{layer}    app \"{app}\"\n}}\n"
    );
    fx.spec(&text);
    text
}

fn fixture() -> Fixture {
    let fx = Fixture::new();
    wheel(&fx, true);
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    fx.lib("/usr/lib64/libother.so.1", "libother.so.1", "other");
    fx
}

#[test]
fn an_app_that_does_not_load_is_an_error_on_its_span() {
    let fx = fixture();
    let text = spec(&fx, "rootfs/app", false);
    let a = fx.analyze();
    assert_eq!(error_codes(&a), ["app::needed-not-found"]);
    let span = a.diagnostics[0].span.unwrap();
    assert_eq!(
        &text[span.offset..span.offset + span.length],
        "\"rootfs/app\""
    );
    insta::assert_snapshot!(rendered(&a));
    let out = fx.layerc(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn the_functions_layers_make_it_load() {
    let fx = fixture();
    spec(&fx, "rootfs/app", true);
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    // `build` checks it too, and builds.
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_missing_app_is_its_own_error() {
    let fx = fixture();
    spec(&fx, "bin/publish", true);
    let a = fx.analyze();
    assert_eq!(error_codes(&a), ["app::not-found"]);
    insta::assert_snapshot!(rendered(&a));
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!fx.path().join("build").exists());
}

#[test]
fn an_app_in_an_imported_spec_is_relative_to_that_spec() {
    let fx = fixture();
    let text =
        spec(&fx, "../rootfs/app", false).replace("rootfs \"rootfs\"", "rootfs \"../rootfs\"");
    fx.write("sub/inner.kdl", &text);
    // Longer than the imported spec, so that a span left unshifted would land in this file.
    let outer = format!("import \"sub/inner.kdl\"\n// {}\n", "-".repeat(text.len()));
    fx.spec(&outer);
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diag: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(diag["code"], "app::needed-not-found");
    assert_eq!(diag["file"], "sub/inner.kdl");
    analyze_text(&outer, fx.path());
}

/// The language server's hover on `app` says what the check saw.
#[test]
fn hovering_app_summarises_the_check() {
    use crate::lsp_client::{Client, uri_of};
    let fx = fixture();
    let text = spec(&fx, "rootfs/app", false);
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, &text, 1);
    let diags = client.diagnostics(&uri, 1);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let offset = text.find("\"rootfs/app\"").unwrap() + 3;
    let (line, character) = crate::lsp_client::utf16_position(&text, offset);
    let hover = client.request(
        "textDocument/hover",
        serde_json::json!({ "textDocument": { "uri": uri.as_str() },
                            "position": { "line": line, "character": character } }),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("python3.12 (Amazon Linux 2023), x86_64"),
        "{shown}"
    );
    assert!(shown.contains("3 ELF objects"), "{shown}");
    assert!(shown.contains("1 problem(s)"), "{shown}");
    assert!(shown.contains("`other`"), "{shown}");
    assert_eq!(client.shutdown(), 0);
}

/// `app "/"` names the host: the walk stops at Lambda's size limit instead of walking the disk.
#[test]
fn an_app_larger_than_lambda_allows_stops_the_walk() {
    let fx = fixture();
    spec(&fx, "/usr", true);
    let started = std::time::Instant::now();
    let a = fx.analyze();
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        error_codes(&a).contains(&"app::too-large"),
        "{}",
        rendered(&a)
    );
}
