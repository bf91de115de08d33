//! The command line: argument parsing, printing and exit codes. The only module that prints.

mod build;
mod caches;
mod from_lock;
mod graph;
mod lock;
mod output;
mod runtime_cmd;
mod runtimes;
mod scan;
mod scan_fix;
mod store;
mod why;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use layerc::diagnostic::SourceFile;
use layerc::emit::zip::Compression;
use layerc::runtime::Date;
use layerc::{Analysis, Session, TemplateChoice};

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
    /// The store and cache folder (default: $LAYERC_STORE, else $XDG_CACHE_HOME/layerc, else
    /// ~/.cache/layerc).
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
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
        /// Deflate effort: fast, default (smaller than Info-ZIP -6 and faster) or best.
        #[arg(long, value_enum, default_value_t = Compression::Default)]
        compression: Compression,
        /// Fail (exit 1, nothing written) when resolution or any input differs from layer.lock.
        #[arg(long)]
        locked: bool,
        /// Patch this template (JSON or YAML) instead of the spec's `template`.
        #[arg(long, value_name = "TEMPLATE", conflicts_with = "no_merge")]
        merge: Option<PathBuf>,
        /// Write the template fragment only, even when the spec names a template.
        #[arg(long)]
        no_merge: bool,
        /// Print a unified diff of what the template would get; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Leave out the summary of what each layer ships (printed on stderr).
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        caches: caches::CacheArgs,
    },
    /// Remote cache keys.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Validate the spec against the rootfs and the runtime; write nothing.
    Check {
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Also fail when resolution or any input differs from layer.lock.
        #[arg(long)]
        locked: bool,
    },
    /// Write layer.lock beside the spec without building.
    Lock {
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Trim the store, least recently used entries first; print what was removed.
    Gc {
        /// Keep at most this many entries.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Keep at most this many bytes of entries, e.g. 500M or 2G.
        #[arg(long, value_name = "SIZE", value_parser = layerc::store::gc::parse_size, conflicts_with = "keep")]
        max_size: Option<u64>,
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
    /// Describe a runtime from a root filesystem, or compare two runtimes.
    Runtime {
        #[command(subcommand)]
        command: runtime_cmd::RuntimeCommand,
    },
    /// Print the built-in runtime catalog, or one runtime in detail.
    Runtimes {
        /// A runtime id: its OS base, search path, symbol-version ceilings and provided sonames.
        id: Option<String>,
    },
    /// What an application will fail to load on Lambda: its ELF objects' needs and symbol
    /// versions, resolved with the function's LD_LIBRARY_PATH, layers and runtime.
    Scan(scan::ScanArgs),
    /// Run the language server on stdin and stdout, for editors.
    Lsp,
}

#[derive(Subcommand, Debug)]
enum CacheCommand {
    /// Write an ed25519 key pair for signing cache entries: NAME.secret (mode 0600) and
    /// NAME.public.
    Keygen {
        /// The key's name, such as layerc-ci-1 (signatures carry it).
        name: String,
        /// The folder to write the two files in.
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
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

/// Runs the command line and returns the process exit code: 2 whenever output could not be
/// written (a closed pipe aside), whatever the command found.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    output::exit_code(run_command(args))
}

fn run_command<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            output::check_clap(e.print(), e.use_stderr());
            return if e.use_stderr() { TOOL_ERROR } else { SUCCESS };
        }
    };
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if let Some(dir) = cli.store {
        layerc::store::root::choose(dir);
    }
    let session = Session::default();
    if let Command::Build { spec, locked, .. } | Command::Check { spec, locked, .. } = &cli.command
        && *locked
    {
        lock::pin_images(&session, spec);
    }
    match cli.command {
        Command::Gc { keep, max_size } => store::gc(keep, max_size),
        Command::Cache {
            command: CacheCommand::Keygen { name, dir },
        } => caches::keygen(&name, &dir),
        Command::Runtime { command } => runtime_cmd::run(command, session.catalog),
        Command::Lsp => match layerc::lsp::run_stdio() {
            Ok(code) => code,
            Err(e) => {
                output::say(format_args!("error: layerc lsp: {e}"));
                TOOL_ERROR
            }
        },
        Command::Runtimes { id } => runtimes::run(&session, id.as_deref()),
        Command::Scan(args) => scan::run(&session, &args, color),
        Command::Check {
            spec,
            format,
            locked,
        } => with_analysis(&session, &spec, |analysis| {
            if locked {
                return lock::check(analysis, format, color);
            }
            output::report(analysis, &analysis.diagnostics, format, color);
            analysis.exit_code()
        }),
        Command::Build {
            spec,
            out,
            format,
            compression,
            locked,
            merge,
            no_merge,
            dry_run,
            quiet,
            caches,
        } => {
            let template = match (merge, no_merge) {
                (_, true) => TemplateChoice::Skip,
                (Some(path), false) => TemplateChoice::Path(path),
                (None, false) => TemplateChoice::FromSpec,
            };
            let (source, dir) = match read_spec(&spec) {
                Ok(source) => source,
                Err(code) => return code,
            };
            let loaded = layerc::spec::import::load(source.clone(), &dir, session.catalog);
            let caches = match caches::open(&loaded.spec, &loaded.sources, &caches) {
                Ok(caches) => caches,
                Err(code) => return code,
            };
            // Image blobs are asked of the caches too, before their registry.
            if let Some(caches) = &caches {
                session.pulls.use_caches(caches.clone());
            }
            let options = build::Options {
                caches,
                out,
                format,
                color,
                dry_run,
                compression,
                locked,
                summary: !quiet && format == Format::Human,
            };
            if locked {
                let source = match read_spec(&spec) {
                    Ok(source) => source,
                    Err(code) => return code,
                };
                if let Some(code) =
                    from_lock::run(&session, (source.0, &source.1), &template, &options)
                {
                    return code;
                }
            }
            with_analysis_of(&session, &spec, &template, |analysis| {
                build::run(&session, analysis, options)
            })
        }
        Command::Lock { spec, format } => with_analysis(&session, &spec, |analysis| {
            lock::run(analysis, format, color)
        }),
        Command::Graph {
            spec,
            layer,
            format,
        } => with_analysis(&session, &spec, |analysis| {
            graph::run(analysis, &spec, layer.as_deref(), format, color)
        }),
        Command::Why { args } => {
            let (spec, name) = match args.as_slice() {
                [name] => (PathBuf::from("layer.kdl"), name.clone()),
                [spec, name] => (PathBuf::from(spec), name.clone()),
                _ => unreachable!("clap enforces one or two arguments"),
            };
            with_analysis(&session, &spec, |analysis| why::run(analysis, &name, color))
        }
    }
}

