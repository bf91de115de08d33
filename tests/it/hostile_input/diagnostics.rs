//! Many diagnostics, or diagnostics in huge lines: output stays proportionate to what is shown.

use super::*;

#[test]
fn a_hundred_thousand_errors_show_fifty_and_a_count() {
    let fx = Fixture::new();
    fx.spec(&format!("x {}\n", "(t)".repeat(100_000)));
    let out = layerc_bounded(fx.path(), &["check"]);
    assert_eq!(code(&out), 1);
    assert_no_panic(&out);
    let err = stderr(&out);
    assert!(err.len() < 100_000, "{} bytes of diagnostics", err.len());
    assert_eq!(err.matches("spec::syntax").count(), 50, "{err}");
    let total = err.matches("spec::syntax").count();
    assert!(err.contains("… and "), "{err}");
    let summary = err.lines().last().unwrap();
    let errors: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(errors > total, "{summary}");
    assert!(
        err.contains(&format!("… and {} more", errors - total)),
        "{err}"
    );
    // Tools still get every one, one line each.
    let json = layerc_bounded(fx.path(), &["check", "--format", "json"]);
    assert_eq!(stdout(&json).lines().count(), errors);
}

#[test]
fn a_megabyte_line_is_clipped_around_the_span() {
    let fx = valid_fixture();
    let padding = " ".repeat(1 << 20);
    fx.spec(&format!(
        "layer \"hello\" {{ runtime \"provided.al2023\"; rootfs \"rootfs\"; library \"libnope.so.1\";{padding}library \"libnone.so.1\" }}\n"
    ));
    let out = layerc_bounded(fx.path(), &["check"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.len() < 10_000, "{} bytes of diagnostics", err.len());
    assert!(err.contains("library \"libnope.so.1\""), "{err}");
    assert!(err.contains("library \"libnone.so.1\""), "{err}");
    // The header still names the span's own column.
    let column =
        "layer \"hello\" { runtime \"provided.al2023\"; rootfs \"rootfs\"; library ".len() + 1;
    assert!(err.contains(&format!("[layer.kdl:1:{column}]")), "{err}");
}

/// A library whose DT_NEEDED entry holds terminal escapes and a line break: `libtop.so.1` needs
/// `lib␛]0;pwned␇␛[31mesc⏎x.so.1`, which the rootfs does not have.
fn escaping_fixture() -> Fixture {
    let fx = Fixture::new();
    let evil = "lib\u{1b}]0;pwned\u{7}\u{1b}[31mesc\nx.so.1";
    fx.cc_lib("/usr/lib64/libesc.so.1", evil, &c_fn("esc"), &[], &[]);
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "esc"),
        &["/usr/lib64/libesc.so.1"],
        &[],
    );
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libtop.so.1"));
    fx
}

fn assert_no_raw_controls(what: &str, text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} carries a raw control character: {text:?}"
    );
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let fx = escaping_fixture();
    let shown = "lib\\u{1b}]0;pwned\\u{7}\\u{1b}[31mesc\\nx.so.1";
    let evil = "lib\u{1b}]0;pwned\u{7}\u{1b}[31mesc\nx.so.1";
    for args in [&["check"][..], &["build"], &["graph"], &["why", evil]] {
        let out = layerc_bounded(fx.path(), args);
        assert_no_panic(&out);
        assert_no_raw_controls(&format!("{args:?} stderr"), &stderr(&out));
        assert_no_raw_controls(&format!("{args:?} stdout"), &stdout(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains(shown), "{args:?}: {all}");
    }
    // Every line of the Mermaid and dot renderings is one statement: no line break from a name.
    let out = layerc_bounded(fx.path(), &["graph", "--format", "mermaid"]);
    let text = stdout(&out);
    assert_no_raw_controls("mermaid", &text);
    for line in text.lines() {
        let line = line.trim_start();
        assert!(
            ["flowchart", "subgraph", "end"]
                .iter()
                .any(|s| line.starts_with(s))
                || (line.starts_with('L') && (line.ends_with("\"]") || line.contains(" --> "))),
            "{line:?} in {text}"
        );
    }
    let out = layerc_bounded(fx.path(), &["graph", "--format", "dot"]);
    let text = stdout(&out);
    assert_no_raw_controls("dot", &text);
    assert!(
        text.lines()
            .all(|l| !l.contains('"') || l.matches('"').count() % 2 == 0),
        "{text}"
    );
    // JSON escapes them on its own.
    let out = layerc_bounded(fx.path(), &["check", "--format", "json"]);
    assert_no_raw_controls("json", &stdout(&out));
}
