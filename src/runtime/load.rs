//! Reads the catalog: the KDL data files as plain node trees (`build.rs` converts them).

use std::collections::BTreeMap;

pub(super) use super::listings::listing;
pub(super) use super::node::Node;
use super::node::Val;
use super::{BaseImage, Catalog, Ceilings, Date, Framework, Listings, Origin, OsBase, Runtime};
use crate::arch::Architecture;

/// The embedded data: one JSON node tree per KDL file, and their digest.
pub(super) struct Data {
    pub os_bases: &'static str,
    /// Each base's or runtime's listings (its id, their JSON tree), read on first use.
    pub os_provides: &'static [(&'static str, &'static str)],
    pub runtimes: &'static str,
    pub runtime_folders: &'static [(&'static str, &'static str)],
    pub base_images: &'static str,
    pub dotnet: &'static str,
    pub interpreters: &'static str,
    pub digest: &'static str,
}

/// A runtime description file (`layerc runtime scan` writes them): one `os` and one `runtime` node
/// on it, in the catalog's own format.
pub fn description(text: &str) -> Result<(OsBase, Runtime), String> {
    let doc: kdl::KdlDocument = text.parse().map_err(|e| format!("not valid KDL: {e}"))?;
    let json = super::tree::document(&doc).to_string();
    let nodes: Vec<Node> =
        serde_json::from_str(&json).map_err(|e| format!("unexpected structure: {e}"))?;
    let (mut os, mut rt) = (None, None);
    for node in &nodes {
        match node.name.as_ref() {
            "os" if os.is_none() => os = Some(os_base(node)?),
            "runtime" if rt.is_none() => {
                rt = Some(runtime(
                    node,
                    Origin::Described("a runtime description".into()),
                )?)
            }
            "os" | "runtime" => return Err(format!("more than one `{}` node", node.name)),
            other => {
                return Err(format!(
                    "unknown node `{other}` (expected `os` and `runtime`)"
                ));
            }
        }
    }
    let (Some(os), Some(rt)) = (os, rt) else {
        return Err("needs one `os` and one `runtime` node".into());
    };
    if rt.os != os.id {
        return Err(format!(
            "runtime {} names os `{}`, but the file describes `{}`",
            rt.id, rt.os, os.id
        ));
    }
    for arch in &rt.architectures {
        if !os.ceilings.contains_key(arch) {
            return Err(format!(
                "os {}: no `ceilings arch=\"{}\"`",
                os.id,
                arch.as_str()
            ));
        }
    }
    Ok((os, rt))
}

pub(super) fn tree<'a>(file: &str, json: &'a str) -> Result<Vec<Node<'a>>, String> {
    serde_json::from_str(json).map_err(|e| format!("{file}: {e}"))
}

pub(super) fn load(data: &Data) -> Result<Catalog, String> {
    let mut catalog = Catalog::default();
    for node in &tree("os-bases.kdl", data.os_bases)? {
        match node.name.as_ref() {
            "glibc-sonames" => catalog.glibc_sonames.extend(strings(node)?),
            "catalog-version" => {
                let date = one_string(node)?;
                catalog.data_date = date.parse().ok();
                catalog.version = format!("{date}.{}", data.digest);
            }
            "os" => {
                let os = os_base(node)?;
                catalog.os_bases.insert(os.id.clone(), os);
            }
            other => return Err(format!("os-bases.kdl: unknown node `{other}`")),
        }
    }
    if catalog.version.is_empty() {
        return Err("os-bases.kdl: no `catalog-version`".into());
    }
    for (id, json) in data.os_provides {
        let os = catalog
            .os_bases
            .get_mut(*id)
            .ok_or_else(|| format!("os-provides.kdl: unknown os `{id}`"))?;
        os.listings = std::mem::take(&mut os.listings).then_builtin(json);
    }
    for node in &tree("runtimes.kdl", data.runtimes)? {
        if node.name.as_ref() != "runtime" {
            return Err(format!("runtimes.kdl: unknown node `{}`", node.name));
        }
        let rt = runtime(node, Origin::Builtin(catalog.data_date))?;
        if !catalog.os_bases.contains_key(&rt.os) {
            return Err(format!("runtime {}: unknown os `{}`", rt.id, rt.os));
        }
        catalog.runtimes.insert(rt.id.clone(), rt);
    }
    for (id, json) in data.runtime_folders {
        let rt = catalog
            .runtimes
            .get_mut(*id)
            .ok_or_else(|| format!("runtime-folders.kdl: unknown runtime `{id}`"))?;
        rt.folders = std::mem::take(&mut rt.folders).then_builtin(json);
    }
    for node in &tree("base-images.kdl", data.base_images)? {
        let (id, image) = base_image(node).map_err(|e| format!("base-images.kdl: {e}"))?;
        if !catalog.runtimes.contains_key(&id) {
            return Err(format!("base-images.kdl: unknown runtime `{id}`"));
        }
        catalog.base_images.insert(id, image);
    }
    dotnet(&mut catalog, &tree("dotnet.kdl", data.dotnet)?)?;
    super::interpreter::load(&tree("interpreters.kdl", data.interpreters)?, &mut catalog)?;
    check_successors(&catalog)?;
    Ok(catalog)
}

