//! How a runtime runs code (`specs/runtimes/interpreters.kdl`): the ELF program interpreter an
//! executable must name, the default PATH, and the language interpreter whose ABI native
//! extensions must match. The rules that use these facts live with the checks (`app::abi`,
//! `validate`); this module only holds and reads the data.

use std::collections::BTreeMap;

use super::load::{Node as KdlNode, one_string, prop_str, strings};
use super::{Catalog, Version};
use crate::arch::Architecture;

/// How one runtime runs code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interpreter {
    /// The program interpreter (`PT_INTERP`) of executables, per architecture: glibc's loader.
    pub loaders: BTreeMap<Architecture, String>,
    /// The runtime's default PATH, in order.
    pub path: Vec<String>,
    pub language: Option<Language>,
    pub sources: Vec<String>,
}

/// The language interpreter a runtime runs, as far as native code must match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    Python(Python),
    Node(Node),
    Ruby(Ruby),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    /// `3.12`.
    pub version: Version,
    /// The extension-module tag without the platform triplet (`cpython-312`, `cpython-37m`);
    /// `None` for Python 2, which has none.
    pub soabi: Option<String>,
    /// libpython's soname (`libpython3.12.so.1.0`).
    pub library: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The major version (`22`).
    pub major: String,
    /// `NODE_MODULE_VERSION` (`127`).
    pub module_version: u32,
    /// The highest Node-API version, when known.
    pub napi: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruby {
    /// `3.2`.
    pub version: String,
    /// libruby's soname (`libruby.so.3.2`).
    pub library: String,
}

impl Language {
    /// "CPython 3.12", "Node.js 22", "Ruby 3.2".
    pub fn describe(&self) -> String {
        match self {
            Language::Python(p) => format!("CPython {}", p.version),
            Language::Node(n) => format!("Node.js {}", n.major),
            Language::Ruby(r) => format!("Ruby {}", r.version),
        }
    }
}

/// Reads `interpreters.kdl` into the runtimes of `catalog`. A runtime the file does not name keeps
/// an empty [`Interpreter`] (nothing about it is checked).
pub(super) fn load(nodes: &[KdlNode], catalog: &mut Catalog) -> Result<(), String> {
    let ctx = |e: String| format!("interpreters.kdl: {e}");
    let mut loaders = BTreeMap::new();
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources = Vec::new();
    let mut runtimes = Vec::new();
    for node in nodes {
        match node.name.as_ref() {
            "loader" => {
                let arch =
                    prop_str(node, "arch").ok_or_else(|| ctx("`loader` needs arch=".into()))?;
                let arch: Architecture = arch
                    .parse()
                    .map_err(|()| ctx(format!("unknown architecture `{arch}`")))?;
                loaders.insert(arch, one_string(node).map_err(ctx)?);
            }
            "path" => {
                let mut values = strings(node).map_err(ctx)?;
                if values.len() < 2 {
                    return Err(ctx("`path` takes a name and its folders".into()));
                }
                let name = values.remove(0);
                paths.insert(name, values);
            }
            "source" => sources.push(one_string(node).map_err(ctx)?),
            "runtime" => runtimes.push(node),
            other => return Err(ctx(format!("unknown node `{other}`"))),
        }
    }
    for node in runtimes {
        let id = one_string(node).map_err(ctx)?;
        let path = prop_str(node, "path").ok_or_else(|| ctx(format!("{id}: needs path=")))?;
        let path = paths
            .get(path)
            .ok_or_else(|| ctx(format!("{id}: unknown path `{path}`")))?;
        let language = match node.children.as_slice() {
            [] => None,
            [child] => Some(language(child).map_err(|e| ctx(format!("{id}: {e}")))?),
            _ => return Err(ctx(format!("{id}: more than one language"))),
        };
        let rt = catalog
            .runtimes
            .get_mut(&id)
            .ok_or_else(|| ctx(format!("unknown runtime `{id}`")))?;
        rt.interpreter = Interpreter {
            loaders: loaders.clone(),
            path: path.clone(),
            language,
            sources: sources.clone(),
        };
    }
    Ok(())
}

fn language(node: &KdlNode) -> Result<Language, String> {
    let version = one_string(node)?;
    let prop = |key: &str| {
        prop_str(node, key)
            .map(str::to_string)
            .ok_or_else(|| format!("`{}` needs {key}=", node.name))
    };
    let number = |key: &str| match node.props.get(key) {
        Some(n) if n.is_number() => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{key}= is not a small number")),
        _ => Err(format!("`{}` needs {key}= (a number)", node.name)),
    };
    match node.name.as_ref() {
        "cpython" => Ok(Language::Python(Python {
            version: version
                .parse()
                .map_err(|()| format!("bad version `{version}`"))?,
            soabi: prop_str(node, "soabi").map(str::to_string),
            library: prop("library")?,
        })),
        "node" => Ok(Language::Node(Node {
            major: version,
            module_version: number("module-version")?,
            napi: node
                .props
                .get("napi")
                .is_some()
                .then(|| number("napi"))
                .transpose()?,
        })),
        "ruby" => Ok(Language::Ruby(Ruby {
            version,
            library: prop("library")?,
        })),
        other => Err(format!("unknown language `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_says_how_it_runs_code() {
        let catalog = Catalog::builtin();
        for rt in catalog.runtimes.values() {
            let i = &rt.interpreter;
            assert!(i.path.ends_with(&["/opt/bin".to_string()]), "{}", rt.id);
            for arch in &rt.architectures {
                assert!(i.loaders.contains_key(arch), "{} {arch}", rt.id);
            }
            let language = i.language.as_ref().map(Language::describe);
            match rt.family.as_str() {
                "python" | "nodejs" | "ruby" => assert!(language.is_some(), "{}", rt.id),
                _ => assert!(language.is_none(), "{}", rt.id),
            }
        }
        let py = catalog.runtime("python3.12").unwrap();
        let Some(Language::Python(p)) = &py.interpreter.language else {
            panic!("python3.12 runs CPython")
        };
        assert_eq!(p.soabi.as_deref(), Some("cpython-312"));
        let node = catalog.runtime("nodejs22.x").unwrap();
        let Some(Language::Node(n)) = &node.interpreter.language else {
            panic!("nodejs22.x runs Node.js")
        };
        assert_eq!((n.module_version, n.napi), (127, Some(10)));
        let x86 = &node.interpreter.loaders[&Architecture::X86_64];
        assert_eq!(x86, "/lib64/ld-linux-x86-64.so.2");
    }
}
