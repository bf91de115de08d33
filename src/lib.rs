//! layerc compiles a KDL spec of native libraries into AWS Lambda layers.
//!
//! The pipeline, shared by the command line and the language server:
//! `spec::parse` → `resolve::resolve_layer` → `plan::plan_layer` → `validate::validate_layer` →
//! `emit`. [`Session::analyze`] runs the front half and returns data plus diagnostics; [`build`]
//! writes, and takes only a [`Buildable`] analysis (one without errors).

pub mod analysis;
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
pub mod file_digests;
pub(crate) mod flock;
pub mod gc;
pub mod layer_path;
pub mod lock;
pub mod lsp;
pub mod net;
pub mod ops;
pub mod package_pin;
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

pub use analysis::{Analysis, Buildable, HasErrors, ImageUse, PackageUse};
pub use from_lock::{NeedsRootfs, build_from_lock, locked_keys, plan_from_lock};
pub use pipeline::{
    BuildReport, BuiltZip, LockOutput, LockWouldChange, LockWrite, Origin, Stores, ZipsAhead,
    build, build_with_lock, write_zips_ahead,
};
pub use plan::LayerAnalysis;
pub use resolve::OpenRootfs;
pub use session::Session;
pub use template::input::TemplateChoice;

/// Locks `mutex`, poisoned or not: every lock of the crate guards a cache or a set of results, which
/// a thread that panicked leaves usable (at worst an entry short), and an editor's session must
/// outlive one failed request.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
