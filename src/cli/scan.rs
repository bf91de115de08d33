//! `layerc scan APP`: what an application will fail to load on Lambda, and the layer that fixes it.

use std::path::{Path, PathBuf};

use layerc::app::{self, Environment, managed};
use layerc::arch::Architecture;
use layerc::diagnostic::{self, SourceFile, SourceMap};
use layerc::{Analysis, Session};

use super::output::{print_out, report, report_human, say};
use super::scan_fix;
use super::{Format, SPEC_ERROR, SUCCESS, TOOL_ERROR};

#[derive(clap::Args, Debug)]
pub(super) struct ScanArgs {
    /// The application: a folder (a deployment package unpacked, a `dotnet publish` folder,
    /// site-packages, node_modules) or a zip (a deployment package, a wheel).
    pub app: PathBuf,
    /// The Lambda runtime id the function runs on.
    #[arg(long, value_name = "ID")]
    pub runtime: String,
    /// x86_64 or arm64.
    #[arg(long, default_value = "x86_64", value_name = "ARCH")]
    pub architecture: String,
    /// A spec whose layers the function has (unpacked at /opt).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// With --spec: only this function's layers, and its ld-library-path mode.
    #[arg(long, requires = "spec", value_name = "NAME")]
    pub function: Option<String>,
    /// A root filesystem (folder or image) to take the missing libraries from: proposes a layer.
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// With --rootfs: write the proposed spec here (whole or not at all), ready for `layerc build`.
    #[arg(long, requires = "rootfs", value_name = "FILE")]
    pub write_spec: Option<PathBuf>,
    /// With --write-spec: replace a file that is already there (as cargo, layerc does not
    /// overwrite one unasked).
    #[arg(long, requires = "write_spec")]
    pub force: bool,
    /// With --rootfs: the SAM template of the function, for `template` and `function` nodes.
    #[arg(long, requires = "rootfs")]
    pub template: Option<PathBuf>,
    /// Output format: human (miette's report) or json (a report object).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn run(session: &Session, args: &ScanArgs, color: bool) -> i32 {
    if let Some(out) = &args.write_spec
        && !args.force
        && std::fs::metadata(out).is_ok_and(|m| m.is_file())
    {
        say(format_args!(
            "error: {} already exists; pass --force to replace it",
            out.display()
        ));
        return TOOL_ERROR;
    }
    let catalog = session.catalog;
    let Some(runtime) = catalog.runtime(&args.runtime) else {
        let hint = diagnostic::did_you_mean(&args.runtime, catalog.runtime_ids())
            .map_or(String::new(), |h| format!("; {h}"));
        say(format_args!(
            "error: unknown runtime `{}`{hint} (`layerc runtimes` lists them)",
            args.runtime
        ));
        return TOOL_ERROR;
    };
    let Ok(arch) = args.architecture.parse::<Architecture>() else {
        say(format_args!(
            "error: unknown architecture `{}` (x86_64 or arm64)",
            args.architecture
        ));
        return TOOL_ERROR;
    };
    let Some(os) = catalog.os(&runtime.os) else {
        say(format_args!(
            "error: the catalog has no OS base for `{}`",
            runtime.id
        ));
        return TOOL_ERROR;
    };
    let analysis = match &args.spec {
        Some(spec) => match analyse_spec(session, spec) {
            Ok(a) => Some(a),
            Err(code) => return code,
        },
        None => None,
    };
    let (layers, ld_library_path) = match &analysis {
        Some(a) => {
            if a.has_errors() {
                report(a, &a.diagnostics, args.format, color);
                say(format_args!(
                    "error: the spec's layers have errors; fix them before scanning with them"
                ));
                return a.exit_code();
            }
            let function = match function_of(a, args.function.as_deref()) {
                Ok(f) => f,
                Err(code) => return code,
            };
            app::spec_layers(&a.spec, &a.layers, function, runtime)
        }
        None => (Vec::new(), app::prepended_path(runtime, &[])),
    };
    let env = Environment {
        runtime,
        os,
        arch,
        layers,
        ld_library_path,
    };
    scan(session, args, &env, color)
}

