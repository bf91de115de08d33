//! Files read from a rootfs are regular files of bounded size, read once: `ld.so.conf` and its
//! includes, `file` requests and what a build copies.

use super::*;

/// `check` on the valid fixture answers, exit 0, whatever `ld.so.conf` is.
fn check_answers(fx: &Fixture) {
    let out = layerc_bounded(fx.path(), &["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_no_panic(&out);
}

#[test]
fn fifo_as_ld_so_conf_never_blocks() {
    let fx = valid_fixture();
    mkfifo(&fx.root("/etc/ld.so.conf"));
    check_answers(&fx);
}

#[test]
fn fifo_and_devices_among_ld_so_conf_includes_are_not_read() {
    let fx = valid_fixture();
    fx.write_root("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
    mkfifo(&fx.root("/etc/ld.so.conf.d/a-fifo.conf"));
    if mknod_zero(&fx.root("/dev/zero")) {
        // An absolute symlink is re-rooted: this one reaches the rootfs's own /dev/zero.
        fx.symlink_root("/etc/ld.so.conf.d/b-zero.conf", "/dev/zero");
    }
    fx.write_root("/etc/ld.so.conf.d/c.conf", "/opt/lib\n");
    check_answers(&fx);
}

#[test]
fn ld_so_conf_over_the_size_limit_is_not_read() {
    let fx = valid_fixture();
    // A folder ld.so.conf puts first holds another libworld.so.1, which needs a library the
    // rootfs lacks: read, the file makes `check` fail (`resolve::needed-not-found`).
    fx.lib("/gone/libgone.so.9", "libgone.so.9", "gone");
    fx.cc_lib(
        "/decoy/libworld.so.1",
        "libworld.so.1",
        &c_calls("world", "gone"),
        &["/gone/libgone.so.9"],
        &[],
    );
    std::fs::remove_dir_all(fx.root("/gone")).unwrap();
    let mut small = "/decoy\n".to_string();
    fx.write_root("/etc/ld.so.conf", &small);
    let read = layerc_bounded(fx.path(), &["check"]);
    assert_eq!(code(&read), 1, "{}", stderr(&read));
    assert!(
        stderr(&read).contains("resolve::needed-not-found"),
        "{}",
        stderr(&read)
    );
    // The same first line, in a file over the 1 MiB limit: not read at all.
    small.push_str(&"/opt/lib\n".repeat(150_000));
    fx.write_root("/etc/ld.so.conf", small);
    check_answers(&fx);
}

#[test]
fn includes_that_include_each_other_are_read_once() {
    let fx = valid_fixture();
    // Each of 10 files includes all 10 twice: without a visited set, 20^8 reads.
    let mut body = String::new();
    for _ in 0..2 {
        body.push_str("include /etc/ld.so.conf.d/*.conf\n");
    }
    for i in 0..10 {
        fx.write_root(&format!("/etc/ld.so.conf.d/{i}.conf"), &body);
    }
    fx.write_root("/etc/ld.so.conf", &body);
    check_answers(&fx);
}

#[test]
fn hostile_globs_match_without_backtracking_or_recursion() {
    let fx = valid_fixture();
    fx.write_root(
        &format!("/etc/ld.so.conf.d/{}", "a".repeat(200)),
        "/opt/lib\n",
    );
    let stars = "*".repeat(200_000);
    fx.write_root(
        "/etc/ld.so.conf",
        format!("include /etc/ld.so.conf.d/*a*a*a*a*a*a*a*a*a*a*a*a*b\ninclude /etc/ld.so.conf.d/{stars}\n"),
    );
    check_answers(&fx);
}

#[test]
fn a_file_request_of_a_fifo_socket_or_device_is_an_error_at_its_node() {
    let fx = valid_fixture();
    mkfifo(&fx.root("/srv/fifo"));
    mkfifo(&fx.root("/srv/tree/pipe"));
    fx.write_root("/srv/tree/ok.txt", "ok\n");
    let sock = fx.root("/srv/sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let device = mknod_zero(&fx.root("/srv/zero"));
    let mut spec = VALID_SPEC.replace(
        "}\n",
        "    file \"/srv/fifo\" to=\"etc/fifo\"\n    file \"/srv/sock\" to=\"etc/sock\"\n    file \"/srv/tree\" to=\"etc/tree\"\n",
    );
    if device {
        spec.push_str("    file \"/srv/zero\" to=\"etc/zero\"\n");
    }
    spec.push_str("}\n");
    fx.spec(&spec);
    for cmd in ["check", "build"] {
        let out = layerc_bounded(fx.path(), &[cmd]);
        assert_eq!(code(&out), 1, "{cmd}: {}", stderr(&out));
        let err = stderr(&out);
        for what in [
            "/srv/fifo is a FIFO, not a regular file",
            "/srv/sock is a socket, not a regular file",
            "/srv/tree/pipe is a FIFO, not a regular file",
        ] {
            assert!(err.contains(what), "{cmd}: {err}");
        }
        if device {
            assert!(err.contains("/srv/zero is a character device"), "{err}");
        }
        assert!(err.contains("resolve::file-not-regular"), "{err}");
        assert!(written(&fx).is_empty(), "{:?}", written(&fx));
    }
    let a = fx.analyze();
    let d = a
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("/srv/fifo"))
        .unwrap();
    let span = d.span.unwrap();
    assert_eq!(
        &a.sources.root().text[span.offset..span.offset + span.length],
        "\"/srv/fifo\""
    );
}
