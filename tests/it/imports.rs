//! `import "other.kdl"`: layers and functions of another spec, paths relative to each file, cycles,
//! duplicates and missing files as diagnostics in the right file.

use std::fs;

use serde_json::Value;

use crate::common::*;

/// A shared spec in `shared/` with its own rootfs (`shared/rootfs`), shipping `libicu.so.1`, which
/// needs `libicudata.so.1`.
fn shared_fixture() -> Fixture {
    let fx = Fixture::new();
    let lib = |inside: &str, soname: &str, code: &str, link: &[&str]| {
        let out = fx.path().join("shared/rootfs").join(inside);
        fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = fx.write(&format!("src/{soname}.c"), code);
        let mut cmd = std::process::Command::new("cc");
        cmd.args(["-shared", "-fPIC", "-o"])
            .arg(&out)
            .arg(&src)
            .arg(format!("-Wl,-soname,{soname}"));
        for l in link {
            cmd.arg(fx.path().join("shared/rootfs").join(l));
        }
        assert!(cmd.status().unwrap().success());
    };
    lib(
        "usr/lib64/libicudata.so.1",
        "libicudata.so.1",
        &c_fn("data"),
        &[],
    );
    lib(
        "usr/lib64/libicu.so.1",
        "libicu.so.1",
        &c_calls("icu", "data"),
        &["usr/lib64/libicudata.so.1"],
    );
    fx.write(
        "shared/icu.kdl",
        "layer \"icu\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libicu.so.1\"\n}\n",
    );
    fx
}

const APP: &str = "import \"../shared/icu.kdl\"\n\nfunction \"Fn\" {\n    layer \"icu\"\n}\n";

fn zip_names(path: &std::path::Path) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect()
}

