//! Resolution semantics on compiled fixtures: the loader's search order inside the rootfs.

use std::fs;

use layerc::resolve::Status;

use crate::common::*;

fn spec_for(fx: &Fixture, runtime: &str, body: &str) {
    fx.spec(&format!(
        "layer \"fx\" {{\n    runtime \"{runtime}\"\n    rootfs \"rootfs\"\n{body}}}\n"
    ));
}

/// Copies an ELF file and patches `e_machine` to AArch64 (183): a real object of another architecture.
fn patch_to_aarch64(from: &std::path::Path, to: &std::path::Path) {
    let mut bytes = fs::read(from).unwrap();
    bytes[18] = 183;
    bytes[19] = 0;
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::write(to, bytes).unwrap();
}

#[test]
fn closure_ships_under_sonames_with_alias_symlinks() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libleaf.so.1.2.3", "libleaf.so.1", "leaf");
    fx.symlink_root("/usr/lib64/libleaf.so.1", "libleaf.so.1.2.3");
    fx.cc_lib(
        "/usr/lib64/libtop.so.1.0.0",
        "libtop.so.1",
        &c_calls("top", "leaf"),
        &["/usr/lib64/libleaf.so.1"],
        &[],
    );
    fx.symlink_root("/usr/lib64/libtop.so.1", "libtop.so.1.0.0");
    fx.symlink_root("/usr/lib64/libtop.so", "libtop.so.1");
    spec_for(&fx, "provided.al2023", "    library \"libtop.so\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        plan_paths(&a),
        ["lib/libleaf.so.1", "lib/libtop.so", "lib/libtop.so.1"]
    );
    assert_eq!(
        real_of(&a, "libleaf.so.1").unwrap(),
        "/usr/lib64/libleaf.so.1.2.3"
    );
    assert!(matches!(
        content_at(&a, "lib/libtop.so"),
        layerc::plan::Content::Symlink { target } if target.as_str() == "libtop.so.1"
    ));
}

#[test]
fn rpath_is_inherited_but_runpath_is_not() {
    for (flag, inherited) in [("--disable-new-dtags", true), ("--enable-new-dtags", false)] {
        let fx = Fixture::new();
        fx.lib("/private/libleaf.so.1", "libleaf.so.1", "leaf");
        // libmid needs libleaf but names no folder; libtop's path list names /private.
        fx.cc_lib(
            "/usr/lib64/libmid.so.1",
            "libmid.so.1",
            &c_calls("mid", "leaf"),
            &["/private/libleaf.so.1"],
            &[],
        );
        fx.cc_lib(
            "/usr/lib64/libtop.so.1",
            "libtop.so.1",
            &c_calls("top", "mid"),
            &["/usr/lib64/libmid.so.1"],
            &[&format!("-Wl,{flag}"), "-Wl,-rpath,/private"],
        );
        spec_for(&fx, "provided.al2023", "    library \"libtop.so.1\"\n");
        let a = fx.analyze();
        let want = if inherited {
            Status::Shipped
        } else {
            Status::Missing
        };
        assert_eq!(status_of(&a, "libleaf.so.1"), Some(want), "{flag}");
        if !inherited {
            assert_eq!(codes(&a), ["resolve::needed-not-found"]);
            insta::assert_snapshot!("runpath_not_inherited", rendered(&a));
        }
    }
}

#[test]
fn rpath_wins_over_system_folders_and_tokens_expand() {
    let fx = Fixture::new();
    // Two libleaf.so.1: the system one and one in /opt/lib64/x86_64 named with $LIB and $PLATFORM.
    fx.lib("/usr/lib64/libleaf.so.1", "libleaf.so.1", "leaf");
    fx.lib("/opt/lib64/x86_64/libleaf.so.1", "libleaf.so.1", "leaf");
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "leaf"),
        &["/usr/lib64/libleaf.so.1"],
        &["-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/$LIB/$PLATFORM"],
    );
    spec_for(&fx, "provided.al2023", "    library \"libtop.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(
        real_of(&a, "libleaf.so.1").unwrap(),
        "/opt/lib64/x86_64/libleaf.so.1"
    );
}