fn scan(session: &Session, args: &ScanArgs, env: &Environment<'_>, color: bool) -> i32 {
    let (app_path, format) = (args.app.as_path(), args.format);
    let fs = match layerc::rootfs::open_app_telling(app_path) {
        Ok((fs, refused)) => {
            warn_refused(app_path, &refused);
            fs
        }
        Err(e) => {
            // `e` speaks of a rootfs; here the path is the application (a folder or a zip).
            say(format_args!(
                "error: cannot open the application {}: {}",
                e.path.display(),
                e.source
            ));
            return TOOL_ERROR;
        }
    };
    let result = match app::scan(fs.clone(), env, managed::READER) {
        Ok(r) => r,
        Err(e) => {
            say(format_args!(
                "error: cannot read the application {}: {e}",
                app_path.display()
            ));
            return TOOL_ERROR;
        }
    };
    let diags = app::report::diagnostics(&result, env);
    let source = SourceMap::from(SourceFile::new(app_path.display().to_string(), ""));
    let mut code = if result.loads() { SUCCESS } else { SPEC_ERROR };
    let proposal = match &args.rootfs {
        Some(rootfs) => match scan_fix::propose(session, args, env, &fs, &result, rootfs) {
            Ok(p) => Some(p),
            Err(failed) => return failed,
        },
        None => None,
    };
    if let Some(p) = &proposal {
        code = code.max(p.code);
    }
    match format {
        Format::Json => {
            let diags_json: Vec<_> = diags
                .iter()
                .map(|d| diagnostic::to_json(d, &source))
                .collect();
            let mut value = app::report::to_json(&result, env, serde_json::json!(diags_json));
            if let Some(p) = &proposal {
                value["fix"] = scan_fix::to_json(p);
            }
            let text = serde_json::to_string_pretty(&value).expect("JSON values serialise") + "\n";
            match print_out(&text) {
                SUCCESS => code,
                failed => failed,
            }
        }
        Format::Human => {
            report_human(&source, &diags, color);
            say(format_args!("{}", summary(&result, env, app_path)));
            if let Some(p) = &proposal {
                scan_fix::print_human(p, color);
            }
            code
        }
    }
}

/// Zip entries the scan cannot see: a name with a `..` part would land outside the function's
/// folder (or was meant to), so it is not read, and the user is told.
fn warn_refused(app: &Path, refused: &[String]) {
    const SHOWN: usize = 10;
    if refused.is_empty() {
        return;
    }
    let names: Vec<String> = refused
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect();
    let more = refused
        .len()
        .checked_sub(SHOWN)
        .filter(|&n| n > 0)
        .map_or(String::new(), |n| format!(" and {n} more"));
    say(format_args!(
        "warning: {}: {} entr{} left out of the scan, their names not inside the archive (a `..` part, a name below a file, or one taken twice): {}{more}",
        app.display(),
        refused.len(),
        if refused.len() == 1 { "y" } else { "ies" },
        names.join(", ")
    ));
}

/// The last line of the human report.
fn summary(result: &app::AppScan, env: &Environment<'_>, app_path: &Path) -> String {
    let files = &result.files;
    let mut line = format!(
        "scanned {}: {} ELF object(s), {} managed assembly(ies), for {} on {}",
        app_path.display(),
        files.objects.len(),
        files.assemblies.len(),
        env.describe(),
        env.arch
    );
    if result.abi.jar_natives > 0 {
        line.push_str(&format!(
            " (with {} native librar(ies) from jars)",
            result.abi.jar_natives
        ));
    }
    if !env.layers.is_empty() {
        let names: Vec<&str> = env.layers.iter().map(|l| l.name.as_str()).collect();
        line.push_str(&format!(" with layer(s) {}", names.join(", ")));
    }
    let unchecked = result.abi.not_checked.len() + result.abi.run_time_loads.len();
    if result.loads() && unchecked == 0 {
        line.push_str(": everything loads");
    } else if result.loads() {
        line.push_str(&format!(
            ": everything checked loads; {unchecked} thing(s) loaded at run time or unreadable were not checked (see above)"
        ));
    } else {
        let errors = result
            .abi
            .findings
            .iter()
            .filter(|f| f.severity == layerc::diagnostic::Severity::Error)
            .count();
        line.push_str(&format!(
            ": {} problem(s), the function will fail to load",
            result.failures.len() + result.excluded.len() + errors
        ));
    }
    if !result.foreign.is_empty() {
        let names: Vec<String> = result
            .foreign
            .iter()
            .map(|(a, m)| format!("{m} ({a})"))
            .collect();
        line.push_str(&format!(
            "\nWindows/macOS-only imports, never loaded on Linux: {}",
            names.join(", ")
        ));
    }
    if !files.other_arch.is_empty() {
        line.push_str(&format!(
            "\n{} object(s) for another architecture were left out",
            files.other_arch.len()
        ));
    }
    line
}

fn analyse_spec(session: &Session, spec: &Path) -> Result<Analysis, i32> {
    let (text, _) = layerc::rootfs::host::read_spec_text(spec).map_err(|e| {
        say(format_args!(
            "error: cannot read spec {}: {e}",
            spec.display()
        ));
        TOOL_ERROR
    })?;
    let dir = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let source = SourceFile::new(spec.display().to_string(), text);
    Ok(session.analyze(source, dir, layerc::runtime::Date::today()))
}

fn function_of<'a>(
    analysis: &'a Analysis,
    name: Option<&str>,
) -> Result<Option<&'a layerc::spec::FunctionSpec>, i32> {
    let Some(name) = name else { return Ok(None) };
    match analysis.spec.functions.iter().find(|f| f.id.value == name) {
        Some(f) => Ok(Some(f)),
        None => {
            let ids = analysis.spec.functions.iter().map(|f| f.id.value.as_str());
            let hint =
                diagnostic::did_you_mean(name, ids).map_or(String::new(), |h| format!("; {h}"));
            say(format_args!(
                "error: the spec has no function `{name}`{hint}"
            ));
            Err(TOOL_ERROR)
        }
    }
}
