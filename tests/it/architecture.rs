//! ARCHITECTURE.md's invariants that a reading of the source can check: goblin has one user; only
//! the rootfs (reading), emit (writing), the stores (their own folders) and the command line (the
//! spec text) touch the file system; only the command line prints; only the language server knows
//! the protocol; `unsafe` is only where the map lists it; no source file is over 500 lines, every
//! `src/` path the map names exists, and modules with submodules are folders with `mod.rs`. (The
//! module graph has its own file, `module_graph.rs`.)

use std::fs;
use std::path::{Path, PathBuf};

pub(crate) fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `src/` folder and every `.rs` file under it.
fn src_files() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    (src, files)
}

/// Every (file, line) of `src/` outside comments, with the file relative to `src/` and the line
/// trimmed; without `#[cfg(test)]` modules (each at the end of its file) unless `with_tests`.
fn code_lines(with_tests: bool) -> Vec<(String, String)> {
    let (src, mut files) = src_files();
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        let text = fs::read_to_string(&file).unwrap();
        let code = match text.split_once("#[cfg(test)]") {
            Some((code, _)) if !with_tests => code,
            _ => &text,
        };
        let lines = code.lines().map(str::trim_start);
        found.extend(
            lines
                .filter(|l| !l.starts_with("//"))
                .map(|l| (rel.clone(), l.to_string())),
        );
    }
    found
}

/// Every (file, line) of `src/` that uses one of `needles` as a path (`needle::` or `needle;`)
/// outside comments, with the file relative to `src/`.
fn uses(needles: &[&str]) -> Vec<(String, String)> {
    code_lines(true)
        .into_iter()
        .filter(|(_, code)| needles.iter().any(|n| uses_path(code, n)))
        .collect()
}

/// `needle` as a whole path segment (`needle::…`, `use …::needle;`, `use std::{needle, …}`): not
/// preceded by an identifier character or a `.` (a field access is not a path).
fn uses_path(code: &str, needle: &str) -> bool {
    let in_use_list = code.starts_with("use ") && code.contains('{');
    code.match_indices(needle).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = &code[i + needle.len()..];
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && (after.starts_with("::")
                || after.starts_with(';')
                || (in_use_list && (after.starts_with(',') || after.starts_with('}'))))
    })
}

#[test]
fn goblin_is_used_by_the_elf_module_only() {
    let outside: Vec<_> = uses(&["goblin"])
        .into_iter()
        .filter(|(file, _)| !file.starts_with("elf/"))
        .collect();
    assert!(outside.is_empty(), "goblin used outside elf/: {outside:#?}");
}

#[test]
fn only_rootfs_emit_the_template_reader_and_the_command_line_touch_the_file_system() {
    let allowed = |file: &str| {
        [
            "rootfs/", "emit/", "cli/", "store/", "gc/", "registry/", "net/", "cache/",
            "packages/",
        ]
            .iter()
            .any(|dir| file.starts_with(dir))
            // The build script embeds the catalog at compile time.
            || file == "runtime/build.rs"
            // Reads the user's template, which analysis checks the spec against.
            || file == "template/files.rs"
            // Locks and syncs of files the writers above opened.
            || file == "flock.rs"
            || file == "sync_ahead.rs"
    };
    let outside: Vec<_> = uses(&["fs", "memmap2", "tempfile"])
        .into_iter()
        .filter(|(file, _)| !allowed(file))
        .collect();
    assert!(
        outside.is_empty(),
        "file-system access outside the modules allowed: {outside:#?}"
    );
}

#[test]
fn the_checks_see_through_needles() {
    assert!(uses_path("use std::fs;", "fs"));
    assert!(uses_path("let t = std::fs::read(p)?;", "fs"));
    assert!(!uses_path("rootfs::resolve(fs, p)", "fs"));
    assert!(uses_path("use goblin::elf::Elf;", "goblin"));
    assert!(uses_path("use std::{fs, io};", "fs"));
    assert!(!uses_path("let fs = self.inputs.fs;", "fs"));
}

/// Each file of `src/` fits in 500 lines: a file that grows past it is split by what it does.
#[test]
fn no_source_file_is_over_500_lines() {
    let (src, files) = src_files();
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, fs::read_to_string(f).unwrap().lines().count()))
        .filter(|&(_, n)| n > 500)
        .map(|(f, n)| format!("{} ({n} lines)", f.strip_prefix(&src).unwrap().display()))
        .collect();
    assert!(long.is_empty(), "over 500 lines: {long:?}");
}