#[test]
fn wrong_architecture_candidates_are_skipped() {
    let fx = Fixture::new();
    let good = fx.lib("/usr/lib64/libleaf.so.1", "libleaf.so.1", "leaf");
    // /lib64 is searched before /usr/lib64: an arm64 copy there must be passed over.
    patch_to_aarch64(&good, &fx.root("/lib64/libleaf.so.1"));
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        &c_calls("top", "leaf"),
        &["/usr/lib64/libleaf.so.1"],
        &[],
    );
    spec_for(&fx, "provided.al2023", "    library \"libtop.so.1\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        real_of(&a, "libleaf.so.1").unwrap(),
        "/usr/lib64/libleaf.so.1"
    );
}

#[test]
fn ld_so_conf_includes_are_followed() {
    let fx = Fixture::new();
    fx.write_root("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
    fx.write_root(
        "/etc/ld.so.conf.d/custom.conf",
        "# custom libraries\n/custom/lib\n",
    );
    fx.write_root("/etc/ld.so.conf.d/ignored.conf.bak", "/elsewhere\n");
    fx.lib("/custom/lib/libcustom.so.3", "libcustom.so.3", "custom");
    spec_for(&fx, "provided.al2023", "    library \"libcustom.so.3\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        real_of(&a, "libcustom.so.3").unwrap(),
        "/custom/lib/libcustom.so.3"
    );
}

#[test]
fn provided_glibc_and_excluded_nodes_are_not_expanded_or_shipped() {
    let fx = Fixture::new();
    fx.cc_lib(
        "/usr/lib64/libz.so.1",
        "libz.so.1",
        &c_calls("z", "zdep"),
        &[],
        &["-Wl,--unresolved-symbols=ignore-all"],
    );
    fx.lib("/usr/lib64/libx.so.6", "libx.so.6", "x");
    fx.cc_lib(
        "/usr/lib64/libtop.so.1",
        "libtop.so.1",
        "extern int z(void); extern int x(void); int top(void) { return z() + x(); }\n",
        &["/usr/lib64/libz.so.1", "/usr/lib64/libx.so.6"],
        &[],
    );
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libtop.so.1\"\n    exclude \"libx.so.6\"\n",
    );
    let a = fx.analyze();
    // Leaving out what libtop.so.1 needs is allowed, with a warning that it will not load alone.
    assert_eq!(codes(&a), ["function::excluded-needed"], "{}", rendered(&a));
    assert!(!a.has_errors());
    // Amazon Linux 2023 has zlib: provided, so not shipped and its own needs are not looked at.
    assert_eq!(status_of(&a, "libz.so.1"), Some(Status::Provided));
    assert_eq!(status_of(&a, "libx.so.6"), Some(Status::Excluded));
    assert_eq!(plan_paths(&a), ["lib/libtop.so.1"]);
}

#[test]
fn glibc_is_never_shipped_even_with_override() {
    let fx = Fixture::new();
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libc.so.6\" override=#true\n    library \"libpthread.so.0\"\n",
    );
    let a = fx.analyze();
    assert_eq!(codes(&a), ["resolve::glibc", "resolve::glibc"]);
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn override_ships_a_library_the_runtime_has() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libz.so.1", "libz.so.1", "z");
    spec_for(&fx, "provided.al2023", "    library \"libz.so.1\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["resolve::provided"]);
    assert_eq!(status_of(&a, "libz.so.1"), Some(Status::Provided));
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libz.so.1\" override=#true\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(status_of(&a, "libz.so.1"), Some(Status::Shipped));
}

