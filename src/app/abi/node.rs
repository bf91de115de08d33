//! Node.js addons (`*.node`): whether the runtime's Node.js registers them.
//!
//! Node's `process.dlopen` (src/node_binding.cc, DLOpen) opens the file, then takes the module it
//! registered from its constructor (node.h's NODE_MODULE and NODE_MODULE_INIT call
//! `node_module_register(&_module)`, `_module.nm_version` being the NODE_MODULE_VERSION of the
//! headers it was built with), or else looks up `node_register_module_v<NODE_MODULE_VERSION>`, or
//! else `napi_register_module_v1` (Node-API). A registered module of another version is refused
//! ("was compiled against a different Node.js version using NODE_MODULE_VERSION 115. This version
//! of Node.js requires NODE_MODULE_VERSION 127") unless the file also exports the initializer of
//! the running version; a file that registers nothing is refused ("Module did not self-register").
//! A Node-API addon works on every version that has its Node-API version, which node_api.h's
//! NAPI_MODULE_INIT records as the return value of `node_api_module_get_api_version_v1`
//! (`NAPI_VERSION`; 2147483647 is NAPI_VERSION_EXPERIMENTAL, which Node accepts); without that
//! function Node assumes version 8. Node.js 18.20 and 20.20 crash loading an addon that declares
//! a newer version than theirs, Node.js 22 refuses it.

use super::code::{first_argument_address, returned_constant};
use super::{Finding, NotChecked, shown};
use crate::diagnostic::Severity;
use crate::elf::ElfImage;
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::interpreter::Node;
use crate::runtime::{Catalog, Language, Runtime};

const INITIALIZER: &str = "node_register_module_v";
const NAPI_INITIALIZER: &str = "napi_register_module_v1";
const NAPI_VERSION_GETTER: &str = "node_api_module_get_api_version_v1";
/// js_native_api.h: NAPI_VERSION_EXPERIMENTAL.
const NAPI_EXPERIMENTAL: i64 = 2_147_483_647;

/// What an addon says it was built for.
#[derive(Debug, PartialEq, Eq)]
enum Built {
    /// A NODE_MODULE_VERSION: from its exported initializer or its registered module.
    ModuleVersion(u32),
    /// Node-API, with the version it declares (`None`: it declares none, so 8).
    NodeApi(Option<i64>),
    /// It registers itself, but its version could not be read.
    Unreadable,
    /// It registers nothing: Node refuses it.
    Nothing,
}

pub(super) fn check(
    runtime: &Runtime,
    node: &Node,
    fs: &dyn RootFs,
    objects: &[RootPath],
    out: &mut Vec<Finding>,
    unchecked: &mut Vec<NotChecked>,
) {
    for object in objects.iter().filter(|o| o.file_name().ends_with(".node")) {
        let Ok(bytes) = fs.map(object) else { continue };
        let Ok(image) = ElfImage::parse(&bytes) else {
            continue; // The walk reports files it cannot parse.
        };
        let file = shown(object);
        match built_for(&image, node.module_version) {
            Built::ModuleVersion(v) if v == node.module_version => {}
            Built::ModuleVersion(v) => out.push(Finding {
                severity: Severity::Error,
                file: file.clone(),
                message: format!(
                    "{file} is a Node.js addon built for NODE_MODULE_VERSION {v}{}, and {} runs Node.js {}, which requires NODE_MODULE_VERSION {}: require() fails (\"was compiled against a different Node.js version\")",
                    known_as(v),
                    runtime.id,
                    node.major,
                    node.module_version
                ),
                help: format!(
                    "rebuild or reinstall it for Node.js {} (`npm rebuild` or `npm install` with Node.js {} on x86_64/arm64 Linux), or use a Node-API build of the package",
                    node.major, node.major
                ),
                notes: Vec::new(),
            }),
            Built::NodeApi(declared) => napi(runtime, node, &file, declared, out, unchecked),
            Built::Unreadable => unchecked.push(NotChecked {
                file: file.clone(),
                message: format!(
                    "{file} registers itself as a Node.js addon, but the NODE_MODULE_VERSION it was built for could not be read: whether {} loads it is not checked",
                    runtime.id
                ),
                help: format!(
                    "check it with `node -e \"require('./{file}')\"` under Node.js {}",
                    node.major
                ),
            }),
            Built::Nothing => out.push(Finding {
                severity: Severity::Error,
                file: file.clone(),
                message: format!(
                    "{file} registers no Node.js module (no {INITIALIZER}N, {NAPI_INITIALIZER} or node_module_register): require() fails (\"Module did not self-register\")"
                ),
                help: "rebuild the addon from its package (`npm rebuild`); a .node file must come from node-gyp or a Node-API build".to_string(),
                notes: Vec::new(),
            }),
        }
    }
}

