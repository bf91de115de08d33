//! The emitted zip and template, checked with Info-ZIP's `zipinfo`/`unzip -t` and AWS's `cfn-lint`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// A fixture with a small closure, an alias and an extra non-ELF file.
fn layer_fixture(fx: &Fixture, function: bool) {
    fx.lib("/usr/lib64/libleaf.so.1.0", "libleaf.so.1", "leaf");
    fx.symlink_root("/usr/lib64/libleaf.so.1", "libleaf.so.1.0");
    fx.cc_lib(
        "/usr/lib64/libtop.so.2.0",
        "libtop.so.2",
        &c_calls("top", "leaf"),
        &["/usr/lib64/libleaf.so.1"],
        &[],
    );
    fx.symlink_root("/usr/lib64/libtop.so.2", "libtop.so.2.0");
    fx.symlink_root("/usr/lib64/libtop.so", "libtop.so.2");
    fx.write_root("/etc/fonts/fonts.conf", "<fontconfig/>\n");
    let functions = if function {
        "function \"ImageFunction\" {\n    layer \"image-libs\"\n    layer \"arn:aws:lambda:us-east-1:123456789012:layer:icu:2\"\n    env \"FONTCONFIG_PATH\" \"/opt/etc/fonts\"\n}\n"
    } else {
        ""
    };
    fx.spec(&format!(
        "layer \"image-libs\" {{\n    description \"test layer\"\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libtop.so.2\"\n    library \"libtop.so\"\n    file \"/etc/fonts/fonts.conf\" to=\"etc/fonts/fonts.conf\"\n}}\n{functions}"
    ));
}

fn tool(cmd: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn zip_is_valid_sorted_with_symlinks_fixed_times_and_no_extra_fields() {
    let Some(()) = crate::tier::oracle(&["unzip", "zipinfo"]) else {
        return;
    };
    let fx = Fixture::new();
    layer_fixture(&fx, true);
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let zip = fx.path().join("build/image-libs.zip");
    let test = tool("unzip", &["-t", zip.to_str().unwrap()], fx.path());
    assert!(test.contains("No errors detected"), "{test}");
    let listing = tool("zipinfo", &[zip.to_str().unwrap()], fx.path());
    // Sizes vary with the compiler; names, modes, types, methods and times must not.
    let shape: Vec<String> = listing
        .lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {} {} {} {}", f[0], f[2], f[5], f[6], f[7], f[8])
        })
        .collect();
    insta::assert_snapshot!(shape.join("\n"), @r"
    drwxr-xr-x unx stor 80-Jan-01 00:00 etc/
    drwxr-xr-x unx stor 80-Jan-01 00:00 etc/fonts/
    -rw-r--r-- unx defN 80-Jan-01 00:00 etc/fonts/fonts.conf
    drwxr-xr-x unx stor 80-Jan-01 00:00 lib/
    -rwxr-xr-x unx defN 80-Jan-01 00:00 lib/libleaf.so.1
    lrwxrwxrwx unx stor 80-Jan-01 00:00 lib/libtop.so
    -rwxr-xr-x unx defN 80-Jan-01 00:00 lib/libtop.so.2
    ");
    let verbose = tool("zipinfo", &["-v", zip.to_str().unwrap()], fx.path());
    let extra: Vec<&str> = verbose
        .lines()
        .filter(|l| l.contains("length of extra field"))
        .collect();
    assert_eq!(extra.len(), 7);
    assert!(
        extra.iter().all(|l| l.trim_end().ends_with(" 0 bytes")),
        "{extra:?}"
    );
    // The symlink entry's content is its target.
    let target = tool(
        "unzip",
        &["-p", zip.to_str().unwrap(), "lib/libtop.so"],
        fx.path(),
    );
    assert_eq!(target, "libtop.so.2");
    // The shipped bytes are the rootfs file's.
    let shipped = Command::new("unzip")
        .args(["-p", zip.to_str().unwrap(), "lib/libtop.so.2"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        shipped,
        fs::read(fx.root("/usr/lib64/libtop.so.2.0")).unwrap()
    );
}

#[test]
fn builds_are_byte_identical_across_mtimes_umask_timezone_and_output_folder() {
    let fx = Fixture::new();
    layer_fixture(&fx, true);
    let first = layerc_in(fx.path(), &["build", "--out", "out-a"], &[("TZ", "UTC")]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // Touch every input, change umask and time zone, build elsewhere.
    for f in [
        "/usr/lib64/libleaf.so.1.0",
        "/usr/lib64/libtop.so.2.0",
        "/etc/fonts/fonts.conf",
    ] {
        let bytes = fs::read(fx.root(f)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(fx.root(f), bytes).unwrap();
    }
    let out_b = fx.path().join("nested/out-b");
    let second = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 077; exec {} build --out {}",
            env!("CARGO_BIN_EXE_layerc"),
            out_b.display()
        ))
        .current_dir(fx.path())
        .env("TZ", "Pacific/Kiritimati")
        .env("LAYERC_STORE", test_store())
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    for name in ["image-libs.zip", "serverless.template.json"] {
        let a = fs::read(fx.path().join("out-a").join(name)).unwrap();
        let b = fs::read(out_b.join(name)).unwrap();
        assert!(a == b, "{name} differs between builds");
    }
    // Outputs are readable whatever the umask; zips are read-only (they may share their bytes
    // with the store).
    use std::os::unix::fs::PermissionsExt;
    let mode = |name: &str| fs::metadata(out_b.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("image-libs.zip"), 0o444);
    assert_eq!(mode("serverless.template.json"), 0o644);
}

#[test]
fn source_date_epoch_sets_entry_times() {
    let Some(()) = crate::tier::oracle(&["zipinfo"]) else {
        return;
    };
    let fx = Fixture::new();
    layer_fixture(&fx, false);
    // 2021-03-04 05:06:08 UTC
    let out = layerc_in(
        fx.path(),
        &["build"],
        &[("SOURCE_DATE_EPOCH", "1614834368")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = tool("zipinfo", &["-T", "build/image-libs.zip"], fx.path());
    let stamps: std::collections::BTreeSet<&str> = listing
        .lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| l.split_whitespace().nth(6).unwrap())
        .collect();
    assert_eq!(stamps.into_iter().collect::<Vec<_>>(), ["20210304.050608"]);
}

#[test]
fn template_fragment_for_a_function() {
    let fx = Fixture::new();
    layer_fixture(&fx, true);
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn template_fragment_uses_globals_without_functions() {
    let fx = Fixture::new();
    layer_fixture(&fx, false);
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["Globals"]["Function"]["Layers"][0]["Ref"],
        "ImageLibsLayer"
    );
    assert!(
        v["Globals"]["Function"]["Environment"]["Variables"]["LD_LIBRARY_PATH"]
            .as_str()
            .unwrap()
            .starts_with("/opt/lib:/var/lang/lib:")
    );
}

/// Deep-merges `patch` into `base` (objects merge, everything else is replaced).
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[test]
fn merged_fragment_passes_cfn_lint() {
    let Some(()) = crate::tier::oracle(&["cfn-lint"]) else {
        return;
    };
    for function in [true, false] {
        let fx = Fixture::new();
        layer_fixture(&fx, function);
        let out = fx.layerc(&["build"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let fragment: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap(),
        )
        .unwrap();
        let mut template = serde_json::json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "ImageFunction": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "Handler": "bootstrap",
                        "Runtime": "provided.al2023",
                        "CodeUri": "function/",
                        "MemorySize": 512,
                        "Timeout": 30
                    }
                }
            }
        });
        merge(&mut template, &fragment);
        let path = fx.path().join("build/template.json");
        fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
        let lint = Command::new("cfn-lint")
            .arg(&path)
            .output()
            .expect("cfn-lint must be installed (.ci/run installs it with pip)");
        assert!(
            lint.status.success(),
            "cfn-lint rejected the merged template:\n{}\n{}",
            String::from_utf8_lossy(&lint.stdout),
            serde_json::to_string_pretty(&template).unwrap()
        );
    }
}

