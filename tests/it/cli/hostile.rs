//! Hostile inputs: every case exits 1 or 2 with a clear message, never 0, never a panic, and
//! writes nothing (least of all outside the layer).

use layerc::Buildable;
use layerc::emit::zip::{Compression, ZipOptions};

use super::*;

/// A spec of one layer with `body` inside, the rootfs at `rootfs/`.
fn spec_with(fx: &Fixture, body: &str) {
    fx.spec(&format!(
        "layer \"hello\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n{body}}}\n"
    ));
}

/// `layerc build` refuses the spec with `code` (exit `exit`) and writes nothing anywhere.
fn refused(fx: &Fixture, exit: i32, code_: &str) -> String {
    let before = files_under(fx.path());
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), exit, "{}", stderr(&out));
    assert_no_panic(&out);
    assert!(stderr(&out).contains(code_), "{}", stderr(&out));
    assert_eq!(files_under(fx.path()), before);
    stderr(&out)
}

#[test]
fn a_soname_climbing_out_of_the_layer_is_refused() {
    for soname in ["../../../../tmp/PWNED", "/etc/evil.so", "..", "."] {
        let fx = Fixture::new();
        fx.lib("/lib64/libevil.so.1", soname, "f");
        spec_with(&fx, "    library \"libevil.so.1\"\n");
        refused(&fx, 1, "resolve::bad-name");
        let a = fx.analyze();
        assert_eq!(codes(&a), ["resolve::bad-name"], "{}", rendered(&a));
        assert!(
            a.diagnostics[0]
                .message
                .contains("not a file name inside the layer")
        );
        assert!(
            plan_paths(&a).iter().all(|p| !p.contains("..")),
            "{:?}",
            plan_paths(&a)
        );
    }
}

#[test]
fn a_hostile_soname_on_a_dependency_is_refused_with_its_chain() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libevil.so.1", "libevil.so.1", "evil");
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "evil"),
        &["/usr/lib64/libevil.so.1"],
        &[],
    );
    // The dependency is swapped for one whose soname climbs out: `libtop` still needs it by name.
    fx.lib("/usr/lib64/libevil.so.1", "../../../../tmp/PWNED", "evil");
    spec_with(&fx, "    library \"libtop.so.1\"\n");
    refused(&fx, 1, "resolve::bad-name");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["resolve::bad-name"], "{}", rendered(&a));
    assert_eq!(plan_paths(&a), ["lib/libtop.so.1"]);
}

#[test]
fn a_file_name_with_a_newline_inside_a_copied_folder_is_refused() {
    let fx = Fixture::new();
    fx.write_root("/etc/conf/good", "ok\n");
    fx.write_root("/etc/conf/bad\nname", "x\n");
    spec_with(&fx, "    file \"/etc/conf\" to=\"etc/conf\"\n");
    refused(&fx, 1, "resolve::bad-name");
}

#[test]
fn a_file_where_a_folder_must_be_is_a_spec_error_naming_both() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libx.so.1", "libx.so.1", "x");
    fx.write_root("/etc/a", "a\n");
    fx.write_root("/etc/b", "b\n");
    for body in [
        "    library \"libx.so.1\"\n    file \"/etc/a\" to=\"lib\"\n",
        "    file \"/etc/a\" to=\"etc/x\"\n    file \"/etc/b\" to=\"etc/x/y\"\n",
    ] {
        spec_with(&fx, body);
        refused(&fx, 1, "spec::path-conflict");
        let a = fx.analyze();
        assert_eq!(codes(&a), ["spec::path-conflict"], "{}", rendered(&a));
        assert_eq!(a.diagnostics[0].related.len(), 1);
    }
}

#[test]
fn control_characters_in_layer_paths_are_spec_errors() {
    let fx = Fixture::new();
    fx.write_root("/etc/a", "a\n");
    for body in [
        "    file \"/etc/a\" to=\"etc/a\\nb\"\n",
        "    dir \"lib\\tx\"\n",
        "    file \"/etc/a\" to=\"etc/a\\u{1}\"\n",
    ] {
        spec_with(&fx, body);
        let text = refused(&fx, 1, "spec::bad-path");
        assert!(text.contains("control character"), "{text}");
    }
}

#[test]
fn impossible_library_names_are_spec_errors_not_io_failures() {
    let fx = Fixture::new();
    let long = "l".repeat(300);
    for body in [
        "    library \"lib\\u{1}x.so\"\n".to_string(),
        format!("    library \"{long}\"\n"),
        "    file \"/etc/a\\nb\" to=\"etc/a\"\n".to_string(),
    ] {
        spec_with(&fx, &body);
        let text = refused(&fx, 1, "spec::bad-name");
        assert!(!text.contains("permissions"), "{text}");
    }
}

#[test]
fn a_dependency_with_an_impossible_name_is_missing_not_an_io_failure() {
    let fx = Fixture::new();
    // A DT_NEEDED longer than any file name: the loader finds nothing, and neither does layerc.
    let long = format!("lib{}.so.1", "n".repeat(300));
    let src = fx.write("src/n.c", c_fn("n"));
    fs::create_dir_all(fx.root("/usr/lib64")).unwrap();
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(fx.root("/usr/lib64/libn.so.1"))
        .arg(&src)
        .arg(format!("-Wl,-soname,{long}"))
        .status()
        .unwrap();
    assert!(status.success());
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "n"),
        &["/usr/lib64/libn.so.1"],
        &[],
    );
    spec_with(&fx, "    library \"libtop.so.1\"\n");
    refused(&fx, 1, "resolve::needed-not-found");
}