#[test]
fn missing_dependency_names_the_chain() {
    let fx = Fixture::new();
    // libpixman exists only to link against; it is not in the rootfs.
    let pixman = fx.lib_outside("outside/libpixman-1.so.0", "libpixman-1.so.0", "pixman");
    let pixman = pixman.to_str().unwrap().to_string();
    fx.cc_lib(
        "/usr/lib64/libcairo.so.2",
        "libcairo.so.2",
        &c_calls("cairo", "pixman"),
        &[],
        &[&pixman],
    );
    fx.cc_lib(
        "/usr/lib64/libgdiplus.so.0",
        "libgdiplus.so.0",
        &c_calls("gdip", "cairo"),
        &["/usr/lib64/libcairo.so.2"],
        &[],
    );
    spec_for(&fx, "provided.al2023", "    library \"libgdiplus.so.0\"\n");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["resolve::needed-not-found"]);
    assert!(
        a.diagnostics[0]
            .message
            .contains("libgdiplus.so.0 → libcairo.so.2 → libpixman-1.so.0 (not found)")
    );
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn not_found_suggests_close_names_and_optional_is_a_warning() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libgdiplus.so.0", "libgdiplus.so.0", "g");
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libgdiplus.so.1\"\n    library \"libfoo.so.1\" optional=#true\n",
    );
    let a = fx.analyze();
    assert_eq!(
        codes(&a),
        ["resolve::not-found", "resolve::optional-missing"]
    );
    assert!(
        a.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("libgdiplus.so.0")
    );
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn symlinks_out_of_the_rootfs_never_read_host_files() {
    let fx = Fixture::new();
    // A real library outside the rootfs, and rootfs symlinks that point at it by `..` and absolutely.
    let secret = fx.lib_outside("outside/libsecret.so.1", "libsecret.so.1", "secret");
    fx.symlink_root(
        "/usr/lib64/libsecret.so.1",
        "../../../../../../../../outside/libsecret.so.1",
    );
    fx.symlink_root("/usr/lib64/libabs.so.1", secret.to_str().unwrap());
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"/usr/lib64/libsecret.so.1\"\n    library \"libabs.so.1\"\n",
    );
    let a = fx.analyze();
    assert_eq!(
        codes(&a),
        ["resolve::not-found", "resolve::not-found"],
        "{}",
        rendered(&a)
    );
    assert!(plan_paths(&a).is_empty());

    // The same links resolve inside the rootfs when the target exists there.
    fx.lib("/outside/libsecret.so.1", "libsecret.so.1", "inside");
    let a = fx.analyze();
    assert_eq!(
        real_of(&a, "libsecret.so.1").unwrap(),
        "/outside/libsecret.so.1"
    );
    assert!(
        codes(&a).contains(&"rootfs::symlink-escape"),
        "{}",
        rendered(&a)
    );
}

#[test]
fn symlink_loops_are_errors() {
    let fx = Fixture::new();
    fx.symlink_root("/usr/lib64/liba.so.1", "libb.so.1");
    fx.symlink_root("/usr/lib64/libb.so.1", "/usr/lib64/liba.so.1");
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"/usr/lib64/liba.so.1\"\n",
    );
    let a = fx.analyze();
    assert_eq!(codes(&a), ["rootfs::symlink-loop"]);
    insta::assert_snapshot!(rendered(&a));
}

#[test]
fn rootfs_may_be_a_symlinked_lib64() {
    // Amazon Linux: /lib64 → usr/lib64, relative.
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libleaf.so.1", "libleaf.so.1", "leaf");
    fx.symlink_root("/lib64", "usr/lib64");
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"/lib64/libleaf.so.1\"\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        real_of(&a, "libleaf.so.1").unwrap(),
        "/usr/lib64/libleaf.so.1"
    );
}

#[test]
fn override_by_an_alias_covers_the_soname_it_resolves_to() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libz.so.1.3", "libz.so.1", "z");
    fx.symlink_root("/usr/lib64/libz.so", "libz.so.1.3");
    spec_for(
        &fx,
        "provided.al2023",
        "    library \"libz.so\" override=#true\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(status_of(&a, "libz.so.1"), Some(Status::Shipped));
    assert_eq!(plan_paths(&a), ["lib/libz.so", "lib/libz.so.1"]);
}

