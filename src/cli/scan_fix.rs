//! `layerc scan --rootfs R [--write-spec FILE] [--template T]`: the layer that gives the application
//! what it misses, validated with the usual pipeline, checked by a second scan, and written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use layerc::app::fix::{self, Draft, Fix};
use layerc::app::{self, AppScan, Environment, Failure, managed};
use layerc::diagnostic::{self, Diagnostic, SourceFile, SourceMap};
use layerc::emit::{EmitError, write_atomic};
use layerc::resolve::search::SystemPaths;
use layerc::rootfs::RootFs;
use layerc::template::Template;
use layerc::template::files::{read_text, relative_path};
use layerc::{Analysis, Session};

use super::output::{report_human, say};
use super::scan::ScanArgs;
use super::{SPEC_ERROR, SUCCESS, TOOL_ERROR};

/// The name of the layer a scan proposes.
pub(super) const LAYER_NAME: &str = "native";

pub(super) struct Proposal {
    pub rootfs: PathBuf,
    pub fix: Fix,
    /// The spec text and its analysis, when the rootfs has anything to ship.
    pub draft: Option<(String, Analysis)>,
    /// What still fails with the proposed layer.
    pub remaining: Vec<Failure>,
    pub remaining_diags: Vec<Diagnostic>,
    pub written: Option<PathBuf>,
    /// 1 when a spec was asked for and the draft has errors, 2 when it could not be written.
    pub code: i32,
}

/// Finds the missing libraries in the rootfs, drafts the spec, analyses it, scans again with its
/// layer, and writes it when asked and it has no errors.
pub(super) fn propose(
    session: &Session,
    args: &ScanArgs,
    env: &Environment<'_>,
    app_fs: &Arc<dyn RootFs>,
    scan: &AppScan,
    rootfs: &Path,
) -> Result<Proposal, i32> {
    let open = session.rootfs(rootfs, env.arch).map_err(|e| {
        say(format_args!("error: {e}"));
        TOOL_ERROR
    })?;
    let system = SystemPaths::new(&open.ld_so_conf(), env.arch);
    let found = fix::propose(
        &scan.failures,
        open.fs.as_ref(),
        &open.elf_cache,
        &system,
        env.arch,
    );
    let mut proposal = Proposal {
        rootfs: rootfs.to_path_buf(),
        fix: found,
        draft: None,
        remaining: scan.failures.clone(),
        remaining_diags: Vec::new(),
        written: None,
        code: SUCCESS,
    };
    if proposal.fix.libraries.is_empty() {
        return Ok(proposal);
    }
    let spec_path = args
        .write_spec
        .clone()
        .unwrap_or_else(|| PathBuf::from("layer.kdl"));
    let spec_dir = spec_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    // The draft is analysed where it will be written, so its relative paths resolve as they will.
    let created = create_dirs(&spec_dir).map_err(|e| {
        say(format_args!(
            "error: cannot create {}: {e}",
            spec_dir.display()
        ));
        TOOL_ERROR
    })?;
    let text = draft_text(args, env, &proposal.fix, &spec_dir, rootfs);
    let text = match text {
        Ok(text) => text,
        Err(code) => {
            remove_dirs(&created);
            return Err(code);
        }
    };
    let source = SourceFile::new(spec_path.display().to_string(), text.clone());
    let analysis = session.analyze(source, &spec_dir, layerc::runtime::Date::today());
    let (mounts, path) = app::spec_layers(&analysis.spec, &analysis.layers, None, env.runtime);
    let with_layer = Environment {
        runtime: env.runtime,
        os: env.os,
        arch: env.arch,
        layers: mounts,
        ld_library_path: path,
    };
    if let Ok(again) = app::scan(app_fs.clone(), &with_layer, managed::READER) {
        proposal.remaining_diags = app::report::diagnostics(&again, &with_layer)
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        proposal.remaining = again.failures;
    }
    if let Some(out) = &args.write_spec {
        if analysis.has_errors() {
            proposal.code = SPEC_ERROR;
        } else {
            proposal.code = write(out, &text);
            if proposal.code == SUCCESS {
                proposal.written = Some(out.clone());
            }
        }
    }
    if proposal.written.is_none() {
        remove_dirs(&created);
    }
    proposal.draft = Some((text, analysis));
    Ok(proposal)
}

/// Creates `dir` and its missing parents; returns those it created, deepest first.
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    Ok(missing)
}

/// Removes the folders [`create_dirs`] made when nothing was written into them.
fn remove_dirs(created: &[PathBuf]) {
    for dir in created {
        let _ = std::fs::remove_dir(dir);
    }
}

fn write(out: &Path, text: &str) -> i32 {
    let written = write_atomic(out, |file| {
        use std::io::Write;
        file.write_all(text.as_bytes())
            .map_err(EmitError::write(out))
    });
    match written {
        Ok(()) => SUCCESS,
        Err(e) => {
            say(format_args!("error: {e}"));
            TOOL_ERROR
        }
    }
}