#[test]
fn two_specs_importing_a_shared_spec_both_build_its_layer() {
    let fx = shared_fixture();
    fx.write("app1/layer.kdl", APP);
    fx.write(
        "app2/layer.kdl",
        format!("{APP}function \"Other\" {{\n    layer \"icu\"\n}}\n"),
    );
    let mut zips = Vec::new();
    for app in ["app1", "app2"] {
        let dir = fx.path().join(app);
        let out = layerc_in(&dir, &["build"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let zip = dir.join("build/icu.zip");
        let mut names = zip_names(&zip);
        names.sort();
        assert_eq!(names, ["lib/", "lib/libicu.so.1", "lib/libicudata.so.1"]);
        let template: Value = serde_json::from_str(
            &fs::read_to_string(dir.join("build/serverless.template.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            template["Resources"]["Fn"]["Properties"]["Layers"][0]["Ref"],
            "IcuLayer"
        );
        let lock = fs::read_to_string(dir.join("layer.lock")).unwrap();
        assert!(lock.contains("layer \"icu\""), "{lock}");
        zips.push(fs::read(zip).unwrap());
    }
    // The shared layer is the same bytes whichever spec builds it.
    assert_eq!(zips[0], zips[1]);

    // Deterministic: a second build writes the same lock and fragment, and `--locked` passes.
    let dir = fx.path().join("app1");
    let lock = fs::read(dir.join("layer.lock")).unwrap();
    let fragment = fs::read(dir.join("build/serverless.template.json")).unwrap();
    let out = layerc_in(&dir, &["build", "--locked"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(dir.join("layer.lock")).unwrap(), lock);
    assert_eq!(
        fs::read(dir.join("build/serverless.template.json")).unwrap(),
        fragment
    );
}

#[test]
fn graph_and_why_see_imported_layers() {
    let fx = shared_fixture();
    let dir = fx.path().join("app");
    fx.write("app/layer.kdl", APP);
    let out = layerc_in(&dir, &["why", "libicudata.so.1"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "layer icu: libicudata.so.1 [shipped]\n    libicu.so.1 → libicudata.so.1  (../shared/icu.kdl:4:13)\n"
    );
    let out = layerc_in(&dir, &["graph", "--format", "json"], &[]);
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(graph["layers"][0]["name"], "icu");

    // Through the library: the layer's rootfs is relative to the shared spec's folder.
    let analysis = analyze_text(APP, &dir);
    assert!(analysis.diagnostics.is_empty(), "{}", rendered(&analysis));
    let layer = analysis.layer("icu").unwrap();
    assert!(format!("{:?}", layer.rootfs.id).contains("shared/rootfs"));
}

#[test]
fn a_cycle_names_both_files_with_the_import_in_each() {
    let fx = shared_fixture();
    fx.write(
        "app/a.kdl",
        "import \"b.kdl\"\nimport \"../shared/icu.kdl\"\n",
    );
    fx.write("app/b.kdl", "// b imports a back\nimport \"a.kdl\"\n");
    let dir = fx.path().join("app");
    let out = layerc_in(&dir, &["check", "a.kdl"], &[]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&out));

    let out = layerc_in(&dir, &["check", "a.kdl", "--format", "json"], &[]);
    let diag: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(diag["code"], "spec::import-cycle");
    assert_eq!(diag["file"], "b.kdl");
    assert_eq!((&diag["line"], &diag["column"]), (&2.into(), &8.into()));
    assert_eq!(diag["related"][0]["file"], "a.kdl");
    assert_eq!(diag["related"][0]["line"], 1);

    // The language server shows it on the open spec's `import`, never past its end.
    let text = fs::read_to_string(dir.join("a.kdl")).unwrap();
    let analysis = analyze_text(&text, &dir);
    assert_eq!(error_codes(&analysis), ["spec::import-cycle"]);
}

#[test]
fn a_longer_cycle_is_followed_to_its_start() {
    let fx = Fixture::new();
    fx.write("a.kdl", "import \"b.kdl\"\n");
    fx.write("b.kdl", "import \"c.kdl\"\n");
    fx.write("c.kdl", "import \"a.kdl\"\n");
    let out = fx.layerc(&["check", "a.kdl", "--format", "json"]);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["code"], "spec::import-cycle", "{lines:?}");
    assert_eq!(
        lines[0]["message"],
        "import cycle: c.kdl imports a.kdl, which leads back to c.kdl"
    );
    assert_eq!(
        lines[0]["notes"][0],
        "the cycle: a.kdl → b.kdl → c.kdl → a.kdl"
    );
}

#[test]
fn duplicate_layers_across_files_and_missing_imports() {
    let fx = shared_fixture();
    fx.write(
        "app/layer.kdl",
        "import \"../shared/icu.kdl\"\nimport \"nope.kdl\"\n\nlayer \"icu\" {\n    runtime \"provided.al2023\"\n    rootfs \"../shared/rootfs\"\n    library \"libicudata.so.1\"\n}\n",
    );
    let dir = fx.path().join("app");
    let out = layerc_in(&dir, &["check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&out));
    let text = fs::read_to_string(dir.join("layer.kdl")).unwrap();
    let analysis = analyze_text(&text, &dir);
    assert_eq!(
        error_codes(&analysis),
        ["spec::import-not-found", "spec::duplicate-layer"]
    );
}

#[test]
fn findings_in_an_imported_file_point_into_it() {
    let fx = shared_fixture();
    fx.write(
        "shared/icu.kdl",
        "layer \"icu\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    librery \"libicu.so.1\"\n    library \"libgone.so.1\"\n}\n",
    );
    fx.write("app/layer.kdl", APP);
    let dir = fx.path().join("app");
    let out = layerc_in(&dir, &["check", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files: Vec<(&str, &str, i64, i64)> = lines
        .iter()
        .map(|d| {
            let (line, column) = (d["line"].as_i64().unwrap(), d["column"].as_i64().unwrap());
            (
                d["code"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                line,
                column,
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("spec::unknown-node", "../shared/icu.kdl", 4, 5),
            ("resolve::not-found", "../shared/icu.kdl", 5, 13),
        ]
    );
    analyze_text(APP, &dir);
}

#[test]
fn an_imported_template_is_not_used_and_says_so() {
    let fx = shared_fixture();
    let shared = fs::read_to_string(fx.path().join("shared/icu.kdl")).unwrap();
    fx.write(
        "shared/icu.kdl",
        format!("{shared}template \"template.yaml\"\n"),
    );
    fx.write("app/layer.kdl", APP);
    let dir = fx.path().join("app");
    let out = layerc_in(&dir, &["check", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diag: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(diag["code"], "spec::imported-template");
    assert_eq!(
        (&diag["file"], &diag["line"]),
        (&"../shared/icu.kdl".into(), &6.into())
    );
    analyze_text(APP, &dir);
}

#[test]
fn an_unreadable_import_is_a_tool_failure() {
    let fx = Fixture::new();
    fs::create_dir(fx.path().join("dir.kdl")).unwrap();
    fx.spec("import \"dir.kdl\"\n");
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).contains("spec::import-unreadable"));
}

#[test]
fn a_file_imported_twice_is_read_once() {
    let fx = shared_fixture();
    fx.write("app/other.kdl", "import \"../shared/icu.kdl\"\n");
    fx.write("app/layer.kdl", format!("import \"other.kdl\"\n{APP}"));
    let dir = fx.path().join("app");
    let text = fs::read_to_string(dir.join("layer.kdl")).unwrap();
    let analysis = analyze_text(&text, &dir);
    assert!(analysis.diagnostics.is_empty(), "{}", rendered(&analysis));
    assert_eq!(analysis.spec.layers.len(), 1);
}

#[test]
fn the_language_server_jumps_into_an_imported_file_and_outlines_only_the_open_one() {
    use crate::lsp_client::{Client, uri_of};
    use serde_json::json;
    let fx = shared_fixture();
    let text = format!(
        "{APP}layer \"mine\" {{\n    runtime \"provided.al2023\"\n    rootfs \"../shared/rootfs\"\n    library \"libicudata.so.1\"\n}}\n"
    );
    let path = fx.write("app/layer.kdl", &text);
    let uri = uri_of(&path);
    let mut client = Client::start(None);
    client.open(&uri, &text, 1);
    assert!(client.diagnostics(&uri, 1).is_empty());

    // `layer "icu"` on line 3 → the layer in ../shared/icu.kdl, at its own position.
    let at = json!({ "textDocument": { "uri": uri.as_str() },
                     "position": { "line": 3, "character": 12 } });
    let def = client.request("textDocument/definition", at);
    let shared = fx.path().join("app/../shared/icu.kdl");
    assert_eq!(def["uri"], uri_of(&shared).as_str());
    assert_eq!(def["range"]["start"], json!({ "line": 0, "character": 0 }));

    assert_eq!(client.symbols(&uri).1, ["mine", "Fn"]);

    // Completion of a function's layer offers the imported layers.
    let at = json!({ "textDocument": { "uri": uri.as_str() },
                     "position": { "line": 3, "character": 11 } });
    let names = crate::lsp::labels(&client.request("textDocument/completion", at));
    assert_eq!(names, ["mine", "icu"]);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn two_specs_importing_a_shared_spec_build_its_layer_once_into_the_store() {
    let fx = shared_fixture();
    fx.write("app1/layer.kdl", APP);
    fx.write("app2/layer.kdl", APP.replace("\"Fn\"", "\"Other\""));
    let store = fx.path().join("store");
    let env = [("LAYERC_STORE", store.to_str().unwrap())];
    let build = |app: &str| {
        let out = layerc_in(&fx.path().join(app), &["build"], &env);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out)
    };
    let first = build("app1");
    assert!(first.contains("layer `icu` (built, stored)"), "{first}");
    let second = build("app2");
    assert!(second.contains("layer `icu` (from the store)"), "{second}");
    assert!(second.contains("bytes, from the store)"), "{second}");
    let zips: Vec<_> = fs::read_dir(store.join("zips"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".zip"))
        .collect();
    assert_eq!(zips.len(), 1, "{zips:?}");
    assert_eq!(
        fs::read(fx.path().join("app1/build/icu.zip")).unwrap(),
        fs::read(fx.path().join("app2/build/icu.zip")).unwrap()
    );
}
