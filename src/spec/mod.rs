//! The spec front end: KDL text → typed [`Spec`] with spans, plus diagnostics.
//!
//! Invariant: `parse` never fails and never panics; whatever it cannot understand becomes a diagnostic,
//! and everything it does understand is kept (so the editor can still offer help on a broken spec).

pub mod fast;
pub mod import;
mod lower;
mod shift;
mod syntax;

use crate::arch::Architecture;
use crate::diagnostic::{Diagnostic, Span};
use crate::runtime::{Catalog, Provision};

pub use lower::MAX_LAYERS_PER_FUNCTION;
pub use lower::schema;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    pub layers: Vec<LayerSpec>,
    pub functions: Vec<FunctionSpec>,
    /// The template `build` merges into and `check` validates against, relative to the spec.
    pub template: Option<Spanned<String>>,
    /// `import` paths, relative to the spec's folder, in spec order. After [`import::load`], the
    /// spec's own and those of every file it imports; their layers and functions are merged in.
    pub imports: Vec<Spanned<String>>,
    /// `cache` nodes: remote binary caches, read in order (the spec's own, then its imports').
    pub caches: Vec<CacheNode>,
    /// `trusted-key "NAME:BASE64"`: the keys a cache entry must be signed by.
    pub trusted_keys: Vec<Spanned<String>>,
}

/// `cache "s3://BUCKET/PREFIX" push=#true check-signatures=#false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheNode {
    /// The URL as written (a relative `file://` path is relative to the spec's folder).
    pub url: Spanned<String>,
    /// Upload what the build makes.
    pub push: bool,
    /// Refuse entries without a trusted signature (`#true` unless the spec says otherwise).
    pub check_signatures: bool,
}

impl Spec {
    pub fn layer(&self, name: &str) -> Option<&LayerSpec> {
        self.layers.iter().find(|l| l.name.value == name)
    }

    /// A runtime by id: from `catalog`, else from a layer's target (a runtime the spec states
    /// with `base=`, or a described one).
    pub fn runtime<'a>(
        &'a self,
        catalog: &'a crate::runtime::Catalog,
        id: &str,
    ) -> Option<&'a crate::runtime::Runtime> {
        catalog.runtime(id).or_else(|| {
            self.layers
                .iter()
                .filter_map(|l| l.target.as_ref())
                .find_map(|t| t.catalog.runtime(id))
        })
    }
}

/// A `LayerName` value: plain text, or text with `${...}` that CloudFormation substitutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerName {
    Text(String),
    /// Written as `Fn::Sub` (`!Sub` in YAML): `native-${Stage}`, `${AWS::StackName}-native`.
    Sub(String),
}

impl LayerName {
    pub fn new(text: &str) -> LayerName {
        if text.contains("${") {
            LayerName::Sub(text.to_string())
        } else {
            LayerName::Text(text.to_string())
        }
    }

    /// The value as JSON, for the template fragment.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            LayerName::Text(s) => serde_json::json!(s),
            LayerName::Sub(s) => serde_json::json!({ "Fn::Sub": s }),
        }
    }
}

/// The folder inside the layer that holds libraries when the spec names none: `/opt/lib`.
pub const DEFAULT_DIR: &str = "lib";

pub use crate::layer_path::{BadPath, LayerPath};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSpec {
    pub name: Spanned<String>,
    /// `layer-name`: the `LayerName` written into the template (default: the layer's name).
    pub layer_name: Option<Spanned<LayerName>>,
    /// The whole `layer` node.
    pub span: Span,
    pub description: Option<Spanned<String>>,
    pub runtimes: Vec<Spanned<String>>,
    /// `x86_64` unless the spec says otherwise; the span is the layer name's when defaulted.
    pub architecture: Spanned<Architecture>,
    /// What the layer is checked against, resolved once while lowering: `None` when the layer names
    /// no known runtime.
    pub target: Option<Target>,
    pub rootfs: Option<Spanned<String>>,
    /// `rootfs { ... }`: a rootfs made of distribution packages, instead of a path or reference.
    pub packages: Option<PackageRootfs>,
    /// `runtime-file` or `target-rootfs`: what the session checks the layer against instead of the
    /// catalog's entries for `runtimes` (it replaces `target` before resolution).
    pub described_by: Option<Spanned<TargetSource>>,
    /// The image references of `rootfs` and `target-rootfs` written with `tls-verify=#false`.
    pub unverified_tls: Vec<String>,
    /// Library folder inside the layer, relative, normalised (no leading or trailing `/`).
    pub dir: Spanned<LayerPath>,
    pub libraries: Vec<LibraryRequest>,
    pub excludes: Vec<Spanned<String>>,
    pub files: Vec<FileRequest>,
}

/// The layer's runtimes (first one first), their OS base and the layer's architecture: what
/// messages speak of and what libraries are checked against.
pub type Target = Provision<'static>;

/// `rootfs { debian "bullseye" { package "libgdiplus" } ... }`: package sources resolved together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRootfs {
    /// The `rootfs` node.
    pub span: Span,
    pub sources: Vec<PackageSource>,
}

impl PackageRootfs {
    /// Every package the sources name, in spec order, each once.
    pub fn requested(&self) -> Vec<Spanned<String>> {
        let mut out: Vec<Spanned<String>> = Vec::new();
        for p in self.sources.iter().flat_map(|s| &s.packages) {
            if !out.iter().any(|o| o.value == p.value) {
                out.push(p.clone());
            }
        }
        out
    }
}

