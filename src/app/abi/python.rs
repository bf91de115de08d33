//! CPython extension modules: which of them the runtime's CPython imports at all.
//!
//! CPython finds the extension module `pkg.mod` only as `pkg/mod` followed by one of
//! `importlib.machinery.EXTENSION_SUFFIXES`, which Python/dynload_shlib.c's
//! `_PyImport_DynLoadFiletab` defines as `"." SOABI ".so"`, `".abi" PYTHON_ABI_STRING ".so"` and
//! `".so"` (Python 2: `".so"` and `"module.so"`), SOABI being `cpython-312-x86_64-linux-gnu`
//! (configure.ac; PEP 3149). A file tagged for another Python (`_imaging.cpython-39-x86_64-linux-gnu.so`
//! under 3.12) is never found: the import fails with "No module named". A wheel says what it was
//! built for in its `*.dist-info/WHEEL` (`Tag: cp39-cp39-manylinux_2_17_x86_64`, PEP 427) and lists
//! its files in `RECORD`, which groups the findings per package.

use std::collections::BTreeMap;

use super::{Finding, shown};
use crate::arch::Architecture;
use crate::diagnostic::Severity;
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::interpreter::Python;
use crate::runtime::{Runtime, Version};

/// The largest WHEEL or RECORD file read.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// `*.dist-info/WHEEL` and `RECORD`: the files [`check`] reads besides the ELF objects.
pub fn is_metadata(path: &RootPath) -> bool {
    path.parent().file_name().ends_with(".dist-info")
        && matches!(path.file_name(), "WHEEL" | "RECORD")
}

/// One installed wheel: its name, its tags, and its files (as the function sees them).
struct Wheel {
    name: String,
    tags: Vec<String>,
    files: Vec<String>,
}