/// `image "RUNTIME" "REFERENCE" source="..."`.
fn base_image(node: &Node) -> Result<(String, BaseImage), String> {
    let arg = |i: usize| node.args.get(i).and_then(Val::as_str).map(str::to_string);
    match (node.name.as_ref(), arg(0), arg(1), prop_str(node, "source")) {
        ("image", Some(id), Some(reference), Some(source)) => Ok((
            id,
            BaseImage {
                reference,
                source: source.to_string(),
            },
        )),
        _ => Err(format!(
            "`{}`: write `image \"RUNTIME\" \"REFERENCE\" source=\"...\"`",
            node.name
        )),
    }
}

fn check_references(catalog: &Catalog) -> Result<(), String> {
    check_successors(catalog)?;
    check_folders(catalog)
}

fn check_successors(catalog: &Catalog) -> Result<(), String> {
    for rt in catalog.runtimes.values() {
        if let Some(s) = &rt.successor
            && !catalog.runtimes.contains_key(s)
        {
            return Err(format!("runtime {}: unknown successor `{s}`", rt.id));
        }
    }
    Ok(())
}

/// Reads every runtime's listings: the built-in catalog is checked this way by the test suite,
/// not at start-up.
pub(super) fn check_folders(catalog: &Catalog) -> Result<(), String> {
    for rt in catalog.runtimes.values() {
        // An empty folder may be off the path (go1.x has no /var/lang/lib on it, and none there).
        for folder in &rt.folders {
            if !folder.sonames.is_empty() && !rt.ld_library_path.contains(&folder.folder) {
                return Err(format!(
                    "runtime {}: folder {} is not on its ld-library-path",
                    rt.id, folder.folder
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn prop_str<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.props.get(key).and_then(Val::as_str)
}

pub(super) fn strings(node: &Node) -> Result<Vec<String>, String> {
    node.args
        .iter()
        .map(|v| match v {
            Val::Str(s) => Ok(s.to_string()),
            v => Err(format!(
                "`{}`: expected strings, found {v}",
                node.name.as_ref()
            )),
        })
        .collect()
}

pub(super) fn one_string(node: &Node) -> Result<String, String> {
    let mut v = strings(node)?;
    if v.len() != 1 {
        return Err(format!("`{}` takes one string", node.name.as_ref()));
    }
    Ok(v.remove(0))
}

fn parse<T: std::str::FromStr>(node: &Node) -> Result<T, String> {
    let s = one_string(node)?;
    s.parse()
        .map_err(|_| format!("`{}`: cannot read `{s}`", node.name.as_ref()))
}

pub(super) fn arch(s: &str) -> Result<Architecture, String> {
    s.parse()
        .map_err(|()| format!("unknown architecture `{s}`"))
}

fn os_base(node: &Node) -> Result<OsBase, String> {
    let id = one_string(node)?;
    let mut os = OsBase {
        id: id.clone(),
        name: id.clone(),
        glibc: "0".parse().expect("0 is a version"),
        sources: Vec::new(),
        ceilings: BTreeMap::new(),
        listings: Listings::default(),
    };
    let ctx = |e: String| format!("os {id}: {e}");
    for child in node.children.iter() {
        match child.name.as_ref() {
            "name" => os.name = one_string(child).map_err(ctx)?,
            "glibc" => os.glibc = parse(child).map_err(ctx)?,
            "source" => os.sources.push(one_string(child).map_err(ctx)?),
            "ceilings" => {
                let a =
                    prop_str(child, "arch").ok_or_else(|| ctx("`ceilings` needs arch=".into()))?;
                os.ceilings
                    .insert(arch(a).map_err(ctx)?, ceilings(child).map_err(ctx)?);
            }
            "provides" => os.listings.push(listing(child).map_err(ctx)?),
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    Ok(os)
}

fn ceilings(node: &Node) -> Result<Ceilings, String> {
    let since = match prop_str(node, "since") {
        Some(d) => Some(d.parse().map_err(|()| format!("bad date `{d}`"))?),
        None => None,
    };
    let source = prop_str(node, "source").ok_or("`ceilings` needs source=")?;
    let mut versions = BTreeMap::new();
    for c in &node.children {
        versions.insert(c.name.to_string(), parse(c)?);
    }
    Ok(Ceilings {
        versions,
        since,
        source: source.to_string(),
    })
}

fn runtime(node: &Node, origin: Origin) -> Result<Runtime, String> {
    let id = one_string(node)?;
    let mut rt = Runtime {
        id: id.clone(),
        family: String::new(),
        os: String::new(),
        architectures: Vec::new(),
        deprecated: None,
        block_create: None,
        block_update: None,
        successor: None,
        ld_library_path: Vec::new(),
        folders: Listings::default(),
        sources: Vec::new(),
        dotnet: None,
        interpreter: Default::default(),
        origin,
    };
    apply(&mut rt, node)?;
    if rt.os.is_empty() || rt.architectures.is_empty() {
        return Err(format!("runtime {id}: needs `os` and `architectures`"));
    }
    Ok(rt)
}

/// Sets what the children of a `runtime` node state; a list (`architectures`, `ld-library-path`)
/// replaces the one before, `source` and `provides` add to them.
fn apply(rt: &mut Runtime, node: &Node) -> Result<(), String> {
    let id = rt.id.clone();
    let ctx = |e: String| format!("runtime {id}: {e}");
    for child in node.children.iter() {
        match child.name.as_ref() {
            "family" => rt.family = one_string(child).map_err(ctx)?,
            "os" => rt.os = one_string(child).map_err(ctx)?,
            "architectures" => {
                rt.architectures.clear();
                for a in strings(child).map_err(ctx)? {
                    rt.architectures.push(arch(&a).map_err(ctx)?);
                }
            }
            "deprecated" => rt.deprecated = Some(parse(child).map_err(ctx)?),
            "block-create" => rt.block_create = Some(parse(child).map_err(ctx)?),
            "block-update" => rt.block_update = Some(parse(child).map_err(ctx)?),
            "successor" => rt.successor = Some(one_string(child).map_err(ctx)?),
            "ld-library-path" => rt.ld_library_path = strings(child).map_err(ctx)?,
            "source" => rt.sources.push(one_string(child).map_err(ctx)?),
            "provides" => rt.folders.push(listing(child).map_err(ctx)?),
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    Ok(())
}

/// `base` with the entries of an override file: `os` nodes add or replace bases, a `runtime` node
/// with `os` adds or replaces a runtime, one without changes what it states of a known runtime,
/// and `catalog-version "DATE"` says what date the file's data speaks for.
pub(super) fn overrides(base: &Catalog, text: &str, path: &str) -> Result<Catalog, String> {
    let doc: kdl::KdlDocument = text.parse().map_err(|e| format!("not valid KDL: {e}"))?;
    let json = super::tree::document(&doc).to_string();
    let nodes: Vec<Node> =
        serde_json::from_str(&json).map_err(|e| format!("unexpected structure: {e}"))?;
    let mut as_of: Option<Date> = None;
    for node in nodes.iter().filter(|n| n.name == "catalog-version") {
        let date = one_string(node)?;
        as_of = Some(date.parse().map_err(|()| format!("bad date `{date}`"))?);
    }
    let origin = Origin::File {
        path: path.to_string(),
        as_of,
    };
    let mut catalog = base.clone();
    for node in &nodes {
        match node.name.as_ref() {
            "catalog-version" => {}
            "os" => {
                let os = os_base(node)?;
                catalog.os_bases.insert(os.id.clone(), os);
            }
            "runtime" => override_runtime(&mut catalog, node, &origin)?,
            other => {
                return Err(format!(
                    "unknown node `{other}` (expected `os`, `runtime` or `catalog-version`)"
                ));
            }
        }
    }
    for rt in catalog.runtimes.values() {
        let os = catalog
            .os(&rt.os)
            .ok_or_else(|| format!("runtime {}: unknown os `{}`", rt.id, rt.os))?;
        if let Some(arch) = rt
            .architectures
            .iter()
            .find(|a| !os.ceilings.contains_key(a))
        {
            return Err(format!(
                "os {}: no `ceilings arch=\"{}\"`",
                os.id,
                arch.as_str()
            ));
        }
    }
    check_references(&catalog)?;
    Ok(catalog)
}

fn override_runtime(catalog: &mut Catalog, node: &Node, origin: &Origin) -> Result<(), String> {
    let id = one_string(node)?;
    let full = node.children.iter().any(|c| c.name == "os");
    let rt = match catalog.runtimes.get(&id) {
        Some(known) if !full => {
            let mut rt = known.clone();
            apply(&mut rt, node)?;
            rt.origin = origin.clone();
            rt
        }
        None if !full => {
            return Err(format!(
                "runtime {id} is not in the catalog: give its `os` and `architectures`"
            ));
        }
        _ => runtime(node, origin.clone())?,
    };
    catalog.runtimes.insert(id, rt);
    Ok(())
}

/// `dotnet.kdl`: the shared frameworks, then which runtime runs which.
fn dotnet(catalog: &mut Catalog, nodes: &[Node]) -> Result<(), String> {
    for node in nodes {
        match node.name.as_ref() {
            "framework" => {
                let fx = framework(node).map_err(|e| format!("dotnet.kdl: {e}"))?;
                catalog.frameworks.insert(fx.version.clone(), fx);
            }
            "runtime" => {
                let id = one_string(node)?;
                let version = prop_str(node, "dotnet")
                    .ok_or_else(|| format!("dotnet.kdl: runtime {id} needs dotnet="))?;
                let fx = catalog.frameworks.get(version).cloned().ok_or_else(|| {
                    format!("dotnet.kdl: runtime {id}: unknown framework `{version}`")
                })?;
                let rt = catalog
                    .runtimes
                    .get_mut(&id)
                    .ok_or_else(|| format!("dotnet.kdl: unknown runtime `{id}`"))?;
                rt.dotnet = Some(fx);
            }
            other => return Err(format!("dotnet.kdl: unknown node `{other}`")),
        }
    }
    Ok(())
}

fn framework(node: &Node) -> Result<Framework, String> {
    let version = one_string(node)?;
    let ctx = |e: String| format!("framework {version}: {e}");
    let number = |n: &Node, key: &str| -> Result<Option<u32>, String> {
        match n.props.get(key) {
            None => Ok(None),
            Some(v) if v.is_number() => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| format!("`{key}` is not a small number")),
            Some(v) => Err(format!("`{key}`: expected a number, found {v}")),
        }
    };
    let mut fx = Framework {
        version: version.clone(),
        folder: prop_str(node, "folder")
            .ok_or_else(|| ctx("needs folder=".into()))?
            .to_string(),
        files: Default::default(),
        optional: Vec::new(),
        icu_min: 0,
        icu_max: None,
        source: prop_str(node, "source")
            .ok_or_else(|| ctx("needs source=".into()))?
            .to_string(),
    };
    for child in &node.children {
        match child.name.as_ref() {
            "file" => {
                fx.files.insert(one_string(child).map_err(ctx)?);
            }
            "optional" => {
                let reason = prop_str(child, "reason")
                    .ok_or_else(|| ctx("optional needs reason=".into()))?;
                fx.optional
                    .push((one_string(child).map_err(ctx)?, reason.to_string()));
            }
            "icu" => {
                fx.icu_min = number(child, "min")
                    .map_err(ctx)?
                    .ok_or_else(|| ctx("icu needs min=".into()))?;
                fx.icu_max = number(child, "max").map_err(ctx)?;
            }
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    Ok(fx)
}
