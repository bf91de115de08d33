//! Hostile inputs: files that are not ELF objects, unreadable rootfs files.

use super::*;

/// A fixed pseudo-random byte string (never starting with the ELF magic).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Writes `contents` at `/usr/lib64/<file>` in a fresh fixture, requests it by path, and checks
/// the command line refuses it with `expected` and writes nothing. Returns the fixture.
fn refused_library(file: &str, contents: Option<&[u8]>, expected: &str) -> Fixture {
    let fx = Fixture::new();
    let inside = format!("/usr/lib64/{file}");
    if let Some(bytes) = contents {
        fx.write_root(&inside, bytes);
    }
    fx.spec(&VALID_SPEC.replace("libhello.so.1", &inside));
    let before = files_under(fx.path());
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_no_panic(&out);
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was written"));
    assert_eq!(files_under(fx.path()), before);
    let analysis = fx.analyze();
    assert_eq!(codes(&analysis), [expected]);
    fx
}

#[test]
fn random_bytes_are_not_elf() {
    let fx = refused_library("libbad.so.1", Some(&noise(4096)), "resolve::not-elf");
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn truncated_elf_is_malformed() {
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libtrunc.so.1", "libtrunc.so.1", "truncated");
    let mut bytes = fs::read(&lib).unwrap();
    bytes.truncate(100);
    let fx = refused_library("libtrunc.so.1", Some(&bytes), "resolve::malformed-elf");
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn empty_file_is_not_elf() {
    let fx = refused_library("libempty.so.1", Some(b""), "resolve::not-elf");
    let analysis = fx.analyze();
    assert!(
        analysis.diagnostics[0].message.contains("empty"),
        "{}",
        analysis.diagnostics[0].message
    );
    insta::assert_snapshot!(rendered_scrubbed(&analysis, &fx));
}

#[test]
fn linker_script_has_its_own_message() {
    let fx = refused_library(
        "libc.so",
        Some(b"/* GNU ld script */ GROUP ( /lib64/libc.so.6 )\n"),
        "resolve::linker-script",
    );
    insta::assert_snapshot!(rendered_scrubbed(&fx.analyze(), &fx));
}

#[test]
fn linker_script_requested_by_name() {
    let fx = Fixture::new();
    fx.write_root(
        "/usr/lib64/libfoo.so",
        "/* GNU ld script */\nGROUP ( /usr/lib64/libfoo.so.1 )\n",
    );
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libfoo.so"));
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolve::linker-script"),
        "{}",
        stderr(&out)
    );
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]
fn folder_requested_as_a_library() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.root("/usr/lib64/libdir.so.1")).unwrap();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "/usr/lib64/libdir.so.1"));
    let out = fx.layerc(&["build"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolve::not-elf"),
        "{}",
        stderr(&out)
    );
    assert_eq!(written(&fx), Vec::<String>::new());
}

#[test]

fn random_bytes_found_by_soname_are_not_elf() {
    let fx = Fixture::new();
    fx.write_root("/usr/lib64/libbad.so.1", noise(4096));
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libbad.so.1"));
    let analysis = fx.analyze();
    let help = analysis
        .diagnostics
        .first()
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    assert!(!help.contains("did you mean `libbad.so.1`"), "{help}");
    assert_eq!(codes(&analysis), ["resolve::not-elf"]);
}

#[test]
fn unreadable_rootfs_files_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let lib = fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    fx.spec("layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n}\n");
    let readable = check_as_nobody(&fx);
    assert_eq!(readable.status.code(), Some(0), "{}", stderr(&readable));
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o600)).unwrap();
    let out = check_as_nobody(&fx);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rootfs::io"), "{}", stderr(&out));
}
