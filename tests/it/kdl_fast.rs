//! The fast reader against the `kdl` crate: wherever it gives a document, `kdl` gives the same
//! nodes, names, entries, values and spans; and it takes the files layerc is written in.

use std::path::{Path, PathBuf};

use kdl::{KdlDocument, KdlNode};

/// Every difference between two documents in what the lowering reads, as text.
fn differences(fast: &KdlDocument, kdl: &KdlDocument, at: &str, out: &mut Vec<String>) {
    if fast.span() != kdl.span() {
        out.push(format!(
            "{at}: document span {:?} != {:?}",
            fast.span(),
            kdl.span()
        ));
    }
    if fast.nodes().len() != kdl.nodes().len() {
        out.push(format!(
            "{at}: {} nodes != {}",
            fast.nodes().len(),
            kdl.nodes().len()
        ));
        return;
    }
    for (i, (a, b)) in fast.nodes().iter().zip(kdl.nodes()).enumerate() {
        node_differences(a, b, &format!("{at}/{i}"), out);
    }
}

fn node_differences(a: &KdlNode, b: &KdlNode, at: &str, out: &mut Vec<String>) {
    let name = |n: &KdlNode| (n.name().value().to_string(), n.name().span(), n.span());
    if name(a) != name(b) {
        out.push(format!("{at}: node {:?} != {:?}", name(a), name(b)));
    }
    let entries = |n: &KdlNode| -> Vec<_> {
        n.entries()
            .iter()
            .map(|e| {
                let key = e.name().map(|k| (k.value().to_string(), k.span()));
                (key, e.value().clone(), e.span(), e.ty().is_some())
            })
            .collect()
    };
    if entries(a) != entries(b) {
        out.push(format!(
            "{at}: entries {:?} != {:?}",
            entries(a),
            entries(b)
        ));
    }
    match (a.children(), b.children()) {
        (Some(x), Some(y)) => differences(x, y, at, out),
        (None, None) => {}
        _ => out.push(format!("{at}: children on one side only")),
    }
}

/// Checks one text; true when the fast reader took it.
fn check(text: &str, origin: &str) -> bool {
    let Some(fast) = layerc::spec::fast::parse(text) else {
        return false;
    };
    let kdl = KdlDocument::parse(text).unwrap_or_else(|e| {
        panic!("{origin}: the fast reader took text kdl refuses: {e:?}\n{text}")
    });
    let mut out = Vec::new();
    differences(&fast, &kdl, "", &mut out);
    assert!(out.is_empty(), "{origin}:\n{}\n{text}", out.join("\n"));
    true
}

fn files(dir: &Path, ext: Option<&str>, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if ext.is_none_or(|e| path.extension().is_some_and(|x| x == e)) {
            out.push(path);
        }
    }
}

/// The spec fuzzer's corpus and every KDL file of the repository.
fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("fuzz/regressions/spec"), None, &mut paths);
    files(&root.join("fuzz/seeds/spec"), None, &mut paths);
    for dir in ["examples", "specs", "tests", "editors", "docs"] {
        files(&root.join(dir), Some("kdl"), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let text = String::from_utf8(std::fs::read(&p).ok()?).ok()?;
            Some((p.display().to_string(), text))
        })
        .collect()
}

#[test]
fn the_fast_reader_gives_what_kdl_gives() {
    let corpus = corpus();
    assert!(corpus.len() > 300, "{} files", corpus.len());
    let mut taken = 0;
    let mut variants = 0;
    for (origin, text) in &corpus {
        taken += usize::from(check(text, origin));
        // Cut short at every line end and in the middle of every fifth line, and with each
        // line's spaces doubled: nearly valid text at every kind of place.
        let cuts = text
            .match_indices('\n')
            .map(|(i, _)| i)
            .chain(text.char_indices().step_by(37).map(|(i, _)| i));
        for cut in cuts {
            variants += usize::from(check(&text[..cut], &format!("{origin}[..{cut}]")));
        }
        let doubled = text.replace(' ', "  ").replace("\n", " \n");
        variants += usize::from(check(&doubled, &format!("{origin} (spaced)")));
    }
    // Most of the corpus is the fuzzer's strange text, which `kdl` reads; the rest must be taken.
    assert!(taken > 30, "only {taken} of {} files taken", corpus.len());
    assert!(variants > 1000, "only {variants} variants taken");
}

#[test]
fn the_files_layerc_is_written_in_take_the_fast_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("examples"), Some("kdl"), &mut paths);
    files(&root.join("specs"), Some("kdl"), &mut paths);
    assert!(paths.len() > 10);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            check(&text, &path.display().to_string()),
            "{} is not taken",
            path.display()
        );
    }
}

#[test]
fn what_is_outside_the_subset_goes_to_kdl() {
    for text in [
        "a /* c */ 1",
        "a /-1",
        "a (u8)1",
        "a r#\"x\"#",
        "a 1.5",
        "a 0x10",
        "a \"\\u{41}\"",
        "a b",
        "a \\ // c\n 1",
        "a\r\n",
        "\u{FEFF}a",
        "a;;b",
        "a \"x\"{ }",
        "true",
        "a #inf",
        "a \"\"\"\nx\n\"\"\"",
    ] {
        assert!(layerc::spec::fast::parse(text).is_none(), "{text:?}");
    }
    assert!(layerc::spec::fast::parse("a \"x\" k=1 { b #true; c #null }\n").is_some());
}
