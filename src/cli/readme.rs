//! The README's command table: each row's synopsis is generated from the clap definition (the
//! descriptions beside them are prose, kept as written), and a test fails when the README is
//! stale. `LAYERC_REGENERATE=1 cargo test --bin layerc readme` rewrites it.

use clap::{Arg, ArgAction, CommandFactory};

use super::Cli;

/// A table row's first cell: `| \`layerc …\``.
const ROW: &str = "| `layerc ";

/// One argument as a synopsis writes it: `[--format human|json]`, `[SPEC]`, `[--cache URL]...`.
fn word(arg: &Arg) -> String {
    if let Some(words) = values_named_apart(arg) {
        return words;
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    let value = match arg.get_value_names().and_then(|names| names.first()) {
        _ if !possible.is_empty() => possible.join("|"),
        Some(name) => name.to_string(),
        None => arg.get_id().as_str().to_uppercase(),
    };
    let set = matches!(arg.get_action(), ArgAction::Set);
    let text = match arg.get_long() {
        // A boolean that is on unless set: `--tls-verify=false`.
        Some(long) if set && possible == ["true", "false"] => format!("--{long}=false"),
        Some(long) if arg.get_action().takes_values() => format!("--{long} {value}"),
        Some(long) => format!("--{long}"),
        None => value,
    };
    let text = if matches!(arg.get_action(), ArgAction::Append) {
        format!("{text}...")
    } else {
        text
    };
    if arg.is_required_set() {
        text
    } else {
        format!("[{text}]")
    }
}

/// A positional of several values named apart (`why [SPEC] NAME`): the optional ones first.
fn values_named_apart(arg: &Arg) -> Option<String> {
    let names = arg.get_value_names().filter(|n| n.len() > 1)?;
    if arg.get_long().is_some() {
        return None;
    }
    let min = arg.get_num_args().map_or(names.len(), |n| n.min_values());
    let optional = names.len().saturating_sub(min);
    let words: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i < optional {
                format!("[{n}]")
            } else {
                n.to_string()
            }
        })
        .collect();
    Some(words.join(" "))
}

/// A command's synopsis: its path, then each of its own arguments in declaration order.
fn synopsis(cmd: &clap::Command, path: &str) -> String {
    let words = cmd
        .get_arguments()
        .filter(|a| !a.is_global_set() && !a.is_hide_set())
        .filter(|a| !["help", "version"].contains(&a.get_id().as_str()))
        .map(word);
    std::iter::once(path.to_string())
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command a row names (its leading words that are commands), and its synopsis.
fn command_of(root: &clap::Command, row: &str) -> Option<(String, String)> {
    let cell = row.strip_prefix("| `")?.split('`').next()?;
    let mut at = root;
    let mut path = "layerc".to_string();
    for word in cell.split(' ').skip(1) {
        match at.find_subcommand(word) {
            Some(sub) => {
                at = sub;
                path = format!("{path} {word}");
            }
            None => break,
        }
    }
    (!at.has_subcommands() && path != "layerc").then(|| (path.clone(), synopsis(at, &path)))
}

/// Every command without subcommands, as `layerc a b`.
fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            leaves(sub, &name, out);
        } else {
            out.push(name);
        }
    }
}

/// The README with each row's synopsis regenerated; the commands without a row and the rows
/// naming no command.
fn regenerate(readme: &str) -> (String, Vec<String>) {
    let mut root = Cli::command();
    root.build();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut out = String::new();
    for line in readme.split_inclusive('\n') {
        if !line.starts_with(ROW) {
            out.push_str(line);
            continue;
        }
        let Some((path, synopsis)) = command_of(&root, line) else {
            problems.push(format!("a row names no command: {line:.60}"));
            out.push_str(line);
            continue;
        };
        let rest = line[3..].split_once("` | ").map_or("", |(_, rest)| rest);
        out.push_str(&format!("| `{}` | {rest}", synopsis.replace('|', "\\|")));
        seen.push(path);
    }
    let mut all = Vec::new();
    leaves(&root, "layerc", &mut all);
    problems.extend(
        all.into_iter()
            .filter(|c| !seen.contains(c))
            .map(|c| format!("{c}: no row")),
    );
    (out, problems)
}

#[test]
fn the_readme_command_table_is_generated_from_clap() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (fresh, problems) = regenerate(&readme);
    assert!(
        problems.is_empty(),
        "README.md's command table: {problems:#?}"
    );
    if std::env::var_os("LAYERC_REGENERATE").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    } else {
        assert!(
            fresh == readme,
            "README.md's command table is stale: LAYERC_REGENERATE=1 cargo test --bin layerc readme"
        );
    }
}

#[test]
fn a_synopsis_says_what_clap_parses() {
    let mut root = Cli::command();
    root.build();
    let build = root.find_subcommand("build").unwrap();
    let line = synopsis(build, "layerc build");
    for expected in [
        "[SPEC]",
        "[--out DIR]",
        "[--format human|json]",
        "[--locked]",
    ] {
        assert!(line.contains(expected), "{expected} in {line}");
    }
    let why = root.find_subcommand("why").unwrap();
    assert_eq!(synopsis(why, "layerc why"), "layerc why [SPEC] NAME");
    let scan = root
        .find_subcommand("runtime")
        .unwrap()
        .find_subcommand("scan")
        .unwrap();
    assert!(synopsis(scan, "layerc runtime scan").contains("[--tls-verify=false]"));
}
