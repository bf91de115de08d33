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
    /// The sonames to ship, in the order the failures came.
    pub libraries: Vec<String>,
    /// (soname, alias): a name the application asks for that differs from the soname
    /// (`libgdiplus.so`, the name CoreCLR asks `dlopen` for), shipped as a symlink.
    pub aliases: Vec<(String, String)>,
    /// Needs none of whose names the rootfs has, each with the names tried.
    pub absent: Vec<Vec<String>>,
}

/// Looks each missing name up in `fs` in its loader's order (ld.so.conf, then the default folders).
/// A DT_NEEDED name is looked up as it is. For a P/Invoke, the names CoreCLR tries are taken in its
/// order: the first the rootfs has (as a file, or a `NAME.so` as a versioned `NAME.so.N`) ships under
/// its soname, with the tried name as an alias: `DllImport("libgdiplus")` drafts `libgdiplus.so.0`
/// and `libgdiplus.so`, the name CoreCLR asks `dlopen` for. For ICU, the highest major the runtime
/// accepts that the rootfs has, libicuuc and libicui18n.
pub fn propose(
    failures: &[Failure],
    fs: &dyn RootFs,
    cache: &ElfCache,
    system: &SystemPaths,
    arch: Architecture,
) -> Fix {
    let mut fix = Fix::default();
    let rootfs = Rootfs {
        fs,
        cache,
        system,
        arch,
    };
    for failure in failures {
        let (names, requests) = match failure {
            Failure::NotFound { names, .. } => (names, rootfs.first_exact(names)),
            Failure::PInvokeNotFound { names, .. } => (names, rootfs.first_pinvoke(names)),
            Failure::IcuNotFound { names, .. } => (names, rootfs.icu(names)),
            Failure::TooNew { .. } | Failure::Undefined { .. } | Failure::SymbolNotFound { .. } => {
                continue;
            }
        };
        match requests {
            Some(requests) => {
                for (soname, alias) in requests {
                    if !fix.libraries.contains(&soname) {
                        fix.libraries.push(soname.clone());
                    }
                    let pair = alias.map(|a| (soname, a));
                    if let Some(pair) = pair.filter(|p| !fix.aliases.contains(p)) {
                        fix.aliases.push(pair);
                    }
                }
            }
            None if !fix.absent.contains(names) => fix.absent.push(names.clone()),
            None => {}
        }
    }
    fix
}

/// Sonames to ship, each with the alias it needs, if any.
type Requests = Vec<(String, Option<String>)>;

struct Rootfs<'a> {
    fs: &'a dyn RootFs,
    cache: &'a ElfCache,
    system: &'a SystemPaths,
    arch: Architecture,
}

impl Rootfs<'_> {
    /// The soname of the file the loader finds for `name`.
    fn soname(&self, name: &str) -> Option<String> {
        let load = |p: &crate::rootfs::RootPath| self.cache.get(self.fs, p);
        match search::find_in(self.fs, self.system.all(), name, self.arch, None, &load) {
            Lookup::Found(f) => Some(f.elf.soname.clone().unwrap_or_else(|| name.to_string())),
            Lookup::NotFound { .. } => None,
        }
    }

    /// The soname, with `name` as its alias when it differs.
    fn with_alias(&self, name: &str) -> Option<Requests> {
        let soname = self.soname(name)?;
        let alias = (soname != name).then(|| name.to_string());
        Some(vec![(soname, alias)])
    }

    fn first_exact(&self, names: &[String]) -> Option<Requests> {
        names.iter().find_map(|n| self.with_alias(n))
    }

    fn first_pinvoke(&self, names: &[String]) -> Option<Requests> {
        names.iter().find_map(|name| {
            if let Some(found) = self.with_alias(name) {
                return Some(found);
            }
            let versioned = self.versioned(name)?;
            let soname = self.soname(&versioned)?;
            Some(vec![(soname, Some(name.clone()))])
        })
    }

    /// For `libfoo.so`, the shortest `libfoo.so.N...` in the search folders (the soname before the
    /// full version), in folder order.
    fn versioned(&self, name: &str) -> Option<String> {
        if !name.ends_with(".so") || name.contains('/') {
            return None;
        }
        let prefix = format!("{name}.");
        self.system.all().find_map(|dir| {
            let entries = self.fs.read_dir(dir).ok()?;
            entries
                .into_iter()
                .filter(|e| {
                    e.strip_prefix(&prefix).is_some_and(|v| {
                        !v.is_empty() && v.split('.').all(|p| p.parse::<u32>().is_ok())
                    })
                })
                .min_by_key(|e| (e.len(), e.clone()))
        })
    }

    /// `names` are `libicuuc.so.N`, highest first: the first N with both ICU libraries.
    fn icu(&self, names: &[String]) -> Option<Requests> {
        names.iter().find_map(|uc| {
            let i18n = uc.replace("libicuuc", "libicui18n");
            let mut found = self.with_alias(uc)?;
            found.extend(self.with_alias(&i18n)?);
            Some(found)
        })
    }
}

/// What the written spec holds besides the libraries.
pub struct Draft<'a> {
    pub layer: &'a str,
    pub runtime: &'a str,
    pub arch: Architecture,
    /// The rootfs path, relative to the spec's folder.
    pub rootfs: &'a str,
    pub libraries: &'a [String],
    /// (soname, alias): each becomes `library "SONAME" alias="ALIAS"`.
    pub aliases: &'a [(String, String)],
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
        let aliases: Vec<&String> = draft
            .aliases
            .iter()
            .filter(|(soname, _)| soname == library)
            .map(|(_, alias)| alias)
            .collect();
        if aliases.is_empty() {
            out.push_str(&format!("    library {}\n", kdl_string(library)));
        }
        for alias in aliases {
            out.push_str(&format!(
                "    library {} alias={}\n",
                kdl_string(library),
                kdl_string(alias)
            ));
        }
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
        let libraries = vec!["libgdiplus.so.0".to_string()];
        let aliases = vec![("libgdiplus.so.0".to_string(), "libgdiplus.so".to_string())];
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
            aliases: &aliases,
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
        assert_eq!(names, ["libgdiplus.so.0"]);
        let alias = layer.libraries[0].alias.as_ref().unwrap();
        assert_eq!(alias.value, "libgdiplus.so");
        let app = spec.functions[0].app.as_ref().unwrap();
        assert_eq!(app.value, "odd \"dir\"\\x");
    }
}
