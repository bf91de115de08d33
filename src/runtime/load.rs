//! Reads the catalog: the KDL data files as plain node trees (`build.rs` converts them).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Catalog, OsBase, ProvidedSoname, ProvidesSource, Runtime};
use crate::arch::Architecture;

/// One KDL node: positional arguments, properties and children.
#[derive(Debug, Deserialize)]
struct Node {
    name: String,
    args: Vec<Value>,
    props: BTreeMap<String, Value>,
    children: Vec<Node>,
}

pub fn load(os_bases: &str, runtimes: &str) -> Result<Catalog, String> {
    let os_doc: Vec<Node> =
        serde_json::from_str(os_bases).map_err(|e| format!("os-bases.kdl: {e}"))?;
    let rt_doc: Vec<Node> =
        serde_json::from_str(runtimes).map_err(|e| format!("runtimes.kdl: {e}"))?;
    let mut catalog = Catalog::default();
    for node in &os_doc {
        match node.name.as_str() {
            "glibc-sonames" => catalog.glibc_sonames.extend(strings(node)?),
            "os" => {
                let os = os_base(node)?;
                catalog.os_bases.insert(os.id.clone(), os);
            }
            other => return Err(format!("os-bases.kdl: unknown node `{other}`")),
        }
    }
    for node in &rt_doc {
        if node.name.as_str() != "runtime" {
            return Err(format!(
                "runtimes.kdl: unknown node `{}`",
                node.name.as_str()
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

fn strings(node: &Node) -> Result<Vec<String>, String> {
    node.args
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            v => Err(format!(
                "`{}`: expected strings, found {v}",
                node.name.as_str()
            )),
        })
        .collect()
}

fn one_string(node: &Node) -> Result<String, String> {
    let mut v = strings(node)?;
    if v.len() != 1 {
        return Err(format!("`{}` takes one string", node.name.as_str()));
    }
    Ok(v.remove(0))
}

fn prop<'a>(node: &'a Node, key: &str) -> Option<&'a Value> {
    node.props.get(key)
}

fn parse<T: std::str::FromStr>(node: &Node) -> Result<T, String> {
    let s = one_string(node)?;
    s.parse()
        .map_err(|_| format!("`{}`: cannot read `{s}`", node.name.as_str()))
}

fn arch(s: &str) -> Result<Architecture, String> {
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
        provides: BTreeMap::new(),
        provides_sources: Vec::new(),
    };
    let ctx = |e: String| format!("os {id}: {e}");
    for child in node.children.iter() {
        match child.name.as_str() {
            "name" => os.name = one_string(child).map_err(ctx)?,
            "glibc" => os.glibc = parse(child).map_err(ctx)?,
            "source" => os.sources.push(one_string(child).map_err(ctx)?),
            "ceilings" => {
                let Some(Value::String(a)) = prop(child, "arch") else {
                    return Err(ctx("`ceilings` needs arch=".into()));
                };
                let arch = arch(a).map_err(ctx)?;
                let map = os.ceilings.entry(arch).or_default();
                for c in child.children.iter() {
                    map.insert(c.name.as_str().to_string(), parse(c).map_err(ctx)?);
                }
            }
            "provides" => {
                let text = match prop(child, "source") {
                    Some(Value::String(s)) => s.clone(),
                    _ => return Err(ctx("`provides` needs source=".into())),
                };
                let derived = matches!(prop(child, "derived"), Some(Value::Bool(true)));
                let index = os.provides_sources.len();
                os.provides_sources.push(ProvidesSource { text, derived });
                for s in child.children.iter() {
                    if s.name.as_str() != "soname" {
                        return Err(ctx(format!(
                            "unknown node `{}` in provides",
                            s.name.as_str()
                        )));
                    }
                    let package = match prop(s, "package") {
                        Some(Value::String(p)) => Some(p.clone()),
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

fn runtime(node: &Node) -> Result<Runtime, String> {
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
    for child in node.children.iter() {
        match child.name.as_str() {
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
