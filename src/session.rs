//! The long-lived front half: the catalog and the opened root filesystems with their caches, so
//! repeated analyses (an editor typing) read and parse each unchanged file once.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::analysis::{Analysis, ImageUse, PackageUse};
use crate::arch::Architecture;
use crate::described::{self, DescribedCache};
use crate::diagnostic::{Code, Diagnostic, SourceFile};
use crate::packages::PackageSets;
use crate::plan::LayerAnalysis;
use crate::plan::{self, PlanInputs};
use crate::registry::{self, PullError, Pulls, RegistryError};
use crate::resolve::search::SystemPaths;
use crate::resolve::{self, OpenRootfs, ResolveInputs};
use crate::rootfs::{ImageError, OpenError, RootfsId};
use crate::runtime::{Catalog, Date};
use crate::shadow;
use crate::spec::{self, LayerSpec, PackageRootfs, Spanned, TargetSource};
use crate::template::input::TemplateChoice;
use crate::validate::{self, ValidateInputs};

pub struct Session {
    pub catalog: &'static Catalog,
    /// Each rootfs opened, behind a lock of its own: opening an image indexes it, and nothing
    /// else (another rootfs, an editor's request) waits for that.
    roots: Mutex<HashMap<RootfsId, Arc<Mutex<Option<OpenRootfs>>>>>,
    /// `runtime-file` and `target-rootfs` descriptions, read or scanned once.
    pub(crate) described: DescribedCache,
    /// Images named by `docker://` reference, pulled once.
    pub pulls: Pulls,
    /// Rootfs folders made of distribution packages, prepared once.
    pub packages: PackageSets,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Catalog::builtin())
    }
}

impl Session {
    pub fn new(catalog: &'static Catalog) -> Self {
        Session {
            catalog,
            roots: Mutex::new(HashMap::new()),
            described: DescribedCache::default(),
            pulls: Pulls::default(),
            packages: PackageSets::default(),
        }
    }

    /// Asks `caches` for what the session fetches by digest (image blobs, package files) before
    /// the registry or repository, and pushes what those send to the caches that take pushes.
    pub fn use_caches(&self, caches: Arc<crate::cache::Caches>) {
        self.pulls.use_caches(caches.clone());
        self.packages.use_caches(caches);
    }

    /// Opens (or reuses) the rootfs at a host path; `arch` picks the manifest of a multi-platform
    /// image. A folder replaced by another at the same path, or a changed image, is a new rootfs
    /// with empty caches.
    pub fn rootfs(&self, host_path: &Path, arch: Architecture) -> Result<OpenRootfs, OpenError> {
        let id = RootfsId::identify(host_path, arch)?;
        let slot = crate::lock(&self.roots)
            .entry(id.clone())
            .or_default()
            .clone();
        let mut slot = crate::lock(&slot);
        if let Some(open) = &*slot {
            return Ok(open.clone());
        }
        let fs = id.open()?;
        let open = OpenRootfs::new(id, fs);
        *slot = Some(open.clone());
        Ok(open)
    }

    /// Opens what a `rootfs` or `target-rootfs` value names: a `docker://` reference (pulled into
    /// the image store, `insecure` for `tls-verify=#false`), else a path relative to `dir`.
    pub fn open_named(
        &self,
        dir: &Path,
        value: &str,
        insecure: bool,
        arch: Architecture,
    ) -> Result<OpenRootfs, OpenError> {
        if !registry::is_reference(value) {
            return self.rootfs(&dir.join(value), arch);
        }
        let fail = |source| OpenError {
            path: value.into(),
            source,
        };
        let pulled = self
            .pulls
            .pull(value, arch, insecure)
            .map_err(|e| match e {
                PullError::Registry(e) => fail(io::Error::other(e)),
                PullError::Platform { source, .. } => fail(io::Error::other(source)),
            })?;
        self.rootfs(&pulled.layout, arch)
            .map_err(|e| fail(e.source))
    }

    /// What a layer's `rootfs` and `target-rootfs` references were pulled as, with a warning for
    /// each one the registry could not be asked about.
    fn images_of(&self, layer: &LayerSpec, out: &mut Vec<ImageUse>, diags: &mut Vec<Diagnostic>) {
        let target = match &layer.described_by {
            Some(Spanned {
                value: TargetSource::Rootfs(value),
                span,
            }) => Some(("target-rootfs", value, *span)),
            _ => None,
        };
        let rootfs = layer.rootfs.as_ref().map(|r| ("rootfs", &r.value, r.span));
        for (node, value, span) in rootfs.into_iter().chain(target) {
            let Some(pulled) = self.pulls.get(value, layer.architecture.value) else {
                continue;
            };
            if let Some(why) = &pulled.offline {
                diags.push(
                    Diagnostic::warning(Code::RootfsOffline, why.clone())
                        .at(span)
                        .label("not checked with the registry")
                        .help("the image store's copy is used; run again with the registry reachable to check the tag"),
                );
            }
            out.push(ImageUse {
                layer: layer.name.value.clone(),
                node,
                pulled,
            });
        }
    }

