//! The code tables of `docs/diagnostics.md`, written from `codes!` (a test fails when the file
//! holds other tables than these).

use super::{Code, Severity};

/// Each code group with the stage that finds its codes, in the order the stages run.
const GROUPS: [(&str, &str); 10] = [
    ("spec", "reading the spec"),
    (
        "rootfs",
        "opening the source root filesystem, images and package sources",
    ),
    ("resolve", "finding libraries and their dependencies"),
    ("abi", "checking shipped objects against the runtime"),
    ("lifecycle", "runtime support dates"),
    ("limits", "Lambda's size and permission limits"),
    ("function", "a function's layers (and application) together"),
    ("lock", "`--locked`: comparing inputs with `layer.lock`"),
    (
        "template",
        "the template the spec names (`template`, `build --merge`)",
    ),
    (
        "app",
        "`layerc scan APP` and `app`: what an application will fail to load",
    ),
];

/// Where the generated part of `docs/diagnostics.md` starts and ends.
pub const BEGIN: &str =
    "<!-- generated from src/diagnostic/mod.rs: LAYERC_REGENERATE=1 cargo test --test it docs -->";
pub const END: &str = "<!-- end of the generated part -->";

/// The generated part: the groups, then every code with its severity, exit code and meaning.
pub fn markdown() -> String {
    let mut out = format!("{BEGIN}\n\n| Group | Stage | Codes |\n| --- | --- | --- |\n");
    for (group, stage) in GROUPS {
        let names: Vec<&str> = codes_of(group)
            .map(|c| c.as_str().split_once("::").map_or("", |(_, n)| n))
            .collect();
        out += &format!(
            "| [`{group}::`](#{group}) | {stage} | {} |\n",
            names.join(", ")
        );
    }
    out += "\n| Code | Severity | Exit | Meaning |\n| --- | --- | --- | --- |\n";
    for (group, _) in GROUPS {
        for code in codes_of(group) {
            let name = code.as_str();
            let anchor: String = name.chars().filter(|c| *c != ':').collect();
            out += &format!(
                "| [`{name}`](#{anchor}) | {} | {} | {} |\n",
                severities(*code),
                exit(*code),
                code.summary()
            );
        }
    }
    out + "\n" + END
}

fn codes_of(group: &str) -> impl Iterator<Item = &'static Code> + '_ {
    Code::ALL
        .iter()
        .filter(move |c| c.as_str().split_once("::").is_some_and(|(g, _)| g == group))
}

fn severities(code: Code) -> String {
    let names: Vec<&str> = code
        .severities()
        .iter()
        .map(|s| match s {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
        .collect();
    names.join(" or ")
}

/// The exit code of `check` when this is the worst finding.
fn exit(code: Code) -> &'static str {
    let error = code.severities().contains(&Severity::Error);
    match (code.is_tool_failure(), error, code.severities().len()) {
        (true, _, _) => "2",
        (false, true, 1) => "1",
        (false, true, _) => "0 or 1",
        (false, false, _) => "0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code of a group the table lacks would be left out of it.
    #[test]
    fn every_code_is_in_a_group_of_the_table() {
        for code in Code::ALL {
            let group = code.as_str().split("::").next().unwrap();
            assert!(
                GROUPS.iter().any(|(g, _)| *g == group),
                "{code} is in no group of the table"
            );
        }
    }
}
