//! The real `layerc` binary: exit codes, what it writes (and does not), and each subcommand's output.

use std::fs;

use layerc::runtime::Catalog;
use serde_json::Value;

use crate::common::*;

const VALID_SPEC: &str = "layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n}\n";

/// A rootfs with `libhello.so.1` needing `libworld.so.1` (both in /usr/lib64) and a spec shipping
/// `libhello.so.1`: valid, no findings.
fn valid_fixture() -> Fixture {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libworld.so.1", "libworld.so.1", "world");
    fx.cc_lib(
        "/usr/lib64/libhello.so.1",
        "libhello.so.1",
        &c_calls("hello", "world"),
        &["/usr/lib64/libworld.so.1"],
        &[],
    );
    fx.spec(VALID_SPEC);
    fx
}

fn code(out: &std::process::Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", stderr(out)))
}

fn assert_no_panic(out: &std::process::Output) {
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}

/// Outputs and temporary files the build may have left in the fixture.
fn written(fx: &Fixture) -> Vec<String> {
    files_under(fx.path())
        .into_iter()
        .filter(|f| !f.starts_with("rootfs/") && !f.starts_with("src/") && f != "layer.kdl")
        .collect()
}

/// Rendered diagnostics with the fixture's folder (as given and canonical) replaced by `[TMP]` in
/// the text, before rendering so line wrapping does not depend on the folder's length, and the
/// program header count of a truncated object (which depends on the linker) masked.
fn rendered_scrubbed(analysis: &layerc::Analysis, fx: &Fixture) -> String {
    let tmp = fx.path().display().to_string();
    let canonical = fs::canonicalize(fx.path()).unwrap().display().to_string();
    let scrub = |s: &str| {
        let s = s.replace(&canonical, "[TMP]").replace(&tmp, "[TMP]");
        mask_number_after(&s, "too short for ")
    };
    let diags: Vec<_> = analysis
        .diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            d.message = scrub(&d.message);
            d.help = d.help.as_deref().map(scrub);
            d
        })
        .collect();
    let text = render_all(&diags, &analysis.source);
    assert!(!text.contains(&canonical) && !text.contains(&tmp), "{text}");
    text
}

fn mask_number_after(s: &str, marker: &str) -> String {
    match s.find(marker) {
        Some(i) => {
            let start = i + marker.len();
            let digits = s[start..].chars().take_while(char::is_ascii_digit).count();
            if digits == 0 {
                return s.to_string();
            }
            format!("{}[N]{}", &s[..start], &s[start + digits..])
        }
        None => s.to_string(),
    }
}

// ---- exit codes ----------------------------------------------------------------------------

#[test]
fn valid_spec_exits_0_and_prints_nothing() {
    let fx = valid_fixture();
    let out = fx.layerc(&["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "");
}

#[test]
fn spec_errors_exit_1() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("library", "libary"));
    for cmd in ["check", "build"] {
        let out = fx.layerc(&[cmd]);
        assert_eq!(code(&out), 1, "{cmd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("spec::unknown-node"),
            "{cmd}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("1 error(s), 0 warning(s)"),
            "{cmd}: {}",
            stderr(&out)
        );
        assert_no_panic(&out);
    }
}

#[test]
fn missing_library_exits_1() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libnope.so.1"));
    let out = fx.layerc(&["check"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("resolve::not-found"));
}

