//! What the front half of a run found for one spec (`Session::analyze`): the spec and its
//! sources, each layer resolved and planned, the template, the images and packages the layers
//! came from, what each function's `app` check saw, and every diagnostic. The back half
//! (`build`, `lock`, the editor) reads it; an `Analysis` without errors converts into the
//! [`Buildable`] that `build` takes.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, SourceMap, Span};
use crate::plan::LayerAnalysis;
use crate::spec::Spec;

/// The front half's result for one spec.
pub struct Analysis {
    /// The spec and every file it imports; spans point into this map.
    pub sources: SourceMap,
    pub spec_dir: PathBuf,
    pub spec: Spec,
    pub layers: Vec<LayerAnalysis>,
    /// What each function's `app` check saw.
    pub apps: Vec<AppSummary>,
    /// The template the spec is merged into, when it names one (or `--merge` does) and it parses.
    pub template: Option<crate::template::input::LoadedTemplate>,
    /// The images pulled by reference for each layer, for layer.lock.
    pub images: Vec<ImageUse>,
    /// The package rootfs of each layer that names one, for layer.lock.
    pub packages: Vec<PackageUse>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An image a layer names by reference, as pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    pub layer: String,
    /// `rootfs` or `target-rootfs`.
    pub node: &'static str,
    pub pulled: crate::registry::Pulled,
}

/// A layer's rootfs made of distribution packages, as prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUse {
    pub layer: String,
    pub prepared: crate::packages::Prepared,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// 2 when an input could not be read, 1 for any other error, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.code.is_tool_failure())
        {
            2
        } else if self.has_errors() {
            1
        } else {
            0
        }
    }

    pub fn layer(&self, name: &str) -> Option<&LayerAnalysis> {
        self.layers.iter().find(|l| l.name() == name)
    }
}

/// An analysis without errors: the only thing [`build`] accepts.
#[derive(Clone, Copy)]
pub struct Buildable<'a>(&'a Analysis);

/// The analysis has errors; nothing may be built from it.
#[derive(Debug, thiserror::Error)]
#[error("the spec has errors")]
pub struct HasErrors;

impl<'a> TryFrom<&'a Analysis> for Buildable<'a> {
    type Error = HasErrors;
    fn try_from(analysis: &'a Analysis) -> Result<Self, HasErrors> {
        if analysis.has_errors() {
            Err(HasErrors)
        } else {
            Ok(Buildable(analysis))
        }
    }
}

impl std::ops::Deref for Buildable<'_> {
    type Target = Analysis;
    fn deref(&self) -> &Analysis {
        self.0
    }
}

/// What the check of one `app` saw, for the editor's hover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// The `app` value.
    pub span: Span,
    /// "python3.12 (Amazon Linux 2023), x86_64".
    pub runtime: String,
    pub layers: Vec<String>,
    pub objects: usize,
    pub assemblies: usize,
    pub failures: usize,
    /// Windows/macOS-only imports: (assembly, name).
    pub foreign: Vec<(String, String)>,
    /// The application's files unzipped, in bytes.
    pub bytes: u64,
}
