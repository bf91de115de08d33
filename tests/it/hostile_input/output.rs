//! Output that cannot be written: exit 2 for every command and either stream, never a panic; a
//! closed pipe stays quiet.

use std::fs::File;
use std::process::{Command, Stdio};

use super::*;

/// Exit code of `layerc args` in `dir` with stdout or stderr on /dev/full.
fn full(dir: &std::path::Path, args: &[&str], stderr_full: bool) -> i32 {
    let dev_full = || Stdio::from(File::options().write(true).open("/dev/full").unwrap());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_layerc"));
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    use_test_store(&mut cmd, &[]);
    if stderr_full {
        cmd.stderr(dev_full()).stdout(Stdio::null());
    } else {
        cmd.stdout(dev_full()).stderr(Stdio::null());
    }
    cmd.status()
        .unwrap()
        .code()
        .expect("not killed by a signal")
}

#[test]
fn unwritable_stderr_exits_2_for_every_command() {
    let fx = valid_fixture();
    let bad = Fixture::new();
    bad.spec("layer \"x\" {\n    runtim \"provided.al2023\"\n}\n");
    let cases: &[(&Fixture, &[&str])] = &[
        (&fx, &["build"]), // succeeds, then cannot say what it wrote
        (&bad, &["check"]),
        (&bad, &["build"]),
        (&bad, &["graph"]),
        (&bad, &["why", "libhello.so.1"]),
        (&fx, &["why", "libnothing.so.1"]),
        (&fx, &["graph", "--layer", "nope"]),
        (&fx, &["runtimes", "python3.1"]),
        (&fx, &["runtime", "diff", "nope", "python3.12"]),
        (&fx, &["check", "nope.kdl"]),
        (&fx, &["frobnicate"]),
    ];
    for (dir, args) in cases {
        assert_eq!(full(dir.path(), args, true), 2, "{args:?}");
    }
}

#[test]
fn unwritable_stdout_exits_2_for_every_command() {
    let fx = valid_fixture();
    let cases: &[&[&str]] = &[
        &["graph"],
        &["graph", "--format", "json"],
        &["why", "libworld.so.1"],
        &["runtimes"],
        &["runtimes", "python3.12"],
        &["runtime", "diff", "python3.12", "python3.13"],
        &["--help"],
        &["--version"],
    ];
    for args in cases {
        assert_eq!(full(fx.path(), args, false), 2, "{args:?}");
    }
    // JSON diagnostics go to stdout.
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libnope.so.1"));
    assert_eq!(full(fx.path(), &["check", "--format", "json"], false), 2);
}

#[test]
fn nothing_to_print_is_not_a_write_error() {
    let fx = valid_fixture();
    assert_eq!(full(fx.path(), &["check"], true), 0);
    assert_eq!(full(fx.path(), &["check"], false), 0);
}

#[test]
fn a_closed_stdout_pipe_is_quiet() {
    let fx = valid_fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerc"))
        .current_dir(fx.path())
        .args(["runtimes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}
