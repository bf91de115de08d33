//! Exit codes: 0, 1 or 2 whatever the input, never a panic.

use super::*;

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

#[test]
fn command_line_paths_are_named_as_given_relative_to_the_current_folder() {
    let fx = valid_fixture();
    // --merge comes from the command line: not a finding at a place in the spec.
    let out = fx.layerc(&["build", "--merge", "nope.yaml"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read --merge nope.yaml: "),
        "{err}"
    );
    assert!(err.contains("relative to the current folder"), "{err}");
    assert!(
        !err.contains("template::not-found") && !err.contains("layer \"hello\""),
        "{err}"
    );
    assert!(!fx.path().join("build").exists());
    // scan's first argument is the application, not a rootfs.
    let out = fx.layerc(&["scan", "nope", "--runtime", "python3.12"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: cannot open the application nope: "),
        "{}",
        stderr(&out)
    );
}
