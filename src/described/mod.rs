//! A layer's `runtime-file` or `target-rootfs`: the runtime description it is checked against
//! instead of the catalog's entries for its `runtime` ids. The session replaces the layer's
//! `target` with one over the built-in catalog plus the described runtime and OS base.

pub mod scan;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::arch::Architecture;
use crate::diagnostic::{Code, Diagnostic};
use crate::resolve::OpenRootfs;
use crate::rootfs::OpenError;
use crate::runtime::{Catalog, Origin, OsBase, Runtime, description};
use crate::spec::{LayerSpec, Spanned, Target, TargetSource};
use scan::{ScanOptions, scan};

/// Described catalogs by what they were made from. A `Target` borrows its catalog for the whole
/// program (`'static`), so each distinct description is kept once for the session's life: a
/// changed file or rootfs gives a new key and one more entry.
#[derive(Default)]
pub struct DescribedCache {
    catalogs: Mutex<HashMap<String, (&'static Catalog, String)>>,
}

type Made = Result<(OsBase, Runtime), String>;

/// What describing a layer's target needs of the session that analyses it.
pub struct Describing<'a> {
    pub catalog: &'static Catalog,
    pub cache: &'a DescribedCache,
    /// Opens a `target-rootfs` value (a path relative to the spec's folder, or a reference;
    /// `true` for `tls-verify=#false`) for an architecture.
    pub open: &'a dyn Fn(&str, bool, Architecture) -> Result<OpenRootfs, OpenError>,
}

/// The target for `layer`'s description: `None` when it has none, or when it cannot be used (then
/// a `spec::runtime-description` diagnostic is pushed and the layer is not analysed).
pub fn target(
    describing: &Describing<'_>,
    layer: &LayerSpec,
    spec_dir: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<Result<Target, ()>> {
    let source = layer.described_by.as_ref()?;
    Some(
        described(describing, layer, source, spec_dir).map_err(|Failure(code, message)| {
            let mut problem = problem(source, message);
            if code == Code::RootfsRegistry {
                problem.code = code;
                problem.help = Some(
                    "check the reference, the registry's credentials and the network; a local registry without TLS needs `tls-verify=#false`".to_string(),
                );
            }
            diags.push(problem);
        }),
    )
}

/// Why a description cannot be used: the registry could not serve a `target-rootfs` reference
/// (the tool cannot run), or the description itself is wrong.
struct Failure(Code, String);

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure(Code::SpecRuntimeDescription, message)
    }
}

fn described(
    describing: &Describing<'_>,
    layer: &LayerSpec,
    source: &Spanned<TargetSource>,
    spec_dir: &Path,
) -> Result<Target, Failure> {
    let arch = layer.architecture.value;
    let first = layer.runtimes.first().map(|r| r.value.as_str());
    let (key, make): (String, Box<dyn FnOnce() -> Made>) = match &source.value {
        TargetSource::RuntimeFile(file) => {
            let path = spec_dir.join(file);
            let text = crate::rootfs::host::read_input_text(&path)
                .map_err(|e| format!("cannot read {file}: {e}"))?;
            let key = format!("file\0{}\0{text}", path.display());
            let make = move || {
                let (os, mut rt) = description(&text).map_err(|e| format!("{file}: {e}"))?;
                rt.origin = Origin::Described(file.clone());
                Ok((os, rt))
            };
            (key, Box::new(make))
        }
        TargetSource::Rootfs(dir) => {
            let insecure = layer.unverified_tls.contains(dir);
            let open = (describing.open)(dir, insecure, arch).map_err(|e| {
                let registry = e
                    .source
                    .get_ref()
                    .is_some_and(|inner| inner.is::<crate::registry::RegistryError>());
                let code = if registry {
                    Code::RootfsRegistry
                } else {
                    Code::SpecRuntimeDescription
                };
                Failure(code, e.to_string())
            })?;
            let key = format!(
                "rootfs\0{:?}\0{}\0{}",
                open.id,
                arch.as_str(),
                first.unwrap_or("")
            );
            let opts = scan_options(describing.catalog, first, dir, layer);
            let make = move || scan(open.fs.as_ref(), &opts).map_err(|e| format!("{dir}: {e}"));
            (key, Box::new(make))
        }
    };
    // The cache is not locked while a rootfs is scanned: other layers and requests go on.
    let cached = crate::lock(&describing.cache.catalogs).get(&key).cloned();
    let (catalog, id) = match cached {
        Some(entry) => entry,
        None => {
            let (os, rt) = make()?;
            let entry = leak(describing.catalog, os, rt);
            let mut catalogs = crate::lock(&describing.cache.catalogs);
            catalogs.entry(key).or_insert(entry).clone()
        }
    };
    let runtime = catalog
        .runtime(&id)
        .expect("the described runtime is in its catalog");
    if !runtime.architectures.contains(&arch) {
        return Err(format!("the described runtime {id} is not for {}", arch.as_str()).into());
    }
    Target::new(catalog, [id.as_str()], arch)
        .ok_or_else(|| format!("runtime {id} has no OS base").into())
}

/// A target rootfs is scanned as the layer's first runtime: its id and default LD_LIBRARY_PATH.
fn scan_options(
    catalog: &Catalog,
    first: Option<&str>,
    dir: &str,
    layer: &LayerSpec,
) -> ScanOptions {
    let rt = first.and_then(|id| catalog.runtime(id));
    ScanOptions {
        name: rt.map_or_else(|| "target".to_string(), |rt| rt.id.clone()),
        base_id: Some(format!("target-rootfs {dir}")),
        arch: layer.architecture.value,
        ld_library_path: rt.map(|rt| rt.ld_library_path.clone()),
        origin: dir.to_string(),
    }
}

fn leak(builtin: &Catalog, os: OsBase, rt: Runtime) -> (&'static Catalog, String) {
    let id = rt.id.clone();
    (Box::leak(Box::new(builtin.with_description(os, rt))), id)
}

fn problem(source: &Spanned<TargetSource>, message: String) -> Diagnostic {
    let (label, help) = match source.value {
        TargetSource::RuntimeFile(_) => (
            "runtime description",
            "write one with `layerc runtime scan ROOTFS --name ID --out FILE`; paths are relative to the spec's folder",
        ),
        TargetSource::Rootfs(_) => (
            "target rootfs",
            "export the target image's root filesystem into that folder (relative to the spec's folder)",
        ),
    };
    Diagnostic::error(Code::SpecRuntimeDescription, message)
        .at(source.span)
        .label(label)
        .help(help)
}