#[test]
fn a_failed_build_of_two_layers_writes_neither() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/liba.so.1", "liba.so.1", "a");
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    fx.spec(
        "layer \"a\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"liba.so.1\"\n}\n\
         layer \"b\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libb.so.1\"\n}\n",
    );
    let analysis = fx.analyze();
    let buildable = Buildable::try_from(&analysis).expect("no errors");
    // The second layer's library disappears between analysis and build: its zip cannot be
    // written, so the first layer's zip and the template must not appear either.
    fs::remove_file(fx.root("/usr/lib64/libb.so.1")).unwrap();
    let out = fx.path().join("build");
    let options = ZipOptions::new(zip::DateTime::default(), Compression::Default);
    let err = layerc::build(buildable, &out, &options)
        .err()
        .expect("fails");
    assert!(err.to_string().contains("/usr/lib64/libb.so.1"), "{err}");
    assert_eq!(files_under(&out), Vec::<String>::new());
}

#[test]
fn an_unreadable_rootfs_is_reported_once_as_such() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libx.so.1", "libx.so.1", "x");
    spec_with(&fx, "    library \"libx.so.1\"\n");
    fs::set_permissions(fx.root("/"), fs::Permissions::from_mode(0o000)).unwrap();
    let out = check_as_nobody(&fx);
    fs::set_permissions(fx.root("/"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("cannot open rootfs"), "{text}");
    assert_eq!(text.matches("rootfs::io").count(), 1, "{text}");
    assert!(!text.contains("/usr/lib64"), "{text}");
}

#[test]
fn a_symlink_loop_found_by_name_is_called_a_loop() {
    let fx = Fixture::new();
    fx.symlink_root("/usr/lib64/libloop.so.1", "libloop2.so.1");
    fx.symlink_root("/usr/lib64/libloop2.so.1", "libloop.so.1");
    spec_with(&fx, "    library \"libloop.so.1\"\n");
    let text = refused(&fx, 1, "rootfs::symlink-loop");
    assert!(!text.contains("did you mean"), "{text}");
}

#[test]
fn a_real_deep_folder_is_copied_not_called_a_loop() {
    let fx = Fixture::new();
    let deep = "/d".repeat(34);
    fx.write_root(&format!("/srv{deep}/leaf.txt"), "leaf\n");
    spec_with(&fx, "    file \"/srv\" to=\"srv\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(plan_paths(&a), [format!("srv{deep}/leaf.txt")]);
}

#[test]
fn out_naming_a_file_says_so() {
    let fx = valid_fixture();
    fx.write("taken", "not a folder");
    let out = fx.layerc(&["build", "--out", "taken"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("taken is not a folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kdl_v1_booleans_get_a_hint() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("\"libhello.so.1\"", "\"libhello.so.1\" override=true"));
    let text = refused(&fx, 1, "spec::syntax");
    assert!(text.contains("`#true`"), "{text}");
}

#[test]
fn json_and_human_positions_agree_with_cr_line_endings() {
    let fx = Fixture::new();
    fx.spec(
        "layer \"hello\" {\r    runtime \"provided.al2023\"\r    rootfs \"rootfs\"\r    library \"libnope.so.1\"\r}\r",
    );
    let human = stderr(&fx.layerc(&["check", "--color", "never"]));
    assert!(human.contains("layer.kdl:4:13"), "{human}");
    let json: Value =
        serde_json::from_str(stdout(&fx.layerc(&["check", "--format", "json"])).trim()).unwrap();
    assert_eq!(
        (json["line"].as_u64(), json["column"].as_u64()),
        (Some(4), Some(13))
    );
}

#[test]
fn names_aws_would_reject_are_spec_errors() {
    let fx = valid_fixture();
    let function =
        |body: &str| format!("{VALID_SPEC}function \"Fn\" {{\n    layer \"hello\"\n{body}}}\n");
    for (spec, expected) in [
        (function("    env \"\" \"x\"\n"), "spec::bad-name"),
        (function("    env \"1BAD=\" \"x\"\n"), "spec::bad-name"),
        (
            function("    env \"AWS_REGION\" \"eu-west-1\"\n"),
            "spec::bad-name",
        ),
        (function("    env \"_HANDLER\" \"x\"\n"), "spec::bad-name"),
        (
            function("    env \"AWS_LAMBDA_FUNCTION_NAME\" \"x\"\n"),
            "spec::bad-name",
        ),
        (function("    layer \"hello\"\n"), "spec::duplicate"),
        (
            VALID_SPEC.to_string() + "function \"image-fn\" {\n    layer \"hello\"\n}\n",
            "spec::bad-name",
        ),
        (
            VALID_SPEC.replace("rootfs \"rootfs\"", "rootfs \"\""),
            "spec::missing-value",
        ),
    ] {
        fx.spec(&spec);
        refused(&fx, 1, expected);
    }
    // TZ and LD_LIBRARY_PATH's neighbours are the user's to set.
    fx.spec(&function(
        "    env \"TZ\" \"UTC\"\n    env \"AWS_LAMBDA_EXEC_WRAPPER\" \"/opt/w\"\n",
    ));
    let out = fx.layerc(&["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
