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
