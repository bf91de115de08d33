//! The command line: argument parsing, printing and exit codes. The only module that prints.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{self, Diagnostic, SourceFile};
use crate::runtime::{Catalog, Date};
use crate::{Analysis, Session, emit};

/// Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 the tool could not run.
pub const SUCCESS: i32 = 0;
pub const SPEC_ERROR: i32 = 1;
pub const TOOL_ERROR: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "layerc",
    version,
    about = "Compile AWS Lambda layers of native libraries from a KDL spec"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour in diagnostics: auto (when stderr is a terminal), always or never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the layer zip(s) and the template fragment.
    Build {
        /// The spec file.
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        /// Output folder (default: build/ beside the spec).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Validate the spec against the rootfs and the runtime; write nothing.
    Check {
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the dependency graph of each layer (works on specs with errors).
    Graph {
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        /// Only this layer.
        #[arg(long)]
        layer: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Show the chain(s) that pull a library into a layer.
    Why {
        /// The spec file, then the library; with one argument it is the library and the spec is layer.kdl.
        #[arg(num_args = 1..=2, required = true)]
        args: Vec<String>,
    },
    /// Print the built-in runtime catalog, or one runtime in detail.
    Runtimes {
        /// A runtime id: its OS base, search path, symbol-version ceilings and provided sonames.
        id: Option<String>,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Runs the command line and returns the process exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { TOOL_ERROR } else { SUCCESS };
        }
    };
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let session = Session::default();
    match cli.command {
        Command::Runtimes { id: None } => {
            print_out(&runtimes_table(session.catalog, Date::today()));
            SUCCESS
        }
        Command::Runtimes { id: Some(id) } => match runtime_details(session.catalog, &id) {
            Some(text) => {
                print_out(&text);
                SUCCESS
            }
            None => {
                let hint = crate::diagnostic::did_you_mean(&id, session.catalog.runtime_ids())
                    .map_or(String::new(), |h| format!(": {h}"));
                eprintln!("error: unknown runtime `{id}`{hint}");
                TOOL_ERROR
            }
        },
        Command::Check { spec, format } => with_analysis(&session, &spec, |analysis| {
            report(analysis, &analysis.diagnostics, format, color);
            analysis.exit_code()
        }),
        Command::Build { spec, out, format } => with_analysis(&session, &spec, |analysis| {
            if analysis.has_errors() {
                report(analysis, &analysis.diagnostics, format, color);
                eprintln!("error: nothing was written: the spec has errors");
                return analysis.exit_code();
            }
            let out = out.unwrap_or_else(|| analysis.spec_dir.join("build"));
            let time = emit::zip::timestamp(source_date_epoch());
            match crate::build(analysis, session.catalog, &out, time) {
                Ok(built) => {
                    let mut diags = analysis.diagnostics.clone();
                    diags.extend(built.warnings.iter().cloned());
                    report(analysis, &diags, format, color);
                    for (path, size) in &built.zips {
                        eprintln!("wrote {} ({size} bytes)", path.display());
                    }
                    eprintln!("wrote {}", built.template.display());
                    SUCCESS
                }
                Err(e) => {
                    report(analysis, &analysis.diagnostics, format, color);
                    eprintln!("error: cannot write to {}: {e}", out.display());
                    TOOL_ERROR
                }
            }
        }),
        Command::Graph {
            spec,
            layer,
            format,
        } => with_analysis(&session, &spec, |analysis| {
            if analysis.layers.is_empty() && analysis.has_errors() {
                report(analysis, &analysis.diagnostics, Format::Human, color);
                return analysis.exit_code();
            }
            let graphs: Vec<_> = analysis
                .layers
                .iter()
                .filter(|l| layer.as_ref().is_none_or(|n| &l.name == n))
                .map(|l| &l.graph)
                .collect();
            if let Some(name) = &layer
                && graphs.is_empty()
            {
                eprintln!(
                    "error: no resolved layer named `{name}` in {}",
                    spec.display()
                );
                return TOOL_ERROR;
            }
            print_out(&match format {
                GraphFormat::Json => emit::graph::json(&graphs),
                GraphFormat::Text => emit::graph::text(&graphs),
                GraphFormat::Dot => emit::graph::dot(&graphs),
                GraphFormat::Mermaid => emit::graph::mermaid(&graphs),
            });
            SUCCESS
        }),
        Command::Why { args } => {
            let (spec, name) = match args.as_slice() {
                [name] => (PathBuf::from("layer.kdl"), name.clone()),
                [spec, name] => (PathBuf::from(spec), name.clone()),
                _ => unreachable!("clap enforces one or two arguments"),
            };
            with_analysis(&session, &spec, |analysis| {
                if analysis.layers.is_empty() && analysis.has_errors() {
                    report(analysis, &analysis.diagnostics, Format::Human, color);
                    return analysis.exit_code();
                }
                why(analysis, &name)
            })
        }
    }
}

fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// Reads the spec, analyses it and hands the result to `f`; an unreadable spec exits 2.
fn with_analysis(session: &Session, spec: &Path, f: impl FnOnce(&Analysis) -> i32) -> i32 {
    let text = match std::fs::read(spec) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                eprintln!(
                    "error: {} is not UTF-8 text; a spec is a KDL document",
                    spec.display()
                );
                return SPEC_ERROR;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read spec {}: {e}", spec.display());
            return TOOL_ERROR;
        }
    };
    let dir = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let source = SourceFile::new(spec.display().to_string(), text);
    let analysis = session.analyze(source, dir, Date::today());
    f(&analysis)
}