    /// Parses, resolves, plans and validates a spec, and checks it against its template. Never
    /// fails: problems are diagnostics.
    pub fn analyze(&self, source: SourceFile, spec_dir: &Path, today: Date) -> Analysis {
        self.analyze_with(source, spec_dir, today, &TemplateChoice::FromSpec)
    }

    /// [`Session::analyze`] against another template than the spec's (or none).
    pub fn analyze_with(
        &self,
        source: SourceFile,
        spec_dir: &Path,
        today: Date,
        template: &TemplateChoice,
    ) -> Analysis {
        let mut analysis = self.front(source, spec_dir, today, template, true);
        let Analysis {
            spec,
            sources,
            diagnostics,
            ..
        } = &mut analysis;
        let (layers, images, packages) = self.analyze_layers(spec, sources, today, diagnostics);
        diagnostics.extend(shadow::check(spec, &layers));
        diagnostics.extend(crate::stack::check(spec, &layers));
        let (app_diags, apps) =
            crate::app::check::check_functions(spec, &layers, sources, crate::app::managed::READER);
        diagnostics.extend(app_diags);
        analysis.layers = layers;
        analysis.images = images;
        analysis.packages = packages;
        analysis.apps = apps;
        analysis
    }

    /// The spec and its template only: no rootfs, runtime description or application is opened
    /// or pulled, so the analysis has no layers. What `build --locked` needs to take every zip
    /// from a store or cache by the keys layer.lock gives.
    pub fn analyze_spec(
        &self,
        source: SourceFile,
        spec_dir: &Path,
        today: Date,
        template: &TemplateChoice,
    ) -> Analysis {
        self.front(source, spec_dir, today, template, false)
    }

    /// The spec with its imports (and, when `describe`, each layer's described target) and the
    /// template: an analysis without layers yet.
    fn front(
        &self,
        source: SourceFile,
        spec_dir: &Path,
        today: Date,
        template: &TemplateChoice,
        describe: bool,
    ) -> Analysis {
        let spec::import::Loaded {
            mut spec,
            sources,
            mut diagnostics,
        } = spec::import::load(source, spec_dir, self.catalog);
        if describe {
            self.describe_targets(&mut spec, &sources, &mut diagnostics);
        }
        let (template, template_diags) =
            crate::template::input::load(&spec, spec_dir, template, self.catalog, today);
        diagnostics.extend(template_diags);
        Analysis {
            sources,
            spec_dir: spec_dir.to_path_buf(),
            spec,
            layers: Vec::new(),
            apps: Vec::new(),
            template,
            images: Vec::new(),
            packages: Vec::new(),
            diagnostics,
        }
    }

    /// Each layer's `runtime-file` or `target-rootfs`, read or scanned, as its target.
    fn describe_targets(
        &self,
        spec: &mut spec::Spec,
        sources: &crate::diagnostic::SourceMap,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for layer in &mut spec.layers {
            let dir = sources.dir_of(layer.span);
            let describing = described::Describing {
                catalog: self.catalog,
                cache: &self.described,
                open: &|value, insecure, arch| self.open_named(dir, value, insecure, arch),
            };
            if let Some(described) = described::target(&describing, layer, dir, diagnostics) {
                layer.target = described.ok();
            }
        }
    }