#[test]
fn a_failed_build_leaves_earlier_outputs_untouched() {
    let fx = Fixture::new();
    layer_fixture(&fx, true);
    assert_eq!(fx.layerc(&["build"]).status.code(), Some(0));
    let before = fs::read(fx.path().join("build/image-libs.zip")).unwrap();
    let spec = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    fx.spec(&spec.replace("library \"libtop.so.2\"", "library \"libmissing.so.9\""));
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        fs::read(fx.path().join("build/image-libs.zip")).unwrap(),
        before
    );
    assert_eq!(
        files_under(&fx.path().join("build")),
        ["image-libs.zip", "serverless.template.json"]
    );
}

#[test]
fn file_entries_that_are_shared_objects_are_stored_0755() {
    let Some(()) = crate::tier::oracle(&["zipinfo"]) else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let lib = fx.lib("/usr/share/plugin/libplug.so", "libplug.so", "plug");
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o644)).unwrap();
    fx.write_root("/usr/share/plugin/README", "text\n");
    fx.spec(
        "layer \"p\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    file \"/usr/share/plugin\" to=\"plugins\"\n}\n",
    );
    let out = fx.layerc(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = tool("zipinfo", &["-1", "build/p.zip"], fx.path());
    assert_eq!(listing, "plugins/\nplugins/README\nplugins/libplug.so\n");
    let long = tool("zipinfo", &["build/p.zip"], fx.path());
    let mode = |name: &str| {
        long.lines()
            .find(|l| l.ends_with(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(mode("plugins/libplug.so"), "-rwxr-xr-x");
    assert_eq!(mode("plugins/README"), "-rw-r--r--");
}

#[test]
fn parallel_compression_gives_the_same_bytes_as_one_thread() {
    let fx = Fixture::new();
    layer_fixture(&fx, true);
    let one = layerc_in(
        fx.path(),
        &["build", "--out", "one"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    let many = layerc_in(
        fx.path(),
        &["build", "--out", "many"],
        &[("RAYON_NUM_THREADS", "8")],
    );
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(many.status.code(), Some(0), "{}", stderr(&many));
    assert!(
        fs::read(fx.path().join("one/image-libs.zip")).unwrap()
            == fs::read(fx.path().join("many/image-libs.zip")).unwrap()
    );
}
