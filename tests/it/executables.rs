//! Executables and every other ELF object a `file` ships: their DT_NEEDED closure is resolved,
//! shipped and checked like a library's, `graph` and `why` show it, and their program interpreter
//! must be the runtime's. The real check: Debian 11's `fc-match` shipped with its closure runs in a
//! chroot standing in for provided.al2023 (glibc and only what the catalog says the runtime
//! provides, the layer at /opt, the fragment's environment), and without its closure it does not.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerc::arch::Architecture;
use layerc::runtime::Catalog;
use serde_json::Value;

use crate::common::*;
use crate::debian;

/// The fixture of `cli::valid_fixture` (libhello.so.1 calling libworld.so.1) and a tool that calls
/// libhello.so.1, at /usr/bin/hello-tool, started by `interpreter` when given.
fn tool(interpreter: Option<&str>) -> Fixture {
    let fx = crate::cli::valid_fixture();
    let src = fx.write(
        "src/tool.c",
        "extern int hello(void);\nint main(void) { return hello() - 2; }\n",
    );
    let out = fx.root("/usr/bin/hello-tool");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut cc = Command::new("cc");
    cc.arg(&src)
        .arg(fx.root("/usr/lib64/libhello.so.1"))
        .arg("-o")
        .arg(&out);
    cc.arg(format!(
        "-Wl,-rpath-link,{}",
        fx.root("/usr/lib64").display()
    ));
    if let Some(i) = interpreter {
        cc.arg(format!("-Wl,--dynamic-linker={i}"));
    }
    assert!(cc.status().unwrap().success());
    fx
}

const TOOL_SPEC: &str = "layer \"tools\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    \
    file \"/usr/bin/hello-tool\" to=\"bin/hello-tool\"\n}\n";

#[test]
fn a_shipped_executable_pulls_in_its_closure_shown_by_graph_and_why() {
    let fx = tool(None);
    fx.spec(TOOL_SPEC);
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        plan_paths(&a),
        ["bin/hello-tool", "lib/libhello.so.1", "lib/libworld.so.1"]
    );
    let out = fx.layerc(&["graph", "--format", "json"]);
    let graph: Value = serde_json::from_slice(&out.stdout).unwrap();
    let edges: Vec<String> = graph["layers"][0]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} → {}",
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            "bin/hello-tool → libhello.so.1",
            "bin/hello-tool → libc.so.6",
            "libhello.so.1 → libworld.so.1"
        ]
    );
    let why = fx.layerc(&["why", "libworld.so.1"]);
    assert!(
        stdout(&why).contains("bin/hello-tool → libhello.so.1 → libworld.so.1"),
        "{}",
        stdout(&why)
    );
}

#[test]
fn an_executable_for_another_loader_is_an_error_naming_both() {
    let fx = tool(Some("/lib/ld-musl-x86_64.so.1"));
    fx.spec(TOOL_SPEC);
    let a = fx.analyze();
    assert_eq!(
        error_codes(&a),
        ["abi::program-interpreter"],
        "{}",
        rendered(&a)
    );
    let message = &a.diagnostics[0].message;
    assert!(
        message.contains("/lib/ld-musl-x86_64.so.1")
            && message.contains("/lib64/ld-linux-x86-64.so.2"),
        "{message}"
    );
    // readelf agrees on what the file asks for.
    let readelf = Command::new("readelf")
        .args(["-l"])
        .arg(fx.root("/usr/bin/hello-tool"))
        .output()
        .unwrap();
    assert!(
        stdout(&readelf).contains("[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]")
    );
}

#[test]
fn every_elf_object_of_a_copied_folder_is_resolved() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libdep.so.1", "libdep.so.1", "dep");
    fx.cc_lib(
        "/usr/lib64/plugins/libplugin.so",
        "libplugin.so",
        &c_calls("plugin", "dep"),
        &["/usr/lib64/libdep.so.1"],
        &[],
    );
    fx.write_root("/usr/lib64/plugins/README", "not ELF\n");
    fx.spec(
        "layer \"p\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    \
         file \"/usr/lib64/plugins\" to=\"lib/plugins\"\n}\n",
    );
    let a = fx.analyze();
    assert!(a.diagnostics.is_empty(), "{}", rendered(&a));
    assert_eq!(
        plan_paths(&a),
        [
            "lib/libdep.so.1",
            "lib/plugins/README",
            "lib/plugins/libplugin.so"
        ]
    );
}