pub(super) fn check(
    runtime: &Runtime,
    py: &Python,
    arch: Architecture,
    fs: &dyn RootFs,
    objects: &[RootPath],
    metadata: &[RootPath],
    out: &mut Vec<Finding>,
) {
    let wheels = wheels(fs, metadata);
    let triplet = arch.multiarch();
    // The extension modules of the application this CPython never finds, by wheel.
    let mut unfound: BTreeMap<Option<usize>, Vec<(String, String)>> = BTreeMap::new();
    for object in objects {
        let Some(tag) = tag(object.file_name()) else {
            continue;
        };
        if !imports(py, triplet, tag) && !has_importable_build(py, triplet, object, objects) {
            let file = shown(object);
            let owner = wheels.iter().position(|w| w.files.contains(&file));
            unfound
                .entry(owner)
                .or_default()
                .push((file, tag.to_string()));
        }
    }
    let runs = format!("{} runs CPython {}", runtime.id, py.version);
    let suffixes = suffixes(py, triplet)
        .iter()
        .map(|s| format!("*{s}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (owner, files) in unfound {
        match owner.map(|i| &wheels[i]) {
            Some(wheel) => out.push(wheel_finding(wheel, &files, &runs, &suffixes, py)),
            None => out.extend(files.iter().map(|(file, tag)| Finding {
                severity: Severity::Error,
                file: file.clone(),
                message: format!(
                    "{file} is an extension module for {}, and {runs}: it is never imported (\"No module named ...\")",
                    describe(tag)
                ),
                help: format!(
                    "install the build for CPython {} (`pip install --python-version {} --only-binary=:all:`), or use the runtime it was built for",
                    py.version, py.version
                ),
                notes: vec![format!("CPython {} imports extension modules named {suffixes}", py.version)],
            })),
        }
    }
    for wheel in &wheels {
        out.extend(stable_abi_floor(wheel, objects, &runs, py));
    }
}

fn wheel_finding(
    wheel: &Wheel,
    files: &[(String, String)],
    runs: &str,
    suffixes: &str,
    py: &Python,
) -> Finding {
    let listed: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    Finding {
        severity: Severity::Error,
        file: wheel.name.clone(),
        message: format!(
            "{} is built for {} (wheel tag {}), and {runs}: its {} extension module(s) are never imported (\"No module named ...\"): {}",
            wheel.name,
            interpreter(&files[0].1),
            wheel.tags.join(", "),
            files.len(),
            listed.join(", ")
        ),
        help: format!(
            "install {} for CPython {} (`pip install --python-version {} --only-binary=:all: --platform manylinux2014_x86_64 --target DIR`), or use the runtime it was built for",
            wheel.name, py.version, py.version
        ),
        notes: vec![format!(
            "CPython {} imports extension modules named {suffixes}",
            py.version
        )],
    }
}

/// A wheel of the stable ABI (`cp311-abi3`) built for a newer CPython than the runtime's: its
/// `.abi3.so` files are found, but pip would not install it, and an import fails on the first
/// function of the stable ABI newer than the runtime (an undefined symbol). Whether it uses one
/// is not read, so this is a warning.
fn stable_abi_floor(
    wheel: &Wheel,
    objects: &[RootPath],
    runs: &str,
    py: &Python,
) -> Option<Finding> {
    let floors: Vec<Version> = wheel
        .tags
        .iter()
        .map(|t| {
            let mut parts = t.split('-');
            let interpreter = parts.next()?;
            (parts.next()? == "abi3").then(|| cpython_version(interpreter.strip_prefix("cp")?))?
        })
        .collect::<Option<_>>()?;
    let floor = floors.into_iter().min()?;
    let has_abi3 = objects
        .iter()
        .any(|o| o.file_name().ends_with(".abi3.so") && wheel.files.contains(&shown(o)));
    if floor <= py.version || !has_abi3 || py.soabi.is_none() {
        return None;
    }
    Some(Finding {
        severity: Severity::Warning,
        file: wheel.name.clone(),
        message: format!(
            "{} is built for the stable ABI of CPython {floor} and later (wheel tag {}), and {runs}: its extension modules fail to import if they use any function added after {}",
            wheel.name,
            wheel.tags.join(", "),
            py.version
        ),
        help: format!(
            "install the build for CPython {} (pip picks it with `--python-version {}`)",
            py.version, py.version
        ),
        notes: Vec::new(),
    })
}

/// The suffixes this CPython imports extension modules by (`importlib.machinery.EXTENSION_SUFFIXES`).
fn suffixes(py: &Python, triplet: &str) -> Vec<String> {
    match &py.soabi {
        Some(soabi) => vec![
            format!(".{soabi}-{triplet}.so"),
            ".abi3.so".to_string(),
            ".so".to_string(),
        ],
        None => vec![".so".to_string(), "module.so".to_string()],
    }
}

/// The interpreter tag of an extension module's name (`cpython-39-x86_64-linux-gnu`, `abi3`,
/// `pypy39-pp73-x86_64-linux-gnu`); `None` for a plain `.so`, which any CPython imports.
fn tag(name: &str) -> Option<&str> {
    let (_, tag) = name.strip_suffix(".so")?.rsplit_once('.')?;
    (tag == "abi3" || tag.starts_with("cpython-") || tag.starts_with("pypy")).then_some(tag)
}

/// Another build of the same module beside `object` that this CPython imports (a package that
/// carries one build per Python version): `object` is then merely unused.
fn has_importable_build(
    py: &Python,
    triplet: &str,
    object: &RootPath,
    objects: &[RootPath],
) -> bool {
    let module = |p: &RootPath| {
        let name = p.file_name();
        let stem = name.strip_suffix(".so").unwrap_or(name);
        stem.split('.').next().unwrap_or(stem).to_string()
    };
    let (folder, name) = (object.parent(), module(object));
    objects.iter().any(|o| {
        o.parent() == folder
            && module(o) == name
            && tag(o.file_name()).is_none_or(|t| imports(py, triplet, t))
    })
}

/// Whether this CPython finds a module tagged `tag`.
fn imports(py: &Python, triplet: &str, tag: &str) -> bool {
    match &py.soabi {
        Some(soabi) => tag == "abi3" || tag == format!("{soabi}-{triplet}"),
        // Python 2 looks for `mod.so` and `modmodule.so`: `mod.abi3.so` is module `mod.abi3`.
        None => false,
    }
}

/// "CPython 3.9" for `cpython-39-x86_64-linux-gnu`.
fn interpreter(tag: &str) -> String {
    describe(tag)
        .split(" (")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// "CPython 3.9 (x86_64-linux-gnu)" for `cpython-39-x86_64-linux-gnu`.
fn describe(tag: &str) -> String {
    if tag == "abi3" {
        return "the stable ABI of CPython 3 (abi3)".to_string();
    }
    if let Some(rest) = tag.strip_prefix("cpython-") {
        let (abi, platform) = rest.split_once('-').unwrap_or((rest, "no platform"));
        let digits: String = abi.chars().take_while(char::is_ascii_digit).collect();
        if let Some(version) = cpython_version(&digits) {
            return format!("CPython {version} ({platform})");
        }
    }
    format!("another Python ({tag})")
}

/// `39` → 3.9, `312` → 3.12.
fn cpython_version(digits: &str) -> Option<Version> {
    let (major, minor) = digits.split_at_checked(1)?;
    if minor.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    format!("{major}.{minor}").parse().ok()
}

/// The wheels installed in the application, from their WHEEL and RECORD files.
fn wheels(fs: &dyn RootFs, metadata: &[RootPath]) -> Vec<Wheel> {
    let mut by_dir: BTreeMap<RootPath, Wheel> = BTreeMap::new();
    for path in metadata.iter().filter(|p| is_metadata(p)) {
        let Ok(bytes) = fs.read(path, MAX_METADATA_BYTES) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let dir = path.parent();
        let wheel = by_dir.entry(dir.clone()).or_insert_with(|| Wheel {
            name: wheel_name(dir.file_name()),
            tags: Vec::new(),
            files: Vec::new(),
        });
        if path.file_name() == "WHEEL" {
            wheel.tags = text
                .lines()
                .filter_map(|l| l.strip_prefix("Tag:"))
                .map(|t| t.trim().to_string())
                .collect();
        } else {
            // RECORD: `path,hash,size`, the path relative to the folder holding the dist-info.
            let root = dir.parent();
            wheel.files = text
                .lines()
                .filter_map(|l| l.split(',').next())
                .filter(|p| !p.is_empty())
                .map(|p| shown(&root.join(p)))
                .collect();
        }
    }
    by_dir
        .into_values()
        .filter(|w| !w.tags.is_empty())
        .collect()
}

/// `pillow-11.3.0.dist-info` → `pillow 11.3.0`.
fn wheel_name(dir: &str) -> String {
    let stem = dir.strip_suffix(".dist-info").unwrap_or(dir);
    match stem.split_once('-') {
        Some((name, version)) => format!("{name} {version}"),
        None => stem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(version: &str, soabi: Option<&str>) -> Python {
        Python {
            version: version.parse().unwrap(),
            soabi: soabi.map(str::to_string),
            library: String::new(),
        }
    }

    #[test]
    fn tags_and_what_each_cpython_imports() {
        let triplet = "x86_64-linux-gnu";
        let py312 = python("3.12", Some("cpython-312"));
        let py37 = python("3.7", Some("cpython-37m"));
        let py27 = python("2.7", None);
        let t = |name| tag(name).unwrap();
        assert_eq!(
            t("_imaging.cpython-39-x86_64-linux-gnu.so"),
            "cpython-39-x86_64-linux-gnu"
        );
        assert_eq!(t("_rust.abi3.so"), "abi3");
        assert_eq!(tag("libjpeg-45e70d75.so.62.4.0"), None);
        assert_eq!(tag("_plain.so"), None);
        assert!(imports(&py312, triplet, "cpython-312-x86_64-linux-gnu"));
        assert!(imports(&py312, triplet, "abi3"));
        assert!(!imports(&py312, triplet, "cpython-39-x86_64-linux-gnu"));
        assert!(!imports(&py312, triplet, "cpython-312-x86_64-linux-musl"));
        assert!(imports(&py37, triplet, "cpython-37m-x86_64-linux-gnu"));
        assert!(!imports(&py37, triplet, "cpython-37-x86_64-linux-gnu"));
        assert!(!imports(&py27, triplet, "abi3"));
        assert_eq!(
            suffixes(&py312, triplet),
            [".cpython-312-x86_64-linux-gnu.so", ".abi3.so", ".so"]
        );
        assert_eq!(
            describe("cpython-310-x86_64-linux-gnu"),
            "CPython 3.10 (x86_64-linux-gnu)"
        );
        assert_eq!(
            describe("cpython-37m-x86_64-linux-gnu"),
            "CPython 3.7 (x86_64-linux-gnu)"
        );
        assert_eq!(wheel_name("pillow-11.3.0.dist-info"), "pillow 11.3.0");
    }

    #[test]
    fn a_build_for_another_python_beside_one_for_this_python_is_merely_unused() {
        let triplet = "x86_64-linux-gnu";
        let py312 = python("3.12", Some("cpython-312"));
        let p = RootPath::new;
        let old = p("/var/task/pkg/_mod.cpython-39-x86_64-linux-gnu.so");
        let both = [
            old.clone(),
            p("/var/task/pkg/_mod.cpython-312-x86_64-linux-gnu.so"),
        ];
        assert!(has_importable_build(&py312, triplet, &old, &both));
        let elsewhere = [
            old.clone(),
            p("/var/task/other/_mod.cpython-312-x86_64-linux-gnu.so"),
        ];
        assert!(!has_importable_build(&py312, triplet, &old, &elsewhere));
        let plain = [old.clone(), p("/var/task/pkg/_mod.so")];
        assert!(has_importable_build(&py312, triplet, &old, &plain));
        assert!(!has_importable_build(
            &py312,
            triplet,
            &old,
            std::slice::from_ref(&old)
        ));
    }
}