/// The kinds of package source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `debian "SUITE"`: Debian's archive.
    Debian,
    /// `ubuntu "SUITE"`: Ubuntu's archive.
    Ubuntu,
    /// `amazonlinux "2"` or `"2023"`: the Amazon Linux core repository of that release.
    AmazonLinux,
    /// `apt "URL" suite="S"`: any apt repository.
    Apt,
    /// `rpm "URL"`: any RPM repository (the folder holding `repodata/`).
    Rpm,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Debian => "debian",
            SourceKind::Ubuntu => "ubuntu",
            SourceKind::AmazonLinux => "amazonlinux",
            SourceKind::Apt => "apt",
            SourceKind::Rpm => "rpm",
        }
    }

    /// Whether its packages are `.deb` files (else `.rpm`).
    pub fn is_apt(self) -> bool {
        matches!(
            self,
            SourceKind::Debian | SourceKind::Ubuntu | SourceKind::Apt
        )
    }
}

/// One source of a `rootfs` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSource {
    pub kind: SourceKind,
    /// The whole node.
    pub span: Span,
    /// The suite (`debian`, `ubuntu`), the release (`amazonlinux`) or the URL (`apt`, `rpm`).
    pub value: Spanned<String>,
    /// `suite=` of an `apt` source.
    pub suite: Option<String>,
    /// `component=`: space-separated components (`main` when not given).
    pub components: Vec<String>,
    /// `key=`: the keyring, relative to the spec's folder.
    pub key: Option<Spanned<String>>,
    /// `mirror=`: another URL for the distribution's archive.
    pub mirror: Option<String>,
    /// `trusted=#true`: the index is not checked against any key (local test repositories).
    pub trusted: bool,
    pub packages: Vec<Spanned<String>>,
}

/// A runtime description used instead of the catalog's (paths relative to the spec's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSource {
    /// `runtime-file`: a description written by `layerc runtime scan`.
    RuntimeFile(String),
    /// `target-rootfs`: an export of the real target image, scanned at analysis time.
    Rootfs(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRequest {
    /// A soname, a file name, or an absolute path inside the rootfs.
    pub name: Spanned<String>,
    /// Ship it even though the runtime provides one.
    pub override_runtime: bool,
    /// A warning, not an error, when the rootfs lacks it.
    pub optional: bool,
    /// Another name to ship it under (a symlink), whether or not the rootfs has that name: the
    /// name a loader asks for (`library "libX11.so.6" alias="libX11.so"`).
    pub alias: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    /// Absolute path inside the rootfs (a file or a folder).
    pub from: Spanned<String>,
    /// Path inside the layer, relative, normalised.
    pub to: Spanned<LayerPath>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Logical id of an `AWS::Serverless::Function`.
    pub id: Spanned<String>,
    pub span: Span,
    pub layers: Vec<Spanned<LayerRef>>,
    pub ld_library_path: Spanned<LdLibraryPathMode>,
    pub env: Vec<(Spanned<String>, Spanned<String>)>,
    /// `app`: the function's application (a folder or zip, relative to the spec), checked to load
    /// completely with the function's layers and runtime.
    pub app: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerRef {
    /// A layer of this spec, by name.
    Local(String),
    /// An external layer version ARN, passed through verbatim.
    Arn(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdLibraryPathMode {
    Prepend,
    Append,
    Keep,
}

impl LdLibraryPathMode {
    pub const NAMES: [&'static str; 3] = ["prepend", "append", "keep"];
}

/// Parses and lowers a spec without reading what it imports. Runtime ids and architectures are
/// checked against `catalog`.
pub fn parse(source: &str, catalog: &'static Catalog) -> (Spec, Vec<Diagnostic>) {
    let (spec, mut diags, empty_at) = parse_file(source, catalog);
    let checks = lower::check(&spec, empty_at, &diags);
    diags.extend(checks);
    (spec, diags)
}

/// One spec file, lowered without the cross-node rules (see [`import::load`]), and the span a spec
/// without layers is reported at.
fn parse_file(source: &str, catalog: &'static Catalog) -> (Spec, Vec<Diagnostic>, Span) {
    match syntax::parse_document(source) {
        Ok(doc) => {
            let (spec, diags) = lower::lower(&doc, catalog);
            (spec, diags, lower::document_span(&doc))
        }
        Err(diagnostics) => (Spec::default(), diagnostics, Span::new(0, 0)),
    }
}

/// Normalises a path inside a layer as the spec writes it (`etc//fonts/` → `etc/fonts`): empty and
/// `.` components dropped, then checked. Absolute paths, `..`, control characters and names too
/// long for Linux are refused.
pub fn normalize_layer_path(path: &str) -> Result<LayerPath, BadPath> {
    if path.starts_with('/') {
        return Err(BadPath::Absolute);
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !matches!(*p, "" | "."))
        .collect();
    LayerPath::new(&parts.join("/"))
}

/// `gdiplus` → `GdiplusLayer`, `icu-libs_2` → `IcuLibs2Layer`: CloudFormation ids are alphanumeric.
pub fn logical_id(layer: &str) -> String {
    let mut id = String::new();
    for word in layer
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, 'L');
    }
    id.push_str("Layer");
    id
}
