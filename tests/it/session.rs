//! One `Session` analysing again after the rootfs changed (what an editor does on every keystroke):
//! its caches notice the change.

use std::fs;

use layerc::Session;
use layerc::diagnostic::SourceFile;
use layerc::resolve::Status;

use crate::common::*;

const SPEC: &str = "layer \"fx\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libfoo.so.1\"\n}\n";

fn analyze(session: &Session, fx: &Fixture) -> layerc::Analysis {
    session.analyze(SourceFile::new("layer.kdl", SPEC), fx.path(), TODAY)
}

#[test]
fn a_library_rebuilt_between_two_analyses_gives_the_new_graph() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libbar.so.1", "libbar.so.1", "bar");
    fx.lib("/usr/lib64/libfoo.so.1", "libfoo.so.1", "foo");
    let session = Session::default();
    let before = analyze(&session, &fx);
    assert!(before.diagnostics.is_empty(), "{}", rendered(&before));
    assert_eq!(plan_paths(&before), ["lib/libfoo.so.1"]);

    // The same path now holds a libfoo that needs libbar.
    fx.cc_lib(
        "/usr/lib64/libfoo.so.1",
        "libfoo.so.1",
        &c_calls("foo", "bar"),
        &["/usr/lib64/libbar.so.1"],
        &[],
    );
    let after = analyze(&session, &fx);
    assert!(after.diagnostics.is_empty(), "{}", rendered(&after));
    assert_eq!(status_of(&after, "libbar.so.1"), Some(Status::Shipped));
    assert_eq!(plan_paths(&after), ["lib/libbar.so.1", "lib/libfoo.so.1"]);
}

#[test]
fn a_library_rewritten_in_place_with_the_same_size_is_read_again() {
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libfoo.so.1", "libfoo.so.1", "foo");
    let session = Session::default();
    assert!(analyze(&session, &fx).diagnostics.is_empty());
    // Same length, same inode, new bytes: no longer an ELF object.
    let len = fs::metadata(&lib).unwrap().len() as usize;
    fs::OpenOptions::new()
        .write(true)
        .open(&lib)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &vec![b'x'; len]))
        .unwrap();
    let after = analyze(&session, &fx);
    assert_eq!(codes(&after), ["resolve::not-elf"], "{}", rendered(&after));
}

#[test]
fn an_ld_so_conf_edited_between_two_analyses_is_read_again() {
    let fx = Fixture::new();
    fx.lib("/opt/vendor/lib/libfoo.so.1", "libfoo.so.1", "foo");
    let session = Session::default();
    let before = analyze(&session, &fx);
    assert_eq!(
        codes(&before),
        ["resolve::not-found"],
        "{}",
        rendered(&before)
    );

    fx.write_root("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
    fx.write_root("/etc/ld.so.conf.d/vendor.conf", "/opt/vendor/lib\n");
    let after = analyze(&session, &fx);
    assert!(after.diagnostics.is_empty(), "{}", rendered(&after));
    assert_eq!(
        real_of(&after, "libfoo.so.1").unwrap(),
        "/opt/vendor/lib/libfoo.so.1"
    );

    // A file added to an included folder counts too.
    fs::remove_file(fx.root("/etc/ld.so.conf.d/vendor.conf")).unwrap();
    let gone = analyze(&session, &fx);
    assert_eq!(codes(&gone), ["resolve::not-found"], "{}", rendered(&gone));
}
