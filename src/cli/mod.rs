//! The command line: argument parsing, printing and exit codes. The only module that prints.

mod build;
mod caches;
mod catalog;
mod dry_run;
mod from_lock;
mod graph;
mod init;
mod lock;
mod manual;
mod output;
#[cfg(test)]
mod readme;
mod runtime_cmd;
mod runtimes;
mod scan;
mod scan_fix;
mod store;
mod why;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use layerc::diagnostic::SourceFile;
use layerc::runtime::Date;
use layerc::{Analysis, Session, TemplateChoice};

/// Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 the tool could not run.
pub(crate) const SUCCESS: i32 = 0;
pub(crate) const SPEC_ERROR: i32 = 1;
pub(crate) const TOOL_ERROR: i32 = 2;

/// `layerc --version`: the crate version, the commit and the built-in catalog's data version.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LAYERC_COMMIT"),
    ", catalog data ",
    env!("LAYERC_CATALOG_VERSION"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "layerc",
    version = VERSION,
    about = "Compile AWS Lambda layers of native libraries from a KDL spec",
    after_help = "Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 the tool could not run.\nDocs: docs/guide.md, docs/spec-language.md, docs/diagnostics.md"
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
    /// A runtime catalog file (the KDL format `layerc runtime scan` writes) whose entries add to or
    /// replace the built-in ones; default: $LAYERC_CATALOG.
    #[arg(long, global = true, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// Say on stderr which files are read (spec, imports, catalog, template, lock).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the layer zip(s) and the template fragment.
    Build(build::BuildArgs),
    /// Validate the spec against the rootfs and the runtime; write nothing.
    Check {
        /// The spec file.
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        /// Diagnostics format: human (miette's report) or json (one object per line).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Also fail when resolution or any input differs from layer.lock.
        #[arg(long)]
        locked: bool,
    },
    /// Write layer.lock beside the spec without building.
    Lock {
        /// The spec file.
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        /// Diagnostics format: human (miette's report) or json (one object per line).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Trim the store, least recently used entries first; print what was removed.
    Gc {
        /// Keep at most this many entries.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Keep at most this many bytes of entries, e.g. 500M or 2G.
        #[arg(long, value_name = "SIZE", value_parser = layerc::gc::parse_size, conflicts_with = "keep")]
        max_size: Option<u64>,
    },
    /// Print the dependency graph of each layer (works on specs with errors).
    Graph {
        /// The spec file.
        #[arg(default_value = "layer.kdl")]
        spec: PathBuf,
        /// Only this layer.
        #[arg(long, value_name = "NAME")]
        layer: Option<String>,
        /// Output format: text (a tree), dot (Graphviz), mermaid or json.
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Show the chain(s) that pull a library into a layer.
    Why {
        /// The spec file, then the library; with one argument it is the library and the spec is layer.kdl.
        #[arg(num_args = 1..=2, required = true, value_names = ["SPEC", "NAME"])]
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
    /// Write a commented starter layer.kdl in the current folder.
    Init(init::InitArgs),
    /// Print shell completions on stdout (e.g. `layerc completions bash > /etc/bash_completion.d/layerc`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `layerc man > layerc.1; man -l layerc.1`, or
    /// `layerc man build` for layerc-build(1).
    Man {
        /// A command whose page to print (default: layerc's own, listing the commands).
        command: Option<String>,
    },
    /// Remote cache keys.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
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
pub(crate) fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    output::exit_code(run_command(args))
}

fn run_command<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    // The built-in catalog is read on the other core while the arguments and the spec are: most
    // commands need it, and it takes about as long as everything before resolution together.
    std::thread::spawn(layerc::runtime::Catalog::builtin);
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
        layerc::cache_dir::choose(dir);
    }
    // Commands that write nothing leave the caches as they are, too.
    match &cli.command {
        Command::Check { .. } => layerc::cache_dir::read_only(),
        Command::Build(args) if args.dry_run => layerc::cache_dir::read_only(),
        _ => {}
    }
    output::set_verbose(cli.verbose);
    let catalog = match catalog::load(cli.catalog) {
        Ok(catalog) => catalog,
        Err(message) => {
            output::say(format_args!("error: {message}"));
            return TOOL_ERROR;
        }
    };
    let session = Session::new(catalog);
    let locked_spec = match &cli.command {
        Command::Build(args) if args.locked => Some(&args.spec),
        Command::Check { spec, locked, .. } if *locked => Some(spec),
        _ => None,
    };
    if let Some(spec) = locked_spec {
        lock::pin_images(&session, spec);
    }
    dispatch(cli.command, &session, catalog, color)
}

/// Runs one command, with the session and catalog the global options gave.
fn dispatch(
    command: Command,
    session: &Session,
    catalog: &'static layerc::runtime::Catalog,
    color: bool,
) -> i32 {
    match command {
        Command::Init(args) => init::run(session, &args),
        Command::Completions { shell } => manual::completions(Cli::command(), shell),
        Command::Man { command } => manual::man(Cli::command(), command.as_deref()),
        Command::Gc { keep, max_size } => store::gc(keep, max_size),
        Command::Cache {
            command: CacheCommand::Keygen { name, dir },
        } => caches::keygen(&name, &dir),
        Command::Runtime { command } => runtime_cmd::run(command, session),
        Command::Lsp => match layerc::lsp::run_stdio(catalog) {
            Ok(code) => code,
            Err(e) => {
                output::say(format_args!("error: layerc lsp: {e}"));
                TOOL_ERROR
            }
        },
        Command::Runtimes { id } => runtimes::run(session, id.as_deref()),
        Command::Scan(args) => scan::run(session, &args, color),
        Command::Check {
            spec,
            format,
            locked,
        } => with_analysis(session, &spec, |analysis| {
            if locked {
                return lock::check(analysis, format, color);
            }
            output::report(analysis, &analysis.diagnostics, format, color);
            analysis.exit_code()
        }),
        Command::Build(args) => build::command(session, args, color),
        Command::Lock { spec, format } => with_analysis(session, &spec, |analysis| {
            lock::run(analysis, format, color)
        }),
        Command::Graph {
            spec,
            layer,
            format,
        } => with_analysis(session, &spec, |analysis| {
            graph::run(analysis, &spec, layer.as_deref(), format, color)
        }),
        Command::Why { args } => {
            let (spec, name) = match args.as_slice() {
                [name] => (PathBuf::from("layer.kdl"), name.clone()),
                [spec, name] => (PathBuf::from(spec), name.clone()),
                _ => unreachable!("clap enforces one or two arguments"),
            };
            with_analysis(session, &spec, |analysis| why::run(analysis, &name, color))
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
    say_what_was_read(&analysis);
    f(&analysis)
}

/// The spec's text and folder (read through the bounded reader); an unreadable spec exits 2, one
/// that is not UTF-8 exits 1.
fn read_spec(spec: &Path) -> Result<(SourceFile, PathBuf), i32> {
    let text = match layerc::rootfs::host::read_spec_text(spec) {
        Ok((text, _)) => text,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            output::say(format_args!(
                "error: {} is not UTF-8 text; a spec is a KDL document",
                spec.display()
            ));
            return Err(SPEC_ERROR);
        }
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

/// `--verbose`: the spec files, rootfs and template an analysis read.
fn say_what_was_read(analysis: &Analysis) {
    for file in analysis.sources.files() {
        let what = if file.imported_at.is_some() {
            "import"
        } else {
            "spec"
        };
        output::verbose(format_args!("read {what} {}", file.source.name));
    }
    for layer in &analysis.layers {
        let (kind, path) = match &layer.rootfs.id {
            layerc::rootfs::RootfsId::Dir { path, .. } => ("folder", path),
            layerc::rootfs::RootfsId::Image { path, arch, .. } => {
                output::verbose(format_args!(
                    "layer `{}`: image manifest for {arch}",
                    layer.name()
                ));
                ("image", path)
            }
        };
        output::verbose(format_args!(
            "layer `{}`: rootfs {kind} {}",
            layer.name(),
            path.display()
        ));
    }
    if let Some(t) = &analysis.template {
        output::verbose(format_args!("read template {}", t.path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command says what it is in `--help` (and so in the man page).
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = ["help", "version"].contains(&arg.get_id().as_str());
                if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        walk(&cmd, "layerc", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }
}
