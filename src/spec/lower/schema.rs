//! The spec's node schema: every node name, where it may appear, its arity, its properties and the
//! help line that shows how to write it. One table, read by lowering for suggestions and checks.

/// Where a node is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Top,
    Layer,
    Function,
    /// A `rootfs { ... }` block: package sources.
    Rootfs,
    /// A package source's block: the packages.
    Source,
}

impl Place {
    /// How messages name the place.
    pub fn describe(self) -> &'static str {
        match self {
            Place::Top => "the spec's top level",
            Place::Layer => "a `layer` block",
            Place::Function => "a `function` block",
            Place::Rootfs => "a `rootfs` block",
            Place::Source => "a package source block",
        }
    }
}

#[derive(Debug)]
pub struct NodeSchema {
    pub name: &'static str,
    pub place: Place,
    /// Positional string values: at least `min`, at most `max`.
    pub min: usize,
    pub max: usize,
    pub props: &'static [&'static str],
    /// May appear at most once in its block.
    pub once: bool,
    /// How to write the node.
    pub help: &'static str,
}

const fn node(
    name: &'static str,
    place: Place,
    (min, max): (usize, usize),
    props: &'static [&'static str],
    once: bool,
    help: &'static str,
) -> NodeSchema {
    NodeSchema {
        name,
        place,
        min,
        max,
        props,
        once,
        help,
    }
}

const ONE: (usize, usize) = (1, 1);
const MANY: (usize, usize) = (1, usize::MAX);

#[rustfmt::skip]
pub const SCHEMA: &[NodeSchema] = &[
    node("layer", Place::Top, ONE, &[], false, "write `layer \"NAME\" { ... }`"),
    node("function", Place::Top, ONE, &[], false, "write `function \"NAME\" { ... }`"),
    node("template", Place::Top, ONE, &[], true, "write `template \"serverless.template\"` (relative to the spec's folder)"),
    node("import", Place::Top, ONE, &[], false, "write `import \"shared/icu.kdl\"` (relative to the spec's folder)"),
    node("cache", Place::Top, ONE, &["push", "check-signatures"], false, "write `cache \"s3://BUCKET/PREFIX\"` (or https://, file://), with `push=#true` to upload builds"),
    node("trusted-key", Place::Top, ONE, &[], false, "write `trusted-key \"NAME:BASE64\"` (the public key `layerc cache keygen NAME` writes)"),
    node("description", Place::Layer, ONE, &[], true, "write `description \"TEXT\"`"),
    node("runtime", Place::Layer, MANY, &["base"], false, "write `runtime \"provided.al2023\"` (one or more ids; `base=\"al2023\"` for an id newer than the catalog)"),
    node("architecture", Place::Layer, ONE, &[], true, "write `architecture \"x86_64\"` or `architecture \"arm64\"`"),
    node("rootfs", Place::Layer, ONE, &["tls-verify"], true, "write `rootfs \"PATH\"` (relative to the spec's folder), `rootfs \"docker://REGISTRY/REPO:TAG\"` or `rootfs { debian \"bullseye\" { package \"NAME\" } }`"),
    node("runtime-file", Place::Layer, ONE, &[], true, "write `runtime-file \"my-runtime.kdl\"` (relative to the spec's folder)"),
    node("target-rootfs", Place::Layer, ONE, &["tls-verify"], true, "write `target-rootfs \"PATH\"` (relative to the spec's folder) or `target-rootfs \"docker://REGISTRY/REPO:TAG\"`"),
    node("layer-name", Place::Layer, ONE, &[], true, "write `layer-name \"native-${Stage}\"` (the template's LayerName; `${...}` is substituted by CloudFormation)"),
    node("dir", Place::Layer, ONE, &[], true, "write `dir \"lib\"`"),
    node("library", Place::Layer, ONE, &["override", "optional", "alias"], false, "write `library \"libNAME.so.N\"`"),
    node("exclude", Place::Layer, MANY, &[], false, "write `exclude \"libNAME.so.N\"`"),
    node("file", Place::Layer, ONE, &["to"], false, "write `file \"/etc/PATH\" to=\"etc/PATH\"`"),
    node("layer", Place::Function, ONE, &[], false, "write `layer \"NAME\"` or `layer \"arn:aws:lambda:...\"`"),
    node("ld-library-path", Place::Function, ONE, &[], true, "write `ld-library-path \"prepend\"`"),
    node("env", Place::Function, (2, 2), &[], false, "write `env \"NAME\" \"VALUE\"`"),
    node("debian", Place::Rootfs, ONE, &["mirror", "component", "key", "trusted"], false, "write `debian \"bullseye\" { package \"NAME\" }` (a Debian suite; `mirror=\"URL\"` for another mirror)"),
    node("ubuntu", Place::Rootfs, ONE, &["mirror", "component", "key", "trusted"], false, "write `ubuntu \"jammy\" component=\"main universe\" { package \"NAME\" }`"),
    node("amazonlinux", Place::Rootfs, ONE, &["mirror", "key", "trusted"], false, "write `amazonlinux \"2023\" key=\"RPM-GPG-KEY-amazon-linux-2023\" { package \"NAME\" }` (\"2\" or \"2023\")"),
    node("apt", Place::Rootfs, ONE, &["suite", "component", "key", "trusted"], false, "write `apt \"https://HOST/debian\" suite=\"bullseye\" key=\"keyring.gpg\" { package \"NAME\" }`"),
    node("rpm", Place::Rootfs, ONE, &["key", "trusted"], false, "write `rpm \"https://HOST/repo/\" key=\"RPM-GPG-KEY\" { package \"NAME\" }` (the folder holding repodata/)"),
    node("package", Place::Source, MANY, &[], false, "write `package \"NAME\"` (one or more package names)"),
    node("app", Place::Function, ONE, &[], true, "write `app \"PATH\"` (the application folder or zip, relative to the spec's folder)"),
];

/// The schema of `name` written in `place`.
pub fn find(place: Place, name: &str) -> Option<&'static NodeSchema> {
    SCHEMA.iter().find(|n| n.place == place && n.name == name)
}

/// The node names `place` takes, in schema order.
pub fn names(place: Place) -> impl Iterator<Item = &'static str> + Clone {
    SCHEMA
        .iter()
        .filter(move |n| n.place == place)
        .map(|n| n.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/diagnostics.md's `spec::unknown-node` section names every node each place takes.
    #[test]
    fn the_reference_names_every_node() {
        let doc = include_str!("../../../docs/diagnostics.md");
        let section = doc
            .split("### `spec::unknown-node`")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .expect("the section is there");
        let places = [
            Place::Top,
            Place::Layer,
            Place::Function,
            Place::Rootfs,
            Place::Source,
        ];
        let missing: Vec<&str> = places
            .into_iter()
            .flat_map(names)
            .filter(|name| !section.contains(&format!("`{name}`")))
            .collect();
        assert!(missing.is_empty(), "not in the section: {missing:?}");
    }
}