fn report(analysis: &Analysis, diags: &[Diagnostic], format: Format, color: bool) {
    let mut err = std::io::stderr().lock();
    match format {
        Format::Human => {
            for d in diags {
                let _ = write!(
                    err,
                    "{}",
                    diagnostic::render_human(d, &analysis.source, color, 100)
                );
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            if errors + warnings > 0 {
                let _ = writeln!(err, "{errors} error(s), {warnings} warning(s)");
            }
        }
        Format::Json => {
            let mut out = std::io::stdout().lock();
            for d in diags {
                let line = serde_json::to_string(&diagnostic::to_json(d, &analysis.source))
                    .expect("diagnostics serialise");
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

fn why(analysis: &Analysis, name: &str) -> i32 {
    let mut found = false;
    let mut out = String::new();
    for layer in &analysis.layers {
        let g = &layer.graph;
        let Some(idx) = g.find(name) else { continue };
        found = true;
        let node = &g.graph[idx];
        out.push_str(&format!(
            "layer {}: {} [{}]\n",
            layer.name,
            node.name,
            node.status.as_str()
        ));
        for chain in g.all_chains(idx) {
            let names: Vec<&str> = chain.iter().map(|&i| g.graph[i].name.as_str()).collect();
            let (line, col) = analysis
                .source
                .line_column(g.graph[chain[0]].root_span.offset);
            out.push_str(&format!(
                "    {}  ({}:{line}:{col})\n",
                names.join(" → "),
                analysis.source.name
            ));
        }
    }
    if !found {
        eprintln!(
            "error: no layer of {} pulls in `{name}`",
            analysis.source.name
        );
        return SPEC_ERROR;
    }
    print_out(&out);
    SUCCESS
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// One runtime in full: where its facts come from, and every soname it provides.
pub fn runtime_details(catalog: &Catalog, id: &str) -> Option<String> {
    crate::runtime::describe::details(catalog, id)
}

/// The catalog as an aligned table.
pub fn runtimes_table(catalog: &Catalog, today: Date) -> String {
    let mut rows = vec![[
        "RUNTIME".to_string(),
        "OS".to_string(),
        "ARCHITECTURES".to_string(),
        "GLIBC".to_string(),
        "DEPRECATED".to_string(),
        "BLOCK CREATE".to_string(),
        "BLOCK UPDATE".to_string(),
        "SUCCESSOR".to_string(),
        "STATUS".to_string(),
    ]];
    let date = |d: Option<Date>| d.map_or("-".to_string(), |d| d.to_string());
    let mut runtimes: Vec<_> = catalog.runtimes.values().collect();
    runtimes.sort_by(|a, b| (a.family.as_str(), &a.id).cmp(&(b.family.as_str(), &b.id)));
    for rt in runtimes {
        let os = catalog.os(&rt.os);
        let status = if rt.block_update.is_some_and(|d| d <= today) {
            "updates blocked"
        } else if rt.block_create.is_some_and(|d| d <= today) {
            "creation blocked"
        } else if rt.deprecated.is_some_and(|d| d <= today) {
            "deprecated"
        } else {
            "supported"
        };
        rows.push([
            rt.id.clone(),
            catalog.os_name(&rt.os).to_string(),
            rt.architectures
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(","),
            os.map_or("-".to_string(), |o| o.glibc.to_string()),
            date(rt.deprecated),
            date(rt.block_create),
            date(rt.block_update),
            rt.successor.clone().unwrap_or_else(|| "-".to_string()),
            status.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("catalog {}\n\n", catalog.version);
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