#[test]
fn missing_spec_file_exits_2() {
    let fx = Fixture::new();
    for args in [
        &["check"][..],
        &["build"],
        &["check", "nope.kdl"],
        &["graph", "nope.kdl"],
        &["why", "nope.kdl", "libz.so.1"],
    ] {
        let out = fx.layerc(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot read spec"), "{args:?}: {err}");
        assert!(
            err.contains(if args.len() == 1 {
                "layer.kdl"
            } else {
                "nope.kdl"
            }),
            "{args:?}: {err}"
        );
        assert_no_panic(&out);
    }
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]
fn spec_that_is_a_folder_exits_2() {
    let fx = Fixture::new();
    fs::create_dir(fx.path().join("layer.kdl")).unwrap();
    let out = fx.layerc(&["check"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_no_panic(&out);
}

#[test]
fn bad_arguments_exit_2() {
    let fx = valid_fixture();
    for args in [
        &["build", "--bogus"][..],
        &["check", "--format", "xml"],
        &["graph", "--format", "png"],
        &["frobnicate"],
        &["why"],
        &["why", "a", "b", "c"],
        &[],
    ] {
        let out = fx.layerc(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    let out = fx.layerc(&["build", "--bogus"]);
    assert!(stderr(&out).contains("--bogus"), "{}", stderr(&out));
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]
fn help_and_version_exit_0() {
    let fx = Fixture::new();
    let out = fx.layerc(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for cmd in ["build", "check", "graph", "why", "runtimes"] {
        assert!(help.contains(cmd), "{cmd} missing from:\n{help}");
    }
    let out = fx.layerc(&["build", "--help"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("--out"));
    let out = fx.layerc(&["--version"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("layerc "), "{}", stdout(&out));
}

// ---- what is written -----------------------------------------------------------------------

#[test]
fn check_writes_nothing() {
    for spec in [
        VALID_SPEC.to_string(),
        VALID_SPEC.replace("libhello", "libnope"),
    ] {
        let fx = valid_fixture();
        fx.spec(&spec);
        let before = files_under(fx.path());
        for format in ["human", "json"] {
            let out = fx.layerc(&["check", "--format", format]);
            assert!(code(&out) <= 1, "{}", stderr(&out));
        }
        assert_eq!(files_under(fx.path()), before);
    }
}

#[test]
fn build_with_errors_writes_nothing_and_says_why() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libnope.so.1"));
    let before = files_under(fx.path());
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("resolve::not-found"));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_under(fx.path()), before);
    assert!(!fx.path().join("build").exists());

    // Also with an explicit output folder.
    let out = fx.layerc(&["build", "--out", "dist"]);
    assert_eq!(code(&out), 1);
    assert!(!fx.path().join("dist").exists());
    assert_eq!(files_under(fx.path()), before);
}

#[test]
fn build_writes_the_zip_and_the_template() {
    let fx = valid_fixture();
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        written(&fx),
        ["build/hello.zip", "build/serverless.template.json"]
    );
    let err = stderr(&out);
    assert!(
        err.contains("hello.zip") && err.contains("serverless.template.json"),
        "{err}"
    );

    let zip = fs::read(fx.path().join("build/hello.zip")).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "lib/libhello.so.1"), "{names:?}");
    assert!(names.iter().any(|n| n == "lib/libworld.so.1"), "{names:?}");

    let template: Value = serde_json::from_str(
        &fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap(),
    )
    .unwrap();
    let layer = &template["Resources"]["HelloLayer"];
    assert_eq!(layer["Type"], "AWS::Serverless::LayerVersion");
    assert_eq!(layer["Properties"]["LayerName"], "hello");
    assert_eq!(layer["Properties"]["ContentUri"], "hello.zip");
    assert_eq!(
        layer["Properties"]["CompatibleRuntimes"],
        serde_json::json!(["provided.al2023"])
    );
}

#[test]
fn build_twice_gives_the_same_bytes() {
    let fx = valid_fixture();
    assert_eq!(code(&fx.layerc(&["build"])), 0);
    let first = fs::read(fx.path().join("build/hello.zip")).unwrap();
    let first_template = fs::read(fx.path().join("build/serverless.template.json")).unwrap();
    assert_eq!(code(&fx.layerc(&["build"])), 0);
    assert_eq!(fs::read(fx.path().join("build/hello.zip")).unwrap(), first);
    assert_eq!(
        fs::read(fx.path().join("build/serverless.template.json")).unwrap(),
        first_template
    );
    // No temporary files are left beside the outputs.
    assert_eq!(
        written(&fx),
        ["build/hello.zip", "build/serverless.template.json"]
    );
}

#[test]
fn build_out_dir() {
    let fx = valid_fixture();
    let out = fx.layerc(&["build", "--out", "dist/layers"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        written(&fx),
        [
            "dist/layers/hello.zip",
            "dist/layers/serverless.template.json"
        ]
    );
}

#[test]
fn spec_in_another_folder_builds_beside_the_spec() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    // The spec lives in project/, its rootfs path is relative to that folder.
    fs::rename(fx.path().join("rootfs"), fx.path().join("project-rootfs")).unwrap();
    fx.write(
        "project/layer.kdl",
        VALID_SPEC.replace("\"rootfs\"", "\"../project-rootfs\""),
    );
    let out = fx.layerc(&["build", "project/layer.kdl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(fx.path().join("project/build/hello.zip").is_file());
    assert!(
        fx.path()
            .join("project/build/serverless.template.json")
            .is_file()
    );
    assert!(!fx.path().join("build").exists());
}

#[test]
fn build_into_a_file_exits_2_and_leaves_no_temporary_file() {
    let fx = valid_fixture();
    fx.write("taken", "not a folder");
    let before = files_under(fx.path());
    let out = fx.layerc(&["build", "--out", "taken"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert_no_panic(&out);
    assert_eq!(files_under(fx.path()), before);
}

#[test]
fn build_over_a_folder_named_like_an_output_exits_2() {
    let fx = valid_fixture();
    fs::create_dir_all(fx.path().join("build/serverless.template.json")).unwrap();
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_no_panic(&out);
    // Whatever was written is whole: no temporary file is left behind.
    assert!(
        written(&fx)
            .iter()
            .all(|f| !f.contains(".layerc-") && !f.ends_with(".tmp")),
        "{:?}",
        written(&fx)
    );
}

// ---- check --format json -------------------------------------------------------------------

#[test]
fn check_json_has_one_object_per_diagnostic() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    libary \"libhello.so.1\"\n    architecture \"amd64\"\n}\n");
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&out));
    for obj in &lines {
        for key in [
            "code", "severity", "message", "file", "line", "column", "span", "help",
        ] {
            assert!(obj.get(key).is_some(), "{key} missing in {obj}");
        }
    }
    let first = &lines[0];
    assert_eq!(first["code"], "spec::unknown-node");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["message"], "unknown node `libary` in a `layer` block");
    assert_eq!(first["file"], "layer.kdl");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 5);
    let offset = VALID_SPEC.find("library").unwrap();
    assert_eq!(
        first["span"],
        serde_json::json!({"offset": offset, "length": 6})
    );
    assert_eq!(first["help"], "did you mean `library`?");

    let second = &lines[1];
    assert_eq!(second["code"], "spec::unknown-architecture");
    assert_eq!(
        (second["line"].as_u64(), second["column"].as_u64()),
        (Some(5), Some(18))
    );
    assert_eq!(second["help"], "Lambda calls it `x86_64`");
}

