//! The language server over the protocol, in-process: diagnostics per version, positions after
//! non-ASCII text, completion, hover, definition, code actions, random edits and shutdown.

use serde_json::{Value, json};

use crate::common::*;
use crate::lsp_client::{Client, uri_of};

const SPEC: &str = "layer \"fonts\" {
    /* é🦀 */ runtime \"provided.al2O23\"
    rootfs \"rootfs\"
    library \"libhello.so.1\"
}

function \"ImageFunction\" {
    layer \"fonts\"
}
";

fn fixture() -> Fixture {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec(SPEC);
    fx
}

fn position(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

fn at(uri: &lsp_types::Uri, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri.as_str() }, "position": position(line, character) })
}

pub(crate) fn labels(completion: &Value) -> Vec<String> {
    completion
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// The unknown runtime's string starts after `    /* é🦀 */ runtime `: 22 UTF-16 units (é is 1,
/// 🦀 is 2) or 25 bytes (é is 2, 🦀 is 4); it is 17 long, and its typo `O` is 13 in.
#[test]
fn unknown_runtime_is_underlined_after_non_ascii_text_and_cleared_when_fixed() {
    let utf16: (Option<&[&str]>, &str, u32) = (None, "utf-16", 22);
    let utf8: (Option<&[&str]>, &str, u32) = (Some(&["utf-8", "utf-16"]), "utf-8", 25);
    for (offered, negotiated, column) in [utf16, utf8] {
        let fx = fixture();
        let uri = uri_of(&fx.path().join("layer.kdl"));
        let mut client = Client::start(offered);
        assert_eq!(client.init["capabilities"]["positionEncoding"], negotiated);
        client.open(&uri, SPEC, 1);
        let diags = client.diagnostics(&uri, 1);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        let d = &diags[0];
        let code = lsp_types::NumberOrString::String("spec::unknown-runtime".into());
        assert_eq!(d.code, Some(code));
        assert_eq!((d.range.start.line, d.range.start.character), (1, column));
        assert_eq!((d.range.end.line, d.range.end.character), (1, column + 17));
        // Fix the typo (`O` → `0`): the next publish, for version 2, is empty.
        client.change(&uri, 2, [1, column + 13, 1, column + 14], "0");
        assert_eq!(client.diagnostics(&uri, 2), vec![]);
        assert_eq!(client.shutdown(), 0);
    }
}

#[test]
fn completion_offers_runtime_ids_and_node_names() {
    let fx = fixture();
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, SPEC, 1);
    client.diagnostics(&uri, 1);

    let inside_runtime = client.request("textDocument/completion", at(&uri, 1, 24));
    let ids = labels(&inside_runtime);
    for id in ["provided.al2023", "python3.12", "dotnetcore3.1"] {
        assert!(ids.contains(&id.to_string()), "{ids:?}");
    }
    let old = inside_runtime
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "dotnetcore3.1")
        .unwrap();
    assert_eq!(old["tags"], json!([1]), "deprecated tag: {old}");
    assert!(old["detail"].as_str().unwrap().contains("Amazon Linux 2"));

    // A new, empty line inside the layer.
    client.change(&uri, 2, [3, 0, 3, 0], "    \n");
    client.diagnostics(&uri, 2);
    let names = labels(&client.request("textDocument/completion", at(&uri, 3, 4)));
    for n in ["library", "rootfs", "runtime"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    assert!(!names.contains(&"function".to_string()));

    // Library names from the rootfs, and the spec's layer names inside `function`.
    client.change(&uri, 3, [3, 4, 3, 4], "library \"lib\"");
    let libs = labels(&client.request("textDocument/completion", at(&uri, 3, 16)));
    assert_eq!(libs, vec!["libhello.so.1"]);
    let layers = labels(&client.request("textDocument/completion", at(&uri, 8, 11)));
    assert_eq!(layers, vec!["fonts"]);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn hover_definition_symbols_and_code_actions() {
    let fx = fixture();
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, SPEC, 1);
    client.diagnostics(&uri, 1);

    // The runtime typo has a "did you mean" fix.
    let range = json!({ "start": position(1, 25), "end": position(1, 25) });
    let actions = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri.as_str() }, "range": range,
                "context": { "diagnostics": [] } }),
    );
    let action = &actions[0];
    assert_eq!(action["title"], "Replace with `provided.al2023`");
    let edit = &action["edit"]["changes"][uri.as_str()][0];
    assert_eq!(edit["newText"], "\"provided.al2023\"");
    assert_eq!(edit["range"]["start"], position(1, 22));

    client.change(&uri, 2, [1, 35, 1, 36], "0");
    client.diagnostics(&uri, 2);

    let hover = client.request("textDocument/hover", at(&uri, 3, 15));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("/usr/lib64/libhello.so.1"), "{text}");
    assert!(text.contains("soname: `libhello.so.1`"), "{text}");
    let hover = client.request("textDocument/hover", at(&uri, 1, 30));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("Amazon Linux 2023"), "{text}");
    let hover = client.request("textDocument/hover", at(&uri, 7, 12));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("unzipped size"), "{text}");

    let def = client.request("textDocument/definition", at(&uri, 7, 12));
    assert_eq!(def["uri"], uri.as_str());
    assert_eq!(def["range"]["start"], position(0, 0));

    let (symbols, names) = client.symbols(&uri);
    assert_eq!(names, ["fonts", "ImageFunction"]);
    assert_eq!(symbols[0]["children"][0]["name"], "libhello.so.1");
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn provided_library_and_deprecated_runtime_have_fixes() {
    let fx = Fixture::new();
    let text = "layer \"x\" {\n    runtime \"python3.8\"\n    rootfs \"rootfs\"\n    library \"libz.so.1\"\n}\n";
    fx.spec(text);
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, text, 1);
    let diags = client.diagnostics(&uri, 1);
    let codes: Vec<_> = diags.iter().map(|d| d.code.clone()).collect();
    assert!(codes.len() >= 2, "{diags:#?}");
    let everything = json!({ "start": position(0, 0), "end": position(5, 0) });
    let actions = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri.as_str() }, "range": everything,
                "context": { "diagnostics": [] } }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    let successor = layerc::Session::default()
        .catalog
        .runtime("python3.8")
        .and_then(|r| r.successor.clone())
        .unwrap();
    assert!(
        titles.contains(&format!("Move to `{successor}`").as_str()),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Ship it anyway: add `override=#true`"),
        "{titles:?}"
    );
    assert_eq!(client.shutdown(), 0);
}

