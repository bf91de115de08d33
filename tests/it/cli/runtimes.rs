//! `layerc runtimes [ID]`: the catalog table and one runtime in full.

use layerc::runtime::Catalog;

use super::*;

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
            "STATUS",
            "ORIGIN"
        ]
    );
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    for id in [
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "dotnet8",
        "dotnet9",
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
        "ruby4.0",
        "go1.x",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate rows");
    for row in &rows[1..] {
        assert_eq!(row.len(), 10, "{row:?}");
        assert!(row[9].starts_with("built-in 20"), "{row:?}");
    }
    // Ids sort naturally within a family: dotnet5.0 before dotnet10, python3.6 before python3.14.
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    assert!(at("dotnet5.0") < at("dotnet8") && at("dotnet8") < at("dotnet10"));
    assert!(at("python3.6") < at("python3.9") && at("python3.9") < at("python3.14"));
}

/// An override file: one runtime newer than the built-in data, and new dates for a known one.
const OVERRIDE: &str = r#"catalog-version "2027-01-15"
runtime "python3.15" {
    family "python"
    os "al2023"
    architectures "x86_64" "arm64"
    deprecated "2030-10-31"
    ld-library-path "/var/lang/lib" "/lib64" "/usr/lib64" "/var/runtime" "/var/task" "/opt/lib"
    source "my notes"
}
runtime "python3.10" {
    deprecated "2020-01-01"
    block-create "2020-02-01"
}
"#;

#[test]
fn a_catalog_file_adds_and_replaces_entries_and_shows_its_origin() {
    let fx = Fixture::new();
    fx.write("mine.kdl", OVERRIDE);
    for args in [
        vec!["runtimes", "--catalog", "mine.kdl"],
        vec!["--catalog", "mine.kdl", "runtimes"],
    ] {
        let out = fx.layerc(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        let row = |id: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(id))
                .unwrap_or_else(|| panic!("{id} in {text}"))
                .to_string()
        };
        assert!(
            row("python3.15").ends_with("mine.kdl"),
            "{}",
            row("python3.15")
        );
        assert!(row("python3.15").contains("2030-10-31"));
        let py310 = row("python3.10");
        assert!(
            py310.contains("2020-01-01") && py310.contains("2020-02-01"),
            "{py310}"
        );
        // What the file does not state stays: python3.10's update-block date and OS.
        assert!(
            py310.contains("Amazon Linux 2") && py310.ends_with("mine.kdl"),
            "{py310}"
        );
        assert!(
            row("python3.12").contains("built-in"),
            "{}",
            row("python3.12")
        );
    }
    // LAYERC_CATALOG names the same file when --catalog is not given.
    let out = layerc_in(
        fx.path(),
        &["runtimes", "python3.15"],
        &[("LAYERC_CATALOG", "mine.kdl")],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("origin          mine.kdl"),
        "{}",
        stdout(&out)
    );
    // A broken file is the tool's problem (exit 2), named.
    fx.write(
        "bad.kdl",
        "runtime \"python9\" {\n    deprecated \"2030-01-01\"\n}\n",
    );
    let out = fx.layerc(&["runtimes", "--catalog", "bad.kdl"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("bad.kdl: runtime python9 is not in the catalog"),
        "{}",
        stderr(&out)
    );
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

/// JSON diagnostics of `layerc check` with extra arguments, as (code, message, help).
fn check_codes(fx: &Fixture, extra: &[&str]) -> (i32, Vec<(String, String, String)>) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let out = fx.layerc(&args);
    let diags = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("code"), s("message"), s("help"))
        })
        .collect();
    (code(&out), diags)
}

#[test]
fn a_runtime_newer_than_the_catalog_is_usable_with_its_base_or_a_catalog_file() {
    let fx = valid_fixture();
    let spec = |runtime: &str| {
        fx.spec(&VALID_SPEC.replace("runtime \"provided.al2023\"", runtime));
    };
    // Unknown and no base: an error whose help says how to state one.
    spec("runtime \"python3.15\"");
    let (exit, diags) = check_codes(&fx, &[]);
    assert_eq!(exit, 1, "{diags:?}");
    assert_eq!(diags[0].0, "spec::unknown-runtime");
    assert!(diags[0].2.contains("base=\"al2023\""), "{diags:?}");
    // With its OS base: checked as an Amazon Linux 2023 runtime, a warning that the data predates it.
    spec("runtime \"python3.15\" base=\"al2023\"");
    let (exit, diags) = check_codes(&fx, &[]);
    assert_eq!(exit, 0, "{diags:?}");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].0, "spec::stated-runtime");
    assert!(diags[0].1.contains("Amazon Linux 2023"), "{diags:?}");
    // A base the catalog contradicts, or that does not exist, is an error.
    spec("runtime \"python3.12\" base=\"al2\"");
    assert_eq!(check_codes(&fx, &[]).1[0].0, "spec::mixed-os");
    spec("runtime \"python3.15\" base=\"al2024\"");
    let (_, diags) = check_codes(&fx, &[]);
    assert_eq!(diags[0].0, "spec::unknown-value");
    assert!(diags[0].2.contains("al2023"), "{diags:?}");
    // A catalog file that knows it: no warning, and its lifecycle dates apply, as of the file.
    fx.write("mine.kdl", OVERRIDE.replace("2030-10-31", "2020-10-31"));
    spec("runtime \"python3.15\"");
    let (exit, diags) = check_codes(&fx, &["--catalog", "mine.kdl"]);
    assert_eq!(exit, 0, "{diags:?}");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].0, "lifecycle::deprecated");
    assert!(
        diags[0]
            .1
            .ends_with("(as of catalog data 2027-01-15 in mine.kdl)"),
        "{diags:?}"
    );
}