/// Reads the spec, analyses it and hands the result to `f`; an unreadable spec exits 2.
fn with_analysis(session: &Session, spec: &Path, f: impl FnOnce(&Analysis) -> i32) -> i32 {
    with_analysis_of(session, spec, &TemplateChoice::FromSpec, f)
}

/// [`with_analysis`] against the chosen template.
fn with_analysis_of(
    session: &Session,
    spec: &Path,
    template: &TemplateChoice,
    f: impl FnOnce(&Analysis) -> i32,
) -> i32 {
    let (source, dir) = match read_spec(spec) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let analysis = session.analyze_with(source, &dir, Date::today(), template);
    f(&analysis)
}

/// The spec's text and folder; an unreadable spec exits 2, one that is not UTF-8 exits 1.
fn read_spec(spec: &Path) -> Result<(SourceFile, PathBuf), i32> {
    let text = match std::fs::read(spec) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                output::say(format_args!(
                    "error: {} is not UTF-8 text; a spec is a KDL document",
                    spec.display()
                ));
                return Err(SPEC_ERROR);
            }
        },
        Err(e) => {
            output::say(format_args!(
                "error: cannot read spec {}: {e}",
                spec.display()
            ));
            return Err(TOOL_ERROR);
        }
    };
    let dir = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let source = SourceFile::new(spec.display().to_string(), text);
    Ok((source, dir.to_path_buf()))
}
