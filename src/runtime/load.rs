//! Reads the catalog's KDL data files.

use std::collections::BTreeMap;

use kdl::{KdlDocument, KdlNode, KdlValue};

use super::{Catalog, OsBase, ProvidedSoname, ProvidesSource, Runtime};
use crate::arch::Architecture;

pub fn load(os_bases: &str, runtimes: &str) -> Result<Catalog, String> {
    let os_doc: KdlDocument = os_bases
        .parse()
        .map_err(|e| format!("os-bases.kdl: {e:?}"))?;
    let rt_doc: KdlDocument = runtimes
        .parse()
        .map_err(|e| format!("runtimes.kdl: {e:?}"))?;
    let mut catalog = Catalog::default();
    for node in os_doc.nodes() {
        match node.name().value() {
            "glibc-sonames" => catalog.glibc_sonames.extend(strings(node)?),
            "os" => {
                let os = os_base(node)?;
                catalog.os_bases.insert(os.id.clone(), os);
            }
            other => return Err(format!("os-bases.kdl: unknown node `{other}`")),
        }
    }
    for node in rt_doc.nodes() {
        if node.name().value() != "runtime" {
            return Err(format!(
                "runtimes.kdl: unknown node `{}`",
                node.name().value()
            ));
        }
        let rt = runtime(node)?;
        if !catalog.os_bases.contains_key(&rt.os) {
            return Err(format!("runtime {}: unknown os `{}`", rt.id, rt.os));
        }
        catalog.runtimes.insert(rt.id.clone(), rt);
    }
    for rt in catalog.runtimes.values() {
        if let Some(s) = &rt.successor
            && !catalog.runtimes.contains_key(s)
        {
            return Err(format!("runtime {}: unknown successor `{s}`", rt.id));
        }
    }
    Ok(catalog)
}

fn strings(node: &KdlNode) -> Result<Vec<String>, String> {
    node.entries()
        .iter()
        .filter(|e| e.name().is_none())
        .map(|e| match e.value() {
            KdlValue::String(s) => Ok(s.clone()),
            v => Err(format!(
                "`{}`: expected strings, found {v}",
                node.name().value()
            )),
        })
        .collect()
}

fn one_string(node: &KdlNode) -> Result<String, String> {
    let mut v = strings(node)?;
    if v.len() != 1 {
        return Err(format!("`{}` takes one string", node.name().value()));
    }
    Ok(v.remove(0))
}

fn prop<'a>(node: &'a KdlNode, key: &str) -> Option<&'a KdlValue> {
    node.entry(key).map(|e| e.value())
}

fn parse<T: std::str::FromStr>(node: &KdlNode) -> Result<T, String> {
    let s = one_string(node)?;
    s.parse()
        .map_err(|_| format!("`{}`: cannot read `{s}`", node.name().value()))
}

fn arch(s: &str) -> Result<Architecture, String> {
    s.parse()
        .map_err(|()| format!("unknown architecture `{s}`"))
}

fn os_base(node: &KdlNode) -> Result<OsBase, String> {
    let id = one_string(node)?;
    let mut os = OsBase {
        id: id.clone(),
        name: id.clone(),
        glibc: "0".parse().expect("0 is a version"),
        sources: Vec::new(),
        ceilings: BTreeMap::new(),
        provides: BTreeMap::new(),
        provides_sources: Vec::new(),
    };
    let ctx = |e: String| format!("os {id}: {e}");
    for child in node.iter_children() {
        match child.name().value() {
            "name" => os.name = one_string(child).map_err(ctx)?,
            "glibc" => os.glibc = parse(child).map_err(ctx)?,
            "source" => os.sources.push(one_string(child).map_err(ctx)?),
            "ceilings" => {
                let Some(KdlValue::String(a)) = prop(child, "arch") else {
                    return Err(ctx("`ceilings` needs arch=".into()));
                };
                let arch = arch(a).map_err(ctx)?;
                let map = os.ceilings.entry(arch).or_default();
                for c in child.iter_children() {
                    map.insert(c.name().value().to_string(), parse(c).map_err(ctx)?);
                }
            }
            "provides" => {
                let text = match prop(child, "source") {
                    Some(KdlValue::String(s)) => s.clone(),
                    _ => return Err(ctx("`provides` needs source=".into())),
                };
                let derived = matches!(prop(child, "derived"), Some(KdlValue::Bool(true)));
                let index = os.provides_sources.len();
                os.provides_sources.push(ProvidesSource { text, derived });
                for s in child.iter_children() {
                    if s.name().value() != "soname" {
                        return Err(ctx(format!(
                            "unknown node `{}` in provides",
                            s.name().value()
                        )));
                    }
                    let package = match prop(s, "package") {
                        Some(KdlValue::String(p)) => Some(p.clone()),
                        _ => None,
                    };
                    os.provides.insert(
                        one_string(s).map_err(ctx)?,
                        ProvidedSoname {
                            source: index,
                            package,
                        },
                    );
                }
            }
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    Ok(os)
}

fn runtime(node: &KdlNode) -> Result<Runtime, String> {
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
        sources: Vec::new(),
    };
    let ctx = |e: String| format!("runtime {id}: {e}");
    for child in node.iter_children() {
        match child.name().value() {
            "family" => rt.family = one_string(child).map_err(ctx)?,
            "os" => rt.os = one_string(child).map_err(ctx)?,
            "architectures" => {
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
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    if rt.os.is_empty() || rt.architectures.is_empty() {
        return Err(ctx("needs `os` and `architectures`".into()));
    }
    Ok(rt)
}
