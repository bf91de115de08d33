//! `layerc init [--runtime ID] [--template T]`: a commented starter `layer.kdl` in the current
//! folder, as `cargo new` and `sam init` start a project. The runtime is the one given, else the
//! one the template's functions use, else `provided.al2023`. Never overwrites a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use layerc::Session;
use layerc::diagnostic::did_you_mean;
use layerc::runtime::Catalog;
use layerc::template::Template;

use super::output::say;
use super::{SUCCESS, TOOL_ERROR};

#[derive(clap::Args, Debug)]
pub(super) struct InitArgs {
    /// The Lambda runtime of the layer (default: the runtime of the template's functions, else
    /// provided.al2023).
    #[arg(long, value_name = "ID")]
    runtime: Option<String>,
    /// The SAM or CloudFormation template to merge the layer into (default: template.yaml,
    /// template.yml, template.json or serverless.template when one is in the current folder).
    #[arg(long, value_name = "TEMPLATE")]
    template: Option<PathBuf>,
}

/// Templates `sam init` and the .NET Lambda tools write, looked for when none is given.
const TEMPLATE_NAMES: [&str; 4] = [
    "template.yaml",
    "template.yml",
    "template.json",
    "serverless.template",
];

const SPEC: &str = "layer.kdl";
const DEFAULT_RUNTIME: &str = "provided.al2023";

pub(super) fn run(session: &Session, args: &InitArgs) -> i32 {
    match starter(session.catalog, args).and_then(|text| write_new(Path::new(SPEC), &text)) {
        Ok(()) => {
            say(format_args!(
                "wrote {SPEC}: set `rootfs` and `library`, then run `layerc check`"
            ));
            SUCCESS
        }
        Err(message) => {
            say(format_args!("error: {message}"));
            TOOL_ERROR
        }
    }
}

/// The spec's text.
fn starter(catalog: &Catalog, args: &InitArgs) -> Result<String, String> {
    let template = match &args.template {
        Some(path) => Some(read_template(path)?),
        None => TEMPLATE_NAMES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .and_then(|p| read_template(&p).ok()),
    };
    let functions = template.as_ref().map_or_else(Vec::new, |(_, t)| {
        t.zip_functions()
            .into_iter()
            .map(|f| (f.id, f.runtime))
            .collect()
    });
    let (runtime, why) = match &args.runtime {
        Some(id) if catalog.runtime(id).is_some() => (id.clone(), "as --runtime said"),
        Some(id) => {
            let hint = did_you_mean(id, catalog.runtime_ids()).unwrap_or_default();
            return Err(format!(
                "unknown Lambda runtime `{id}` {hint} (`layerc runtimes` lists them)"
            ));
        }
        None => match functions
            .iter()
            .filter_map(|(_, r)| r.as_deref())
            .find(|r| catalog.runtime(r).is_some())
        {
            Some(r) => (r.to_string(), "as the template's functions use"),
            None => (
                DEFAULT_RUNTIME.to_string(),
                "change it to your functions' runtime",
            ),
        },
    };
    let os = catalog
        .runtime(&runtime)
        .map_or("", |rt| catalog.os_name(&rt.os));
    let template = template.map(|(path, _)| (path, functions));
    Ok(render(&runtime, why, os, template))
}

fn read_template(path: &Path) -> Result<(String, Template), String> {
    let shown = path.display().to_string();
    let text = layerc::rootfs::host::read_text(path, layerc::template::files::MAX_TEMPLATE_BYTES)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let template = Template::parse(&text).map_err(|e| format!("{shown}: {}", e.message))?;
    Ok((shown, template))
}

type Functions = Vec<(String, Option<String>)>;

fn render(runtime: &str, why: &str, os: &str, template: Option<(String, Functions)>) -> String {
    let mut out = format!(
        "// layer.kdl: a Lambda layer of native libraries. `layerc check` validates it against the
// runtime, `layerc build` writes build/native.zip{merge}.
// The spec language: docs/spec-language.md; every diagnostic: docs/diagnostics.md.

layer \"native\" {{
    // The Lambda runtime(s) of the functions that use the layer: {os}, {why}.
    // `layerc runtimes` lists every id; several ids must share one OS base.
    runtime \"{runtime}\"
    // x86_64 (the default) or arm64, as the functions' Architectures.
    architecture \"x86_64\"
    // Where the libraries come from, relative to this file: a folder holding a root filesystem, a
    // tar, a `docker save` archive or an OCI image (e.g. `docker export` of a Debian container).
    rootfs \"rootfs\"
    // A library the functions load, by soname or file name: its dependencies come along, except
    // what the runtime already provides. Add one `library` line per library.
    library \"libpng16.so.16\"
}}
",
        merge = if template.is_some() {
            " and merges the layer into the template"
        } else {
            " and a template fragment"
        },
    );
    if let Some((path, functions)) = template {
        out.push_str(&format!(
            "\n// The template `layerc build` patches in place: the layer resource, each function's Layers and\n// LD_LIBRARY_PATH.\ntemplate \"{path}\"\n"
        ));
        for (id, _) in &functions {
            out.push_str(&format!(
                "\nfunction \"{id}\" {{\n    layer \"native\"\n}}\n"
            ));
        }
        if functions.is_empty() {
            out.push_str("// No function node: the layer goes to Globals.Function (every function of a SAM template).\n");
        }
    }
    out
}

/// Writes `path` only when it does not exist: a temporary file in its folder, linked into place
/// without replacing anything.
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    let shown = path.display();
    if path.exists() {
        return Err(format!(
            "{shown} already exists; `layerc init` never overwrites a file"
        ));
    }
    let mut file =
        tempfile::NamedTempFile::new_in(".").map_err(|e| format!("cannot write {shown}: {e}"))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("cannot write {shown}: {e}"))?;
    file.persist_noclobber(path)
        .map_err(|e| format!("cannot write {shown}: {}", e.error))?;
    Ok(())
}