#[test]
fn an_exclude_that_breaks_a_load_warns_and_is_an_error_once_the_app_is_declared() {
    let fx = tool(None);
    let layer = "layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    \
        library \"libhello.so.1\"\n    exclude \"libworld.so.1\"\n}\n";
    fx.spec(layer);
    let a = fx.analyze();
    assert_eq!(codes(&a), ["function::excluded-needed"], "{}", rendered(&a));
    assert!(!a.has_errors());
    assert!(a.diagnostics[0].label.as_deref() == Some("libhello.so.1 → libworld.so.1 (excluded)"));
    // The function's application does not bring libworld.so.1: an error.
    fs::create_dir_all(fx.path().join("app/lib")).unwrap();
    fs::copy(
        fx.root("/usr/bin/hello-tool"),
        fx.path().join("app/bootstrap"),
    )
    .unwrap();
    fx.spec(&format!(
        "{layer}function \"Fn\" {{\n    layer \"hello\"\n    app \"app\"\n}}\n"
    ));
    let a = fx.analyze();
    let errors = error_codes(&a);
    assert!(
        errors.contains(&"function::excluded-needed"),
        "{}",
        rendered(&a)
    );
    // ... and it does: the function loads.
    fs::copy(
        fx.root("/usr/lib64/libworld.so.1"),
        fx.path().join("app/lib/libworld.so.1"),
    )
    .unwrap();
    let a = fx.analyze();
    assert!(!a.has_errors(), "{}", rendered(&a));
}

#[test]
fn the_application_counts_in_the_function_size_and_the_build_summary() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libone.so.1", "libone.so.1", "one");
    let big = fs::File::create(fx.root("/usr/share/big.bin")).or_else(|_| {
        fs::create_dir_all(fx.root("/usr/share"))?;
        fs::File::create(fx.root("/usr/share/big.bin"))
    });
    big.unwrap().set_len(100_000_000).unwrap();
    fs::create_dir_all(fx.path().join("app")).unwrap();
    let app = fs::File::create(fx.path().join("app/data.bin")).unwrap();
    app.set_len(170_000_000).unwrap();
    let spec = "layer \"l\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    \
        library \"libone.so.1\"\n    file \"/usr/share/big.bin\" to=\"share/big.bin\"\n}\n\
        function \"Fn\" {\n    layer \"l\"\n    app \"app\"\n}\n";
    fx.spec(spec);
    let a = fx.analyze();
    assert_eq!(
        error_codes(&a),
        ["function::unzipped-size"],
        "{}",
        rendered(&a)
    );
    let note = &a.diagnostics[0].notes[0];
    assert!(
        note.starts_with("unzipped sizes in bytes: the application 170000000, `l` "),
        "{note}"
    );
    // Within the limit, `build` reports the application beside the layers.
    app.set_len(1_000).unwrap();
    let out = fx.layerc(&["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("function `Fn`: layers l and its application (1000 bytes): unzipped"),
        "{}",
        stderr(&out)
    );
}

/// Copies `from` (following symlinks) to `to`, creating its folder.
fn copy_file(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap();
}

/// A root standing in for provided.al2023 on x86_64: glibc's loader and every library the catalog
/// says the runtime provides that this host has, in the folders the catalog lists.
fn stand_in_root(dir: &Path) -> PathBuf {
    let root = dir.join("stand-in");
    let catalog = Catalog::builtin();
    let runtime = catalog.runtime("provided.al2023").unwrap();
    let os = catalog.os(&runtime.os).unwrap();
    let host = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];
    for listing in os
        .listings
        .iter()
        .filter(|l| l.architectures.contains(&Architecture::X86_64))
    {
        for soname in &listing.sonames {
            if let Some(found) = host
                .iter()
                .map(|h| Path::new(h).join(soname))
                .find(|p| p.exists())
            {
                let inside = listing.folder.trim_start_matches('/');
                copy_file(&found, &root.join(inside).join(soname));
            }
        }
    }
    let loader = &runtime.interpreter.loaders[&Architecture::X86_64];
    copy_file(
        Path::new(loader),
        &root.join(loader.trim_start_matches('/')),
    );
    fs::create_dir_all(root.join("tmp")).unwrap();
    fs::create_dir_all(root.join("opt")).unwrap();
    root
}

/// Runs `fc-match` as the function would: chrooted, PATH the runtime's default, and the
/// variables of the fragment.
fn run_in(root: &Path, vars: &[(String, String)]) -> std::io::Result<Output> {
    let path = Catalog::builtin()
        .runtime("provided.al2023")
        .unwrap()
        .interpreter
        .path
        .join(":");
    // The child's PATH is the runtime's, so the command is found by the test's own PATH.
    let chroot = ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("chroot");
    Command::new(chroot)
        .arg(root)
        .args(["fc-match", "-f", "%{family[0]}", "sans"])
        .env_clear()
        .env("PATH", path)
        .envs(vars.iter().cloned())
        .output()
}

