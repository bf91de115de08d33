//! A lattice of libraries (each needs both libraries of the next level) has 2^levels chains to its
//! bottom: `why` shows the shortest few and counts the rest; `graph` draws each node once.

use super::*;

/// `libtop` needs `liba0` and `libb0`; each `liba{i}`/`libb{i}` needs `liba{i+1}` and `libb{i+1}`;
/// the last level needs `libbottom`.
fn lattice(levels: usize) -> Fixture {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libbottom.so.1", "libbottom.so.1", "bottom");
    let mut below = vec!["bottom".to_string()];
    for level in (0..=levels).rev() {
        let names: Vec<String> = if level == 0 {
            vec!["top".to_string()]
        } else {
            vec![format!("a{}", level - 1), format!("b{}", level - 1)]
        };
        // Calls to both libraries below, so that the linker keeps both DT_NEEDED entries.
        let decls: String = below.iter().map(|f| format!("int {f}(void);\n")).collect();
        let calls: Vec<String> = below.iter().map(|f| format!("{f}()")).collect();
        let paths: Vec<String> = below
            .iter()
            .map(|f| format!("/usr/lib64/lib{f}.so.1"))
            .collect();
        let links: Vec<&str> = paths.iter().map(String::as_str).collect();
        for name in &names {
            let source = format!(
                "{decls}int {name}(void) {{ return {}; }}\n",
                calls.join(" + ")
            );
            let path = format!("/usr/lib64/lib{name}.so.1");
            fx.cc_lib(&path, &format!("lib{name}.so.1"), &source, &links, &[]);
        }
        below = names;
    }
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libtop.so.1"));
    fx
}

#[test]
fn why_on_a_lattice_shows_the_shortest_chains_and_counts_the_rest() {
    let fx = lattice(20);
    let out = layerc_bounded(fx.path(), &["why", "libbottom.so.1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let chains: Vec<&str> = text.lines().filter(|l| l.contains(" → ")).collect();
    assert_eq!(chains.len(), 20, "{text}");
    // 2^20 chains in all, each through 22 libraries.
    assert!(
        chains.iter().all(|c| c.matches(" → ").count() == 21),
        "{text}"
    );
    assert!(
        text.ends_with("    … and 1048556 more chain(s), not shown (the 20 shortest are)\n"),
        "{text}"
    );
    // A library in the middle: 2^10 chains above it.
    let out = layerc_bounded(fx.path(), &["why", "liba10.so.1"]);
    assert!(
        stdout(&out).contains("… and 1004 more chain(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn graph_text_of_a_lattice_draws_each_node_once() {
    let fx = lattice(20);
    let out = layerc_bounded(fx.path(), &["graph"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    // Every node expanded once; a repeat is one line marked "(see above)".
    assert_eq!(
        text.matches("libbottom.so.1 [shipped]").count(),
        2,
        "{text}"
    );
    assert!(text.lines().count() < 200, "{} lines", text.lines().count());
}
