//! layerc compiles a KDL spec of native libraries into AWS Lambda layers.
//!
//! The pipeline, shared by the command line and (later) the language server:
//! `spec::parse` → `resolve::resolve_layer` → `validate::validate_layer` → `emit`.
//! [`Session::analyze`] runs the front half and returns data plus diagnostics; [`build`] writes.

pub mod arch;
pub mod cli;
pub mod diagnostic;
pub mod elf;
pub mod emit;
pub mod resolve;
pub mod rootfs;
pub mod runtime;
pub mod shadow;
pub mod spec;
pub mod validate;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use diagnostic::{Code, Diagnostic, SourceFile};
use resolve::{ElfCache, LayerGraph, LayerInputs};
use rootfs::RootFs;
use runtime::{Catalog, Date, Provision};
use spec::{LayerSpec, Spec};
use validate::{LayerCheck, LayerPlan};

/// Long-lived inputs: the catalog and opened root filesystems with their parsed ELF objects, so
/// repeated analyses (an editor typing) read and parse each file once.
pub struct Session {
    pub catalog: &'static Catalog,
    roots: Mutex<HashMap<PathBuf, OpenRootfs>>,
}

#[derive(Clone)]
pub struct OpenRootfs {
    pub fs: Arc<dyn RootFs>,
    pub elf_cache: Arc<ElfCache>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Catalog::builtin())
    }
}

/// The front half's result for one spec.
pub struct Analysis {
    pub source: SourceFile,
    pub spec_dir: PathBuf,
    pub spec: Spec,
    pub layers: Vec<LayerAnalysis>,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct LayerAnalysis {
    pub name: String,
    pub graph: LayerGraph,
    pub plan: LayerPlan,
    pub rootfs: OpenRootfs,
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
        self.layers.iter().find(|l| l.name == name)
    }
}

impl Session {
    pub fn new(catalog: &'static Catalog) -> Self {
        Session {
            catalog,
            roots: Mutex::new(HashMap::new()),
        }
    }

    /// Opens (or reuses) the rootfs at a host path.
    pub fn rootfs(&self, host_path: &Path) -> io::Result<OpenRootfs> {
        let key = std::fs::canonicalize(host_path)?;
        let mut roots = self.roots.lock().expect("session lock");
        if let Some(open) = roots.get(&key) {
            return Ok(open.clone());
        }
        let open = OpenRootfs {
            fs: rootfs::open(&key)?,
            elf_cache: Arc::new(ElfCache::default()),
        };
        roots.insert(key, open.clone());
        Ok(open)
    }

    /// Parses, resolves and validates a spec. Never fails: problems are diagnostics.
    pub fn analyze(&self, source: SourceFile, spec_dir: &Path, today: Date) -> Analysis {
        let (spec, mut diagnostics) = spec::parse(&source.text, self.catalog);
        let mut layers = Vec::new();
        for layer in &spec.layers {
            if let Some((analysis, diags)) = self.analyze_layer(layer, spec_dir, today) {
                layers.push(analysis);
                diagnostics.extend(diags);
            } else if let Some(diag) = self.rootfs_problem(layer, spec_dir) {
                diagnostics.push(diag);
            }
        }
        diagnostics.extend(shadow::check(&spec, &layers, self.catalog));
        let mut unique = Vec::with_capacity(diagnostics.len());
        for d in diagnostics {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        Analysis {
            source,
            spec_dir: spec_dir.to_path_buf(),
            spec,
            layers,
            diagnostics: unique,
        }
    }

    fn rootfs_path(layer: &LayerSpec, spec_dir: &Path) -> Option<PathBuf> {
        layer.rootfs.as_ref().map(|r| spec_dir.join(&r.value))
    }

    fn analyze_layer(
        &self,
        layer: &LayerSpec,
        spec_dir: &Path,
        today: Date,
    ) -> Option<(LayerAnalysis, Vec<Diagnostic>)> {
        let runtime_ids = layer.runtimes.iter().map(|r| r.value.as_str());
        let provision = Provision::new(self.catalog, runtime_ids, layer.architecture.value)?;
        let os = provision.os;
        let open = self.rootfs(&Self::rootfs_path(layer, spec_dir)?).ok()?;
        let (graph, mut diags) = resolve::resolve_layer(&LayerInputs {
            layer,
            provision: &provision,
            fs: open.fs.as_ref(),
            elf_cache: &open.elf_cache,
        });
        let (files, file_diags) = resolve::resolve_files(layer, open.fs.as_ref());
        diags.extend(file_diags);
        let (plan, check_diags) = validate::validate_layer(&LayerCheck {
            layer,
            graph: &graph,
            files: &files,
            catalog: self.catalog,
            os,
            today,
        });
        diags.extend(check_diags);
        Some((
            LayerAnalysis {
                name: layer.name.value.clone(),
                graph,
                plan,
                rootfs: open,
            },
            diags,
        ))
    }

    fn rootfs_problem(&self, layer: &LayerSpec, spec_dir: &Path) -> Option<Diagnostic> {
        let rootfs = layer.rootfs.as_ref()?;
        let path = spec_dir.join(&rootfs.value);
        let err = self.rootfs(&path).err()?;
        let code = if err.kind() == io::ErrorKind::PermissionDenied {
            Code::RootfsIo
        } else {
            Code::RootfsNotFound
        };
        Some(
            Diagnostic::error(
                code,
                format!("cannot open rootfs {}: {err}", path.display()),
            )
            .at(rootfs.span)
            .label("rootfs")
            .help("`rootfs` names a folder, relative to the spec's folder"),
        )
    }
}

/// What `build` wrote.
pub struct BuildReport {
    pub zips: Vec<(PathBuf, u64)>,
    pub template: PathBuf,
    pub warnings: Vec<Diagnostic>,
}

/// Writes every layer zip and the template fragment into `out_dir`. Refuses specs with errors.
pub fn build(
    analysis: &Analysis,
    catalog: &Catalog,
    out_dir: &Path,
    time: ::zip::DateTime,
) -> io::Result<BuildReport> {
    assert!(
        !analysis.has_errors(),
        "build is only called on error-free analyses"
    );
    let mut report = BuildReport {
        zips: Vec::new(),
        template: out_dir.join("serverless.template.json"),
        warnings: Vec::new(),
    };
    for layer in &analysis.layers {
        let path = out_dir.join(emit::template::zip_name(&layer.name));
        let mut size = 0;
        emit::write_atomic(&path, |file| {
            let file =
                emit::zip::write_layer_zip(&layer.plan, layer.rootfs.fs.as_ref(), time, file)?;
            size = file.metadata()?.len();
            Ok(())
        })?;
        if size > validate::MAX_DIRECT_UPLOAD_BYTES
            && let Some(spec) = analysis.spec.layer(&layer.name)
        {
            report.warnings.push(
                Diagnostic::warning(
                    Code::LimitsZipSize,
                    format!(
                        "{} is {size} bytes, over the 50 MB the Lambda API takes directly",
                        path.display()
                    ),
                )
                .at(spec.name.span)
                .label("large layer")
                .help(
                    "upload it through S3: `sam deploy`/`sam package` do that for ContentUri files",
                ),
            );
        }
        report.zips.push((path, size));
    }
    let fragment = emit::template::fragment(&analysis.spec, catalog);
    let text = emit::template::render(&fragment);
    emit::write_atomic(&report.template, |file| {
        use std::io::Write;
        file.write_all(text.as_bytes())
    })?;
    Ok(report)
}
