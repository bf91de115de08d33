//! Inputs nested past what a recursive walk survives: a 40 KB YAML template 20,000 levels deep
//! (within CloudFormation's 51,200-byte limit), its JSON and flow-style twins, and a chain of
//! 8,000 imports. Each is a diagnostic (exit 1) for `check`, `build` and the language server,
//! never a stack overflow.

use super::lsp_stdio::Server;
use super::*;

const DEPTH: usize = 20_000;

/// The valid fixture whose spec names `template.yaml`, holding `text`.
fn with_template(name: &str, text: &str) -> Fixture {
    let fx = valid_fixture();
    fx.write(name, text);
    fx.spec(&format!(
        "{VALID_SPEC}\ntemplate \"{name}\"\nfunction \"Fn\" {{\n    layer \"hello\"\n}}\n"
    ));
    fx
}

/// `check` and `build` exit 1 with `code` and `needle`; the language server publishes `code`.
fn refused_everywhere(fx: &Fixture, code_wanted: &str, needle: &str) {
    for args in [&["check"][..], &["build"]] {
        let out = layerc_bounded(fx.path(), args);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{args:?}: {err}");
        assert_no_panic(&out);
        assert!(
            err.contains(code_wanted) && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    let mut server = Server::start(fx.path());
    let spec = std::fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    let diags = server.open_and_wait(&fx.path().join("layer.kdl"), &spec);
    assert!(diags.contains(code_wanted), "{diags}");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn a_yaml_template_nested_20000_deep() {
    // Block sequences on one line: `- - - ... x`, 2 bytes a level.
    let text = format!("Resources:\n  {}x\n", "- ".repeat(DEPTH));
    assert!(text.len() < 51_200);
    let fx = with_template("template.yaml", &text);
    refused_everywhere(&fx, "template::syntax", "nested more than 512 levels deep");
    // Flow style, and JSON.
    let flow = format!("Resources: {}{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let fx = with_template("template.yaml", &flow);
    refused_everywhere(&fx, "template::syntax", "template.yaml");
    let json = format!(
        "{{\"Resources\": {}{}}}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    let fx = with_template("template.json", &json);
    refused_everywhere(&fx, "template::syntax", "template.json");
}

#[test]
fn a_chain_of_8000_imports() {
    let fx = valid_fixture();
    let files = 8_000;
    for i in 0..files {
        let next = if i + 1 < files {
            format!("import \"c{}.kdl\"\n", i + 1)
        } else {
            String::new()
        };
        fx.write(&format!("c{i}.kdl"), next);
    }
    fx.spec(&format!("import \"c0.kdl\"\n{VALID_SPEC}"));
    refused_everywhere(
        &fx,
        "spec::import-depth",
        "imports are chained more than 128",
    );
}
