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