/// A tiny deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

#[test]
fn hundreds_of_random_single_character_edits_never_break_the_server() {
    let fx = fixture();
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, SPEC, 1);
    let mut text: Vec<char> = SPEC.chars().collect();
    let alphabet: Vec<char> = "{}\"=#/*;\\ \nabcé🦀".chars().collect();
    let mut rng = Rng(0x5eed);
    for version in 2..400 {
        let at = rng.next(text.len() + 1);
        let (line, col) = {
            let before: String = text[..at].iter().collect();
            crate::lsp_client::utf16_position(&before, before.len())
        };
        if rng.next(2) == 0 && at < text.len() && text[at] != '\n' {
            let width = text[at].len_utf16() as u32;
            text.remove(at);
            client.change(&uri, version, [line, col, line, col + width], "");
        } else {
            let c = alphabet[rng.next(alphabet.len())];
            text.insert(at, c);
            client.change(&uri, version, [line, col, line, col], &c.to_string());
        }
        if version % 50 == 0 {
            // Requests on half-typed text answer too.
            client.request("textDocument/completion", at_json(&uri, line, col));
            client.request("textDocument/hover", at_json(&uri, line, col));
        }
    }
    client.diagnostics(&uri, 399);
    assert_eq!(client.shutdown(), 0);
}

fn at_json(uri: &lsp_types::Uri, line: u32, character: u32) -> Value {
    at(uri, line, character)
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let client = Client::start(None);
    client.notify("exit", Value::Null);
    // `shutdown` was never sent: the server stops with code 1.
    let code = client.join();
    assert_eq!(code, 1);
}

#[test]
fn a_rebuilt_library_and_a_new_one_are_noticed_on_save() {
    let fx = fixture();
    let fixed = SPEC.replace("al2O23", "al2023");
    let uri = uri_of(&fx.path().join("layer.kdl"));
    let mut client = Client::start(None);
    client.open(&uri, &fixed, 1);
    assert_eq!(client.diagnostics(&uri, 1), vec![]);
    let before = labels(&client.request("textDocument/completion", at(&uri, 3, 14)));
    assert_eq!(before, ["libhello.so.1"]);

    // Rebuild libhello so that it needs a library the rootfs lacks, and add a second library.
    fx.lib_outside("elsewhere/libextra.so.1", "libextra.so.1", "extra");
    fx.cc_lib(
        "/usr/lib64/libhello.so.1",
        "libhello.so.1",
        &c_calls("hello", "extra"),
        &[],
        &[fx.path().join("elsewhere/libextra.so.1").to_str().unwrap()],
    );
    fx.lib("/usr/lib64/libnew.so.2", "libnew.so.2", "new");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri.as_str() } }),
    );
    let diags = client.diagnostics(&uri, 1);
    let codes: Vec<_> = diags.iter().map(|d| d.code.clone().unwrap()).collect();
    assert_eq!(
        codes,
        [lsp_types::NumberOrString::String(
            "resolve::needed-not-found".into()
        )],
        "{diags:#?}"
    );
    let after = labels(&client.request("textDocument/completion", at(&uri, 3, 14)));
    assert_eq!(after, ["libhello.so.1", "libnew.so.2"]);
    assert_eq!(client.shutdown(), 0);
}
