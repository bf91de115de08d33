//! The build summary: per layer, each shipped entry with its size and the first chain that pulls it
//! in, the layer's totals against Lambda's limits, and where the zip came from; then each
//! function's layers together. Plain text for people (the CLI prints it on stderr).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use crate::analysis::Analysis;
use crate::plan::{Content, LayerAnalysis};
use crate::resolve::{LayerGraph, Status};
use crate::spec::LayerRef;
use crate::validate::{MAX_DIRECT_UPLOAD_BYTES, MAX_UNZIPPED_BYTES};

/// What the build did with one layer.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub name: String,
    pub zip: PathBuf,
    pub zip_size: u64,
    /// Where the zip came from, as the summary says it: `built`, `built, stored`, `from the
    /// store`, `from remote cache NAME` (and `, pushed to NAME` after a push).
    pub origin: String,
}

/// The summary of a build of `analysis` that produced `built` (in layer order).
pub fn render(analysis: &Analysis, built: &[BuiltLayer]) -> String {
    let mut out = String::new();
    for b in built {
        if let Some(layer) = analysis.layer(&b.name) {
            layer_table(&mut out, layer, b);
        }
    }
    functions(&mut out, analysis);
    out
}

fn layer_table(out: &mut String, layer: &LayerAnalysis, built: &BuiltLayer) {
    let origin = &built.origin;
    let _ = writeln!(
        out,
        "layer `{}` ({origin}): {}",
        layer.name(),
        built.zip.display()
    );
    let why = pulled_in_by(
        &layer.graph,
        layer.plan.entries.iter().map(|e| e.path.as_str()),
    );
    let rows: Vec<(String, String, String)> = layer
        .plan
        .entries
        .iter()
        .map(|e| {
            let path = e.path.as_str();
            let (size, reason) = match &e.content {
                Content::File { size, source, .. } => (
                    size.to_string(),
                    why.get(path)
                        .cloned()
                        .unwrap_or_else(|| format!("file {source}")),
                ),
                Content::Symlink { target } => ("→".to_string(), format!("alias of {target}")),
            };
            (format!("/opt/{path}"), size, reason)
        })
        .collect();
    let width = |column: fn(&(String, String, String)) -> &String, title: &str| {
        rows.iter()
            .map(|r| column(r).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1) = (width(|r| &r.0, "path"), width(|r| &r.1, "bytes"));
    let _ = writeln!(out, "  {:<w0$}  {:>w1$}  pulled in by", "path", "bytes");
    for (path, size, reason) in &rows {
        let _ = writeln!(out, "  {path:<w0$}  {size:>w1$}  {reason}");
    }
    let unzipped = layer.plan.unzipped_size;
    let _ = writeln!(
        out,
        "  unzipped {unzipped} of {MAX_UNZIPPED_BYTES} bytes ({}); zip {} of {MAX_DIRECT_UPLOAD_BYTES} bytes for a direct upload ({})",
        percent(unzipped, MAX_UNZIPPED_BYTES),
        built.zip_size,
        percent(built.zip_size, MAX_DIRECT_UPLOAD_BYTES)
    );
}

/// For each shipped library's entry path, the first chain that pulls it in, nearest first:
/// `libpng16.so.16 ← libgdiplus.so.0`, or `requested` for a `library` of the spec.
fn pulled_in_by<'a>(
    graph: &LayerGraph,
    paths: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let paths: Vec<&str> = paths.collect();
    for (idx, node) in graph.nodes() {
        if node.status != Status::Shipped {
            continue;
        }
        let Some(path) = paths
            .iter()
            .find(|p| p.rsplit('/').next() == Some(&node.name))
        else {
            continue;
        };
        let mut chain = graph.chain(idx);
        chain.pop();
        let reason = if chain.is_empty() {
            "requested".to_string()
        } else {
            chain.reverse();
            chain.join(" ← ")
        };
        out.insert(path.to_string(), reason);
    }
    out
}

/// Each function's layers together (the spec's layers for `Globals.Function` when it names none),
/// with its application when it declares one.
fn functions(out: &mut String, analysis: &Analysis) {
    let (spec, layers) = (&analysis.spec, &analysis.layers);
    let size = |name: &str| {
        layers
            .iter()
            .find(|l| l.name() == name)
            .map(|l| l.plan.unzipped_size)
    };
    let mut rows: Vec<(String, Vec<&str>, usize, Option<u64>)> = Vec::new();
    if spec.functions.is_empty() {
        let names = spec.layers.iter().map(|l| l.name.value.as_str()).collect();
        rows.push((
            "every function (Globals.Function)".to_string(),
            names,
            0,
            None,
        ));
    }
    for f in &spec.functions {
        let mut names = Vec::new();
        let mut arns = 0;
        for l in &f.layers {
            match &l.value {
                LayerRef::Local(name) => names.push(name.as_str()),
                LayerRef::Arn(_) => arns += 1,
            }
        }
        let app = f.app.as_ref().and_then(|app| {
            let seen = analysis.apps.iter().find(|s| s.span == app.span)?;
            Some(seen.bytes)
        });
        rows.push((format!("function `{}`", f.id.value), names, arns, app));
    }
    for (who, names, arns, app) in rows {
        let total: u64 = names.iter().filter_map(|n| size(n)).sum::<u64>() + app.unwrap_or(0);
        let with_app = app.map_or(String::new(), |a| {
            format!(" and its application ({a} bytes)")
        });
        let _ = write!(
            out,
            "{who}: layers {}{with_app}: unzipped {total} of {MAX_UNZIPPED_BYTES} bytes ({})",
            names.join(", "),
            percent(total, MAX_UNZIPPED_BYTES)
        );
        let _ = match arns {
            0 => writeln!(out),
            n => writeln!(out, ", plus {n} external layer(s) not counted"),
        };
    }
}

/// `part` of `whole` as a percentage with one decimal.
fn percent(part: u64, whole: u64) -> String {
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}
