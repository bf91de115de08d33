//! What an output is written over: a device or a stream is written through and stays what it was,
//! a symlink's target is updated and the link stays a link, a replaced file keeps its owner,
//! group, mode, hard links and attributes, and a template that cannot be replaced (immutable,
//! bind-mounted) or was edited meanwhile leaves every output as it was.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::process::Command;

use super::*;

const TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Handler: bootstrap\n      CodeUri: app/\n";

/// The valid fixture with a template whose function takes the layer.
fn project() -> Fixture {
    let fx = valid_fixture();
    fx.write("template.yaml", TEMPLATE);
    fx.spec(&format!(
        "{VALID_SPEC}\ntemplate \"template.yaml\"\nfunction \"Fn\" {{\n    layer \"hello\"\n}}\n"
    ));
    fx
}

fn scan_to(fx: &Fixture, out: &str) -> std::process::Output {
    layerc_bounded(
        fx.path(),
        &["runtime", "scan", "/", "--name", "x", "--out", out],
    )
}

#[test]
fn an_output_over_a_device_or_a_stream_is_written_through() {
    let fx = Fixture::new();
    let made = |name: &str, minor: &str| {
        let path = fx.path().join(name);
        let ok = Command::new("mknod")
            .arg(&path)
            .args(["c", "1", minor])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(path)
    };
    let (Some(null), Some(full)) = (made("null", "3"), made("full", "7")) else {
        eprintln!("skipped: mknod needs root");
        return;
    };
    let out = scan_to(&fx, "null");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = scan_to(&fx, "full");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    for device in [&null, &full] {
        let kind = fs::symlink_metadata(device).unwrap().file_type();
        assert!(kind.is_char_device(), "{} was replaced", device.display());
    }
    // Standard output, named three ways.
    symlink("/proc/self/fd/1", fx.path().join("fd1")).unwrap();
    symlink("/dev/stdout", fx.path().join("stdout")).unwrap();
    for name in ["fd1", "stdout", "/dev/stdout", "/proc/self/fd/1"] {
        let out = scan_to(&fx, name);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("os \"x-os\""),
            "{name}: {}",
            stdout(&out)
        );
    }
    for link in ["fd1", "stdout"] {
        assert!(
            fs::symlink_metadata(fx.path().join(link))
                .unwrap()
                .is_symlink()
        );
    }
    assert!(fs::symlink_metadata("/dev/stdout").unwrap().is_symlink());
    // A FIFO no process reads is an error at once, never a hang.
    mkfifo(&fx.path().join("fifo"));
    let out = scan_to(&fx, "fifo");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no process reads it"),
        "{}",
        stderr(&out)
    );
    // A folder or a block device is refused.
    fs::create_dir(fx.path().join("folder")).unwrap();
    let out = scan_to(&fx, "folder");
    assert!(
        stderr(&out).contains("a folder is in the way"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_symlinked_output_updates_the_file_it_points_at() {
    let fx = project();
    fs::create_dir(fx.path().join("real")).unwrap();
    fs::rename(
        fx.path().join("template.yaml"),
        fx.path().join("real/template.yaml"),
    )
    .unwrap();
    symlink("real/template.yaml", fx.path().join("template.yaml")).unwrap();
    symlink("real/description.kdl", fx.path().join("description.kdl")).unwrap();
    let out = layerc_bounded(fx.path(), &["build"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(fx.path().join("template.yaml"))
            .unwrap()
            .is_symlink()
    );
    let merged = fs::read_to_string(fx.path().join("real/template.yaml")).unwrap();
    assert!(merged.contains("Layers:"), "{merged}");
    // A dangling symlink: the file it names is created.
    let out = scan_to(&fx, "description.kdl");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(fx.path().join("description.kdl"))
            .unwrap()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(fx.path().join("real/description.kdl"))
            .unwrap()
            .contains("x-os")
    );
}

#[test]
fn a_merged_template_keeps_its_owner_group_mode_links_and_attributes() {
    let fx = project();
    let template = fx.path().join("template.yaml");
    std::os::unix::fs::chown(&template, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&template, fs::Permissions::from_mode(0o640)).unwrap();
    let out = layerc_bounded(fx.path(), &["build"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let meta = fs::metadata(&template).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (65534, 65534, 0o640)
    );
    assert!(fs::read_to_string(&template).unwrap().contains("Layers:"));
    // A second hard link and an extended attribute: a rename would leave both behind.
    let fx = project();
    let template = fx.path().join("template.yaml");
    fs::hard_link(&template, fx.path().join("other-name.yaml")).unwrap();
    // Python sets and reads the attribute: the oracle tier's part of this test.
    let set = crate::tier::oracle_check(&["python3"])
        && Command::new("python3")
            .args([
                "-c",
                "import os, sys; os.setxattr(sys.argv[1], 'user.note', b'kept')",
            ])
            .arg(&template)
            .status()
            .unwrap()
            .success();
    let out = layerc_bounded(fx.path(), &["build"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let other = fs::read_to_string(fx.path().join("other-name.yaml")).unwrap();
    assert!(other.contains("Layers:"), "{other}");
    assert_eq!(fs::metadata(&template).unwrap().nlink(), 2);
    if set {
        let get = Command::new("python3")
            .args([
                "-c",
                "import os, sys; print(os.getxattr(sys.argv[1], 'user.note').decode())",
            ])
            .arg(&template)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "kept");
    }
}

/// Asserts the build in `fx` failed with everything as it was: the template as `template`, no
/// `build/` and no lock (a first build), and that the message says so.
fn assert_nothing_written(fx: &Fixture, out: &std::process::Output, template: &str) {
    let err = stderr(out);
    assert_eq!(code(out), 2, "{err}");
    assert_no_panic(out);
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        fs::read_to_string(fx.path().join("template.yaml")).unwrap(),
        template
    );
    assert!(!fx.path().join("build").exists(), "{:?}", written(fx));
    assert!(!fx.path().join("layer.lock").exists());
}

#[test]
fn an_immutable_template_leaves_every_output_as_it_was() {
    let fx = project();
    let template = fx.path().join("template.yaml");
    if !Command::new("chattr")
        .arg("+i")
        .arg(&template)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: chattr +i needs root and ext4, xfs or btrfs");
        return;
    }
    let out = layerc_bounded(fx.path(), &["build"]);
    let _ = Command::new("chattr").arg("-i").arg(&template).status();
    assert_nothing_written(&fx, &out, TEMPLATE);
    // With the zips of an earlier build there: they are put back byte for byte.
    let out = layerc_bounded(fx.path(), &["build", "--no-merge"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let zip = fs::read(fx.path().join("build/hello.zip")).unwrap();
    fx.write_root("/etc/extra.conf", "more\n");
    fx.spec(&format!(
        "{}\ntemplate \"template.yaml\"\nfunction \"Fn\" {{\n    layer \"hello\"\n}}\n",
        VALID_SPEC.replace(
            "}\n",
            "    file \"/etc/extra.conf\" to=\"etc/extra.conf\"\n}\n"
        )
    ));
    let lock = fs::read(fx.path().join("layer.lock")).unwrap();
    Command::new("chattr")
        .arg("+i")
        .arg(&template)
        .status()
        .unwrap();
    let out = layerc_bounded(fx.path(), &["build"]);
    let _ = Command::new("chattr").arg("-i").arg(&template).status();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert!(fs::read(fx.path().join("build/hello.zip")).unwrap() == zip);
    assert!(fs::read(fx.path().join("layer.lock")).unwrap() == lock);
    assert_eq!(fs::read_to_string(&template).unwrap(), TEMPLATE);
}

#[test]
fn a_bind_mounted_template_leaves_every_output_as_it_was() {
    let fx = project();
    let other = fx.write("elsewhere.yaml", TEMPLATE);
    let template = fx.path().join("template.yaml");
    // In a mount namespace of its own: a rename over a mount point fails with EBUSY.
    let script = format!(
        "mount --bind {} {} && exec {} build",
        other.display(),
        template.display(),
        env!("CARGO_BIN_EXE_layerc")
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .current_dir(fx.path())
        .env("NO_COLOR", "1")
        .env("LAYERC_STORE", test_store())
        .output()
        .unwrap();
    if stderr(&out).contains("unshare failed") || stderr(&out).contains("mount:") {
        eprintln!("skipped: {}", stderr(&out));
        return;
    }
    assert_nothing_written(&fx, &out, TEMPLATE);
    assert!(stderr(&out).contains("template.yaml"), "{}", stderr(&out));
}

#[test]
fn an_edit_saved_during_the_build_is_kept() {
    use layerc::emit::zip::{Compression, ZipOptions, timestamp};
    let fx = project();
    let analysis = fx.analyze();
    let buildable = layerc::Buildable::try_from(&analysis).unwrap();
    let out_dir = fx.path().join("build");
    let merged = layerc::template::files::prepare(
        analysis.template.as_ref(),
        &analysis.spec,
        analysis_catalog(),
        &out_dir,
    )
    .unwrap()
    .unwrap();
    // The user saves the template after layerc read it.
    let edited = format!("{TEMPLATE}# saved meanwhile\n");
    fs::write(fx.path().join("template.yaml"), &edited).unwrap();
    let options = ZipOptions::new(timestamp(None), Compression::Default);
    let lock = layerc::lock::compute(&analysis).unwrap();
    let lock_path = fx.path().join("layer.lock");
    let err = layerc::build_with_lock(
        buildable,
        &out_dir,
        &options,
        Some(layerc::LockOutput {
            path: &lock_path,
            lock,
            write: layerc::LockWrite::Write,
        }),
        Some(&merged),
        layerc::Stores::default(),
        None,
    )
    .err()
    .expect("the build fails");
    assert!(err.to_string().contains("template.yaml changed"), "{err}");
    assert!(err.wrote_nothing());
    assert_eq!(
        fs::read_to_string(fx.path().join("template.yaml")).unwrap(),
        edited
    );
    assert!(!out_dir.join("hello.zip").exists());
    assert!(!lock_path.exists());
}

fn analysis_catalog() -> &'static layerc::runtime::Catalog {
    layerc::runtime::Catalog::builtin()
}
