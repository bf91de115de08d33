//! `layerc why`: the chains that pull a library in.

use super::*;

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

#[test]
fn why_takes_a_library_name_without_its_suffix() {
    let fx = valid_fixture();
    for name in ["libworld", "world", "libworld.so"] {
        let out = fx.layerc(&["why", name]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("libhello.so.1 → libworld.so.1"),
            "{name}: {}",
            stdout(&out)
        );
    }
    let out = fx.layerc(&["why", "libwrld"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
}