/// The spec: paths relative to its folder; with `--template`, the template and a `function` node for
/// each function whose code is the application (or, when none is, each on the scanned runtime).
fn draft_text(
    args: &ScanArgs,
    env: &Environment<'_>,
    fix: &Fix,
    spec_dir: &Path,
    rootfs: &Path,
) -> Result<String, i32> {
    let relative = |to: &Path| {
        relative_path(spec_dir, to).map_err(|e| {
            say(format_args!("error: {}: {e}", to.display()));
            TOOL_ERROR
        })
    };
    let rootfs_rel = relative(rootfs)?;
    let (template, functions) = match &args.template {
        Some(t) => (
            Some(relative(t)?),
            template_functions(t, &args.app, env, &relative)?,
        ),
        None => (None, Vec::new()),
    };
    Ok(fix::render(&Draft {
        layer: LAYER_NAME,
        runtime: &env.runtime.id,
        arch: env.arch,
        rootfs: &rootfs_rel,
        libraries: &fix.libraries,
        aliases: &fix.aliases,
        template: template.as_deref(),
        functions: &functions,
    }))
}

fn template_functions(
    template: &Path,
    app_path: &Path,
    env: &Environment<'_>,
    relative: &dyn Fn(&Path) -> Result<String, i32>,
) -> Result<Vec<(String, Option<String>)>, i32> {
    let text = match read_text(template) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            say(format_args!(
                "error: {} is not UTF-8 text",
                template.display()
            ));
            return Err(TOOL_ERROR);
        }
        Err(e) => {
            say(format_args!(
                "error: cannot read template {}: {e}",
                template.display()
            ));
            return Err(TOOL_ERROR);
        }
    };
    let parsed = Template::parse(&text).map_err(|e| {
        say(format_args!("error: {}: {}", template.display(), e.message));
        TOOL_ERROR
    })?;
    let dir = template.parent().unwrap_or(Path::new("."));
    let app = relative(app_path)?;
    let on_runtime: Vec<_> = parsed
        .zip_functions()
        .into_iter()
        .filter(|f| f.runtime.as_deref() == Some(env.runtime.id.as_str()))
        .collect();
    let runs_app = |code: &Option<String>| {
        code.as_ref()
            .is_some_and(|c| relative(&dir.join(c)).ok().as_deref() == Some(app.as_str()))
    };
    let own: Vec<(String, Option<String>)> = on_runtime
        .iter()
        .filter(|f| runs_app(&f.code_uri))
        .map(|f| (f.id.clone(), Some(app.clone())))
        .collect();
    if !own.is_empty() {
        return Ok(own);
    }
    Ok(on_runtime.into_iter().map(|f| (f.id, None)).collect())
}

/// The human report of the proposal, after the scan's.
pub(super) fn print_human(p: &Proposal, color: bool) {
    let rootfs = p.rootfs.display();
    for names in &p.fix.absent {
        say(format_args!("not in {rootfs} either: {}", names.join(", ")));
    }
    let Some((text, analysis)) = &p.draft else {
        say(format_args!(
            "{rootfs} has none of the missing libraries: no layer to propose"
        ));
        return;
    };
    let shown: Vec<String> = p
        .fix
        .libraries
        .iter()
        .map(|l| {
            let aliases: Vec<&str> = p
                .fix
                .aliases
                .iter()
                .filter(|(s, _)| s == l)
                .map(|(_, a)| a.as_str())
                .collect();
            if aliases.is_empty() {
                l.clone()
            } else {
                format!("{l} (also as {})", aliases.join(", "))
            }
        })
        .collect();
    say(format_args!(
        "proposed layer `{LAYER_NAME}` from {rootfs}: {}",
        shown.join(", ")
    ));
    report_human(&analysis.sources, &analysis.diagnostics, color);
    if p.remaining.is_empty() {
        say(format_args!("with this layer, everything loads"));
    } else {
        say(format_args!(
            "with this layer, {} problem(s) remain:",
            p.remaining.len()
        ));
        report_human(
            &SourceMap::from(SourceFile::new("app", "")),
            &p.remaining_diags,
            color,
        );
    }
    match &p.written {
        Some(path) => say(format_args!(
            "wrote {}: `layerc build {}` builds the layer",
            path.display(),
            path.display()
        )),
        None if p.code == SPEC_ERROR => say(format_args!(
            "error: the proposed layer has errors; nothing was written"
        )),
        None => {
            let _ = super::output::print_out(text);
        }
    }
}

/// The `fix` member of the JSON report.
pub(super) fn to_json(p: &Proposal) -> Value {
    let (text, diags) = match &p.draft {
        Some((text, analysis)) => {
            let diags: Vec<Value> = analysis
                .diagnostics
                .iter()
                .map(|d| json!(diagnostic::to_json(d, &analysis.sources)))
                .collect();
            (Some(text.as_str()), diags)
        }
        None => (None, Vec::new()),
    };
    json!({
        "rootfs": p.rootfs.display().to_string(),
        "layer": LAYER_NAME,
        "libraries": p.fix.libraries,
        "aliases": p.fix.aliases,
        "absent": p.fix.absent,
        "spec": text,
        "spec_diagnostics": diags,
        "loads_with_layer": p.remaining.is_empty(),
        "remaining": p.remaining.iter().map(|f| f.chain().join(" → ")).collect::<Vec<_>>(),
        "written": p.written.as_ref().map(|w| w.display().to_string()),
    })
}