#[test]
fn check_json_columns_count_characters() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    /* é */ libary \"x\"\n}\n");
    let out = fx.layerc(&["check", "--format", "json"]);
    let obj: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(obj["line"], 4);
    assert_eq!(obj["column"], 13);
}

#[test]
fn check_json_on_a_valid_spec_prints_nothing() {
    let fx = valid_fixture();
    let out = fx.layerc(&["check", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn check_json_names_the_spec_as_given() {
    let fx = valid_fixture();
    fx.write("sub/layer.kdl", "layr \"x\" {\n}\n");
    let out = fx.layerc(&["check", "--format", "json", "sub/layer.kdl"]);
    assert_eq!(code(&out), 1);
    let obj: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(obj["file"], "sub/layer.kdl");
    assert_eq!(obj["code"], "spec::unknown-node");
}

// ---- graph ---------------------------------------------------------------------------------

#[test]
fn graph_json() {
    let fx = valid_fixture();
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        graph,
        serde_json::json!({"layers": [{
            "name": "hello",
            "nodes": [
                {"name": "libhello.so.1", "path": "/usr/lib64/libhello.so.1", "status": "shipped"},
                {"name": "libworld.so.1", "path": "/usr/lib64/libworld.so.1", "status": "shipped"},
            ],
            "edges": [{"from": "libhello.so.1", "to": "libworld.so.1"}],
        }]})
    );
}

#[test]
fn graph_works_on_a_spec_with_validation_errors() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace(
        "    library \"libhello.so.1\"\n",
        "    library \"libhello.so.1\"\n    library \"libgone.so.2\"\n    libary \"typo\"\n",
    ));
    assert_eq!(code(&fx.layerc(&["check"])), 1);
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let nodes = graph["layers"][0]["nodes"].as_array().unwrap();
    let gone = nodes
        .iter()
        .find(|n| n["name"] == "libgone.so.2")
        .expect("missing node listed");
    assert_eq!(gone["status"], "missing");
    assert_eq!(gone["path"], Value::Null);
    assert!(
        nodes
            .iter()
            .any(|n| n["name"] == "libworld.so.1" && n["status"] == "shipped")
    );
}

#[test]
fn graph_of_a_missing_dependency() {
    let fx = valid_fixture();
    fs::remove_file(fx.root("/usr/lib64/libworld.so.1")).unwrap();
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let layer = &graph["layers"][0];
    assert!(
        layer["nodes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(
                {"name": "libworld.so.1", "path": null, "status": "missing"}
            ))
    );
    assert_eq!(
        layer["edges"],
        serde_json::json!([{"from": "libhello.so.1", "to": "libworld.so.1"}])
    );
}

