//! Native code built for the runtime's language interpreter, beyond what the loader checks: a
//! CPython extension module tagged for another Python is never imported (`python.rs`), a Node.js
//! addon for another NODE_MODULE_VERSION or a newer Node-API is refused (`node.rs`), an extension
//! linked against another libruby or libpython needs a library the runtime does not have (here),
//! and the JNI libraries inside jars are loaded like the application's own objects (`jar.rs`).
//! Libraries that load more at run time by convention (`crate::dlopen`) are listed as not checked.
//! What each interpreter is comes from the catalog (`specs/runtimes/interpreters.kdl`).
//!
//! Invariant: like the rest of the scan, everything is read through the function's `RootFs`, and
//! the same application gives the same findings in the same order.

pub mod code;
pub mod jar;
mod node;
pub mod python;

use std::collections::BTreeSet;

use super::loader::{Failure, Loader, shown};
use super::walk::AppFiles;
use crate::diagnostic::Severity;
use crate::rootfs::RootPath;
use crate::runtime::{Language, Runtime};

/// Native code built for another interpreter than the runtime's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// An error when the code is never loaded or refused; a warning when it may fail.
    pub severity: Severity,
    /// The file (or the wheel) it is about, as the function sees it.
    pub file: String,
    pub message: String,
    pub help: String,
    pub notes: Vec<String>,
}

/// Something the scan did not check, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotChecked {
    pub file: String,
    pub message: String,
    pub help: String,
}

/// What the interpreter checks found.
#[derive(Debug, Default)]
pub struct AbiScan {
    pub findings: Vec<Finding>,
    /// Libraries that load others at run time by convention (ODBC drivers, GDAL plugins).
    pub run_time_loads: Vec<NotChecked>,
    /// What could not be read (an addon's version) and so was not checked.
    pub not_checked: Vec<NotChecked>,
    /// Failures of the native libraries inside jars.
    pub failures: Vec<Failure>,
    /// Native libraries found inside jars and loaded.
    pub jar_natives: usize,
    /// (object, needed name) pairs a finding explains: the loader's "not found" for them says less.
    explained: BTreeSet<(String, String)>,
}

impl AbiScan {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// A loader failure that a finding already explains (a `libruby.so.3.3` not found on ruby3.2).
    pub fn explains(&self, failure: &Failure) -> bool {
        let Failure::NotFound { chain, names, .. } = failure else {
            return false;
        };
        let object = chain.len().checked_sub(2).and_then(|i| chain.get(i));
        object.is_some_and(|o| {
            names
                .iter()
                .any(|n| self.explained.contains(&(o.clone(), n.clone())))
        })
    }
}

/// The files the checks read besides ELF objects and assemblies: wheels' metadata and jars.
pub fn is_metadata(path: &RootPath) -> bool {
    python::is_metadata(path) || jar::is_jar(path)
}

/// Runs every check for the runtime's interpreter over the walked application.
pub fn check(loader: &Loader<'_>, files: &AppFiles) -> AbiScan {
    let mut scan = AbiScan::default();
    let runtime = loader.runtime;
    let objects: Vec<RootPath> = files.objects.iter().map(|o| o.path.clone()).collect();
    match &runtime.interpreter.language {
        Some(Language::Python(py)) => python::check(
            runtime,
            py,
            loader.arch,
            loader.fs,
            &objects,
            &files.metadata,
            &mut scan.findings,
        ),
        Some(Language::Node(node)) => node::check(
            runtime,
            node,
            loader.fs,
            &objects,
            &mut scan.findings,
            &mut scan.not_checked,
        ),
        Some(Language::Ruby(_)) | None => {}
    }
    interpreter_libraries(runtime, files, &mut scan);
    for object in &files.objects {
        let name = object
            .elf
            .soname
            .as_deref()
            .unwrap_or(object.path.file_name());
        if let Some(loads) = crate::dlopen::run_time_loads(name) {
            scan.run_time_loads.push(NotChecked {
                file: shown(&object.path),
                message: format!(
                    "{} ({}) loads {} at run time: that is not checked",
                    shown(&object.path),
                    loads.library,
                    loads.loads
                ),
                help: loads.check.to_string(),
            });
        }
    }
    let (loaded, failures) = jar::load_natives(loader, &files.metadata);
    scan.jar_natives = loaded;
    scan.failures = failures;
    scan
}

/// An extension linked against the interpreter's shared library (`libruby.so.3.3`,
/// `libpython3.9.so.1.0`) of another version than the runtime's: that library is not there, and
/// the extension was built for another interpreter. The library's name carries the version: Ruby's
/// configure.ac LIBRUBY_SONAME (`lib$(RUBY_SO_NAME).so.$(MAJOR).$(MINOR)`), CPython's LDLIBRARY.
fn interpreter_libraries(runtime: &Runtime, files: &AppFiles, scan: &mut AbiScan) {
    let Some(language) = &runtime.interpreter.language else {
        return;
    };
    let (own, family) = match language {
        Language::Ruby(r) => (&r.library, "libruby.so."),
        Language::Python(p) => (&p.library, "libpython"),
        Language::Node(_) => return,
    };
    for object in &files.objects {
        for need in object.elf.needed.iter().filter(|n| versioned(n, family)) {
            if need == own {
                continue;
            }
            let file = shown(&object.path);
            scan.explained.insert((file.clone(), need.clone()));
            scan.findings.push(Finding {
                severity: Severity::Error,
                file: file.clone(),
                message: format!(
                    "{file} is linked against {need}, built for another interpreter than the {} that {} runs ({own}): it does not load",
                    language.describe(),
                    runtime.id
                ),
                help: format!(
                    "rebuild or reinstall it with {} (for a gem, `bundle install` under that Ruby)",
                    language.describe()
                ),
                notes: Vec::new(),
            });
        }
    }
}

/// `libruby.so.3.3`, `libpython3.9.so.1.0`: a versioned library of the family (not the
/// unversioned `libruby.so`, nor CPython's stable-ABI `libpython3.so`).
fn versioned(need: &str, family: &str) -> bool {
    let Some(rest) = need.strip_prefix(family) else {
        return false;
    };
    let (major, rest) = rest.split_once('.').unwrap_or((rest, ""));
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    !major.is_empty() && major.chars().all(|c| c.is_ascii_digit()) && !minor.is_empty()
}