#[test]
fn a_dt_needed_path_is_read_inside_the_rootfs_and_shipped_by_its_file_name() {
    let fx = Fixture::new();
    // libdep has no soname, so linking it by a relative path records that path in DT_NEEDED.
    let dep_src = fx.write("src/dep.c", c_fn("dep"));
    let top_src = fx.write("src/top.c", c_calls("top", "dep"));
    fs::create_dir_all(fx.root("/usr/lib64")).unwrap();
    let cc = |args: &[&str]| {
        let status = std::process::Command::new("cc")
            .args(args)
            .current_dir(fx.root("/"))
            .status()
            .unwrap();
        assert!(status.success(), "cc {args:?}");
    };
    cc(&[
        "-shared",
        "-fPIC",
        "-o",
        "usr/lib64/libdep.so",
        dep_src.to_str().unwrap(),
    ]);
    cc(&[
        "-shared",
        "-fPIC",
        "-Wl,-soname,libtop.so.1",
        "-o",
        "usr/lib64/libtop.so.1",
        top_src.to_str().unwrap(),
        "usr/lib64/libdep.so",
    ]);
    spec_for(&fx, "provided.al2023", "    library \"libtop.so.1\"\n");
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    let top = node_of(&a, "libtop.so.1").unwrap();
    assert_eq!(
        top.found.as_ref().unwrap().elf.needed[0],
        "usr/lib64/libdep.so"
    );
    assert_eq!(real_of(&a, "libdep.so").unwrap(), "/usr/lib64/libdep.so");
    assert_eq!(plan_paths(&a), ["lib/libdep.so", "lib/libtop.so.1"]);
}

#[test]
fn file_folders_reached_twice_are_copied_and_real_cycles_refused() {
    let fx = Fixture::new();
    fx.write_root("/usr/share/fonts/base/a.conf", "a\n");
    // Two symlinks to the same folder: not a cycle, both copies land in the layer.
    fx.symlink_root("/usr/share/fonts/one", "base");
    fx.symlink_root("/usr/share/fonts/two", "base");
    spec_for(
        &fx,
        "provided.al2023",
        "    file \"/usr/share/fonts\" to=\"fonts\"\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        plan_paths(&a),
        ["fonts/base/a.conf", "fonts/one/a.conf", "fonts/two/a.conf"]
    );
    // A symlink back to an ancestor is a cycle.
    fx.symlink_root("/usr/share/fonts/base/up", "..");
    let a = fx.analyze();
    assert_eq!(codes(&a), ["rootfs::symlink-loop"], "{}", rendered(&a));
}

/// The ELF reader of a few ranges (what a folder rootfs reads objects with) gives the whole-file
/// reader's answer on every file of the host's library folders, and takes nearly all of them.
#[test]
fn ranged_elf_reading_matches_the_whole_file_reader() {
    use layerc::elf::ElfInfo;
    let mut files = Vec::new();
    for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/bin"] {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        // Up to 32 MiB: the few larger ones would take most of the test's time to read.
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 32 << 20)),
        );
    }
    let (mut elf, mut ranged) = (0, 0);
    for path in &files {
        let Ok(bytes) = fs::read(path) else { continue };
        let name = path.file_name().unwrap().to_str().unwrap_or("x");
        let whole = ElfInfo::parse_file(name, &bytes);
        elf += usize::from(whole.is_ok());
        let read_at = |offset: u64, buf: &mut [u8]| -> std::io::Result<usize> {
            let from = (offset as usize).min(bytes.len());
            let n = buf.len().min(bytes.len() - from);
            buf[..n].copy_from_slice(&bytes[from..from + n]);
            Ok(n)
        };
        if let Some(parsed) =
            layerc::elf::ranges::parse(name, bytes.len() as u64, &read_at).unwrap()
        {
            assert_eq!(parsed, whole, "{}", path.display());
            ranged += usize::from(parsed.is_ok());
        }
    }
    assert!(elf > 100, "only {elf} ELF objects found");
    assert!(
        ranged * 100 >= elf * 95,
        "{ranged} of {elf} objects read in ranges"
    );
}
