//! The build summary on stderr: what each layer ships, why, and the totals against the limits.

use super::*;

/// Every run of digits as `N`: sizes depend on the compiler that built the fixtures.
fn mask_digits(text: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

#[test]
fn build_prints_each_file_with_its_size_and_first_chain() {
    let fx = valid_fixture();
    fx.write_root("/etc/hello.conf", "greeting=hi\n");
    fx.symlink_root("/usr/lib64/libhello.so", "libhello.so.1");
    fx.spec(&format!(
        "{}function \"Fn\" {{\n    layer \"hello\"\n    layer \"arn:aws:lambda:us-east-1:123456789012:layer:x:1\"\n}}\n",
        VALID_SPEC.replace(
            "    library \"libhello.so.1\"\n",
            "    library \"libhello.so.1\"\n    library \"libhello.so\"\n    file \"/etc/hello.conf\" to=\"etc/hello.conf\"\n"
        )
    ));
    // A store of its own: the first build is built and stored, the second comes from the store.
    let store = fx.path().join("store");
    let env = [("LAYERC_STORE", store.to_str().unwrap())];
    let out = layerc_in(fx.path(), &["build"], &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    insta::assert_snapshot!(mask_digits(&err));
    let again = stderr(&layerc_in(fx.path(), &["build"], &env));
    assert!(
        again.starts_with("layer `hello` (from the store): ./build/hello.zip\n"),
        "{again}"
    );

    // The figures are the real ones.
    let size = |inside: &str| fs::metadata(fx.root(inside)).unwrap().len();
    let row = |path: &str| {
        err.lines()
            .find(|l| l.trim_start().starts_with(path))
            .unwrap_or_else(|| panic!("{path} in {err}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(
        row("/opt/lib/libhello.so.1"),
        size("/usr/lib64/libhello.so.1").to_string()
    );
    assert_eq!(
        row("/opt/lib/libworld.so.1"),
        size("/usr/lib64/libworld.so.1").to_string()
    );
    assert_eq!(row("/opt/etc/hello.conf"), "12");
    let zip = fs::metadata(fx.path().join("build/hello.zip"))
        .unwrap()
        .len();
    assert!(
        err.contains(&format!("zip {zip} of 52428800 bytes")),
        "{err}"
    );

    // `--quiet` leaves it out; `--format json` too (its diagnostics are on stdout).
    for flag in ["--quiet", "-q"] {
        let out = fx.layerc(&["build", flag]);
        assert_eq!(code(&out), 0);
        assert!(!stderr(&out).contains("pulled in by"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    let out = fx.layerc(&["build", "--format", "json"]);
    assert!(!stderr(&out).contains("pulled in by"));
}