/// Every `src/...` path ARCHITECTURE.md names (in backticks) exists, so the map cannot name a
/// module that was moved or removed.
#[test]
fn every_source_path_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<&str> = map
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("src/") && !span.contains(['*', ' ', '{', '<']))
        .map(|span| span.trim_end_matches(['/', ':', ',', '.']))
        .filter(|path| !root.join(path).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

/// One module style: a module with submodules is a folder with `mod.rs`, never `name.rs` beside a
/// `name/` folder.
#[test]
fn no_module_is_both_a_file_and_a_folder() {
    let (src, files) = src_files();
    let mixed: Vec<String> = files
        .iter()
        .filter(|f| f.with_extension("").is_dir())
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        mixed.is_empty(),
        "a file beside its module folder: {mixed:?}"
    );
}

/// The suite's tiers have one switch and one way to skip: only `tests/it/tier.rs` reads `CI` or
/// the switch, or asks the shell whether a program is installed.
#[test]
fn only_the_tier_module_decides_what_runs() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = Vec::new();
    sources(&tests, &mut files);
    let needles = ["env::var(\"CI\")", "\"LAYERC_ORACLES\"", "command -v"];
    let deciding: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("it/tier.rs") && !f.ends_with("it/architecture.rs"))
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap();
            needles.iter().any(|n| text.contains(n))
        })
        .map(|f| f.strip_prefix(&tests).unwrap().display().to_string())
        .collect();
    assert!(
        deciding.is_empty(),
        "decide through tests/it/tier.rs instead: {deciding:?}"
    );
}

/// Only the command line prints: the library reports through its return values (the language
/// server writes protocol messages to stdout, and the build scripts talk to cargo).
#[test]
fn only_the_command_line_prints() {
    let allowed = |file: &str| {
        file.starts_with("cli/")
            || file == "lsp/transport.rs"
            || file == "runtime/build.rs"
            || file == "emit/zip/libdeflate/build.rs"
    };
    let printing = [
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "dbg!(",
        "io::stdout()",
        "io::stderr()",
    ];
    let found: Vec<(String, String)> = code_lines(false)
        .into_iter()
        .filter(|(file, line)| !allowed(file) && printing.iter().any(|p| line.contains(p)))
        .collect();
    assert!(found.is_empty(), "printing outside cli/: {found:#?}");
}

/// The protocol's crates are the language server's alone.
#[test]
fn only_the_language_server_knows_the_protocol() {
    let outside: Vec<_> = uses(&["lsp_types", "lsp_server"])
        .into_iter()
        .filter(|(file, _)| !file.starts_with("lsp/"))
        .collect();
    assert!(
        outside.is_empty(),
        "the protocol outside lsp/: {outside:#?}"
    );
}

/// `unsafe` only in the files ARCHITECTURE.md's `unsafe` paragraph lists, and each block after a
/// `SAFETY` comment.
#[test]
fn unsafe_is_only_where_architecture_md_lists_it() {
    let map =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    let paragraph = map
        .split("\n\n")
        .find(|p| p.starts_with("**`unsafe`.**"))
        .expect("ARCHITECTURE.md has its `unsafe` paragraph");
    let listed: Vec<&str> = paragraph.split('`').skip(1).step_by(2).collect();
    let (src, files) = src_files();
    let mut unlisted = Vec::new();
    let mut unexplained = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        let text = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || !code.contains("unsafe ") {
                continue;
            }
            if !listed.contains(&rel.as_str()) {
                unlisted.push(format!("{rel}:{}", i + 1));
            }
            // The comment may sit a few lines up, above the statement the block is part of.
            let explained = lines[i.saturating_sub(8)..=i]
                .iter()
                .any(|l| l.contains("SAFETY"));
            if code.contains("unsafe {") && !explained {
                unexplained.push(format!("{rel}:{}", i + 1));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "unsafe in files ARCHITECTURE.md does not list: {unlisted:?}"
    );
    assert!(
        unexplained.is_empty(),
        "unsafe blocks without a SAFETY comment: {unexplained:?}"
    );
}
