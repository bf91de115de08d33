//! The conventions of a well-kept command line: `--version`, shell completions that real shells
//! load, a man page `man` renders, `layerc init`, and the licence files the manifests name.

use std::process::Command;

use super::*;

/// A shell or `man` (`.ci/run` installs them), or `None` ([`crate::tier::oracle`]).
fn program(name: &str) -> Option<()> {
    crate::tier::oracle(&[name])
}

/// Runs `shell -c script` in the fixture folder; its stdout.
fn shell(fx: &Fixture, shell: &str, args: &[&str], script: &str) -> String {
    let out = Command::new(shell)
        .args(args)
        .arg("-c")
        .arg(script)
        .current_dir(fx.path())
        .output()
        .expect("the shell runs");
    assert!(out.status.success(), "{shell}: {}", stderr(&out));
    stdout(&out)
}

fn completions(fx: &Fixture, which: &str, file: &str) {
    let out = fx.layerc(&["completions", which]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    fx.write(file, &out.stdout);
}

#[test]
fn version_names_the_catalog_data_and_the_commit() {
    let out = Fixture::new().layerc(&["--version"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let catalog = &layerc::runtime::Catalog::builtin().version;
    assert!(
        text.starts_with(&format!("layerc {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains(&format!(", catalog data {catalog})")),
        "{text}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(head) = head.ok().filter(|h| h.status.success()) {
        // Built from this checkout: the commit is one of its own (HEAD, or one before it).
        let commit = text
            .split("commit ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let known = Command::new("git")
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(known.success(), "{commit} (HEAD {})", stdout(&head));
    }
}

#[test]
fn bash_completes_commands_and_options() {
    // bash is one of Debian's essential packages: this test is in the hermetic tier.
    let fx = Fixture::new();
    completions(&fx, "bash", "layerc.bash");
    let words = |line: &str, cword: usize| {
        shell(
            &fx,
            "bash",
            &["--norc"],
            &format!(
                "source layerc.bash; COMP_WORDS=({line}); COMP_CWORD={cword}; _layerc layerc \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\""
            ),
        )
    };
    assert_eq!(words("layerc bu", 1).trim(), "build");
    assert!(words("layerc build --lo", 2).contains("--locked"));
    let shells = words("layerc completions ''", 2);
    for name in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.split_whitespace().any(|w| w == name), "{shells}");
    }
}

#[test]
fn zsh_registers_the_completion_function() {
    let Some(()) = program("zsh") else { return };
    let fx = Fixture::new();
    completions(&fx, "zsh", "fns/_layerc");
    let dump = fx.path().join("zcompdump");
    let out = shell(
        &fx,
        "zsh",
        &["-f"],
        &format!(
            "fpath=($PWD/fns $fpath); autoload -U compinit; compinit -u -d {}; print -r -- ${{_comps[layerc]}}; whence -w _layerc",
            dump.display()
        ),
    );
    assert!(out.starts_with("_layerc\n"), "{out}");
    assert!(out.contains("_layerc: function"), "{out}");
}

#[test]
fn fish_completes_commands_and_options() {
    let Some(()) = program("fish") else { return };
    let fx = Fixture::new();
    completions(&fx, "fish", "layerc.fish");
    let out = shell(
        &fx,
        "fish",
        &["--no-config"],
        "source layerc.fish; complete -C 'layerc bu'; complete -C 'layerc build --lo'; complete -C 'layerc graph --format '",
    );
    assert!(out.lines().any(|l| l.starts_with("build\t")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("--locked\t")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("mermaid")), "{out}");
}

#[test]
fn powershell_completions_register_a_completer() {
    let out = Fixture::new().layerc(&["completions", "powershell"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("Register-ArgumentCompleter -Native -CommandName 'layerc'"));
}

#[test]
fn man_renders_the_pages_of_layerc_and_its_commands() {
    let Some(()) = program("man") else { return };
    let fx = Fixture::new();
    for (page, file, expect) in [
        (
            None,
            "layerc.1",
            vec![
                "layerc - Compile AWS Lambda layers",
                "completions",
                "--catalog",
            ],
        ),
        (
            Some("build"),
            "layerc-build.1",
            vec!["layerc-build", "--locked", "--dry-run"],
        ),
        (
            Some("init"),
            "layerc-init.1",
            vec!["--runtime", "--template"],
        ),
    ] {
        let mut args = vec!["man"];
        args.extend(page);
        let out = fx.layerc(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).starts_with(".ie"), "{}", stdout(&out));
        fx.write(file, &out.stdout);
        let rendered = Command::new("man")
            .args(["-l", file])
            .current_dir(fx.path())
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", stderr(&rendered));
        let text = stdout(&rendered);
        // man's own warnings (bad roff) would be on stderr.
        assert_eq!(stderr(&rendered), "", "{file}");
        for e in expect {
            assert!(text.contains(e), "{file}: {e} missing in\n{text}");
        }
    }
    let out = fx.layerc(&["man", "nope"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("build"), "{}", stderr(&out));
}

#[test]
fn init_writes_a_starter_spec_that_never_overwrites() {
    let fx = Fixture::new();
    let out = fx.layerc(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    assert!(text.contains("runtime \"provided.al2023\""), "{text}");
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("//"))
            .count()
            > 8,
        "{text}"
    );
    // The spec is valid: the only finding is the library the (empty) rootfs lacks.
    let (_, diags) = check_json(&fx);
    assert_eq!(diags.len(), 1, "{diags:?}\n{text}");
    assert!(!diags[0].starts_with("spec::"), "{diags:?}");
    let again = fx.layerc(&["init", "--runtime", "python3.12"]);
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        fs::read_to_string(fx.path().join("layer.kdl")).unwrap(),
        text
    );
}

#[test]
fn init_takes_the_runtime_and_functions_from_a_template() {
    let fx = Fixture::new();
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/templates");
    fs::copy(
        format!("{templates}/reports.template.yaml"),
        fx.path().join("template.yaml"),
    )
    .unwrap();
    let out = fx.layerc(&["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(fx.path().join("layer.kdl")).unwrap();
    assert!(text.contains("runtime \"python3.12\""), "{text}");
    assert!(text.contains("template \"template.yaml\""), "{text}");
    for id in ["RenderFunction", "ExportFunction"] {
        assert!(
            text.contains(&format!("function \"{id}\" {{\n    layer \"native\"\n}}")),
            "{text}"
        );
    }
    // With the rootfs in place, the spec checks against the template without a spec error.
    fx.lib("/usr/lib64/libpng16.so.16", "libpng16.so.16", "png_read");
    let (exit, diags) = check_json(&fx);
    assert_eq!(exit, 0, "{diags:?}\n{text}");
    // An explicit runtime wins, and an unknown one is refused with a suggestion.
    fs::remove_file(fx.path().join("layer.kdl")).unwrap();
    let out = fx.layerc(&[
        "init",
        "--runtime",
        "nodejs22",
        "--template",
        "template.yaml",
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nodejs22.x"), "{}", stderr(&out));
    assert!(!fx.path().join("layer.kdl").exists());
}

/// `layerc check --format json`: the exit code and the diagnostic codes.
fn check_json(fx: &Fixture) -> (i32, Vec<String>) {
    let out = fx.layerc(&["check", "--format", "json"]);
    let codes = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    (code(&out), codes)
}

#[test]
fn the_licence_files_the_manifests_name_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
    let package = fs::read_to_string(root.join("editors/vscode/package.json")).unwrap();
    assert!(package.contains("\"license\": \"MIT OR Apache-2.0\""));
    // vsce packages without asking when the extension has a LICENSE file.
    assert!(!package.contains("--skip-license"));
    for dir in [root.to_path_buf(), root.join("editors/vscode")] {
        let mit = fs::read_to_string(dir.join("LICENSE-MIT")).unwrap();
        assert!(mit.starts_with("MIT License") && mit.contains("WITHOUT WARRANTY OF ANY KIND"));
        let apache = fs::read_to_string(dir.join("LICENSE-APACHE")).unwrap();
        assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
        assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    }
    let vsce = fs::read_to_string(root.join("editors/vscode/LICENSE")).unwrap();
    assert!(vsce.contains("MIT OR Apache-2.0"));
}

#[test]
fn verbose_says_what_is_read() {
    let fx = valid_fixture();
    fx.write(
        "mine.kdl",
        "runtime \"python3.12\" {\n    deprecated \"2030-01-01\"\n}\n",
    );
    let out = fx.layerc(&["check", "--verbose", "--catalog", "mine.kdl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    for line in [
        "read catalog overrides mine.kdl",
        "read spec layer.kdl",
        "layer `hello`: rootfs folder ",
    ] {
        assert!(err.contains(line), "{line} missing in\n{err}");
    }
    // Without --verbose, none of it.
    assert!(!stderr(&fx.layerc(&["check"])).contains("read spec"));
}
