//! The fix a scan proposes: the libraries it misses, found in a root filesystem, as a layer spec
//! that `layerc build` accepts.

use super::Failure;
use crate::arch::Architecture;
use crate::resolve::ElfCache;
use crate::resolve::search::{self, Lookup, SystemPaths};
use crate::rootfs::RootFs;

/// The library requests of the layer, and what the rootfs lacks too.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fix {
    /// In the order the failures came: a soname, then the name the application asks for when it
    /// differs (`libgdiplus.so.0`, then the P/Invoke name `libgdiplus.so`, shipped as a symlink).
    pub libraries: Vec<String>,
    /// Needs none of whose names the rootfs has, each with the names tried.
    pub absent: Vec<Vec<String>>,
}

/// Looks each missing name up in `fs` in its loader's order (ld.so.conf, then the default folders);
/// for a need with several candidate names, the first the rootfs has wins.
pub fn propose(
    failures: &[Failure],
    fs: &dyn RootFs,
    cache: &ElfCache,
    system: &SystemPaths,
    arch: Architecture,
) -> Fix {
    let mut fix = Fix::default();
    let load = |p: &crate::rootfs::RootPath| cache.get(fs, p);
    for failure in failures {
        let names = match failure {
            Failure::NotFound { names, .. } | Failure::PInvokeNotFound { names, .. } => names,
            Failure::TooNew { .. } | Failure::Undefined { .. } => continue,
        };
        let found = names.iter().find_map(|name| {
            match search::find_in(fs, system.all(), name, arch, &load) {
                Lookup::Found(f) => Some((name, f)),
                Lookup::NotFound { .. } => None,
            }
        });
        let Some((name, found)) = found else {
            if !fix.absent.contains(names) {
                fix.absent.push(names.clone());
            }
            continue;
        };
        let soname = found.elf.soname.clone().unwrap_or_else(|| name.clone());
        for request in [soname, name.clone()] {
            if !fix.libraries.contains(&request) {
                fix.libraries.push(request);
            }
        }
    }
    fix
}

/// What the written spec holds besides the libraries.
pub struct Draft<'a> {
    pub layer: &'a str,
    pub runtime: &'a str,
    pub arch: Architecture,
    /// The rootfs path, relative to the spec's folder.
    pub rootfs: &'a str,
    pub libraries: &'a [String],
    /// The template, relative to the spec's folder, when known.
    pub template: Option<&'a str>,
    /// Functions of the template that get the layer, each with its `app` when known.
    pub functions: &'a [(String, Option<String>)],
}

/// The spec text, ready for `layerc build`.
pub fn render(draft: &Draft<'_>) -> String {
    let mut out = String::from(
        "// Written by `layerc scan`: the libraries the application misses, from the rootfs.\n",
    );
    out.push_str(&format!("layer {} {{\n", kdl_string(draft.layer)));
    out.push_str(&format!("    runtime {}\n", kdl_string(draft.runtime)));
    out.push_str(&format!(
        "    architecture {}\n",
        kdl_string(draft.arch.as_str())
    ));
    out.push_str(&format!("    rootfs {}\n", kdl_string(draft.rootfs)));
    for library in draft.libraries {
        out.push_str(&format!("    library {}\n", kdl_string(library)));
    }
    out.push_str("}\n");
    if let Some(template) = draft.template {
        out.push_str(&format!("\ntemplate {}\n", kdl_string(template)));
    }
    for (id, app) in draft.functions {
        out.push_str(&format!("\nfunction {} {{\n", kdl_string(id)));
        out.push_str(&format!("    layer {}\n", kdl_string(draft.layer)));
        if let Some(app) = app {
            out.push_str(&format!("    app {}\n", kdl_string(app)));
        }
        out.push_str("}\n");
    }
    out
}

/// A KDL v2 quoted string.
fn kdl_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draft_parses_back_with_its_values() {
        let libraries = vec!["libgdiplus.so.0".to_string(), "libgdiplus.so".to_string()];
        let functions = vec![(
            "ImageFunction".to_string(),
            Some("odd \"dir\"\\x".to_string()),
        )];
        let text = render(&Draft {
            layer: "native",
            runtime: "dotnet8",
            arch: Architecture::X86_64,
            rootfs: "../rootfs/al1",
            libraries: &libraries,
            template: Some("template.yaml"),
            functions: &functions,
        });
        let (spec, diags) = crate::spec::parse(&text, crate::runtime::Catalog::builtin());
        assert!(diags.is_empty(), "{diags:?}\n{text}");
        let layer = &spec.layers[0];
        assert_eq!(layer.rootfs.as_ref().unwrap().value, "../rootfs/al1");
        let names: Vec<&str> = layer
            .libraries
            .iter()
            .map(|l| l.name.value.as_str())
            .collect();
        assert_eq!(names, ["libgdiplus.so.0", "libgdiplus.so"]);
        let app = spec.functions[0].app.as_ref().unwrap();
        assert_eq!(app.value, "odd \"dir\"\\x");
    }
}
