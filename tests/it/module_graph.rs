//! The library's top-level modules form no circle: read from the source, module A depends on
//! module B when a file of A (its tests aside) names a path `crate::B…`. The command line
//! (`src/cli/`, the binary's) and the crate root (`lib.rs`, which re-exports) are left out; code
//! inside the crate names no item through the crate root, so no dependency hides there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module → the modules it names, each with the first file that names it.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// The top-level modules: `src/NAME.rs` and `src/NAME/`, without the crate root and the binary.
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            match name.strip_suffix(".rs") {
                Some(stem) => Some(stem.to_string()),
                None => path.is_dir().then_some(name),
            }
        })
        .filter(|m| !["lib", "main", "cli"].contains(&m.as_str()))
        .collect()
}

/// The source without comments and without what follows `#[cfg(test)]`.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every path after `crate::` in `code`: `crate::a::b`, `crate::a;`,
/// `crate::{a, b::c}` (across lines); `crate::f(…)` is a function of the root, not a module.
fn named_after_crate(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += i32::from(c == '{') - i32::from(c == '}');
                    depth < 0
                })
                .map_or(group.len(), |(j, _)| j);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                depth += i32::from(c == '{') - i32::from(c == '}');
                if c == ',' && depth == 0 {
                    let first = item.trim().split("::").next().unwrap_or("");
                    if let Some(name) = first.split_whitespace().next() {
                        names.push(name.to_string());
                    }
                    item.clear();
                } else {
                    item.push(c);
                }
            }
        } else {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if !rest[len..].starts_with('(') {
                names.push(rest[..len].to_string());
            }
        }
    }
    names
}

/// The graph, and each `crate::NAME` that names no module (an item the crate root re-exports,
/// which would hide a dependency) with its file.
fn graph() -> (Graph, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let mut files = Vec::new();
    super::architecture::sources(&src, &mut files);
    files.sort();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    let mut hidden = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        let Some(edges) = graph.get_mut(top) else {
            continue;
        };
        let code = code_of(&fs::read_to_string(&file).unwrap());
        for name in named_after_crate(&code) {
            if !modules.contains(&name) {
                hidden.push(format!("{rel}: crate::{name}"));
            } else if name != top {
                edges.entry(name).or_insert_with(|| rel.clone());
            }
        }
    }
    (graph, hidden)
}

/// A circle of modules, each step with the file that makes it, if there is one.
fn a_circle(graph: &Graph) -> Option<Vec<String>> {
    // Depth first; a module met again while still on the path closes a circle.
    fn visit(
        m: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in graph[m].keys() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_form_no_circle() {
    let (graph, hidden) = graph();
    assert!(
        hidden.is_empty(),
        "name these by their module, not through the crate root: {hidden:#?}"
    );
    let edges: usize = graph.values().map(BTreeMap::len).sum();
    assert!(
        graph.len() > 30 && edges > 100,
        "{} modules, {edges} edges",
        graph.len()
    );
    if let Some(circle) = a_circle(&graph) {
        let steps: Vec<String> = circle
            .windows(2)
            .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!("the modules form a circle:\n{}", steps.join("\n"));
    }
}

#[test]
fn paths_after_crate_are_read_as_a_reader_would() {
    let code = "use crate::{\n    a::X,\n    b,\n    c::{d, e},\n};\nlet x = crate::lock(&m);\nuse crate::f as g;\ncrate::h::i();";
    assert_eq!(named_after_crate(code), ["a", "b", "c", "f", "h"]);
    assert_eq!(code_of("x // crate::y\n#[cfg(test)]\ncrate::z"), "x ");
    // A circle made on purpose is found.
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), String::new());
        graph.entry(to.into()).or_default();
    }
    assert_eq!(a_circle(&graph).unwrap().len(), 4);
}