fn napi(
    runtime: &Runtime,
    node: &Node,
    file: &str,
    declared: Option<i64>,
    out: &mut Vec<Finding>,
    unchecked: &mut Vec<NotChecked>,
) {
    let Some(supported) = node.napi else {
        unchecked.push(NotChecked {
            file: file.to_string(),
            message: format!(
                "{file} is a Node-API addon; the Node-API versions of {}'s Node.js {} are not in the catalog: not checked",
                runtime.id, node.major
            ),
            help: format!("check it with `node -e \"require('./{file}')\"` under Node.js {}", node.major),
        });
        return;
    };
    match declared {
        Some(v) if v != NAPI_EXPERIMENTAL && v > i64::from(supported) => out.push(Finding {
            severity: Severity::Error,
            file: file.to_string(),
            message: format!(
                "{file} is a Node-API addon that declares Node-API version {v} ({NAPI_VERSION_GETTER}), and {} runs Node.js {}, which supports Node-API up to version {supported}: require() fails (Node.js 18 and 20 crash loading it)",
                runtime.id, node.major
            ),
            help: format!(
                "use a build of the addon for Node-API {supported} or lower (NAPI_VERSION={supported}), or a newer Node.js runtime"
            ),
            notes: Vec::new(),
        }),
        _ => {}
    }
}

/// "(Node.js 20)" for a NODE_MODULE_VERSION some Node.js runtime of the catalog runs.
fn known_as(version: u32) -> String {
    let majors: Vec<&str> = Catalog::builtin()
        .runtimes
        .values()
        .filter_map(|rt| match &rt.interpreter.language {
            Some(Language::Node(n)) if n.module_version == version => Some(n.major.as_str()),
            _ => None,
        })
        .collect();
    match majors.first() {
        Some(major) => format!(" (Node.js {major})"),
        None => String::new(),
    }
}

/// How the addon registers, and for what, as Node's DLOpen would find it.
fn built_for(image: &ElfImage<'_>, running: u32) -> Built {
    let symbols = image.symbols();
    let mut exported: Vec<u32> = symbols
        .defined
        .iter()
        .filter_map(|(name, _)| name.strip_prefix(INITIALIZER)?.parse().ok())
        .collect();
    exported.sort_unstable();
    // An initializer of the running version wins over any registered module (DLOpen).
    if exported.contains(&running) {
        return Built::ModuleVersion(running);
    }
    if symbols.needs("node_module_register") {
        return match registered_version(image) {
            Some(v) => Built::ModuleVersion(v),
            None => exported
                .first()
                .map_or(Built::Unreadable, |&v| Built::ModuleVersion(v)),
        };
    }
    if let Some(&v) = exported.first() {
        return Built::ModuleVersion(v);
    }
    if symbols.defines(NAPI_INITIALIZER, None) || symbols.needs("napi_module_register") {
        let declared = image.symbol_address(NAPI_VERSION_GETTER).map(|at| {
            image
                .at(at, 32)
                .and_then(|code| returned_constant(image.machine(), code))
        });
        return match declared {
            None => Built::NodeApi(None),
            Some(Some(v)) => Built::NodeApi(Some(v)),
            Some(None) => Built::Unreadable,
        };
    }
    Built::Nothing
}

/// The `nm_version` of the module a constructor registers: the first `int` of the struct whose
/// address it passes to `node_module_register` (node.h: `node_module`, `nm_version` then
/// `nm_flags` then the `nm_dso_handle` pointer, NULL until loaded).
fn registered_version(image: &ElfImage<'_>) -> Option<u32> {
    image.init_functions().into_iter().find_map(|ctor| {
        let code = image.at(ctor, 32)?;
        let module = first_argument_address(image.machine(), code, ctor)?;
        let head = image.at(module, 16)?;
        let version = u32::from_le_bytes(head.get(..4)?.try_into().ok()?);
        let flags = u32::from_le_bytes(head.get(4..8)?.try_into().ok()?);
        let dso = head.get(8..16)?;
        // NODE_MODULE_VERSION has been 1 to a few hundred; NM_F_* flags are small; the handle is
        // NULL. Anything else is not a node_module.
        ((1..1000).contains(&version) && flags < 16 && dso.iter().all(|&b| b == 0))
            .then_some(version)
    })
}
