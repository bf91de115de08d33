//! layerc compiles a KDL spec of native libraries into AWS Lambda layers.
//!
//! The pipeline, shared by the command line and the language server:
//! `spec::parse` → `resolve::resolve_layer` → `plan::plan_layer` → `validate::validate_layer` →
//! `emit`. [`Session::analyze`] runs the front half and returns data plus diagnostics; [`build`]
//! writes, and takes only a [`Buildable`] analysis (one without errors).

pub mod app;
pub mod arch;
pub mod cache;
pub mod cache_dir;
pub mod described;
pub mod diagnostic;
pub mod digest;
pub mod dlopen;
pub mod dotnet;
pub mod elf;
pub mod emit;
pub mod escape;
pub(crate) mod flock;
pub mod gc;
pub mod layer_path;
pub mod lock;
pub mod lsp;
pub mod net;
pub mod ops;
pub mod packages;
pub mod plan;
pub mod reference;
pub mod registry;
pub mod resolve;
pub mod rootfs;
pub mod runtime;
pub mod shadow;
pub mod spec;
pub mod stack;
pub mod store;
pub(crate) mod sync_ahead;
pub mod template;
pub mod validate;

mod from_lock;
mod pipeline;
mod session;

use std::path::PathBuf;

use diagnostic::{Diagnostic, SourceMap};
use plan::LayerPlan;
use resolve::LayerGraph;
use spec::Spec;

pub use from_lock::{NeedsRootfs, build_from_lock, locked_keys, plan_from_lock};
pub use pipeline::{
    BuildReport, BuiltZip, LOCK_WOULD_CHANGE, LockOutput, LockWrite, Origin, Stores, ZipsAhead,
    build, build_with_lock, write_zips_ahead,
};
pub use resolve::OpenRootfs;
pub use session::Session;
pub use template::input::TemplateChoice;

/// The front half's result for one spec.
pub struct Analysis {
    /// The spec and every file it imports; spans point into this map.
    pub sources: SourceMap,
    pub spec_dir: PathBuf,
    pub spec: Spec,
    pub layers: Vec<LayerAnalysis>,
    /// What each function's `app` check saw.
    pub apps: Vec<app::check::AppSummary>,
    /// The template the spec is merged into, when it names one (or `--merge` does) and it parses.
    pub template: Option<template::input::LoadedTemplate>,
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
    pub pulled: registry::Pulled,
}

/// A layer's rootfs made of distribution packages, as prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUse {
    pub layer: String,
    pub prepared: packages::Prepared,
}

pub struct LayerAnalysis {
    pub graph: LayerGraph,
    pub plan: LayerPlan,
    pub rootfs: OpenRootfs,
}

impl LayerAnalysis {
    /// The layer's name, as the spec gives it.
    pub fn name(&self) -> &str {
        &self.graph.layer
    }
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

/// Locks `mutex`, poisoned or not: every lock of the crate guards a cache or a set of results, which
/// a thread that panicked leaves usable (at worst an entry short), and an editor's session must
/// outlive one failed request.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