#[test]
fn fc_match_with_its_closure_runs_in_a_stand_in_root_and_not_without() {
    let Some(rootfs) = debian::bullseye_fontconfig_rootfs() else {
        return;
    };
    let fx = Fixture::new();
    fx.spec(&format!(
        "layer \"fc\" {{\n    runtime \"provided.al2023\"\n    rootfs {:?}\n    \
         file \"/usr/bin/fc-match\" to=\"bin/fc-match\"\n    \
         file \"/etc/layer-fonts/fonts.conf\" to=\"etc/fonts/fonts.conf\"\n    \
         file \"/usr/share/fonts/truetype/dejavu\" to=\"share/fonts/dejavu\"\n}}\n\
         function \"MyFunction\" {{\n    layer \"fc\"\n    env \"FONTCONFIG_FILE\" \"/opt/etc/fonts/fonts.conf\"\n}}\n",
        rootfs.to_str().unwrap()
    ));
    let a = fx.analyze();
    assert!(!a.has_errors(), "{}", rendered(&a));
    assert!(
        plan_paths(&a).contains(&"lib/libfontconfig.so.1"),
        "{:?}",
        plan_paths(&a)
    );
    let out = fx.layerc(&["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fragment: Value = serde_json::from_str(
        &fs::read_to_string(fx.path().join("build/serverless.template.json")).unwrap(),
    )
    .unwrap();
    let vars: Vec<(String, String)> =
        fragment["Resources"]["MyFunction"]["Properties"]["Environment"]["Variables"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
    // Every documented default PATH ends with /opt/bin: the fragment leaves PATH alone.
    assert!(!vars.iter().any(|(k, _)| k == "PATH"), "{vars:?}");
    // Before: the executable alone, as a `file` used to ship it.
    let root = stand_in_root(fx.path());
    copy_file(
        &rootfs.join("usr/bin/fc-match"),
        &root.join("opt/bin/fc-match"),
    );
    let before = match run_in(&root, &vars) {
        Ok(out) => out,
        Err(e) => {
            crate::tier::skip_or_fail::<()>(format!("chroot cannot run: {e}"));
            return;
        }
    };
    if stderr(&before).contains("Operation not permitted") {
        crate::tier::skip_or_fail::<()>(format!("chroot cannot run: {}", stderr(&before)));
        return;
    }
    assert!(!before.status.success(), "{}", stdout(&before));
    assert!(
        stderr(&before).contains("libfontconfig.so.1: cannot open shared object file"),
        "{}",
        stderr(&before)
    );
    // After: the layer layerc built, unzipped at /opt.
    fs::remove_dir_all(root.join("opt")).unwrap();
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(fx.path().join("build/fc.zip"))
        .arg("-d")
        .arg(root.join("opt"))
        .status()
        .unwrap();
    assert!(unzip.success());
    let after = run_in(&root, &vars).unwrap();
    assert!(after.status.success(), "{}", stderr(&after));
    assert_eq!(stdout(&after), "DejaVu Sans");
}

/// The `graph` of a `file` folder holding an executable and a text file, as JSON.
fn graph_json(fx: &Fixture, store: &Path) -> Value {
    let out = layerc_in(
        fx.path(),
        &["graph", "--format", "json"],
        &[("LAYERC_STORE", store.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A compressed image gives the verdict its folder gives for an executable inside a `file` folder,
/// whether the image is indexed now or its index (which keeps each file's first bytes, so no layer
/// is decompressed to tell an ELF object from a text file) comes from the cache a build wrote.
#[test]
fn a_file_folder_in_a_compressed_image_is_resolved_alike_from_the_cache() {
    let Some(()) = crate::tier::oracle(&["zstd"]) else {
        return;
    };
    let fx = tool(None);
    fs::write(fx.root("/usr/bin/README"), "not an object\n").unwrap();
    let spec = |rootfs: &str| {
        format!(
            "layer \"tools\" {{\n    runtime \"provided.al2023\"\n    rootfs \"{rootfs}\"\n    \
             file \"/usr/bin\" to=\"bin\"\n}}\n"
        )
    };
    let store = fx.path().join("store");
    fx.spec(&spec("rootfs"));
    let folder = graph_json(&fx, &store);
    let edges = folder["layers"][0]["edges"].to_string();
    assert!(edges.contains("libworld.so.1"), "{edges}");
    let tar = Command::new("sh")
        .arg("-c")
        .arg("tar -C rootfs -cf - . | zstd -q -o rootfs.tar.zst")
        .current_dir(fx.path())
        .status()
        .unwrap();
    assert!(tar.success());
    fx.spec(&spec("rootfs.tar.zst"));
    assert_eq!(graph_json(&fx, &store), folder, "indexed now");
    let build = layerc_in(
        fx.path(),
        &["build"],
        &[("LAYERC_STORE", store.to_str().unwrap())],
    );
    assert!(build.status.success(), "{}", stderr(&build));
    assert!(store.join("images").is_dir());
    assert_eq!(graph_json(&fx, &store), folder, "index from the cache");
}
