//! Reading the template a spec names (or `--merge` gives) during analysis, so `check`, `build`
//! and the editor all see the same findings.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::runtime::{Catalog, Date};
use crate::spec::Spec;

use super::Template;
use super::check::{self, TemplateInput};

/// Which template a spec is checked against and merged into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TemplateChoice {
    /// The spec's `template` node, if any.
    #[default]
    FromSpec,
    /// A path given on the command line (`--merge`), relative to the current folder.
    Path(PathBuf),
    /// None (`--no-merge`).
    Skip,
}

/// A template that was read and parsed.
#[derive(Debug, Clone)]
pub struct LoadedTemplate {
    pub path: PathBuf,
    /// The path as the user wrote it, for messages.
    pub name: String,
    /// Where the spec names it (the first layer's name when only `--merge` does).
    pub span: Span,
    pub template: Template,
}

/// Reads and checks the chosen template. Problems are diagnostics; the template is `None` when it
/// could not be read or parsed.
pub fn load(
    spec: &Spec,
    spec_dir: &Path,
    choice: &TemplateChoice,
    catalog: &Catalog,
    today: Date,
) -> (Option<LoadedTemplate>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let node_span = spec.template.as_ref().map(|t| t.span);
    let (path, name) = match (choice, &spec.template) {
        (TemplateChoice::Skip, _) | (TemplateChoice::FromSpec, None) => return (None, diags),
        (TemplateChoice::FromSpec, Some(t)) => {
            let path = if spec_dir == Path::new(".") {
                PathBuf::from(&t.value)
            } else {
                spec_dir.join(&t.value)
            };
            (path, t.value.clone())
        }
        (TemplateChoice::Path(p), _) => (p.clone(), p.display().to_string()),
    };
    let span = node_span
        .or_else(|| spec.layers.first().map(|l| l.name.span))
        .unwrap_or_default();
    let problem =
        |code, message: String| Diagnostic::error(code, message).at(span).label("template");
    let text = match super::files::read_text(&path) {
        Ok(text) => match text {
            Ok(text) => text,
            Err(_) => {
                diags.push(
                    problem(Code::TemplateSyntax, format!("{name} is not UTF-8 text"))
                        .help("a template is JSON or YAML text"),
                );
                return (None, diags);
            }
        },
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                Code::TemplateNotFound
            } else {
                Code::TemplateIo
            };
            let help = match choice {
                TemplateChoice::Path(_) => {
                    "`--merge` names the template relative to the current folder"
                }
                _ => {
                    "`template` names the SAM or CloudFormation template, relative to the spec's folder"
                }
            };
            diags.push(problem(code, format!("cannot read template {name}: {e}")).help(help));
            return (None, diags);
        }
    };
    let template = match Template::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.line.map_or(String::new(), |l| format!(":{l}"));
            diags.push(
                problem(Code::TemplateSyntax, format!("{name}{line}: {}", e.message))
                    .help("fix the template; cfn-lint shows the same problem"),
            );
            return (None, diags);
        }
    };
    let input = TemplateInput {
        name: &name,
        span,
        template: &template,
    };
    diags.extend(check::check(spec, catalog, &input, today));
    let loaded = LoadedTemplate {
        path,
        name,
        span,
        template,
    };
    (Some(loaded), diags)
}
