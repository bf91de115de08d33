//! `rootfs { ... }`: a rootfs made of distribution packages. One method per node: the block,
//! each source (`debian`, `ubuntu`, `amazonlinux`, `apt`, `rpm`) and its `package` children.

use kdl::{KdlNode, KdlValue};

use super::schema::{NodeSchema, Place};
use super::{Lowering, Seen, name_span, span_of, type_name, wrong_type};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::spec::{PackageRootfs, PackageSource, SourceKind, Spanned};

/// The Amazon Linux releases the catalog names a repository for.
pub(super) const AMAZON_LINUX_RELEASES: [&str; 2] = ["2", "2023"];

impl Lowering {
    /// The `rootfs` node with a block: its sources, or `None` when nothing usable is left.
    pub(super) fn package_rootfs(&mut self, node: &KdlNode) -> Option<PackageRootfs> {
        for entry in node.entries() {
            self.push(
                Diagnostic::error(
                    Code::SpecWrongType,
                    "a `rootfs` block takes no value of its own",
                )
                .at(entry.span().into())
                .label("unexpected value")
                .help("write either `rootfs \"PATH\"` or `rootfs { debian \"bullseye\" { package \"NAME\" } }`"),
            );
        }
        let mut seen = Seen::default();
        let mut sources = Vec::new();
        for child in node.iter_children() {
            if let Some(schema) = self.child_schema(child, Place::Rootfs, &mut seen)
                && let Some(source) = self.package_source(child, schema)
            {
                sources.push(source);
            }
        }
        let span = span_of(node);
        if sources.is_empty() {
            if node.iter_children().next().is_none() {
                self.push(
                    Diagnostic::error(Code::SpecPackageSource, "the `rootfs` block names no package source")
                        .at(name_span(node))
                        .label("empty block")
                        .help("add a source with its packages: `debian \"bullseye\" { package \"libgdiplus\" }`"),
                );
            }
            return None;
        }
        if !self.one_family(&sources) {
            return None;
        }
        if sources.iter().all(|s| s.packages.is_empty()) {
            self.push(
                Diagnostic::error(
                    Code::SpecPackageSource,
                    "the `rootfs` block names no package",
                )
                .at(name_span(node))
                .label("no package")
                .help("add `package \"NAME\"` inside a source's block"),
            );
            return None;
        }
        Some(PackageRootfs { span, sources })
    }

    /// apt and RPM sources cannot be resolved together; false (reported) when they are mixed.
    fn one_family(&mut self, sources: &[PackageSource]) -> bool {
        let first = &sources[0];
        let other = sources
            .iter()
            .find(|s| s.kind.is_apt() != first.kind.is_apt());
        if let Some(other) = other {
            self.push(
                Diagnostic::error(
                    Code::SpecPackageSource,
                    format!(
                        "`{}` and `{}` sources cannot be resolved together: one is an apt repository, the other an RPM one",
                        first.kind.name(),
                        other.kind.name()
                    ),
                )
                .at(other.value.span)
                .label("other kind of repository")
                .related(first.value.span, "first source")
                .help("use one kind of repository per rootfs block: split the layer in two"),
            );
        }
        other.is_none()
    }

    fn package_source(&mut self, node: &KdlNode, schema: &NodeSchema) -> Option<PackageSource> {
        let kind = match schema.name {
            "debian" => SourceKind::Debian,
            "ubuntu" => SourceKind::Ubuntu,
            "amazonlinux" => SourceKind::AmazonLinux,
            "apt" => SourceKind::Apt,
            _ => SourceKind::Rpm,
        };
        let mut ok = true;
        let mut args = Vec::new();
        for entry in node.entries() {
            match entry.name() {
                Some(key) => ok &= self.known_property(schema.name, key, schema.props),
                None => match entry.value() {
                    KdlValue::String(s) => args.push(Spanned::new(s.clone(), entry.span().into())),
                    other => {
                        self.push(wrong_type(entry, schema.name, "a string", type_name(other)));
                        ok = false;
                    }
                },
            }
        }
        if !self.arity(node, schema, &args, ok) || !ok {
            return None;
        }
        let value = args.pop()?;
        let source = PackageSource {
            kind,
            span: span_of(node),
            suite: self.string_prop(node, "suite").map(|s| s.value),
            components: self
                .string_prop(node, "component")
                .map(|c| c.value.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            key: self.string_prop(node, "key"),
            mirror: self.string_prop(node, "mirror").map(|m| m.value),
            trusted: self.bool_prop(node, "trusted"),
            packages: self.source_packages(node),
            value,
        };
        self.source_value(&source, node).then_some(source)
    }

    /// The names of a source's `package` children.
    fn source_packages(&mut self, node: &KdlNode) -> Vec<Spanned<String>> {
        let mut seen = Seen::default();
        let mut out = Vec::new();
        for child in node.iter_children() {
            let Some(schema) = self.child_schema(child, Place::Source, &mut seen) else {
                continue;
            };
            for name in self.leaf_args(child, schema).unwrap_or_default() {
                if name.value.is_empty()
                    || name
                        .value
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
                {
                    self.push(
                        Diagnostic::error(
                            Code::SpecBadName,
                            format!("`{}` is not a package name", name.value.escape_debug()),
                        )
                        .at(name.span)
                        .label("not a package name")
                        .help("write the package's name as the repository lists it: `package \"libgdiplus\"`"),
                    );
                } else {
                    out.push(name);
                }
            }
        }
        out
    }

    /// The checks of a source's value: a known Amazon Linux release, an http(s) URL, a suite.
    fn source_value(&mut self, s: &PackageSource, node: &KdlNode) -> bool {
        let url_ok = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        let problem = match s.kind {
            SourceKind::AmazonLinux if !AMAZON_LINUX_RELEASES.contains(&s.value.value.as_str()) => {
                Some((
                    format!(
                        "Amazon Linux `{}` is not a release layerc knows",
                        s.value.value
                    ),
                    did_you_mean(&s.value.value, AMAZON_LINUX_RELEASES).unwrap_or_else(|| {
                        "write `amazonlinux \"2\"` or `amazonlinux \"2023\"`".into()
                    }),
                ))
            }
            SourceKind::Apt | SourceKind::Rpm if !url_ok(&s.value.value) => Some((
                format!("`{}` is not an http:// or https:// URL", s.value.value),
                "give the repository's URL: `apt \"https://HOST/debian\" suite=\"bullseye\"`"
                    .into(),
            )),
            SourceKind::Apt if s.suite.as_deref().is_none_or(str::is_empty) => Some((
                "an `apt` source needs `suite=`".into(),
                format!(
                    "write `apt \"{}\" suite=\"bullseye\"` (the folder under dists/)",
                    s.value.value
                ),
            )),
            SourceKind::Debian | SourceKind::Ubuntu if s.value.value.is_empty() => Some((
                "the suite is empty".into(),
                "name a suite: `debian \"bullseye\"`".into(),
            )),
            _ if s.mirror.as_deref().is_some_and(|m| !url_ok(m)) => Some((
                "`mirror=` is not an http:// or https:// URL".into(),
                "write `mirror=\"https://HOST/debian\"`".into(),
            )),
            _ => None,
        };
        let Some((message, help)) = problem else {
            return true;
        };
        self.push(
            Diagnostic::error(Code::SpecPackageSource, message)
                .at(s.value.span)
                .label(format!("bad `{}` source", node.name().value()))
                .help(help),
        );
        false
    }
}
