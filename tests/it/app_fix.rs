//! `layerc scan --rootfs R --write-spec FILE`: the layer that gives the application what it misses,
//! built by `layerc build`, after which a second scan with `--spec` finds nothing missing.

use std::fs;

use std::process::Output;

use crate::app_scan::{assert_loads, wheel};
use crate::common::*;

/// `layerc scan rootfs/app --runtime RUNTIME --rootfs rootfs EXTRA...` in the fixture.
fn scan_fixing(fx: &Fixture, runtime: &str, extra: &[&str]) -> Output {
    let args = [
        "scan",
        "rootfs/app",
        "--runtime",
        runtime,
        "--rootfs",
        "rootfs",
    ];
    fx.layerc(&[&args[..], extra].concat())
}

#[test]
fn the_written_spec_builds_a_layer_that_makes_the_app_load() {
    let fx = Fixture::new();
    wheel(&fx, true);
    fx.lib("/usr/lib64/libb.so.1.2", "libb.so.1", "b");
    fx.symlink_root("/usr/lib64/libb.so.1", "libb.so.1.2");
    let out = scan_fixing(&fx, "python3.12", &["--write-spec", "spec/layer.kdl"]);
    // The application as it stands does not load: exit 1, and the fix is written.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("proposed layer `native` from rootfs: libb.so.1"),
        "{err}"
    );
    assert!(err.contains("with this layer, everything loads"), "{err}");
    let spec = fs::read_to_string(fx.path().join("spec/layer.kdl")).unwrap();
    insta::assert_snapshot!(spec);

    let out = fx.layerc(&["build", "spec/layer.kdl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fx.path().join("spec/build/native.zip").is_file());

    let again = ["scan", "rootfs/app", "--runtime", "python3.12", "--spec"];
    let out = fx.layerc(&[&again[..], &["spec/layer.kdl"]].concat());
    assert_loads(&out);
}

#[test]
fn without_write_spec_the_spec_is_printed_and_json_has_the_fix() {
    let fx = Fixture::new();
    wheel(&fx, true);
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    let out = scan_fixing(&fx, "python3.12", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("library \"libb.so.1\""),
        "{}",
        stdout(&out)
    );
    assert!(
        fx.path()
            .read_dir()
            .unwrap()
            .all(|e| e.unwrap().file_name() != "layer.kdl")
    );
    let out = scan_fixing(&fx, "python3.12", &["--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["fix"]["libraries"], serde_json::json!(["libb.so.1"]));
    assert_eq!(report["fix"]["loads_with_layer"], true);
    assert_eq!(report["fix"]["written"], serde_json::Value::Null);
}

#[test]
fn a_library_the_rootfs_lacks_too_is_named_and_nothing_is_written() {
    let fx = Fixture::new();
    wheel(&fx, true);
    let out = scan_fixing(&fx, "python3.12", &["--write-spec", "layer.kdl"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not in rootfs either: libb.so.1"), "{err}");
    assert!(!fx.path().join("layer.kdl").exists());
}

#[test]
fn a_spec_that_is_not_written_leaves_no_folder_behind() {
    let fx = Fixture::new();
    wheel(&fx, true);
    // Too new for Amazon Linux 2: the draft has an abi:: error, so nothing is written.
    fx.cc_lib(
        "/usr/lib64/libb.so.1",
        "libb.so.1",
        "#include <dlfcn.h>\nvoid *b(void) { return dlopen(\"x\", RTLD_NOW); }\n",
        &[],
        &[],
    );
    let out = scan_fixing(&fx, "python3.11", &["--write-spec", "new/spec/layer.kdl"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("abi::symbol-version"), "{err}");
    assert!(
        err.contains("the proposed layer has errors; nothing was written"),
        "{err}"
    );
    assert!(!fx.path().join("new").exists());
}

/// A SAM template with the application's function, another on the same runtime, and one on
/// another runtime.
const TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
Resources:
  ResizeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: pkg.mod.handler
      CodeUri: rootfs/app
  ReportFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: report.handler
      CodeUri: report/
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs20.x
      CodeUri: web/
";

#[test]
fn with_the_template_the_spec_attaches_the_layer_and_checks_the_app() {
    let Some(()) = crate::tier::oracle(&["cfn-lint"]) else {
        return;
    };
    let fx = Fixture::new();
    wheel(&fx, true);
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    fx.write("template.yaml", TEMPLATE);
    let out = scan_fixing(
        &fx,
        "python3.12",
        &["--template", "template.yaml", "--write-spec", "layer.kdl"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let spec = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    insta::assert_snapshot!(spec);
    // `check` verifies the function's app with its layer; `build` merges it into the template.
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let merged = fs::read_to_string(fx.path().join("template.yaml")).unwrap();
    assert!(merged.contains("NativeLayer"), "{merged}");
    // cfn-lint finds nothing in the merged template that the original did not have.
    let original = fx.write("original.yaml", TEMPLATE);
    crate::merge::assert_no_new_findings(&[(original, fx.path().join("template.yaml"))]);
}

#[test]
fn an_existing_spec_is_replaced_only_with_force_and_a_symlink_stays_a_link() {
    let fx = Fixture::new();
    wheel(&fx, true);
    fx.lib("/usr/lib64/libb.so.1", "libb.so.1", "b");
    let mine = "// my own spec\n";
    fx.write("layer.kdl", mine);
    let out = scan_fixing(&fx, "python3.12", &["--write-spec", "layer.kdl"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("layer.kdl already exists; pass --force to replace it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(fx.path().join("layer.kdl")).unwrap(),
        mine
    );
    let out = scan_fixing(&fx, "python3.12", &["--write-spec", "layer.kdl", "--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        fs::read_to_string(fx.path().join("layer.kdl"))
            .unwrap()
            .contains("layer \"native\"")
    );
    // A symlink to a spec elsewhere: that file is written, the link stays.
    fs::create_dir(fx.path().join("specs")).unwrap();
    std::os::unix::fs::symlink("specs/native.kdl", fx.path().join("link.kdl")).unwrap();
    let out = scan_fixing(&fx, "python3.12", &["--write-spec", "link.kdl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(fx.path().join("link.kdl"))
            .unwrap()
            .is_symlink()
    );
    let written = fs::read_to_string(fx.path().join("specs/native.kdl")).unwrap();
    assert!(written.contains("layer \"native\""), "{written}");
}
