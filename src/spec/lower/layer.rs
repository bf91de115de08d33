//! `layer "NAME" { ... }`: one method per child node.

use super::schema::Place;
use super::{Lowering, Seen, name_span, span_of};
use crate::arch::Architecture;
use crate::diagnostic::{Code, Diagnostic, closest, did_you_mean};
use crate::spec::{
    DEFAULT_DIR, FileRequest, LayerName, LayerPath, LayerSpec, LibraryRequest, PackageRootfs,
    Spanned, Target, TargetSource,
};
use kdl::KdlNode;

/// Lambda's `LayerName` allows up to 140 characters; the zip is named after it too.
const MAX_LAYER_NAME: usize = 140;

fn valid_layer_name(name: &str) -> bool {
    name.len() <= MAX_LAYER_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A layer block's values while its children are lowered.
struct Parts {
    name: Spanned<String>,
    layer_name: Option<Spanned<LayerName>>,
    description: Option<Spanned<String>>,
    runtimes: Vec<Spanned<String>>,
    architecture: Option<Spanned<Architecture>>,
    rootfs: Option<Spanned<String>>,
    packages: Option<PackageRootfs>,
    described_by: Option<Spanned<TargetSource>>,
    unverified_tls: Vec<String>,
    dir: Option<Spanned<LayerPath>>,
    libraries: Vec<LibraryRequest>,
    excludes: Vec<Spanned<String>>,
    files: Vec<FileRequest>,
}

impl Lowering {
    pub(super) fn layer(&mut self, node: &KdlNode) -> Option<LayerSpec> {
        let name = self.layer_name(node)?;
        let mut parts = Parts {
            name,
            layer_name: None,
            description: None,
            runtimes: Vec::new(),
            architecture: None,
            rootfs: None,
            packages: None,
            described_by: None,
            unverified_tls: Vec::new(),
            dir: None,
            libraries: Vec::new(),
            excludes: Vec::new(),
            files: Vec::new(),
        };
        let mut seen = Seen::default();
        for child in node.iter_children() {
            let Some(schema) = self.child_schema(child, Place::Layer, &mut seen) else {
                continue;
            };
            if schema.name == "rootfs" && child.children().is_some() {
                parts.packages = self.package_rootfs(child);
                continue;
            }
            let Some(mut args) = self.leaf_args(child, schema) else {
                continue;
            };
            match schema.name {
                "description" => parts.description = args.pop(),
                "layer-name" => {
                    parts.layer_name = args.pop().and_then(|a| self.template_layer_name(a))
                }
                "runtime" => self.runtimes(&mut parts.runtimes, child, args),
                "architecture" => self.architecture(&mut parts, args),
                "rootfs" => {
                    let given = self.rootfs(args);
                    if self.image_reference(&mut parts, child, given.clone()) {
                        parts.rootfs = given;
                    }
                }
                "runtime-file" | "target-rootfs" => {
                    let given = args.last().cloned();
                    let span = given.as_ref().map(|g| g.span);
                    self.described_by(&mut parts, schema.name, args);
                    if schema.name == "target-rootfs"
                        && !self.image_reference(&mut parts, child, given)
                        && parts.described_by.as_ref().map(|d| d.span) == span
                    {
                        parts.described_by = None;
                    }
                }
                "dir" => parts.dir = args.pop().and_then(|a| self.layer_path(a, "dir")),
                "library" => self.library(&mut parts, child, args),
                "exclude" => parts.excludes.extend(args),
                "file" => self.file(&mut parts, child, args),
                other => unreachable!("`{other}` is in the layer schema"),
            }
        }
        self.required(&parts, &seen);
        Some(self.finish_layer(parts, node))
    }

    /// `layer-name "TEXT"`: Lambda's rules for plain text; text with `${...}` is CloudFormation's
    /// to substitute, so only its length is known.
    fn template_layer_name(&mut self, value: Spanned<String>) -> Option<Spanned<LayerName>> {
        let name = LayerName::new(&value.value);
        if matches!(name, LayerName::Sub(_))
            || valid_layer_name(&value.value) && !value.value.is_empty()
        {
            return Some(Spanned::new(name, value.span));
        }
        self.push(
            Diagnostic::error(
                Code::SpecBadName,
                format!("`{}` is not a valid LayerName", value.value),
            )
            .at(value.span)
            .label("invalid LayerName")
            .help(format!(
                "Lambda layer names use letters, digits, `-` and `_` (at most {MAX_LAYER_NAME} characters); `${{Param}}` inserts a parameter"
            )),
        );
        None
    }

    fn layer_name(&mut self, node: &KdlNode) -> Option<Spanned<String>> {
        let name = self.block_name(node, "layer name")?;
        if valid_layer_name(&name.value) {
            return Some(name);
        }
        self.push(
            Diagnostic::error(
                Code::SpecBadName,
                format!("`{}` is not a valid layer name", name.value),
            )
            .at(name.span)
            .label("invalid name")
            .help(format!(
                "Lambda layer names use letters, digits, `-` and `_` (at most {MAX_LAYER_NAME} characters); it also names the zip file"
            )),
        );
        None
    }

    /// `runtime-file` or `target-rootfs`: one of them, once.
    fn described_by(&mut self, parts: &mut Parts, node: &str, mut args: Vec<Spanned<String>>) {
        let Some(a) = args.pop() else { return };
        if a.value.is_empty() {
            return self.empty_path(&a, node);
        }
        if let Some(first) = &parts.described_by {
            let what = "a runtime description (`runtime-file` or `target-rootfs`)".to_string();
            self.given_twice(what, a.span, first.span, "second description");
            return;
        }
        let source = match node {
            "runtime-file" => TargetSource::RuntimeFile(a.value),
            _ => TargetSource::Rootfs(a.value),
        };
        parts.described_by = Some(Spanned::new(source, a.span));
    }

    /// A `docker://` reference given to `rootfs` or `target-rootfs`: checked for form, and noted
    /// when the node says `tls-verify=#false` (which only a reference takes). False for a
    /// reference that cannot be used (the node is then dropped, its error given).
    fn image_reference(
        &mut self,
        parts: &mut Parts,
        node: &KdlNode,
        given: Option<Spanned<String>>,
    ) -> bool {
        let verify = node.entry("tls-verify").is_none() || self.bool_prop(node, "tls-verify");
        let Some(given) = given else { return true };
        if !crate::reference::is_reference(&given.value) {
            if !verify {
                self.push(
                    Diagnostic::error(
                        Code::SpecBadReference,
                        "`tls-verify` applies to image references only",
                    )
                    .at(given.span)
                    .label("a path")
                    .help("remove `tls-verify`, or name the image as `docker://REGISTRY/REPO:TAG`"),
                );
            }
            return true;
        }
        if let Err(problem) = crate::reference::Reference::parse(&given.value) {
            self.push(
                Diagnostic::error(
                    Code::SpecBadReference,
                    format!("`{}` is not an image reference: {problem}", given.value),
                )
                .at(given.span)
                .label("bad reference")
                .help("write `docker://REGISTRY/REPO:TAG` or `docker://REGISTRY/REPO@sha256:HEX`"),
            );
            return false;
        }
        if !verify {
            parts.unverified_tls.push(given.value);
        }
        true
    }

    /// `rootfs "PATH"`: a folder relative to the spec's; empty would mean the spec's own folder.
    fn rootfs(&mut self, mut args: Vec<Spanned<String>>) -> Option<Spanned<String>> {
        let path = args.pop()?;
        if path.value.is_empty() {
            self.empty_path(&path, "rootfs");
            return None;
        }
        Some(path)
    }

    /// A path relative to the spec's folder that is empty: it would name the spec's own folder.
    fn empty_path(&mut self, path: &Spanned<String>, node: &str) {
        self.push(
            Diagnostic::error(Code::SpecMissingValue, format!("`{node}` is empty"))
                .at(path.span)
                .label("empty")
                .help(format!(
                    "give a path relative to the spec's folder (`{node} \"rootfs\"`)"
                )),
        );
    }

    fn architecture(&mut self, parts: &mut Parts, mut args: Vec<Spanned<String>>) {
        let Some(a) = args.pop() else { return };
        match a.value.parse::<Architecture>() {
            Ok(arch) => parts.architecture = Some(Spanned::new(arch, a.span)),
            Err(()) => self.unknown_architecture(&a),
        }
    }

    fn library(&mut self, parts: &mut Parts, child: &KdlNode, mut args: Vec<Spanned<String>>) {
        let Some(name) = args.pop() else { return };
        let override_runtime = self.bool_prop(child, "override");
        let optional = self.bool_prop(child, "optional");
        let alias = self
            .string_prop(child, "alias")
            .filter(|a| self.alias_name(a));
        if name.value.is_empty() {
            self.empty_value(&name, "library");
        } else if !self.rootfs_name(&name, "library") {
            // Reported by `rootfs_name`.
        } else if name.value.contains('/') && !name.value.starts_with('/') {
            let base = name.value.rsplit('/').next().unwrap_or_default();
            self.push(
                Diagnostic::error(
                    Code::SpecBadPath,
                    format!("`{}` is a relative path", name.value),
                )
                .at(name.span)
                .label("relative path")
                .help(format!(
                    "give a soname (`{base}`) or an absolute path inside the rootfs (`/{}`)",
                    name.value
                )),
            );
        } else {
            parts.libraries.push(LibraryRequest {
                name,
                override_runtime,
                optional,
                alias,
            });
        }
    }

    /// An `alias=` is a plain file name: it becomes a symlink beside the library.
    fn alias_name(&mut self, alias: &Spanned<String>) -> bool {
        let bad = alias.value.is_empty()
            || alias.value.contains('/')
            || alias.value == "."
            || alias.value == "..";
        if bad {
            self.push(
                Diagnostic::error(
                    Code::SpecBadPath,
                    format!("`alias=\"{}\"` is not a file name", alias.value),
                )
                .at(alias.span)
                .label("not a file name")
                .help("write the name a loader asks for, without a folder: `alias=\"libX11.so\"`"),
            );
        }
        !bad
    }

    fn file(&mut self, parts: &mut Parts, child: &KdlNode, mut args: Vec<Spanned<String>>) {
        let Some(from) = args.pop() else { return };
        let to = match self.string_prop(child, "to") {
            Some(to) => self.layer_path(to, "to"),
            None => {
                self.push(
                    Diagnostic::error(
                        Code::SpecMissingValue,
                        "`file` needs a `to=` destination inside the layer",
                    )
                    .at(name_span(child))
                    .label("no destination")
                    .help(format!("write `file \"{}\" to=\"etc/NAME\"`", from.value)),
                );
                None
            }
        };
        if from.value.is_empty() {
            self.empty_value(&from, "file");
        } else if !self.rootfs_name(&from, "file") {
            // Reported by `rootfs_name`.
        } else if let Some(to) = to {
            parts.files.push(FileRequest { from, to });
        }
    }

    /// `rootfs` and `runtime` are required; a node that was written but refused has its own
    /// diagnostic already.
    fn required(&mut self, parts: &Parts, seen: &Seen) {
        let name = &parts.name;
        if parts.rootfs.is_none() && !seen.contains("rootfs") {
            self.push(
                Diagnostic::error(
                    Code::SpecMissingValue,
                    format!("layer `{}` names no `rootfs`", name.value),
                )
                .at(name.span)
                .label("no rootfs")
                .help("add `rootfs \"PATH\"`: the root filesystem the libraries are copied from"),
            );
        }
        if parts.runtimes.is_empty() && !seen.contains("runtime") {
            self.push(
                Diagnostic::error(
                    Code::SpecMissingValue,
                    format!("layer `{}` names no `runtime`", name.value),
                )
                .at(name.span)
                .label("no runtime")
                .help("add `runtime \"provided.al2023\"` (see `layerc runtimes` for every id)"),
            );
        }
    }

    fn finish_layer(&mut self, parts: Parts, node: &KdlNode) -> LayerSpec {
        let name = parts.name;
        let architecture = parts
            .architecture
            .unwrap_or(Spanned::new(Architecture::X86_64, name.span));
        self.check_runtimes(&name, &parts.runtimes, &architecture);
        let ids = parts.runtimes.iter().map(|r| r.value.as_str());
        let target = Target::new(self.catalog, ids, architecture.value);
        LayerSpec {
            dir: parts.dir.unwrap_or_else(|| {
                let lib = LayerPath::new(DEFAULT_DIR).expect("the default folder is a path");
                Spanned::new(lib, name.span)
            }),
            name,
            layer_name: parts.layer_name,
            span: span_of(node),
            description: parts.description,
            runtimes: parts.runtimes,
            architecture,
            target,
            rootfs: parts.rootfs,
            packages: parts.packages,
            described_by: parts.described_by,
            unverified_tls: parts.unverified_tls,
            libraries: parts.libraries,
            excludes: parts.excludes,
            files: parts.files,
        }
    }

    fn unknown_architecture(&mut self, value: &Spanned<String>) {
        let names = || Architecture::ALL.iter().map(|a| a.as_str());
        let (help, suggestion) = match value.value.as_str() {
            "amd64" | "x86-64" | "x64" => ("Lambda calls it `x86_64`".to_string(), Some("x86_64")),
            "aarch64" | "arm" | "armv8" => ("Lambda calls it `arm64`".to_string(), Some("arm64")),
            v => (
                did_you_mean(v, names()).unwrap_or_else(|| "use `x86_64` or `arm64`".to_string()),
                closest(v, names()),
            ),
        };
        self.push(
            Diagnostic::error(
                Code::SpecUnknownArchitecture,
                format!("unknown architecture `{}`", value.value),
            )
            .at(value.span)
            .label("unknown architecture")
            .help(help)
            .suggest(suggestion),
        );
    }
}