#[test]
fn graph_text_dot_and_mermaid() {
    let fx = valid_fixture();
    let text = fx.layerc(&["graph"]);
    assert_eq!(code(&text), 0);
    let text = stdout(&text);
    assert!(text.starts_with("layer hello"), "{text}");
    assert!(
        text.contains("libhello.so.1") && text.contains("libworld.so.1"),
        "{text}"
    );

    let dot = fx.layerc(&["graph", "--format", "dot"]);
    assert_eq!(code(&dot), 0);
    let dot = stdout(&dot);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("libworld.so.1") && dot.contains("->"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");

    let mermaid = fx.layerc(&["graph", "--format", "mermaid"]);
    assert_eq!(code(&mermaid), 0);
    let mermaid = stdout(&mermaid);
    assert!(mermaid.starts_with("flowchart"), "{mermaid}");
    assert!(
        mermaid.contains("libworld.so.1") && mermaid.contains("-->"),
        "{mermaid}"
    );
}

#[test]
fn graph_of_one_layer() {
    let fx = valid_fixture();
    fx.spec(&format!(
        "{VALID_SPEC}{}",
        VALID_SPEC
            .replace("\"hello\"", "\"other\"")
            .replace("libhello.so.1", "libworld.so.1")
    ));
    let out = fx.layerc(&["graph", "--format", "json", "--layer", "other"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let layers = graph["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["name"], "other");

    let out = fx.layerc(&["graph", "--layer", "NOPE"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("NOPE"));
    assert_eq!(stdout(&out), "");
}

#[test]

fn graph_of_a_spec_that_does_not_parse_reports_why() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n");
    let out = fx.layerc(&["graph", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("spec::syntax"), "{}", stderr(&out));
}

// ---- why -----------------------------------------------------------------------------------

#[test]
fn why_prints_the_chain() {
    let fx = valid_fixture();
    let out = fx.layerc(&["why", "layer.kdl", "libworld.so.1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "layer hello: libworld.so.1 [shipped]\n    libhello.so.1 → libworld.so.1  (layer.kdl:4:13)\n"
    );
    // With one argument the spec is layer.kdl in the current folder.
    let default = fx.layerc(&["why", "libworld.so.1"]);
    assert_eq!(code(&default), 0);
    assert_eq!(stdout(&default), stdout(&out));
}

#[test]
fn why_works_on_a_spec_with_errors() {
    let fx = valid_fixture();
    fs::remove_file(fx.root("/usr/lib64/libworld.so.1")).unwrap();
    assert_eq!(code(&fx.layerc(&["check"])), 1);
    let out = fx.layerc(&["why", "libworld.so.1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("[missing]"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("libhello.so.1 → libworld.so.1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn why_an_unknown_name_exits_1() {
    let fx = valid_fixture();
    let out = fx.layerc(&["why", "libnothing.so.9"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("libnothing.so.9"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]

fn why_on_a_spec_that_does_not_parse_reports_why() {
    let fx = valid_fixture();
    fx.spec("layer \"hello\" {\n");
    let out = fx.layerc(&["why", "libhello.so.1"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("spec::syntax"), "{}", stderr(&out));
}

// ---- runtimes ------------------------------------------------------------------------------

/// The table's rows, each split into its cells (columns are separated by two or more spaces).
fn runtime_rows() -> Vec<Vec<String>> {
    let fx = Fixture::new();
    let out = fx.layerc(&["runtimes"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    // The first line names the catalog's data version, then a blank line.
    let (version, table) = text.split_once("\n\n").unwrap();
    assert_eq!(version, format!("catalog {}", Catalog::builtin().version));
    table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn runtimes_lists_the_catalog() {
    let rows = runtime_rows();
    assert_eq!(
        rows[0],
        [
            "RUNTIME",
            "OS",
            "ARCHITECTURES",
            "GLIBC",
            "DEPRECATED",
            "BLOCK CREATE",
            "BLOCK UPDATE",
            "SUCCESSOR",
            "STATUS"
        ]
    );
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    for id in [
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "dotnet8",
        "dotnet10",
        "provided",
        "provided.al2",
        "provided.al2023",
        "python3.8",
        "python3.12",
        "python3.14",
        "nodejs18.x",
        "nodejs24.x",
        "java8",
        "java8.al2",
        "java21",
        "java25",
        "ruby3.2",
        "ruby3.4",
        "go1.x",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate rows");
    for row in &rows[1..] {
        assert_eq!(row.len(), 9, "{row:?}");
    }
}

#[test]
fn runtimes_rows_agree_with_their_os_and_dates() {
    let rows = runtime_rows();
    let today = layerc::runtime::Date::today();
    let today = format!("{:04}-{:02}-{:02}", today.year, today.month, today.day);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(
        row("dotnetcore3.1")[1..4],
        ["Amazon Linux 2", "x86_64,arm64", "2.26"]
    );
    assert_eq!(
        row("provided.al2023")[1..4],
        ["Amazon Linux 2023", "x86_64,arm64", "2.34"]
    );
    assert_eq!(
        row("dotnetcore2.1")[1..4],
        ["Amazon Linux 1", "x86_64", "2.17"]
    );
    for r in &rows[1..] {
        let glibc = match r[1].as_str() {
            "Amazon Linux 1" => "2.17",
            "Amazon Linux 2" => "2.26",
            "Amazon Linux 2023" => "2.34",
            other => panic!("{}: unexpected OS {other}", r[0]),
        };
        assert_eq!(r[3], glibc, "{r:?}");
        // The status follows the dates shown in the same row (dates compare as text).
        let past = |cell: &str| cell != "-" && cell <= today.as_str();
        let expected = if past(&r[6]) {
            "updates blocked"
        } else if past(&r[5]) {
            "creation blocked"
        } else if past(&r[4]) {
            "deprecated"
        } else {
            "supported"
        };
        assert_eq!(r[8], expected, "{r:?} (today {today})");
    }
}

#[test]

fn runtimes_successors_are_runtimes() {
    let rows = runtime_rows();
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    for r in &rows[1..] {
        assert!(
            r[7] == "-" || ids.contains(&r[7].as_str()),
            "{} names successor {}",
            r[0],
            r[7]
        );
    }
}

// ---- malformed ELF files -------------------------------------------------------------------

/// A fixed pseudo-random byte string (never starting with the ELF magic).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Writes `contents` at `/usr/lib64/<file>` in a fresh fixture, requests it by path, and checks
/// the command line refuses it with `expected` and writes nothing. Returns the fixture.
fn refused_library(file: &str, contents: Option<&[u8]>, expected: &str) -> Fixture {
    let fx = Fixture::new();
    let inside = format!("/usr/lib64/{file}");
    if let Some(bytes) = contents {
        fx.write_root(&inside, bytes);
    }
    fx.spec(&VALID_SPEC.replace("libhello.so.1", &inside));
    let before = files_under(fx.path());
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_no_panic(&out);
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was written"));
    assert_eq!(files_under(fx.path()), before);
    let analysis = fx.analyze();
    assert_eq!(codes(&analysis), [expected]);
    fx
}

#[test]
fn random_bytes_are_not_elf() {
    let fx = refused_library("libbad.so.1", Some(&noise(4096)), "resolve::not-elf");
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn truncated_elf_is_malformed() {
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libtrunc.so.1", "libtrunc.so.1", "truncated");
    let mut bytes = fs::read(&lib).unwrap();
    bytes.truncate(100);
    let fx = refused_library("libtrunc.so.1", Some(&bytes), "resolve::malformed-elf");
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn empty_file_is_not_elf() {
    let fx = refused_library("libempty.so.1", Some(b""), "resolve::not-elf");
    let analysis = fx.analyze();
    assert!(
        analysis.diagnostics[0].message.contains("empty"),
        "{}",
        analysis.diagnostics[0].message
    );
    insta::assert_snapshot!(rendered_scrubbed(&analysis, &fx));
}

#[test]
fn linker_script_has_its_own_message() {
    let fx = refused_library(
        "libc.so",
        Some(b"/* GNU ld script */ GROUP ( /lib64/libc.so.6 )\n"),
        "resolve::linker-script",
    );
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn linker_script_requested_by_name() {
    let fx = Fixture::new();
    fx.write_root(
        "/usr/lib64/libfoo.so",
        "/* GNU ld script */\nGROUP ( /usr/lib64/libfoo.so.1 )\n",
    );
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libfoo.so"));
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolve::linker-script"),
        "{}",
        stderr(&out)
    );
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]
fn folder_requested_as_a_library() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.root("/usr/lib64/libdir.so.1")).unwrap();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "/usr/lib64/libdir.so.1"));
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolve::not-elf"),
        "{}",
        stderr(&out)
    );
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]

fn random_bytes_found_by_soname_are_not_elf() {
    let fx = Fixture::new();
    fx.write_root("/usr/lib64/libbad.so.1", noise(4096));
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libbad.so.1"));
    let analysis = fx.analyze();
    let help = analysis
        .diagnostics
        .first()
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    assert!(!help.contains("did you mean `libbad.so.1`"), "{help}");
    assert_eq!(codes(&analysis), ["resolve::not-elf"]);
}

/// Runs `layerc check` as the unprivileged user `nobody` (root reads everything, so permission
/// errors need another user).
fn check_as_nobody(fx: &Fixture) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(fx.path(), fs::Permissions::from_mode(0o755)).unwrap();
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_layerc"))
        .args(["check", "--color", "never"])
        .current_dir(fx.path())
        .output()
        .expect("setpriv (util-linux) runs")
}

#[test]
fn unreadable_rootfs_files_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n}\n");
    let readable = check_as_nobody(&fx);
    assert_eq!(readable.status.code(), Some(0), "{}", stderr(&readable));
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o600)).unwrap();
    let out = check_as_nobody(&fx);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rootfs::io"), "{}", stderr(&out));
}

#[test]
fn runtimes_shows_one_runtime_with_provenance() {
    let fx = Fixture::new();
    let out = fx.layerc(&["runtimes", "provided.al2"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("os              Amazon Linux 2 (glibc 2.26)"),
        "{text}"
    );
    assert!(text.contains("GLIBC_2.26"), "{text}");
    // Amazon Linux 2's sonames come from listings dumped inside Lambda, per architecture; its
    // libc is among them.
    for arch in ["x86_64", "arm64"] {
        assert!(
            text.contains(&format!(
                "provided sonames on {arch}, in the order the loader searches"
            )),
            "{text}"
        );
    }
    assert!(
        text.contains("/usr/lib64: listing dumped inside Lambda on 2026-02-20"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.trim() == "libc.so.6"), "{text}");
    // Each ceiling names its source and date.
    let al2023 = stdout(&fx.layerc(&["runtimes", "python3.12"]));
    assert!(al2023.contains("GLIBCXX_3.4.33") && al2023.contains("since         2025-06-04"));
    assert!(
        al2023.contains("/var/lang/lib: listing dumped inside Lambda"),
        "{al2023}"
    );
    // dotnet8's ICU 67 is derived from its Dockerfile, and says so.
    let dotnet8 = stdout(&fx.layerc(&["runtimes", "dotnet8"]));
    assert!(
        dotnet8.contains("/usr/lib64: derived from package names (no listing exists)"),
        "{dotnet8}"
    );
    // Runtimes whose /var/lang/lib was never dumped say that nothing of it is counted.
    let old = stdout(&fx.layerc(&["runtimes", "dotnetcore3.1"]));
    assert!(
        old.contains("/var/lang/lib: no listing in the data"),
        "{old}"
    );
    let unknown = fx.layerc(&["runtimes", "provided.al2024"]);
    assert_eq!(code(&unknown), 2);
    assert!(
        stderr(&unknown).contains("did you mean `provided.al2023`?"),
        "{}",
        stderr(&unknown)
    );
}

/// The repository's own examples, run as a user would.
fn example(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn quickstart_builds_a_non_empty_layer() {
    let fx = Fixture::new();
    let spec = example("examples/quickstart/layer.kdl");
    let out_dir = fx.path().join("out");
    let out = fx.layerc(&[
        "build",
        spec.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listing = std::process::Command::new("zipinfo")
        .arg("-1")
        .arg(out_dir.join("fonts.zip"))
        .output()
        .unwrap();
    let names = String::from_utf8(listing.stdout).unwrap();
    assert!(
        names.lines().any(|l| l == "lib/libfreetype.so.6"),
        "{names}"
    );
    assert!(names.lines().any(|l| l == "lib/libpng16.so"), "{names}");
    assert!(out_dir.join("serverless.template.json").exists());
}

#[test]
fn dotnet_example_spec_is_valid_apart_from_its_rootfs() {
    let spec = example("examples/dotnet-gdiplus/layer.kdl");
    let text = fs::read_to_string(&spec).unwrap();
    // The Amazon Linux 1 rootfs is exported by the user; everything else must be in order.
    let analysis = analyze_text(&text, spec.parent().unwrap());
    let errors: Vec<&str> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(errors, ["rootfs::not-found"], "{}", rendered(&analysis));
}