    /// Opens each layer's rootfs (a path, an image reference or packages) and analyses the
    /// layer; the images pulled by reference and the package rootfs prepared.
    fn analyze_layers(
        &self,
        spec: &spec::Spec,
        sources: &crate::diagnostic::SourceMap,
        today: Date,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> (Vec<LayerAnalysis>, Vec<ImageUse>, Vec<PackageUse>) {
        let mut layers = Vec::new();
        let mut images = Vec::new();
        let mut package_uses = Vec::new();
        for layer in &spec.layers {
            let arch = layer.architecture.value;
            let dir = sources.dir_of(layer.span);
            let open = match (&layer.packages, &layer.rootfs) {
                (Some(packages), _) => {
                    self.open_packages(layer, packages, dir, &mut package_uses, diagnostics)
                }
                (None, Some(rootfs)) => {
                    let insecure = layer.unverified_tls.contains(&rootfs.value);
                    match self.open_named(dir, &rootfs.value, insecure, arch) {
                        Ok(open) => Some(open),
                        Err(e) => {
                            diagnostics.push(rootfs_diagnostic(&e, rootfs));
                            None
                        }
                    }
                }
                (None, None) => None,
            };
            self.images_of(layer, &mut images, diagnostics);
            if let Some(open) = open
                && layer.target.is_some()
            {
                let (analysis, diags) = self.analyze_layer(layer, open, today);
                layers.push(analysis);
                diagnostics.extend(diags);
            }
        }
        (layers, images, package_uses)
    }

    /// Prepares a layer's package rootfs and opens it; a failure is a diagnostic at the node
    /// concerned.
    fn open_packages(
        &self,
        layer: &LayerSpec,
        packages: &PackageRootfs,
        dir: &Path,
        uses: &mut Vec<PackageUse>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<OpenRootfs> {
        let arch = layer.architecture.value;
        let prepared = match self
            .packages
            .prepare(&layer.name.value, packages, dir, arch)
        {
            Ok(prepared) => prepared,
            Err(e) => {
                diags.push(crate::packages::diagnostic(&e, packages));
                return None;
            }
        };
        if let Some(why) = &prepared.offline {
            diags.push(
                Diagnostic::warning(Code::RootfsOffline, why.clone())
                    .at(packages.span)
                    .label("not checked with the repository")
                    .help("the index the store kept is used; run again with the repository reachable to see newer packages"),
            );
        }
        let open = self.rootfs(&prepared.root, arch);
        uses.push(PackageUse {
            layer: layer.name.value.clone(),
            prepared,
        });
        match open {
            Ok(open) => Some(open),
            Err(e) => {
                diags.push(
                    Diagnostic::error(Code::RootfsIo, e.to_string())
                        .at(packages.span)
                        .label("package rootfs")
                        .help("the unpacked packages in the store cannot be read: remove the folder and build again"),
                );
                None
            }
        }
    }

    fn analyze_layer(
        &self,
        layer: &LayerSpec,
        open: OpenRootfs,
        today: Date,
    ) -> (LayerAnalysis, Vec<Diagnostic>) {
        let target = layer.target.as_ref().expect("checked by the caller");
        let fs = open.fs.as_ref();
        let system = SystemPaths::new(&open.ld_so_conf(), target.arch);
        let (files, file_diags) = resolve::resolve_files(layer, fs);
        let (graph, mut diags) = resolve::resolve_layer(&ResolveInputs {
            layer,
            target,
            fs,
            elf_cache: &open.elf_cache,
            system: &system,
            library_index: &|| open.library_index(&system),
            files: &files,
        });
        diags.extend(file_diags);
        let (plan, plan_diags) = plan::plan_layer(&PlanInputs {
            layer,
            graph: &graph,
            files: &files,
        });
        diags.extend(validate::validate_layer(&ValidateInputs {
            layer,
            target,
            graph: &graph,
            files: &files,
            plan: &plan,
            catalog: target.catalog,
            today,
        }));
        diags.extend(plan_diags);
        let analysis = LayerAnalysis {
            graph,
            plan,
            rootfs: open,
        };
        (analysis, diags)
    }
}

/// The rootfs a layer names could not be opened: a missing path or an image without the layer's
/// architecture means the spec names a wrong rootfs (exit 1); permissions, broken images and any
/// other failure to read mean the tool cannot run (exit 2).
fn rootfs_diagnostic(e: &OpenError, rootfs: &Spanned<String>) -> Diagnostic {
    let image = e
        .source
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ImageError>());
    let path_help = "`rootfs` names a folder or an image, relative to the spec's folder";
    let registry = e
        .source
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<RegistryError>());
    if registry.is_some() {
        return Diagnostic::error(Code::RootfsRegistry, e.to_string())
            .at(rootfs.span)
            .label("image reference")
            .help("check the reference, the registry's credentials ($REGISTRY_AUTH_FILE, containers' auth.json, ~/.docker/config.json) and the network; a local registry without TLS needs `tls-verify=#false`");
    }
    let (code, help) = match image {
        Some(ImageError::Platform { .. }) => (
            Code::RootfsPlatform,
            "set `architecture` to one the image has, or use an image built for this one",
        ),
        Some(ImageError::Broken { .. }) => (
            Code::RootfsImage,
            "the image is damaged or not an image layerc reads: export or save it again",
        ),
        None if matches!(
            e.source.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ) =>
        {
            (Code::RootfsNotFound, path_help)
        }
        None => (Code::RootfsIo, path_help),
    };
    Diagnostic::error(code, e.to_string())
        .at(rootfs.span)
        .label("rootfs")
        .help(help)
}
